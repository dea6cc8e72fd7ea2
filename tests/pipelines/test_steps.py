"""The step scripts, run locally exactly as their containers run them, on the shipped dataset."""

from __future__ import annotations

import json
import math
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from pipelines.local_run import STEPS_DIR, LocalTrainingRun, load_model_handlers, run_step


@pytest.fixture(scope="module")
def steps() -> Iterator[dict[str, Any]]:
    """The step modules, imported the way their container imports them (folder on sys.path)."""
    sys.path.insert(0, str(STEPS_DIR))
    try:
        import baseline
        import dataset
        import evaluate
        import preprocess
        import train

        yield {
            "dataset": dataset,
            "preprocess": preprocess,
            "train": train,
            "evaluate": evaluate,
            "baseline": baseline,
        }
    finally:
        sys.path.remove(str(STEPS_DIR))


def test_trained_model_beats_the_floor_and_the_decision_agrees(training_run: LocalTrainingRun) -> None:
    report = json.loads(training_run.evaluation.read_text())
    auc = report["metrics"]["auc"]["value"]
    assert 0.75 < auc < 0.95, "a realistic churn model: clearly better than chance, not suspiciously perfect"
    assert report["decision"] == {"metric": "auc", "value": auc, "threshold": 0.7, "passed": True, "reason": "passed"}
    assert report["binary_classification_metrics"]["auc"]["value"] == auc
    matrix = report["binary_classification_metrics"]["confusion_matrix"]
    assert sum(matrix[a][b] for a in "01" for b in "01") == report["test_rows"] == 600


def test_splits_are_stratified_and_disjoint(training_run: LocalTrainingRun) -> None:
    parts = {
        name: pd.read_csv(training_run.root / "data" / name / f"{name}.csv") for name in ("train", "validation", "test")
    }
    assert {name: len(part) for name, part in parts.items()} == {"train": 2100, "validation": 300, "test": 600}
    rates = [part["churned"].mean() for part in parts.values()]
    assert max(rates) - min(rates) < 0.01
    assert "customer_id" not in parts["train"].columns and "gender" in parts["train"].columns


def test_model_artifact_carries_its_inference_code(training_run: LocalTrainingRun) -> None:
    code = training_run.model_dir / "code"
    assert sorted(p.name for p in code.iterdir() if p.is_file()) == ["dataset.py", "inference.py", "project.json"]
    assert (code / "project.json").read_text() == training_run.spec.read_text(), "the spec it was trained on"
    handlers = load_model_handlers(training_run.model_dir)
    model = handlers.model_fn(str(training_run.model_dir))
    frame = pd.read_csv(training_run.root / "data" / "test" / "test.csv").head(3)
    features = handlers.spec_of().features
    with_header = frame[features].to_csv(index=False)
    without_header = frame[features].to_csv(index=False, header=False)
    for body in (with_header, without_header.encode()):
        scores = handlers.predict_fn(handlers.input_fn(body, "text/csv"), model)
        assert len(scores) == 3 and all(0.0 <= s <= 1.0 for s in scores)
    lines = handlers.output_fn(scores, "text/csv").splitlines()
    assert len(lines) == 3
    with pytest.raises(ValueError, match="expected 9 values per row"):
        handlers.input_fn("1,2,3\n", "text/csv")
    with pytest.raises(ValueError, match="unsupported content type 'application/json'"):
        handlers.input_fn("{}", "application/json")


def test_evaluate_reads_the_training_jobs_tarball(training_run: LocalTrainingRun, tmp_path: Path) -> None:
    archive = tmp_path / "model.tar.gz"
    with tarfile.open(archive, "w:gz") as bundle:
        for path in training_run.model_dir.rglob("*"):
            bundle.add(path, arcname=str(path.relative_to(training_run.model_dir)))
    out = tmp_path / "evaluation"
    run_step("evaluate", "--model", str(archive), "--test", str(training_run.root / "data" / "test"),
             "--output", str(out), "--threshold", "0.99", "--project-spec", str(training_run.spec))  # fmt: skip
    report = json.loads((out / "evaluation.json").read_text())
    assert report["decision"]["passed"] is False and report["decision"]["threshold"] == 0.99


