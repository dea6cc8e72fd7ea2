"""Write records to a feature group and read them back, safely, from one or many threads.

Every record is validated against the schema before the first write, so a bad record stops the run
with a report of its field and value instead of leaving half a dataset written. Writes retry
throttling, 5xx answers and lost connections (botocore's own classification, `pipelines.aws_errors`)
with bounded, jittered exponential backoff; `PutRecord` is keyed by record identifier and event time,
so a retried or re-run write overwrites itself with the same values and never duplicates a record.

With `workers` above one, records go to that many lanes by a hash of their identifier, one thread per
lane, so every write of one identifier goes through one thread in input order. Lanes are fed in input
order through short queues, which bounds how far one lane may run ahead of another. A shared window
(`ThrottleWindow`) bounds the writes in flight and halves when AWS throttles. The first record that
fails for good stops every lane; the error says which records are written (`ResumePoint`), and `skip`
resumes after exactly those, so a resumed run writes nothing twice.
"""

from __future__ import annotations

import queue
import random
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from kernel.feature_schema import FeatureGroupSchema, RecordProblem
from pipelines.aws_errors import classify
from pipelines.aws_retry import RetryPolicy, single_attempt_client
from pipelines.features.resume import ResumePoint
from pipelines.features.window import ThrottleWindow

MAX_WORKERS = 64
"""More threads than this spend their time on the interpreter lock, not on the network."""
LANE_DEPTH = 4
"""Records queued per lane: how far the dispatcher may run ahead of a lane."""


class RecordValidationError(ValueError):
    """Records that do not fit the schema; nothing was written."""

    def __init__(self, problems: Sequence[RecordProblem]) -> None:
        self.problems = list(problems)
        shown = "\n".join(f"  {problem}" for problem in self.problems[:20])
        more = f"\n  ... and {len(self.problems) - 20} more" if len(self.problems) > 20 else ""
        super().__init__(f"{len(self.problems)} invalid value(s); nothing was written:\n{shown}{more}")


class IngestionError(RuntimeError):
    """A write failed for good; the records in `resume` were written, and re-running the ingestion is safe."""

    def __init__(
        self, message: str, written: int, *, retryable: bool = False, resume: ResumePoint | None = None
    ) -> None:
        super().__init__(message)
        self.written = written
        """Records of the input that are written (by this run or by the run it resumed)."""
        self.retryable = retryable
        """Whether the write failed for a reason that may pass (throttling, 5xx, lost connections)."""
        self.resume = resume or ResumePoint()
        """Which records are written: `--skip` with its `option()` resumes after exactly those."""


@dataclass
class IngestReport:
    """What an ingestion did (counters a progress display reads while it runs)."""

    written: int = 0
    """Records written by this run."""
    skipped: int = 0
    """Records left out because an earlier run wrote them (`skip`)."""
    retries: int = 0
    """Writes sent again after a retryable failure."""
    failed: int = 0
    """Records that failed for good (the run stops at the first; lanes already writing may add more)."""
    batches: int = 0
    retried_records: list[str] = field(default_factory=list)
    workers: int = 1
    window_low: int = 1
    """The smallest the in-flight window became: below `workers` when AWS throttled."""
    seconds: float = 0.0
    """Time spent writing, for records per second."""

    @property
    def rate(self) -> float:
        """Records written per second."""
        return self.written / self.seconds if self.seconds > 0 else 0.0


def validate_records(schema: FeatureGroupSchema, records: Sequence[Mapping[str, Any]]) -> None:
    """Raise `RecordValidationError` listing every problem of every record, or return quietly."""
    problems = [problem for index, record in enumerate(records) for problem in schema.record_problems(index, record)]
    if problems:
        raise RecordValidationError(problems)


def lane_of(identifier: str, lanes: int) -> int:
    """The lane (worker) of a record identifier: stable across runs and processes (CRC-32, not `hash`)."""
    return zlib.crc32(identifier.encode("utf-8")) % lanes


