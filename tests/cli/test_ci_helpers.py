"""The facts the workflows read from the stack files: roles, regions, state backends."""

from __future__ import annotations

import itertools
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

from kernel.plan import Plan
from mlops.commands.ci import role_arn
from tests.cli.helpers import run
from tests.helpers import outputs_of

REPO = Path(__file__).resolve().parents[2]
WORKFLOWS = REPO / ".github" / "workflows"


def test_role_arns_match_what_the_programs_create(project_root: Path, plans: dict[str, Plan]) -> None:
    """A project's workflow assumes the project's own deploy role; the platform's, the platform's."""
    for stack, plan in plans.items():
        roles = {
            resource.inputs["name"]
            for resource in plan.of_type("aws:iam/role:Role")
            if resource.inputs["name"].endswith(("github-deploy", "github-preview"))
        }
        for kind in ("deploy", "preview"):
            platform = role_arn(project_root, stack, kind)
            project = role_arn(project_root, stack, kind, "churn")
            assert platform.endswith(f":role/mlops-{stack}-github-{kind}") and platform.split("/")[-1] in roles
            assert project == outputs_of(plan)["role_arns"][f"github-{kind}"]
            assert project.endswith(f":role/mlops-{stack}-churn-github-{kind}") and project.split("/")[-1] in roles


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)


def test_changed_lists_the_projects_a_change_touches_and_all_of_them_for_the_platform(project: Path) -> None:
    """`mlops ci changed --base REF` decides which stacks the workflows preview and deploy."""
    shutil.copytree(project / "projects" / "churn", project / "projects" / "fraud")
    text = (project / "projects" / "fraud" / "project.yaml").read_text().replace("name: churn", "name: fraud")
    (project / "projects" / "fraud" / "project.yaml").write_text(text)
    _git(project, "init", "-q", "-b", "main")
    _git(project, "-c", "user.name=t", "-c", "user.email=t@example.com", "add", "-A")
    _git(project, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "base")

    def change(path: str) -> dict[str, object]:
        _git(project, "checkout", "-q", "-B", f"change-{path.replace('/', '-')}", "main")
        target = project / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(target.read_text() + "\n# edited\n" if target.exists() else "new\n")
        _git(project, "-c", "user.name=t", "-c", "user.email=t@example.com", "add", "-A")
        _git(project, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", path)
        result = run("ci", "changed", "--base", "main", cwd=project)
        assert result.returncode == 0, result.stderr
        return dict(json.loads(result.stdout))

    assert change("projects/fraud/project.yaml") == {"platform": False, "projects": ["fraud"]}
    assert change("projects/churn/features/customer-churn.yaml") == {"platform": False, "projects": ["churn"]}
    assert change("Pulumi.dev.yaml") == {"platform": True, "projects": ["churn", "fraud"]}
    assert change("docs/notes.md") == {"platform": False, "projects": []}
    refused = run("ci", "changed", "--base", "--output=x", cwd=project)
    assert refused.returncode == 1 and refused.stderr.startswith("error: --base '--output=x': a git revision")


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


def _workflow(name: str) -> dict[str, Any]:
    return dict(yaml.safe_load((WORKFLOWS / name).read_text()))


def test_every_option_a_workflow_passes_exists(project_root: Path) -> None:
    """A workflow calling `mlops X --opt` with an option X lacks fails only in CI, late: check each here."""
    calls: dict[str, set[str]] = {}
    for path in WORKFLOWS.glob("*.yml"):
        for command, rest in re.findall(
            r"\.venv/bin/mlops ((?:[a-z]+)(?: [a-z][a-z-]*)?)((?: [^\n|;)]*)?)", path.read_text()
        ):
            calls.setdefault(command, set()).update(re.findall(r"(--[a-z][a-z-]*)", rest))
    missing = {}
    for command, options in calls.items():
        text = run(*command.split(), "--help", cwd=project_root).stdout
        absent = sorted(option for option in options if option not in text)
        if absent:
            missing[command] = absent
    assert missing == {}


def test_project_stacks_deploy_in_their_own_environment_as_their_own_role() -> None:
    """`<env>-<project>` is the GitHub environment the project's deploy role trusts; its stack lives in projects/."""
    (job,) = _workflow("deploy-project.yml")["jobs"].values()
    assert job["environment"] == "${{ inputs.stack }}-${{ matrix.project }}"
    assert job["concurrency"]["group"] == "deploy-${{ inputs.stack }}-${{ matrix.project }}"
    assert job["strategy"]["matrix"]["project"] == "${{ fromJSON(inputs.projects) }}"
    script = next(step["run"] for step in job["steps"] if step.get("id") == "target")
    assert '--stack "$STACK" --project "$PROJECT" --kind deploy' in script
    assert 'name=$(.venv/bin/mlops ci project-stack --stack "$STACK" --project "$PROJECT")' in script
    ups = [step for step in job["steps"] if step.get("uses", "").startswith("pulumi/actions@")]
    assert len(ups) == 2, "the deploy and its rollback"
    for up in ups:
        assert up["with"]["command"] == "up" and up["with"]["work-dir"] == "projects"
        assert up["with"]["stack-name"] == "${{ steps.target.outputs.name }}"
        pack = REPO / "projects" / up["with"]["policyPacks"]
        assert (pack / "PulumiPolicy.yaml").is_file(), "the pack's path is relative to work-dir"
        assert up["with"]["policyPackConfigs"] == "../policies/config/${{ inputs.stack }}.json"
    restore = next(step for step in job["steps"] if step.get("id") == "restore")
    assert restore["run"] == 'git show "HEAD^:projects/$PROJECT/project.yaml" > "projects/$PROJECT/project.yaml"'


def test_preview_and_deploy_run_only_what_a_change_touches() -> None:
    preview = _workflow("preview.yml")["jobs"]
    assert preview["platform"]["if"] == "needs.changes.outputs.platform == 'true'"
    assert preview["project"]["if"] == "needs.changes.outputs.projects != '[]'"
    assert preview["project"]["strategy"]["matrix"]["project"] == "${{ fromJSON(needs.changes.outputs.projects) }}"
    assert "mlops ci changed --base" in preview["changes"]["steps"][-1]["run"]
    deploy = _workflow("deploy.yml")["jobs"]
    order = ["platform-dev", "projects-dev", "platform-staging", "projects-staging", "platform-prod", "projects-prod"]
    for before, after in itertools.pairwise(order):
        assert before in deploy[after]["needs"], (before, after)
    for name in order:
        kind = "platform" if name.startswith("platform") else "projects"
        assert deploy[name]["uses"] == f"./.github/workflows/deploy-{'stack' if kind == 'platform' else 'project'}.yml"
        assert f"needs.changes.outputs.{kind if kind == 'platform' else 'projects'}" in deploy[name]["if"]
    assert deploy["propose-prod"]["with"]["project"] == "${{ matrix.project }}"
    drift = _workflow("drift-check.yml")["jobs"]["drift"]
    assert drift["strategy"]["matrix"]["project"] == "${{ fromJSON(needs.projects.outputs.targets) }}"


def test_project_stack_file_carries_the_platform_region(project: Path) -> None:
    result = run("ci", "project-stack", "--stack", "prod", "--project", "churn", cwd=project)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "churn-prod"
    document = yaml.safe_load((project / "projects" / "Pulumi.churn-prod.yaml").read_text())
    platform = yaml.safe_load((project / "Pulumi.prod.yaml").read_text())
    assert document == {"config": {"aws:region": platform["config"]["aws:region"]}}
    assert run("ci", "project-stack", "--stack", "prod", "--project", "nope", cwd=project).returncode == 1
