"""The preprocess step reads its training set from the feature store's offline table through Athena (moto)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import boto3
import requests
from moto import mock_aws

from kernel.projects import load_project
from pipelines.local_run import run_step, write_spec
from pipelines.parity import PROJECT_ROOT

EXTRA = ["write_time", "api_invocation_time", "is_deleted"]


def _row(values: list[str]) -> dict[str, list[dict[str, str]]]:
    return {"Data": [{"VarCharValue": value} for value in values]}


def test_preprocess_reads_the_latest_undeleted_records_through_athena(tmp_path: Path) -> None:
    churn = load_project(PROJECT_ROOT, "churn")
    spec = write_spec(churn.spec(), tmp_path)
    with churn.sample_data.open(encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        header = list(reader.fieldnames or [])
        records = [row for _, row in zip(range(300), reader, strict=False)]
    rows = [_row(header + EXTRA)]
    for record in records:
        rows.append(_row([record[c] for c in header] + ["2026-11-01", "2026-11-01", "false"]))
    stale = {**records[0], "event_time": "2020-01-01T00:00:00Z", "tenure_months": "999"}
    rows.append(_row([stale[c] for c in header] + ["2026-01-01", "2026-01-01", "false"]))  # an older version
    deleted = {**records[1], "event_time": "2026-12-01T00:00:00Z"}
    rows.append(_row([deleted[c] for c in header] + ["2026-12-01", "2026-12-01", "true"]))  # a newer delete
    out = tmp_path / "splits"
    with mock_aws():
        athena = boto3.client("athena", region_name="eu-west-1")
        athena.create_work_group(
            Name="mlops-dev-features",
            Configuration={"ResultConfiguration": {"OutputLocation": "s3://results/athena/"}},
        )
        requests.post(
            "http://motoapi.amazonaws.com/moto-api/static/athena/query-results",
            json={"region": "eu-west-1", "results": [{"rows": rows, "column_info": []}]},
            timeout=5,
        )
        run_step(
            "preprocess", "--source", "feature-store", "--database", "mlops_dev_features", "--table", "customer_churn",
            "--workgroup", "mlops-dev-features", "--region", "eu-west-1", "--output", str(out),
            "--project-spec", str(spec),
        )  # fmt: skip
    lineage = json.loads((out / "lineage" / "lineage.json").read_text())
    assert lineage["source"] == "feature-store"
    assert lineage["rows"] == 299, "300 customers, the deleted one dropped, the stale version collapsed"
    kept = [
        row for name in ("train", "validation", "test") for row in csv.DictReader((out / name / f"{name}.csv").open())
    ]
    assert "999" not in {row["tenure_months"] for row in kept}, "the stale version is not the one kept"
    assert lineage["train"] + lineage["validation"] + lineage["test"] == 299


def test_bad_glue_names_are_refused_before_any_query(tmp_path: Path) -> None:
    import pytest

    with pytest.raises(ValueError, match="--table 'churn; drop' is not a Glue name"):
        run_step("preprocess", "--source", "feature-store", "--database", "db", "--table", "churn; drop",
                 "--workgroup", "w", "--region", "eu-west-1", "--output", str(tmp_path),
                 "--project-spec", str(write_spec(load_project(PROJECT_ROOT, "churn").spec(), tmp_path)))  # fmt: skip
