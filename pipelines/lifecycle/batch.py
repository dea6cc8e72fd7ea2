"""Batch transform: score a whole S3 prefix with the model an environment serves, encrypted end to end.

For models scored in batch rather than behind an endpoint. The job name is derived from its whole
request, so re-running it (or botocore retrying it after a lost response) finds the job already
started instead of scoring the data twice.

The output carries an id column: the job asks the inference handler for `text/csv;inference-ids=true`
and joins its answer to the input (`JoinSource: Input` appends the transformed row to the input row
for CSV, developer guide "Associate Prediction Results with Input Records"), so each output line is
`<input columns>,<inference_id>,<probability>`: the key labels are later sent back with.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from pipelines.aws_errors import is_not_found
from pipelines.lifecycle import LifecycleError
from pipelines.lifecycle.jobs import job_name, start_once

ACCEPT_WITH_IDS = "text/csv;inference-ids=true"
"""What the inference handler (pipelines/steps/inference.py, `CSV_WITH_IDS`) answers with an id per row."""


@dataclass(frozen=True)
class BatchJob:
    """A transform job and whether this call started it."""

    name: str
    arn: str
    status: str
    started: bool


def batch_score(
    client: Any,
    *,
    model_name: str,
    input_uri: str,
    output_uri: str,
    instance_type: str,
    kms_key_arn: str,
    prefix: str,
) -> BatchJob:
    """Start (or find) the transform job scoring `input_uri` into `output_uri`."""
    for uri in (input_uri, output_uri):
        if not uri.startswith("s3://"):
            raise LifecycleError(f"{uri!r} is not an S3 URI (s3://bucket/prefix)")
    request: dict[str, Any] = {
        "ModelName": model_name,
        "TransformInput": {
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": input_uri}},
            "ContentType": "text/csv",
            "SplitType": "Line",
        },
        "TransformOutput": {
            "S3OutputPath": output_uri,
            "Accept": ACCEPT_WITH_IDS,
            "AssembleWith": "Line",
            "KmsKeyId": kms_key_arn,
        },
        "TransformResources": {"InstanceType": instance_type, "InstanceCount": 1, "VolumeKmsKeyId": kms_key_arn},
        "DataProcessing": {"InputFilter": "$", "JoinSource": "Input", "OutputFilter": "$"},
        "BatchStrategy": "MultiRecord",
    }
    name = job_name(prefix, "batch", request)
    try:
        client.describe_model(ModelName=model_name)
    except ClientError as error:
        if is_not_found(error):
            raise LifecycleError(f"model {model_name} does not exist; pin and deploy a package first") from error
        raise
    job, started = start_once(
        lambda: client.describe_transform_job(TransformJobName=name),
        lambda: client.create_transform_job(TransformJobName=name, **request),
    )
    return BatchJob(name, job["TransformJobArn"], str(job.get("TransformJobStatus", "InProgress")), started)
