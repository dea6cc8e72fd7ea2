"""Ingestion and reads against the real featurestore-runtime client, with botocore's Stubber.

moto has no featurestore-runtime; the Stubber validates every request against AWS's model and
fails on any call not expected, so a lost, extra or duplicated write fails the test.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.stub import Stubber

from pipelines.features.ingest import (
    IngestionError,
    RecordValidationError,
    RetryPolicy,
    batch_get_records,
    feature_store_client,
    get_record,
    ingest,
)
from pipelines.features.schema import FeatureGroupSchema, load_schemas

GROUP = "mlops-dev-customer-churn"


@pytest.fixture(scope="module")
def schema() -> FeatureGroupSchema:
    return load_schemas()[0]


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
        IngestionError, match=r"'C00002' still failing with ThrottlingException after 3 attempts; 1 record"
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
