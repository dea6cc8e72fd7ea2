"""The quality job: joins captured predictions with late labels and flags concept drift, and only that.

Traffic comes from the churn project's population (mlops/scenarios/traffic.py), scored by the
trained model's own handlers and written as SageMaker data-capture files. Expectations come from the
scenario's construction (which concept drew the labels), never from the job's own output.
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from kernel.projects import Project
from mlops.scenarios.concept_drift import ScenarioResult, detection_point, run_concept_drift
from mlops.scenarios.traffic import customers, outcomes, write_traffic
from pipelines.local_run import LocalTrainingRun, load_model_handlers, load_step_module, run_step, write_spec
from pipelines.parity import PARITY_DIR, ParityRun, _Runner

NOW = datetime(2026, 11, 29, tzinfo=UTC)


@pytest.fixture(scope="module")
def quality() -> Any:
    return load_step_module("quality")


@pytest.fixture(scope="module")
def spec(training_run: LocalTrainingRun) -> Any:
    """The churn project's spec, as the steps read it."""
    return load_step_module("dataset").load_spec(str(training_run.spec))


@pytest.fixture(scope="module")
def concept_drift(training_run: LocalTrainingRun, tmp_path_factory: pytest.TempPathFactory) -> ScenarioResult:
    return run_concept_drift(tmp_path_factory.mktemp("concept"), training_run)


@pytest.fixture(scope="module")
def clean(training_run: LocalTrainingRun, tmp_path_factory: pytest.TempPathFactory) -> ScenarioResult:
    return run_concept_drift(tmp_path_factory.mktemp("clean"), training_run, rows=1200, concept="original")


@pytest.fixture(scope="module")
def data_drift(training_run: LocalTrainingRun, tmp_path_factory: pytest.TempPathFactory) -> ScenarioResult:
    return run_concept_drift(
        tmp_path_factory.mktemp("data"), training_run, rows=1200, concept="original", data_drift=True
    )


def test_concept_drift_is_flagged_by_quality_while_data_drift_stays_quiet(concept_drift: ScenarioResult) -> None:
    assert concept_drift.drift["drifted_features"] == [], "the inputs kept their distribution"
    report = concept_drift.quality
    assert report["status"] == "violated"
    assert report["metrics"]["auc"] < report["baseline"]["auc"] - report["tolerances"]["auc"]
    assert report["relationship"]["slope"] < 0.5, "the predictions no longer explain the outcomes"
    assert report["labelled"] >= report["min_samples"]
    detection = concept_drift.detection
    assert detection is not None and detection.labelled_rows <= 400
    assert detection.moved["auc"]["change"] < -0.05
    print(f"concept drift: {detection.summary()}")  # the figure the issue asks for (pytest -s)


def test_quiet_on_clean_traffic(clean: ScenarioResult) -> None:
    assert clean.quality["status"] == "ok", clean.quality["violations"]
    assert clean.drift["drifted_features"] == []
    assert abs(clean.quality["metrics"]["auc"] - clean.quality["baseline"]["auc"]) < 0.05


def test_quiet_on_data_drift_with_the_concept_unchanged(data_drift: ScenarioResult) -> None:
    assert data_drift.drift["drifted_features"], "the inputs moved: the drift job sees it"
    assert data_drift.quality["status"] == "ok", data_drift.quality["violations"]


def test_metric_data_is_one_datum_per_metric_for_the_run(concept_drift: ScenarioResult) -> None:
    document = json.loads((concept_drift.root / "quality" / "metric-data.json").read_text())
    assert document["Namespace"] == "mlops/quality"
    names = [d["MetricName"] for d in document["MetricData"]]
    assert len(names) == len(set(names)) and {"AUC", "Violations", "LabelledRows", "Judged"} <= set(names)
    violations = next(d for d in document["MetricData"] if d["MetricName"] == "Violations")
    assert violations["Value"] == len(concept_drift.quality["violations"]) >= 1
    assert {d["Timestamp"] for d in document["MetricData"]} == {NOW.isoformat()}, "stamped at the run, not the window"
    assert all(d["Dimensions"] == [{"Name": "Endpoint", "Value": "local"}] for d in document["MetricData"])


