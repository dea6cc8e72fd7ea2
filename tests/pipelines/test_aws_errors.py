"""AWS failures classified in botocore's terms, and lifecycle calls that tell "absent" from "could not ask".

Real boto3 clients with botocore's Stubber (it validates each request and response against the
service model); the error codes, HTTP statuses and messages are those SageMaker answers.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, ConnectionClosedError, EndpointConnectionError, NoCredentialsError
from botocore.stub import Stubber

from pipelines.aws_errors import already_exists, classify, is_not_found, watch
from pipelines.lifecycle import LifecycleError
from pipelines.lifecycle.batch import batch_score
from pipelines.lifecycle.model_monitor import suggest_baseline
from pipelines.lifecycle.registry import describe
from pipelines.pipeline_ops import PipelineError, start_pipeline

ARN = "arn:aws:sagemaker:eu-west-1:123456789012:model-package/mlops-dev-churn-model/1"


@pytest.fixture
def sagemaker() -> Iterator[tuple[Any, Stubber]]:
    client = watch(boto3.client("sagemaker", region_name="eu-west-1"))
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def failure_of(client: Any, call: str, **params: Any) -> ClientError:
    with pytest.raises(ClientError) as caught:
        getattr(client, call)(**params)
    return caught.value


@pytest.mark.parametrize(
    ("code", "status", "kind"),
    [
        ("ThrottlingException", 400, "throttled"),
        ("TooManyRequestsException", 400, "throttled"),
        ("SomethingNew", 429, "throttled"),
        ("InternalFailure", 500, "transient"),
        ("ServiceUnavailable", 503, "transient"),
        ("RequestTimeout", 400, "transient"),
        ("AccessDeniedException", 400, "denied"),
        ("ExpiredTokenException", 400, "credentials"),
        ("ValidationException", 400, "refused"),
    ],
)
def test_client_errors_are_classified_as_botocore_retries_them(
    sagemaker: tuple[Any, Stubber], code: str, status: int, kind: str
) -> None:
    client, stubber = sagemaker
    stubber.add_client_error(
        "describe_model_package", code, "message", status, expected_params={"ModelPackageName": ARN}
    )
    failure = classify(failure_of(client, "describe_model_package", ModelPackageName=ARN))
    assert failure is not None and failure.kind == kind
    assert failure.retryable is (kind in ("throttled", "transient"))
    assert failure.operation == "DescribeModelPackage" and failure.resource == ARN


def test_one_line_says_what_failed_and_what_helps(sagemaker: tuple[Any, Stubber]) -> None:
    client, stubber = sagemaker
    message = (
        f"User: arn:aws:sts::1:assumed-role/ci/x is not authorized to perform: sagemaker:UpdateModelPackage on {ARN}"
    )
    stubber.add_client_error("update_model_package", "AccessDeniedException", message, 400)
    denied = classify(failure_of(client, "update_model_package", ModelPackageArn=ARN))
    assert denied is not None and denied.action == "sagemaker:UpdateModelPackage"
    line = denied.line()
    assert "\n" not in line and line.startswith(f"UpdateModelPackage {ARN} failed: AccessDeniedException: User:")
    assert line.endswith("retrying will not help: the caller lacks sagemaker:UpdateModelPackage")
    stubber.add_client_error("describe_model_package", "ThrottlingException", "Rate exceeded", 400)
    throttled = classify(failure_of(client, "describe_model_package", ModelPackageName=ARN))
    assert throttled is not None and "retrying may help" in throttled.line()


def test_lost_connections_and_missing_credentials_are_classified() -> None:
    reset = classify(ConnectionClosedError(endpoint_url="https://api.sagemaker.eu-west-1.amazonaws.com"))
    refused = classify(EndpointConnectionError(endpoint_url="https://api.sagemaker.eu-west-1.amazonaws.com"))
    assert reset is not None and reset.kind == "transient" and refused is not None and refused.kind == "transient"
    missing = classify(NoCredentialsError())
    assert missing is not None and missing.kind == "credentials" and "aws sso login" in missing.line()
    assert classify(ValueError("not AWS")) is None


def test_a_throttled_describe_is_could_not_ask_not_does_not_exist(sagemaker: tuple[Any, Stubber]) -> None:
    client, stubber = sagemaker
    stubber.add_client_error("describe_model_package", "ThrottlingException", "Rate exceeded", 400)
    with pytest.raises(ClientError, match="ThrottlingException"):
        describe(client, ARN)
    stubber.add_client_error(
        "describe_model_package", "ValidationException", f"ModelPackage {ARN} does not exist.", 400
    )
    with pytest.raises(LifecycleError, match=f"model package {ARN} does not exist$"):
        describe(client, ARN)


def test_a_throttled_pipeline_lookup_is_could_not_ask(sagemaker: tuple[Any, Stubber]) -> None:
    client, stubber = sagemaker
    stubber.add_client_error("describe_pipeline", "ThrottlingException", "Rate exceeded", 400)
    with pytest.raises(ClientError, match="ThrottlingException"):
        start_pipeline(client, "mlops-dev-training", {}, token="t")
    stubber.add_client_error("describe_pipeline", "ResourceNotFound", "Pipeline mlops-dev-training not found", 400)
    with pytest.raises(PipelineError, match="does not exist here"):
        start_pipeline(client, "mlops-dev-training", {}, token="t")


def test_not_found_and_already_exists_follow_sagemakers_answers(sagemaker: tuple[Any, Stubber]) -> None:
    client, stubber = sagemaker
    stubber.add_client_error("describe_processing_job", "ValidationException", "Could not find job x", 400)
    assert is_not_found(failure_of(client, "describe_processing_job", ProcessingJobName="x"))
    stubber.add_client_error("describe_processing_job", "ValidationException", "1 validation error detected", 400)
    assert not is_not_found(failure_of(client, "describe_processing_job", ProcessingJobName="x"))
    stubber.add_client_error("describe_pipeline", "ResourceNotFound", "", 400)
    assert is_not_found(failure_of(client, "describe_pipeline", PipelineName="x"))
    stubber.add_client_error("delete_model", "ResourceInUse", "in use", 400)
    assert already_exists(failure_of(client, "delete_model", ModelName="x"))


BATCH = {
    "model_name": "mlops-staging-churn-primary-v3",
    "input_uri": "s3://in/rows/",
    "output_uri": "s3://out/scores/",
    "instance_type": "ml.m5.large",
    "kms_key_arn": "arn:aws:kms:eu-west-1:123456789012:key/k",
    "prefix": "mlops-staging",
}


def test_a_lost_create_transform_job_response_finds_the_job(sagemaker: tuple[Any, Stubber]) -> None:
    """The first create was applied, its response lost; botocore's retry is refused as a duplicate name."""
    client, stubber = sagemaker
    stubber.add_response(
        "describe_model",
        {
            "ModelName": BATCH["model_name"],
            "CreationTime": datetime.now(UTC),
            "ModelArn": "arn:aws:sagemaker:eu-west-1:123456789012:model/m",
        },
    )
    stubber.add_client_error("describe_transform_job", "ValidationException", "Could not find requested job", 400)
    stubber.add_client_error(
        "create_transform_job", "ResourceInUse", "Job name must be unique within an AWS account and region", 400
    )
    arn = "arn:aws:sagemaker:eu-west-1:123456789012:transform-job/x"
    stubber.add_response(
        "describe_transform_job",
        {"TransformJobName": "x", "TransformJobArn": arn, "TransformJobStatus": "InProgress",
         "ModelName": BATCH["model_name"], "CreationTime": datetime.now(UTC),
         "TransformInput": {"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://in/rows/"}}},
         "TransformResources": {"InstanceType": "ml.m5.large", "InstanceCount": 1}},
    )  # fmt: skip
    job = batch_score(client, **BATCH)
    assert (job.arn, job.status, job.started) == (arn, "InProgress", False)


