"""Preprocess step: latest record per identifier, validated, split into train/validation/test.

Reads either CSV files (a raw data prefix) or the feature store's offline table through Athena.
The offline store keeps every version of a record; only the latest, undeleted one is used.

On several instances, a one-instance run with `--export-to` first has Athena write every record's
latest version as several files (`offline_query`); SageMaker hands each instance of the `--split hash`
run its share of those files (`ShardedByS3Key`). Each instance validates its share and assigns each
record to a split by a hash of its identifier, so the split is the same whatever the number of
instances; it writes its own part files (`<split>/<split>-<host>.csv`) and a lineage part, which a
one-instance run with `--merge-lineage` adds up into the lineage every later step reads.
"""

from __future__ import annotations

import argparse
import glob
import gzip
import hashlib
import json
import os
import re
import time
import uuid
from typing import Any

import pandas as pd
from dataset import FEATURE_STORE_COLUMNS, Spec, default_spec_path, load_spec, read_csvs, require_columns
from offline_query import latest_records_query, unload_statement
from sklearn.model_selection import train_test_split

WRITE_ORDER = ("api_invocation_time", "write_time")
"""The offline store's columns that order two writes of the same event time (`offline_query` orders alike)."""


def latest_records(frame: pd.DataFrame, spec: Spec) -> pd.DataFrame:
    """One row per identifier: the newest by event time, unless that newest version is a delete.

    Versions with the same event time (the offline store keeps both) go by write: the later one wins.
    """
    order = [spec.identifier, spec.event_time, *(c for c in WRITE_ORDER if c in frame.columns)]
    latest = frame.sort_values(order).drop_duplicates(spec.identifier, keep="last")
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


SPLITS = ("train", "validation", "test")
RESOURCE_CONFIG = "/opt/ml/config/resourceconfig.json"
"""Where a processing job tells each instance its host name (`current_host`) and all of them (`hosts`):
SageMaker developer guide, "How to Build Your Own Processing Container", resourceconfig.json."""
ROW_DIGEST = "sha256-rowsum:"
"""Data version of a sharded run: the sum (mod 2**256) of each record's SHA-256, whatever the shard it was in."""


def hash_split(
    frame: pd.DataFrame, spec: Spec, test_size: float, validation_size: float, seed: int
) -> dict[str, pd.DataFrame]:
    """Train/validation/test by a hash of each record's identifier, in `columns_of(spec)` order.

    A record's split depends only on its identifier and the seed, never on the other rows: the split is
    stable across reruns and instance counts. The hash is independent of the label, so each class is
    split in the requested proportions in expectation (stratified in expectation, not exactly).
    """
    require_columns(frame, [spec.identifier, *columns_of(spec)], "the input data")
    if frame[spec.label].isna().any():
        raise ValueError(f"{int(frame[spec.label].isna().sum())} record(s) have no {spec.label} label")
    duplicated = frame[spec.identifier].duplicated()
    if duplicated.any():
        raise ValueError(
            f"{int(duplicated.sum())} {spec.identifier} value(s) appear twice in this share, e.g. "
            f"{frame[spec.identifier][duplicated].iloc[0]!r}: the latest-record query must return one row per record"
        )
    position = frame[spec.identifier].map(lambda value: hash_position(value, seed))
    names = [
        "test" if at < test_size else "validation" if at < test_size + validation_size else "train" for at in position
    ]
    assigned = pd.Series(names, index=frame.index)
    return {name: frame.loc[assigned == name, columns_of(spec)] for name in SPLITS}


