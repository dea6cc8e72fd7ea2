"""The CLI's one error boundary: every failure a user can meet becomes one line and a distinct exit code.

Exit codes (the AWS ones follow sysexits.h, so CI can tell "retry" from "fix something"):
- 1: bad input, or a state the command refuses to act on; the message names the file, key or fix;
- 2: a usage error (unknown command or option, missing argument), which click reports before any command runs;
- 3: AWS refused the request as sent, or the resource does not exist: retrying will not help;
- 70 (EX_SOFTWARE): a bug in this tool; `--debug` prints the traceback;
- 75 (EX_TEMPFAIL): throttling, a 5xx answer, or a lost connection (also once an ingestion has run out
  of its own retries): retrying may help;
- 77 (EX_NOPERM): access denied, or no valid AWS credentials.
"""

from __future__ import annotations

from enum import IntEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pipelines.aws_errors import AwsFailure


class ExitCode(IntEnum):
    """Why a command failed, as its exit status."""

    USER = 1
    USAGE = 2  # click's UsageError.exit_code: exited by typer itself, never by `explain`
    AWS_REFUSED = 3
    BUG = 70
    RETRY = 75
    DENIED = 77


def _user_errors() -> tuple[type[Exception], ...]:
    """Errors that carry a message for the user rather than a bug (imported only when one occurred)."""
    from kernel.naming import NamingError
    from mlops.console import UserError
    from pipelines.definitions.settings import StackOutputsError
    from pipelines.definitions.templates import TemplateError
    from pipelines.features.ingest import IngestionError, RecordValidationError
    from pipelines.lifecycle import LifecycleError
    from pipelines.pipeline_ops import PipelineError

    return (
        UserError,
        NamingError,
        StackOutputsError,
        TemplateError,
        IngestionError,
        RecordValidationError,
        PipelineError,
        LifecycleError,
    )


def explain(error: BaseException) -> tuple[ExitCode, list[str]]:
    """The exit code and the message lines (without the `error:` prefix) for `error`."""
    from kernel import ConfigError

    if isinstance(error, ConfigError):
        return ExitCode.USER, [" ".join(line.split()) for line in error.lines()]  # a YAML error spans lines
    failure = _aws_failure(error)
    if failure is not None:
        if failure.retryable:
            return ExitCode.RETRY, [failure.line()]
        denied = failure.kind in ("denied", "credentials")
        return (ExitCode.DENIED if denied else ExitCode.AWS_REFUSED), [failure.line()]
    if isinstance(error, _user_errors()):
        retryable = bool(getattr(error, "retryable", False))  # an ingestion that ran out of retries
        return ExitCode.RETRY if retryable else ExitCode.USER, str(error).splitlines() or [type(error).__name__]
    if isinstance(error, OSError) and error.filename is not None:
        return ExitCode.USER, [f"{error.filename}: {error.strerror or error}"]
    return ExitCode.BUG, [f"internal error: {type(error).__name__}: {error}; run again with --debug for the traceback"]


def _aws_failure(error: BaseException) -> AwsFailure | None:
    from botocore.exceptions import BotoCoreError, ClientError

    if not isinstance(error, BotoCoreError | ClientError):
        return None
    from pipelines.aws_errors import classify

    return classify(error)