def test_metric_data_is_a_valid_put_metric_data_request(concept_drift: ScenarioResult) -> None:
    """Validated against botocore's CloudWatch model (the request the job's --publish sends)."""
    import botocore.session
    from botocore.validate import ParamValidator

    document = json.loads((concept_drift.root / "quality" / "metric-data.json").read_text())
    model = botocore.session.get_session().get_service_model("cloudwatch").operation_model("PutMetricData")
    request = {"Namespace": document["Namespace"], "MetricData": document["MetricData"]}
    report = ParamValidator().validate(request, model.input_shape)
    assert not report.has_errors(), report.generate_report()


def test_per_group_metrics_on_the_sensitive_attribute(concept_drift: ScenarioResult) -> None:
    groups = concept_drift.quality["groups"]
    assert sorted(groups) == ["female", "male"]
    assert sum(g["rows"] for g in groups.values()) == concept_drift.quality["labelled"]


def _small_traffic(root: Path, training_run: LocalTrainingRun, rows: int, **kwargs: Any) -> Any:
    handlers = load_model_handlers(training_run.model_dir)
    spec = handlers.spec_of()
    model = handlers.model_fn(str(training_run.model_dir))
    frame = customers(rows)
    start = NOW - timedelta(hours=96)
    return write_traffic(
        root, frame, outcomes(frame, "shifted"), lambda f: list(model.predict_proba(f)[:, 1]),
        features=spec.features, sensitive=spec.sensitive, start=start, hours=24, **kwargs,
    )  # fmt: skip


def test_late_and_missing_labels(training_run: LocalTrainingRun, quality: Any, spec: Any, tmp_path: Path) -> None:
    traffic = _small_traffic(tmp_path, training_run, 400, label_delay_hours=(1.0, 96.0), missing=0.25)
    window = quality.Window.ending(NOW, 24, 72)
    predictions, counts = quality.read_predictions(str(traffic.capture), window, spec)
    assert len(predictions) == 400 and counts.rows_without_id == 0
    every = pd.read_json(traffic.labels / "labels.jsonl", lines=True, dtype={"inference_id": str})
    arrived = quality.read_labels(str(traffic.labels), NOW)
    late = every[pd.to_datetime(every["event_time"], utc=True) > pd.Timestamp(NOW)]
    assert len(late) > 0 and len(arrived) == len(every) - len(late), "labels after the run wait for the next one"
    evaluation = json.loads(training_run.evaluation.read_text())
    report = quality.measure(predictions, arrived, evaluation, spec=spec, min_samples=50)
    assert report["labelled"] == len(arrived) and report["label_coverage"] < 0.8, "missing labels lower coverage"
    earlier = quality.Window.ending(NOW, 24, 24)  # no delay for late labels: the same run sees no prediction
    assert len(quality.read_predictions(str(traffic.capture), earlier, spec)[0]) == 0


def test_minimum_sample_size_holds(training_run: LocalTrainingRun, tmp_path: Path) -> None:
    """A handful of labels on a drifted concept must not violate; the same traffic with enough does."""
    traffic = _small_traffic(tmp_path, training_run, 150)
    args = ["--capture", str(traffic.capture), "--labels", str(traffic.labels), "--baseline",
            str(training_run.evaluation), "--now", NOW.isoformat(), "--delay-hours", "72",
            "--project-spec", str(training_run.spec)]  # fmt: skip
    run_step("quality", *args, "--output", str(tmp_path / "few"), "--min-samples", "200")
    few = json.loads((tmp_path / "few" / "quality.json").read_text())
    assert few["status"] == "insufficient labels" and few["violations"] == [] and few["labelled"] < 200
    data = json.loads((tmp_path / "few" / "metric-data.json").read_text())["MetricData"]
    assert {d["MetricName"]: d["Value"] for d in data}["Violations"] == 0
    assert "AUC" not in {d["MetricName"] for d in data}, "no quality metric for the alarm to read"
    run_step("quality", *args, "--output", str(tmp_path / "enough"), "--min-samples", "100")
    assert json.loads((tmp_path / "enough" / "quality.json").read_text())["status"] == "violated"


