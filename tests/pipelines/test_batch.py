"""Batch scoring against moto: encrypted, idempotent, and refused without a model."""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

from pipelines.lifecycle import LifecycleError
from pipelines.lifecycle.batch import batch_score

ARGS = {
    "input_uri": "s3://in/rows/",
    "output_uri": "s3://out/scores/",
    "instance_type": "ml.m5.large",
    "kms_key_arn": "arn:aws:kms:eu-west-1:123456789012:key/k",
    "prefix": "mlops-staging",
}


def test_batch_job_is_encrypted_and_started_once() -> None:
    with mock_aws():
        client = boto3.client("sagemaker", region_name="eu-west-1")
        with pytest.raises(LifecycleError, match="model mlops-staging-churn-primary-v3 does not exist"):
            batch_score(client, model_name="mlops-staging-churn-primary-v3", **ARGS)
        client.create_model(
            ModelName="mlops-staging-churn-primary-v3",
            PrimaryContainer={"Image": "img", "ModelDataUrl": "s3://b/m.tar.gz"},
            ExecutionRoleArn="arn:aws:iam::123456789012:role/mlops-staging-model",
        )
        first = batch_score(client, model_name="mlops-staging-churn-primary-v3", **ARGS)
        again = batch_score(client, model_name="mlops-staging-churn-primary-v3", **ARGS)
        job = client.describe_transform_job(TransformJobName=first.name)
    assert first.started and not again.started and again.name == first.name
    assert job["TransformOutput"]["KmsKeyId"] == ARGS["kms_key_arn"]
    assert job["TransformResources"]["VolumeKmsKeyId"] == ARGS["kms_key_arn"]


def test_non_s3_locations_are_refused() -> None:
    with pytest.raises(LifecycleError, match="is not an S3 URI"):
        batch_score(None, model_name="m", **{**ARGS, "input_uri": "/tmp/rows"})
