"""Smoke-test a live endpoint with rows of its project's sample: one sane answer per row, or fail.

A classifier's endpoint answers a probability in [0, 1] per row; a regressor's a finite value.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from kernel.projects import ModelKind, Project
from pipelines.aws_errors import classify
from pipelines.lifecycle import LifecycleError


@dataclass(frozen=True)
class SmokeResult:
    """What the endpoint answered."""

    endpoint: str
    rows: int
    scores: list[float]
    variant: str


def sample_payload(project: Project, rows: int = 5, data: Path | None = None) -> str:
    """The first `rows` records of the project's sample data as a CSV request body (header included)."""
    with (data or project.sample_data).open(encoding="utf-8") as handle:
        records = [row for _, row in zip(range(rows), csv.DictReader(handle), strict=False)]
    out = io.StringIO()
    features = project.spec().features  # the inference handler's column order
    writer = csv.DictWriter(out, fieldnames=features, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(records)
    return out.getvalue()


def smoke_test(runtime: Any, endpoint: str, payload: str, kind: ModelKind = "classifier") -> SmokeResult:
    """Invoke `endpoint` and check the answer: one probability in [0, 1] (a regressor: one finite value) per row."""
    body = payload
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
        raise LifecycleError(f"smoke test: {endpoint} answered {text[:80]!r}, not one number per line") from None
    if len(scores) != expected:
        raise LifecycleError(f"smoke test: {endpoint} answered {len(scores)} scores for {expected} rows")
    if kind == "classifier":
        bad = [score for score in scores if math.isnan(score) or not 0.0 <= score <= 1.0]
        if bad:
            raise LifecycleError(f"smoke test: {endpoint} answered scores outside [0, 1]: {bad[:5]}")
    elif not all(math.isfinite(score) for score in scores):
        raise LifecycleError(f"smoke test: {endpoint} answered values that are not finite: {scores[:5]}")
    return SmokeResult(
        endpoint=endpoint, rows=expected, scores=scores, variant=str(response.get("InvokedProductionVariant", ""))
    )
