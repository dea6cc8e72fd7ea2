"""Labels in: a bad file is refused whole, naming file, line, column and fix; a good one is stored once, encrypted.

S3 behaviour comes from moto 5.2.5 and botocore's S3 model: `PutObject` `IfNoneMatch: *` answers 412
Precondition Failed when the key exists (its documentation), SSE-KMS with the key given.
"""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from pipelines.quality.labels import (
    LabelFileError,
    LabelSchema,
    canonical,
    label_key,
    label_schema,
    read_labels,
    upload_labels,
)

KEY = "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555"
BUCKET = "mlops-dev-monitoring"
KNOWN = {"a-0", "a-1", "b"}
CHURN = label_schema("classifier")
"""The churn project's labels (projects/churn/project.yaml: a classifier of `churned`)."""


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_a_good_csv_and_jsonl_of_the_same_labels_store_the_same_content(tmp_path: Path) -> None:
    as_csv = write(
        tmp_path / "l.csv",
        "inference_id,label,event_time\na-1,0,2026-11-28T09:00:00Z\na-0,1,2026-11-29T10:00:00+01:00\n",
    )
    as_jsonl = write(tmp_path / "l.jsonl", json.dumps({"inference_id": "a-0", "label": 1, "event_time": "2026-11-29T09:00:00Z"})
                     + "\n" + json.dumps({"inference_id": "a-1", "label": "0", "event_time": "2026-11-28T09:00:00Z"}) + "\n")  # fmt: skip
    one, two = read_labels(as_csv, CHURN, KNOWN), read_labels(as_jsonl, CHURN, KNOWN)
    assert canonical(one) == canonical(two)
    assert label_key(one).startswith("labels/2026/11/29/") and label_key(one) == label_key(two)
    assert [label.label for label in sorted(one, key=lambda label: label.inference_id)] == [1, 0]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("inference_id,label,event_time\nzzz,1,2026-11-29T09:00:00Z\n", "l.csv:2: inference_id: zzz: no captured prediction has this id"),
        ("inference_id,label,event_time\nb,1,2026-11-29T09:00:00Z\nb,0,2026-11-29T09:00:00Z\n", "l.csv:3: inference_id: b again (first on line 2); keep one"),
        ("inference_id,label,event_time\nb,yes,2026-11-29T09:00:00Z\n", "l.csv:2: label: 'yes' is not a class; use one of [0, 1]"),
        ("inference_id,label,event_time\nb,2,2026-11-29T09:00:00Z\n", "l.csv:2: label: 2 is outside the target's classes [0, 1]"),
        ("inference_id,label,event_time\nb,1,2026-11-29 09:00\n", "l.csv:2: event_time: '2026-11-29 09:00' has no zone; add Z (UTC) or an offset"),
        ("inference_id,label,event_time\nb,1,yesterday\n", "l.csv:2: event_time: 'yesterday' is not ISO-8601"),
        ("inference_id,label\nb,1\n", "l.csv:1: header: lacks event_time: the first row must be exactly inference_id,label,event_time"),
        ("inference_id,label,event_time\nb,,2026-11-29T09:00:00Z\n", "l.csv:2: label: missing"),
    ],
)  # fmt: skip
def test_a_bad_row_is_refused_with_file_line_column_and_fix(tmp_path: Path, body: str, expected: str) -> None:
    with pytest.raises(LabelFileError) as refused:
        read_labels(write(tmp_path / "l.csv", body), CHURN, KNOWN)
    assert expected in str(refused.value) and str(refused.value).endswith("nothing was written")


