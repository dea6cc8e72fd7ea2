"""Ingestion and reads against the real featurestore-runtime client, with botocore's Stubber.

moto has no featurestore-runtime; the Stubber validates every request against AWS's model and
fails on any call not expected, so a lost, extra or duplicated write fails the test.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError, ConnectionClosedError
from botocore.stub import Stubber

from kernel.feature_schema import FeatureGroupSchema
from kernel.projects import load_project
from pipelines.aws_retry import RetryPolicy
from pipelines.features.ingest import (
    IngestionError,
    RecordValidationError,
    batch_get_records,
    feature_store_client,
    get_record,
    ingest,
)
from tests.helpers import FIXTURE_STACKS

GROUP = "mlops-dev-churn-customer-churn"


@pytest.fixture(scope="module")
def schema() -> FeatureGroupSchema:
    return load_project(FIXTURE_STACKS, "churn").schema


@pytest.fixture
def stubbed() -> Iterator[tuple[Any, Stubber]]:
    client = feature_store_client("eu-west-1")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def record(number: int) -> dict[str, Any]:
    return {
        "customer_id": f"C{number:05d}",
        "event_time": "2026-10-01T00:00:00Z",
        "tenure_months": number,
        "monthly_charges": 50.5,
        "contract": "one-year",
        "region": None,
    }


def expected_put(number: int) -> dict[str, Any]:
    values = [
        {"FeatureName": "customer_id", "ValueAsString": f"C{number:05d}"},
        {"FeatureName": "event_time", "ValueAsString": "2026-10-01T00:00:00Z"},
        {"FeatureName": "tenure_months", "ValueAsString": str(number)},
        {"FeatureName": "monthly_charges", "ValueAsString": "50.5"},
        {"FeatureName": "contract", "ValueAsString": "one-year"},
    ]
    return {"FeatureGroupName": GROUP, "Record": values}


def throttle(stubber: Stubber, number: int) -> None:
    stubber.add_client_error(
        "put_record", "ThrottlingException", "Rate exceeded", 400, expected_params=expected_put(number)
    )


def test_throttled_writes_are_retried_without_loss_or_duplicates(schema: FeatureGroupSchema, stubbed: Any) -> None:
    client, stubber = stubbed
    stubber.add_response("put_record", {}, expected_put(1))
    throttle(stubber, 2)
    throttle(stubber, 2)
    stubber.add_response("put_record", {}, expected_put(2))
    stubber.add_response("put_record", {}, expected_put(3))
    waits: list[float] = []
    batches: list[int] = []
    report = ingest(
        client, GROUP, schema, [record(1), record(2), record(3)], batch_size=2, sleep=waits.append,
        on_batch=lambda r: batches.append(r.written),
    )  # fmt: skip
    assert (report.written, report.retries, report.retried_records) == (3, 2, ["C00002"])
    assert batches == [2, 3]
    assert len(waits) == 2 and all(0 <= wait <= 0.4 for wait in waits)


def test_retries_are_bounded(schema: FeatureGroupSchema, stubbed: Any) -> None:
    client, stubber = stubbed
    stubber.add_response("put_record", {}, expected_put(1))
    for _ in range(3):
        throttle(stubber, 2)
    with pytest.raises(
        IngestionError,
        match=r"'C00002' still failing with ThrottlingException after 3 attempts \(retrying may help\); 1 record",
    ):
        ingest(
            client,
            GROUP,
            schema,
            [record(1), record(2), record(3)],
            retry=RetryPolicy(max_attempts=3),
            sleep=lambda _: None,
        )


def test_non_retryable_errors_fail_at_once(schema: FeatureGroupSchema, stubbed: Any) -> None:
    client, stubber = stubbed
    stubber.add_client_error("put_record", "ResourceNotFound", "no such group", 404, expected_params=expected_put(1))
    with pytest.raises(IngestionError, match=r"'C00001' was refused \(ResourceNotFound: no such group\); 0 record"):
        ingest(client, GROUP, schema, [record(1)], sleep=lambda _: None)


def test_a_bad_record_stops_the_run_before_any_write(schema: FeatureGroupSchema, stubbed: Any) -> None:
    client, _ = stubbed  # no responses queued: any put_record call would fail the test
    bad = {**record(2), "tenure_months": "two", "colour": "red"}
    with pytest.raises(RecordValidationError) as caught:
        ingest(client, GROUP, schema, [record(1), bad, record(3)])
    assert [str(p) for p in caught.value.problems] == [
        "record 1: tenure_months='two': must be an integer",
        "record 1: colour='red': is not a feature of customer-churn",
    ]
    assert "nothing was written" in str(caught.value)


def test_reads_are_typed_per_schema(schema: FeatureGroupSchema, stubbed: Any) -> None:
    client, stubber = stubbed
    values = expected_put(7)["Record"]
    stubber.add_response(
        "get_record", {"Record": values}, {"FeatureGroupName": GROUP, "RecordIdentifierValueAsString": "C00007"}
    )
    stubber.add_response("get_record", {}, {"FeatureGroupName": GROUP, "RecordIdentifierValueAsString": "C99999"})
    stubber.add_response(
        "batch_get_record",
        {"Records": [{"FeatureGroupName": GROUP, "RecordIdentifierValueAsString": "C00007", "Record": values}],
         "Errors": [], "UnprocessedIdentifiers": []},
        {"Identifiers": [{"FeatureGroupName": GROUP, "RecordIdentifiersValueAsString": ["C00007", "C99999"]}]},
    )  # fmt: skip
    found = get_record(client, GROUP, schema, "C00007")
    assert found == {k: v for k, v in record(7).items() if v is not None}
    assert isinstance(found["tenure_months"], int) and isinstance(found["monthly_charges"], float)
    assert get_record(client, GROUP, schema, "C99999") is None
    assert batch_get_records(client, GROUP, schema, ["C00007", "C99999"]) == {"C00007": found}


def test_lost_connections_are_retried_until_every_record_is_written_once_more_at_most(
    schema: FeatureGroupSchema, stubbed: Any
) -> None:
    """200 records; a seeded quarter of the calls lose their connection, before or after the write applied.

    The plan of faults is drawn first, so the Stubber expects exactly the writes that reach the
    store: each record once, plus once more for each response lost after its write was applied.
    """
    client, stubber = stubbed
    rng = random.Random(20)
    plan: list[list[str]] = []
    for number in range(200):
        faults = []
        while len(faults) < 4 and rng.random() < 0.25:
            faults.append(rng.choice(["before", "after"]))
        plan.append(faults)
        for fault in faults:
            if fault == "after":
                stubber.add_response("put_record", {}, expected_put(number))
        stubber.add_response("put_record", {}, expected_put(number))
    pending = [fault for faults in plan for fault in [*faults, "none"]]

    def reset(**_: Any) -> None:
        if pending[0] == "before":
            pending.pop(0)
            raise ConnectionClosedError(endpoint_url="https://featurestore-runtime.sagemaker.eu-west-1.amazonaws.com")

    def lose(**_: Any) -> None:
        if pending.pop(0) == "after":
            raise ConnectionClosedError(endpoint_url="https://featurestore-runtime.sagemaker.eu-west-1.amazonaws.com")

    client.meta.events.register("before-parameter-build.sagemaker-featurestore-runtime.PutRecord", reset)
    client.meta.events.register("after-call.sagemaker-featurestore-runtime.PutRecord", lose)
    report = ingest(client, GROUP, schema, [record(n) for n in range(200)], sleep=lambda _: None)
    assert pending == [] and report.written == 200
    assert report.retries == sum(len(faults) for faults in plan) > 40


def test_a_failed_run_says_how_to_resume_and_skip_resumes_after_the_written_records(
    schema: FeatureGroupSchema, stubbed: Any
) -> None:
    client, stubber = stubbed
    stubber.add_response("put_record", {}, expected_put(1))
    stubber.add_client_error(
        "put_record", "AccessDeniedException", "not authorized to perform: sagemaker:PutRecord", 400,
        expected_params=expected_put(2),
    )  # fmt: skip
    with pytest.raises(
        IngestionError,
        match=r"'C00002' was refused .* lacks sagemaker:PutRecord\); 1 record\(s\) before it are written; re-run with --skip 1",
    ) as caught:
        ingest(client, GROUP, schema, [record(1), record(2), record(3)], sleep=lambda _: None)
    assert caught.value.written == 1
    stubber.add_response("put_record", {}, expected_put(2))
    stubber.add_response("put_record", {}, expected_put(3))
    report = ingest(client, GROUP, schema, [record(1), record(2), record(3)], skip=1, sleep=lambda _: None)
    assert (report.skipped, report.written) == (1, 2)


def test_the_client_makes_one_attempt_so_ingest_owns_the_retries(failing: tuple[str, list[str]]) -> None:
    """botocore's `max_attempts: 1` means one retry (two requests); `total_max_attempts: 1` means one request."""
    endpoint, requests = failing
    client = feature_store_client("eu-west-1", endpoint_url=endpoint)
    with pytest.raises(ClientError, match="InternalFailure"):
        client.put_record(FeatureGroupName=GROUP, Record=expected_put(1)["Record"])
    assert len(requests) == 1
