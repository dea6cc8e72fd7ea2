"""The training pipeline's settings from a stack: its config plus the names and ARNs it deployed."""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

from kernel.feature_schema import FeatureGroupSchema, offline_table_name
from kernel.models import StackConfig, TrainingConfig
from kernel.projects import ProjectSpec
from pipelines.definitions.clarify import analysis_configs, config_prefix, label_values, require_sensitive
from pipelines.definitions.drift import DriftPipelineSettings
from pipelines.definitions.ingestion import IngestionPipelineSettings, feature_arguments
from pipelines.definitions.templates import clarify_image, distribution_image, image_for, spark_image
from pipelines.definitions.training import TUNING_OBJECTIVES, TrainingPipelineSettings


def raw_data_prefix(project: str) -> str:
    """The key prefix (in the raw bucket) of a project's raw training data: `<project>/`."""
    return f"{project}/"


class StackOutputsError(ValueError):
    """The stack outputs lack what a command needs (usually: the stack is not deployed yet)."""


def pipeline_settings(
    training: TrainingConfig, region: str, values: Mapping[str, Any], spec: ProjectSpec
) -> TrainingPipelineSettings:
    """Settings of `spec`'s project from its training config and resolved `values` (keys: `values_from_outputs`).

    ConfigError (naming the project's file) when the project lacks what the bias checks need.
    """
    tuning_metric, tuning_objective = TUNING_OBJECTIVES[spec.kind]
    return TrainingPipelineSettings(
        image_uri=image_for(region),
        region=region,
        artifacts_bucket=values["artifacts_bucket"],
        raw_data_uri=f"s3://{values['raw_bucket']}/{raw_data_prefix(spec.name)}",
        code_prefix=values["code_prefix"],
        jobs_role_arn=values["jobs_role_arn"],
        kms_key_arn=values["kms_key_arn"],
        subnet_ids=list(values["subnet_ids"]),
        security_group_ids=list(values["security_group_ids"]),
        model_package_group=values["model_package_group"],
        processing_instance_type=training.processing_instance_type,
        training_instance_type=training.instance_type,
        objective_metric=training.objective_metric,
        metric_threshold=training.metric_threshold,
        use_spot=training.use_spot,
        max_runtime_seconds=training.max_runtime_seconds,
        feature_database=values["feature_database"],
        feature_table=values["feature_table"],
        feature_workgroup=values["feature_workgroup"],
        config_hash=values["config_hash"],
        sensitive_attribute=require_sensitive(spec),
        max_bias_gap=training.max_bias_gap,
        project=spec.name,
        model_kind=spec.kind,
        label=spec.label,
        feature_names=spec.features,
        label_values=label_values(spec),
        tuning_metric=tuning_metric,
        tuning_objective=tuning_objective,
        model_role_arn=values["model_role_arn"],
        clarify_prefix=clarify_prefix(training, spec),
        clarify_image_uri=clarify_image(region),
        **_tuning(training),
        **_tracking(training, region, values, spec),
        **_preprocess(training),
    )


def _preprocess(training: TrainingConfig) -> dict[str, Any]:
    """The preprocess fields of the settings (the builder's defaults on one instance)."""
    count = training.preprocess_instance_count
    return {"preprocess_instance_count": count, "sharded_preprocess": True} if count > 1 else {}


def clarify_prefix(training: TrainingConfig, spec: ProjectSpec) -> str:
    """Where the project stages its Clarify analysis configs (content-addressed)."""
    return config_prefix(analysis_configs(spec, training.processing_instance_type))


def experiment_name(training: TrainingConfig, project: str) -> str:
    """The project's MLflow experiment: `training.tracking.experiment`, or else the project's name."""
    return training.tracking.experiment or project


def _tracking(training: TrainingConfig, region: str, values: Mapping[str, Any], spec: ProjectSpec) -> dict[str, Any]:
    """The tracking fields of the settings (the builder's defaults when tracking is off)."""
    if not training.tracking.enabled:
        return {"tracking": False}
    if not values.get("tracking_arn"):
        raise StackOutputsError("training.tracking is enabled but the stack has no tracking_arn output; deploy it")
    return {
        "tracking": True,
        "tracking_arn": values["tracking_arn"],
        "tracking_image_uri": distribution_image(region),
        "experiment_name": experiment_name(training, spec.name),
    }


def _tuning(training: TrainingConfig) -> dict[str, Any]:
    """The tuning fields of the settings (the builder's defaults when tuning is off)."""
    tuning = training.tuning
    if tuning is None:
        return {"tuning": False}
    return {
        "tuning": True,
        "tuning_max_jobs": tuning.max_jobs,
        "tuning_max_parallel": tuning.max_parallel,
        "tuning_early_stopping": "Auto" if tuning.early_stopping else "Off",
        "learning_rate_min": f"{tuning.learning_rate.min:g}",
        "learning_rate_max": f"{tuning.learning_rate.max:g}",
        "max_depth_min": str(int(tuning.max_depth.min)),
        "max_depth_max": str(int(tuning.max_depth.max)),
        "n_estimators_min": str(int(tuning.n_estimators.min)),
        "n_estimators_max": str(int(tuning.n_estimators.max)),
    }


