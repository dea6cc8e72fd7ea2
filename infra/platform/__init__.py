"""The platform program (one stack per environment): `pulumi up` and `mlops plan` run its `__main__`."""
