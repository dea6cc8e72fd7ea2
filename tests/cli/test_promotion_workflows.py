"""Promotion that branch protection allows: a pull request per stage, deployed on merge with the policy pack.

GitHub refuses pushes to a protected branch from `GITHUB_TOKEN` ("About protected branches"), so no
workflow may push to main; every `pulumi up`, rollbacks included, runs with the policy pack.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from pipelines.lifecycle.stack_files import pin_package
from tests.cli.helpers import run

WORKFLOWS = Path(__file__).resolve().parents[2] / ".github" / "workflows"
PACKAGE = "arn:aws:sagemaker:eu-west-1:111111111111:model-package/mlops-dev-churn-model/7"


def workflows() -> dict[str, dict[str, Any]]:
    return {path.name: yaml.safe_load(path.read_text()) for path in sorted(WORKFLOWS.glob("*.yml"))}


def steps(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    return [step for job in workflow["jobs"].values() for step in job.get("steps", [])]


def test_no_workflow_pushes_to_main() -> None:
    for name, workflow in workflows().items():
        for step in steps(workflow):
            script = step.get("run", "")
            for push in re.findall(r"git push[^\n]*", script):
                assert "main" not in push and "refs/heads/$branch" in push, (name, push)


def test_every_pulumi_up_applies_the_policy_pack() -> None:
    ups: dict[str, int] = {}
    for name, workflow in workflows().items():
        for step in steps(workflow):
            # (a pulumi/actions step without `with` only installs the CLI: review destroys run it themselves)
            if step.get("uses", "").startswith("pulumi/actions@") and step.get("with", {}).get("command") == "up":
                ups[name] = ups.get(name, 0) + 1
                # a project's `pulumi up` runs in projects/: the action resolves pack paths from its work-dir
                base = "../" if step["with"].get("work-dir") == "projects" else ""
                assert step["with"]["policyPacks"] == f"{base}policies", (name, step)
                stack = "dev" if name == "review-stack.yml" else "${{ inputs.stack }}"  # review stacks run in dev
                expected = f"{base}policies/config/{stack}.json"
                assert step["with"]["policyPackConfigs"] == expected, (name, step)
    assert ups == {"deploy-stack.yml": 1, "deploy-project.yml": 2, "review-stack.yml": 1}, (
        "the platform's deploy; a project's and its rollback; a review stack's"
    )


def test_an_approval_is_proposed_as_a_pull_request_and_deployed_on_merge() -> None:
    flows = workflows()
    assert "promote-stack.yml" not in flows, "the workflow that pushed pins to main is gone"
    promote = flows["promote-model.yml"]["jobs"]["staging"]
    assert promote["uses"] == "./.github/workflows/propose-promotion.yml"
    assert promote["with"]["stack"] == "staging"
    assert "client_payload.project" in promote["with"]["project"], "the approval event names its project"
    (propose,) = flows["propose-promotion.yml"]["jobs"].values()
    assert propose["environment"] == "${{ inputs.stack }}-${{ inputs.project }}", "the team's reviewers see it"
    script = "\n".join(step.get("run", "") for step in propose["steps"])
    assert 'branch="promote/$PROJECT-$STACK"' in script and 'gh pr create --head "$branch" --base main' in script
    assert "mlops model promote" in script and '--project "$PROJECT"' in script, "only an approved package"
    deploy = flows["deploy.yml"]
    assert deploy[True]["push"]["branches"] == ["main"]  # YAML 1.1 reads the `on` key as True
    assert deploy["jobs"]["propose-prod"]["needs"] == "next-promotion"
    assert deploy["jobs"]["propose-prod"]["with"]["stack"] == "prod"
    assert deploy["jobs"]["propose-prod"]["with"]["project"] == "${{ matrix.project }}"
    assert deploy["jobs"]["next-promotion"]["needs"] == "projects-staging", "prod is proposed once staging serves it"


def test_a_failed_smoke_test_restores_the_previous_pin() -> None:
    (job,) = workflows()["deploy-project.yml"]["jobs"].values()
    by_id = {step.get("id"): step for step in job["steps"] if step.get("id")}
    assert by_id["smoke"]["run"] == '.venv/bin/mlops model smoke --stack "$STACK" --project "$PROJECT"'
    assert "steps.smoke.outcome == 'failure'" in by_id["restore"]["if"]
    restore = 'git show "HEAD^:projects/$PROJECT/project.yaml" > "projects/$PROJECT/project.yaml"'
    assert by_id["restore"]["run"] == restore, "the project's previous pin, in its own file"
    rollback = next(s for s in job["steps"] if "steps.restore.outcome" in s.get("if", "") and "uses" in s)
    assert rollback["with"]["command"] == "up" and rollback["with"]["policyPacks"] == "../policies"


def test_next_promotion_names_the_package_staging_serves_and_prod_does_not(project: Path) -> None:
    assert run("ci", "next-promotion", "--from", "staging", "--to", "prod", cwd=project).stdout.strip() == ""
    pin_package(project, "staging", "churn", PACKAGE, expected=None)
    result = run("ci", "next-promotion", "--from", "staging", "--to", "prod", cwd=project)
    assert result.returncode == 0 and result.stdout.strip() == PACKAGE
    assert run("ci", "pinned", "--stack", "staging", cwd=project).stdout.strip() == PACKAGE
    pin_package(project, "prod", "churn", PACKAGE, expected=None)
    assert run("ci", "next-promotion", "--from", "staging", "--to", "prod", cwd=project).stdout.strip() == ""
