"""Quality step: join what the endpoint predicted with the labels that came back, and judge the model.

Concept drift (the inputs keep their distribution, the outcome's relationship to them changes) and
plain degradation show only once true labels arrive, often days later. This job joins captured
predictions with uploaded labels on the inference id, inside a window that ends `--delay-hours`
before the run so late labels have time to arrive, and computes:

- classifier: AUC, precision and recall at the serving threshold, calibration error (10 equal-width
  bins) and calibration-in-the-large; regressor: MAE and RMSE;
- the same per group of the sensitive attribute, when the captured requests carry it;
- label drift: PSI and a chi-square test (classifier) or PSI over the baseline's label bins
  (regressor) against the evaluation's labels;
- the prediction-versus-label relationship: the least-squares slope of the label on the prediction
  and the mean residual (a calibrated model has slope 1 and residual 0; a changed concept does not).

It compares them with the evaluation baseline of the served package (evaluate.py's `evaluation.json`)
within the configured tolerances: a metric violates only when it is past its tolerance even at the
edge of its sampling noise (1.645 standard errors, one-sided 95%), so a small sample does not alarm on
chance (the drift job's "material and significant" rule). Below `--min-samples` labelled rows it
reports "insufficient labels" and never violates. Writes `quality.json` and `metric-data.json` (the
CloudWatch metric data, one datum per metric for this run); with `--publish` also puts them to CloudWatch.

Capture files are SageMaker data-capture JSON lines (developer guide "Capture data from real-time
endpoint", awsdocs/amazon-sagemaker-developer-guide bc87781, `model-monitor-data-capture-endpoint.md`:
`captureData.endpointInput/endpointOutput.{data,encoding,observedContentType}`,
`eventMetadata.{eventId,inferenceId,inferenceTime}`), read a line at a time; only the window's rows
are kept. Row ids follow inference.py: the answer's `inference_id` column, the request's, or the
caller's `eventMetadata.inferenceId` (`<id>` for one row, `<id>-<i>` for many).
"""

from __future__ import annotations

import argparse
import base64
import csv
import glob
import io
import json
import math
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from dataset import FEATURES, SENSITIVE
from scipy import stats
from sklearn.metrics import mean_absolute_error, mean_squared_error, precision_score, recall_score, roc_auc_score

NAMESPACE = "mlops/quality"
CHUNK_ROWS = 50_000
"""Rows gathered before they become a frame: memory grows with the window, not with the capture."""
EPSILON = 1e-4
CALIBRATION_BINS = 10
Z = 1.645
"""One-sided 95%: a metric violates only when it is past the tolerance even at the edge of its sampling noise."""
HIGHER_IS_BETTER = {"auc", "precision", "recall"}
LOWER_IS_BETTER = {"mae", "rmse"}
DEFAULT_TOLERANCES = {
    "auc": 0.05,
    "precision": 0.10,
    "recall": 0.10,
    "mae": 0.10,
    "rmse": 0.10,
    "calibration_error": 0.10,
    "label_psi": 0.20,
    "label_p_value": 0.01,
    "group_gap": 0.25,
}
"""Allowed degradation from the baseline (higher-/lower-is-better metrics, relative for MAE and RMSE),
the largest calibration error and per-group gap, and the label drift's PSI and significance."""


def parse_time(text: str) -> datetime:
    """An ISO-8601 time as an aware UTC datetime (`Z` or an offset; a naive time is taken as UTC)."""
    moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@dataclass
class CaptureCounts:
    """What the capture held, so a report can say how much it could not use."""

    records: int = 0
    rows_in_window: int = 0
    rows_without_id: int = 0
    undecodable: int = 0
    files: int = 0
    groups_captured: bool = False


