"""Preprocess step: latest record per identifier, validated, split into train/validation/test.

Reads either CSV files (a raw data prefix) or the feature store's offline table through Athena.
The offline store keeps every version of a record; only the latest, undeleted one is used.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import time

import pandas as pd
from dataset import FEATURE_STORE_COLUMNS, Spec, default_spec_path, load_spec, read_csvs, require_columns
from sklearn.model_selection import train_test_split


def latest_records(frame: pd.DataFrame, spec: Spec) -> pd.DataFrame:
    """One row per identifier: the newest by event time, unless that newest version is a delete."""
    latest = frame.sort_values([spec.identifier, spec.event_time]).drop_duplicates(spec.identifier, keep="last")
    if "is_deleted" in latest.columns:
        latest = latest[~latest["is_deleted"].astype(str).str.lower().isin(["true", "1"])]
    return latest.drop(columns=[c for c in FEATURE_STORE_COLUMNS if c in latest.columns]).reset_index(drop=True)


def columns_of(spec: Spec) -> list[str]:
    """The columns of every split: the label first, then the model's inputs, then the sensitive attribute."""
    return [spec.label, *spec.features, *([spec.sensitive] if spec.sensitive else [])]


def split(
    frame: pd.DataFrame, spec: Spec, test_size: float, validation_size: float, seed: int
) -> dict[str, pd.DataFrame]:
    """Train/validation/test splits (stratified by the label for a classifier) in `columns_of(spec)` order."""
    label = spec.label
    require_columns(frame, [spec.identifier, *columns_of(spec)], "the input data")
    if frame[label].isna().any():
        raise ValueError(f"{int(frame[label].isna().sum())} record(s) have no {label} label")
    columns = columns_of(spec)
    rest, test = train_test_split(
        frame[columns], test_size=test_size, random_state=seed, stratify=frame[label] if spec.is_classifier else None
    )
    share = validation_size / (1 - test_size)
    train, validation = train_test_split(
        rest, test_size=share, random_state=seed, stratify=rest[label] if spec.is_classifier else None
    )
    return {"train": train, "validation": validation, "test": test}


def query_offline_store(spec: Spec, database: str, table: str, workgroup: str, region: str) -> pd.DataFrame:
    """Read the offline table through Athena (the workgroup enforces encrypted results)."""
    import boto3

    for name, value in (("database", database), ("table", table)):
        if not re.fullmatch(r"[a-z0-9_]+", value):
            raise ValueError(f"--{name} {value!r} is not a Glue name (lower-case letters, digits, _)")
    athena = boto3.client("athena", region_name=region)
    query = f'SELECT * FROM "{database}"."{table}"'  # noqa: S608 - identifiers checked above
    execution = athena.start_query_execution(QueryString=query, WorkGroup=workgroup)["QueryExecutionId"]
    while True:
        status = athena.get_query_execution(QueryExecutionId=execution)["QueryExecution"]["Status"]
        if status["State"] in ("SUCCEEDED", "FAILED", "CANCELLED"):
            break
        time.sleep(2)
    if status["State"] != "SUCCEEDED":
        raise RuntimeError(f"offline store query {execution} {status['State']}: {status.get('StateChangeReason', '')}")
    rows: list[list[str | None]] = []
    header: list[str] = []
    for page in athena.get_paginator("get_query_results").paginate(QueryExecutionId=execution):
        for row in page["ResultSet"]["Rows"]:
            values = [cell.get("VarCharValue") for cell in row["Data"]]
            if not header:
                header = [str(value) for value in values]
            else:
                rows.append(values)
    frame = pd.DataFrame(rows, columns=header)
    for column in [spec.label, *spec.numeric]:
        frame[column] = pd.to_numeric(frame[column])
    return frame


def data_version(frame: pd.DataFrame, identifier: str) -> str:
    """Content hash of the records a model is trained from: the same data gives the same version."""
    canonical = frame.sort_values(identifier).to_csv(index=False).encode("utf-8")
    return "sha256:" + hashlib.sha256(canonical).hexdigest()


def main(argv: list[str] | None = None) -> dict[str, int]:
    """Run the step; returns the row count of each split."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--input", default="/opt/ml/processing/input/raw", help="CSV file or folder")
    parser.add_argument("--output", default="/opt/ml/processing", help="writes <output>/{train,validation,test}/")
    parser.add_argument("--source", choices=["csv", "feature-store"], default="csv")
    parser.add_argument("--database", default="")
    parser.add_argument("--table", default="")
    parser.add_argument("--workgroup", default="")
    parser.add_argument("--region", default=os.environ.get("AWS_REGION", ""))
    parser.add_argument("--test-size", type=float, default=0.2)
    parser.add_argument("--validation-size", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--project-spec", default=default_spec_path(), help="the project's project.json")
    args = parser.parse_args(argv)
    spec = load_spec(args.project_spec)
    if args.source == "feature-store":
        frame = query_offline_store(spec, args.database, args.table, args.workgroup, args.region)
    else:
        frame = read_csvs(args.input)
    records = latest_records(frame, spec)
    splits = split(records, spec, args.test_size, args.validation_size, args.seed)
    for name, part in splits.items():
        os.makedirs(os.path.join(args.output, name), exist_ok=True)
        part.to_csv(os.path.join(args.output, name, f"{name}.csv"), index=False)
    for name in ("train", "test"):  # SageMaker Clarify reads headerless CSV; its config names the columns
        os.makedirs(os.path.join(args.output, "clarify", name), exist_ok=True)
        splits[name].to_csv(os.path.join(args.output, "clarify", name, f"{name}.csv"), index=False, header=False)
    counts = {name: len(part) for name, part in splits.items()}
    os.makedirs(os.path.join(args.output, "lineage"), exist_ok=True)
    with open(os.path.join(args.output, "lineage", "lineage.json"), "w", encoding="utf-8") as handle:
        json.dump(
            {
                "data_version": data_version(records, spec.identifier),
                "rows": len(records),
                "source": args.source,
                **counts,
            },
            handle,
        )
    print(f"preprocess: {counts}")
    return counts


if __name__ == "__main__":
    main()
