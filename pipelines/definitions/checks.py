"""The Clarify check steps of the training pipeline, and the model their shadow endpoints serve.

Built with the SDK's own `ClarifyCheckStep` (through `StagedClarifyCheckStep`, which takes the
Pulumi-staged analysis config instead of uploading one). Every check job runs in the VPC under the
jobs role with KMS-encrypted volume and output, like every other job; the model runs network-isolated
under the model role.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pipelines.definitions.clarify import CONTENT_TYPE, PROBABILITY_THRESHOLD, SHAP
from pipelines.definitions.jobs import CACHE_EXPIRY, inference_container

MODEL_STEP = "ClarifyModel"
DATA_BIAS_STEP = "DataBiasCheck"
MODEL_BIAS_STEP = "ModelBiasCheck"
EXPLAINABILITY_STEP = "ExplainabilityCheck"


@dataclass(frozen=True)
class ClarifySteps:
    """The model step and the three checks, in pipeline order."""

    model: Any
    data_bias: Any
    model_bias: Any
    explainability: Any

    @property
    def steps(self) -> list[Any]:
        """All four, for the pipeline's step list."""
        return [self.model, self.data_bias, self.model_bias, self.explainability]


def clarify_steps(builder: Any, model_data: Any, train_data: Any, test_data: Any) -> ClarifySteps:
    """The Clarify steps of `builder`'s pipeline; `*_data` are the S3 prefixes of the headerless splits."""
    sdk, s = builder.sdk, builder.settings
    label, kept_out = s.label, s.sensitive_attribute
    headers = [label, *s.feature_names, kept_out]  # the preprocess step's clarify/ columns
    model = sdk.staged_model_step(
        MODEL_STEP,
        {
            "ExecutionRoleArn": s.model_role_arn,
            "PrimaryContainer": inference_container(s.image_uri, s.region, model_data),
            "VpcConfig": builder._vpc_config(),
            "EnableNetworkIsolation": True,
        },
        retry_policies=builder._retries()[:1],
    )
    job = sdk.CheckJobConfig(
        role=s.jobs_role_arn,
        instance_count=1,
        instance_type=builder.job_instance_type,
        volume_kms_key=s.kms_key_arn,
        output_kms_key=s.kms_key_arn,
        max_runtime_in_seconds=s.max_runtime_seconds,
        sagemaker_session=builder.session,
        network_config=builder._network(isolated=False),
    )
    bias = sdk.BiasConfig(label_values_or_threshold=list(s.label_values), facet_name=kept_out)
    # A classifier's prediction is positive from a probability; a regressor's is compared with the label threshold.
    predicted = sdk.ModelPredictedLabelConfig(
        probability_threshold=PROBABILITY_THRESHOLD if s.model_kind == "classifier" else None
    )
    endpoint = sdk.ModelConfig(
        model_name=model.properties.ModelName,
        instance_count=1,
        instance_type=s.processing_instance_type,
        content_type=CONTENT_TYPE,
        accept_type=CONTENT_TYPE,
    )

    def data(name: str, dataset: Any) -> Any:
        return sdk.DataConfig(
            s3_data_input_path=dataset,
            s3_output_path=builder._output(name, "report"),
            s3_analysis_config_output_path=f"s3://{s.artifacts_bucket}/{s.clarify_prefix}",
            label=label,
            headers=headers,
            dataset_type=CONTENT_TYPE,
            excluded_columns=[kept_out],
        )

    def check(name: str, config: Any, file: str) -> Any:
        return sdk.staged_clarify_check_step(
            name,
            config,
            job,
            config_uri=f"s3://{s.artifacts_bucket}/{s.clarify_prefix}{file}.json",
            image_uri=s.clarify_image_uri,
            skip_check=builder.skip_clarify,
            fail_on_violation=True,
            register_new_baseline=builder.register_clarify,
            model_package_group_name=s.model_package_group,
            cache_config=sdk.CacheConfig(enable_caching=True, expire_after=CACHE_EXPIRY),
        )

    return ClarifySteps(
        model=model,
        data_bias=check(
            DATA_BIAS_STEP,
            sdk.DataBiasCheckConfig(data_config=data(DATA_BIAS_STEP, train_data), data_bias_config=bias, methods="all"),
            "data-bias",
        ),
        model_bias=check(
            MODEL_BIAS_STEP,
            sdk.ModelBiasCheckConfig(
                data_config=data(MODEL_BIAS_STEP, test_data),
                data_bias_config=bias,
                model_config=endpoint,
                model_predicted_label_config=predicted,
                methods="all",
            ),
            "model-bias",
        ),
        explainability=check(
            EXPLAINABILITY_STEP,
            sdk.ModelExplainabilityCheckConfig(
                data_config=data(EXPLAINABILITY_STEP, test_data),
                model_config=endpoint,
                explainability_config=sdk.SHAPConfig(**SHAP),
            ),
            "explainability",
        ),
    )
