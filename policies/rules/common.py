"""Helpers rules share: walking pipeline definitions and IAM documents."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from policies.model import Resource

BUCKET = "aws:s3/bucket:Bucket"
PIPELINE = "aws:sagemaker/pipeline:Pipeline"
ENDPOINT_CONFIG = "aws:sagemaker/endpointConfiguration:EndpointConfiguration"
READ_PREFIXES = ("Describe", "List", "Get", "Search", "BatchDescribe", "BatchGet", "Lookup", "View", "Filter")


def pipeline_jobs(resource: Resource) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(step name, step type, arguments) of every processing and training job: nested, tuned and Clarify ones too."""
    definition = resource.json("pipelineDefinition") or {}
    pending = list(definition.get("Steps", []))
    while pending:
        step = pending.pop(0)
        if step.get("Type") == "Condition":
            pending += step["Arguments"].get("IfSteps", []) + step["Arguments"].get("ElseSteps", [])
        elif step.get("Type") in ("Processing", "Training"):
            yield step["Name"], step["Type"], step.get("Arguments", {})
        elif step.get("Type") == "ClarifyCheck":  # a processing job running Clarify's image
            yield step["Name"], "Processing", step.get("Arguments", {})
        elif step.get("Type") == "Tuning":  # every job of the search runs this definition
            yield step["Name"], "Training", step.get("Arguments", {}).get("TrainingJobDefinition", {})


def as_list(value: Any) -> list[Any]:
    """A policy field that may be one value or a list, as a list."""
    return value if isinstance(value, list) else [value]


def is_read(action: str) -> bool:
    """Whether an IAM action only reads (by AWS's naming convention)."""
    return ":" in action and action.split(":", 1)[1].startswith(READ_PREFIXES)


def bucket_names(resources: list[Resource]) -> dict[str, Resource]:
    """Buckets by their physical name (what sub-resources reference in `bucket`)."""
    return {str(r.props.get("bucket")): r for r in resources if r.type == BUCKET}
