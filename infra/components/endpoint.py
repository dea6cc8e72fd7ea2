"""A real-time or serverless endpoint for the pinned model version, with safe rollout and autoscaling."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from infra.components.alarms import metric_settings, rate_settings
from infra.config.models import MonitoringConfig, ServingConfig
from infra.naming import Naming

VARIANT = "primary"
SHADOW = "shadow"
CHALLENGER = "challenger"
ALARM_PERIOD_SECONDS = 60


def package_version(arn: str) -> int:
    """The version number at the end of a versioned model package ARN."""
    return int(arn.rsplit("/", 1)[1])


@dataclass(frozen=True)
class EndpointArgs:
    """Inputs of `Endpoint`."""

    naming: Naming
    tags: Mapping[str, str]
    model_name: str
    serving: ServingConfig
    monitoring: MonitoringConfig
    model_role_arn: pulumi.Input[str]
    models_key_arn: pulumi.Input[str]
    capture_bucket: pulumi.Input[str]
    subnet_ids: Sequence[pulumi.Input[str]]
    security_group_ids: Sequence[pulumi.Input[str]]
    alerts_topic_arn: pulumi.Input[str]


class Endpoint(pulumi.ComponentResource):
    """Serves the model package pinned in the stack file (`serving.modelPackageArn`).

    Models run network-isolated in the VPC; every request and response is sampled into the
    KMS-encrypted capture bucket for drift detection. An A/B challenger answers a configured share
    of traffic; a shadow receives a copy whose answers are discarded. Realtime endpoints roll out a new version
    blue/green (canary or linear), and roll it back when the latency or error-rate alarm fires; they
    scale on invocations per instance. Serverless endpoints scale to zero. With no package pinned
    (a new environment before its first promotion) nothing is created and the stack says so.
    """

    endpoint_name: pulumi.Output[str] | None
    rollback_alarm_names: list[pulumi.Output[str]]

    def __init__(self, name: str, args: EndpointArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:serving:Endpoint", name, None, opts)
        self._name, self._args = name, args
        self.endpoint_name = None
        self.rollback_alarm_names = []
        serving = args.serving
        if serving.model_package_arn is None:
            pulumi.log.info(
                f"{args.naming.base}: no model is pinned (serving.modelPackageArn), so no endpoint is planned; "
                "promote an approved package with `mlops model promote`",
                resource=self,
            )
            self.register_outputs({"endpoint_name": None})
            return
        endpoint_name = args.naming.sagemaker(args.model_name)
        model = self._model(serving.model_package_arn, VARIANT)
        shadow = self._model(serving.shadow_model_package_arn, SHADOW) if serving.shadow_model_package_arn else None
        challenger = (
            self._model(serving.challenger_model_package_arn, CHALLENGER)
            if serving.challenger_model_package_arn
            else None
        )
        config = self._endpoint_config(serving.model_package_arn, model, shadow, challenger, endpoint_name)
        realtime = serving.mode == "realtime"
        alarms = self._rollback_alarms(endpoint_name) if realtime else []
        endpoint = aws.sagemaker.Endpoint(
            f"{name}-endpoint",
            name=endpoint_name,
            endpoint_config_name=config.name,
            deployment_config=self._deployment(alarms) if realtime else None,
            tags=dict(args.tags),
            opts=pulumi.ResourceOptions(parent=self),
        )
        if realtime:
            self._autoscaling(endpoint)
        self.endpoint_name = endpoint.name
        self.rollback_alarm_names = [alarm.name for alarm in alarms]
        self.register_outputs({"endpoint_name": self.endpoint_name})

    def _model(self, package_arn: str, variant: str) -> aws.sagemaker.Model:
        args = self._args
        version = package_version(package_arn)
        return aws.sagemaker.Model(
            f"{self._name}-{variant}-model",
            name=args.naming.sagemaker(f"{args.model_name}-{variant}-v{version}"),
            execution_role_arn=args.model_role_arn,
            primary_container={"model_package_name": package_arn},
            enable_network_isolation=True,
            vpc_config={"subnets": list(args.subnet_ids), "security_group_ids": list(args.security_group_ids)},
            tags={**args.tags, "model-package": package_arn},
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _endpoint_config(
        self,
        package_arn: str,
        model: aws.sagemaker.Model,
        shadow: aws.sagemaker.Model | None,
        challenger: aws.sagemaker.Model | None,
        endpoint_name: str,
    ) -> aws.sagemaker.EndpointConfiguration:
        args, serving = self._args, self._args.serving
        capture: aws.sagemaker.EndpointConfigurationDataCaptureConfigArgsDict = {
            "enable_capture": True,
            "initial_sampling_percentage": serving.data_capture_percentage,
            "destination_s3_uri": pulumi.Output.concat("s3://", args.capture_bucket, f"/endpoints/{endpoint_name}"),
            "kms_key_id": args.models_key_arn,
            "capture_options": [{"capture_mode": "Input"}, {"capture_mode": "Output"}],
            "capture_content_type_header": {"csv_content_types": ["text/csv"]},
        }
        # Endpoint configurations are immutable: the name carries a digest of the settings, so a change
        # creates a new configuration and the endpoint moves to it with a blue/green deployment.
        digest = hashlib.sha256(json.dumps(serving.model_dump(mode="json"), sort_keys=True).encode()).hexdigest()[:8]
        version = package_version(package_arn)
        return aws.sagemaker.EndpointConfiguration(
            f"{self._name}-config",
            name=args.naming.sagemaker(f"{args.model_name}-v{version}-{digest}"),
            production_variants=[self._variant(model, VARIANT)]
            + ([self._variant(challenger, CHALLENGER)] if challenger is not None else []),
            shadow_production_variants=[self._variant(shadow, SHADOW)] if shadow is not None else None,
            kms_key_arn=args.models_key_arn if serving.mode == "realtime" else None,
            data_capture_config=capture,
            tags=dict(args.tags),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _variant(self, model: aws.sagemaker.Model, name: str) -> Any:
        """A production or shadow variant (the provider types them separately; the fields are the same)."""
        serving = self._args.serving
        if serving.mode == "serverless":
            return {
                "variant_name": name,
                "model_name": model.name,
                "serverless_config": {
                    "memory_size_in_mb": serving.serverless.memory_size_mb,
                    "max_concurrency": serving.serverless.max_concurrency,
                },
            }
        challenger = serving.challenger_percent / 100 if serving.challenger_model_package_arn else 0.0
        weights = {VARIANT: 1.0 - challenger, CHALLENGER: challenger, SHADOW: serving.shadow_percent / 100}
        return {
            "variant_name": name,
            "model_name": model.name,
            "instance_type": serving.instance_type,
            "initial_instance_count": serving.min_instances if name == VARIANT else 1,
            "initial_variant_weight": weights[name],
        }

    def _rollback_alarms(self, endpoint_name: str) -> list[aws.cloudwatch.MetricAlarm]:
        args = self._args
        dimensions = {"EndpointName": endpoint_name, "VariantName": VARIANT}
        common: dict[str, Any] = {
            "treat_missing_data": "notBreaching",
            "alarm_actions": [args.alerts_topic_arn],
            "ok_actions": [args.alerts_topic_arn],
            "tags": dict(args.tags),
            "opts": pulumi.ResourceOptions(parent=self),
        }
        latency = aws.cloudwatch.MetricAlarm(
            f"{self._name}-latency-p99",
            name=args.naming.resource(f"{args.model_name}-latency-p99"),
            alarm_description=f"p99 model latency above {args.monitoring.latency_p99_ms} ms: rolls back a deployment",
            threshold=args.monitoring.latency_p99_ms * 1000,  # ModelLatency is in microseconds
            **metric_settings(
                "AWS/SageMaker", "ModelLatency", dimensions, period=ALARM_PERIOD_SECONDS, extended_statistic="p99"
            ),
            **common,
        )
        errors = aws.cloudwatch.MetricAlarm(
            f"{self._name}-error-rate",
            name=args.naming.resource(f"{args.model_name}-error-rate"),
            alarm_description=(
                f"5xx above {args.monitoring.error_rate_percent}% of invocations: rolls back a deployment"
            ),
            **rate_settings(
                "Invocation5XXErrors", dimensions, args.monitoring.error_rate_percent, period=ALARM_PERIOD_SECONDS
            ),
            **common,
        )
        return [latency, errors]

    def _deployment(self, alarms: list[aws.cloudwatch.MetricAlarm]) -> aws.sagemaker.EndpointDeploymentConfigArgsDict:
        rollout = self._args.serving.rollout
        routing: dict[str, object] = {"wait_interval_in_seconds": rollout.wait_seconds}
        if rollout.strategy == "canary":
            routing |= {"type": "CANARY", "canary_size": {"type": "CAPACITY_PERCENT", "value": rollout.canary_percent}}
        elif rollout.strategy == "linear":
            routing |= {
                "type": "LINEAR",
                "linear_step_size": {"type": "CAPACITY_PERCENT", "value": rollout.linear_step_percent},
            }
        else:
            routing["type"] = "ALL_AT_ONCE"
        return {
            "blue_green_update_policy": {
                "traffic_routing_configuration": routing,  # type: ignore[typeddict-item]
                "termination_wait_in_seconds": rollout.termination_wait_seconds,
            },
            "auto_rollback_configuration": {"alarms": [{"alarm_name": alarm.name} for alarm in alarms]},
        }

    def _autoscaling(self, endpoint: aws.sagemaker.Endpoint) -> None:
        args, serving = self._args, self._args.serving
        target = aws.appautoscaling.Target(
            f"{self._name}-scaling-target",
            service_namespace="sagemaker",
            resource_id=pulumi.Output.concat("endpoint/", endpoint.name, f"/variant/{VARIANT}"),
            scalable_dimension="sagemaker:variant:DesiredInstanceCount",
            min_capacity=serving.min_instances,
            max_capacity=serving.max_instances,
            tags=dict(args.tags),
            opts=pulumi.ResourceOptions(parent=self),
        )
        aws.appautoscaling.Policy(
            f"{self._name}-scaling-policy",
            name=args.naming.resource(f"{args.model_name}-invocations-per-instance"),
            policy_type="TargetTrackingScaling",
            service_namespace=target.service_namespace,
            resource_id=target.resource_id,
            scalable_dimension=target.scalable_dimension,
            target_tracking_scaling_policy_configuration={
                "target_value": serving.target_invocations_per_instance,
                "predefined_metric_specification": {"predefined_metric_type": "SageMakerVariantInvocationsPerInstance"},
                "scale_in_cooldown": 300,
                "scale_out_cooldown": 60,
            },
            opts=pulumi.ResourceOptions(parent=self),
        )
        if serving.off_hours is not None:
            windows = [
                ("off-hours", serving.off_hours.scale_down, serving.off_hours.max_instances),
                ("working-hours", serving.off_hours.scale_up, serving.max_instances),
            ]
            for suffix, schedule, ceiling in windows:
                aws.appautoscaling.ScheduledAction(
                    f"{self._name}-{suffix}",
                    name=args.naming.resource(f"{args.model_name}-{suffix}"),
                    service_namespace=target.service_namespace,
                    resource_id=target.resource_id,
                    scalable_dimension=target.scalable_dimension,
                    schedule=schedule,
                    timezone="UTC",
                    scalable_target_action={"min_capacity": serving.min_instances, "max_capacity": ceiling},
                    opts=pulumi.ResourceOptions(parent=self),
                )
