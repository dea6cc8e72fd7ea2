"""The Pulumi program of the MLOps platform blueprint and everything it is built from."""
