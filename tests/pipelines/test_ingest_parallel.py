"""Parallel ingestion over real HTTP, against a PutRecord endpoint that speaks botocore's model of the API.

The endpoint (`bench.endpoint`) validates every request with botocore's `ParamValidator`, keeps the
records it accepted in the order it applied them, and can throttle requests beyond a number in flight
or refuse chosen records; so lost, duplicated or reordered writes, and a window that never shrinks,
show up in what it holds.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from bench.endpoint import PutRecordEndpoint
from kernel.feature_schema import FeatureGroupSchema
from kernel.projects import load_project
from pipelines.aws_retry import RetryPolicy
from pipelines.features.ingest import IngestionError, feature_store_client, ingest, lane_of
from pipelines.features.resume import ResumePoint
from pipelines.features.window import ThrottleWindow
from tests.helpers import FIXTURE_STACKS

GROUP = "mlops-dev-churn-customer-churn"
FAST = RetryPolicy(max_attempts=12, base_delay=0.002, max_delay=0.05)


@pytest.fixture(scope="module")
def schema() -> FeatureGroupSchema:
    return load_project(FIXTURE_STACKS, "churn").schema


@pytest.fixture
def endpoint() -> Iterator[PutRecordEndpoint]:
    with PutRecordEndpoint("customer_id", latency=0.002) as server:
        yield server


def updates(customers: int, versions: int) -> list[dict[str, Any]]:
    """`versions` successive writes of each of `customers` identifiers, interleaved as a change feed has them."""
    return [
        {"customer_id": f"C{c:05d}", "event_time": f"2026-10-01T00:00:{v:02d}Z", "tenure_months": v,
         "monthly_charges": 50.5 + c, "contract": "one-year"}
        for v in range(versions) for c in range(customers)
    ]  # fmt: skip


def written_versions(server: PutRecordEndpoint, identifier: str) -> list[str]:
    return [values["tenure_months"] for values in server.writes_of(identifier)]


def test_each_identifier_s_writes_keep_their_input_order_under_concurrency(
    schema: FeatureGroupSchema, endpoint: PutRecordEndpoint
) -> None:
    records = updates(customers=40, versions=8)
    client = feature_store_client("eu-west-1", endpoint.url, workers=16)
    report = ingest(client, GROUP, schema, records, workers=16, retry=FAST)
    assert (report.written, report.failed, endpoint.stats["puts"]) == (320, 0, 320)
    assert endpoint.stats["peak_in_flight"] > 4  # the writes did overlap
    for customer in range(40):
        assert written_versions(endpoint, f"C{customer:05d}") == [str(v) for v in range(8)]
    applied = {(group, values["customer_id"], values["tenure_months"]) for group, values in endpoint.log}
    assert applied == {(GROUP, r["customer_id"], str(r["tenure_months"])) for r in records}


def test_throttling_shrinks_the_window_and_every_record_is_still_written_once(
    schema: FeatureGroupSchema,
) -> None:
    """The endpoint serves 3 writes at a time and throttles the rest: 16 workers must back off to about that."""
    records = updates(customers=100, versions=3)
    with PutRecordEndpoint("customer_id", latency=0.004, max_in_flight=3) as server:
        client = feature_store_client("eu-west-1", server.url, workers=16)
        report = ingest(client, GROUP, schema, records, workers=16, retry=FAST)
        stats = server.stats
    assert (report.written, report.failed, stats["puts"]) == (300, 0, 300)
    assert report.window_low <= 4 < report.workers
    assert report.retries == stats["throttled"] > 0
    assert stats["throttled"] < len(records) // 2  # a window stuck at 16 would be throttled on most writes
    for customer in range(100):
        assert written_versions(server, f"C{customer:05d}") == ["0", "1", "2"]


def test_a_refused_record_stops_every_lane_and_the_printed_skip_resumes_writing_nothing_twice(
    schema: FeatureGroupSchema, endpoint: PutRecordEndpoint
) -> None:
    records = updates(customers=200, versions=1)
    endpoint.refuse.add("C00050")
    client = feature_store_client("eu-west-1", endpoint.url, workers=8)
    with pytest.raises(IngestionError) as caught:
        ingest(client, GROUP, schema, records, workers=8, retry=FAST)
    error = caught.value
    assert not error.retryable and error.resume.count == error.written == endpoint.stats["puts"]
    assert 50 <= error.written < 200 and not error.resume.covers(50)
    assert str(error).startswith(
        f"{GROUP}: record 'C00050' was refused (ValidationError: record C00050 refused); "
        f"{error.written} record(s) are written; re-run with --skip {error.resume.option()} to resume after them, "
        "or without it to overwrite them with the same values"
    )
    assert {values["customer_id"] for _, values in endpoint.log} == {
        records[i]["customer_id"] for i in range(200) if error.resume.covers(i)
    }
    endpoint.refuse.clear()
    report = ingest(
        client, GROUP, schema, records, workers=8, retry=FAST, skip=ResumePoint.parse(error.resume.option())
    )
    assert (report.skipped, report.written) == (error.written, 200 - error.written)
    identifiers = [values["customer_id"] for _, values in endpoint.log]
    assert sorted(identifiers) == sorted(r["customer_id"] for r in records)  # each exactly once over both runs


def test_a_sequential_failure_still_reports_the_records_before_it(
    schema: FeatureGroupSchema, endpoint: PutRecordEndpoint
) -> None:
    endpoint.refuse.add("C00003")
    client = feature_store_client("eu-west-1", endpoint.url)
    with pytest.raises(IngestionError, match=r"3 record\(s\) before it are written; re-run with --skip 3 to resume"):
        ingest(client, GROUP, schema, updates(customers=6, versions=1), retry=FAST)
    assert [values["customer_id"] for _, values in endpoint.log] == ["C00000", "C00001", "C00002"]


def test_errors_not_about_a_record_reach_the_caller_as_raised(schema: FeatureGroupSchema) -> None:
    """No credentials: every lane stops, and botocore's own error reaches the CLI's boundary to explain."""
    from botocore.exceptions import NoCredentialsError

    client = feature_store_client("eu-west-1", "http://127.0.0.1:9", workers=4)
    client._request_signer._credentials = None
    with pytest.raises(NoCredentialsError):
        ingest(client, GROUP, schema, updates(customers=20, versions=1), workers=4, retry=FAST)


@pytest.mark.parametrize("workers", [0, 65])
def test_a_worker_count_out_of_range_is_refused_before_any_write(schema: FeatureGroupSchema, workers: int) -> None:
    client = feature_store_client("eu-west-1", "http://127.0.0.1:9")
    with pytest.raises(IngestionError, match=f"workers must be between 1 and 64, not {workers}"):
        ingest(client, GROUP, schema, updates(customers=2, versions=1), workers=workers)


def test_lanes_are_stable_and_spread_identifiers() -> None:
    lanes = [lane_of(f"C{n:05d}", 8) for n in range(800)]
    assert lanes == [lane_of(f"C{n:05d}", 8) for n in range(800)]
    assert min(lanes.count(lane) for lane in range(8)) > 60


def test_resume_points_round_trip_and_bad_ones_are_explained() -> None:
    point = ResumePoint.of([0, 1, 2, 5, 9])
    assert (point.prefix, point.extra, point.option(), point.count) == (3, frozenset({5, 9}), "3+6,10", 5)
    assert ResumePoint.parse("3+6,10") == point and ResumePoint.parse("7") == ResumePoint(7)
    assert ResumePoint.parse("2+3") == ResumePoint(3)  # row 3 right after the first two extends the prefix
    with pytest.raises(ValueError, match=r"'x' is not a resume point: expected N \(the first N rows\)"):
        ResumePoint.parse("x")
    with pytest.raises(ValueError, match="rows count from 1"):
        ResumePoint.parse("2+0")


def test_a_burst_of_throttles_halves_the_window_once_and_successes_grow_it_back() -> None:
    window = ThrottleWindow(16)
    tickets = [window.acquire() for _ in range(16)]
    assert all(ticket is not None for ticket in tickets)
    for ticket in tickets:
        window.release(ticket or 0, throttled=True)  # all sent before the first cut: one cut
    assert window.limit == 8 and window.low == 8
    ticket = window.acquire()
    window.release(ticket or 0, throttled=True)  # sent after the cut: cuts again
    assert window.limit == 4
    for _ in range(40):  # +1/limit per success: limit**2 grows by about 2 per success, 16 -> 96
        window.release(window.acquire() or 0, throttled=False)
    assert window.limit == 9 and window.low == 4
    for _ in range(1000):
        window.release(window.acquire() or 0, throttled=False)
    assert window.limit == window.ceiling == 16


def test_a_closed_window_wakes_its_waiters() -> None:
    window = ThrottleWindow(1)
    window.acquire()
    results: list[int | None] = []
    waiter = threading.Thread(target=lambda: results.append(window.acquire()))
    waiter.start()
    window.close()
    waiter.join(timeout=5)
    assert results == [None]