@dataclass(frozen=True)
class Window:
    """The predictions judged by one run: made in [start, end), labelled by `labels_until`."""

    start: datetime
    end: datetime
    labels_until: datetime

    @classmethod
    def ending(cls, now: datetime, hours: float, delay_hours: float) -> Window:
        """The window of a run at `now`: `hours` long, ending `delay_hours` before it."""
        end = now - timedelta(hours=delay_hours)
        return cls(start=end - timedelta(hours=hours), end=end, labels_until=now)

    def to_dict(self) -> dict[str, str]:
        """ISO times, for the report."""
        return {name: getattr(self, name).isoformat() for name in ("start", "end", "labels_until")}


def _files(path: str, *suffixes: str) -> list[str]:
    if os.path.isfile(path):
        return [path]
    found = {f for suffix in suffixes for f in glob.glob(os.path.join(path, "**", f"*{suffix}"), recursive=True)}
    return sorted(found)


def _decode(payload: dict[str, Any]) -> str:
    data = str(payload.get("data", ""))
    if str(payload.get("encoding", "CSV")).upper() == "BASE64":
        return base64.b64decode(data).decode("utf-8")
    return data


def _csv_rows(text: str) -> list[list[str]]:
    return [row for row in csv.reader(io.StringIO(text.strip())) if row]


def _row_ids(base: str | None, rows: int) -> list[str | None]:
    """inference.py's naming: the request's id for one row, `<id>-<i>` for many; None without an id."""
    if not base:
        return [None] * rows
    return [base] if rows == 1 else [f"{base}-{i}" for i in range(rows)]


def _record_rows(record: dict[str, Any], counts: CaptureCounts) -> list[dict[str, Any]]:
    """The predicted rows of one capture record: id, score and (if the request carried it) the group."""
    capture = record["captureData"]
    requests = _csv_rows(_decode(capture["endpointInput"]))
    answers = _csv_rows(_decode(capture["endpointOutput"]))
    header = requests[0] if requests and FEATURES[0] in [c.strip() for c in requests[0]] else None
    body = requests[1:] if header else requests
    if len(body) != len(answers):
        counts.undecodable += 1
        return []
    columns = [c.strip() for c in header] if header else []
    request_ids = [row[columns.index("inference_id")] for row in body] if "inference_id" in columns else None
    groups = [row[columns.index(SENSITIVE)] for row in body] if SENSITIVE in columns else None
    fallback = _row_ids(record.get("eventMetadata", {}).get("inferenceId"), len(answers))
    rows = []
    for i, answer in enumerate(answers):
        inference_id = answer[0] if len(answer) > 1 else (request_ids[i] if request_ids else fallback[i])
        rows.append(
            {"inference_id": inference_id, "prediction": float(answer[-1]), "group": groups[i] if groups else None}
        )
    return rows


def read_predictions(path: str, window: Window, chunk_rows: int = CHUNK_ROWS) -> tuple[pd.DataFrame, CaptureCounts]:
    """The predictions made inside `window`, from the capture files under `path` (a line at a time)."""
    counts = CaptureCounts()
    chunks: list[pd.DataFrame] = []
    pending: list[dict[str, Any]] = []
    files = _files(path, ".jsonl")
    counts.files = len(files)
    for file in files:
        with open(file, encoding="utf-8") as handle:
            for line in handle:
                if not line.strip():
                    continue
                record = json.loads(line)
                counts.records += 1
                when = parse_time(record.get("eventMetadata", {}).get("inferenceTime", "1970-01-01T00:00:00Z"))
                if not window.start <= when < window.end:
                    continue
                for row in _record_rows(record, counts):
                    counts.rows_in_window += 1
                    if row["inference_id"] is None:
                        counts.rows_without_id += 1
                        continue
                    pending.append({**row, "inference_time": when})
                if len(pending) >= chunk_rows:
                    chunks.append(pd.DataFrame(pending))
                    pending = []
    if pending:
        chunks.append(pd.DataFrame(pending))
    columns = ["inference_id", "prediction", "group", "inference_time"]
    frame = pd.concat(chunks, ignore_index=True) if chunks else pd.DataFrame(columns=columns)
    counts.groups_captured = bool(frame["group"].notna().any()) if len(frame) else False
    # the same request captured twice (a retried upload) counts once
    return frame.drop_duplicates("inference_id", keep="last").reset_index(drop=True), counts


