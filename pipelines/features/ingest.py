"""Write records to a feature group and read them back, safely.

Every record is validated against the schema before the first write, so a bad record stops the run
with a report of its field and value instead of leaving half a dataset written. Writes retry
throttling and transient faults with bounded, jittered exponential backoff; `PutRecord` is keyed by
record identifier and event time, so a retried or re-run write overwrites itself and never
duplicates a record.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from pipelines.features.schema import FeatureGroupSchema, RecordProblem

RETRYABLE = {
    "ThrottlingException",
    "Throttling",
    "ServiceUnavailable",
    "InternalFailure",
    "RequestTimeout",
    "ServiceQuotaExceededException",
}
"""Error codes worth retrying; anything else (validation, access, missing group) fails at once."""


class RecordValidationError(ValueError):
    """Records that do not fit the schema; nothing was written."""

    def __init__(self, problems: Sequence[RecordProblem]) -> None:
        self.problems = list(problems)
        shown = "\n".join(f"  {problem}" for problem in self.problems[:20])
        more = f"\n  ... and {len(self.problems) - 20} more" if len(self.problems) > 20 else ""
        super().__init__(f"{len(self.problems)} invalid value(s); nothing was written:\n{shown}{more}")


class IngestionError(RuntimeError):
    """A write failed for good; records before it were written, and re-running the ingestion is safe."""


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded exponential backoff with full jitter."""

    max_attempts: int = 6
    base_delay: float = 0.2
    max_delay: float = 5.0

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Seconds to wait before attempt number `attempt + 1`."""
        return rng.uniform(0, min(self.max_delay, self.base_delay * 2**attempt))


@dataclass
class IngestReport:
    """What an ingestion did."""

    written: int = 0
    retries: int = 0
    batches: int = 0
    retried_records: list[str] = field(default_factory=list)


def validate_records(schema: FeatureGroupSchema, records: Sequence[Mapping[str, Any]]) -> None:
    """Raise `RecordValidationError` listing every problem of every record, or return quietly."""
    problems = [problem for index, record in enumerate(records) for problem in schema.record_problems(index, record)]
    if problems:
        raise RecordValidationError(problems)


def ingest(
    client: Any,
    feature_group_name: str,
    schema: FeatureGroupSchema,
    records: Iterable[Mapping[str, Any]],
    *,
    batch_size: int = 100,
    retry: RetryPolicy | None = None,
    sleep: Callable[[float], None] = time.sleep,
    on_batch: Callable[[IngestReport], None] | None = None,
) -> IngestReport:
    """Validate all `records`, then put them in batches of `batch_size` with bounded retries.

    `client` is a `sagemaker-featurestore-runtime` client; create it with botocore retries off
    (`feature_store_client`) so that `retry` is the one bound on attempts.
    """
    rows = list(records)
    validate_records(schema, rows)
    policy = retry or RetryPolicy()
    rng = random.Random(0)  # noqa: S311 - jitter spreads retries; a fixed seed keeps runs reproducible
    report = IngestReport()
    for start in range(0, len(rows), batch_size):
        for record in rows[start : start + batch_size]:
            _put(
                client,
                feature_group_name,
                schema=schema,
                record=record,
                policy=policy,
                rng=rng,
                sleep=sleep,
                report=report,
            )
        report.batches += 1
        if on_batch is not None:
            on_batch(report)
    return report


def _put(
    client: Any,
    group: str,
    *,
    schema: FeatureGroupSchema,
    record: Mapping[str, Any],
    policy: RetryPolicy,
    rng: random.Random,
    sleep: Callable[[float], None],
    report: IngestReport,
) -> None:
    values = [
        {"FeatureName": name, "ValueAsString": _as_string(value)} for name, value in record.items() if value is not None
    ]
    identifier = str(record[schema.record_identifier])
    for attempt in range(policy.max_attempts):
        try:
            client.put_record(FeatureGroupName=group, Record=values)
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code not in RETRYABLE:
                message = error.response["Error"].get("Message", "")
                raise IngestionError(
                    f"{group}: record {identifier!r} was refused ({code}: {message}); "
                    f"{report.written} record(s) before it were written"
                ) from error
            if attempt + 1 == policy.max_attempts:
                raise IngestionError(
                    f"{group}: record {identifier!r} still failing with {code} after {policy.max_attempts} attempts; "
                    f"{report.written} record(s) before it were written, re-running is safe"
                ) from error
            report.retries += 1
            if identifier not in report.retried_records:
                report.retried_records.append(identifier)
            sleep(policy.delay(attempt, rng))
        else:
            report.written += 1
            return


def _as_string(value: Any) -> str:
    if isinstance(value, float):
        return repr(value)
    return str(value)


def get_record(
    client: Any, feature_group_name: str, schema: FeatureGroupSchema, identifier: str
) -> dict[str, Any] | None:
    """The latest values of one record, typed per the schema; None when the record does not exist."""
    response = client.get_record(FeatureGroupName=feature_group_name, RecordIdentifierValueAsString=identifier)
    record = response.get("Record")
    return _typed(schema, record) if record else None


def batch_get_records(
    client: Any, feature_group_name: str, schema: FeatureGroupSchema, identifiers: Sequence[str]
) -> dict[str, dict[str, Any]]:
    """Several records at once (up to 100 per call), keyed by identifier; missing ones are left out."""
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(identifiers), 100):
        chunk = list(identifiers[start : start + 100])
        response = client.batch_get_record(
            Identifiers=[{"FeatureGroupName": feature_group_name, "RecordIdentifiersValueAsString": chunk}]
        )
        errors = response.get("Errors", [])
        if errors:
            first = errors[0]
            identifier = first.get("RecordIdentifierValueAsString")
            raise IngestionError(f"{feature_group_name}: reading {identifier!r} failed: {first.get('ErrorMessage')}")
        for item in response.get("Records", []):
            record = _typed(schema, item["Record"])
            found[str(record[schema.record_identifier])] = record
    return found


def _typed(schema: FeatureGroupSchema, values: Sequence[Mapping[str, str]]) -> dict[str, Any]:
    return schema.parse_row({item["FeatureName"]: item["ValueAsString"] for item in values})


def feature_store_client(region: str, endpoint_url: str | None = None) -> Any:
    """A featurestore-runtime client whose only retries are `ingest`'s own bounded ones."""
    import boto3
    from botocore.config import Config

    return boto3.client(
        "sagemaker-featurestore-runtime",
        region_name=region,
        endpoint_url=endpoint_url,
        config=Config(retries={"max_attempts": 1, "mode": "standard"}),
    )