def test_evaluate_refuses_a_tarball_escaping_its_folder(tmp_path: Path, steps: dict[str, Any]) -> None:
    archive = tmp_path / "model.tar.gz"
    (tmp_path / "evil.txt").write_text("x")
    with tarfile.open(archive, "w:gz") as bundle:
        bundle.add(tmp_path / "evil.txt", arcname="../evil.txt")
    with pytest.raises(ValueError, match="points outside"):
        steps["evaluate"].load_model(str(archive))


def test_decide_is_the_one_gate(steps: dict[str, Any]) -> None:
    decide = steps["evaluate"].decide
    assert decide({"auc": 0.8}, "auc", 0.8)["passed"] is True
    assert decide({"auc": 0.7999}, "auc", 0.8)["passed"] is False
    assert decide({"auc": math.nan}, "auc", 0.0)["passed"] is False
    with pytest.raises(ValueError, match="metric 'gini' does not score this model"):
        decide({"auc": 0.8}, "gini", 0.5)


def test_training_resumes_from_its_checkpoint(
    training_run: LocalTrainingRun, tmp_path: Path, steps: dict[str, Any]
) -> None:
    train_dir = str(training_run.root / "data" / "train")
    checkpoints = tmp_path / "checkpoints"
    spec = str(training_run.spec)
    first = steps["train"].train(train_dir, str(tmp_path / "m1"), str(checkpoints), spec_path=spec, n_estimators=100)
    assert first.named_steps["trees"].n_estimators == 100
    resumed = steps["train"].train(train_dir, str(tmp_path / "m2"), str(checkpoints), spec_path=spec, n_estimators=150)
    assert resumed.named_steps["trees"].n_estimators == 150
    fresh = steps["train"].train(train_dir, str(tmp_path / "m3"), "", spec_path=spec, n_estimators=150)
    frame = pd.read_csv(Path(train_dir) / "train.csv").head(50)
    features = steps["dataset"].load_spec(spec).features
    assert (resumed.predict_proba(frame[features]) == fresh.predict_proba(frame[features])).all()


@pytest.fixture(scope="module")
def churn(training_run: LocalTrainingRun, steps: dict[str, Any]) -> Any:
    """The churn project's spec, as the steps read it."""
    return steps["dataset"].load_spec(str(training_run.spec))


def test_a_delete_newer_than_the_record_removes_it(steps: dict[str, Any], churn: Any) -> None:
    frame = pd.DataFrame(
        {
            "customer_id": ["a", "a"],
            "event_time": ["2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z"],
            "tenure_months": [1, 1],
            "is_deleted": ["false", "true"],
        }
    )
    assert steps["preprocess"].latest_records(frame, churn).empty


def test_preprocess_keeps_the_latest_undeleted_version(steps: dict[str, Any], churn: Any) -> None:
    frame = pd.DataFrame(
        {
            "customer_id": ["a", "a", "b", "c"],
            "event_time": [
                "2026-01-01T00:00:00Z",
                "2026-02-01T00:00:00Z",
                "2026-01-01T00:00:00Z",
                "2026-01-01T00:00:00Z",
            ],
            "tenure_months": [1, 2, 3, 4],
            "is_deleted": ["false", "false", "true", "false"],
            "write_time": ["x"] * 4,
            "api_invocation_time": ["x"] * 4,
        }
    )
    latest = steps["preprocess"].latest_records(frame, churn)
    assert latest["customer_id"].tolist() == ["a", "c"]
    assert latest["tenure_months"].tolist() == [2, 4]
    assert "write_time" not in latest.columns and "is_deleted" not in latest.columns


def test_preprocess_names_missing_columns(steps: dict[str, Any], churn: Any) -> None:
    frame = pd.DataFrame({"customer_id": ["a"], "churned": [1]})
    with pytest.raises(ValueError, match=r"the input data lacks column\(s\) tenure_months, .*, gender"):
        steps["preprocess"].split(frame, churn, 0.2, 0.1, 1)


def test_baseline_profiles_every_feature(training_run: LocalTrainingRun) -> None:
    document = json.loads(training_run.baseline.read_text())
    assert document["rows"] == 2100
    tenure = document["features"]["tenure_months"]
    assert tenure["type"] == "numeric" and math.isclose(sum(tenure["shares"]), 1.0)
    assert len(tenure["sample"]) == 1000 and tenure["sample"] == sorted(tenure["sample"])
    contract = document["features"]["contract"]
    assert set(contract["shares"]) == {"month-to-month", "one-year", "two-year"}