def read_labels(path: str, until: datetime, chunk_rows: int = CHUNK_ROWS) -> pd.DataFrame:
    """Labels (JSON lines or CSV: inference_id, label, event_time) that arrived by `until`; the latest per id."""
    chunks = []
    for file in _files(path, ".jsonl", ".csv"):
        reader: Any = (
            pd.read_csv(file, dtype={"inference_id": str}, chunksize=chunk_rows)
            if file.endswith(".csv")
            else pd.read_json(file, lines=True, dtype={"inference_id": str}, chunksize=chunk_rows)
        )
        with reader as parts:
            for part in parts:
                times = pd.to_datetime(part["event_time"], utc=True, format="ISO8601")
                kept = part.assign(event_time=times)
                chunks.append(kept[kept["event_time"] <= pd.Timestamp(until)][["inference_id", "label", "event_time"]])
    if not chunks:
        return pd.DataFrame(columns=["inference_id", "label", "event_time"])
    labels = pd.concat(chunks, ignore_index=True).sort_values("event_time")
    return labels.drop_duplicates("inference_id", keep="last").reset_index(drop=True)


def calibration_error(labels: np.ndarray, scores: np.ndarray, bins: int = CALIBRATION_BINS) -> float:
    """Expected calibration error: the share-weighted gap between mean score and outcome rate per bin."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(scores, edges[1:-1]), 0, bins - 1)
    total = 0.0
    for b in range(bins):
        mask = which == b
        if mask.any():
            total += float(mask.mean()) * abs(float(scores[mask].mean()) - float(labels[mask].mean()))
    return total


def classifier_metrics(labels: np.ndarray, scores: np.ndarray, threshold: float) -> dict[str, float]:
    """AUC (NaN with one class only), precision and recall at `threshold`, calibration."""
    predicted = (scores >= threshold).astype(int)
    both = len(np.unique(labels)) == 2
    return {
        "auc": float(roc_auc_score(labels, scores)) if both else math.nan,
        "precision": float(precision_score(labels, predicted, zero_division=0)),
        "recall": float(recall_score(labels, predicted, zero_division=0)),
        "calibration_error": calibration_error(labels, scores),
        "calibration_in_the_large": float(scores.mean() - labels.mean()),
        "positive_rate": float(labels.mean()),
        "predicted_positive_rate": float(predicted.mean()),
    }


def regressor_metrics(labels: np.ndarray, predictions: np.ndarray) -> dict[str, float]:
    """Mean absolute and root mean squared error."""
    return {
        "mae": float(mean_absolute_error(labels, predictions)),
        "rmse": float(math.sqrt(mean_squared_error(labels, predictions))),
    }


def _binomial(share: float, count: int) -> float:
    """Agresti-Coull standard error of a share: two successes and two failures added, so 0/n is not certain."""
    adjusted = (share * count + 2) / (count + 4)
    return math.sqrt(adjusted * (1 - adjusted) / (count + 4))


def classifier_errors(labels: np.ndarray, scores: np.ndarray, threshold: float) -> dict[str, float]:
    """Standard errors of the classifier's metrics from their counts.

    AUC: Hanley and McNeil (1982, Radiology 143:29, equation 2); precision and recall: binomial over the
    predicted and the actual positives; calibration error: the share-weighted binomial error of the
    bins' outcome rates (the error a perfectly calibrated model shows on this many rows).
    """
    predicted = scores >= threshold
    positives, negatives = int((labels == 1).sum()), int((labels == 0).sum())
    errors = {
        "precision": _binomial(float(labels[predicted].mean()) if predicted.any() else 0.0, int(predicted.sum())),
        "recall": _binomial(float(predicted[labels == 1].mean()) if positives else 0.0, positives),
        "auc": math.inf,
    }
    if positives and negatives:
        a = float(roc_auc_score(labels, scores))
        q1, q2 = a / (2 - a), 2 * a * a / (1 + a)
        variance = (a * (1 - a) + (positives - 1) * (q1 - a * a) + (negatives - 1) * (q2 - a * a)) / (
            positives * negatives
        )
        errors["auc"] = math.sqrt(max(variance, 0.0))
    edges = np.linspace(0.0, 1.0, CALIBRATION_BINS + 1)
    which = np.clip(np.digitize(scores, edges[1:-1]), 0, CALIBRATION_BINS - 1)
    floor = 0.0
    for b in range(CALIBRATION_BINS):
        mask = which == b
        if mask.any():
            rate = float(scores[mask].mean())
            floor += float(mask.mean()) * _binomial(rate, int(mask.sum()))
    errors["calibration_error"] = floor
    return errors


def regressor_errors(labels: np.ndarray, predictions: np.ndarray) -> dict[str, float]:
    """Standard errors of MAE (of the mean absolute error) and RMSE (delta method on the mean squared error)."""
    residuals = labels - predictions
    n = len(residuals)
    if n < 2:
        return {"mae": math.inf, "rmse": math.inf}
    rmse = math.sqrt(float((residuals**2).mean()))
    mse_error = float(np.std(residuals**2, ddof=1)) / math.sqrt(n)
    return {
        "mae": float(np.std(np.abs(residuals), ddof=1)) / math.sqrt(n),
        "rmse": mse_error / (2 * rmse) if rmse > 0 else math.inf,
    }


def relationship(labels: np.ndarray, predictions: np.ndarray) -> dict[str, float]:
    """Least-squares slope and intercept of the label on the prediction, and the mean residual."""
    spread = float(np.var(predictions))
    slope = float(np.cov(predictions, labels, bias=True)[0, 1] / spread) if spread > 0 else math.nan
    intercept = float(labels.mean() - slope * predictions.mean()) if spread > 0 else math.nan
    return {"slope": slope, "intercept": intercept, "residual_mean": float((labels - predictions).mean())}


def _psi(expected: list[float], actual: list[float]) -> float:
    total = 0.0
    for expected_share, actual_share in zip(expected, actual, strict=True):
        e, a = max(expected_share, EPSILON), max(actual_share, EPSILON)
        total += (a - e) * math.log(a / e)
    return total


def label_drift(baseline: dict[str, Any], labels: np.ndarray, problem: str) -> dict[str, Any]:
    """The labels' distribution against the evaluation's: PSI, and chi-square for a classifier."""
    if problem == "classifier":
        matrix = baseline["binary_classification_metrics"]["confusion_matrix"]
        negatives = matrix["0"]["0"] + matrix["0"]["1"]
        positives = matrix["1"]["0"] + matrix["1"]["1"]
        expected = [negatives / (negatives + positives), positives / (negatives + positives)]
        counts = [int((labels == 0).sum()), int((labels == 1).sum())]
        test = stats.chisquare(counts, [share * len(labels) for share in expected])
        actual = [count / max(len(labels), 1) for count in counts]
        return {
            "psi": _psi(expected, actual),
            "test": "chi-square",
            "p_value": float(test.pvalue),
            "baseline_positive_rate": expected[1],
            "positive_rate": actual[1],
        }
    profile = baseline.get("label_profile")
    if not profile:
        return {"psi": math.nan, "test": "none", "p_value": math.nan, "note": "the baseline has no label profile"}
    edges = np.array(profile["edges"], dtype=float)
    binned, _ = np.histogram(np.clip(labels, edges[0], edges[-1]), bins=edges)
    sample = np.array(profile.get("sample", []), dtype=float)
    test = stats.ks_2samp(labels, sample) if len(sample) else None
    return {
        "psi": _psi(profile["shares"], [float(count) / max(len(labels), 1) for count in binned]),
        "test": "ks" if test is not None else "none",
        "p_value": float(test.pvalue) if test is not None else math.nan,
    }


def per_group(frame: pd.DataFrame, problem: str, threshold: float) -> dict[str, dict[str, Any]]:
    """The metrics of each group of the sensitive attribute (groups the requests carried), with their errors."""
    groups: dict[str, dict[str, Any]] = {}
    for name, part in frame.dropna(subset=["group"]).groupby("group"):
        labels, predictions = part["label"].to_numpy(dtype=float), part["prediction"].to_numpy(dtype=float)
        if problem == "classifier":
            metrics = classifier_metrics(labels.astype(int), predictions, threshold)
            errors = classifier_errors(labels.astype(int), predictions, threshold)
        else:
            metrics, errors = regressor_metrics(labels, predictions), regressor_errors(labels, predictions)
        groups[str(name)] = {"rows": float(len(part)), **metrics, "standard_errors": errors}
    return groups


def baseline_metrics(baseline: dict[str, Any]) -> dict[str, float]:
    """The evaluation's metric values (evaluate.py's `metrics.<name>.value`)."""
    return {name: float(entry["value"]) for name, entry in baseline.get("metrics", {}).items()}


def _violations(
    report: dict[str, Any], reference: dict[str, float], tolerances: dict[str, float], problem: str
) -> list[str]:
    """What is past its tolerance even at the edge of its sampling noise (`Z` standard errors)."""
    found = []
    errors = report["standard_errors"]
    for name, value in report["metrics"].items():
        if name not in reference or math.isnan(value):
            continue
        allowed, noise = tolerances[name], Z * errors.get(name, math.inf)
        if name in HIGHER_IS_BETTER and reference[name] - value - noise > allowed:
            found.append(
                f"{name} {value:.4f} fell {reference[name] - value:.4f} below the baseline {reference[name]:.4f} "
                f"(tolerance {allowed}, sampling noise {noise:.4f})"
            )
        if name in LOWER_IS_BETTER and value - noise > reference[name] * (1 + allowed):
            found.append(
                f"{name} {value:.4f} rose above the baseline {reference[name]:.4f} by more than {allowed:.0%} "
                f"(sampling noise {noise:.4f})"
            )
    calibration = report["metrics"].get("calibration_error")
    noise = Z * errors.get("calibration_error", math.inf)
    if calibration is not None and calibration - noise > tolerances["calibration_error"]:
        found.append(
            f"calibration error {calibration:.4f} exceeds {tolerances['calibration_error']} "
            f"(sampling noise {noise:.4f})"
        )
    drift = report["label_drift"]
    if drift["psi"] > tolerances["label_psi"] and drift["p_value"] < tolerances["label_p_value"]:
        found.append(f"label drift: PSI {drift['psi']:.4f}, p {drift['p_value']:.2g}")
    gap_metric = "recall" if problem == "classifier" else "mae"
    judged = [g for g in report["groups"].values() if not math.isnan(g[gap_metric])]
    if len(judged) > 1:
        low = min(judged, key=lambda g: g[gap_metric])
        high = max(judged, key=lambda g: g[gap_metric])
        gap = high[gap_metric] - low[gap_metric]
        noise = Z * math.hypot(low["standard_errors"][gap_metric], high["standard_errors"][gap_metric])
        if gap - noise > tolerances["group_gap"]:
            found.append(f"{gap_metric} differs by {gap:.4f} between groups (sampling noise {noise:.4f})")
    return found


def measure(
    predictions: pd.DataFrame,
    labels: pd.DataFrame,
    baseline: dict[str, Any],
    *,
    problem: str = "classifier",
    threshold: float = 0.5,
    min_samples: int = 200,
    tolerances: dict[str, float] | None = None,
) -> dict[str, Any]:
    """The quality report of the window's predictions and the labels that arrived for them."""
    limits = {**DEFAULT_TOLERANCES, **(tolerances or {})}
    joined = predictions.merge(labels, on="inference_id", how="inner")
    report: dict[str, Any] = {
        "problem": problem,
        "predictions": len(predictions),
        "labelled": len(joined),
        "label_coverage": len(joined) / len(predictions) if len(predictions) else 0.0,
        "unmatched_labels": int((~labels["inference_id"].isin(predictions["inference_id"])).sum()),
        "min_samples": min_samples,
        "threshold": threshold,
        "tolerances": limits,
        "baseline": baseline_metrics(baseline),
    }
    if len(joined) < min_samples:
        return report | {
            "status": "insufficient labels",
            "metrics": {},
            "groups": {},
            "violations": [],
            "reason": f"{len(joined)} labelled predictions, fewer than the minimum {min_samples}: not judged",
        }
    y = joined["label"].to_numpy(dtype=float)
    p = joined["prediction"].to_numpy(dtype=float)
    if problem == "classifier":
        metrics, errors = (
            classifier_metrics(y.astype(int), p, threshold),
            classifier_errors(y.astype(int), p, threshold),
        )
    else:
        metrics, errors = regressor_metrics(y, p), regressor_errors(y, p)
    report |= {
        "metrics": metrics,
        "standard_errors": errors,
        "relationship": relationship(y, p),
        "label_drift": label_drift(baseline, y.astype(int) if problem == "classifier" else y, problem),
        "groups": per_group(joined, problem, threshold),
    }
    report["violations"] = _violations(report, report["baseline"], limits, problem)
    report["status"] = "violated" if report["violations"] else "ok"
    report["reason"] = "; ".join(report["violations"]) or "within the tolerances of the baseline"
    return report


