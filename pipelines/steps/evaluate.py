"""Evaluate step: score the trained model on the held-out test split and decide whether it passes.

`decide` is the one place the promotion gate is computed: the pipeline's condition step reads the
`decision.passed` this writes, and the local run prints it, so both always agree.

A classifier is scored by AUC, accuracy, F1, precision and recall (higher is better); a regressor by
RMSE and MAE (in the label's units, lower is better) and R2 (higher is better). The gate passes a
higher-is-better metric at or above its threshold, and a lower-is-better one at or below it.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import tarfile
from typing import Any

import joblib
import numpy as np
import pandas as pd
from dataset import Spec, default_spec_path, load_spec, read_csvs, require_columns
from sklearn.inspection import permutation_importance
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    mean_absolute_error,
    mean_squared_error,
    precision_score,
    r2_score,
    recall_score,
    roc_auc_score,
)

CLASSIFIER_METRICS = ("auc", "accuracy", "f1", "precision", "recall")
REGRESSOR_METRICS = ("rmse", "mae", "r2")
METRICS = CLASSIFIER_METRICS + REGRESSOR_METRICS
LOWER_IS_BETTER = frozenset({"rmse", "mae"})
"""Errors: a model passes when they are at or below the threshold. Every other metric must reach it."""
CUTOFF = 0.5
"""A classifier's score at or above this is a positive prediction."""


def load_model(model_path: str) -> Any:
    """The model from a training job's `model.tar.gz`, or from a folder holding `model.joblib`."""
    return joblib.load(os.path.join(model_folder(model_path), "model.joblib"))


def training_record(model_path: str) -> dict[str, Any] | None:
    """What the model was trained with (train.py's `training.json`), if the model carries it."""
    record = os.path.join(model_folder(model_path), "training.json")
    if not os.path.exists(record):
        return None
    with open(record, encoding="utf-8") as handle:
        loaded: dict[str, Any] = json.load(handle)
    return loaded


def model_folder(model_path: str) -> str:
    """The folder holding `model.joblib`: `model_path` itself, or its `model.tar.gz` extracted (once)."""
    archive = os.path.join(model_path, "model.tar.gz") if os.path.isdir(model_path) else model_path
    if archive.endswith(".tar.gz") and os.path.exists(archive):
        target = os.path.join(os.path.dirname(archive), "extracted")
        if os.path.exists(os.path.join(target, "model.joblib")):
            return target
        with tarfile.open(archive) as bundle:
            for member in bundle.getmembers():
                resolved = os.path.realpath(os.path.join(target, member.name))
                if not resolved.startswith(os.path.realpath(target) + os.sep) or member.issym() or member.islnk():
                    raise ValueError(f"refusing to extract {member.name!r} from {archive}: it points outside")
            bundle.extractall(target)  # noqa: S202 - every member was checked above
        return target
    return model_path


def regression_metrics_of(labels: Any, predictions: Any) -> dict[str, float]:
    """RMSE, MAE and R2 of predicted values."""
    mse = float(mean_squared_error(labels, predictions))
    return {
        "rmse": math.sqrt(mse),
        "mae": float(mean_absolute_error(labels, predictions)),
        "r2": float(r2_score(labels, predictions)),
    }


def metrics_of(labels: Any, scores: Any, cutoff: float = CUTOFF) -> dict[str, float]:
    """Threshold-free AUC plus the usual metrics at `cutoff`."""
    predicted = [int(score >= cutoff) for score in scores]
    return {
        "auc": float(roc_auc_score(labels, scores)),
        "accuracy": float(accuracy_score(labels, predicted)),
        "f1": float(f1_score(labels, predicted, zero_division=0)),
        "precision": float(precision_score(labels, predicted, zero_division=0)),
        "recall": float(recall_score(labels, predicted, zero_division=0)),
    }