def test_jsonl_wrong_types_and_stray_keys(tmp_path: Path) -> None:
    lines = [
        {"inference_id": 7, "label": 1, "event_time": "2026-11-29T09:00:00Z"},
        {"inference_id": "b", "label": True, "event_time": "2026-11-29T09:00:00Z"},
        {"inference_id": "a-0", "label": 1, "event_time": "2026-11-29T09:00:00Z", "customer": "C1"},
    ]
    file = write(tmp_path / "l.jsonl", "\n".join(json.dumps(line) for line in lines) + "\nnot json\n")
    with pytest.raises(LabelFileError) as refused:
        read_labels(file, CHURN, KNOWN)
    message = str(refused.value)
    assert "l.jsonl:3: customer: not a label column" in message and "l.jsonl:4: line: not JSON" in message
    file = write(tmp_path / "l.jsonl", "\n".join(json.dumps(line) for line in lines[:2]) + "\n")
    with pytest.raises(LabelFileError) as refused:
        read_labels(file, CHURN, KNOWN)
    assert "l.jsonl:1: inference_id: 7 is not an id" in str(refused.value)
    assert "l.jsonl:2: label: True is not a class" in str(refused.value)


def test_a_regressor_label_is_numeric_within_its_range(tmp_path: Path) -> None:
    schema = LabelSchema("regressor", minimum=0.0, maximum=1000.0)
    good = write(tmp_path / "r.csv", "inference_id,label,event_time\nb,12.5,2026-11-29T09:00:00Z\n")
    assert read_labels(good, schema)[0].label == 12.5
    for value, message in (
        ("abc", "is not a number"),
        ("-3", r"outside the target.s range \[0\.0, 1000\.0\]"),
        ("nan", "not a finite"),
    ):
        bad = write(tmp_path / "r.csv", f"inference_id,label,event_time\nb,{value},2026-11-29T09:00:00Z\n")
        with pytest.raises(LabelFileError, match=message):
            read_labels(bad, schema)  # fmt: skip


def test_an_unknown_format_or_an_empty_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(LabelFileError, match=r"l\.txt:0: file: \.txt: name it \.csv or \.jsonl"):
        read_labels(write(tmp_path / "l.txt", "x"), CHURN)
    with pytest.raises(LabelFileError, match="no labels"):
        read_labels(write(tmp_path / "l.csv", "inference_id,label,event_time\n"), CHURN)


def test_upload_is_encrypted_with_the_given_key_and_idempotent(tmp_path: Path) -> None:
    labels = read_labels(write(tmp_path / "l.csv", "inference_id,label,event_time\nb,1,2026-11-29T09:00:00Z\n"), CHURN)
    with mock_aws():
        s3 = boto3.client("s3", region_name="eu-west-1")
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        first = upload_labels(s3, BUCKET, KEY, labels, "churn/labels/")
        again = upload_labels(s3, BUCKET, KEY, labels, "churn/labels/")
        key = first.uri.removeprefix(f"s3://{BUCKET}/")
        stored = s3.get_object(Bucket=BUCKET, Key=key)
        versions = s3.list_object_versions(Bucket=BUCKET).get("Versions", [])
    assert first.written and not again.written and again.uri == first.uri
    assert key.startswith("churn/labels/2026/11/29/") and key.endswith(".jsonl")
    assert stored["ServerSideEncryption"] == "aws:kms" and stored["SSEKMSKeyId"] == KEY
    assert json.loads(stored["Body"].read()) == {"event_time": "2026-11-29T09:00:00Z", "inference_id": "b", "label": 1}
    assert len(versions) == 1, "the retry wrote nothing"


def test_a_refused_file_writes_nothing(tmp_path: Path) -> None:
    bad = write(
        tmp_path / "l.csv", "inference_id,label,event_time\nb,1,2026-11-29T09:00:00Z\nzzz,1,2026-11-29T09:00:00Z\n"
    )
    with mock_aws():
        s3 = boto3.client("s3", region_name="eu-west-1")
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        with pytest.raises(LabelFileError):
            upload_labels(s3, BUCKET, KEY, read_labels(bad, CHURN, KNOWN))
        assert s3.list_objects_v2(Bucket=BUCKET).get("KeyCount") == 0
