"""Drift step: compare what the endpoint received with the training baseline, feature by feature.

Numeric features: population stability index (PSI) over the baseline's decile bins, and a
two-sample Kolmogorov-Smirnov test against the baseline sample. Categorical features: PSI over the
categories and a chi-square goodness-of-fit test against the baseline shares. A feature drifts when
its shift is both material (PSI above the threshold) and significant (p below the level), so a
large, stable sample does not alarm on noise and a tiny one does not alarm on chance.

Inputs are SageMaker data-capture files (JSON lines) or CSV; the baseline comes from a file or from
the model package the endpoint serves (its drift-check baseline). Writes `drift.json`; with
`--publish` also puts per-feature PSI and the number of drifted features to CloudWatch.

The job reads its inputs in chunks of `--chunk-rows` rows and keeps only tallies between them (bin and
category counts, and for the KS test the counts of values at or below each baseline sample point), so
its memory does not grow with the rows it reads. The report equals `detect` on the whole frame at once:
histogram and category counts add up exactly; the KS statistic is the largest gap between the two
empirical CDFs, which (the baseline's CDF being a step function of its sample) is reached at a sample
point or just below one, so those counts determine it. Up to `EXACT_KS_ROWS` values the job keeps them
and calls `ks_2samp` itself (its exact p-value); beyond, `ks_2samp` uses Smirnov's asymptotic
distribution `kstwo.sf(d, round(n*m/(n+m)))`, which the job evaluates the same way (scipy 1.18.0
`scipy/stats/_stats_py.py`, `ks_2samp` and `_ks_2samp_prob`, the version the sklearn 1.9-0 image ships).
"""

from __future__ import annotations

import argparse
import glob
import io
import json
import math
import os
import socket
from collections import Counter
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np
import pandas as pd
from dataset import Spec, default_spec_path, load_spec
from scipy import stats

EPSILON = 1e-4
"""Floor of a bin share, so an empty bin does not make PSI infinite."""
NAMESPACE = "mlops/drift"
CHUNK_ROWS = 50_000
"""Rows read at a time: memory is bounded by a chunk, not by the capture."""
EXACT_KS_ROWS = 10_000
"""`ks_2samp`'s `MAX_AUTO_N`: up to this many values per sample its p-value is exact, beyond asymptotic."""
RESOURCE_CONFIG = "/opt/ml/config/resourceconfig.json"
"""SageMaker writes each processing instance's `current_host` and the cluster's `hosts` here (developer guide,
"How Amazon SageMaker Processing Configures Your Processing Container")."""
"""Categories are read as written (`01` stays `01`), whatever the values of a chunk look like."""


def psi(expected: list[float], actual: list[float]) -> float:
    """Population stability index of two share vectors over the same bins."""
    total = 0.0
    for expected_share, actual_share in zip(expected, actual, strict=True):
        e, a = max(expected_share, EPSILON), max(actual_share, EPSILON)
        total += (a - e) * math.log(a / e)
    return total


def numeric_drift(profile: dict[str, Any], values: pd.Series) -> dict[str, Any]:
    """PSI over the baseline's bins and the KS test against its sample."""
    clean = values.dropna().astype(float).to_numpy()
    edges = np.array(profile["edges"], dtype=float)
    inner = np.clip(clean, edges[0], edges[-1])  # values beyond the baseline's range fall in its edge bins
    counts, _ = np.histogram(inner, bins=edges)
    shares = (counts / max(len(clean), 1)).tolist()
    test = stats.ks_2samp(clean, np.array(profile["sample"], dtype=float))
    return {
        "psi": psi(profile["shares"], shares),
        "test": "ks",
        "statistic": float(test.statistic),
        "p_value": float(test.pvalue),
    }


def categorical_drift(profile: dict[str, Any], values: pd.Series) -> dict[str, Any]:
    """PSI over the categories (unseen ones included) and the chi-square test against baseline shares."""
    return category_drift(profile, values.fillna("<missing>").astype(str).value_counts().to_dict())


