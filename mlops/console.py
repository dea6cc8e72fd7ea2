"""One rich console for every command, and the error types a command reports without a traceback."""

from __future__ import annotations

from rich.console import Console

console = Console(highlight=False)
errors = Console(stderr=True, highlight=False)


class UserError(Exception):
    """A problem the user can fix (bad input, missing file); printed as its message, exit status 1."""
