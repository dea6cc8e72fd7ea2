"""Quality step: join what the endpoint predicted with the labels that came back, and judge the model.

Concept drift (the inputs keep their distribution, the outcome's relationship to them changes) and
plain degradation show only once true labels arrive, often days later. This job joins captured
predictions with uploaded labels on the inference id, inside a window that ends `--delay-hours`
before the run so late labels have time to arrive, and computes, by the project's model kind
(`project.json`, as every step reads it):

- classifier: AUC, precision and recall at the serving threshold, calibration error (10 equal-width
  bins) and calibration-in-the-large; regressor: MAE and RMSE;
- the same per group of the sensitive attribute, when the captured requests carry it;
- label drift: PSI and a chi-square test against the evaluation's labels (a classifier's two classes,
  a regressor's label bins, evaluate.py `label_profile`);
- the prediction-versus-label relationship: the least-squares slope of the label on the prediction
  and the mean residual (a calibrated model has slope 1 and residual 0; a changed concept does not).

It compares them with the evaluation baseline of the served package (evaluate.py's `evaluation.json`)
within the configured tolerances: a metric violates only when it is past its tolerance even at the
edge of its sampling noise (1.645 standard errors, one-sided 95%), so a small sample does not alarm on
chance (the drift job's "material and significant" rule). Below `--min-samples` labelled rows it
reports "insufficient labels" and never violates. Writes `quality.json` and `metric-data.json` (the
CloudWatch metric data, one datum per metric for this run); with `--publish` also puts them to CloudWatch.

Memory does not grow with the rows. Captured rows of the window and labels are read in chunks of
`--chunk-rows` and spilled to `--shards` files by a hash of the inference id (an external hash join:
a prediction and its label always land in the same shard); each shard is then joined on its own and
folded into a `Tally`, a summary of fixed size from which every metric and its standard error follow
(AUC over 100,000 score bins, the rest exactly). The number of shards grows with the input's size
(`SHARD_BYTES` of capture and labels per shard), so a shard holds about the same rows however many
the window has.

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
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from dataset import Spec, default_spec_path, load_spec
from scipy import stats

NAMESPACE = "mlops/quality"
CHUNK_ROWS = 50_000
"""Rows gathered before they are spilled to the shards."""
SHARD_BYTES = 16 * 1024 * 1024
"""Bytes of capture and label files per shard: the join holds one shard's rows at a time."""
EPSILON = 1e-4
SCORE_BINS = 100_000
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
PREDICTION_COLUMNS = ["inference_id", "prediction", "group", "inference_time"]
LABEL_COLUMNS = ["inference_id", "label", "event_time"]


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


def _record_rows(record: dict[str, Any], counts: CaptureCounts, spec: Spec) -> list[dict[str, Any]]:
    """The predicted rows of one capture record: id, score and (if the request carried it) the group."""
    capture = record["captureData"]
    requests = _csv_rows(_decode(capture["endpointInput"]))
    answers = _csv_rows(_decode(capture["endpointOutput"]))
    header = requests[0] if requests and spec.features[0] in [c.strip() for c in requests[0]] else None
    body = requests[1:] if header else requests
    if len(body) != len(answers):
        counts.undecodable += 1
        return []
    columns = [c.strip() for c in header] if header else []
    request_ids = [row[columns.index("inference_id")] for row in body] if "inference_id" in columns else None
    sensitive = spec.sensitive
    groups = [row[columns.index(sensitive)] for row in body] if sensitive and sensitive in columns else None
    fallback = _row_ids(record.get("eventMetadata", {}).get("inferenceId"), len(answers))
    rows = []
    for i, answer in enumerate(answers):
        inference_id = answer[0] if len(answer) > 1 else (request_ids[i] if request_ids else fallback[i])
        rows.append(
            {"inference_id": inference_id, "prediction": float(answer[-1]), "group": groups[i] if groups else None}
        )
    return rows


def _zeros(size: int) -> np.ndarray:
    return np.zeros(size, dtype=np.float64)