def test_chunked_reading_keeps_only_the_window(
    training_run: LocalTrainingRun, quality: Any, spec: Any, tmp_path: Path
) -> None:
    traffic = _small_traffic(tmp_path, training_run, 300)
    window = quality.Window.ending(NOW, 24, 72)
    whole, _ = quality.read_predictions(str(traffic.capture), window, spec)
    chunked, _ = quality.read_predictions(str(traffic.capture), window, spec, chunk_rows=7)
    pd.testing.assert_frame_equal(whole, chunked)
    half = quality.Window(start=window.start, end=window.start + timedelta(hours=12), labels_until=NOW)
    assert 0 < len(quality.read_predictions(str(traffic.capture), half, spec)[0]) < len(whole)


def test_the_sharded_join_reports_what_one_frame_does(
    training_run: LocalTrainingRun, quality: Any, spec: Any, tmp_path: Path
) -> None:
    """Spilled in chunks of 7 rows to 5 hash shards, the join's report equals the whole-frame report."""
    traffic = _small_traffic(tmp_path, training_run, 400, missing=0.2)
    window = quality.Window.ending(NOW, 24, 72)
    evaluation = json.loads(training_run.evaluation.read_text())
    predictions, _ = quality.read_predictions(str(traffic.capture), window, spec)
    whole = quality.measure(predictions, quality.read_labels(str(traffic.labels), NOW), evaluation, spec=spec)
    joined, counts = quality.join_sharded(
        str(traffic.capture), str(traffic.labels), window, spec, quality.tally_of(spec, evaluation, 0.5),
        shards=5, chunk_rows=7,
    )  # fmt: skip
    sharded = quality.judge(joined, evaluation, min_samples=200)
    assert counts.rows_in_window == 400 and sharded["labelled"] == whole["labelled"] > 200
    assert sharded["metrics"] == pytest.approx(whole["metrics"], rel=1e-9)
    assert sharded["groups"].keys() == whole["groups"].keys() and sharded["violations"] == whole["violations"]


def test_tallied_metrics_agree_with_scikit_learn_on_the_whole_frame(quality: Any, spec: Any) -> None:
    """AUC over the score bins against `roc_auc_score`; precision, recall and the regressor's errors exactly."""
    import numpy as np
    from sklearn.metrics import mean_absolute_error, precision_score, recall_score, roc_auc_score

    rng = np.random.default_rng(7)
    scores = np.round(rng.beta(2, 5, 20_000), 6)  # the six decimals inference.py answers with
    labels = (rng.random(20_000) < scores).astype(int)
    tally = quality.Tally(True, 0.3)
    for part in np.array_split(np.arange(20_000), 9):
        tally.add(labels[part], scores[part])
    metrics = quality.classifier_metrics(tally)
    assert metrics["auc"] == pytest.approx(roc_auc_score(labels, scores), abs=1e-4)
    assert metrics["precision"] == pytest.approx(precision_score(labels, scores >= 0.3))
    assert metrics["recall"] == pytest.approx(recall_score(labels, scores >= 0.3))
    truth, guess = rng.normal(100, 20, 5000), rng.normal(100, 20, 5000)
    regressor = quality.Tally(False)
    regressor.add(truth, guess)
    assert quality.regressor_metrics(regressor)["mae"] == pytest.approx(mean_absolute_error(truth, guess))


