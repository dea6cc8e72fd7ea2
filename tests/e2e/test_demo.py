"""`mlops demo` end to end, as a newcomer runs it: every stage passes and leaves its artefacts."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

from kernel import StackConfig
from tests.cli.test_cli import MLOPS


def test_demo_runs_the_whole_lifecycle(tmp_path: Path, project_root: Path, configs: dict[str, StackConfig]) -> None:
    out = tmp_path / "demo"
    out.mkdir()
    (out / "stale-from-last-run.txt").write_text("x")
    env = {key: value for key, value in os.environ.items() if key != "COLUMNS"} | {"NO_COLOR": "1"}
    result = subprocess.run(  # piped, as in CI: no terminal width
        [MLOPS, "demo", "--out", str(out)], cwd=project_root, env=env, capture_output=True, text=True, timeout=300,
        check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert result.stdout.count("✓") >= 11 + 3  # eleven stages, three stack files
    for stage in ("validate", "plan dev + policy + cost", "train locally", "provision from plan", "ingest features",
                  "pipeline", "register", "approve + promote", "deploy + smoke test", "lineage",
                  "drift + retrain", "concept drift: quality + report"):  # fmt: skip
        assert stage in result.stdout
    assert not (out / "stale-from-last-run.txt").exists(), "each run starts from an empty folder"
    assert json.loads((out / "plan-dev.json").read_text())["stack"] == "dev"
    assert json.loads((out / "cost-dev.json").read_text())["idle_usd"] <= 100
    assert json.loads((out / "training" / "evaluation" / "evaluation.json").read_text())["decision"]["passed"] is True
    assert json.loads((out / "drift" / "drift.json").read_text())["drifted_features"] == ["contract", "monthly_charges"]
    assert "demographic parity gap" in result.stdout and "top features" in result.stdout
    concept = json.loads((out / "quality" / "concept" / "quality" / "quality.json").read_text())
    assert concept["status"] == "violated" and "inputs unchanged (drift job: no drifted feature)" in result.stdout
    assert json.loads((out / "quality" / "concept" / "drift" / "drift.json").read_text())["drifted_features"] == []
    assert "* plotly.js v" in (out / "report.html").read_text(), "the demo writes the self-contained report"
    chain = json.loads((out / "lineage.json").read_text())  # traced back from the live staging endpoint
    assert chain["endpoint"]["endpoint"] == "mlops-staging-churn" and chain["approval"] == "Approved"
    assert chain["data_version"].startswith("sha256:") and chain["config_hash"] != "missing"
    assert chain["pinned_by"] == ["staging", "prod"] and set(chain["reports"]) >= {
        "bias-pre-training",
        "explainability",
    }
    tracked = json.loads((out / "training" / "tracking" / "tracking.json").read_text())
    assert tracked["run_name"] == chain["tracking_run"] == chain["pipeline_execution"].rsplit("/", 1)[1]
    assert chain["tracking_run_id"] == tracked["run_id"]
    assert re.search(rf"│ MLflow run +│ {tracked['run_id']} \(run name {tracked['run_name']}\)", result.stdout)
    reports = re.findall(r"│ report: [^│]+│ (s3://\S+)", result.stdout)
    assert reports and len(reports) == len(set(reports)), "one row per report file"
    assert chain["pinned_by"] == ["staging", "prod"] and chain["endpoint"]["endpoint"] == "mlops-staging-churn"
    dev, staging = configs["dev"], configs["staging"]
    package = f"arn:aws:sagemaker:{dev.region}:{dev.account_id}:model-package/mlops-dev-churn/1"
    assert chain["package_arn"] == package and package in result.stdout, "the package is in dev's account, unwrapped"
    assert f"in account {staging.account_id}" in result.stdout
    assert "123456789012" not in result.stdout, "no emulator default account anywhere"
    for line in result.stdout.splitlines():  # an ARN is never cut by the console at the end of a line
        assert not re.search(r"arn:aws:[\w-]*:?[\w-]*:?\d{0,12}$", line.rstrip(" │")), line
    for simulated in ("moto cannot run a model", "moto neither evaluates alarms", "moto records the execution",
                      "moto runs no endpoint, no data capture and no processing job"):  # fmt: skip
        assert simulated in " ".join(result.stdout.split())
    prod = (out / "workspace" / "Pulumi.prod.yaml").read_text()
    assert "model-package/mlops-dev-churn/1" in prod
    assert "modelPackageArn" not in (project_root / "Pulumi.prod.yaml").read_text(), (
        "the repository's stacks are untouched"
    )
