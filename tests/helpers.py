"""Small helpers the tests share: reading policy documents and stack files out of a plan."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from kernel.plan import Plan, PlannedResource

FIXTURE_STACKS = Path(__file__).resolve().parent / "fixtures" / "stacks"
"""A project folder (Pulumi.yaml and one stack file per environment) that the blueprint's tests own."""


def document(resource: PlannedResource, key: str = "policy") -> dict[str, Any]:
    """The policy JSON of a resource's input `key`, parsed."""
    value = resource.inputs[key]
    assert isinstance(value, str), f"{resource.name}.{key} is not a JSON string: {value!r}"
    parsed: dict[str, Any] = json.loads(value)
    return parsed


def statements(resource: PlannedResource, key: str = "policy") -> list[dict[str, Any]]:
    """Statements of a resource's policy document."""
    return list(document(resource, key)["Statement"])


def as_list(value: Any) -> list[Any]:
    """A policy field that may be a string or a list, as a list."""
    return value if isinstance(value, list) else [value]


def bucket_of(plan: Plan, bucket_input: str) -> PlannedResource:
    """The bucket a sub-resource (policy, encryption...) points at by its `bucket` input."""
    return next(b for b in plan.of_type("aws:s3/bucket:Bucket") if b.inputs["bucket"] == bucket_input)


def write_stack(root: Path, stack: str, config: dict[str, Any]) -> Path:
    """Write a project with one stack file under `root` (for tests of bad input)."""
    (root / "Pulumi.yaml").write_text("name: mlops\nruntime: python\nmain: infra/\n", encoding="utf-8")
    path = root / f"Pulumi.{stack}.yaml"
    path.write_text(yaml.safe_dump({"config": config}, sort_keys=False), encoding="utf-8")
    return path


def shipped_settings(project_root: Path, stack: str) -> dict[str, Any]:
    """The `config:` mapping of a fixture stack file, as YAML data (for tests that edit one key)."""
    document = yaml.safe_load((project_root / f"Pulumi.{stack}.yaml").read_text(encoding="utf-8"))
    settings: dict[str, Any] = document["config"]
    return settings


LINEAGE = {
    "lineage.data-version": "sha256:0f1e",
    "lineage.git-commit": "4b825dc642cb6eb9a060e54bf8d69288fbee4904",
    "lineage.pipeline-execution": "arn:aws:sagemaker:eu-west-1:123456789012:pipeline/mlops-dev-training/execution/abc",
    "lineage.config-hash": "0123456789abcdef",
    "metric.auc": "0.81",
}
"""What the training pipeline records on every package it registers."""


def run_main(
    args: tuple[str, ...],
    root: Path,
    endpoint: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> tuple[int, str, str]:
    """The console script's entry point in-process, error boundary included: exit code, stdout, stderr.

    For tests with many cases of one line each, where a process per case would cost a second apiece.
    """
    import mlops.cli

    monkeypatch.setattr(mlops.cli, "ROOT", root)
    monkeypatch.chdir(root)
    monkeypatch.setattr("sys.argv", ["mlops", *args, "--endpoint-url", endpoint])
    capsys.readouterr()
    with pytest.raises(SystemExit) as exited:
        mlops.cli.main()
        raise SystemExit(0)
    out, err = capsys.readouterr()
    return int(exited.value.code or 0), out, err