def category_drift(profile: dict[str, Any], observed: dict[str, int]) -> dict[str, Any]:
    """`categorical_drift` of the category counts `observed`."""
    categories = sorted(set(profile["shares"]) | set(observed))
    expected_shares = [max(profile["shares"].get(c, 0.0), EPSILON) for c in categories]
    scale = sum(expected_shares)
    expected_shares = [share / scale for share in expected_shares]
    counts = [int(observed.get(c, 0)) for c in categories]
    total = sum(counts)
    actual_shares = [count / max(total, 1) for count in counts]
    test = stats.chisquare(counts, [share * total for share in expected_shares])
    return {
        "psi": psi(expected_shares, actual_shares),
        "test": "chi-square",
        "statistic": float(test.statistic),
        "p_value": float(test.pvalue),
    }


def detect(
    baseline: dict[str, Any], frame: pd.DataFrame, psi_threshold: float, p_value: float, spec: Spec
) -> dict[str, Any]:
    """The drift report of `frame` against `baseline`, from the whole frame at once (the chunked job equals it)."""
    features = {}
    for name in spec.features:
        profile = baseline["features"][name]
        features[name] = (
            numeric_drift(profile, frame[name]) if name in spec.numeric else categorical_drift(profile, frame[name])
        )
    return _report(features, len(frame), psi_threshold, p_value)


def _report(features: dict[str, dict[str, Any]], rows: int, psi_threshold: float, p_value: float) -> dict[str, Any]:
    for result in features.values():
        result["drifted"] = result["psi"] > psi_threshold and result["p_value"] < p_value
    drifted = sorted(name for name, result in features.items() if result["drifted"])
    return {
        "rows": rows,
        "thresholds": {"psi": psi_threshold, "p_value": p_value},
        "drifted_features": drifted,
        "features": features,
    }


class NumericTally:
    """What a numeric feature's drift needs of the rows seen so far: bin counts and the ECDF at the sample points."""

    def __init__(self, profile: dict[str, Any]) -> None:
        self.edges = np.array(profile["edges"], dtype=float)
        self.sample = np.sort(np.array(profile["sample"], dtype=float))
        self.points = np.unique(self.sample)
        self.bins = np.zeros(len(self.edges) - 1, dtype=np.int64)
        self.at_or_below = np.zeros(len(self.points), dtype=np.int64)
        self.below = np.zeros(len(self.points), dtype=np.int64)
        self.rows = 0
        self.kept: list[np.ndarray] | None = []
        """The values themselves while there are few enough for the exact test; None beyond."""

    def add(self, values: pd.Series) -> None:
        """Count one chunk's values."""
        clean = values.dropna().astype(float).to_numpy()
        counts, _ = np.histogram(np.clip(clean, self.edges[0], self.edges[-1]), bins=self.edges)
        self.bins += counts
        ordered = np.sort(clean)
        self.at_or_below += np.searchsorted(ordered, self.points, side="right")
        self.below += np.searchsorted(ordered, self.points, side="left")
        self.rows += len(clean)
        if self.kept is not None:
            self.kept.append(clean)
            if self.rows > EXACT_KS_ROWS:
                self.kept = None

    def merge(self, other: NumericTally) -> None:
        """Add the counts of another shard of the rows (the values too while both kept theirs and few enough)."""
        self.bins += other.bins
        self.at_or_below += other.at_or_below
        self.below += other.below
        self.rows += other.rows
        if self.kept is not None and other.kept is not None and self.rows <= EXACT_KS_ROWS:
            self.kept.extend(other.kept)
        else:
            self.kept = None

    def state(self) -> dict[str, Any]:
        """The tally as JSON data (floats keep every bit through `json`)."""
        return {
            "rows": self.rows,
            "bins": self.bins.tolist(),
            "at_or_below": self.at_or_below.tolist(),
            "below": self.below.tolist(),
            "kept": None if self.kept is None else [float(v) for part in self.kept for v in part.tolist()],
        }

    def load(self, state: dict[str, Any]) -> None:
        """Set the tally from `state()` of the same baseline."""
        self.rows = int(state["rows"])
        self.bins = np.array(state["bins"], dtype=np.int64)
        self.at_or_below = np.array(state["at_or_below"], dtype=np.int64)
        self.below = np.array(state["below"], dtype=np.int64)
        self.kept = None if state["kept"] is None else [np.array(state["kept"], dtype=float)]

    def result(self, profile: dict[str, Any]) -> dict[str, Any]:
        """PSI over the baseline's bins and the KS test against its sample, as `numeric_drift` computes them."""
        shares = (self.bins / max(self.rows, 1)).tolist()
        if self.kept is not None:
            test = stats.ks_2samp(np.concatenate(self.kept) if self.kept else np.array([]), self.sample)
            statistic, p_value = float(test.statistic), float(test.pvalue)
        else:
            statistic = self._statistic()
            m, n = sorted([float(self.rows), float(len(self.sample))], reverse=True)
            p_value = float(np.clip(stats.kstwo.sf(statistic, np.round(m * n / (m + n))), 0, 1))
        return {"psi": psi(profile["shares"], shares), "test": "ks", "statistic": statistic, "p_value": p_value}

    def _statistic(self) -> float:
        """The two-sided KS statistic from the counts, in `ks_2samp`'s arithmetic (ECDF values k * (1/n))."""
        size = len(self.sample)
        sample_at_or_below = np.searchsorted(self.sample, self.points, side="right")
        sample_below = np.searchsorted(self.sample, self.points, side="left")
        gaps = np.concatenate(
            [
                _ecdf(self.at_or_below, self.rows) - _ecdf(sample_at_or_below, size),
                _ecdf(self.below, self.rows) - _ecdf(sample_below, size),
                [0.0],  # at the largest value both ECDFs are 1
            ]
        )
        largest, smallest = float(gaps.max()), min(max(-float(gaps.min()), 0.0), 1.0)
        return smallest if smallest > largest else largest