def decide(
    metrics: dict[str, float],
    metric: str,
    threshold: float,
    bias_gap: float | None = None,
    max_bias: float | None = None,
) -> dict[str, Any]:
    """Pass when `metric` reaches `threshold` (errors: stay at or below it) and the bias gap stays within `max_bias`.

    NaN never passes.
    """
    if metric not in metrics:
        raise ValueError(f"metric {metric!r} does not score this model; choose one of {', '.join(sorted(metrics))}")
    value = metrics[metric]
    reasons = []
    if metric in LOWER_IS_BETTER and (math.isnan(value) or value > threshold):
        reasons.append(f"{metric} {value:.4f} is above the threshold {threshold} (lower is better)")
    elif metric not in LOWER_IS_BETTER and (math.isnan(value) or value < threshold):
        reasons.append(f"{metric} {value:.4f} is below the threshold {threshold}")
    if bias_gap is not None and max_bias is not None and not bias_gap <= max_bias:
        reasons.append(f"demographic parity gap {bias_gap:.4f} exceeds {max_bias}")
    decision: dict[str, Any] = {"metric": metric, "value": value, "threshold": threshold, "passed": not reasons}
    if max_bias is not None:
        decision |= {"bias_gap": bias_gap, "max_bias": max_bias}
    decision["reason"] = "; ".join(reasons) or "passed"
    return decision


def bias_report(frame: Any, positive_labels: list[int], predicted: list[int], sensitive: str) -> dict[str, Any]:
    """Pre-training (labels) and post-training (predictions) positive rates per group, and their gaps."""
    groups = frame[sensitive].astype(str)
    names = sorted(groups.unique())
    labels = pd.Series(positive_labels, index=frame.index)
    label_rates = {g: float(labels[groups == g].mean()) for g in names}
    predictions = pd.Series(predicted, index=frame.index)
    prediction_rates = {g: float(predictions[groups == g].mean()) for g in names}
    low, high = min(prediction_rates.values()), max(prediction_rates.values())
    return {
        "attribute": sensitive,
        "groups": {g: int((groups == g).sum()) for g in names},
        "pre_training": {
            "label_positive_rate": label_rates,
            "difference_in_label_proportions": max(label_rates.values()) - min(label_rates.values()),
        },
        "post_training": {
            "prediction_positive_rate": prediction_rates,
            "demographic_parity_gap": high - low,
            "disparate_impact": (low / high) if high else 1.0,
        },
    }


def attribution(model: Any, frame: Any, labels: list[Any], spec: Spec) -> dict[str, float]:
    """Permutation importance of each feature: the AUC (classifier) or RMSE (regressor) lost when it is shuffled."""
    scoring = "roc_auc" if spec.is_classifier else "neg_root_mean_squared_error"
    features = spec.features
    result = permutation_importance(model, frame[features], labels, scoring=scoring, n_repeats=5, random_state=0)
    ranked = sorted(zip(features, result.importances_mean, strict=True), key=lambda item: -item[1])
    return {feature: float(score) for feature, score in ranked}


def positives(spec: Spec, values: Any) -> list[int]:
    """1 where a label or prediction is the favourable outcome: 1 for a classifier, above the threshold otherwise."""
    if spec.is_classifier:
        return [int(value) for value in values]
    if spec.label_threshold is None:
        raise ValueError(f"project {spec.name}: a regressor's bias report needs label_threshold in its project.json")
    return [int(value > spec.label_threshold) for value in values]


def label_profile(labels: list[Any], bins: int = 10) -> dict[str, list[float]]:
    """A regressor's test labels as decile bins and their shares: the quality job's label-drift baseline."""
    values = np.asarray(labels, dtype=float)
    edges = np.unique(np.quantile(values, np.linspace(0.0, 1.0, bins + 1)))
    counts, _ = np.histogram(values, bins=edges)
    return {"edges": edges.tolist(), "shares": (counts / max(len(values), 1)).tolist()}


