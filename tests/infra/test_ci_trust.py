"""Issue 18: every GitHub Actions job that assumes a role presents a subject that role trusts.

GitHub's OIDC `sub` claim depends on the trigger (GitHub docs, "About security hardening with
OpenID Connect", example subject claims): a job that names an environment sends
`repo:<org>/<repo>:environment:<name>`; otherwise a `pull_request` run sends
`repo:<org>/<repo>:pull_request`, and a push, schedule or workflow_dispatch run on a branch sends
`repo:<org>/<repo>:ref:refs/heads/<branch>`. Scheduled runs use the default branch (main).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from kernel import StackConfig
from kernel.plan import Plan
from tests.helpers import as_list, statements

WORKFLOWS = Path(__file__).resolve().parents[2] / ".github" / "workflows"
KINDS = {"preview": "github-preview", "deploy": "github-deploy"}
BRANCH_TRIGGERS = {"push", "schedule", "workflow_dispatch", "repository_dispatch"}


def _triggers(workflow: dict[str, Any]) -> set[str]:
    on = workflow.get(True, workflow.get("on"))  # YAML 1.1 reads the key `on` as True
    return set(on) if isinstance(on, dict) else set(as_list(on))


def subjects_of_jobs(repo: str, stack: str, project: str) -> list[tuple[str, str | None, str, str]]:
    """(workflow/job, project or None, role kind, subject) for every job step that asks `mlops ci role-arn`.

    A job that names a GitHub environment presents `environment:<stack>` (the platform's) or
    `environment:<stack>-<project>` (a project's, whose name the workflow takes from its matrix or inputs).
    """
    found = []
    for path in sorted(WORKFLOWS.glob("*.yml")):
        workflow = yaml.safe_load(path.read_text(encoding="utf-8"))
        for name, job in workflow.get("jobs", {}).items():
            text = yaml.safe_dump(job.get("steps", []), width=1_000_000)
            for scoped, kind in re.findall(r"role-arn --stack \S+ (--project \S+ )?--kind (\w+)", text):
                where, owner = f"{path.name}/{name}", project if scoped else None
                if "environment" in job:
                    environment = f"{stack}-{project}" if owner else stack
                    assert str(job["environment"]).count("}-${{") == (1 if owner else 0), (where, job["environment"])
                    found.append((where, owner, KINDS[kind], f"{repo}:environment:{environment}"))
                    continue
                for trigger in _triggers(workflow):
                    subject = "pull_request" if trigger == "pull_request" else "ref:refs/heads/main"
                    assert trigger == "pull_request" or trigger in BRANCH_TRIGGERS, (where, trigger)
                    found.append((where, owner, KINDS[kind], f"{repo}:{subject}"))
    return found


def test_every_ci_job_can_assume_its_role(plan: Plan, config: StackConfig, stack: str) -> None:
    """The platform's jobs and each project's (here churn's) can assume the role they ask for, on every trigger."""
    repo = f"repo:{config.identity.github.org}/{config.identity.github.repo}"
    roles = {(r.ml_project, r.inputs["tags"]["role-kind"]): r for r in plan.of_type("aws:iam/role:Role")}
    jobs = subjects_of_jobs(repo, stack, "churn")
    assert {kind for _, _, kind, _ in jobs} == set(KINDS.values())
    assert {owner for _, owner, _, _ in jobs} == {None, "churn"}, "platform and project jobs both assume roles"
    assert any(where.startswith("drift-check") for where, _, _, _ in jobs)
    for where, owner, kind, subject in jobs:
        (trust,) = statements(roles[(owner, kind)], "assumeRolePolicy")
        trusted = as_list(trust["Condition"]["StringEquals"]["token.actions.githubusercontent.com:sub"])
        assert subject in trusted, f"{where} presents {subject}; {kind} trusts only {trusted}"