def test_bias_and_attribution_on_the_shipped_data(
    training_run: LocalTrainingRun, steps: dict[str, Any], churn: Any
) -> None:
    report = steps["evaluate"].evaluate(
        str(training_run.model_dir), str(training_run.root / "data" / "test"), "auc", 0.7, spec=churn, max_bias=0.1
    )
    bias = report["bias"]
    assert bias["attribute"] == "gender" and sum(bias["groups"].values()) == 600
    assert 0 <= bias["post_training"]["demographic_parity_gap"] < 0.1
    assert 0.5 < bias["post_training"]["disparate_impact"] <= 1
    assert next(iter(report["attribution"])) == "contract", "contract drives churn in this data"
    assert (
        report["decision"]["passed"] is True
        and report["decision"]["bias_gap"] == bias["post_training"]["demographic_parity_gap"]
    )


def test_a_bias_gap_above_the_limit_fails_the_gate(steps: dict[str, Any]) -> None:
    decision = steps["evaluate"].decide({"auc": 0.9}, "auc", 0.7, bias_gap=0.2, max_bias=0.1)
    assert decision["passed"] is False and decision["reason"] == "demographic parity gap 0.2000 exceeds 0.1"
    both = steps["evaluate"].decide({"auc": 0.6}, "auc", 0.7, bias_gap=0.2, max_bias=0.1)
    assert both["reason"].startswith("auc 0.6000 is below the threshold 0.7; demographic parity gap")


def test_retraining_on_new_data_never_resumes_the_previous_models_checkpoint(
    training_run: LocalTrainingRun, tmp_path: Path, steps: dict[str, Any]
) -> None:
    """SageMaker restores whatever the checkpoint prefix holds: new data must still be fitted, not skipped."""
    spec = str(training_run.spec)

    def train(data: str, model: str, checkpoints: str, n_estimators: int) -> Any:
        return steps["train"].train(data, model, checkpoints, spec_path=spec, n_estimators=n_estimators)

    original = training_run.root / "data" / "train"
    inverted = tmp_path / "inverted"
    inverted.mkdir()
    frame = pd.read_csv(original / "train.csv")
    frame.assign(churned=1 - frame["churned"]).to_csv(inverted / "train.csv", index=False)
    checkpoints = str(tmp_path / "checkpoints")  # one prefix, as a retraining run would have found it
    first = train(str(original), str(tmp_path / "m1"), checkpoints, n_estimators=100)
    retrained = train(str(inverted), str(tmp_path / "m2"), checkpoints, n_estimators=100)
    fresh = train(str(inverted), str(tmp_path / "m3"), "", n_estimators=100)
    sample = frame.head(50)[steps["dataset"].load_spec(spec).features]
    assert (retrained.predict_proba(sample) == fresh.predict_proba(sample)).all(), "fitted on the new data"
    assert (retrained.predict_proba(sample)[:, 1] != first.predict_proba(sample)[:, 1]).all()
    record = json.loads((tmp_path / "m2" / "training.json").read_text())
    assert (
        record["data_version"]
        == steps["train"].data_version(str(inverted))
        != steps["train"].data_version(str(original))
    )


def test_a_checkpoint_of_other_hyperparameters_or_a_tampered_one_is_refused(
    training_run: LocalTrainingRun, tmp_path: Path, steps: dict[str, Any]
) -> None:
    module = steps["train"]
    data = str(training_run.root / "data" / "train")
    checkpoints = str(tmp_path / "checkpoints")
    module.train(
        data, str(tmp_path / "m1"), checkpoints, spec_path=str(training_run.spec), n_estimators=50, max_depth=2
    )
    record = module.checkpoint_record(module.data_version(data), {"learning_rate": 0.05, "max_depth": 3, "seed": 42})
    assert module.resume(checkpoints, record, 100) is None, "max_depth differs: not resumable"
    same = module.checkpoint_record(module.data_version(data), {"learning_rate": 0.05, "max_depth": 2, "seed": 42})
    assert module.resume(checkpoints, same, 100).named_steps["trees"].n_estimators == 50
    assert module.resume(checkpoints, same, 40) is None, "more trees than asked for"
    import joblib

    saved = joblib.load(module.checkpoint_path(checkpoints, same))
    joblib.dump({**saved, "record": record}, module.checkpoint_path(checkpoints, same))  # a record that lies
    assert module.resume(checkpoints, same, 100) is None
