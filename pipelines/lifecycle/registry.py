"""Review and decide on model packages: list candidates, approve or reject with a reason."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from botocore.exceptions import ClientError

from pipelines.aws_errors import is_not_found
from pipelines.definitions.training import LINEAGE_KEYS
from pipelines.lifecycle import LifecycleError

Decision = Literal["Approved", "Rejected"]


@dataclass(frozen=True)
class PackageInfo:
    """One model package version and its approval state."""

    arn: str
    group: str
    version: int
    status: str
    created: datetime | None
    description: str
    metadata: dict[str, str] = field(default_factory=dict)
    """CustomerMetadataProperties: the lineage the training pipeline recorded."""
    reports: dict[str, str] = field(default_factory=dict)
    """Report name -> S3 URI: the evaluation, Clarify bias and explainability reports (ModelMetrics)."""

    def missing_lineage(self) -> list[str]:
        """The lineage keys this package lacks (empty for a package the pipeline registered)."""
        return [key for key in LINEAGE_KEYS if not self.metadata.get(key) or self.metadata[key] == "unknown"]

    def require_lineage(self) -> None:
        """Refuse a package that cannot say which data, code, run and settings produced it."""
        missing = self.missing_lineage()
        if missing:
            raise LifecycleError(
                f"{self.arn} lacks lineage ({', '.join(missing)}): register models through the training pipeline "
                "(`mlops pipeline start -p GitCommit=<sha>`), never by hand"
            )


def parse_arn(arn: str) -> tuple[str, int]:
    """(group, version) of a versioned model package ARN; LifecycleError when it is not one."""
    try:
        _, resource = arn.split(":model-package/", 1)
        group, version = resource.rsplit("/", 1)
        return group, int(version)
    except ValueError:
        shape = "arn:aws:sagemaker:<region>:<account>:model-package/<group>/<version>"
        raise LifecycleError(f"{arn!r} is not a versioned model package ARN ({shape})") from None


def require_group(arn: str, groups: Collection[str], scope: str) -> None:
    """Refuse a package ARN outside `groups` (the model package groups `scope` may act on), before any call."""
    group, _ = parse_arn(arn)
    if group not in groups:
        known = ", ".join(sorted(groups)) or "none"
        raise LifecycleError(f"{arn} belongs to group {group!r}, not to {scope} ({known}); check the ARN and --stack")


def describe(client: Any, arn: str) -> PackageInfo:
    """The package's state; LifecycleError when it does not exist.

    Any other failure (throttling, a 5xx, access denied) propagates as botocore raised it: "could not
    ask" is never reported as "does not exist".
    """
    group, version = parse_arn(arn)
    try:
        response = client.describe_model_package(ModelPackageName=arn)
    except ClientError as error:
        if is_not_found(error):
            raise LifecycleError(f"model package {arn} does not exist") from error
        raise
    return PackageInfo(
        arn=arn,
        group=response.get("ModelPackageGroupName", group),
        version=int(response.get("ModelPackageVersion", version)),
        status=str(response.get("ModelApprovalStatus", "PendingManualApproval")),
        created=response.get("CreationTime"),
        description=str(response.get("ApprovalDescription", "")),
        metadata=dict(response.get("CustomerMetadataProperties", {})),
        reports=_reports(response.get("ModelMetrics", {})),
    )


REPORTS = {
    "quality": ("ModelQuality", "Statistics"),
    "evaluation": ("Bias", "Report"),
    "bias-pre-training": ("Bias", "PreTrainingReport"),
    "bias-post-training": ("Bias", "PostTrainingReport"),
    "explainability": ("Explainability", "Report"),
}
"""Where each report sits in a package's ModelMetrics."""


def _reports(metrics: dict[str, Any]) -> dict[str, str]:
    found = {name: metrics.get(section, {}).get(kind, {}).get("S3Uri") for name, (section, kind) in REPORTS.items()}
    return {name: str(uri) for name, uri in found.items() if uri}


def list_packages(client: Any, group: str, status: str | None = None) -> list[PackageInfo]:
    """Every version of `group` (newest first), optionally only those with approval `status`."""
    packages: list[PackageInfo] = []
    request: dict[str, Any] = {"ModelPackageGroupName": group, "SortBy": "CreationTime", "SortOrder": "Descending"}
    if status:
        request["ModelApprovalStatus"] = status
    for page in client.get_paginator("list_model_packages").paginate(**request):
        for summary in page["ModelPackageSummaryList"]:
            arn = summary["ModelPackageArn"]
            packages.append(
                PackageInfo(
                    arn=arn,
                    group=group,
                    version=int(summary.get("ModelPackageVersion", parse_arn(arn)[1])),
                    status=str(summary.get("ModelApprovalStatus", "")),
                    created=summary.get("CreationTime"),
                    description=str(summary.get("ModelPackageDescription", "")),
                )
            )
    return sorted(packages, key=lambda package: package.version, reverse=True)


def decide(
    client: Any, arn: str, decision: Decision, reason: str, groups: Collection[str] | None = None
) -> Literal["changed", "unchanged"]:
    """Approve or reject a package of `groups`, recording why in `reason`; repeating it changes nothing."""
    if not reason.strip():
        raise LifecycleError("give a reason: it is recorded on the package and shown to whoever promotes it")
    if groups is not None:
        require_group(arn, groups, "the stack's model package group")
    current = describe(client, arn)
    if decision == "Approved":
        current.require_lineage()
    if current.status == decision:
        return "unchanged"
    client.update_model_package(
        ModelPackageArn=arn,
        ModelApprovalStatus=decision,
        ApprovalDescription=reason,
        # Restating the lineage changes nothing in SageMaker, and keeps emulators that reset omitted
        # fields (moto 5.2) from dropping it.
        **({"CustomerMetadataProperties": current.metadata} if current.metadata else {}),
    )
    return "changed"
