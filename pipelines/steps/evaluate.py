"""Evaluate step: score the trained model on the held-out test split and decide whether it passes.

`decide` is the one place the promotion gate is computed: the pipeline's condition step reads the
`decision.passed` this writes, and the local run prints it, so both always agree.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import tarfile
from typing import Any

import joblib
from dataset import FEATURES, LABEL, read_csvs, require_columns
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_score, recall_score, roc_auc_score

METRICS = ("auc", "accuracy", "f1", "precision", "recall")


def load_model(model_path: str) -> Any:
    """The model from a training job's `model.tar.gz`, or from a folder holding `model.joblib`."""
    archive = os.path.join(model_path, "model.tar.gz") if os.path.isdir(model_path) else model_path
    if archive.endswith(".tar.gz") and os.path.exists(archive):
        target = os.path.join(os.path.dirname(archive), "extracted")
        with tarfile.open(archive) as bundle:
            for member in bundle.getmembers():
                resolved = os.path.realpath(os.path.join(target, member.name))
                if not resolved.startswith(os.path.realpath(target) + os.sep) or member.issym() or member.islnk():
                    raise ValueError(f"refusing to extract {member.name!r} from {archive}: it points outside")
            bundle.extractall(target)  # noqa: S202 - every member was checked above
        model_path = target
    return joblib.load(os.path.join(model_path, "model.joblib"))


def metrics_of(labels: Any, scores: Any, cutoff: float = 0.5) -> dict[str, float]:
    """Threshold-free AUC plus the usual metrics at `cutoff`."""
    predicted = [int(score >= cutoff) for score in scores]
    return {
        "auc": float(roc_auc_score(labels, scores)),
        "accuracy": float(accuracy_score(labels, predicted)),
        "f1": float(f1_score(labels, predicted, zero_division=0)),
        "precision": float(precision_score(labels, predicted, zero_division=0)),
        "recall": float(recall_score(labels, predicted, zero_division=0)),
    }


def decide(metrics: dict[str, float], metric: str, threshold: float) -> dict[str, Any]:
    """Pass when `metric` reaches `threshold`; a NaN metric never passes."""
    if metric not in metrics:
        raise ValueError(f"unknown metric {metric!r}; choose one of {', '.join(sorted(metrics))}")
    value = metrics[metric]
    passed = not math.isnan(value) and value >= threshold
    return {"metric": metric, "value": value, "threshold": threshold, "passed": passed}


def evaluate(model_path: str, test_path: str, metric: str, threshold: float) -> dict[str, Any]:
    """The evaluation report: metrics, SageMaker's model-quality format, and the decision."""
    model = load_model(model_path)
    frame = read_csvs(test_path)
    require_columns(frame, [LABEL, *FEATURES], "the test data")
    labels = frame[LABEL].astype(int).tolist()
    scores = model.predict_proba(frame[FEATURES])[:, 1]
    metrics = metrics_of(labels, scores)
    (tn, fp), (fn, tp) = confusion_matrix(labels, [int(s >= 0.5) for s in scores], labels=[0, 1]).tolist()
    quality: dict[str, Any] = {name: {"value": value, "standard_deviation": "NaN"} for name, value in metrics.items()}
    quality["confusion_matrix"] = {"0": {"0": tn, "1": fp}, "1": {"0": fn, "1": tp}}
    return {
        "metrics": {name: {"value": value} for name, value in metrics.items()},
        "binary_classification_metrics": quality,
        "decision": decide(metrics, metric, threshold),
        "test_rows": len(frame),
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the step and write `<output>/evaluation.json`."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default="/opt/ml/processing/model")
    parser.add_argument("--test", default="/opt/ml/processing/test")
    parser.add_argument("--output", default="/opt/ml/processing/evaluation")
    parser.add_argument("--metric", default="auc", choices=METRICS)
    parser.add_argument("--threshold", type=float, required=True)
    args = parser.parse_args(argv)
    report = evaluate(args.model, args.test, args.metric, args.threshold)
    os.makedirs(args.output, exist_ok=True)
    with open(os.path.join(args.output, "evaluation.json"), "w", encoding="utf-8") as handle:
        json.dump(report, handle, indent=2, sort_keys=True)
    decision = report["decision"]
    verdict = "PASS" if decision["passed"] else "FAIL"
    print(f"evaluate: {decision['metric']}={decision['value']:.4f} threshold={decision['threshold']} -> {verdict}")
    return report


if __name__ == "__main__":
    main()
