"""Checks of the fork's own stack files (whatever Pulumi.*.yaml the repository holds)."""
