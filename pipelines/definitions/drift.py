"""The drift pipeline: one processing job that runs `steps/drift.py` on the endpoint's captured traffic.

Scheduled by the stack (EventBridge Scheduler) when a model is served. It reads the capture bucket,
fetches the served model package's drift baseline, writes a report and publishes per-feature PSI and
the drifted-feature count to CloudWatch, where the drift alarm (and through it, retraining) watches.
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
        s = self.s
        detect = self._processing_step(
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
        return self.sdk.Pipeline(
            name="drift",
            parameters=[self.capture, self.psi, self.p_value, self.job_instance_type],
            steps=[detect],
            sagemaker_session=self.session,
        )
