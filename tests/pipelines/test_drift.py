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


@pytest.fixture(scope="module")
def churn(training_run: LocalTrainingRun, drift: Any) -> Any:
    """The churn project's spec, as the drift step reads it."""
    return drift.load_spec(str(training_run.spec))


def baseline(run: LocalTrainingRun) -> dict[str, Any]:
    return dict(json.loads(run.baseline.read_text()))


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


def test_psi_is_zero_for_identical_shares_and_grows_with_shift(drift: Any, churn: Any) -> None:
    assert drift.psi([0.5, 0.5], [0.5, 0.5]) == 0.0
    assert 0 < drift.psi([0.5, 0.5], [0.6, 0.4]) < drift.psi([0.5, 0.5], [0.9, 0.1])
    assert drift.psi([0.5, 0.5, 0.0], [0.5, 0.4, 0.1]) < 10, "an empty baseline bin must not explode"


def test_reads_sagemaker_capture_files(
    drift: Any, training_run: LocalTrainingRun, traffic: pd.DataFrame, tmp_path: Path, churn: Any
) -> None:
    features = churn.features
    capture = tmp_path / "capture" / "mlops-dev-churn" / "primary" / "2026" / "11" / "23"
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
        drift.publish(report, "mlops-dev-churn", "eu-west-1")
        cloudwatch = boto3.client("cloudwatch", region_name="eu-west-1")
        metrics = cloudwatch.list_metrics(Namespace="mlops/drift")["Metrics"]
    names = {(m["MetricName"], tuple(sorted((d["Name"], d["Value"]) for d in m["Dimensions"]))) for m in metrics}
    assert ("DriftedFeatures", (("Endpoint", "mlops-dev-churn"),)) in names
    assert ("PSI", (("Endpoint", "mlops-dev-churn"), ("Feature", "contract"))) in names
    assert len(names) == 1 + len(churn.features)


def in_chunks(frame: pd.DataFrame, rows: int) -> Iterator[pd.DataFrame]:
    return (frame.iloc[start : start + rows] for start in range(0, len(frame), rows))


@pytest.mark.parametrize("rows", [7, 100, 600])
def test_the_chunked_job_equals_the_whole_frame_on_the_sample(
    drift: Any, training_run: LocalTrainingRun, traffic: pd.DataFrame, rows: int, churn: Any
) -> None:
    for frame in (traffic, shifted(traffic)):
        whole = drift.detect(baseline(training_run), frame, psi_threshold=0.2, p_value=0.01, spec=churn)
        assert drift.detect_chunks(baseline(training_run), in_chunks(frame, rows), 0.2, 0.01, churn) == whole


EQUALITY_ON_THE_IMAGE = """
import json, sys
sys.path.insert(0, sys.argv[1])
import pandas as pd
import drift

baseline = json.load(open(sys.argv[2]))
spec = drift.load_spec(sys.argv[4])
frame = pd.read_csv(sys.argv[3]).sample(n=25000, replace=True, random_state=1).reset_index(drop=True)
frame["monthly_charges"] *= 1.3
whole = drift.detect(baseline, frame, 0.2, 0.01, spec)
chunked = {
    rows: drift.detect_chunks(baseline, (frame.iloc[s : s + rows] for s in range(0, len(frame), rows)), 0.2, 0.01, spec)
    for rows in (999, 5000, 25000)
}

def sharded(frame, shards):
    # each shard tallied apart, saved and loaded as JSON (as instances upload them), then merged
    merged, rows = drift.empty_tallies(baseline, spec), 0
    for part in range(shards):
        tallies, count = drift.tally_chunks(baseline, [frame.iloc[part::shards]], spec)
        rows += count
        for name, tally in merged.items():
            loaded = drift.empty_tallies(baseline, spec)[name]
            loaded.load(json.loads(json.dumps(tallies[name].state())))
            tally.merge(loaded)
    return drift.report_of(baseline, merged, rows, 0.2, 0.01)


small = frame.iloc[:6000]
chunked["sharded"] = sharded(frame, 3)
equal = {rows: report == whole for rows, report in chunked.items()}
equal["small-sharded"] = sharded(small, 3) == drift.detect(baseline, small, 0.2, 0.01, spec)
print(json.dumps({"equal": equal, "whole": whole}))
"""


