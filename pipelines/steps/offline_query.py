"""The latest-record query of a multi-instance preprocess: Athena reduces every version to the latest.

The offline store keeps every version of every record (and a version for each delete). Only one
machine that sees all versions of a record can keep its latest, so with several preprocess instances
Athena, AWS's distributed SQL engine, does that global step: `UNLOAD` writes the result as several
files in parallel (https://docs.aws.amazon.com/athena/latest/ug/unload.html: "UNLOAD results are
written to multiple files in parallel"), which the preprocess instances then read `ShardedByS3Key`.
The query keeps what `preprocess.latest_records` keeps: per identifier the version with the latest
event time (ties: the latest write), unless that version is a delete.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

GLUE_NAME = re.compile(r"[a-z0-9_]+")
"""The feature store's Glue database and table names (lower-case letters, digits, _)."""
FEATURE_NAME = re.compile(r"[a-zA-Z0-9]([-_]*[a-zA-Z0-9]){0,63}")
"""A feature name, as `FeatureDefinition.FeatureName` allows it (botocore's SageMaker model)."""
S3_PREFIX = re.compile(r"s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/[A-Za-z0-9!_.*()/=-]*/")
"""An S3 folder an UNLOAD may write to (no quote can close the SQL string)."""
RANK = "latest_rank"


def latest_records_query(database: str, table: str, identifier: str, event_time: str, columns: Sequence[str]) -> str:
    """SQL (Athena's, which SQLite also runs) selecting `identifier` and `columns` of each record's latest version.

    ValueError naming the offending name when one cannot be quoted safely.
    """
    for what, name in (("database", database), ("table", table)):
        if not GLUE_NAME.fullmatch(name):
            raise ValueError(f"--{what} {name!r} is not a Glue name (lower-case letters, digits, _)")
    selected = [identifier, *(column for column in columns if column != identifier)]
    for name in [event_time, *selected]:
        if not FEATURE_NAME.fullmatch(name):
            raise ValueError(f"{name!r} is not a feature name the feature store accepts")
    listed = ", ".join(f'"{name}"' for name in selected)
    return (  # every name is checked above
        f'SELECT {listed} FROM (SELECT *, row_number() OVER (PARTITION BY "{identifier}" '  # noqa: S608
        f'ORDER BY "{event_time}" DESC, "api_invocation_time" DESC, "write_time" DESC) AS "{RANK}" '
        f'FROM "{database}"."{table}") WHERE "{RANK}" = 1 AND NOT coalesce("is_deleted", false)'
    )


def unload_statement(query: str, location: str) -> str:
    """`UNLOAD` of `query` to the empty S3 folder `location`, as gzip-compressed JSON lines.

    JSON keeps the column names in every file and needs no Parquet reader, which the scikit-learn
    image lacks (no pyarrow in its build files).
    """
    if not S3_PREFIX.fullmatch(location):
        raise ValueError(f"{location!r} is not an S3 folder (s3://bucket/prefix/) an UNLOAD can write to")
    return f"UNLOAD ({query}) TO '{location}' WITH (format = 'JSON', compression = 'GZIP')"
