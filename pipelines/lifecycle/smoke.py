"""Smoke-test a live endpoint with rows of the shipped sample: one sane probability per row, or fail."""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from pipelines.aws_errors import classify
from pipelines.data import CHURN_CSV
from pipelines.lifecycle import LifecycleError
from pipelines.local_run import load_step_module


@dataclass(frozen=True)
class SmokeResult:
    """What the endpoint answered."""

    endpoint: str
    rows: int
    scores: list[float]
    variant: str


def sample_payload(rows: int = 5, data: Path = CHURN_CSV) -> str:
    """The first `rows` customers of the shipped data as a CSV request body (header included)."""
    with data.open(encoding="utf-8") as handle:
        records = [row for _, row in zip(range(rows), csv.DictReader(handle), strict=False)]
    out = io.StringIO()
    features = load_step_module("dataset").FEATURES  # the inference handler's column order
    writer = csv.DictWriter(out, fieldnames=features, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(records)
    return out.getvalue()


def smoke_test(runtime: Any, endpoint: str, payload: str | None = None) -> SmokeResult:
    """Invoke `endpoint` and check the answer: one probability in [0, 1] per request row."""
    body = payload or sample_payload()
    expected = len(body.strip().splitlines()) - 1
    try:
        response = runtime.invoke_endpoint(EndpointName=endpoint, ContentType="text/csv", Accept="text/csv", Body=body)
    except ClientError as error:
        failure = classify(error)
        if failure is not None and failure.kind in ("throttled", "transient", "denied", "credentials"):
            raise  # could not ask: the error boundary says so, and whether a retry may help
        raise LifecycleError(f"smoke test: invoking {endpoint} failed: {error}") from error
    text = response["Body"].read().decode("utf-8") if hasattr(response["Body"], "read") else str(response["Body"])
    try:
        scores = [float(line) for line in text.strip().splitlines()]
    except ValueError:
        raise LifecycleError(f"smoke test: {endpoint} answered {text[:80]!r}, not one probability per line") from None
    if len(scores) != expected:
        raise LifecycleError(f"smoke test: {endpoint} answered {len(scores)} scores for {expected} rows")
    bad = [score for score in scores if math.isnan(score) or not 0.0 <= score <= 1.0]
    if bad:
        raise LifecycleError(f"smoke test: {endpoint} answered scores outside [0, 1]: {bad[:5]}")
    return SmokeResult(
        endpoint=endpoint, rows=expected, scores=scores, variant=str(response.get("InvokedProductionVariant", ""))
    )
