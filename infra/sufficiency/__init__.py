"""The IAM sufficiency proof: what every principal must be able to do, evaluated by a maintained simulator."""
