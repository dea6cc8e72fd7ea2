"""The facts the workflows read from the stack files: roles, regions, state backends."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from mlops.commands.ci import role_arn
from tests.cli.test_cli import run
from tests.helpers import outputs_of

WORKFLOWS = Path(__file__).resolve().parents[2] / ".github" / "workflows"


def test_role_arns_match_what_identity_creates(project_root: Path, plans: dict[str, object]) -> None:
    for stack, plan in plans.items():
        outputs = outputs_of(plan)  # type: ignore[attr-defined]
        assert role_arn(project_root, stack, "deploy") == outputs["role_arns"]["github-deploy"]
        assert role_arn(project_root, stack, "preview") == outputs["role_arns"]["github-preview"]


def test_backend_and_region_commands(project_root: Path) -> None:
    backend = run("ci", "backend", "--stack", "staging", cwd=project_root)
    assert backend.stdout.strip() == "s3://example-org-pulumi-state-222222222222?region=eu-west-1"
    assert run("ci", "region", "--stack", "prod", cwd=project_root).stdout.strip() == "eu-west-1"


def test_every_mlops_command_a_workflow_runs_exists(project_root: Path) -> None:
    commands = set()
    for path in WORKFLOWS.glob("*.yml"):
        commands |= set(re.findall(r"\.venv/bin/mlops ([a-z]+(?: [a-z][a-z-]*)?)", path.read_text()))
    assert {"ci role-arn", "ci backend", "model promote", "model smoke", "policy check"} <= commands
    for command in commands:
        result = run(*command.split(), "--help", cwd=project_root)
        assert result.returncode == 0, f"workflow calls `mlops {command}`, which does not exist"


def test_workflows_default_to_read_only_and_deploy_per_environment() -> None:
    for path in WORKFLOWS.glob("*.yml"):
        workflow = yaml.safe_load(path.read_text())
        assert workflow["permissions"] == {"contents": "read"}, path.name
    deploy = yaml.safe_load((WORKFLOWS / "deploy-stack.yml").read_text())["jobs"]["up"]
    assert deploy["environment"] == "${{ inputs.stack }}"
    assert deploy["concurrency"] == {"group": "deploy-${{ inputs.stack }}", "cancel-in-progress": False}
