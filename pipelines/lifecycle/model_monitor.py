"""The Model Monitor backend's baseline: a suggest-baseline job of the Model Monitor analyzer.

With `monitoring.backend: model-monitor`, the data-quality schedule compares captured traffic with
`statistics.json` and `constraints.json` under `s3://<monitoring bucket>/model-monitor/<endpoint>/baseline/`.
This starts the analyzer on the served model's training split to write them there, in the VPC and
encrypted; the job name is derived from its whole request, so a retry (or botocore's, after a lost
response) finds the job instead of starting another.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from pipelines.lifecycle import LifecycleError
from pipelines.lifecycle.jobs import job_name, start_once


def suggest_baseline(
    client: Any,
    *,
    prefix: str,
    image_uri: str,
    role_arn: str,
    train_uri: str,
    output_uri: str,
    kms_key_arn: str,
    subnet_ids: Sequence[str],
    security_group_ids: Sequence[str],
    instance_type: str,
) -> tuple[str, bool]:
    """Start (or find) the baselining job; returns its name and whether this call started it."""
    if not train_uri.startswith("s3://"):
        raise LifecycleError(f"{train_uri!r} is not an S3 URI of the training split")
    request: dict[str, Any] = dict(
        RoleArn=role_arn,
        AppSpecification={"ImageUri": image_uri},
        Environment={
            "dataset_format": json.dumps({"csv": {"header": True, "output_columns_position": "START"}}),
            "dataset_source": "/opt/ml/processing/input/baseline_dataset_input",
            "output_path": "/opt/ml/processing/output",
            "publish_cloudwatch_metrics": "Disabled",
        },
        ProcessingInputs=[
            {
                "InputName": "baseline_dataset_input",
                "S3Input": {
                    "S3Uri": train_uri,
                    "LocalPath": "/opt/ml/processing/input/baseline_dataset_input",
                    "S3DataType": "S3Prefix",
                    "S3InputMode": "File",
                },
            }
        ],
        ProcessingOutputConfig={
            "Outputs": [
                {
                    "OutputName": "monitoring_output",
                    "S3Output": {
                        "S3Uri": output_uri,
                        "LocalPath": "/opt/ml/processing/output",
                        "S3UploadMode": "EndOfJob",
                    },
                }
            ],
            "KmsKeyId": kms_key_arn,
        },
        ProcessingResources={
            "ClusterConfig": {
                "InstanceCount": 1,
                "InstanceType": instance_type,
                "VolumeSizeInGB": 20,
                "VolumeKmsKeyId": kms_key_arn,
            }
        },
        NetworkConfig={
            "EnableNetworkIsolation": True,
            "EnableInterContainerTrafficEncryption": True,
            "VpcConfig": {"Subnets": list(subnet_ids), "SecurityGroupIds": list(security_group_ids)},
        },
        StoppingCondition={"MaxRuntimeInSeconds": 3600},
    )
    name = job_name(prefix, "baseline", request)
    _, started = start_once(
        lambda: client.describe_processing_job(ProcessingJobName=name),
        lambda: client.create_processing_job(ProcessingJobName=name, **request),
    )
    return name, started
