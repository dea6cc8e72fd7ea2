"""Loads the SageMaker SDK v3 pieces the pipeline builders use, once, with the blueprint's defaults.

Importing the SDK costs seconds and needs an AWS region at import time (one of its modules creates a
client when imported), so it is loaded only when a definition is compiled, with the stack's region
as the default. Telemetry is opted out through the SDK's own defaults (`TelemetryOptOut`).
"""

from __future__ import annotations

import json
import os
import sys
from functools import cache
from pathlib import Path
from types import SimpleNamespace
from typing import Any

SDK_DEFAULTS: dict[str, Any] = {
    "SchemaVersion": "1.0",
    "SageMaker": {"PythonSDK": {"Modules": {"TelemetryOptOut": True}}},
}
"""SageMaker SDK defaults the blueprint applies to every session it creates: no telemetry."""


@cache
def load_sdk(region: str) -> Any:
    """The SDK classes the builders need, plus the two steps built from explicit requests."""
    os.environ.setdefault("AWS_DEFAULT_REGION", region)
    import logging
    import warnings

    import boto3
    from sagemaker.core import image_uris
    from sagemaker.core.clarify import BiasConfig, DataConfig, ModelConfig, ModelPredictedLabelConfig, SHAPConfig
    from sagemaker.core.network import NetworkConfig
    from sagemaker.core.processing import Processor
    from sagemaker.core.shapes import (
        MlflowConfig,
        ProcessingInput,
        ProcessingOutput,
        ProcessingS3Input,
        ProcessingS3Output,
    )
    from sagemaker.core.workflow.conditions import ConditionEquals
    from sagemaker.core.workflow.execution_variables import ExecutionVariables
    from sagemaker.core.workflow.functions import Join, JsonGet
    from sagemaker.core.workflow.parameters import ParameterBoolean, ParameterFloat, ParameterString
    from sagemaker.core.workflow.pipeline_context import PipelineSession
    from sagemaker.core.workflow.properties import Properties, PropertyFile
    from sagemaker.mlops.workflow.check_job_config import CheckJobConfig
    from sagemaker.mlops.workflow.clarify_check_step import (
        ClarifyCheckStep,
        DataBiasCheckConfig,
        ModelBiasCheckConfig,
        ModelExplainabilityCheckConfig,
    )
    from sagemaker.mlops.workflow.condition_step import ConditionStep
    from sagemaker.mlops.workflow.fail_step import FailStep
    from sagemaker.mlops.workflow.pipeline import Pipeline
    from sagemaker.mlops.workflow.retry import (
        SageMakerJobExceptionTypeEnum,
        SageMakerJobStepRetryPolicy,
        StepExceptionTypeEnum,
        StepRetryPolicy,
    )
    from sagemaker.mlops.workflow.steps import (
        CacheConfig,
        ConfigurableRetryStep,
        ProcessingStep,
        StepTypeEnum,
        TrainingStep,
    )

    # The SDK logs every default it applies and warns that a PipelineSession starts no job; both are
    # expected here and would drown a plan's output.
    for name in ("sagemaker.config", "sagemaker.core.image_uris", "sagemaker.core.workflow.utilities"):
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", message="Running within a PipelineSession")
    _check_the_config_schema_once()

    class StagedTrainingStep(TrainingStep):  # type: ignore[misc]
        """A training step whose CreateTrainingJob request is given, so compiling uploads nothing."""

        def __init__(self, name: str, request: dict[str, Any], **kwargs: Any) -> None:
            super().__init__(name, **kwargs)
            self._request = request

        @property
        def arguments(self) -> dict[str, Any]:
            return self._request

    class StagedStep(ConfigurableRetryStep):  # type: ignore[misc]
        """A step whose Create* request is given in full, so compiling uploads nothing."""

        STEP_TYPE: Any
        SHAPES: tuple[str, ...]
        """The Describe* response shapes the step's properties resolve against."""

        def __init__(self, name: str, request: dict[str, Any], cache_config: Any = None, **kwargs: Any) -> None:
            super().__init__(name, self.STEP_TYPE, **kwargs)
            self._request = request
            self.cache_config = cache_config
            self._properties = Properties(step_name=name, step=self, shape_names=list(self.SHAPES))

        @property
        def arguments(self) -> dict[str, Any]:
            return self._request

        @property
        def properties(self) -> Any:
            return self._properties

        def to_request(self) -> dict[str, Any]:
            request: dict[str, Any] = super().to_request()
            if self.cache_config:
                request.update(self.cache_config.config)
            return request

    class StagedRegisterStep(StagedStep):
        """A RegisterModel step from an explicit CreateModelPackage request."""

        STEP_TYPE = StepTypeEnum.REGISTER_MODEL
        SHAPES = ("DescribeModelPackageOutput",)

    class StagedTuningStep(StagedStep):
        """A tuning step from an explicit CreateHyperParameterTuningJob request."""

        STEP_TYPE = StepTypeEnum.TUNING
        SHAPES = ("DescribeHyperParameterTuningJobResponse", "ListTrainingJobsForHyperParameterTuningJobResponse")

    class StagedModelStep(StagedStep):
        """A CreateModel step from an explicit request (the model Clarify's shadow endpoint serves)."""

        STEP_TYPE = StepTypeEnum.CREATE_MODEL
        SHAPES = ("DescribeModelOutput",)

    class StagedClarifyCheckStep(ClarifyCheckStep):  # type: ignore[misc]
        """A Clarify check step whose analysis config is staged by Pulumi, so compiling uploads nothing.

        `image_uri` is the Clarify image of the stack's region (the SDK would take the session's).

        The SDK writes the analysis config to a temporary file and uploads it while the step is
        built; here the upload is replaced by recording the config (`analysis_config`, for the test
        that proves the staged file equals it) and answering the staged object's URI. The monitoring
        schedule's copy of the config is not needed by the pipeline and is not made.
        """

        def __init__(
            self, name: str, check_config: Any, job_config: Any, config_uri: str, image_uri: str, **kwargs: Any
        ) -> None:
            self._config_uri = config_uri
            self._image_uri = image_uri
            self.analysis_config: dict[str, Any] = {}
            super().__init__(name, check_config, job_config, **kwargs)

        def _upload_monitoring_analysis_config(self) -> None:
            return None

        def _generate_processing_job_parameters(self, analysis_config: dict[str, Any], processor: Any) -> Any:
            module = sys.modules[ClarifyCheckStep.__module__]
            upload = module._upload_analysis_config  # private; replaced while the step is built

            def staged(path: str, *_: Any) -> str:
                self.analysis_config = json.loads(Path(path).read_text(encoding="utf-8"))
                return self._config_uri

            module._upload_analysis_config = staged  # type: ignore[attr-defined]
            try:
                return super()._generate_processing_job_parameters(analysis_config, processor)
            finally:
                module._upload_analysis_config = upload  # type: ignore[attr-defined]

        @property
        def arguments(self) -> dict[str, Any]:
            request: dict[str, Any] = super().arguments
            network = request.get("NetworkConfig")
            if network is not None and not isinstance(network, dict):  # the SDK leaves the object in the request
                request["NetworkConfig"] = network._to_request_dict()
            request["AppSpecification"]["ImageUri"] = self._image_uri  # the stack's region, not the session's
            return request

    return SimpleNamespace(
        boto3=boto3,
        SDK_DEFAULTS=SDK_DEFAULTS,
        image_uris=image_uris,
        NetworkConfig=NetworkConfig,
        Processor=Processor,
        MlflowConfig=MlflowConfig,
        ProcessingInput=ProcessingInput,
        ProcessingOutput=ProcessingOutput,
        ProcessingS3Input=ProcessingS3Input,
        ProcessingS3Output=ProcessingS3Output,
        ConditionEquals=ConditionEquals,
        ExecutionVariables=ExecutionVariables,
        Join=Join,
        JsonGet=JsonGet,
        ParameterBoolean=ParameterBoolean,
        ParameterFloat=ParameterFloat,
        ParameterString=ParameterString,
        PipelineSession=PipelineSession,
        PropertyFile=PropertyFile,
        ConditionStep=ConditionStep,
        FailStep=FailStep,
        Pipeline=Pipeline,
        SageMakerJobExceptionTypeEnum=SageMakerJobExceptionTypeEnum,
        SageMakerJobStepRetryPolicy=SageMakerJobStepRetryPolicy,
        StepExceptionTypeEnum=StepExceptionTypeEnum,
        StepRetryPolicy=StepRetryPolicy,
        CacheConfig=CacheConfig,
        ProcessingStep=ProcessingStep,
        staged_training_step=StagedTrainingStep,
        staged_register_step=StagedRegisterStep,
        staged_tuning_step=StagedTuningStep,
        staged_model_step=StagedModelStep,
        staged_clarify_check_step=StagedClarifyCheckStep,
        BiasConfig=BiasConfig,
        DataConfig=DataConfig,
        ModelConfig=ModelConfig,
        ModelPredictedLabelConfig=ModelPredictedLabelConfig,
        SHAPConfig=SHAPConfig,
        CheckJobConfig=CheckJobConfig,
        DataBiasCheckConfig=DataBiasCheckConfig,
        ModelBiasCheckConfig=ModelBiasCheckConfig,
        ModelExplainabilityCheckConfig=ModelExplainabilityCheckConfig,
    )


