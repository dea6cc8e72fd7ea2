"""The bulk ingestion pipeline: one Spark processing job that runs `steps/ingest_spark.py` on a dataset.

Chosen per project and environment by `featureStore.ingestion.engine: spark`. The job runs on SageMaker's
Spark processing image (3.5, Python 3.12) on `instance_count` instances, in the VPC's private subnets with
KMS-encrypted volumes, outputs and inter-container traffic (Spark's shuffle crosses instances), under the
jobs role. Spark reads the input straight from S3 (EMRFS), so no instance copies the whole dataset to its
volume first. The Feature Store Spark connector, which the image does not install, is submitted with the
job from the artifacts bucket (`CONNECTOR_PREFIX`, staged once per account: README "Scaling").

Compiling makes no AWS call: the SDK's `PySparkProcessor.run` only records its request under a
`PipelineSession` when every submitted file is an S3 URI.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pipelines.definitions.jobs import JobBuilder

OUTPUT_PREFIX = "pipelines/ingestion"
SCRIPT = "ingest_spark.py"
CODE_DIR = "/opt/ml/processing/input/code"
"""Where the processing job mounts the submitted application (the SDK's `code` input)."""
CONNECTOR_VERSION = "2.2.2"
"""sagemaker-feature-store-pyspark on PyPI: the connector release for Spark 3.1 to 3.5 and Python 3.12."""
CONNECTOR_PREFIX = f"connectors/sagemaker-feature-store-pyspark-{CONNECTOR_VERSION}/"
"""Key prefix, in the artifacts bucket, of the connector's JVM library and Python package."""
CONNECTOR_JAR = "sagemaker-feature-store-spark-sdk-3.5.jar"
"""The package's jar for Spark 3.5 (`feature_store_pyspark/jars/`), the image's Spark."""
CONNECTOR_PY = "feature_store_pyspark.zip"
"""The package's Python wrapper (`feature_store_pyspark/`), zipped for `--py-files`."""
MAX_ARGUMENT = 256
"""AppSpecification.ContainerArguments: at most 256 arguments of at most 256 characters (botocore's model)."""


@dataclass(frozen=True)
class IngestionPipelineSettings:
    """Everything environment-specific the ingestion definition contains."""

    image_uri: str
    """SageMaker's Spark processing image of the region (`templates.spark_image(region)`)."""
    region: str
    artifacts_bucket: str
    code_prefix: str
    jobs_role_arn: str
    kms_key_arn: str
    subnet_ids: Sequence[str]
    security_group_ids: Sequence[str]
    input_uri: str
    """The dataset to ingest (a CSV file or prefix with a header), a pipeline parameter's default."""
    feature_group: str
    """The schema's name (`features/<name>.yaml`)."""
    feature_group_arn: str
    identifier: str
    event_time: str
    feature_arguments: Sequence[str]
    """The schema as the step's arguments: `feature_arguments(features)`."""
    target_stores: Sequence[str]
    instance_type: str
    instance_count: int
    max_runtime_seconds: int

    @property
    def code_uri(self) -> str:
        """Where the step scripts are staged."""
        return f"s3://{self.artifacts_bucket}/{self.code_prefix}"


def feature_arguments(features: Sequence[tuple[str, str]]) -> list[str]:
    """`--feature name=Type,name=Type...`, each value packed to at most `MAX_ARGUMENT` characters."""
    packed: list[str] = []
    for name, kind in features:
        item = f"{name}={kind}"
        if packed and len(packed[-1]) + 1 + len(item) <= MAX_ARGUMENT:
            packed[-1] += f",{item}"
        else:
            packed.append(item)
    return [argument for value in packed for argument in ("--feature", value)]


def compile_ingestion_definition(
    settings: IngestionPipelineSettings, session_region: str | None = None
) -> dict[str, Any]:
    """The ingestion pipeline definition as data, with stable key order."""
    builder = _Builder(settings, session_region or settings.region)
    definition = json.loads(builder.pipeline().definition())
    for step in definition["Steps"]:
        # The SDK names the mounted script after its S3 key's last segment: `ingest_spark.py` for every real
        # code prefix, but a template's placeholder prefix would leak into it.
        step["Arguments"]["AppSpecification"]["ContainerEntrypoint"][-1] = f"{CODE_DIR}/{SCRIPT}"
    normalized: dict[str, Any] = json.loads(json.dumps(definition, sort_keys=True))
    return normalized


class _Builder(JobBuilder):
    def __init__(self, settings: IngestionPipelineSettings, session_region: str) -> None:
        super().__init__(settings, session_region, role_arn=settings.jobs_role_arn, output_prefix=OUTPUT_PREFIX)
        self.s = settings
        self.input = self.sdk.ParameterString("InputData", default_value=settings.input_uri)
        self.job_instance_type = self.sdk.ParameterString(
            "ProcessingInstanceType", default_value=settings.instance_type
        )

    def pipeline(self) -> Any:
        return self.sdk.Pipeline(
            name="ingestion",
            parameters=[self.input, self.job_instance_type],
            steps=[self._ingest()],
            sagemaker_session=self.session,
        )

    def _ingest(self) -> Any:
        from sagemaker.core.spark.processing import PySparkProcessor

        sdk, s = self.sdk, self.s
        connector = f"s3://{s.artifacts_bucket}/{CONNECTOR_PREFIX}"
        processor = PySparkProcessor(
            role=s.jobs_role_arn,
            image_uri=s.image_uri,
            instance_count=s.instance_count,
            instance_type=self.job_instance_type,
            volume_kms_key=s.kms_key_arn,
            output_kms_key=s.kms_key_arn,
            max_runtime_in_seconds=s.max_runtime_seconds,
            network_config=self._network(isolated=False),
            sagemaker_session=self.session,
        )
        arguments = [
            "--input", self.input, "--output", "/opt/ml/processing/report",
            "--feature-group", s.feature_group, "--feature-group-arn", s.feature_group_arn,
            "--identifier", s.identifier, "--event-time", s.event_time,
            *s.feature_arguments, "--target-stores", *s.target_stores,
        ]  # fmt: skip
        step_args = processor.run(
            submit_app=f"{s.code_uri}{SCRIPT}",
            submit_py_files=[f"{connector}{CONNECTOR_PY}"],
            submit_jars=[f"{connector}{CONNECTOR_JAR}"],
            outputs=[
                sdk.ProcessingOutput(
                    output_name="report",
                    s3_output=sdk.ProcessingS3Output(
                        s3_uri=self._output("IngestFeatures", "report"),
                        local_path="/opt/ml/processing/report",
                        s3_upload_mode="EndOfJob",
                    ),
                )
            ],
            arguments=arguments,
        )
        # Never cached: the same input prefix may hold new files, and re-ingesting is idempotent (record
        # identifier and event time key every write).
        return sdk.ProcessingStep("IngestFeatures", step_args=step_args, retry_policies=self._retries())
