"""The Spark ingestion step on its image's Python (3.12) and Spark (pyspark 3.5.6 on Java 17), locally.

One Spark session (`HARNESS`, on `.venv-parity/spark-3.5`) runs the step's code on: the churn sample with
corrupted cells, the valid sample, a header with an unknown and a reserved column. The expected problems
come from the record path's rules (`kernel.feature_schema`: `parse_row` then `record_problems`), applied
here to the same CSV, so the two paths are proven to refuse the same values. The connector's JVM call
(`ingest_spark.ingest`) needs AWS and is replaced by a writer that records what it was handed.
"""

from __future__ import annotations

import csv
import itertools
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from kernel.feature_schema import FeatureGroupSchema
from kernel.projects import load_project
from pipelines.definitions.ingestion import feature_arguments
from pipelines.images import STEP_IMAGES
from pipelines.local_run import STEPS_DIR
from pipelines.parity import PROJECT_ROOT, interpreter

HARNESS = """
import json, sys
sys.path.insert(0, sys.argv[1])
import ingest_spark as job

cases = json.loads(sys.argv[2])
spark = job.session("test")
answer = {}
for case in cases:
    args = job.parser().parse_args(case["argv"])
    schema = job.Schema.parse(args.feature_group, args.identifier, args.event_time, args.feature)
    frame = spark.read.option("header", True).csv(args.input)
    written = []

    def capture(frame, arn, stores):
        written.append({"arn": arn, "stores": list(stores),
                        "types": dict(frame.dtypes), "rows": [r.asDict() for r in frame.orderBy(schema.identifier).limit(3).collect()],
                        "count": frame.count()})

    result = {"header": job.column_problems(frame.columns, schema)}
    if not result["header"]:
        result["problems"] = [r.asDict() for r in job.problems_of(frame, schema).collect()]
    try:
        result["report"] = job.run(spark, args, capture)
    except ValueError as error:
        result["error"] = str(error)
    result["written"] = written
    result["saved"] = json.load(open(args.output + "/ingestion.json"))
    answer[case["name"]] = result
spark.stop()
print(json.dumps(answer, default=str))
"""

CORRUPT = {
    # row (0-based) -> {field: text}: every rule of the record path, and cells it accepts
    0: {"tenure_months": "3.5"},
    1: {"monthly_charges": "abc"},
    2: {"monthly_charges": "nan"},
    3: {"total_charges": "-inf"},
    4: {"event_time": "2026-02-30T10:00:00Z"},
    5: {"event_time": "2026-01-31 10:00:00"},
    6: {"event_time": ""},
    7: {"customer_id": ""},
    8: {"senior": " 1"},
    9: {"support_calls_90d": "+2"},
    10: {"data_usage_gb": " 12.5 ", "event_time": "2026-01-31T10:00:00.123456Z"},  # both valid
    11: {"monthly_charges": "1e3", "total_charges": ".5"},  # both valid
    12: {"tenure_months": "", "region": ""},  # optional cells may be empty
    13: {"event_time": "2026-01-31T24:00:00Z"},
    14: {"data_usage_gb": "1.5.2"},
}


@pytest.fixture(scope="module")
def churn_schema() -> FeatureGroupSchema:
    return load_project(PROJECT_ROOT, "churn").schema


def _argv(schema: FeatureGroupSchema, data: Path, output: Path, *extra: str) -> list[str]:
    features = feature_arguments(
        [(feature.name, feature.type) for feature in schema.features]
    )  # as the pipeline packs them
    return [
        "--input", str(data), "--output", str(output), "--feature-group", schema.name,
        "--feature-group-arn", f"arn:aws:sagemaker:eu-west-1:111111111111:feature-group/mlops-dev-churn-{schema.name}",
        "--identifier", schema.record_identifier, "--event-time", schema.event_time, *features, *extra,
    ]  # fmt: skip


def _corrupted(sample: Path, target: Path, rows: int = 40) -> list[dict[str, str]]:
    with sample.open(encoding="utf-8", newline="") as handle:
        records = [dict(row) for row in itertools.islice(csv.DictReader(handle), rows)]
    for index, cells in CORRUPT.items():
        records[index].update(cells)
        if "customer_id" not in cells:
            records[index]["customer_id"] = f"ROW{index:02d}"
    with target.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(records[0]))
        writer.writeheader()
        writer.writerows(records)
    return records