CLOUDWATCH_NAMES = {
    "auc": ("AUC", "None"),
    "precision": ("Precision", "None"),
    "recall": ("Recall", "None"),
    "calibration_error": ("CalibrationError", "None"),
    "mae": ("MAE", "None"),
    "rmse": ("RMSE", "None"),
}


def metric_data(report: dict[str, Any], endpoint: str, timestamp: datetime) -> list[dict[str, Any]]:
    """The CloudWatch datums of one run: one per metric, stamped with the run's time, dimension Endpoint."""
    dimensions = [{"Name": "Endpoint", "Value": endpoint}]
    stamp = timestamp.isoformat()
    data = [
        {"MetricName": "LabelledRows", "Value": float(report["labelled"]), "Unit": "Count"},
        {"MetricName": "LabelCoverage", "Value": 100.0 * report["label_coverage"], "Unit": "Percent"},
        {"MetricName": "Violations", "Value": float(len(report["violations"])), "Unit": "Count"},
        {"MetricName": "Judged", "Value": 0.0 if report["status"] == "insufficient labels" else 1.0, "Unit": "Count"},
    ]
    for name, value in report["metrics"].items():
        if name in CLOUDWATCH_NAMES and not math.isnan(value):
            metric, unit = CLOUDWATCH_NAMES[name]
            data.append({"MetricName": metric, "Value": float(value), "Unit": unit})
    if "label_drift" in report and not math.isnan(report["label_drift"]["psi"]):
        data.append({"MetricName": "LabelPSI", "Value": float(report["label_drift"]["psi"]), "Unit": "None"})
    if "relationship" in report and not math.isnan(report["relationship"]["slope"]):
        data.append({"MetricName": "PredictionSlope", "Value": report["relationship"]["slope"], "Unit": "None"})
    return [{**datum, "Dimensions": dimensions, "Timestamp": stamp} for datum in data]


