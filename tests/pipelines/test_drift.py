"""The drift job on the shipped data: silent on clean traffic, precise on an injected shift."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import numpy as np
import pandas as pd
import pytest
from moto import mock_aws

from pipelines.local_run import STEPS_DIR, LocalTrainingRun, run_step


@pytest.fixture(scope="module")
def drift() -> Iterator[Any]:
    sys.path.insert(0, str(STEPS_DIR))
    try:
        import drift as module

        yield module
    finally:
        sys.path.remove(str(STEPS_DIR))


@pytest.fixture(scope="module")
def traffic(training_run: LocalTrainingRun) -> pd.DataFrame:
    """Held-out customers: the same population the model was trained on."""
    return pd.read_csv(training_run.root / "data" / "test" / "test.csv")


def shifted(frame: pd.DataFrame) -> pd.DataFrame:
    """Prices up 30% and half of the customers moved to month-to-month contracts."""
    moved = frame.copy()
    moved["monthly_charges"] = moved["monthly_charges"] * 1.3
    half = np.random.default_rng(0).random(len(moved)) < 0.5
    moved.loc[half, "contract"] = "month-to-month"
    return moved


def baseline(run: LocalTrainingRun) -> dict[str, Any]:
    return dict(json.loads(run.baseline.read_text()))


@pytest.fixture(scope="module")
def churn(training_run: LocalTrainingRun, drift: Any) -> Any:
    """The churn project's spec, as the drift step reads it."""
    return drift.load_spec(str(training_run.spec))


def test_clean_traffic_shows_no_drift(
    drift: Any, training_run: LocalTrainingRun, traffic: pd.DataFrame, churn: Any
) -> None:
    report = drift.detect(baseline(training_run), traffic, psi_threshold=0.2, p_value=0.01, spec=churn)
    assert report["drifted_features"] == []
    assert all(result["psi"] < 0.1 for result in report["features"].values())


def test_injected_shift_flags_exactly_the_shifted_features(
    drift: Any, training_run: LocalTrainingRun, traffic: pd.DataFrame, churn: Any
) -> None:
    report = drift.detect(baseline(training_run), shifted(traffic), psi_threshold=0.2, p_value=0.01, spec=churn)
    assert report["drifted_features"] == ["contract", "monthly_charges"]
    assert report["features"]["monthly_charges"]["test"] == "ks"
    assert report["features"]["contract"]["test"] == "chi-square"
    assert report["features"]["tenure_months"]["drifted"] is False


def test_psi_is_zero_for_identical_shares_and_grows_with_shift(drift: Any) -> None:
    assert drift.psi([0.5, 0.5], [0.5, 0.5]) == 0.0
    assert 0 < drift.psi([0.5, 0.5], [0.6, 0.4]) < drift.psi([0.5, 0.5], [0.9, 0.1])
    assert drift.psi([0.5, 0.5, 0.0], [0.5, 0.4, 0.1]) < 10, "an empty baseline bin must not explode"


def test_reads_sagemaker_capture_files(
    drift: Any, training_run: LocalTrainingRun, traffic: pd.DataFrame, tmp_path: Path, churn: Any
) -> None:
    features = churn.features
    capture = tmp_path / "capture" / "mlops-dev-churn-model" / "primary" / "2026" / "11" / "23"
    capture.mkdir(parents=True)
    lines = []
    for start in range(0, 600, 100):
        rows = shifted(traffic).iloc[start : start + 100][features].to_csv(index=False, header=start == 0)
        lines.append(json.dumps({"captureData": {"endpointInput": {"data": rows, "encoding": "CSV", "mode": "INPUT"}}}))
    (capture / "capture.jsonl").write_text("\n".join(lines) + "\n")
    out = tmp_path / "drift"
    run_step(
        "drift", "--capture", str(tmp_path / "capture"), "--baseline", str(training_run.baseline), "--output", str(out),
        "--project-spec", str(training_run.spec),
    )  # fmt: skip
    report = json.loads((out / "drift.json").read_text())
    assert report["rows"] == 600 and report["drifted_features"] == ["contract", "monthly_charges"]


def test_publishes_per_feature_metrics(
    drift: Any, training_run: LocalTrainingRun, traffic: pd.DataFrame, churn: Any
) -> None:
    report = drift.detect(baseline(training_run), shifted(traffic), psi_threshold=0.2, p_value=0.01, spec=churn)
    with mock_aws():
        drift.publish(report, "mlops-dev-churn-model", "eu-west-1")
        cloudwatch = boto3.client("cloudwatch", region_name="eu-west-1")
        metrics = cloudwatch.list_metrics(Namespace="mlops/drift")["Metrics"]
    names = {(m["MetricName"], tuple(sorted((d["Name"], d["Value"]) for d in m["Dimensions"]))) for m in metrics}
    assert ("DriftedFeatures", (("Endpoint", "mlops-dev-churn-model"),)) in names
    assert ("PSI", (("Endpoint", "mlops-dev-churn-model"), ("Feature", "contract"))) in names
    assert len(names) == 1 + len(churn.features)
