"""Start a SageMaker job exactly once: its name is derived from its whole request.

A lost response to `Create*Job` makes botocore (or the operator) send the request again, and
SageMaker refuses the second job of the same name. Since the name is a digest of the request,
that refusal means "this very job already exists", and the job is found instead of reported as a failure.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from typing import Any

from botocore.exceptions import ClientError

from pipelines.aws_errors import already_exists, is_not_found


def job_name(prefix: str, kind: str, request: Mapping[str, Any]) -> str:
    """`<prefix>-<kind>-<digest of the request>`, within SageMaker's 63 characters."""
    digest = hashlib.sha256(json.dumps(request, sort_keys=True).encode()).hexdigest()[:12]
    return f"{prefix}-{kind}"[: 63 - 13] + f"-{digest}"


def start_once(
    describe: Callable[[], dict[str, Any]], create: Callable[[], dict[str, Any]]
) -> tuple[dict[str, Any], bool]:
    """(the job's description or create response, whether this call created it); other errors propagate."""
    try:
        return describe(), False
    except ClientError as error:
        if not is_not_found(error):
            raise
    try:
        return create(), True
    except ClientError as error:
        if not already_exists(error):
            raise
    return describe(), False
