"""`mlops labels upload` end to end: the console script against a moto server, as an operator runs it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3

from kernel.plan import Plan
from kernel.projects import load_project
from mlops.scenarios.traffic import customers, outcomes, write_traffic
from tests.cli.helpers import run


def test_labels_upload_refuses_bad_files_and_stores_good_ones_once(
    project: Path, moto_endpoint: str, plans: dict[str, Plan]
) -> None:
    outputs = plans["staging"].outputs["projects"]["churn"]  # the churn project's stack in staging
    bucket, key = outputs["bucket_names"]["monitoring"], outputs["key_arns"]["models"]
    s3 = boto3.client("s3", region_name="eu-west-1", endpoint_url=moto_endpoint)
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    stack_outputs = project / "churn-staging-outputs.json"  # what `pulumi stack output --json` prints
    stack_outputs.write_text(json.dumps(outputs))
    frame = customers(20)
    spec = load_project(project, "churn").spec()
    traffic = write_traffic(
        project / "traffic", frame, outcomes(frame, "original"), lambda part: [0.5] * len(part),
        features=spec.features, sensitive=spec.sensitive, start=datetime(2026, 11, 25, tzinfo=UTC), hours=1,
        missing=0.0,
    )  # fmt: skip
    good = traffic.labels / "labels.jsonl"
    common = [
        "--stack",
        "staging",
        "--project",
        "churn",
        "--outputs",
        str(stack_outputs),
        "--endpoint-url",
        moto_endpoint,
    ]

    bad = project / "bad.csv"
    bad.write_text(
        "inference_id,label,event_time\nnobody,1,2026-11-29T09:00:00Z\nreq-000000-1,maybe,2026-11-29T09:00:00Z\n"
    )
    refused = run("labels", "upload", str(bad), *common, "--capture", str(traffic.capture), cwd=project)
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert f"{bad}:2: inference_id: nobody: no captured prediction has this id" in refused.stderr
    assert f"{bad}:3: label: 'maybe' is not a class" in refused.stderr
    assert "nothing was written" in refused.stderr
    assert s3.list_objects_v2(Bucket=bucket).get("KeyCount") == 0

    stored = run("labels", "upload", str(good), *common, "--capture", str(traffic.capture), cwd=project)
    assert stored.returncode == 0, stored.stderr
    assert f"20 label(s) stored: s3://{bucket}/churn/labels/" in stored.stdout
    again = run("labels", "upload", str(good), *common, cwd=project)
    assert "already stored (same content), nothing written" in again.stdout
    (listed,) = s3.list_objects_v2(Bucket=bucket)["Contents"]
    head = s3.head_object(Bucket=bucket, Key=listed["Key"])
    assert head["ServerSideEncryption"] == "aws:kms" and head["SSEKMSKeyId"] == key
    latest = max(json.loads(line)["event_time"] for line in good.read_text().splitlines())
    assert listed["Key"].startswith(f"churn/labels/{latest[:10].replace('-', '/')}/")
    assert datetime.fromisoformat(latest) - datetime(2026, 11, 25, tzinfo=UTC) < timedelta(days=4)
