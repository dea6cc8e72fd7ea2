"""Bootstrap the Clarify check baselines on a registry's first training run.

A Clarify check step with `SkipCheck: false` compares its results with a baseline: the one supplied,
or else the drift-check baseline of the latest approved package in its model package group, which
"must be available" (SageMaker's ClarifyCheck step reference). A fresh account has no approved
package, so every check, and the whole run, would fail before `RegisterModel`, and no model could
ever register. So a run whose group's latest approved package lacks these baselines skips the
comparison and registers the baselines it computes instead (`SkipCheck` and `RegisterNewBaseline`
true); every later run compares with the baselines of the package a person approved.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from botocore.exceptions import ClientError

from pipelines.definitions.training import REGISTER_CLARIFY, SKIP_CLARIFY

BASELINES = (
    ("Bias", "PreTrainingConstraints"),
    ("Bias", "PostTrainingConstraints"),
    ("Explainability", "Constraints"),
)
"""The `DriftCheckBaselines` the three checks read from the latest approved package."""
BOOTSTRAP = {SKIP_CLARIFY: "true", REGISTER_CLARIFY: "true"}


def missing_baselines(client: Any, group: str) -> list[str]:
    """The Clarify baselines the group's latest approved package lacks (all of them when there is none)."""
    try:
        latest = client.list_model_packages(
            ModelPackageGroupName=group,
            ModelApprovalStatus="Approved",
            SortBy="CreationTime",
            SortOrder="Descending",
            MaxResults=1,
        )["ModelPackageSummaryList"]
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") not in ("ResourceNotFound", "ValidationException"):
            raise
        latest = []
    names = [f"{kind}.{key}" for kind, key in BASELINES]
    if not latest:
        return names
    package = client.describe_model_package(ModelPackageName=latest[0]["ModelPackageArn"])
    baselines = package.get("DriftCheckBaselines", {})
    return [f"{kind}.{key}" for kind, key in BASELINES if not baselines.get(kind, {}).get(key, {}).get("S3Uri")]


def clarify_group(definition: Mapping[str, Any]) -> str | None:
    """The model package group a definition's Clarify checks read baselines from (None: no such checks)."""
    names = {p["Name"] for p in definition.get("Parameters", [])}
    if not {SKIP_CLARIFY, REGISTER_CLARIFY} <= names:
        return None
    for step in definition.get("Steps", []):
        if step.get("Type") == "ClarifyCheck" and step.get("ModelPackageGroupName"):
            return str(step["ModelPackageGroupName"])
    return None


def bootstrap_parameters(client: Any, definition: Mapping[str, Any], given: Mapping[str, str]) -> dict[str, str]:
    """The Clarify parameters to add to `given`: the bootstrap ones on a first run, none otherwise.

    A caller that sets either parameter itself decides alone.
    """
    group = clarify_group(definition)
    if group is None or {SKIP_CLARIFY, REGISTER_CLARIFY} & set(given):
        return {}
    return dict(BOOTSTRAP) if missing_baselines(client, group) else {}
