"""`mlops review ...` as the workflows call it: output they parse, files they read, errors they show."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.cli.helpers import run
from tests.review.conftest import pinned_root


def test_stack_name_prints_the_review_stack(project_root: Path) -> None:
    result = run("review", "stack-name", "--pr", "12", "--project", "churn", cwd=project_root)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "churn-dev-pr12"


def test_a_review_whose_names_would_not_fit_is_refused_with_the_fix(project: Path) -> None:
    """A 12-character project at a six-digit pull request: S3's 63 characters, said before anything deploys."""
    long = "abcdefghijkl"
    shutil.move(project / "projects" / "churn", project / "projects" / long)
    path = project / "projects" / long / "project.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("name: churn", f"name: {long}"), encoding="utf-8")
    assert run("review", "stack-name", "--pr", "99", "--project", long, cwd=project).returncode == 0
    result = run("review", "stack-name", "--pr", "999999", "--project", long, cwd=project)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "over the 63 allowed for an S3 bucket name" in result.stderr
    assert "shorter name" in result.stderr


def test_bad_numbers_and_projects_name_the_option(project_root: Path) -> None:
    result = run("review", "stack-name", "--pr", "0", "--project", "churn", cwd=project_root)
    assert result.returncode == 1 and "--pr" in result.stderr and "Traceback" not in result.stderr
    result = run("review", "config", "--pr", "3", "--project", "nosuch", cwd=project_root)
    assert result.returncode == 1 and "nosuch" in result.stderr and "Traceback" not in result.stderr


def test_config_validates_the_profile_and_writes_the_stack_file(project: Path) -> None:
    result = run("review", "config", "--pr", "12", "--project", "churn", cwd=project)
    assert result.returncode == 0, result.stderr
    assert "serving: serverless, 1024 MB" in result.stdout and "teardown: True" in result.stdout
    written = (project / "projects" / "Pulumi.churn-dev-pr12.yaml").read_text(encoding="utf-8")
    assert "aws:region: eu-west-1" in written


def test_report_writes_one_marked_comment_with_policy_and_cost(tmp_path: Path) -> None:
    root = pinned_root(tmp_path / "root")
    out = tmp_path / "comment.md"
    result = run("review", "report", "--pr", "12", "--project", "churn", "--out", str(out), cwd=root)
    assert result.returncode == 0, result.stderr
    text = out.read_text(encoding="utf-8")
    assert text.startswith("<!-- mlops-review-stack -->\n")
    assert "policy pack: 0 mandatory, 0 advisory violations" in text
    assert "USD/day" in text


def test_sweep_prints_the_stacks_to_destroy(tmp_path: Path, project_root: Path) -> None:
    stacks = tmp_path / "stacks.json"
    stacks.write_text(
        json.dumps(
            [
                {"name": "churn-dev", "lastUpdate": "2026-01-01T00:00:00.000Z", "updateInProgress": False},
                {"name": "churn-dev-pr7", "lastUpdate": "2026-11-29T01:00:00.000Z", "updateInProgress": False},
                {"name": "churn-dev-pr8", "lastUpdate": "2026-11-29T01:00:00.000Z", "updateInProgress": False},
            ]
        )
    )
    prs = tmp_path / "prs.json"
    prs.write_text(json.dumps([{"number": 8}]))
    args = ("review", "sweep", "--stacks", str(stacks), "--open-prs", str(prs), "--now", "2026-11-29T03:00:00Z")
    result = run(*args, "--ttl-hours", "24", cwd=project_root)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [{"stack": "churn-dev-pr7", "pr": 7, "reason": "pull request #7 is not open"}]
    prs.write_text('{"number": 8}')
    result = run(*args, cwd=project_root)
    assert result.returncode == 1 and "--open-prs" in result.stderr and "Traceback" not in result.stderr
