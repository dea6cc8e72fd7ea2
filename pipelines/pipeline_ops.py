"""Create, update and start a SageMaker pipeline: idempotent operations for CI and people.

`pulumi up` owns the pipeline of a deployed stack; `upsert` writes the same definition (rendered from
the same template with the stack's outputs), so it is a no-op there and useful wherever Pulumi does
not run (a sandbox account, the offline demo's emulator).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping
from typing import Any, Literal

from botocore.exceptions import ClientError

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
        if error.response.get("Error", {}).get("Code") not in ("ResourceNotFound", "ValidationException"):
            raise
        client.create_pipeline(
            PipelineName=name,
            PipelineDisplayName=name,
            PipelineDefinition=body,
            RoleArn=role_arn,
            Tags=[{"Key": key, "Value": value} for key, value in sorted(tags.items())],
            ClientRequestToken=str(uuid.uuid5(uuid.NAMESPACE_URL, f"{name}:{body}")),
        )
        return "created"
    if json.loads(current["PipelineDefinition"]) == json.loads(body) and current.get("RoleArn") == role_arn:
        return "unchanged"
    client.update_pipeline(PipelineName=name, PipelineDefinition=body, RoleArn=role_arn)
    return "updated"


def start_pipeline(
    client: Any,
    name: str,
    parameters: Mapping[str, str],
    token: str | None = None,
    notify: Callable[[str], None] | None = None,
) -> str:
    """Start an execution with `parameters` (checked against the definition); returns its ARN.

    Passing the same `token` again (a CI run id, say) makes SageMaker return the execution it already
    started for it instead of a second one, so a retried CI job never trains twice. A training run
    whose registry has no approved Clarify baselines yet registers them instead of checking against
    them (`pipelines.clarify_baselines`); `notify` hears about it.
    """
    try:
        definition = json.loads(client.describe_pipeline(PipelineName=name)["PipelineDefinition"])
    except ClientError as error:
        raise PipelineError(
            f"pipeline {name!r} does not exist here; deploy the stack or run `mlops pipeline upsert`"
        ) from error
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
    response = client.start_pipeline_execution(
        PipelineName=name,
        PipelineExecutionDisplayName=f"{name}-{request_token[:8]}",
        PipelineParameters=[{"Name": key, "Value": value} for key, value in sorted(parameters.items())],
        ClientRequestToken=request_token,
    )
    return str(response["PipelineExecutionArn"])