# --- tallies: what the job keeps of the joined rows, a summary whose size does not grow with the rows ---
# Tallies of disjoint rows add up, so the job folds one shard of the join at a time into them. Everything but
# AUC is exact from them. AUC is the Mann-Whitney statistic over `SCORE_BINS` score bins, a tie within a bin
# counting one half (as `roc_auc_score` counts exact ties): it differs from the exact value only by pairs of a
# positive and a negative within the same bin of width 1e-5 (tested against `roc_auc_score` on the whole frame).


@dataclass
class Tally:
    """The additive summary of joined (prediction, label) rows of one model kind."""

    classifier: bool
    threshold: float = 0.5
    label_edges: list[float] | None = None
    """Regressor: the baseline's label bins (evaluate.py `label_profile.edges`)."""
    rows: int = 0
    sums: np.ndarray = field(default_factory=lambda: _zeros(5))
    """Sum of prediction, label, prediction squared, prediction x label, label squared."""
    positives: np.ndarray = field(default_factory=lambda: _zeros(SCORE_BINS))
    negatives: np.ndarray = field(default_factory=lambda: _zeros(SCORE_BINS))
    confusion: np.ndarray = field(default_factory=lambda: _zeros(4))
    """True positives, false positives, false negatives, true negatives at the threshold."""
    calibration: np.ndarray = field(default_factory=lambda: _zeros(3 * CALIBRATION_BINS))
    """Rows, score sum and outcome sum of each calibration bin."""
    residuals: np.ndarray = field(default_factory=lambda: _zeros(3))
    """Sum of |r|, r squared and r to the fourth (regressor)."""
    label_counts: np.ndarray = field(default_factory=lambda: _zeros(0))

    def __post_init__(self) -> None:
        if not self.label_counts.size:
            self.label_counts = _zeros(2 if self.classifier else max(len(self.label_edges or []) - 1, 0))

    def empty(self) -> Tally:
        """A zero tally of the same kind, threshold and label bins."""
        return Tally(self.classifier, self.threshold, self.label_edges)

    def add(self, labels: np.ndarray, predictions: np.ndarray) -> None:
        """Fold these rows in."""
        y, p = labels.astype(float), predictions.astype(float)
        self.rows += len(y)
        self.sums += [p.sum(), y.sum(), (p * p).sum(), (p * y).sum(), (y * y).sum()]
        if self.classifier:
            self._add_classifier(y.astype(int), p)
        else:
            r = y - p
            self.residuals += [np.abs(r).sum(), (r * r).sum(), (r**4).sum()]
            if self.label_edges:
                edges = np.array(self.label_edges, dtype=float)
                counts, _ = np.histogram(np.clip(y, edges[0], edges[-1]), bins=edges)
                self.label_counts += counts

    def _add_classifier(self, y: np.ndarray, p: np.ndarray) -> None:
        which = np.clip((p * SCORE_BINS).astype(int), 0, SCORE_BINS - 1)
        self.positives += np.bincount(which[y == 1], minlength=SCORE_BINS)
        self.negatives += np.bincount(which[y == 0], minlength=SCORE_BINS)
        predicted = p >= self.threshold
        self.confusion += [
            (predicted & (y == 1)).sum(),
            (predicted & (y == 0)).sum(),
            (~predicted & (y == 1)).sum(),
            (~predicted & (y == 0)).sum(),
        ]
        edges = np.linspace(0.0, 1.0, CALIBRATION_BINS + 1)
        bins = np.clip(np.digitize(p, edges[1:-1]), 0, CALIBRATION_BINS - 1)
        self.calibration[:CALIBRATION_BINS] += np.bincount(bins, minlength=CALIBRATION_BINS)
        self.calibration[CALIBRATION_BINS : 2 * CALIBRATION_BINS] += np.bincount(
            bins, weights=p, minlength=CALIBRATION_BINS
        )
        self.calibration[2 * CALIBRATION_BINS :] += np.bincount(bins, weights=y, minlength=CALIBRATION_BINS)
        self.label_counts += [(y == 0).sum(), (y == 1).sum()]

    def merge(self, other: Tally) -> None:
        """Add another tally of disjoint rows."""
        self.rows += other.rows
        for name in ("sums", "positives", "negatives", "confusion", "calibration", "residuals", "label_counts"):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def auc(self) -> float:
        """Mann-Whitney AUC over the score bins (NaN with one class only)."""
        positives, negatives = self.positives.sum(), self.negatives.sum()
        if not positives or not negatives:
            return math.nan
        below = np.concatenate(([0.0], np.cumsum(self.negatives)[:-1]))
        wins = float((self.positives * (below + 0.5 * self.negatives)).sum())
        return wins / float(positives * negatives)

    def relationship(self) -> dict[str, float]:
        """Least-squares slope and intercept of the label on the prediction, and the mean residual."""
        n = max(self.rows, 1)
        sp, sy, spp, spy, _ = (float(v) for v in self.sums)
        spread = spp / n - (sp / n) ** 2
        slope = (spy / n - sp * sy / n / n) / spread if spread > 1e-12 else math.nan
        intercept = sy / n - slope * sp / n if spread > 1e-12 else math.nan
        return {"slope": slope, "intercept": intercept, "residual_mean": (sy - sp) / n}

    def calibration_bins(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Rows, mean score and outcome rate of each calibration bin (empty bins: zero rows)."""
        rows = self.calibration[:CALIBRATION_BINS]
        safe = np.maximum(rows, 1)
        return (
            rows,
            self.calibration[CALIBRATION_BINS : 2 * CALIBRATION_BINS] / safe,
            self.calibration[2 * CALIBRATION_BINS :] / safe,
        )

    def summary(self) -> dict[str, Any]:
        """Counts a report may show."""
        return {"rows": self.rows, "label_counts": self.label_counts.tolist()}


def capture_rows(path: str, window: Window, counts: CaptureCounts, spec: Spec) -> Iterator[dict[str, Any]]:
    """The predicted rows made inside `window`, from the capture files under `path`, a line at a time."""
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
                for row in _record_rows(record, counts, spec):
                    counts.rows_in_window += 1
                    if row["inference_id"] is None:
                        counts.rows_without_id += 1
                        continue
                    if row["group"] is not None:
                        counts.groups_captured = True
                    yield {**row, "inference_time": when.isoformat()}


def prediction_chunks(
    path: str, window: Window, counts: CaptureCounts, spec: Spec, chunk_rows: int = CHUNK_ROWS
) -> Iterator[pd.DataFrame]:
    """The window's predictions as frames of at most `chunk_rows` rows."""
    pending: list[dict[str, Any]] = []
    for row in capture_rows(path, window, counts, spec):
        pending.append(row)
        if len(pending) >= chunk_rows:
            yield pd.DataFrame(pending, columns=PREDICTION_COLUMNS)
            pending = []
    if pending:
        yield pd.DataFrame(pending, columns=PREDICTION_COLUMNS)


def label_chunks(path: str, until: datetime, chunk_rows: int = CHUNK_ROWS) -> Iterator[pd.DataFrame]:
    """Labels (JSON lines or CSV: inference_id, label, event_time) that arrived by `until`, in chunks."""
    for file in _files(path, ".jsonl", ".csv"):
        reader: Any = (
            pd.read_csv(file, dtype={"inference_id": str}, chunksize=chunk_rows)
            if file.endswith(".csv")
            else pd.read_json(file, lines=True, dtype={"inference_id": str}, chunksize=chunk_rows)
        )
        with reader as parts:
            for part in parts:
                times = pd.to_datetime(part["event_time"], utc=True, format="ISO8601")
                kept = part.assign(event_time=times, inference_id=part["inference_id"].astype(str))
                yield kept[kept["event_time"] <= pd.Timestamp(until)][LABEL_COLUMNS]


def latest_predictions(frame: pd.DataFrame) -> pd.DataFrame:
    """The same request captured twice (a retried upload) counts once."""
    return frame.drop_duplicates("inference_id", keep="last").reset_index(drop=True)


def latest_labels(frame: pd.DataFrame) -> pd.DataFrame:
    """A corrected label (a later event time) replaces the earlier one."""
    return frame.sort_values("event_time", kind="stable").drop_duplicates("inference_id", keep="last")


def read_predictions(
    path: str, window: Window, spec: Spec, chunk_rows: int = CHUNK_ROWS
) -> tuple[pd.DataFrame, CaptureCounts]:
    """The window's predictions as one frame (small captures: the demo and tests; the job uses shards)."""
    counts = CaptureCounts()
    chunks = list(prediction_chunks(path, window, counts, spec, chunk_rows))
    frame = pd.concat(chunks, ignore_index=True) if chunks else pd.DataFrame(columns=PREDICTION_COLUMNS)
    return latest_predictions(frame), counts


def read_labels(path: str, until: datetime, chunk_rows: int = CHUNK_ROWS) -> pd.DataFrame:
    """Labels that arrived by `until` as one frame, the latest per id."""
    chunks = list(label_chunks(path, until, chunk_rows))
    if not chunks:
        return pd.DataFrame(columns=LABEL_COLUMNS)
    return latest_labels(pd.concat(chunks, ignore_index=True)).reset_index(drop=True)


def shard_count(*paths: str, shard_bytes: int = SHARD_BYTES) -> int:
    """Shards enough that each holds about `shard_bytes` of the inputs under `paths`."""
    size = sum(os.path.getsize(f) for path in paths for f in _files(path, ".jsonl", ".csv"))
    return max(1, math.ceil(size / shard_bytes))


def _spill(chunks: Iterator[pd.DataFrame], folder: str, prefix: str, shards: int) -> None:
    """Append each chunk's rows to `<folder>/<prefix>-<shard>.csv` by a stable hash of the inference id."""
    for chunk in chunks:
        if chunk.empty:
            continue
        which = pd.util.hash_pandas_object(chunk["inference_id"], index=False).to_numpy() % shards
        for shard in np.unique(which):
            target = os.path.join(folder, f"{prefix}-{shard}.csv")
            chunk[which == shard].to_csv(target, mode="a", header=not os.path.exists(target), index=False)


def _read_shard(folder: str, prefix: str, shard: int, columns: list[str]) -> pd.DataFrame:
    path = os.path.join(folder, f"{prefix}-{shard}.csv")
    if not os.path.exists(path):
        return pd.DataFrame(columns=columns)
    return pd.read_csv(path, dtype={"inference_id": str, "group": str})


@dataclass
class Joined:
    """The join of a window's predictions with its labels, as tallies: overall and per group."""

    overall: Tally
    groups: dict[str, Tally] = field(default_factory=dict)
    predictions: int = 0
    unmatched_labels: int = 0

    def add(self, predictions: pd.DataFrame, labels: pd.DataFrame) -> None:
        """Fold one shard (every prediction and label of its ids) in."""
        self.predictions += len(predictions)
        self.unmatched_labels += int((~labels["inference_id"].isin(predictions["inference_id"])).sum())
        joined = predictions.merge(labels[["inference_id", "label"]], on="inference_id", how="inner")
        if joined.empty:
            return
        y, p = joined["label"].to_numpy(dtype=float), joined["prediction"].to_numpy(dtype=float)
        self.overall.add(y, p)
        for name, part in joined.dropna(subset=["group"]).groupby("group"):
            tally = self.groups.setdefault(str(name), self.overall.empty())
            tally.add(part["label"].to_numpy(dtype=float), part["prediction"].to_numpy(dtype=float))


def tally_of(spec: Spec, baseline: dict[str, Any], threshold: float) -> Tally:
    """An empty tally for the project's model kind, with the baseline's label bins for a regressor."""
    profile = baseline.get("label_profile") or {}
    return Tally(spec.is_classifier, threshold, None if spec.is_classifier else profile.get("edges"))


def join_sharded(
    capture: str,
    labels: str,
    window: Window,
    spec: Spec,
    empty: Tally,
    *,
    shards: int,
    chunk_rows: int = CHUNK_ROWS,
) -> tuple[Joined, CaptureCounts]:
    """The window's predictions joined with their labels, one hash shard at a time (spilled to a temp folder)."""
    counts = CaptureCounts()
    joined = Joined(overall=empty)
    folder = tempfile.mkdtemp(prefix="quality-")
    try:
        _spill(prediction_chunks(capture, window, counts, spec, chunk_rows), folder, "predictions", shards)
        _spill(label_chunks(labels, window.labels_until, chunk_rows), folder, "labels", shards)
        for shard in range(shards):
            predictions = latest_predictions(_read_shard(folder, "predictions", shard, PREDICTION_COLUMNS))
            arrived = _read_shard(folder, "labels", shard, LABEL_COLUMNS)
            if not arrived.empty:
                arrived = latest_labels(arrived.assign(event_time=pd.to_datetime(arrived["event_time"], utc=True)))
            joined.add(predictions, arrived)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return joined, counts


def _binomial(share: float, count: int) -> float:
    """Agresti-Coull standard error of a share: two successes and two failures added, so 0/n is not certain."""
    adjusted = (share * count + 2) / (count + 4)
    return math.sqrt(adjusted * (1 - adjusted) / (count + 4))


def calibration_error(tally: Tally) -> float:
    """Expected calibration error: the share-weighted gap between mean score and outcome rate per bin."""
    rows, scores, outcomes = tally.calibration_bins()
    total = max(float(rows.sum()), 1.0)
    return float((rows / total * np.abs(scores - outcomes)).sum())


def classifier_metrics(tally: Tally) -> dict[str, float]:
    """AUC (NaN with one class only), precision and recall at the threshold, calibration."""
    tp, fp, fn, _ = (float(v) for v in tally.confusion)
    n = max(tally.rows, 1)
    sp, sy = float(tally.sums[0]), float(tally.sums[1])
    return {
        "auc": tally.auc(),
        "precision": tp / (tp + fp) if tp + fp else 0.0,
        "recall": tp / (tp + fn) if tp + fn else 0.0,
        "calibration_error": calibration_error(tally),
        "calibration_in_the_large": (sp - sy) / n,
        "positive_rate": sy / n,
        "predicted_positive_rate": (tp + fp) / n,
    }


def classifier_errors(tally: Tally) -> dict[str, float]:
    """Standard errors of the classifier's metrics from their counts.

    AUC: Hanley and McNeil (1982, Radiology 143:29, equation 2); precision and recall: binomial over the
    predicted and the actual positives; calibration error: the share-weighted binomial error of the
    bins' outcome rates (the error a perfectly calibrated model shows on this many rows).
    """
    tp, fp, fn, _ = (float(v) for v in tally.confusion)
    negatives, positives = (int(v) for v in tally.label_counts)
    errors = {
        "precision": _binomial(tp / (tp + fp) if tp + fp else 0.0, int(tp + fp)),
        "recall": _binomial(tp / (tp + fn) if tp + fn else 0.0, int(tp + fn)),
        "auc": math.inf,
    }
    if positives and negatives:
        a = tally.auc()
        q1, q2 = a / (2 - a), 2 * a * a / (1 + a)
        variance = (a * (1 - a) + (positives - 1) * (q1 - a * a) + (negatives - 1) * (q2 - a * a)) / (
            positives * negatives
        )
        errors["auc"] = math.sqrt(max(variance, 0.0))
    rows, scores, _ = tally.calibration_bins()
    total = max(float(rows.sum()), 1.0)
    errors["calibration_error"] = float(
        sum(rows[b] / total * _binomial(float(scores[b]), int(rows[b])) for b in range(CALIBRATION_BINS) if rows[b])
    )
    return errors


def regressor_metrics(tally: Tally) -> dict[str, float]:
    """Mean absolute and root mean squared error."""
    n = max(tally.rows, 1)
    return {"mae": float(tally.residuals[0]) / n, "rmse": math.sqrt(float(tally.residuals[1]) / n)}


def regressor_errors(tally: Tally) -> dict[str, float]:
    """Standard errors of MAE (of the mean absolute error) and RMSE (delta method on the mean squared error)."""
    n = tally.rows
    if n < 2:
        return {"mae": math.inf, "rmse": math.inf}
    absolute, squared, fourth = (float(v) for v in tally.residuals)
    abs_variance = max((squared - absolute * absolute / n) / (n - 1), 0.0)
    sq_variance = max((fourth - squared * squared / n) / (n - 1), 0.0)
    rmse = math.sqrt(squared / n)
    return {
        "mae": math.sqrt(abs_variance / n),
        "rmse": math.sqrt(sq_variance / n) / (2 * rmse) if rmse > 0 else math.inf,
    }


def _psi(expected: list[float], actual: list[float]) -> float:
    total = 0.0
    for expected_share, actual_share in zip(expected, actual, strict=True):
        e, a = max(expected_share, EPSILON), max(actual_share, EPSILON)
        total += (a - e) * math.log(a / e)
    return total


def label_drift(baseline: dict[str, Any], tally: Tally) -> dict[str, Any]:
    """The labels' distribution against the evaluation's: PSI and a chi-square goodness-of-fit test."""
    counts = [float(v) for v in tally.label_counts]
    rows = max(sum(counts), 1.0)
    if tally.classifier:
        matrix = baseline["binary_classification_metrics"]["confusion_matrix"]
        negatives = matrix["0"]["0"] + matrix["0"]["1"]
        positives = matrix["1"]["0"] + matrix["1"]["1"]
        expected = [negatives / (negatives + positives), positives / (negatives + positives)]
    else:
        profile = baseline.get("label_profile")
        if not profile or not counts:
            return {"psi": math.nan, "test": "none", "p_value": math.nan, "note": "the baseline has no label profile"}
        expected = [float(share) for share in profile["shares"]]
    actual = [count / rows for count in counts]
    floor = [max(share, EPSILON) for share in expected]
    test = stats.chisquare(counts, [share / sum(floor) * rows for share in floor])
    drift: dict[str, Any] = {"psi": _psi(expected, actual), "test": "chi-square", "p_value": float(test.pvalue)}
    if tally.classifier:
        drift |= {"baseline_positive_rate": expected[1], "positive_rate": actual[1]}
    return drift


def metrics_of(tally: Tally) -> tuple[dict[str, float], dict[str, float]]:
    """The metrics of a tally and their standard errors."""
    if tally.classifier:
        return classifier_metrics(tally), classifier_errors(tally)
    return regressor_metrics(tally), regressor_errors(tally)


def baseline_metrics(baseline: dict[str, Any]) -> dict[str, float]:
    """The evaluation's metric values (evaluate.py's `metrics.<name>.value`)."""
    return {name: float(entry["value"]) for name, entry in baseline.get("metrics", {}).items()}


def _violations(report: dict[str, Any], reference: dict[str, float], tolerances: dict[str, float]) -> list[str]:
    """What is past its tolerance even at the edge of its sampling noise (`Z` standard errors)."""
    found = []
    errors = report["standard_errors"]
    for name, value in report["metrics"].items():
        if name not in reference or math.isnan(value):
            continue
        allowed, noise = tolerances.get(name, math.inf), Z * errors.get(name, math.inf)
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
    gap_metric = "recall" if report["problem"] == "classifier" else "mae"
    judged = [g for g in report["groups"].values() if not math.isnan(g[gap_metric])]
    if len(judged) > 1:
        low = min(judged, key=lambda g: g[gap_metric])
        high = max(judged, key=lambda g: g[gap_metric])
        gap = high[gap_metric] - low[gap_metric]
        noise = Z * math.hypot(low["standard_errors"][gap_metric], high["standard_errors"][gap_metric])
        if gap - noise > tolerances["group_gap"]:
            found.append(f"{gap_metric} differs by {gap:.4f} between groups (sampling noise {noise:.4f})")
    return found


def judge(
    joined: Joined, baseline: dict[str, Any], *, min_samples: int, tolerances: dict[str, float] | None = None
) -> dict[str, Any]:
    """The quality report of a window's joined tallies."""
    limits = {**DEFAULT_TOLERANCES, **(tolerances or {})}
    tally = joined.overall
    report: dict[str, Any] = {
        "problem": "classifier" if tally.classifier else "regressor",
        "predictions": joined.predictions,
        "labelled": tally.rows,
        "label_coverage": tally.rows / joined.predictions if joined.predictions else 0.0,
        "unmatched_labels": joined.unmatched_labels,
        "min_samples": min_samples,
        "threshold": tally.threshold,
        "tolerances": limits,
        "baseline": baseline_metrics(baseline),
    }
    if tally.rows < min_samples:
        return report | {
            "status": "insufficient labels",
            "metrics": {},
            "groups": {},
            "violations": [],
            "reason": f"{tally.rows} labelled predictions, fewer than the minimum {min_samples}: not judged",
        }
    metrics, errors = metrics_of(tally)
    groups = {}
    for name, part in sorted(joined.groups.items()):
        group_metrics, group_errors = metrics_of(part)
        groups[name] = {"rows": float(part.rows), **group_metrics, "standard_errors": group_errors}
    report |= {
        "metrics": metrics,
        "standard_errors": errors,
        "relationship": tally.relationship(),
        "label_drift": label_drift(baseline, tally),
        "groups": groups,
    }
    report["violations"] = _violations(report, report["baseline"], limits)
    report["status"] = "violated" if report["violations"] else "ok"
    report["reason"] = "; ".join(report["violations"]) or "within the tolerances of the baseline"
    return report


def measure(
    predictions: pd.DataFrame,
    labels: pd.DataFrame,
    baseline: dict[str, Any],
    *,
    spec: Spec,
    threshold: float = 0.5,
    min_samples: int = 200,
    tolerances: dict[str, float] | None = None,
) -> dict[str, Any]:
    """The quality report of predictions and labels held as frames (one shard: what the job does per shard)."""
    joined = Joined(overall=tally_of(spec, baseline, threshold))
    joined.add(latest_predictions(predictions), latest_labels(labels) if len(labels) else labels)
    return judge(joined, baseline, min_samples=min_samples, tolerances=tolerances)


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
    command.add_argument("--project-spec", default=default_spec_path(), help="the project's project.json")
    command.add_argument("--threshold", type=float, default=0.5, help="the serving threshold of a classifier")
    command.add_argument("--window-hours", type=float, default=24.0)
    command.add_argument("--delay-hours", type=float, default=48.0, help="how long labels may take to arrive")
    command.add_argument("--min-samples", type=int, default=200)
    command.add_argument("--tolerance", action="append", default=[], metavar="NAME=VALUE")
    command.add_argument("--now", default="", help="the run's time (ISO-8601); default: the clock")
    command.add_argument("--endpoint", default="")
    command.add_argument("--region", default=os.environ.get("AWS_REGION", ""))
    command.add_argument("--publish", action="store_true", help="put the metrics to CloudWatch")
    command.add_argument("--chunk-rows", type=int, default=CHUNK_ROWS, help="rows read and spilled at a time")
    command.add_argument("--shards", type=int, default=0, help="hash shards of the join; 0: by the inputs' size")
    return command


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the step and write `<output>/quality.json` and `<output>/metric-data.json`."""
    command = parser()
    args = command.parse_args(argv)
    if args.chunk_rows < 1 or args.shards < 0:
        command.error(f"--chunk-rows must be at least 1 and --shards at least 0, not {args.chunk_rows}, {args.shards}")
    now = parse_time(args.now) if args.now else datetime.now(UTC)
    window = Window.ending(now, args.window_hours, args.delay_hours)
    baseline_path = args.baseline or baseline_of_package(args.model_package_arn, args.region, args.output)
    with open(baseline_path, encoding="utf-8") as handle:
        baseline = json.load(handle)
    spec = load_spec(args.project_spec)
    joined, counts = join_sharded(
        args.capture, args.labels, window, spec, tally_of(spec, baseline, args.threshold),
        shards=args.shards or shard_count(args.capture, args.labels), chunk_rows=args.chunk_rows,
    )  # fmt: skip
    report = judge(joined, baseline, min_samples=args.min_samples, tolerances=_tolerances(args.tolerance))
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
