"""The error boundary's exit codes and lines, for each kind of failure a command can meet."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError, ConnectionClosedError, NoCredentialsError

from kernel import ConfigError
from kernel.errors import Problem
from mlops.boundary import ExitCode, explain
from mlops.console import UserError
from pipelines.features.ingest import IngestionError


def client_error(code: str, message: str, status: int) -> ClientError:
    response: dict[str, Any] = {
        "Error": {"Code": code, "Message": message},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }
    return ClientError(response, "UpdateModelPackage")


def test_each_kind_of_failure_has_its_exit_code_and_one_line() -> None:
    denied = client_error("AccessDeniedException", "is not authorized to perform: sagemaker:UpdateModelPackage", 400)
    cases = [
        (client_error("ThrottlingException", "Rate exceeded", 400), ExitCode.RETRY, "retrying may help"),
        (client_error("InternalFailure", "boom", 500), ExitCode.RETRY, "retrying may help"),
        (ConnectionClosedError(endpoint_url="https://x"), ExitCode.RETRY, "retrying may help"),
        (denied, ExitCode.DENIED, "the caller lacks sagemaker:UpdateModelPackage"),
        (NoCredentialsError(), ExitCode.DENIED, "aws sso login"),
        (client_error("ValidationException", "bad value", 400), ExitCode.AWS_REFUSED, "retrying will not help"),
        (UserError("--to 'qa': promote to staging or prod"), ExitCode.USER, "--to 'qa'"),
        (ConfigError("Pulumi.qa.yaml", [Problem("", "is not valid YAML:\n  line 2")]), ExitCode.USER, "YAML: line 2"),
        (IngestionError("still failing (retrying may help)", 3, retryable=True), ExitCode.RETRY, "still failing"),
        (FileNotFoundError(2, "No such file or directory", "plan.json"), ExitCode.USER, "plan.json: No such file"),
        (KeyError("bug"), ExitCode.BUG, "internal error: KeyError: 'bug'; run again with --debug"),
    ]
    for error, code, text in cases:
        got, lines = explain(error)
        assert got == code, error
        assert len(lines) == 1 and "\n" not in lines[0] and text in lines[0], (error, lines)
