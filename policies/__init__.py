"""The blueprint's policy pack: AWS- and SageMaker-aware rules, run by CrossGuard or offline on a plan."""
