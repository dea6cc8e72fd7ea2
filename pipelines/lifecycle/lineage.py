"""The chain behind a served model: data -> pipeline run -> model package -> approval -> endpoints."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from infra.config.types import ENVIRONMENTS
from pipelines.lifecycle.registry import describe
from pipelines.lifecycle.stack_files import pinned_package


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
    served_by: list[str]

    def to_dict(self) -> dict[str, Any]:
        """As JSON data."""
        return asdict(self)


def lineage(client: Any, root: Path, arn: str) -> Lineage:
    """The lineage of package `arn`, and the environments whose stack files pin it."""
    package = describe(client, arn)
    meta = package.metadata
    served = [
        str(env) for env in ENVIRONMENTS if (root / f"Pulumi.{env}.yaml").is_file() and pinned_package(root, env) == arn
    ]
    return Lineage(
        package_arn=arn,
        group=package.group,
        version=package.version,
        data_version=meta.get("lineage.data-version", "missing"),
        git_commit=meta.get("lineage.git-commit", "missing"),
        pipeline_execution=meta.get("lineage.pipeline-execution", "missing"),
        config_hash=meta.get("lineage.config-hash", "missing"),
        metrics={key.removeprefix("metric."): value for key, value in meta.items() if key.startswith("metric.")},
        approval=package.status,
        approval_reason=package.description,
        served_by=served,
    )
