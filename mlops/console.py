"""One rich console for every command, and the error types a command reports without a traceback.

Lines are never wrapped by the console (`soft_wrap`): an ARN or a file path split across lines cannot
be copied or searched. Emoji codes are off: a key such as `aws:x:` prints as written, not as an emoji.
Piped output (CI logs, files) has no terminal width, so tables get a wide one (`PIPED_WIDTH`, or
`COLUMNS` when set) instead of rich's 80 columns.
"""

from __future__ import annotations

import os
import sys

from rich.console import Console

PIPED_WIDTH = 240


def _console(stderr: bool) -> Console:
    stream = sys.stderr if stderr else sys.stdout
    piped = not (hasattr(stream, "isatty") and stream.isatty())
    width = PIPED_WIDTH if piped and "COLUMNS" not in os.environ else None
    return Console(stderr=stderr, highlight=False, soft_wrap=True, width=width, emoji=False)


console = _console(stderr=False)
errors = _console(stderr=True)


class UserError(Exception):
    """A problem the user can fix (bad input, missing file); printed as its message, exit status 1."""