def ingest(
    client: Any,
    feature_group_name: str,
    schema: FeatureGroupSchema,
    records: Iterable[Mapping[str, Any]],
    *,
    batch_size: int = 100,
    retry: RetryPolicy | None = None,
    sleep: Callable[[float], None] | None = None,
    on_batch: Callable[[IngestReport], None] | None = None,
    skip: int | ResumePoint = 0,
    workers: int = 1,
) -> IngestReport:
    """Validate all `records`, then put every one `skip` does not cover, on `workers` threads, with bounded retries.

    `client` is a `sagemaker-featurestore-runtime` client; create it with botocore retries off
    (`feature_store_client`) so that `retry` is the one bound on attempts. `skip` is a count of
    leading records or the `ResumePoint` a failed run reported. `on_batch` sees the report after
    every `batch_size` records written and after the last. `sleep` waits between attempts (default:
    a wait that a stopping run cuts short).
    """
    rows = list(records)
    validate_records(schema, rows)
    done = skip if isinstance(skip, ResumePoint) else ResumePoint(skip)
    if done.prefix < 0 or done.last > len(rows):
        raise IngestionError(f"cannot skip {done.option()} of {len(rows)} record(s)", written=0)
    if not 1 <= workers <= MAX_WORKERS:
        raise IngestionError(f"workers must be between 1 and {MAX_WORKERS}, not {workers}", written=0)
    run = _Run(
        client,
        feature_group_name,
        schema,
        rows,
        policy=retry or RetryPolicy(),
        sleep=sleep,
        on_batch=on_batch,
        batch_size=batch_size,
        done=done,
        workers=workers,
    )
    return run.go()


class _RecordFailedError(Exception):
    """One record failed for good; the resume advice is added once every lane has stopped."""

    def __init__(self, index: int, identifier: str, text: str, *, retryable: bool) -> None:
        super().__init__(text)
        self.index, self.identifier, self.text, self.retryable = index, identifier, text, retryable


class _StoppedError(Exception):
    """Another lane failed: this record was left unwritten."""