def publish(data: list[dict[str, Any]], region: str) -> None:
    """Put the run's datums to CloudWatch (the quality alarms watch them)."""
    import boto3

    client = boto3.client("cloudwatch", region_name=region)
    for start in range(0, len(data), 500):  # PutMetricData takes at most 1000 datums per call
        batch = [{**d, "Timestamp": parse_time(d["Timestamp"])} for d in data[start : start + 500]]
        client.put_metric_data(Namespace=NAMESPACE, MetricData=batch)


def baseline_of_package(arn: str, region: str, target: str) -> str:
    """Download the evaluation report attached to model package `arn` (its ModelQuality statistics)."""
    import boto3

    package = boto3.client("sagemaker", region_name=region).describe_model_package(ModelPackageName=arn)
    uri = package["ModelMetrics"]["ModelQuality"]["Statistics"]["S3Uri"]
    bucket, key = uri.removeprefix("s3://").split("/", 1)
    os.makedirs(target, exist_ok=True)
    local = os.path.join(target, "evaluation.json")
    boto3.client("s3", region_name=region).download_file(bucket, key, local)
    return local


def _tolerances(pairs: list[str]) -> dict[str, float]:
    parsed = {}
    for pair in pairs:
        name, _, value = pair.partition("=")
        if name not in DEFAULT_TOLERANCES or not value:
            raise SystemExit(f"--tolerance {pair!r}: use NAME=VALUE with NAME one of {', '.join(DEFAULT_TOLERANCES)}")
        parsed[name] = float(value)
    return parsed


