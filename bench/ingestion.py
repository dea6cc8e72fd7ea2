"""Ingestion throughput: the same records written sequentially and on 8 and 32 workers, at a fixed latency.

The endpoint (`bench.endpoint`) runs in a process of its own, so that its threads do not compete with
the client's for one interpreter; the client is the real boto3 `sagemaker-featurestore-runtime`
client pointed at it with `endpoint_url`, and `ingest` is the code `mlops features ingest` runs.
Each run writes `per_worker` records per worker (at least `per_worker`), so every run lasts about as
long; the figure is records written per second of writing (validation excluded).
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from infra.plan.evaluate import PROJECT_ROOT
from kernel.feature_schema import FeatureGroupSchema
from kernel.projects import load_project
from pipelines.features.ingest import feature_store_client, ingest

SAMPLE = load_project(PROJECT_ROOT, "churn").sample_data
"""The churn project's sample dataset, the rows every benchmark multiplies."""


WORKERS = (1, 8, 32)
"""1 is the sequential path (no threads); 8 and 32 run lanes on that many threads."""
GROUP = "mlops-bench-customer-churn"


@contextmanager
def endpoint(latency: float) -> Iterator[str]:
    """A PutRecord endpoint answering after `latency` seconds, in its own process; yields its URL."""
    process = subprocess.Popen(  # noqa: S603 - this interpreter, running our own module
        [sys.executable, "-m", "bench.endpoint", "--latency", str(latency)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        if not url.startswith("http://127.0.0.1:"):
            raise RuntimeError(f"the PutRecord endpoint did not start (it printed {url!r})")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def records(schema: FeatureGroupSchema, count: int) -> list[dict[str, Any]]:
    """`count` valid records: the shipped sample's rows, repeated under fresh identifiers."""
    with SAMPLE.open(encoding="utf-8") as handle:
        rows = [schema.parse_row(row) for row in csv.DictReader(handle)]
    return [
        {**rows[n % len(rows)], schema.record_identifier: f"B{n:07d}"}  # fresh ids: each write is a new record
        for n in range(count)
    ]


def run(latency: float = 0.02, per_worker: int = 60) -> dict[str, Any]:
    """Records per second at each worker count, and each one's speed-up over the sequential run."""
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")  # the endpoint checks no signature, botocore needs one
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    schema = load_project(PROJECT_ROOT, "churn").schema
    results = []
    with endpoint(latency) as url:
        for workers in WORKERS:
            batch = records(schema, per_worker * workers)
            client = feature_store_client("eu-west-1", url, workers=workers)
            report = ingest(client, GROUP, schema, batch, workers=workers, batch_size=len(batch))
            results.append(
                {
                    "workers": workers,
                    "records": report.written,
                    "seconds": round(report.seconds, 3),
                    "records_per_s": round(report.rate, 1),
                    "retries": report.retries,
                }
            )
    sequential = results[0]["records_per_s"]
    for result in results:
        result["speedup"] = round(result["records_per_s"] / sequential, 2)
    return {
        "latency_ms": latency * 1000,
        "runs": results,
        "target": "parallel >= 20x sequential at 20 ms per call",
        "met": results[-1]["speedup"] >= 20,
    }
