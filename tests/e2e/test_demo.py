"""`mlops demo` end to end, as a newcomer runs it: every stage passes and leaves its artefacts."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.test_cli import run


def test_demo_runs_the_whole_lifecycle(tmp_path: Path, project_root: Path) -> None:
    out = tmp_path / "demo"
    out.mkdir()
    (out / "stale-from-last-run.txt").write_text("x")
    result = run("demo", "--out", str(out), cwd=project_root)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert result.stdout.count("✓") >= 11 + 3  # eleven stages, three stack files
    for stage in ("validate", "plan dev + policy + cost", "train locally", "provision from plan", "ingest features",
                  "pipeline", "register", "approve + promote", "deploy + smoke test", "lineage",
                  "drift + retrain"):  # fmt: skip
        assert stage in result.stdout
    assert not (out / "stale-from-last-run.txt").exists(), "each run starts from an empty folder"
    assert json.loads((out / "plan-dev.json").read_text())["stack"] == "dev"
    assert json.loads((out / "cost-dev.json").read_text())["idle_usd"] <= 100
    assert json.loads((out / "training" / "evaluation" / "evaluation.json").read_text())["decision"]["passed"] is True
    assert json.loads((out / "drift" / "drift.json").read_text())["drifted_features"] == ["contract", "monthly_charges"]
    assert "demographic parity gap" in result.stdout and "top features" in result.stdout
    chain = json.loads((out / "lineage.json").read_text())  # traced back from the live staging endpoint
    assert chain["endpoint"]["endpoint"] == "mlops-staging-churn" and chain["approval"] == "Approved"
    assert chain["data_version"].startswith("sha256:") and chain["config_hash"] != "missing"
    assert chain["served_by"] == ["staging", "prod"] and set(chain["reports"]) >= {
        "bias-pre-training",
        "explainability",
    }
    tracked = json.loads((out / "training" / "tracking" / "tracking.json").read_text())
    assert tracked["run_name"] == chain["tracking_run"] == chain["pipeline_execution"].rsplit("/", 1)[1]
    prod = (out / "workspace" / "Pulumi.prod.yaml").read_text()
    assert "model-package/mlops-dev-churn/1" in prod
    assert "modelPackageArn" not in (project_root / "Pulumi.prod.yaml").read_text(), (
        "the repository's stacks are untouched"
    )