def parser() -> argparse.ArgumentParser:
    """The step's command line (the quality pipeline passes these arguments)."""
    command = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    command.add_argument("--capture", default="/opt/ml/processing/input/capture")
    command.add_argument("--labels", default="/opt/ml/processing/input/labels")
    command.add_argument("--baseline", default="", help="evaluation.json; default: the model package's")
    command.add_argument("--model-package-arn", default="")
    command.add_argument("--output", default="/opt/ml/processing/quality")
    command.add_argument("--problem", choices=("classifier", "regressor"), default="classifier")
    command.add_argument("--threshold", type=float, default=0.5, help="the serving threshold of a classifier")
    command.add_argument("--window-hours", type=float, default=24.0)
    command.add_argument("--delay-hours", type=float, default=48.0, help="how long labels may take to arrive")
    command.add_argument("--min-samples", type=int, default=200)
    command.add_argument("--tolerance", action="append", default=[], metavar="NAME=VALUE")
    command.add_argument("--now", default="", help="the run's time (ISO-8601); default: the clock")
    command.add_argument("--endpoint", default="")
    command.add_argument("--region", default=os.environ.get("AWS_REGION", ""))
    command.add_argument("--publish", action="store_true", help="put the metrics to CloudWatch")
    return command


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the step and write `<output>/quality.json` and `<output>/metric-data.json`."""
    args = parser().parse_args(argv)
    now = parse_time(args.now) if args.now else datetime.now(UTC)
    window = Window.ending(now, args.window_hours, args.delay_hours)
    baseline_path = args.baseline or baseline_of_package(args.model_package_arn, args.region, args.output)
    with open(baseline_path, encoding="utf-8") as handle:
        baseline = json.load(handle)
    predictions, counts = read_predictions(args.capture, window)
    labels = read_labels(args.labels, window.labels_until)
    report = measure(
        predictions, labels, baseline, problem=args.problem, threshold=args.threshold,
        min_samples=args.min_samples, tolerances=_tolerances(args.tolerance),
    )  # fmt: skip
    report |= {"window": window.to_dict(), "capture": counts.__dict__, "endpoint": args.endpoint}
    data = metric_data(report, args.endpoint, now)
    os.makedirs(args.output, exist_ok=True)
    for name, document in (
        ("quality.json", report),
        ("metric-data.json", {"Namespace": NAMESPACE, "MetricData": data}),
    ):
        with open(os.path.join(args.output, name), "w", encoding="utf-8") as handle:
            json.dump(document, handle, indent=2, sort_keys=True, default=str)
    if args.publish:
        publish(data, args.region)
    print(f"quality: {report['labelled']} labelled of {report['predictions']} predictions: {report['status']}")
    return report


if __name__ == "__main__":
    main()