def test_the_chunked_job_equals_the_whole_frame_on_its_image_past_the_exact_ks_size(
    training_run: LocalTrainingRun, tmp_path: Path
) -> None:
    """25,000 rows: past `ks_2samp`'s exact p-value (10,000), where the job computes the statistic from its counts.

    Run on the drift image's Python and scipy (1.18.0), whose ECDF arithmetic the job follows; scipy
    1.17 (this project's environment) forms ECDF values as k/n instead of k*(1/n), a last-bit difference.
    """
    import subprocess

    from pipelines.images import STEP_IMAGES
    from pipelines.parity import interpreter

    script = tmp_path / "equality.py"
    script.write_text(EQUALITY_ON_THE_IMAGE)
    test_csv = training_run.root / "data" / "test" / "test.csv"
    result = subprocess.run(
        [str(interpreter(STEP_IMAGES["drift.py"])), "-E", "-s", str(script), str(STEPS_DIR),
         str(training_run.baseline), str(test_csv), str(training_run.spec)],
        capture_output=True, text=True, timeout=300, check=True,
    )  # fmt: skip
    answer = json.loads(result.stdout)
    assert answer["equal"] == {"999": True, "5000": True, "25000": True, "sharded": True, "small-sharded": True}
    assert answer["whole"]["rows"] == 25000 and answer["whole"]["drifted_features"] == ["monthly_charges"]


def test_capture_files_are_read_in_chunks_with_the_same_report(
    drift: Any, training_run: LocalTrainingRun, traffic: pd.DataFrame, tmp_path: Path, churn: Any
) -> None:
    """Requests of 1 to 9 rows, the first with a header: any chunk size gives the report of the rows at once."""
    frame = shifted(traffic)[churn.features]
    lines, start, size = [], 0, 1
    while start < len(frame):
        rows = frame.iloc[start : start + size].to_csv(index=False, header=start == 0)
        lines.append(json.dumps({"captureData": {"endpointInput": {"data": rows, "encoding": "CSV", "mode": "INPUT"}}}))
        start, size = start + size, size % 9 + 1
    capture = tmp_path / "capture"
    capture.mkdir()
    (capture / "capture.jsonl").write_text("\n".join(lines) + "\n")
    whole = drift.detect(baseline(training_run), frame, psi_threshold=0.2, p_value=0.01, spec=churn)
    for rows in (5, 64, 1000):
        chunks = list(drift.read_capture(str(capture), churn, rows))
        assert max(len(chunk) for chunk in chunks) < rows + 9 and sum(len(chunk) for chunk in chunks) == 600
        assert drift.detect_chunks(baseline(training_run), chunks, 0.2, 0.01, churn) == whole
    csv_file = tmp_path / "rows.csv"
    frame.to_csv(csv_file, index=False)
    assert [len(chunk) for chunk in drift.read_capture(str(csv_file), churn, 250)] == [250, 250, 100]
    assert (
        drift.detect_chunks(baseline(training_run), drift.read_capture(str(csv_file), churn, 250), 0.2, 0.01, churn)
        == whole
    )


def test_a_sharded_job_s_tallies_merge_into_the_report_of_all_rows(
    drift: Any,
    training_run: LocalTrainingRun,
    traffic: pd.DataFrame,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    churn: Any,
) -> None:
    """Three instances (one with no files, as ShardedByS3Key leaves one when files are fewer), then the merge step."""
    frame = shifted(traffic)[churn.features]
    tallies = tmp_path / "tallies"
    for host, rows in (("algo-1", frame.iloc[:250]), ("algo-2", frame.iloc[250:]), ("algo-3", None)):
        shard = tmp_path / host / "capture"
        shard.mkdir(parents=True)
        if rows is not None:
            rows.to_csv(shard / "part.csv", index=False)
        config = tmp_path / host / "resourceconfig.json"
        config.write_text(json.dumps({"current_host": host, "hosts": ["algo-1", "algo-2", "algo-3"]}))
        monkeypatch.setattr(drift, "RESOURCE_CONFIG", str(config))
        drift.main(
            ["--capture", str(shard), "--baseline", str(training_run.baseline), "--tally-output", str(tallies),
             "--project-spec", str(training_run.spec)]
        )  # fmt: skip
    assert sorted(path.name for path in tallies.iterdir()) == [
        "tally-algo-1.json",
        "tally-algo-2.json",
        "tally-algo-3.json",
    ]
    out = tmp_path / "drift"
    report = drift.main(
        ["--tallies", str(tallies), "--baseline", str(training_run.baseline), "--output", str(out),
         "--project-spec", str(training_run.spec)]
    )  # fmt: skip
    assert report == drift.detect(baseline(training_run), frame, psi_threshold=0.2, p_value=0.01, spec=churn)
    assert json.loads((out / "drift.json").read_text())["drifted_features"] == ["contract", "monthly_charges"]
    with pytest.raises(FileNotFoundError, match=r"no tally-\*\.json under"):
        drift.main(
            [
                "--tallies",
                str(tmp_path / "none"),
                "--baseline",
                str(training_run.baseline),
                "--output",
                str(out),
                "--project-spec",
                str(training_run.spec),
            ]
        )