def config_hash(config: StackConfig) -> str:
    """A short digest of the whole stack config: which settings produced a model (lineage)."""
    import hashlib

    return hashlib.sha256(config.model_dump_json().encode()).hexdigest()[:16]


def values_from_outputs(outputs: Mapping[str, Any], spec: ProjectSpec) -> dict[str, Any]:
    """The `values` of `pipeline_settings` from a project stack's outputs (`pulumi stack output --json`)."""
    get = partial(required_output, outputs)
    return {
        "artifacts_bucket": get("bucket_names", "artifacts"),
        "raw_bucket": get("bucket_names", "raw"),
        "code_prefix": get("code_prefix"),
        "jobs_role_arn": get("role_arns", "jobs"),
        "model_role_arn": get("role_arns", "model"),
        "kms_key_arn": get("key_arns", "models"),
        "subnet_ids": get("subnet_ids"),
        "security_group_ids": [get("workload_security_group_id")],
        "model_package_group": get("model_package_group"),
        "feature_database": get("feature_database"),
        "feature_table": offline_table_name(spec.feature_group),
        "feature_workgroup": get("feature_workgroup"),
        "config_hash": get("config_hash"),
        "tracking_arn": outputs.get("tracking_arn", ""),
    }


def required_output(outputs: Mapping[str, Any], *path: str) -> Any:
    """`outputs[path[0]][path[1]]...`, or StackOutputsError naming what is missing."""
    value: Any = outputs
    for key in path:
        if not isinstance(value, Mapping) or key not in value:
            raise StackOutputsError(f"the stack outputs lack {'.'.join(path)}; deploy the stack (pulumi up) first")
        value = value[key]
    return value


def settings_for_stack(config: StackConfig, outputs: Mapping[str, Any], spec: ProjectSpec) -> TrainingPipelineSettings:
    """The settings the project stack's pipeline was deployed with."""
    return pipeline_settings(config.trained(), config.region, values_from_outputs(outputs, spec), spec)


def drift_settings(config: StackConfig, values: Mapping[str, Any]) -> DriftPipelineSettings:
    """The drift pipeline's settings from the stack config and resolved names (keys as below)."""
    package = config.serving.model_package_arn
    if package is None:
        raise StackOutputsError("no model is pinned (serving.modelPackageArn): there is nothing to watch for drift")
    return DriftPipelineSettings(
        image_uri=image_for(config.region),
        region=config.region,
        artifacts_bucket=values["artifacts_bucket"],
        code_prefix=values["code_prefix"],
        monitoring_role_arn=values["monitoring_role_arn"],
        kms_key_arn=values["kms_key_arn"],
        subnet_ids=list(values["subnet_ids"]),
        security_group_ids=list(values["security_group_ids"]),
        capture_uri=f"s3://{values['capture_bucket']}/endpoints/{values['endpoint_name']}/",
        model_package_arn=package,
        endpoint_name=values["endpoint_name"],
        processing_instance_type=config.monitoring.processing_instance_type,
        max_runtime_seconds=config.monitoring.max_runtime_seconds,
        drift_psi_threshold=config.monitoring.drift_psi_threshold,
        drift_p_value=config.monitoring.drift_p_value,
        processing_instance_count=config.monitoring.processing_instance_count,
        sharded=config.monitoring.processing_instance_count > 1,
    )


def ingestion_input_prefix(project: str, feature_group: str) -> str:
    """The key prefix (in the raw bucket) the Spark ingestion of `feature_group` reads by default."""
    return f"{project}/ingest/{feature_group}/"


def ingestion_settings(
    config: StackConfig, schema: FeatureGroupSchema, values: Mapping[str, Any]
) -> IngestionPipelineSettings:
    """The Spark ingestion pipeline of one feature group, from the stack config and resolved names (keys as below)."""
    ingestion = config.feature_store.ingestion
    online = ["OnlineStore"] if config.feature_store.online_store else []
    chosen = ingestion.target_stores
    stores = [str(store) for store in chosen] if chosen else [*online, "OfflineStore"]  # unset: every store
    return IngestionPipelineSettings(
        image_uri=spark_image(config.region),
        region=config.region,
        artifacts_bucket=values["artifacts_bucket"],
        code_prefix=values["code_prefix"],
        jobs_role_arn=values["jobs_role_arn"],
        kms_key_arn=values["kms_key_arn"],
        subnet_ids=list(values["subnet_ids"]),
        security_group_ids=list(values["security_group_ids"]),
        input_uri=f"s3://{values['raw_bucket']}/{ingestion_input_prefix(values['project'], schema.name)}",
        feature_group=schema.name,
        feature_group_arn=values["feature_group_arn"],
        identifier=schema.record_identifier,
        event_time=schema.event_time,
        feature_arguments=feature_arguments([(feature.name, feature.type) for feature in schema.features]),
        target_stores=stores,
        instance_type=ingestion.instance_type,
        instance_count=ingestion.instance_count,
        max_runtime_seconds=ingestion.max_runtime_seconds,
    )