def _check_the_config_schema_once() -> None:
    """Validate the SDK's defaults config with a validator whose schema was checked once, not on every lookup.

    The SDK validates its defaults (`SDK_DEFAULTS`) on every config lookup, about 150 per training pipeline, with
    `jsonschema.validate`, which first checks the schema itself against its metaschema: that check was four fifths
    of a compile's time (sagemaker-core 2.27.0 `SageMakerConfig.validate_sagemaker_config`, called by
    `common_utils.get_sagemaker_config_value`). This is `jsonschema.validate` (jsonschema 4.26.0) with the schema
    check done here, once: every config is still validated, with the same verdict and the same error.
    """
    import jsonschema  # type: ignore[import-untyped]
    from sagemaker.core.config.config_manager import SageMakerConfig
    from sagemaker.core.config.config_schema import SAGEMAKER_PYTHON_SDK_CONFIG_SCHEMA as SCHEMA

    kind = jsonschema.validators.validator_for(SCHEMA)
    kind.check_schema(SCHEMA)
    validator = kind(SCHEMA)

    def validate_sagemaker_config(sagemaker_config: dict[str, Any] | None = None) -> None:
        error = jsonschema.exceptions.best_match(validator.iter_errors(sagemaker_config))
        if error is not None:
            raise error

    SageMakerConfig.validate_sagemaker_config = staticmethod(validate_sagemaker_config)
