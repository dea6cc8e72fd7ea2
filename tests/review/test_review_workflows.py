"""The review workflows' guarantees, read from their YAML: destroy on every close, forks get no credentials."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

WORKFLOWS = Path(__file__).resolve().parents[2] / ".github" / "workflows"
SAME_REPOSITORY = "github.event.pull_request.head.repo.full_name == github.repository"


def _workflow(name: str) -> dict[Any, Any]:
    return dict(yaml.safe_load((WORKFLOWS / name).read_text(encoding="utf-8")))


def test_review_stacks_are_destroyed_on_every_close_merged_or_not() -> None:
    workflow = _workflow("review-stack.yml")
    assert workflow[True]["pull_request"]["types"] == ["opened", "synchronize", "reopened", "closed"]  # `on:`
    destroy = workflow["jobs"]["destroy"]
    assert "github.event.action == 'closed'" in destroy["if"]
    assert "merged" not in yaml.safe_dump(destroy)  # a "merged only" condition leaks every abandoned branch's stack
    assert "--remove" in destroy["steps"][-1]["run"] and "--pr" in destroy["steps"][-1]["run"]


def test_one_run_per_pull_request_and_never_cancelled_mid_deploy() -> None:
    concurrency = _workflow("review-stack.yml")["concurrency"]
    assert concurrency == {"group": "review-stack-${{ github.event.pull_request.number }}", "cancel-in-progress": False}


def test_only_jobs_of_this_repositorys_branches_get_cloud_credentials() -> None:
    workflow = _workflow("review-stack.yml")
    assert workflow["permissions"] == {"contents": "read"}
    assert SAME_REPOSITORY in workflow["jobs"]["changes"]["if"]
    for name, job in workflow["jobs"].items():
        credentialed = job.get("permissions", {}).get("id-token") == "write"
        # a job runs for this repository's branches only: by its own `if`, or by needing `changes`, which does
        guarded = SAME_REPOSITORY in job.get("if", "") or job.get("needs") == "changes"
        assert not credentialed or guarded, name
    assert "secrets." not in (WORKFLOWS / "review-stack.yml").read_text(encoding="utf-8")


def test_the_sweep_runs_daily_in_its_own_environment() -> None:
    workflow = _workflow("review-sweep.yml")
    assert "schedule" in workflow[True] and "workflow_dispatch" in workflow[True]
    assert workflow["jobs"]["sweep"]["environment"] == "review-sweep"  # the subject the review role trusts
