"""The `mlops` command line: validate and plan stacks offline, and (later) run the model lifecycle."""
