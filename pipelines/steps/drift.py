"""Drift step: compare what the endpoint received with the training baseline, feature by feature.

Numeric features: population stability index (PSI) over the baseline's decile bins, and a
two-sample Kolmogorov-Smirnov test against the baseline sample. Categorical features: PSI over the
categories and a chi-square goodness-of-fit test against the baseline shares. A feature drifts when
its shift is both material (PSI above the threshold) and significant (p below the level), so a
large, stable sample does not alarm on noise and a tiny one does not alarm on chance.

Inputs are SageMaker data-capture files (JSON lines) or CSV; the baseline comes from a file or from
the model package the endpoint serves (its drift-check baseline). Writes `drift.json`; with
`--publish` also puts per-feature PSI and the number of drifted features to CloudWatch.
"""

from __future__ import annotations

import argparse
import glob
import io
import json
import math
import os
from typing import Any

import numpy as np
import pandas as pd
from dataset import Spec, default_spec_path, load_spec, read_csvs
from scipy import stats

EPSILON = 1e-4
"""Floor of a bin share, so an empty bin does not make PSI infinite."""
NAMESPACE = "mlops/drift"


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
    observed = values.fillna("<missing>").astype(str).value_counts()
    categories = sorted(set(profile["shares"]) | set(observed.index))
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
    """The drift report of `frame` against `baseline`, for each of the model's inputs."""
    features = {}
    for name in spec.features:
        profile = baseline["features"][name]
        drift = numeric_drift if name in spec.numeric else categorical_drift
        result = drift(profile, frame[name])
        result["drifted"] = result["psi"] > psi_threshold and result["p_value"] < p_value
        features[name] = result
    drifted = sorted(name for name, result in features.items() if result["drifted"])
    return {
        "rows": len(frame),
        "thresholds": {"psi": psi_threshold, "p_value": p_value},
        "drifted_features": drifted,
        "features": features,
    }


def read_capture(path: str, features: list[str]) -> pd.DataFrame:
    """The request rows (the model's `features`) of SageMaker data-capture files under `path`, or plain CSV files."""
    files = sorted(glob.glob(os.path.join(path, "**", "*.jsonl"), recursive=True)) if os.path.isdir(path) else []
    if not files:
        return read_csvs(path)
    frames = []
    for file in files:
        with open(file, encoding="utf-8") as handle:
            for line in handle:
                record = json.loads(line)
                data = record["captureData"]["endpointInput"]
                if data.get("encoding", "CSV").upper() != "CSV":
                    continue
                text = data["data"]
                header = text.split("\n", 1)[0].split(",")[0].strip() == features[0]
                frames.append(
                    pd.read_csv(io.StringIO(text), header=0 if header else None, names=None if header else features)
                )
    if not frames:
        raise ValueError(f"no CSV requests in the capture files under {path}")
    return pd.concat(frames, ignore_index=True)[features]


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
    parser.add_argument("--project-spec", default=default_spec_path(), help="the project's project.json")
    args = parser.parse_args(argv)
    spec = load_spec(args.project_spec)
    baseline_path = args.baseline or baseline_of_package(args.model_package_arn, args.region, args.output)
    with open(baseline_path, encoding="utf-8") as handle:
        baseline = json.load(handle)
    report = detect(baseline, read_capture(args.capture, spec.features), args.psi_threshold, args.p_value, spec)
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