class _Run:
    """One ingestion: lanes, their window, and what they wrote and what failed (shared, under one lock)."""

    def __init__(
        self,
        client: Any,
        group: str,
        schema: FeatureGroupSchema,
        rows: Sequence[Mapping[str, Any]],
        *,
        policy: RetryPolicy,
        sleep: Callable[[float], None] | None,
        on_batch: Callable[[IngestReport], None] | None,
        batch_size: int,
        done: ResumePoint,
        workers: int,
    ) -> None:
        self.client, self.group, self.schema, self.rows = client, group, schema, rows
        self.policy, self.sleep, self.on_batch, self.batch_size = policy, sleep, on_batch, batch_size
        self.done, self.workers = done, workers
        self.operation = client.meta.service_model.operation_model("PutRecord")
        self.report = IngestReport(skipped=done.count, workers=workers, window_low=workers)
        self.window = ThrottleWindow(workers)
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.written: set[int] = set()
        self.failures: list[tuple[int, Exception]] = []

    def go(self) -> IngestReport:
        pending = [index for index in range(len(self.rows)) if not self.done.covers(index)]
        started = time.perf_counter()
        try:
            if self.workers == 1:
                self._lane(iter(pending), 0)
            else:
                self._parallel(pending)
        finally:
            self.report.seconds = time.perf_counter() - started
            self.report.window_low = self.window.low
        if self.failures:
            raise self._error()
        if self.report.written % self.batch_size and self.on_batch is not None:
            self.report.batches += 1
            self.on_batch(self.report)
        return self.report

    def _identifier(self, index: int) -> str:
        return str(self.rows[index][self.schema.record_identifier])

    def _parallel(self, pending: list[int]) -> None:
        lanes: list[queue.Queue[int | None]] = [queue.Queue(maxsize=LANE_DEPTH) for _ in range(self.workers)]
        threads = [
            threading.Thread(target=self._lane, args=(_drain(lane), number), name=f"ingest-{number}", daemon=True)
            for number, lane in enumerate(lanes)
        ]
        for thread in threads:
            thread.start()
        try:
            for index in pending:
                lane = lanes[lane_of(self._identifier(index), self.workers)]
                if not self._offer(lane, index):
                    break
        except BaseException:
            self._halt()
            raise
        finally:
            for lane in lanes:
                self._offer(lane, None)
            for thread in threads:
                thread.join()

    def _offer(self, lane: queue.Queue[int | None], item: int | None) -> bool:
        """Queue `item` on `lane`, waiting while it is full; False once the run stops."""
        while True:
            try:
                lane.put(item, timeout=0.05)
            except queue.Full:
                if self.stop.is_set():
                    return False
            else:
                return not self.stop.is_set()

    def _halt(self) -> None:
        self.stop.set()
        self.window.close()

    def _lane(self, indices: Iterable[int], number: int) -> None:
        rng = random.Random(number)  # noqa: S311 - jitter spreads retries; a fixed seed keeps runs reproducible
        for index in indices:
            if self.stop.is_set():
                return
            try:
                self._put(index, rng)
            except _StoppedError:
                return
            except Exception as error:  # handed to the caller's thread, raised there
                with self.lock:
                    self.failures.append((index, error))
                    self.report.failed += isinstance(error, _RecordFailedError)
                self._halt()
                return

    def _put(self, index: int, rng: random.Random) -> None:
        record = self.rows[index]
        values = [
            {"FeatureName": name, "ValueAsString": _as_string(value)}
            for name, value in record.items()
            if value is not None
        ]
        identifier = self._identifier(index)
        for attempt in range(self.policy.max_attempts):
            ticket = self.window.acquire()
            if ticket is None:
                raise _StoppedError
            try:
                self.client.put_record(FeatureGroupName=self.group, Record=values)
            except (ClientError, BotoCoreError) as error:
                failure = classify(error, self.operation)
                self.window.release(ticket, throttled=failure is not None and failure.kind == "throttled")
                if failure is None or failure.kind == "credentials":
                    raise  # not about this record: the CLI's error boundary explains it
                if not failure.retryable:
                    lacks = f"; the caller lacks {failure.action}" if failure.kind == "denied" else ""
                    text = f"was refused ({failure.code}: {failure.message}{lacks})"
                    raise _RecordFailedError(index, identifier, text, retryable=False) from error
                if attempt + 1 == self.policy.max_attempts:
                    text = (
                        f"still failing with {failure.code} after {self.policy.max_attempts} attempts "
                        "(retrying may help)"
                    )
                    raise _RecordFailedError(index, identifier, text, retryable=True) from error
                with self.lock:
                    self.report.retries += 1
                    if identifier not in self.report.retried_records:
                        self.report.retried_records.append(identifier)
                delay = self.policy.delay(attempt, rng)
                if self.sleep is not None:
                    self.sleep(delay)
                else:
                    self.stop.wait(delay)
                if self.stop.is_set():
                    raise _StoppedError from error
            else:
                self.window.release(ticket, throttled=False)
                self._wrote(index)
                return

    def _wrote(self, index: int) -> None:
        with self.lock:
            self.written.add(index)
            self.report.written += 1
            if self.report.written % self.batch_size == 0:
                self.report.batches += 1
                if self.on_batch is not None:
                    self.on_batch(self.report)

    def _error(self) -> Exception:
        """The first failure in input order: an `IngestionError` saying what is written, or the error as raised."""
        index, error = min(self.failures, key=lambda failure: failure[0])
        if not isinstance(error, _RecordFailedError):
            return error
        resume = ResumePoint.of([*range(self.done.prefix), *self.done.extra, *self.written])
        if resume == ResumePoint(index):
            written = f"{resume.count} record(s) before it are written"
        else:
            written = f"{resume.count} record(s) are written"
        others = f" ({self.report.failed - 1} other record(s) failed too)" if self.report.failed > 1 else ""
        message = (
            f"{self.group}: record {error.identifier!r} {error.text}{others}; {written}; "
            f"re-run with --skip {resume.option()} to resume after them, "
            "or without it to overwrite them with the same values"
        )
        failure = IngestionError(message, resume.count, retryable=error.retryable, resume=resume)
        failure.__cause__ = error.__cause__
        return failure


def _drain(lane: queue.Queue[int | None]) -> Iterable[int]:
    """The indices queued on `lane` until its end marker."""
    while (item := lane.get()) is not None:
        yield item


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


def feature_store_client(region: str, endpoint_url: str | None = None, *, workers: int = 1) -> Any:
    """A featurestore-runtime client whose only retries are `ingest`'s own bounded ones, shared by `workers` threads.

    boto3 clients are thread-safe; each thread holds one pooled connection while its call is in flight.
    """
    return single_attempt_client("sagemaker-featurestore-runtime", region, endpoint_url, connections=max(workers, 10))