def hash_position(identifier: object, seed: int) -> float:
    """Where a record identifier falls in [0, 1): the first 8 bytes of SHA-256 of `<seed>:<identifier>`."""
    digest = hashlib.sha256(f"{seed}:{identifier}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def row_digest_sum(frame: pd.DataFrame, spec: Spec) -> int:
    """The sum (mod 2**256) of the SHA-256 of each record's CSV line: adds up across shards in any order.

    Each shard's types are inferred from the JSON it holds: a whole-number column with a null in one shard is
    float there (`5.0`) and integer in another (`5`). So numbers other than the identifier are written as floats,
    and a record hashes the same whichever shard, and so whichever instance count, it lands in.
    """
    if frame.empty:
        return 0
    canonical = frame[[spec.identifier, *columns_of(spec)]].copy()
    for column in columns_of(spec):
        values = canonical[column]
        if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            canonical[column] = values.astype("float64")
    lines = canonical.to_csv(index=False, header=False).splitlines()
    return sum(int.from_bytes(hashlib.sha256(line.encode("utf-8")).digest(), "big") for line in lines) % 2**256


def read_query_export(path: str, spec: Spec) -> pd.DataFrame:
    """The latest-record query's result files under `path` (JSON lines, gzip or plain), as one frame.

    Athena writes column names in lower case; they are mapped back to the spec's spelling.
    """
    files = sorted(f for f in glob.glob(os.path.join(path, "**", "*"), recursive=True) if os.path.isfile(f))
    frames = [_read_json_lines(file) for file in files]
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    wanted = {column.lower(): column for column in [spec.identifier, *columns_of(spec)]}
    frame = frame.rename(columns={c: wanted[c.lower()] for c in frame.columns if c.lower() in wanted})
    if frame.empty:
        return pd.DataFrame(columns=list(wanted.values()))
    return frame


def _read_json_lines(file: str) -> pd.DataFrame:
    with open(file, "rb") as handle:
        compressed = handle.read(2) == b"\x1f\x8b"
    with gzip.open(file, "rt", encoding="utf-8") if compressed else open(file, encoding="utf-8") as handle:
        records = [json.loads(line) for line in handle if line.strip()]
    return pd.DataFrame.from_records(records)


def current_host(resource_config: str) -> str:
    """The host name (`algo-1`...) of the instance running this, from the processing job's resource config."""
    if not os.path.isfile(resource_config):
        return "algo-1"  # a local run: the only instance
    with open(resource_config, encoding="utf-8") as handle:
        return str(json.load(handle)["current_host"])


def merge_lineage(folder: str) -> dict[str, object]:
    """The lineage of a sharded run from each instance's part: counts added, digests summed."""
    parts = sorted(glob.glob(os.path.join(folder, "**", "lineage-*.json"), recursive=True))
    if not parts:
        raise ValueError(f"no lineage parts (lineage-<host>.json) under {folder}: did the preprocess job write any?")
    merged: dict[str, int] = {"rows": 0, **{name: 0 for name in SPLITS}}
    digest = 0
    for part in parts:
        with open(part, encoding="utf-8") as handle:
            document = json.load(handle)
        for key in merged:
            merged[key] += int(document[key])
        digest = (digest + int(document["row_digest_sum"], 16)) % 2**256
    if merged["rows"] == 0:
        raise ValueError("the latest-record query returned no records: the offline store holds no training data")
    return {"data_version": f"{ROW_DIGEST}{digest:064x}", **merged, "source": "feature-store", "instances": len(parts)}


def query_offline_store(spec: Spec, database: str, table: str, workgroup: str, region: str) -> pd.DataFrame:
    """Read the offline table through Athena (the workgroup enforces encrypted results)."""
    import boto3

    for name, value in (("database", database), ("table", table)):
        if not re.fullmatch(r"[a-z0-9_]+", value):
            raise ValueError(f"--{name} {value!r} is not a Glue name (lower-case letters, digits, _)")
    athena = boto3.client("athena", region_name=region)
    query = f'SELECT * FROM "{database}"."{table}"'  # noqa: S608 - identifiers checked above
    execution = run_query(athena, query, workgroup)
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


def run_query(athena: Any, query: str, workgroup: str) -> str:
    """Start `query` in `workgroup` and wait for it; its execution id, or RuntimeError with Athena's reason."""
    execution = str(athena.start_query_execution(QueryString=query, WorkGroup=workgroup)["QueryExecutionId"])
    while True:
        status = athena.get_query_execution(QueryExecutionId=execution)["QueryExecution"]["Status"]
        if status["State"] in ("SUCCEEDED", "FAILED", "CANCELLED"):
            break
        time.sleep(2)
    if status["State"] != "SUCCEEDED":
        raise RuntimeError(f"offline store query {execution} {status['State']}: {status.get('StateChangeReason', '')}")
    return execution


def export_latest_records(spec: Spec, args: argparse.Namespace) -> str:
    """UNLOAD every record's latest version under a fresh folder of `args.export_to`; returns that folder.

    A fresh folder per attempt: UNLOAD writes only to an empty location, and a retried step must not
    find the files of a failed attempt.
    """
    import boto3

    query = latest_records_query(args.database, args.table, spec.identifier, spec.event_time, columns_of(spec))
    location = f"{args.export_to.rstrip('/')}/{uuid.uuid4().hex}/"
    run_query(boto3.client("athena", region_name=args.region), unload_statement(query, location), args.workgroup)
    return location


def data_version(frame: pd.DataFrame, identifier: str) -> str:
    """Content hash of the records a model is trained from: the same data gives the same version."""
    canonical = frame.sort_values(identifier).to_csv(index=False).encode("utf-8")
    return "sha256:" + hashlib.sha256(canonical).hexdigest()


def main(argv: list[str] | None = None) -> dict[str, int]:
    """Run the step; returns the row count of each split (of this instance's share, on several)."""
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
    parser.add_argument(
        "--split",
        choices=["random", "hash"],
        default="random",
        help="random: read every record here and split stratified (one instance); hash: --input holds this "
        "instance's share of the latest-record query's result, split by a hash of the identifier",
    )
    parser.add_argument("--host", default="", help="this instance's name in part files (default: the job's)")
    parser.add_argument("--resource-config", default=RESOURCE_CONFIG, help=argparse.SUPPRESS)
    parser.add_argument("--merge-lineage", default="", help="folder of lineage parts: write their sum and stop")
    parser.add_argument(
        "--export-to",
        default="",
        help="S3 folder: UNLOAD the latest records there (for the instances of --split hash), write "
        "<output>/export/export.json naming the files' folder, and stop",
    )
    args = parser.parse_args(argv)
    if args.merge_lineage:
        lineage = merge_lineage(args.merge_lineage)
        _write_json(os.path.join(args.output, "lineage", "lineage.json"), lineage)
        print(f"preprocess: lineage of {lineage['instances']} instance(s), {lineage['rows']} records")
        return {name: int(str(lineage[name])) for name in SPLITS}
    spec = load_spec(args.project_spec)
    if args.export_to:
        _require_feature_store(args.source)
        location = export_latest_records(spec, args)
        _write_json(os.path.join(args.output, "export", "export.json"), {"location": location})
        print(f"preprocess: latest records exported to {location}")
        return {}
    if args.split == "hash":
        return _sharded(args, spec)
    if args.source == "feature-store":
        frame = query_offline_store(spec, args.database, args.table, args.workgroup, args.region)
    else:
        frame = read_csvs(args.input)
    records = latest_records(frame, spec)
    splits = split(records, spec, args.test_size, args.validation_size, args.seed)
    write_splits(splits, args.output, suffix="")
    counts = {name: len(part) for name, part in splits.items()}
    _write_json(
        os.path.join(args.output, "lineage", "lineage.json"),
        {"data_version": data_version(records, spec.identifier), "rows": len(records), "source": args.source, **counts},
    )
    print(f"preprocess: {counts}")
    return counts


def _sharded(args: argparse.Namespace, spec: Spec) -> dict[str, int]:
    """One instance's share: validate, split by identifier hash, write part files named after the host."""
    _require_feature_store(args.source)
    host = args.host or current_host(args.resource_config)
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", host):
        raise ValueError(f"--host {host!r} must be a plain host name (letters, digits, ., _, -)")
    records = read_query_export(args.input, spec)
    splits = hash_split(records, spec, args.test_size, args.validation_size, args.seed)
    write_splits({name: part for name, part in splits.items() if not part.empty}, args.output, suffix=f"-{host}")
    counts = {name: len(part) for name, part in splits.items()}
    _write_json(
        os.path.join(args.output, "lineage", f"lineage-{host}.json"),
        {"rows": len(records), **counts, "row_digest_sum": f"{row_digest_sum(records, spec):064x}"},
    )
    print(f"preprocess ({host}): {counts}")
    return counts


def write_splits(splits: dict[str, pd.DataFrame], output: str, suffix: str) -> None:
    """Each split as `<output>/<split>/<split><suffix>.csv`, and train and test again, headerless, for Clarify.

    An instance of several leaves out its empty splits (`suffix` is its host): Clarify and the training channel
    read every file under the prefix, and an empty part would be a file with a header and no rows.
    """
    for name, part in splits.items():
        os.makedirs(os.path.join(output, name), exist_ok=True)
        part.to_csv(os.path.join(output, name, f"{name}{suffix}.csv"), index=False)
        if name in ("train", "test"):  # SageMaker Clarify reads headerless CSV; its config names the columns
            os.makedirs(os.path.join(output, "clarify", name), exist_ok=True)
            part.to_csv(os.path.join(output, "clarify", name, f"{name}{suffix}.csv"), index=False, header=False)


def _require_feature_store(source: str) -> None:
    if source != "feature-store":
        raise ValueError(
            f"several preprocess instances read the offline store's latest records, so the source must be "
            f"feature-store, not {source}: raw CSV files hold every version of a record, which only one instance "
            "reading all of them can reduce to the latest (set training.preprocessInstanceCount to 1 for a CSV source)"
        )


def _write_json(path: str, document: dict[str, object]) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(document, handle)


if __name__ == "__main__":
    main()
