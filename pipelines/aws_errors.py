"""What went wrong in an AWS call, and whether trying again may help, in botocore's own terms.

Nothing here is a list of our own: retryability is decided by the checkers of botocore's `standard`
retry mode (`botocore/retries/standard.py`, botocore 1.44.5 in uv.lock):
- `ThrottledRetryableChecker` (its union of throttling error codes), `ThrottlingStatusCodeChecker`
  (HTTP 429) and the service model's `retryable: {throttling: true}` error shapes: throttled;
- `TransientRetryableChecker` (HTTP 500/502/503/504, `RequestTimeout`..., and the exception classes
  `botocore.exceptions.ConnectionError` and `HTTPClientError`: refused or reset connections, timeouts,
  responses lost in transit) and the model's other `retryable` shapes: transient.
Missing credentials are botocore's credential exceptions. "Not found" is an error shape the
operation's model names `*NotFound*`, or SageMaker's way of saying it: a describe of a missing
resource answers `ValidationException` "... does not exist" / "Could not find ..." (the model lists no
not-found shape for `DescribeModelPackage`, `DescribeProcessingJob`, `DescribeTransformJob`...).
"""

from __future__ import annotations

import re
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Literal

from botocore.awsrequest import AWSResponse
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    CredentialRetrievalError,
    NoCredentialsError,
    PartialCredentialsError,
    TokenRetrievalError,
    UnauthorizedSSOTokenError,
)
from botocore.retries.standard import (
    ModeledRetryErrorDetector,
    RetryContext,
    ThrottledRetryableChecker,
    ThrottlingStatusCodeChecker,
    TransientRetryableChecker,
)

Kind = Literal["throttled", "transient", "denied", "credentials", "not-found", "refused"]

_CREDENTIAL_EXCEPTIONS = (
    NoCredentialsError,
    PartialCredentialsError,
    CredentialRetrievalError,
    TokenRetrievalError,
    UnauthorizedSSOTokenError,
)
_CREDENTIAL_CODES = {"ExpiredToken", "ExpiredTokenException", "InvalidClientTokenId", "UnrecognizedClientException"}
"""STS and service answers to a request signed with credentials AWS does not accept (any more)."""
_DENIED_CODES = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "NotAuthorized"}
_NOT_FOUND_MESSAGE = re.compile(r"does not exist|not found|could not find", re.IGNORECASE)
_DUPLICATE_MESSAGE = re.compile(r"already exists|must be unique", re.IGNORECASE)
_DENIED_ACTION = re.compile(r"not authorized to perform:? ([a-z0-9-]+:[A-Za-z0-9]+)")


@dataclass(frozen=True)
class Call:
    """The request an AWS error answered: operation, the resource it names, the IAM action it needs."""

    operation: str
    resource: str | None
    action: str
    model: Any = None
    """botocore's `OperationModel` of the operation (its modeled error shapes)."""


_last_call: ContextVar[Call | None] = ContextVar("last_aws_call", default=None)


def watch(client: Any) -> Any:
    """Record each request `client` sends, so that an error can name its operation and resource."""
    signing_name = client.meta.service_model.signing_name

    def record(model: Any, params: dict[str, Any], **_: Any) -> None:
        _last_call.set(Call(model.name, _resource(params), f"{signing_name}:{model.name}", model))

    client.meta.events.register("before-parameter-build", record)
    return client


def _resource(params: dict[str, Any]) -> str | None:
    """The request parameter naming what the call acts on (`...Name`, `...Arn`), if any."""
    for key, value in params.items():
        if isinstance(value, str) and key.endswith(("Arn", "Name")):
            return value
    return None