def test_the_quality_step_runs_on_its_image(parity_run: ParityRun, tmp_path: Path) -> None:
    """quality.py on the sklearn image's Python and pins, on traffic scored by a model trained there."""
    traffic = tmp_path / "traffic"
    handlers = load_step_module("inference")
    spec = load_step_module("dataset").load_spec(str(parity_run.code / "project.json"))
    frame = customers(300)
    scores = [float(line) for line in (parity_run.root / "response.csv").read_text().split()]
    scored = (scores * (len(frame) // len(scores) + 1))[: len(frame)]
    made = write_traffic(
        traffic, frame, outcomes(frame, "original"), lambda part: scored[: len(part)],
        features=spec.features, sensitive=spec.sensitive, start=NOW - timedelta(hours=96), hours=24,
    )  # fmt: skip
    assert handlers.CSV_WITH_IDS  # the capture holds both answer forms inference.py serves
    run = ParityRun(tmp_path)
    shutil.copytree(parity_run.code, run.code)
    output = _Runner(run, PARITY_DIR).step(
        "quality.py", "--capture", str(made.capture), "--labels", str(made.labels),
        "--baseline", str(parity_run.root / "evaluation" / "evaluation.json"), "--output", str(tmp_path / "q"),
        "--now", NOW.isoformat(), "--delay-hours", "72", "--min-samples", "50",
    )  # fmt: skip
    report = json.loads((tmp_path / "q" / "quality.json").read_text())
    assert (
        "quality:" in output
        and report["labelled"] == made.labelled
        and report["metrics"]["auc"] == report["metrics"]["auc"]
    )


def test_the_floor_stops_a_handful_of_labels_from_a_false_alarm(
    clean: ScenarioResult, training_run: LocalTrainingRun, quality: Any, spec: Any
) -> None:
    """On clean traffic the first few labels alone look like degradation; the floor keeps the job quiet."""
    window = quality.Window.ending(NOW, 24, 72)
    predictions, _ = quality.read_predictions(str(clean.traffic.capture), window, spec)
    labels = quality.read_labels(str(clean.traffic.labels), NOW)
    evaluation = json.loads(training_run.evaluation.read_text())
    early = detection_point(predictions, labels, evaluation, spec=spec, min_samples=0, steps=(10, 20, 30, 40, 50))
    assert early is not None and early.labelled_rows <= 50, "a handful of labels is noise that looks like a violation"
    assert detection_point(predictions, labels, evaluation, spec=spec, min_samples=200) is None


def test_a_regressor_is_judged_by_mae_and_rmse_against_its_baseline(
    quality: Any, shipped: dict[str, Project], tmp_path: Path
) -> None:
    import numpy as np

    rng = np.random.default_rng(0)
    truth = rng.normal(100, 20, 600)
    predictions = pd.DataFrame({"inference_id": [f"r-{i}" for i in range(600)], "group": None,
                                "prediction": truth + rng.normal(0, 5, 600)})  # fmt: skip
    baseline = {
        "metrics": {"mae": {"value": 4.0}, "rmse": {"value": 5.0}},
        "label_profile": {"edges": list(np.quantile(truth, np.linspace(0, 1, 11))), "shares": [0.1] * 10},
    }
    same = pd.DataFrame({"inference_id": predictions["inference_id"], "label": truth, "event_time": NOW})
    claims = load_step_module("dataset").load_spec(str(write_spec(shipped["claims"].spec(), tmp_path)))
    report = quality.measure(predictions, same, baseline, spec=claims)
    assert report["status"] == "ok" and 3.5 < report["metrics"]["mae"] < 4.5 and report["label_drift"]["psi"] < 0.05
    changed = same.assign(label=truth * 1.3)  # the outcome's relationship to the same predictions changed
    report = quality.measure(predictions, changed, baseline, spec=claims)
    assert report["status"] == "violated" and any(v.startswith("mae") for v in report["violations"])
    assert report["relationship"]["slope"] > 1.2


def test_at_the_floor_clean_and_data_drift_stay_quiet_and_concept_drift_is_caught_across_samples(
    training_run: LocalTrainingRun, quality: Any, spec: Any
) -> None:
    """20 independent samples of 200 labelled rows each (the default floor), per scenario."""
    handlers = load_model_handlers(training_run.model_dir)
    model = handlers.model_fn(str(training_run.model_dir))
    baseline = json.loads(training_run.evaluation.read_text())

    def violated(seed: int, *, concept: str, data_drift: bool = False) -> bool:
        frame = customers(200, seed=seed, data_drift=data_drift)
        drawn = outcomes(frame, "shifted" if concept == "shifted" else "original", seed=seed)
        labels = frame["churned"].to_numpy() if concept == "clean" else drawn
        ids = [f"{seed}-{i}" for i in range(len(frame))]
        predictions = pd.DataFrame(
            {"inference_id": ids, "prediction": model.predict_proba(frame[spec.features])[:, 1],
             "group": frame[spec.sensitive]}
        )  # fmt: skip
        arrived = pd.DataFrame({"inference_id": ids, "label": labels, "event_time": NOW.isoformat()})
        return bool(quality.measure(predictions, arrived, baseline, spec=spec)["violations"])

    seeds = range(100, 120)
    assert sum(violated(s, concept="clean") for s in seeds) == 0, "false alarms on clean traffic"
    assert sum(violated(s, concept="original", data_drift=True) for s in seeds) == 0, "false alarms on data drift"
    assert sum(violated(s, concept="shifted") for s in seeds) == 20, "concept drift missed"
