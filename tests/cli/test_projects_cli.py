"""Commands that know projects: plan scopes, validation of every project's view, cost per program, import layers."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from tests.cli.helpers import run

REPO = Path(__file__).resolve().parents[2]


def _plan(project: Path, *args: str, cwd: Path | None = None) -> dict[str, object]:
    out = project / "out" / "plan.json"
    result = run("plan", "--stack", "staging", *args, "--json", str(out), cwd=cwd or project)
    assert result.returncode == 0, result.stderr
    return dict(json.loads(out.read_text()))


def _stacks(document: dict[str, object]) -> set[str]:
    return {resource["stack"] for resource in document["resources"]}  # type: ignore[attr-defined, index]


def test_plan_scopes_environment_project_platform_and_the_current_folder(project: Path) -> None:
    """The environment by default; --project (or its folder) one project's stack; --platform the platform's."""
    assert _stacks(_plan(project)) == {"staging", "churn-staging"}
    assert _stacks(_plan(project, "--project", "churn")) == {"churn-staging"}
    assert _stacks(_plan(project, "--platform")) == {"staging"}
    assert _stacks(_plan(project, cwd=project / "projects" / "churn" / "features")) == {"churn-staging"}
    both = run("plan", "--stack", "staging", "--platform", "--project", "churn", cwd=project)
    assert both.returncode == 1 and both.stderr.startswith("error: --platform and --project churn:")
    unknown = run("plan", "--stack", "staging", "--project", "nope", cwd=project)
    assert unknown.returncode == 1 and "Traceback" not in unknown.stderr
    assert unknown.stderr.startswith("error: projects/nope/project.yaml: no such project (projects here: churn)")


def test_validate_names_a_project_problem_in_the_project_file_once(project: Path) -> None:
    """A project's setting is checked in its environment's view, and named by the project's file and key."""
    path = project / "projects" / "churn" / "project.yaml"
    document = yaml.safe_load(path.read_text())
    document["environments"]["staging"]["serving"]["minInstances"] = 0
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    result = run("validate", cwd=project)
    assert result.returncode == 1, result.stdout
    lines = [line for line in result.stderr.splitlines() if "minInstances" in line]
    assert lines == [
        "  error: projects/churn/project.yaml: environments.staging.serving.minInstances: "
        "Input should be greater than or equal to 1 (got 0)"
    ], result.stderr
    assert "✓ Pulumi.staging.yaml" in result.stdout and "✗ projects/churn" in result.stdout
    assert run("validate", "--stack", "dev", cwd=project).returncode == 0, "dev's view of churn is fine"


def test_cost_reports_the_total_the_platform_and_each_project(project: Path) -> None:
    out = project / "cost.json"
    result = run("cost", "--stack", "prod", "--json", str(out), cwd=project)
    assert result.returncode == 0, result.stderr
    report = json.loads(out.read_text())
    parts = [report["platform"], *report["projects"].values()]
    assert list(report["projects"]) == ["churn"]
    assert report["idle_usd"] == round(sum(part["idle_usd"] for part in parts), 2) > 0
    items = {part_name: [line["item"] for line in part["lines"]] for part_name, part in (("platform", parts[0]),)}
    churn = [line["item"] for line in report["projects"]["churn"]["lines"]]
    assert any(item.startswith("endpoint 2 x ml.c5.2xlarge") for item in churn), "churn's prod serving shape"
    assert not any(item.startswith("endpoint ") for item in items["platform"]), "the platform serves no model"
    assert any(item.startswith("interface endpoint") for item in items["platform"])
    assert "total" in result.stdout and "churn" in result.stdout


def test_import_graph_reads_top_down() -> None:
    """`lint-imports` keeps the layers contract (pyproject.toml) and refuses an arrow upwards."""
    lint = str(Path(sys.executable).with_name("lint-imports"))
    kept = subprocess.run([lint], cwd=REPO, capture_output=True, text=True, timeout=300, check=False)
    assert kept.returncode == 0, kept.stdout
    assert "Contracts: 2 kept, 0 broken." in kept.stdout


def test_import_linter_refuses_the_kernel_importing_the_cli(tmp_path: Path) -> None:
    """The same contract on a copy whose kernel imports the CLI: broken, naming the import."""
    for package in ("mlops", "infra", "pipelines", "policies", "kernel"):
        shutil.copytree(REPO / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    (tmp_path / "kernel" / "upwards.py").write_text('"""An arrow upwards."""\n\nimport mlops.cli  # noqa: F401\n')
    lint = str(Path(sys.executable).with_name("lint-imports"))
    env = {"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"}
    broken = subprocess.run([lint], cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False, env=env)
    assert broken.returncode == 1, broken.stdout
    assert "kernel.upwards -> mlops.cli" in broken.stdout
