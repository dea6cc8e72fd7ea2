"""The drift pipeline: one processing job that runs `steps/drift.py` on the endpoint's captured traffic.

Scheduled by the stack (EventBridge Scheduler) when a model is served. It reads the capture bucket,
fetches the served model package's drift baseline, writes a report and publishes per-feature PSI and
the drifted-feature count to CloudWatch, where the drift alarm (and through it, retraining) watches.

With `monitoring.processingInstanceCount` above 1 (`sharded`), a first job runs on that many instances,
each reading its share of the capture files (`ShardedByS3Key`: about 1/n of the S3 objects each) and
writing its tally of the rows; a second, single-instance job merges the tallies into the one report
(equal to the report of every row read at once) and publishes it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pipelines.definitions.jobs import PROCESSING_SPEC, JobBuilder

OUTPUT_PREFIX = "pipelines/drift"


@dataclass(frozen=True)
class DriftPipelineSettings:
    """Everything environment-specific the drift definition contains."""

    image_uri: str
    region: str
    artifacts_bucket: str
    code_prefix: str
    monitoring_role_arn: str
    kms_key_arn: str
    subnet_ids: Sequence[str]
    security_group_ids: Sequence[str]
    capture_uri: str
    model_package_arn: str
    endpoint_name: str
    processing_instance_type: str
    max_runtime_seconds: int
    drift_psi_threshold: float
    drift_p_value: float
    processing_instance_count: int
    """Instances of the drift job; above 1 the pipeline is `sharded`."""
    sharded: bool
    """Tally the capture on `processing_instance_count` instances, then merge (set when the count is above 1)."""

    @property
    def code_uri(self) -> str:
        """Where the step scripts are staged."""
        return f"s3://{self.artifacts_bucket}/{self.code_prefix}"


def compile_drift_definition(settings: DriftPipelineSettings, session_region: str | None = None) -> dict[str, Any]:
    """The drift pipeline definition as data, with stable key order."""
    builder = _Builder(settings, session_region or settings.region)
    definition = json.loads(builder.pipeline().definition())
    normalized: dict[str, Any] = json.loads(json.dumps(definition, sort_keys=True))
    return normalized


class _Builder(JobBuilder):
    def __init__(self, settings: DriftPipelineSettings, session_region: str) -> None:
        super().__init__(settings, session_region, role_arn=settings.monitoring_role_arn, output_prefix=OUTPUT_PREFIX)
        sdk, s = self.sdk, settings
        self.s = settings
        self.capture = sdk.ParameterString("CaptureUri", default_value=s.capture_uri)
        self.psi = sdk.ParameterFloat("PsiThreshold", default_value=s.drift_psi_threshold)
        self.p_value = sdk.ParameterFloat("PValue", default_value=s.drift_p_value)
        self.job_instance_type = sdk.ParameterString("ProcessingInstanceType", default_value=s.processing_instance_type)

    def pipeline(self) -> Any:
        return self.sdk.Pipeline(
            name="drift",
            parameters=[self.capture, self.psi, self.p_value, self.job_instance_type],
            steps=self._sharded() if self.s.sharded else [self._detect()],
            sagemaker_session=self.session,
        )

    def _detect(self) -> Any:
        s = self.s
        return self._processing_step(
            name="DetectDrift",
            script="drift.py",
            inputs={"capture": self.capture},
            outputs=["drift"],
            arguments=[
                "--capture", "/opt/ml/processing/input/capture", "--output", "/opt/ml/processing/drift",
                "--model-package-arn", s.model_package_arn, "--endpoint", s.endpoint_name, "--region", s.region,
                "--psi-threshold", self.psi.to_string(), "--p-value", self.p_value.to_string(), "--publish",
                "--project-spec", PROCESSING_SPEC,
            ],
            cache=False,  # the capture prefix stays the same while its contents grow: never reuse a result
        )  # fmt: skip

    def _sharded(self) -> list[Any]:
        s = self.s
        package = ["--model-package-arn", s.model_package_arn, "--region", s.region]
        tally = self._processing_step(
            name="TallyDrift",
            script="drift.py",
            inputs={"capture": self.capture},
            outputs=["tallies"],
            arguments=["--capture", "/opt/ml/processing/input/capture", "--tally-output", "/opt/ml/processing/tallies",
                       "--output", "/opt/ml/processing/baseline", *package],
            cache=False,
            instance_count=s.processing_instance_count,
            sharded=("capture",),
        )  # fmt: skip
        merge = self._processing_step(
            name="DetectDrift",
            script="drift.py",
            inputs={"tallies": tally.properties.ProcessingOutputConfig.Outputs["tallies"].S3Output.S3Uri},
            outputs=["drift"],
            arguments=[
                "--tallies", "/opt/ml/processing/input/tallies", "--output", "/opt/ml/processing/drift", *package,
                "--endpoint", s.endpoint_name, "--psi-threshold", self.psi.to_string(),
                "--p-value", self.p_value.to_string(), "--publish",
            ],
            cache=False,
        )  # fmt: skip
        return [tally, merge]
