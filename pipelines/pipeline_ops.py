"""Create, update and start a SageMaker pipeline: idempotent operations for CI and people.

`pulumi up` owns the pipeline of a deployed stack; `upsert` writes the same definition (rendered from
the same template with the stack's outputs), so it is a no-op there and useful wherever Pulumi does
not run (a sandbox account, the offline demo's emulator).
"""

from __future__ import annotations

import json
import random
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from botocore.exceptions import BotoCoreError, ClientError

from pipelines.aws_errors import already_exists, is_not_found, is_retryable
from pipelines.aws_retry import RetryPolicy, single_attempt_twin
from pipelines.clarify_baselines import bootstrap_parameters, clarify_group

UpsertResult = Literal["created", "updated", "unchanged"]


class PipelineError(RuntimeError):
    """A pipeline operation that cannot proceed; the message says why and what to do."""


def upsert_pipeline(
    client: Any, name: str, definition: Mapping[str, Any], role_arn: str, tags: Mapping[str, str]
) -> UpsertResult:
    """Make the pipeline `name` have exactly `definition` and `role_arn`; safe to repeat."""
    body = json.dumps(definition, sort_keys=True)
    try:
        current = client.describe_pipeline(PipelineName=name)
    except ClientError as error:
        if not is_not_found(error):
            raise
        try:
            client.create_pipeline(
                PipelineName=name,
                PipelineDisplayName=name,
                PipelineDefinition=body,
                RoleArn=role_arn,
                Tags=[{"Key": key, "Value": value} for key, value in sorted(tags.items())],
                ClientRequestToken=str(uuid.uuid5(uuid.NAMESPACE_URL, f"{name}:{body}")),
            )
            return "created"
        except ClientError as create_error:
            if not already_exists(create_error):
                raise
            current = client.describe_pipeline(PipelineName=name)  # an earlier attempt's response was lost
    if json.loads(current["PipelineDefinition"]) == json.loads(body) and current.get("RoleArn") == role_arn:
        return "unchanged"
    client.update_pipeline(PipelineName=name, PipelineDefinition=body, RoleArn=role_arn)
    return "updated"


@dataclass(frozen=True)
class Started:
    """An execution of a pipeline, and whether this call started it (False: an earlier run did)."""

    arn: str
    started: bool
    display_name: str


START_RETRY = RetryPolicy(max_attempts=5)
"""Tries of StartPipelineExecution (botocore's legacy default, 1 + 4 retries); each looks for the execution first."""


def execution_token(name: str, parameters: Mapping[str, str], commit: str, trigger: str) -> str:
    """The idempotency token of a run, so that re-running the same request starts nothing new.

    One per pipeline, code commit, data and settings (the parameters), and trigger (a CI run, or "manual").
    """
    key = json.dumps([name, commit, sorted(parameters.items()), trigger])
    return str(uuid.uuid5(uuid.NAMESPACE_URL, key))


def start_pipeline(
    client: Any,
    name: str,
    parameters: Mapping[str, str],
    token: str | None = None,
    notify: Callable[[str], None] | None = None,
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> Started:
    """Start an execution with `parameters` (checked against the definition), once per `token`.

    The execution is named after the token, and every attempt first looks for an execution of that
    name: a re-run, or a retry after a response lost in transit, finds the execution it started
    instead of starting a second one. SageMaker's `ClientRequestToken` says the same to AWS; this
    also holds where a token is not honoured (an emulator) or has expired. Without `token` a random
    one is drawn, which always starts a new execution. A training run whose registry has no approved
    Clarify baselines yet registers them instead of checking against them
    (`pipelines.clarify_baselines`); `notify` hears about it.
    """
    try:
        definition = json.loads(client.describe_pipeline(PipelineName=name)["PipelineDefinition"])
    except ClientError as error:
        if is_not_found(error):
            raise PipelineError(
                f"pipeline {name!r} does not exist here; deploy the stack or run `mlops pipeline upsert`"
            ) from error
        raise
    known = {parameter["Name"]: parameter for parameter in definition.get("Parameters", [])}
    unknown = sorted(set(parameters) - set(known))
    if unknown:
        raise PipelineError(
            f"unknown pipeline parameter(s) {', '.join(unknown)}; {name} takes {', '.join(sorted(known))}"
        )
    for key, value in parameters.items():
        allowed = known[key].get("EnumValues")
        if allowed and value not in allowed:
            raise PipelineError(f"parameter {key}={value!r} is not one of {', '.join(allowed)}")
    bootstrap = bootstrap_parameters(client, definition, parameters)
    if bootstrap and notify:
        notify(
            f"no approved package of {clarify_group(definition)} carries Clarify baselines yet: this run computes "
            "and registers them (its checks compare from the next run on)"
        )
    parameters = {**parameters, **bootstrap}
    request_token = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{name}:{token}")) if token else str(uuid.uuid4())
    display = f"{name}-{request_token[:8]}"
    once = single_attempt_twin(client)
    rng = random.Random()  # noqa: S311 - jitter spreads retries, not security
    for attempt in range(START_RETRY.max_attempts):
        existing = _execution_named(client, name, display)
        if existing is not None:
            return Started(existing, started=attempt > 0, display_name=display)
        try:
            response = once.start_pipeline_execution(
                PipelineName=name,
                PipelineExecutionDisplayName=display,
                PipelineParameters=[{"Name": key, "Value": value} for key, value in sorted(parameters.items())],
                ClientRequestToken=request_token,
            )
        except (ClientError, BotoCoreError) as error:
            if attempt + 1 == START_RETRY.max_attempts or not is_retryable(error):
                raise
            sleep(START_RETRY.delay(attempt, rng))
            continue
        return Started(str(response["PipelineExecutionArn"]), started=True, display_name=display)
    raise AssertionError("unreachable: the last attempt returns or raises")


def _execution_named(client: Any, name: str, display: str) -> str | None:
    """The ARN of the execution of `name` whose display name is `display`, if one exists."""
    for page in client.get_paginator("list_pipeline_executions").paginate(PipelineName=name):
        for summary in page.get("PipelineExecutionSummaries", []):
            if summary.get("PipelineExecutionDisplayName") == display:
                return str(summary["PipelineExecutionArn"])
    return None
