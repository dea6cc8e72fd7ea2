"""What every job of a blueprint pipeline shares: VPC, KMS, role, retries, caching, staged code."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from pipelines.definitions.sdk import load_sdk

CACHE_EXPIRY = "P30D"
PROCESSING_SPEC = "/opt/ml/processing/input/code/project.json"
"""The project spec (`project.json`, staged with the step code) where a processing job mounts that code."""


def inference_container(image_uri: str, region: str, model_data: Any) -> dict[str, Any]:
    """The serving container of a trained model: the framework image runs the artifact's own inference.py."""
    return {
        "Image": image_uri,
        "ModelDataUrl": model_data,
        "Environment": {
            "SAGEMAKER_PROGRAM": "inference.py",
            "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code",
            "SAGEMAKER_REGION": region,
        },
    }


class JobSettings(Protocol):
    """The settings fields every pipeline's jobs use (read-only, as on a frozen dataclass)."""

    @property
    def image_uri(self) -> str: ...
    @property
    def artifacts_bucket(self) -> str: ...
    @property
    def kms_key_arn(self) -> str: ...
    @property
    def subnet_ids(self) -> Sequence[str]: ...
    @property
    def security_group_ids(self) -> Sequence[str]: ...
    @property
    def max_runtime_seconds(self) -> int: ...

    @property
    def code_uri(self) -> str:
        """Where the step scripts are staged."""
        ...


class JobBuilder:
    """Builds processing steps that run the staged step scripts in the VPC, encrypted, with retries."""

    job_instance_type: Any
    """The instance type (a pipeline parameter) of the processing steps; set by the subclass."""

    def __init__(self, settings: JobSettings, session_region: str, *, role_arn: str, output_prefix: str) -> None:
        self.settings = settings
        self.role_arn = role_arn
        self.output_prefix = output_prefix
        self.sdk = load_sdk(session_region)
        self.session = self.sdk.PipelineSession(
            boto_session=self.sdk.boto3.Session(region_name=session_region),
            default_bucket=settings.artifacts_bucket,
            sagemaker_config=self.sdk.SDK_DEFAULTS,
        )

    def _output(self, step: str, name: str) -> Any:
        return self.sdk.Join(
            on="/",
            values=[
                f"s3://{self.settings.artifacts_bucket}/{self.output_prefix}",
                self.sdk.ExecutionVariables.PIPELINE_EXECUTION_ID,
                step,
                name,
            ],
        )

    def _processing_step(
        self,
        *,
        name: str,
        script: str,
        inputs: dict[str, Any],
        outputs: Sequence[str],
        arguments: list[Any],
        property_files: Sequence[Any] = (),
        cache: bool = True,
        image_uri: str | None = None,
        instance_count: int = 1,
        sharded: Sequence[str] = (),
    ) -> Any:
        """A processing step; `sharded` names the input channels split across `instance_count` instances."""
        sdk, s = self.sdk, self.settings
        processor = sdk.Processor(
            role=self.role_arn,
            image_uri=image_uri or s.image_uri,
            instance_count=instance_count,
            instance_type=self.job_instance_type,
            entrypoint=["python3", f"/opt/ml/processing/input/code/{script}"],
            volume_kms_key=s.kms_key_arn,
            output_kms_key=s.kms_key_arn,
            max_runtime_in_seconds=s.max_runtime_seconds,
            network_config=self._network(isolated=False),
            sagemaker_session=self.session,
        )
        channels = {"code": s.code_uri, **inputs}
        step_args = processor.run(
            inputs=[
                sdk.ProcessingInput(
                    input_name=channel,
                    s3_input=sdk.ProcessingS3Input(
                        s3_uri=uri,
                        local_path=f"/opt/ml/processing/input/{channel}",
                        s3_data_type="S3Prefix",
                        s3_input_mode="File",
                        **({"s3_data_distribution_type": "ShardedByS3Key"} if channel in sharded else {}),
                    ),
                )
                for channel, uri in channels.items()
            ],
            outputs=[
                sdk.ProcessingOutput(
                    output_name=output,
                    s3_output=sdk.ProcessingS3Output(
                        s3_uri=self._output(name, output),
                        local_path=f"/opt/ml/processing/{output}",
                        s3_upload_mode="EndOfJob",
                    ),
                )
                for output in outputs
            ],
            arguments=arguments,
        )
        return sdk.ProcessingStep(
            name,
            step_args=step_args,
            property_files=list(property_files),
            cache_config=sdk.CacheConfig(enable_caching=True, expire_after=CACHE_EXPIRY) if cache else None,
            retry_policies=self._retries(),
        )

    def _vpc_config(self) -> dict[str, list[str]]:
        """The `VpcConfig` of a training job or a model: the private subnets and workload security groups."""
        return {"Subnets": list(self.settings.subnet_ids), "SecurityGroupIds": list(self.settings.security_group_ids)}

    def _network(self, isolated: bool) -> Any:
        return self.sdk.NetworkConfig(
            subnets=list(self.settings.subnet_ids),
            security_group_ids=list(self.settings.security_group_ids),
            encrypt_inter_container_traffic=True,
            enable_network_isolation=isolated,
        )

    def _retries(self) -> list[Any]:
        sdk = self.sdk
        return [
            sdk.StepRetryPolicy(
                exception_types=[sdk.StepExceptionTypeEnum.THROTTLING, sdk.StepExceptionTypeEnum.SERVICE_FAULT],
                interval_seconds=10,
                backoff_rate=2.0,
                max_attempts=5,
            ),
            sdk.SageMakerJobStepRetryPolicy(
                exception_types=[
                    sdk.SageMakerJobExceptionTypeEnum.CAPACITY_ERROR,
                    sdk.SageMakerJobExceptionTypeEnum.RESOURCE_LIMIT,
                    sdk.SageMakerJobExceptionTypeEnum.INTERNAL_ERROR,
                ],
                interval_seconds=60,
                backoff_rate=2.0,
                max_attempts=3,
            ),
        ]
