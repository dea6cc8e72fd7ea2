"""Small helpers the tests share: reading policy documents and stack files out of a plan."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from kernel import StackConfig
from kernel.loader import PROJECT_KEYS, PROJECT_PERSONAS, parse_settings, read_stack_file
from kernel.plan import Plan, PlannedResource
from kernel.projects import load_project
from kernel.scratch import combined_view, write_view

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


PROJECT = "churn"
"""The fixture project the tests' combined views belong to."""


def write_stack(root: Path, stack: str, config: dict[str, Any]) -> Path:
    """Write a repository with one stack file and the churn project under `root` (for tests of bad input).

    `config` is a combined view (`shipped_settings`): its project sections go to churn's project.yaml.
    """
    (root / "Pulumi.yaml").write_text("name: mlops\nruntime: python\nmain: infra/platform/\n", encoding="utf-8")
    return write_view(root, stack, config, PROJECT, FIXTURE_STACKS)


def shipped_settings(project_root: Path, stack: str) -> dict[str, Any]:
    """A fixture stack's settings completed by churn's for its environment, as one stack file's keys."""
    return combined_view(project_root, stack, PROJECT)


def outputs_of(plan: Plan, project: str = PROJECT) -> dict[str, Any]:
    """An environment plan's outputs as one stack's: the platform's, completed by one project's (maps merged)."""
    platform = {key: value for key, value in plan.outputs.items() if key != "projects"}
    own = plan.outputs.get("projects", {}).get(project, {})
    merged = {**platform, **own}
    for key in set(platform) & set(own):
        if isinstance(platform[key], dict) and isinstance(own[key], dict):
            merged[key] = {**platform[key], **own[key]}
    return merged


def where(stack: str, key: str) -> str:
    """How an error names a key of a combined view: `Pulumi.<stack>.yaml: mlops:x...`, or the project file's
    `projects/churn/project.yaml: environments.<stack>.serving...` for a project's section or a team persona."""
    name = key.removeprefix("mlops:")
    head = name.split(".")[0].split("[")[0]
    if key.startswith("mlops:") and head in PROJECT_KEYS:
        return f"projects/{PROJECT}/project.yaml: environments.{stack}.{name}"
    persona = name.removeprefix("identity.personas.")
    if persona != name and persona.split("[")[0] in PROJECT_PERSONAS:
        return f"projects/{PROJECT}/project.yaml: environments.{stack}.personas.{persona}"
    return f"Pulumi.{stack}.yaml: {key}"


def load_view(path: Path) -> StackConfig:
    """The churn project's view of the stack file at `path` (its repository's churn project completes it)."""
    return parse_settings(read_stack_file(path), path.name, load_project(path.parent, PROJECT))


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
    import mlops.workspace

    monkeypatch.setattr(mlops.workspace, "ROOT", root)
    monkeypatch.chdir(root)
    monkeypatch.setattr("sys.argv", ["mlops", *args, "--endpoint-url", endpoint])
    capsys.readouterr()
    with pytest.raises(SystemExit) as exited:
        mlops.cli.main()
        raise SystemExit(0)
    out, err = capsys.readouterr()
    return int(exited.value.code or 0), out, err
