"""Spark ingestion step: validate a CSV dataset against its feature group's schema, then ingest it in bulk.

Runs on SageMaker's Spark processing image (3.5, Python 3.12) as a PySpark application, for inputs too
large for `PutRecord` one record at a time (`pipelines/features/ingest.py`). It applies that path's rules
(`kernel.feature_schema.FeatureGroupSchema.record_problems` on rows typed by `parse_row`), as Spark
column expressions over every row at once:

- a column that is not a feature refuses the input; so does a name the Feature Store Spark connector
  reserves (`InputDataSchemaValidator.RESERVED_FEATURE_NAMES`: year, month, day, hour, ...);
- the record identifier and the event time are required;
- an Integral cell is an integer (`-?digits`), a Fractional cell a finite number, a String event time
  ISO-8601 UTC (`2026-01-31T12:00:00Z`, a real date and time).

As on the record path, one invalid value stops the run before anything is written: the report lists
the problems (record identifier, field, value, why) and the job fails. A valid input is typed as
Feature Store types it (Integral: bigint, Fractional: double, String: string) and handed to the
connector (`ingest`), the one call that needs AWS: it is submitted with the job (`--jars`,
`--py-files`) because the image does not install it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from pyspark.sql import SparkSession  # type: ignore[import-not-found]
from pyspark.sql import functions as F  # noqa: N812 - Spark's own idiom

SPARK_TYPES = {"Integral": "bigint", "Fractional": "double", "String": "string"}
"""Feature Store type -> the Spark type the connector expects (its InputDataSchemaValidator.TYPE_MAP)."""
INTEGRAL = r"^-?\d+$"
"""What `FeatureGroupSchema.parse_row` reads as an integer."""
NUMBER = r"^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$"
"""A decimal number as CSV writers spell it (Python's float() also takes digit-grouping `1_000`; this does not)."""
NOT_FINITE = r"(?i)^\s*[+-]?(nan|inf|infinity)\s*$"
"""Numbers float() reads that Feature Store refuses as not finite."""
ISO_TIME = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$"
ISO_PATTERN = "yyyy-MM-dd'T'HH:mm:ss[.SSSSSS]'Z'"
"""The same instant as a Spark datetime pattern: rejects dates and times that do not exist (2026-02-30)."""
RESERVED = frozenset(
    {"is_deleted", "write_time", "api_invocation_time", "year", "month", "day", "hour", "temp_event_time_col"}
)
"""Columns the connector adds to the offline store itself (aws/sagemaker-feature-store-spark,
`InputDataSchemaValidator.RESERVED_FEATURE_NAMES`, commit 81d099d)."""
TARGET_STORES = ("OnlineStore", "OfflineStore")
SHOWN = 20
"""Problems the report and the error list (the count covers all)."""


class SchemaError(ValueError):
    """The input's columns do not fit the feature group: nothing was read past the header."""


@dataclass(frozen=True)
class Schema:
    """The feature group's schema as the job receives it: `--feature name=Type[,name=Type...]`."""

    name: str
    identifier: str
    event_time: str
    types: dict[str, str]

    @classmethod
    def parse(cls, name: str, identifier: str, event_time: str, features: Sequence[str]) -> Schema:
        """From the job's arguments; ValueError naming the argument at fault."""
        types = {}
        for feature in (item for argument in features for item in argument.split(",")):
            field, _, kind = feature.partition("=")
            if kind not in SPARK_TYPES:
                raise ValueError(f"--feature {feature!r}: the type must be one of {', '.join(SPARK_TYPES)}")
            types[field] = kind
        for option, value in (("--identifier", identifier), ("--event-time", event_time)):
            if value not in types:
                raise ValueError(f"{option} {value!r} is not one of the --feature names")
        return cls(name=name, identifier=identifier, event_time=event_time, types=types)


def column_problems(columns: Sequence[str], schema: Schema) -> list[str]:
    """What is wrong with the input's header: unknown, reserved or missing columns."""
    problems = [f"column {c!r} is reserved by the Feature Store Spark connector" for c in columns if c in RESERVED]
    problems += [
        f"column {c!r} is not a feature of {schema.name}"
        for c in columns
        if c not in schema.types and c not in RESERVED
    ]
    problems += [
        f"column {required!r} is missing (it is the {what})"
        for required, what in ((schema.identifier, "record identifier"), (schema.event_time, "event time"))
        if required not in columns
    ]
    return problems


def _cell_problem(field: str, kind: str, schema: Schema) -> Any:
    """A column expression: why this cell is invalid (the record path's message), or null."""
    cell = F.col(field)
    checks: list[tuple[Any, str]] = []
    if field in (schema.identifier, schema.event_time):
        checks.append((cell.isNull(), "is required"))
    if kind == "Integral":
        checks.append((~cell.rlike(INTEGRAL), "must be an integer"))
        # Stricter than the record path, which leaves this to PutRecord: Spark would write a null instead.
        checks.append((cell.cast("bigint").isNull(), "is outside the 64-bit range of an Integral feature"))
    elif kind == "Fractional":
        checks.append((cell.rlike(NOT_FINITE), "must be finite"))
        checks.append((~cell.rlike(NUMBER), "must be a number"))
    elif field == schema.event_time:
        real = F.to_timestamp(cell, ISO_PATTERN).isNotNull()
        checks.append((~(cell.rlike(ISO_TIME) & real), "is not ISO-8601 UTC (2026-01-31T12:00:00Z)"))
    problem = F.when(F.lit(False), F.lit(None).cast("string"))
    for condition, message in checks:  # the first that holds; a null cell fails only "is required"
        problem = problem.when(condition if message == "is required" else cell.isNotNull() & condition, message)
    return problem


def problems_of(frame: Any, schema: Schema) -> Any:
    """One row per invalid value: identifier, field, value, message (a DataFrame, computed lazily)."""
    fields = [field for field in frame.columns if field in schema.types]
    cells = F.array(
        *[
            F.struct(
                F.lit(field).alias("field"),
                F.col(field).alias("value"),
                _cell_problem(field, schema.types[field], schema).alias("message"),
            )
            for field in fields
        ]
    )
    return (
        frame.select(F.col(schema.identifier).alias("identifier"), F.explode(cells).alias("cell"))
        .where(F.col("cell.message").isNotNull())
        .select("identifier", "cell.field", "cell.value", "cell.message")
    )


def typed(frame: Any, schema: Schema) -> Any:
    """The validated input in Feature Store's types (numbers trimmed, as float() reads them)."""
    return frame.select(
        *[
            (F.trim(F.col(field)) if schema.types[field] == "Fractional" else F.col(field))
            .cast(SPARK_TYPES[schema.types[field]])
            .alias(field)
            for field in frame.columns
        ]
    )


def ingest(frame: Any, feature_group_arn: str, target_stores: Sequence[str]) -> None:
    """Write `frame` with the Feature Store Spark connector: the JVM call, which needs AWS (never run offline).

    `target_stores` ["OfflineStore"] writes the offline store's table directly (Iceberg or Glue), without
    PutRecord; a list with "OnlineStore" streams every row through PutRecord from the executors.
    """
    from feature_store_pyspark.FeatureStoreManager import (  # type: ignore[import-not-found]  # with --py-files
        FeatureStoreManager,
    )

    FeatureStoreManager().ingest_data(
        input_data_frame=frame, feature_group_arn=feature_group_arn, target_stores=list(target_stores)
    )


Writer = Callable[[Any, str, Sequence[str]], None]


def run(spark: Any, args: argparse.Namespace, write: Writer = ingest) -> dict[str, Any]:
    """Read, validate, report, and write when every value is valid; returns the report."""
    schema = Schema.parse(args.feature_group, args.identifier, args.event_time, args.feature)
    frame = spark.read.option("header", True).option("inferSchema", False).csv(args.input)
    report: dict[str, Any] = {"feature_group": schema.name, "input": args.input, "written": 0}
    header = column_problems(frame.columns, schema)
    if header:
        report.update(problems=header, invalid_values=len(header))
        raise_with(report, args.output, SchemaError(f"{args.input}: " + "; ".join(header) + "; nothing was written"))
    frame = frame.cache()
    problems = problems_of(frame, schema).cache()
    count = problems.count()
    report["rows"] = frame.count()
    if count:
        shown = [row.asDict() for row in problems.limit(SHOWN).collect()]
        report.update(invalid_values=count, problems=shown)
        lines = "\n".join(f"  record {p['identifier']!r}: {p['field']}={p['value']!r}: {p['message']}" for p in shown)
        more = f"\n  ... and {count - SHOWN} more" if count > SHOWN else ""
        raise_with(report, args.output, ValueError(f"{count} invalid value(s); nothing was written:\n{lines}{more}"))
    write(typed(frame, schema), args.feature_group_arn, args.target_stores)
    report.update(invalid_values=0, written=report["rows"], target_stores=list(args.target_stores))
    save(report, args.output)
    return report


def save(report: dict[str, Any], output: str) -> None:
    """Write the report as `<output>/ingestion.json` (the step's output, uploaded at the job's end)."""
    os.makedirs(output, exist_ok=True)
    with open(os.path.join(output, "ingestion.json"), "w", encoding="utf-8") as handle:
        json.dump(report, handle, indent=2, sort_keys=True, default=str)


def raise_with(report: dict[str, Any], output: str, error: Exception) -> None:
    """Save the report, then fail the job with `error`."""
    save(report, output)
    raise error


def parser() -> argparse.ArgumentParser:
    """The job's arguments (the pipeline definition passes them)."""
    options = argparse.ArgumentParser(description=__doc__)
    options.add_argument("--input", required=True, help="CSV file or folder (s3a:// or local), with a header")
    options.add_argument("--output", default="/opt/ml/processing/report", help="writes ingestion.json here")
    options.add_argument("--feature-group", required=True, help="the schema's name (for messages)")
    options.add_argument("--feature-group-arn", required=True)
    options.add_argument("--identifier", required=True, help="the record identifier feature")
    options.add_argument("--event-time", required=True, help="the event time feature")
    options.add_argument("--feature", action="append", default=[], help="name=Integral|Fractional|String[,...]")
    options.add_argument("--target-stores", nargs="+", choices=TARGET_STORES, default=list(TARGET_STORES))
    return options


def session(app: str) -> Any:
    """The job's Spark session; CORRECTED parses dates as Spark 3 does (a non-existent date is null, not an error)."""
    return SparkSession.builder.appName(app).config("spark.sql.legacy.timeParserPolicy", "CORRECTED").getOrCreate()


def main(argv: list[str] | None = None, write: Writer = ingest) -> dict[str, Any]:
    """Run the step; the error's message, not a traceback, on bad input."""
    args = parser().parse_args(argv)
    spark = session(f"ingest-{args.feature_group}")
    try:
        return run(spark, args, write)
    except (SchemaError, ValueError) as error:
        print(f"ingest_spark: {error}", file=sys.stderr)
        raise SystemExit(1) from None
    finally:
        spark.stop()


if __name__ == "__main__":
    main()