def quality_of(spec: Spec, labels: list[Any], outputs: Any) -> tuple[dict[str, float], list[int], dict[str, Any]]:
    """The metrics, the positive predictions and SageMaker's model-quality document of the model's outputs."""
    if not spec.is_classifier:
        metrics = regression_metrics_of(labels, outputs)
        document = {name: {"value": value, "standard_deviation": "NaN"} for name, value in metrics.items()}
        document["mse"] = {"value": metrics["rmse"] ** 2, "standard_deviation": "NaN"}
        regression = {"regression_metrics": document, "label_profile": label_profile(labels)}
        return metrics, positives(spec, outputs) if spec.sensitive else [], regression
    metrics = metrics_of(labels, outputs)
    predicted = [int(score >= CUTOFF) for score in outputs]
    (tn, fp), (fn, tp) = confusion_matrix(labels, predicted, labels=[0, 1]).tolist()
    quality: dict[str, Any] = {name: {"value": value, "standard_deviation": "NaN"} for name, value in metrics.items()}
    quality["confusion_matrix"] = {"0": {"0": tn, "1": fp}, "1": {"0": fn, "1": tp}}
    return metrics, predicted, {"binary_classification_metrics": quality}


def evaluate(
    model_path: str,
    test_path: str,
    metric: str,
    threshold: float,
    *,
    spec: Spec,
    sensitive: str | None = None,
    max_bias: float | None = None,
) -> dict[str, Any]:
    """The evaluation report: metrics, SageMaker's model-quality format, bias, attribution, the decision.

    `sensitive` is the attribute the bias report groups by (default: the spec's).
    """
    folder = model_folder(model_path)  # a training job's archive is extracted once, here
    model = load_model(folder)
    frame = read_csvs(test_path)
    require_columns(frame, [spec.label, *spec.features], "the test data")
    if spec.is_classifier:
        labels: list[Any] = frame[spec.label].astype(int).tolist()
        outputs = model.predict_proba(frame[spec.features])[:, 1]
    else:
        labels = frame[spec.label].astype(float).tolist()
        outputs = model.predict(frame[spec.features])
    metrics, predicted, quality = quality_of(spec, labels, outputs)
    attribute = sensitive or spec.sensitive
    bias = None
    if attribute and attribute in frame.columns:
        bias = bias_report(frame, positives(spec, labels), predicted, attribute)
    gap = bias["post_training"]["demographic_parity_gap"] if bias else None
    return {
        "kind": spec.kind,
        "metrics": {name: {"value": value} for name, value in metrics.items()},
        **quality,
        "bias": bias,
        "attribution": attribution(model, frame, labels, spec),
        "decision": decide(metrics, metric, threshold, gap, max_bias),
        "test_rows": len(frame),
        "training": training_record(folder),
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the step and write `<output>/evaluation.json`."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default="/opt/ml/processing/model")
    parser.add_argument("--test", default="/opt/ml/processing/test")
    parser.add_argument("--output", default="/opt/ml/processing/evaluation")
    parser.add_argument("--metric", default="auc", choices=METRICS)
    parser.add_argument("--threshold", type=float, required=True, help="errors (rmse, mae) pass at or below it")
    parser.add_argument("--sensitive", default="", help="attribute the bias report groups by (default: the spec's)")
    parser.add_argument("--max-bias", type=float, default=None, help="largest demographic parity gap that passes")
    parser.add_argument("--project-spec", default=default_spec_path(), help="the project's project.json")
    args = parser.parse_args(argv)
    spec = load_spec(args.project_spec)
    report = evaluate(
        args.model, args.test, args.metric, args.threshold,
        spec=spec, sensitive=args.sensitive or None, max_bias=args.max_bias,
    )  # fmt: skip
    os.makedirs(args.output, exist_ok=True)
    with open(os.path.join(args.output, "evaluation.json"), "w", encoding="utf-8") as handle:
        json.dump(report, handle, indent=2, sort_keys=True)
    decision = report["decision"]
    verdict = "PASS" if decision["passed"] else "FAIL"
    print(f"evaluate: {decision['metric']}={decision['value']:.4f} threshold={decision['threshold']} -> {verdict}")
    if report["bias"]:
        gap = report["bias"]["post_training"]["demographic_parity_gap"]
        print(f"evaluate: demographic parity gap on {report['bias']['attribute']} = {gap:.4f}")
    return report


if __name__ == "__main__":
    main()