@dataclass(frozen=True)
class AwsFailure:
    """One AWS error, classified."""

    kind: Kind
    code: str
    message: str
    operation: str | None = None
    resource: str | None = None
    action: str | None = None
    """The IAM action the request needed: from AWS's denial message, else `<signing name>:<operation>`."""

    @property
    def retryable(self) -> bool:
        """Whether the same request may succeed later (botocore would retry it)."""
        return self.kind in ("throttled", "transient")

    def line(self) -> str:
        """One line for a person: what was asked, what AWS answered, and what to do."""
        what = " ".join(part for part in (self.operation, self.resource) if part) or "an AWS request"
        answer = f"{self.code}: {self.message}" if self.message else self.code
        advice = {
            "throttled": "AWS throttled the request; retrying may help, and re-running the command is safe",
            "transient": "a transient fault (5xx or connection); retrying may help, and re-running the command is safe",
            "denied": f"retrying will not help: the caller lacks {self.action or 'a permission'}",
            "credentials": (
                "retrying will not help: no valid AWS credentials; run `aws sso login` (and set AWS_PROFILE), "
                "or export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY; in CI the workflow's OIDC role provides them"
            ),
            "not-found": "retrying will not help: it does not exist",
            "refused": "retrying will not help: AWS refused the request as sent",
        }[self.kind]
        return f"{what} failed: {answer}; {advice}"


def classify(error: BaseException, operation_model: Any = None) -> AwsFailure | None:
    """The failure `error` reports, or None when it is not an AWS or botocore error."""
    call = _last_call.get()
    if isinstance(error, ClientError):
        if call is not None and call.operation != error.operation_name:
            call = None
        model = operation_model if operation_model is not None else (call.model if call else None)
        info = error.response.get("Error", {})
        code, message = str(info.get("Code", "Unknown")), str(info.get("Message", ""))
        denied = _DENIED_ACTION.search(message)
        return AwsFailure(
            kind=_client_error_kind(error, model),
            code=code,
            message=message,
            operation=error.operation_name,
            resource=call.resource if call else None,
            action=denied.group(1) if denied else (call.action if call else None),
        )
    if isinstance(error, BotoCoreError):
        kind: Kind = "refused"
        if isinstance(error, _CREDENTIAL_EXCEPTIONS):
            kind = "credentials"
        elif _transient(RetryContext(1, caught_exception=error)):
            kind = "transient"
        return AwsFailure(
            kind=kind,
            code=type(error).__name__,
            message=str(error),
            operation=call.operation if call else None,
            resource=call.resource if call else None,
        )
    return None


def _client_error_kind(error: ClientError, model: Any) -> Kind:
    code = str(error.response.get("Error", {}).get("Code", ""))
    status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
    context = RetryContext(
        1,
        operation_model=model,
        parsed_response=error.response,
        http_response=AWSResponse("", status, {}, None) if status else None,
    )
    detector = ModeledRetryErrorDetector()
    modeled = detector.detect_error_type(context) if model is not None else None
    if (
        ThrottledRetryableChecker().is_retryable(context)
        or modeled == detector.THROTTLING_ERROR
        or ThrottlingStatusCodeChecker().is_retryable(context)
    ):
        return "throttled"
    if modeled == detector.TRANSIENT_ERROR or _transient(context):
        return "transient"
    if code in _CREDENTIAL_CODES:
        return "credentials"
    if code in _DENIED_CODES:
        return "denied"
    if is_not_found(error, model):
        return "not-found"
    return "refused"


def _transient(context: RetryContext) -> bool:
    return bool(TransientRetryableChecker().is_retryable(context))


def is_retryable(error: BaseException, operation_model: Any = None) -> bool:
    """Whether botocore's standard retry mode would retry after `error` (throttling, 5xx, connection)."""
    failure = classify(error, operation_model)
    return failure is not None and failure.retryable


def is_not_found(error: ClientError, operation_model: Any = None) -> bool:
    """Whether AWS answered that the resource does not exist (as against: could not be asked)."""
    info = error.response.get("Error", {})
    code, message = str(info.get("Code", "")), str(info.get("Message", ""))
    modeled = {
        shape.metadata.get("error", {}).get("code") or shape.name
        for shape in (operation_model.error_shapes if operation_model is not None else [])
        if "NotFound" in shape.name
    }
    if code in modeled or code in ("ResourceNotFound", "ResourceNotFoundException"):
        return True
    return code == "ValidationException" and bool(_NOT_FOUND_MESSAGE.search(message))


def already_exists(error: ClientError) -> bool:
    """Whether SageMaker refused a create because a resource of that name exists.

    It answers `ResourceInUse`, or for jobs a `ValidationException` "... already exists".
    """
    info = error.response.get("Error", {})
    code, message = str(info.get("Code", "")), str(info.get("Message", ""))
    return code in ("ResourceInUse", "ResourceInUseException") or (
        code == "ValidationException" and bool(_DUPLICATE_MESSAGE.search(message))
    )
