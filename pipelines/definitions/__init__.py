"""SageMaker pipeline definitions, built with the SDK v3 and compiled offline."""