def test_a_lost_create_processing_job_response_finds_the_job(sagemaker: tuple[Any, Stubber]) -> None:
    client, stubber = sagemaker
    stubber.add_client_error("describe_processing_job", "ValidationException", "Could not find job", 400)
    stubber.add_client_error("create_processing_job", "ResourceInUse", "a job with this name already exists", 400)
    stubber.add_response(
        "describe_processing_job",
        {"ProcessingJobName": "x", "ProcessingJobArn": "arn:aws:sagemaker:eu-west-1:1:processing-job/x", "ProcessingJobStatus": "InProgress",
         "CreationTime": datetime.now(UTC), "AppSpecification": {"ImageUri": "i"},
         "ProcessingResources": {"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large",
                                                   "VolumeSizeInGB": 20}}},
    )  # fmt: skip
    name, started = suggest_baseline(
        client, prefix="mlops-prod", image_uri="i", role_arn="arn:aws:iam::1:role/r", train_uri="s3://b/train/",
        output_uri="s3://m/baseline", kms_key_arn="arn:aws:kms:eu-west-1:1:key/k", subnet_ids=["subnet-1"],
        security_group_ids=["sg-1"], instance_type="ml.m5.large",
    )  # fmt: skip
    assert name.startswith("mlops-prod-baseline-") and len(name) <= 63 and started is False


def test_a_throttled_smoke_test_is_could_not_ask_and_a_model_error_is_a_failed_test() -> None:
    from pipelines.lifecycle.smoke import smoke_test

    runtime = watch(boto3.client("sagemaker-runtime", region_name="eu-west-1"))
    with Stubber(runtime) as stubber:
        stubber.add_client_error("invoke_endpoint", "ThrottlingException", "Rate exceeded", 400)
        with pytest.raises(ClientError, match="ThrottlingException"):
            smoke_test(runtime, "mlops-staging-churn-model", "a,b\n1,2\n")
        stubber.add_client_error("invoke_endpoint", "ModelError", "the model raised", 424)
        with pytest.raises(LifecycleError, match="smoke test: invoking mlops-staging-churn-model failed"):
            smoke_test(runtime, "mlops-staging-churn-model", "a,b\n1,2\n")
