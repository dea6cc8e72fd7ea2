"""The chain behind a model: data -> pipeline run -> model package -> approval -> endpoint.

Start from a package, from what a stack pins, or from a live endpoint (whose models name the
packages they were created from); the chain then reads the package's lineage metadata, its
reports, its approval, and which stacks pin it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from kernel.types import ENVIRONMENTS
from pipelines.aws_errors import is_not_found
from pipelines.lifecycle import LifecycleError
from pipelines.lifecycle.registry import describe
from pipelines.lifecycle.stack_files import pinned_package


@dataclass(frozen=True)
class Serving:
    """One variant of an endpoint and the package its model was created from."""

    endpoint: str
    status: str
    variant: str
    model: str
    package_arn: str
    weight: float


@dataclass(frozen=True)
class Lineage:
    """Everything known about where a model package came from and where it runs."""

    package_arn: str
    group: str
    version: int
    data_version: str
    git_commit: str
    pipeline_execution: str
    config_hash: str
    metrics: dict[str, str]
    approval: str
    approval_reason: str
    pinned_by: list[str]
    """Environments whose stack file pins the package (deployed there once their `pulumi up` runs)."""
    tracking_run: str = "missing"
    """The name of the pipeline execution's MLflow run (the TrackExperiment step names it by the execution id)."""
    tracking_run_id: str = ""
    """The MLflow run id, when the caller looked the run up in MLflow by its name."""
    reports: dict[str, str] = field(default_factory=dict)
    endpoint: Serving | None = None
    """The live endpoint variant the chain was traced from, if it was."""

    def to_dict(self) -> dict[str, Any]:
        """As JSON data."""
        return asdict(self)

    def rows(self) -> list[tuple[str, str]]:
        """The chain as (link, value) rows, data first, endpoint last."""
        rows = [
            ("training data", self.data_version),
            ("code (git commit)", self.git_commit),
            ("stack config", self.config_hash),
            ("pipeline run", self.pipeline_execution),
            (
                ("MLflow run", f"{self.tracking_run_id} (run name {self.tracking_run})")
                if self.tracking_run_id
                else ("MLflow run name", self.tracking_run)
            ),
            ("metrics", ", ".join(f"{k}={v}" for k, v in self.metrics.items()) or "none"),
            *self._report_rows(),
            ("model package", self.package_arn),
            ("approval", f"{self.approval}: {self.approval_reason}"),
            ("pinned by", ", ".join(self.pinned_by) or "no environment"),
        ]
        if self.endpoint is not None:
            e = self.endpoint
            rows.append(
                ("endpoint", f"{e.endpoint} ({e.status}), variant {e.variant} weight {e.weight:g}, model {e.model}")
            )
        return rows

    def _report_rows(self) -> list[tuple[str, str]]:
        """One row per report file: names that point at the same file share its row."""
        names: dict[str, list[str]] = {}
        for name, uri in self.reports.items():
            names.setdefault(uri, []).append(name)
        return [(f"report: {', '.join(labels)}", uri) for uri, labels in names.items()]


def lineage(client: Any, root: Path, arn: str, project: str, endpoint: Serving | None = None) -> Lineage:
    """The lineage of package `arn` of `project`, and the environments where the project pins it."""
    package = describe(client, arn)
    meta = package.metadata
    served = [
        str(env)
        for env in ENVIRONMENTS
        if (root / f"Pulumi.{env}.yaml").is_file() and pinned_package(root, env, project) == arn
    ]
    execution = meta.get("lineage.pipeline-execution", "missing")
    return Lineage(
        package_arn=arn,
        group=package.group,
        version=package.version,
        data_version=meta.get("lineage.data-version", "missing"),
        git_commit=meta.get("lineage.git-commit", "missing"),
        pipeline_execution=execution,
        config_hash=meta.get("lineage.config-hash", "missing"),
        metrics={key.removeprefix("metric."): value for key, value in meta.items() if key.startswith("metric.")},
        approval=package.status,
        approval_reason=package.description,
        pinned_by=served,
        tracking_run=execution.rsplit("/", 1)[-1] if "/execution/" in execution else "missing",
        reports=package.reports,
        endpoint=endpoint,
    )


def endpoint_packages(client: Any, endpoint_name: str) -> list[Serving]:
    """The variants of a live endpoint and the packages their models came from (heaviest first)."""
    try:
        endpoint = client.describe_endpoint(EndpointName=endpoint_name)
        config = client.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
        served = []
        for variant in config["ProductionVariants"]:
            model = client.describe_model(ModelName=variant["ModelName"])
            containers = [model.get("PrimaryContainer", {}), *model.get("Containers", [])]
            package = next((c["ModelPackageName"] for c in containers if c.get("ModelPackageName")), "")
            served.append(
                Serving(
                    endpoint=endpoint_name,
                    status=str(endpoint.get("EndpointStatus", "Unknown")),
                    variant=variant["VariantName"],
                    model=variant["ModelName"],
                    package_arn=package,
                    weight=float(variant.get("InitialVariantWeight", 1.0)),
                )
            )
    except ClientError as error:
        if is_not_found(error):
            raise LifecycleError(f"endpoint {endpoint_name}, its config or its model does not exist: {error}") from None
        raise
    served.sort(key=lambda s: -s.weight)
    if not served or not served[0].package_arn:
        raise LifecycleError(
            f"endpoint {endpoint_name} serves no model created from a model package; "
            "the blueprint deploys packages only (serving.modelPackageArn)"
        )
    return served