def _ecdf(counts: np.ndarray, total: int) -> np.ndarray:
    """ECDF values as `ks_2samp` forms them: `np.linspace(0, 1, total + 1)[counts]`, without the array."""
    return np.where(counts == total, 1.0, counts.astype(float) * (1.0 / total))


class CategoricalTally:
    """Category counts of the rows seen so far."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    def add(self, values: pd.Series) -> None:
        """Count one chunk's values."""
        self.counts.update(values.fillna("<missing>").astype(str).value_counts().to_dict())

    def merge(self, other: CategoricalTally) -> None:
        """Add the counts of another shard of the rows."""
        self.counts.update(other.counts)

    def state(self) -> dict[str, Any]:
        """The tally as JSON data."""
        return {"counts": {category: int(count) for category, count in sorted(self.counts.items())}}

    def load(self, state: dict[str, Any]) -> None:
        """Set the tally from `state()`."""
        self.counts = Counter({str(category): int(count) for category, count in state["counts"].items()})

    def result(self, profile: dict[str, Any]) -> dict[str, Any]:
        """PSI and the chi-square test, as `categorical_drift` computes them."""
        return category_drift(profile, dict(self.counts))


Tally = NumericTally | CategoricalTally


def empty_tallies(baseline: dict[str, Any], spec: Spec) -> dict[str, Tally]:
    """One empty tally per input of the model."""
    return {
        name: NumericTally(baseline["features"][name]) if name in spec.numeric else CategoricalTally()
        for name in spec.features
    }


def tally_chunks(baseline: dict[str, Any], chunks: Iterable[pd.DataFrame], spec: Spec) -> tuple[dict[str, Tally], int]:
    """Every input's tally of the rows of `chunks`, read one chunk at a time, and the number of rows."""
    tallies = empty_tallies(baseline, spec)
    rows = 0
    for chunk in chunks:
        rows += len(chunk)
        for name, tally in tallies.items():
            tally.add(chunk[name])
    return tallies, rows


def report_of(
    baseline: dict[str, Any], tallies: dict[str, Tally], rows: int, psi_threshold: float, p_value: float
) -> dict[str, Any]:
    """The drift report of tallied rows."""
    features = {name: tally.result(baseline["features"][name]) for name, tally in tallies.items()}
    return _report(features, rows, psi_threshold, p_value)


def detect_chunks(
    baseline: dict[str, Any], chunks: Iterable[pd.DataFrame], psi_threshold: float, p_value: float, spec: Spec
) -> dict[str, Any]:
    """The drift report of the rows of `chunks`, read one chunk at a time; equal to `detect` on them all."""
    tallies, rows = tally_chunks(baseline, chunks, spec)
    return report_of(baseline, tallies, rows, psi_threshold, p_value)


