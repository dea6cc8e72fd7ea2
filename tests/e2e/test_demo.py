"""`mlops demo` end to end, as a newcomer runs it: every stage passes and leaves its artefacts."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from kernel import StackConfig
from tests.cli.helpers import MLOPS
from tests.helpers import FIXTURE_STACKS


@pytest.fixture
def two_projects(tmp_path: Path, project_root: Path) -> Path:
    """The fixture repository with a second project of another kind (the claims regressor) beside churn."""
    root = tmp_path / "repo"
    shutil.copytree(project_root, root, ignore=shutil.ignore_patterns("__pycache__", "__init__.py"))
    shutil.copytree(FIXTURE_STACKS.parent / "projects" / "claims", root / "projects" / "claims")
    return root


def test_demo_runs_the_whole_lifecycle(tmp_path: Path, two_projects: Path, configs: dict[str, StackConfig]) -> None:
    project_root = two_projects
    out = tmp_path / "demo"
    out.mkdir()
    (out / "stale-from-last-run.txt").write_text("x")
    env = {key: value for key, value in os.environ.items() if key != "COLUMNS"} | {"NO_COLOR": "1"}
    result = subprocess.run(  # piped, as in CI: no terminal width
        [MLOPS, "demo", "--out", str(out)], cwd=project_root, env=env, capture_output=True, text=True, timeout=300,
        check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    stages = ("train locally", "provision from plan", "ingest features", "pipeline", "register", "approve + promote",
              "deploy + smoke test", "lineage", "drift + retrain")  # fmt: skip
    for stage in ("validate", "plan dev + policy + cost", "plan staging", "churn: concept drift: quality + report",
                  "isolation"):  # fmt: skip
        assert f"│ {stage} " in result.stdout, stage
    for project in ("churn", "claims"):  # both projects, through the whole lifecycle, on one platform
        for stage in stages:
            assert f"│ {project}: {stage} " in result.stdout, (project, stage)
    assert not (out / "stale-from-last-run.txt").exists(), "each run starts from an empty folder"
    plan = json.loads((out / "plan-dev.json").read_text())
    assert plan["stack"] == "dev"
    assert {r["program"] for r in plan["resources"]} == {"platform", "project"}
    assert {r["stack"] for r in plan["resources"]} == {"dev", "churn-dev", "claims-dev"}
    churn, claims = out / "churn", out / "claims"
    assert json.loads((churn / "training" / "evaluation" / "evaluation.json").read_text())["decision"]["passed"] is True
    regressor = json.loads((claims / "training" / "evaluation" / "evaluation.json").read_text())["decision"]
    assert regressor["passed"] is True and regressor["metric"] == "rmse"
    assert json.loads((churn / "drift" / "drift.json").read_text())["drifted_features"] == ["contract"]
    assert json.loads((claims / "drift" / "drift.json").read_text())["drifted_features"]
    assert "top features" in result.stdout
    _concept_drift_played(churn, result.stdout)
    # One team is denied on the other's model, data and pipeline; each on its own is allowed (IAM simulator).
    assert "6 cross-project requests denied, 6 same-project requests allowed" in result.stdout
    assert re.search(r"│ churn-data-scientist +│ sagemaker:DescribeModelPackage +│ \S+mlops-dev-claims-model/1 +│ "
                     r"ExplicitlyDenied", result.stdout)  # fmt: skip
    chain = json.loads((churn / "lineage.json").read_text())  # traced back from the live staging endpoint
    assert chain["endpoint"]["endpoint"] == "mlops-staging-churn-model" and chain["approval"] == "Approved"
    assert chain["data_version"].startswith("sha256:") and chain["config_hash"] != "missing"
    assert chain["pinned_by"] == ["staging", "prod"] and set(chain["reports"]) >= {
        "bias-pre-training",
        "explainability",
    }
    tracked = json.loads((churn / "training" / "tracking" / "tracking.json").read_text())
    assert tracked["run_name"] == chain["tracking_run"] == chain["pipeline_execution"].rsplit("/", 1)[1]
    assert chain["tracking_run_id"] == tracked["run_id"]
    assert re.search(rf"│ MLflow run +│ {tracked['run_id']} \(run name {tracked['run_name']}\)", result.stdout)
    dev, staging = configs["dev"], configs["staging"]
    for project in ("churn", "claims"):
        package = f"arn:aws:sagemaker:{dev.region}:{dev.account_id}:model-package/mlops-dev-{project}-model/1"
        lineage = json.loads((out / project / "lineage.json").read_text())
        assert lineage["package_arn"] == package and package in result.stdout, "the package is in dev's account"
        assert lineage["endpoint"]["endpoint"] == f"mlops-staging-{project}-model"
        pinned = (out / "workspace" / "projects" / project / "project.yaml").read_text()
        assert pinned.count(f"model-package/mlops-dev-{project}-model/1") == 2, "pinned in staging and prod"
        assert "modelPackageArn" not in (project_root / "projects" / project / "project.yaml").read_text(), (
            "the repository's projects are untouched"
        )
    assert f"in account {staging.account_id}" in result.stdout
    assert "123456789012" not in result.stdout, "no emulator default account anywhere"
    for line in result.stdout.splitlines():  # an ARN is never cut by the console at the end of a line
        assert not re.search(r"arn:aws:[\w-]*:?[\w-]*:?\d{0,12}$", line.rstrip(" │")), line
    for simulated in ("moto cannot run a model", "moto neither evaluates alarms", "moto records the execution",
                      "moto enforces no IAM", "moto runs no endpoint, no data capture and no processing job"):  # fmt: skip
        assert simulated in " ".join(result.stdout.split())


def _concept_drift_played(churn: Path, stdout: str) -> None:
    """Concept drift (churn): the inputs keep their distribution, the outcomes' relationship changes."""
    concept = churn / "quality" / "concept"
    assert json.loads((concept / "drift" / "drift.json").read_text())["drifted_features"] == [], "data drift quiet"
    quality = json.loads((concept / "quality" / "quality.json").read_text())
    assert quality["status"] == "violated" and "inputs unchanged (drift job: no drifted feature)" in stdout
    flat = " ".join(stdout.split())
    assert re.search(
        r"alarm mlops-staging-churn-model-quality fires -> \S+:event-bus/default -> "
        r"mlops-dev-churn-training \S+ started",
        flat,
    ), "the alarm's target starts dev's training"
    assert "* plotly.js v" in (churn / "report.html").read_text(), "the demo writes the self-contained report"
