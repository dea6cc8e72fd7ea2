"""The Spark ingestion pipeline compiles offline into a job AWS would accept, in the VPC with KMS.

The request is checked against botocore's model of CreateProcessingJob (its shapes, lengths and
limits), the image against the SDK's image table for Spark 3.5 / py312 and the catalog's record of it.
"""

from __future__ import annotations

import copy
from typing import Any

import botocore.session
import pytest
from botocore.validate import ParamValidator

from kernel.projects import load_project
from pipelines.definitions.ingestion import (
    CONNECTOR_JAR,
    CONNECTOR_PREFIX,
    CONNECTOR_PY,
    MAX_ARGUMENT,
    IngestionPipelineSettings,
    compile_ingestion_definition,
    feature_arguments,
)
from pipelines.definitions.sdk import load_sdk
from pipelines.images import STEP_IMAGES, image
from pipelines.parity import PROJECT_ROOT
from tests.pipelines.conftest import refusing_aws

KMS = "arn:aws:kms:eu-west-1:111111111111:key/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"


@pytest.fixture(scope="module")
def settings() -> IngestionPipelineSettings:
    schema = load_project(PROJECT_ROOT, "churn").schema
    record = image(STEP_IMAGES["ingest_spark.py"])
    uri = load_sdk("eu-west-1").image_uris.retrieve(
        record.framework, "eu-west-1", version=record.version, py_version="py312", instance_type="ml.m5.xlarge"
    )
    return IngestionPipelineSettings(
        image_uri=uri, region="eu-west-1", artifacts_bucket="mlops-dev-churn-artifacts", code_prefix="code/0a1b2c3d/",
        jobs_role_arn="arn:aws:iam::111111111111:role/mlops-dev-churn-jobs", kms_key_arn=KMS,
        subnet_ids=["subnet-0a1b2c3d4e5f60718", "subnet-1a2b3c4d5e6f70819"], security_group_ids=["sg-0a1b2c3d4e5f60718"],
        input_uri="s3://mlops-dev-churn-raw/churn/", feature_group=schema.name,
        feature_group_arn=f"arn:aws:sagemaker:eu-west-1:111111111111:feature-group/mlops-dev-churn-{schema.name}",
        identifier=schema.record_identifier, event_time=schema.event_time,
        feature_arguments=feature_arguments([(f.name, f.type) for f in schema.features]), target_stores=["OfflineStore"],
        instance_type="ml.m5.xlarge", instance_count=4, max_runtime_seconds=7200,
    )  # fmt: skip


@pytest.fixture(scope="module")
def job(settings: IngestionPipelineSettings) -> dict[str, Any]:
    with refusing_aws() as calls:
        definition = compile_ingestion_definition(settings)
    assert calls == [], "compiling made no AWS call and uploaded nothing"
    (step,) = definition["Steps"]
    assert step["Name"] == "IngestFeatures" and step["Type"] == "Processing" and "CacheConfig" not in step
    arguments: dict[str, Any] = step["Arguments"]
    return arguments


def _concrete(request: dict[str, Any]) -> dict[str, Any]:
    """The request as SageMaker receives it at run time: pipeline parameters replaced by their defaults."""
    concrete = copy.deepcopy(request)
    concrete["ProcessingJobName"] = "pipelines-ingestion-0a1b2c3d"
    cluster = concrete["ProcessingResources"]["ClusterConfig"]
    cluster["InstanceType"] = "ml.m5.xlarge"
    app = concrete["AppSpecification"]
    app["ContainerArguments"] = [
        a if isinstance(a, str) else "s3://mlops-dev-churn-raw/churn/" for a in app["ContainerArguments"]
    ]
    for output in concrete["ProcessingOutputConfig"]["Outputs"]:
        output["S3Output"]["S3Uri"] = "s3://mlops-dev-churn-artifacts/pipelines/ingestion/x/IngestFeatures/report"
    return concrete


def test_the_job_is_a_valid_create_processing_job_request(job: dict[str, Any]) -> None:
    shape = (
        botocore.session.get_session().get_service_model("sagemaker").operation_model("CreateProcessingJob").input_shape
    )
    report = ParamValidator().validate(_concrete(job), shape)
    assert not report.has_errors(), report.generate_report()


def test_it_runs_in_the_vpc_encrypted_on_the_spark_image(
    job: dict[str, Any], settings: IngestionPipelineSettings
) -> None:
    network = job["NetworkConfig"]
    assert network["VpcConfig"] == {
        "Subnets": list(settings.subnet_ids),
        "SecurityGroupIds": list(settings.security_group_ids),
    }
    assert network["EnableInterContainerTrafficEncryption"] is True, "Spark's shuffle crosses instances"
    assert job["ProcessingResources"]["ClusterConfig"]["VolumeKmsKeyId"] == KMS
    assert job["ProcessingResources"]["ClusterConfig"]["InstanceCount"] == 4
    assert job["ProcessingOutputConfig"]["KmsKeyId"] == KMS
    record = image(STEP_IMAGES["ingest_spark.py"])
    assert job["AppSpecification"]["ImageUri"].endswith(f"/sagemaker-spark-processing:{record.version}-cpu-py312")
    assert job["RoleArn"].endswith("-jobs")


def test_spark_submits_the_step_and_the_connector_from_the_artifacts_bucket(job: dict[str, Any]) -> None:
    connector = f"s3://mlops-dev-churn-artifacts/{CONNECTOR_PREFIX}"
    assert job["AppSpecification"]["ContainerEntrypoint"] == [
        "smspark-submit", "--py-files", f"{connector}{CONNECTOR_PY}", "--jars", f"{connector}{CONNECTOR_JAR}",
        "/opt/ml/processing/input/code/ingest_spark.py",
    ]  # fmt: skip
    (code,) = job["ProcessingInputs"]
    assert code["S3Input"]["S3Uri"] == "s3://mlops-dev-churn-artifacts/code/0a1b2c3d/ingest_spark.py"


def test_the_arguments_carry_the_schema_and_the_target_stores(
    job: dict[str, Any], settings: IngestionPipelineSettings
) -> None:
    """The step's parser reads these (the Spark test runs the step on `feature_arguments`' packing)."""
    schema = load_project(PROJECT_ROOT, "churn").schema
    arguments = _concrete(job)["AppSpecification"]["ContainerArguments"]
    values = [arguments[i + 1] for i, a in enumerate(arguments) if a == "--feature"]
    assert [tuple(item.split("=")) for value in values for item in value.split(",")] == [
        (f.name, f.type) for f in schema.features
    ]
    assert arguments[arguments.index("--target-stores") + 1 :] == ["OfflineStore"]
    assert arguments[arguments.index("--input") + 1] == "s3://mlops-dev-churn-raw/churn/"


def test_feature_arguments_pack_within_the_api_s_argument_length() -> None:
    features = [(f"feature_{index:04d}_{'x' * 40}", "Fractional") for index in range(300)]
    packed = feature_arguments(features)
    values = packed[1::2]
    assert set(packed[0::2]) == {"--feature"} and all(len(value) <= MAX_ARGUMENT for value in values)
    assert [tuple(item.split("=")) for value in values for item in value.split(",")] == features
    assert len(values) == 100, "three 64-character items fit in one argument, a fourth would not"