def write_tally(tallies: dict[str, Tally], rows: int, folder: str) -> str:
    """Save one instance's tallies as `tally-<host>.json` (every instance uploads to the same prefix)."""
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, f"tally-{current_host()}.json")
    with open(path, "w", encoding="utf-8") as handle:
        json.dump({"rows": rows, "features": {name: tally.state() for name, tally in tallies.items()}}, handle)
    return path


def merge_tallies(baseline: dict[str, Any], folder: str, spec: Spec) -> tuple[dict[str, Tally], int]:
    """The sum of every `tally-*.json` under `folder` (one per instance of the sharded job)."""
    files = sorted(glob.glob(os.path.join(folder, "**", "tally-*.json"), recursive=True))
    if not files:
        raise FileNotFoundError(f"no tally-*.json under {folder}: did the sharded drift step run?")
    merged, rows = empty_tallies(baseline, spec), 0
    for file in files:
        with open(file, encoding="utf-8") as handle:
            saved = json.load(handle)
        rows += int(saved["rows"])
        for name, tally in merged.items():
            if isinstance(tally, NumericTally):
                numeric = NumericTally(baseline["features"][name])
                numeric.load(saved["features"][name])
                tally.merge(numeric)
            else:
                categorical = CategoricalTally()
                categorical.load(saved["features"][name])
                tally.merge(categorical)
    return merged, rows


def current_host() -> str:
    """The name of the instance running the job in its processing cluster (`algo-1`...), from its resource config."""
    try:
        with open(RESOURCE_CONFIG, encoding="utf-8") as handle:
            return str(json.load(handle)["current_host"])
    except (OSError, ValueError, KeyError):
        return socket.gethostname()


def read_capture(path: str, spec: Spec, chunk_rows: int = CHUNK_ROWS) -> Iterator[pd.DataFrame]:
    """The request rows (the model's inputs) of SageMaker data-capture files under `path`, or CSV files, in chunks."""
    files = sorted(glob.glob(os.path.join(path, "**", "*.jsonl"), recursive=True)) if os.path.isdir(path) else []
    if files:
        yield from _capture_chunks(files, path, chunk_rows, spec)
        return
    csvs = [path] if os.path.isfile(path) else sorted(glob.glob(os.path.join(path, "**", "*.csv"), recursive=True))
    if not csvs:
        raise FileNotFoundError(f"no CSV files under {path}")
    for file in csvs:
        with pd.read_csv(file, chunksize=chunk_rows, dtype=_text(spec)) as reader:
            yield from reader


def _text(spec: Spec) -> dict[str, type]:
    """The categorical inputs, read as text whatever they look like."""
    return {name: str for name in spec.categorical}


def _capture_chunks(files: list[str], path: str, chunk_rows: int, spec: Spec) -> Iterator[pd.DataFrame]:
    """Requests' CSV bodies, gathered into one `read_csv` per chunk (one per request would dominate the job)."""
    features = spec.features
    columns: list[str] = features
    bodies: list[str] = []
    rows = 0
    found = False
    for file in files:
        with open(file, encoding="utf-8") as handle:
            for line in handle:
                data = json.loads(line)["captureData"]["endpointInput"]
                if data.get("encoding", "CSV").upper() != "CSV":
                    continue
                found = True
                text = data["data"]
                first, _, rest = text.partition("\n")
                header = first.split(",")[0].strip() == features[0]
                names, body = ([name.strip() for name in first.split(",")], rest) if header else (features, text)
                body = body.strip("\n")
                if names != columns or rows >= chunk_rows:
                    if bodies:
                        yield _frame(bodies, columns, spec)
                    bodies, rows, columns = [], 0, names
                if body:
                    bodies.append(body)
                    rows += body.count("\n") + 1
    if not found:
        raise ValueError(f"no CSV requests in the capture files under {path}")
    if bodies:
        yield _frame(bodies, columns, spec)


def _frame(bodies: list[str], columns: list[str], spec: Spec) -> pd.DataFrame:
    frame = pd.read_csv(io.StringIO("\n".join(bodies)), header=None, names=columns, dtype=_text(spec))
    return frame[spec.features]


