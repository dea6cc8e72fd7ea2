"""Write records to a feature group and read them back, safely.

Every record is validated against the schema before the first write, so a bad record stops the run
with a report of its field and value instead of leaving half a dataset written. Writes retry
throttling, 5xx answers and lost connections (botocore's own classification, `pipelines.aws_errors`)
with bounded, jittered exponential backoff; `PutRecord` is keyed by record identifier and event time,
so a retried or re-run write overwrites itself with the same values and never duplicates a record.
A run that fails says how many records it wrote; `skip` resumes after them.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from kernel.feature_schema import FeatureGroupSchema, RecordProblem
from pipelines.aws_errors import classify
from pipelines.aws_retry import RetryPolicy, single_attempt_client


class RecordValidationError(ValueError):
    """Records that do not fit the schema; nothing was written."""

    def __init__(self, problems: Sequence[RecordProblem]) -> None:
        self.problems = list(problems)
        shown = "\n".join(f"  {problem}" for problem in self.problems[:20])
        more = f"\n  ... and {len(self.problems) - 20} more" if len(self.problems) > 20 else ""
        super().__init__(f"{len(self.problems)} invalid value(s); nothing was written:\n{shown}{more}")


class IngestionError(RuntimeError):
    """A write failed for good; records before it were written, and re-running the ingestion is safe."""

    def __init__(self, message: str, written: int, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.written = written
        self.retryable = retryable
        """Whether the write failed for a reason that may pass (throttling, 5xx, lost connections)."""


@dataclass
class IngestReport:
    """What an ingestion did."""

    written: int = 0
    """Records written by this run."""
    skipped: int = 0
    """Leading records left out because an earlier run wrote them (`skip`)."""
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
    skip: int = 0,
) -> IngestReport:
    """Validate all `records`, then put all but the first `skip` in batches of `batch_size` with bounded retries.

    `client` is a `sagemaker-featurestore-runtime` client; create it with botocore retries off
    (`feature_store_client`) so that `retry` is the one bound on attempts.
    """
    rows = list(records)
    validate_records(schema, rows)
    if not 0 <= skip <= len(rows):
        raise IngestionError(f"cannot skip {skip} of {len(rows)} record(s)", written=0)
    policy = retry or RetryPolicy()
    rng = random.Random(0)  # noqa: S311 - jitter spreads retries; a fixed seed keeps runs reproducible
    report = IngestReport(skipped=skip)
    for start in range(skip, len(rows), batch_size):
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
    done = report.skipped + report.written
    resume = (
        f"{done} record(s) before it are written; re-run with --skip {done} to resume after them, "
        "or without it to overwrite them with the same values"
    )
    for attempt in range(policy.max_attempts):
        try:
            client.put_record(FeatureGroupName=group, Record=values)
        except (ClientError, BotoCoreError) as error:
            failure = classify(error, client.meta.service_model.operation_model("PutRecord"))
            if failure is None or failure.kind == "credentials":
                raise  # not about this record: the CLI's error boundary explains it
            if not failure.retryable:
                lacks = f"; the caller lacks {failure.action}" if failure.kind == "denied" else ""
                answer = f"{failure.code}: {failure.message}{lacks}"
                message = f"{group}: record {identifier!r} was refused ({answer}); {resume}"
                raise IngestionError(message, done) from error
            if attempt + 1 == policy.max_attempts:
                raise IngestionError(
                    f"{group}: record {identifier!r} still failing with {failure.code} after {policy.max_attempts} "
                    f"attempts (retrying may help); {resume}",
                    done,
                    retryable=True,
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
            message = f"{feature_group_name}: reading {identifier!r} failed: {first.get('ErrorMessage')}"
            raise IngestionError(message, written=0)
        for item in response.get("Records", []):
            record = _typed(schema, item["Record"])
            found[str(record[schema.record_identifier])] = record
    return found


def _typed(schema: FeatureGroupSchema, values: Sequence[Mapping[str, str]]) -> dict[str, Any]:
    return schema.parse_row({item["FeatureName"]: item["ValueAsString"] for item in values})


def feature_store_client(region: str, endpoint_url: str | None = None) -> Any:
    """A featurestore-runtime client whose only retries are `ingest`'s own bounded ones."""
    return single_attempt_client("sagemaker-featurestore-runtime", region, endpoint_url)