@pytest.fixture(scope="module")
def spark_run(tmp_path_factory: pytest.TempPathFactory, churn_schema: FeatureGroupSchema) -> dict[str, Any]:
    if shutil.which("java", path="/usr/bin:/bin") is None:
        pytest.fail("the Spark step's test needs a Java 17 runtime: apt-get install openjdk-17-jre-headless")
    root = tmp_path_factory.mktemp("spark")
    sample = load_project(PROJECT_ROOT, "churn").sample_data
    records = _corrupted(sample, root / "corrupt.csv")
    overflow = root / "overflow.csv"
    with (root / "corrupt.csv").open(encoding="utf-8") as handle:
        header, first = handle.readline(), handle.readline().split(",")
    first[header.split(",").index("tenure_months")] = "9223372036854775808"  # 2**63: one past a long
    overflow.write_text(header + ",".join(first), encoding="utf-8")
    unknown = root / "unknown.csv"
    unknown.write_text("customer_id,event_time,hour,loyalty\nC1,2026-01-31T10:00:00Z,3,gold\n", encoding="utf-8")
    cases = [
        {"name": "corrupt", "argv": _argv(churn_schema, root / "corrupt.csv", root / "out-corrupt")},
        {"name": "sample", "argv": _argv(churn_schema, sample, root / "out-sample", "--target-stores", "OfflineStore")},
        {"name": "unknown", "argv": _argv(churn_schema, unknown, root / "out-unknown")},
        {"name": "overflow", "argv": _argv(churn_schema, overflow, root / "out-overflow")},
    ]
    (root / "harness.py").write_text(HARNESS, encoding="utf-8")
    done = subprocess.run(
        [str(interpreter(STEP_IMAGES["ingest_spark.py"])), "-E", "-s", str(root / "harness.py"), str(STEPS_DIR),
         json.dumps(cases)],
        capture_output=True, text=True, timeout=300, check=False, cwd=root,
        env={"PATH": "/usr/bin:/bin", "HOME": str(root), "LANG": "C.UTF-8"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    answer: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    answer["records"] = records
    return answer


def test_spark_refuses_exactly_the_values_the_record_path_refuses(
    spark_run: dict[str, Any], churn_schema: FeatureGroupSchema
) -> None:
    expected = {
        (str(record[churn_schema.record_identifier] or None), problem.field, problem.message)
        for index, record in enumerate(spark_run["records"])
        for problem in churn_schema.record_problems(index, churn_schema.parse_row(record))
    }
    found = {(str(p["identifier"]), p["field"], p["message"]) for p in spark_run["corrupt"]["problems"]}
    assert found == expected
    assert len(expected) == 12, "rows 10, 11 and 12 are valid on both paths; every other corrupted row has one problem"


def test_one_invalid_value_writes_nothing_and_reports_every_problem(spark_run: dict[str, Any]) -> None:
    corrupt = spark_run["corrupt"]
    assert corrupt["written"] == []
    assert corrupt["error"].startswith("12 invalid value(s); nothing was written:")
    assert "record 'ROW00': tenure_months='3.5': must be an integer" in corrupt["error"]
    assert corrupt["saved"]["invalid_values"] == 12 and corrupt["saved"]["written"] == 0


def test_a_valid_input_reaches_the_connector_in_feature_store_types(
    spark_run: dict[str, Any], churn_schema: FeatureGroupSchema
) -> None:
    sample = spark_run["sample"]
    (written,) = sample["written"]
    assert written["count"] == 3000 and sample["report"]["written"] == 3000
    assert written["stores"] == ["OfflineStore"]
    assert written["arn"].endswith(f"feature-group/mlops-dev-churn-{churn_schema.name}")
    spark_type = {"Integral": "bigint", "Fractional": "double", "String": "string"}  # the connector's TYPE_MAP
    assert written["types"] == {f.name: spark_type[f.type] for f in churn_schema.features}
    first = written["rows"][0]
    assert first["customer_id"] == "C00001" and first["tenure_months"] == 35 and first["monthly_charges"] == 98.35
    assert sample["saved"] == {**sample["report"], "target_stores": ["OfflineStore"]}


def test_an_unknown_or_reserved_column_refuses_the_input(spark_run: dict[str, Any]) -> None:
    unknown = spark_run["unknown"]
    assert unknown["header"] == [
        "column 'hour' is reserved by the Feature Store Spark connector",
        "column 'loyalty' is not a feature of customer-churn",
    ]
    assert unknown["written"] == [] and "nothing was written" in unknown["error"]


def test_an_integer_beyond_64_bits_is_refused_rather_than_written_as_null(spark_run: dict[str, Any]) -> None:
    """Stricter than the record path: Spark's cast would turn it into a null (the connector types Integral as long)."""
    overflow = spark_run["overflow"]
    assert [(p["field"], p["message"]) for p in overflow["problems"]] == [
        ("tenure_months", "is outside the 64-bit range of an Integral feature")
    ]
    assert overflow["written"] == []