def _has_files(path: str) -> bool:
    return os.path.isfile(path) or any(files for _, _, files in os.walk(path))


def baseline_of_package(arn: str, region: str, target: str) -> str:
    """Download the drift-check baseline attached to model package `arn`; returns the local path."""
    import boto3

    package = boto3.client("sagemaker", region_name=region).describe_model_package(ModelPackageName=arn)
    uri = package["DriftCheckBaselines"]["ModelDataQuality"]["Statistics"]["S3Uri"]
    bucket, key = uri.removeprefix("s3://").split("/", 1)
    os.makedirs(target, exist_ok=True)
    local = os.path.join(target, "baseline.json")
    boto3.client("s3", region_name=region).download_file(bucket, key, local)
    return local


def publish(report: dict[str, Any], endpoint: str, region: str) -> None:
    """Per-feature PSI and the drifted-feature count, as CloudWatch metrics the drift alarm watches."""
    import boto3

    dimensions = [{"Name": "Endpoint", "Value": endpoint}]
    data = [
        {
            "MetricName": "DriftedFeatures",
            "Dimensions": dimensions,
            "Value": len(report["drifted_features"]),
            "Unit": "Count",
        }
    ]
    data += [
        {
            "MetricName": "PSI",
            "Dimensions": [*dimensions, {"Name": "Feature", "Value": name}],
            "Value": result["psi"],
            "Unit": "None",
        }
        for name, result in report["features"].items()
    ]
    boto3.client("cloudwatch", region_name=region).put_metric_data(Namespace=NAMESPACE, MetricData=data)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the step and write `<output>/drift.json`."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--capture", default="/opt/ml/processing/input/capture")
    parser.add_argument("--baseline", default="", help="baseline.json; default: the model package's")
    parser.add_argument("--model-package-arn", default="")
    parser.add_argument("--output", default="/opt/ml/processing/drift")
    parser.add_argument("--psi-threshold", type=float, default=0.2)
    parser.add_argument("--p-value", type=float, default=0.01)
    parser.add_argument("--endpoint", default="")
    parser.add_argument("--region", default=os.environ.get("AWS_REGION", ""))
    parser.add_argument("--publish", action="store_true", help="put the metrics to CloudWatch")
    parser.add_argument("--chunk-rows", type=int, default=CHUNK_ROWS, help="rows read at a time")
    shards = parser.add_mutually_exclusive_group()
    shards.add_argument("--tally-output", default="", help="sharded job: write this instance's tally here, no report")
    shards.add_argument("--tallies", default="", help="merge the sharded job's tallies under this folder")
    parser.add_argument("--project-spec", default=default_spec_path(), help="the project's project.json")
    args = parser.parse_args(argv)
    spec = load_spec(args.project_spec)
    if args.chunk_rows < 1:
        parser.error(f"--chunk-rows must be at least 1, not {args.chunk_rows}")
    baseline_path = args.baseline or baseline_of_package(args.model_package_arn, args.region, args.output)
    with open(baseline_path, encoding="utf-8") as handle:
        baseline = json.load(handle)
    if args.tally_output:
        # ShardedByS3Key gives an instance no files when there are fewer files than instances
        chunks = read_capture(args.capture, spec, args.chunk_rows) if _has_files(args.capture) else iter(())
        tallies, rows = tally_chunks(baseline, chunks, spec)
        print(f"drift: {rows} rows tallied in {write_tally(tallies, rows, args.tally_output)}")
        return {"rows": rows}
    tallies, rows = (
        merge_tallies(baseline, args.tallies, spec)
        if args.tallies
        else tally_chunks(baseline, read_capture(args.capture, spec, args.chunk_rows), spec)
    )
    report = report_of(baseline, tallies, rows, args.psi_threshold, args.p_value)
    os.makedirs(args.output, exist_ok=True)
    with open(os.path.join(args.output, "drift.json"), "w", encoding="utf-8") as handle:
        json.dump(report, handle, indent=2, sort_keys=True)
    if args.publish:
        publish(report, args.endpoint, args.region)
    drifted = ", ".join(report["drifted_features"]) or "none"
    print(f"drift: {report['rows']} rows, drifted features: {drifted}")
    return report


if __name__ == "__main__":
    main()
