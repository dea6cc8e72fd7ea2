"""Sub-command groups of the `mlops` CLI."""
