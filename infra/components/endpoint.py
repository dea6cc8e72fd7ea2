"""A real-time or serverless endpoint for the pinned model version, with safe rollout and autoscaling.

Models and endpoint configurations cannot be changed in place: SageMaker has no UpdateModel or
UpdateEndpointConfig operation (botocore 1.44.5's sagemaker service model), and pulumi-aws 7.51.1
(terraform-provider-aws `internal/service/sagemaker/model.go` and `endpoint_configuration.go`) marks
every input but `tags` ForceNew. A change therefore replaces them, create-before-delete, so their
names carry a digest of every input they are created with (`replacement_name`): the new resource
never collides with the old one it replaces.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from infra.components.alarms import metric_settings, rate_settings
from kernel.models import MonitoringConfig, ServingConfig
from kernel.naming import Naming

SERVERLESS_MODEL = "serverless"
"""Purpose in the name of a serverless endpoint's model: the one model the guardrails let run outside the VPC."""
VARIANT = "primary"
SHADOW = "shadow"
CHALLENGER = "challenger"
ALARM_PERIOD_SECONDS = 60


def package_version(arn: str) -> int:
    """The version number at the end of a versioned model package ARN."""
    return int(arn.rsplit("/", 1)[1])


DIGEST_LENGTH = 8


def replacement_name(naming: Naming, purpose: str, inputs: Mapping[str, Any]) -> pulumi.Output[str]:
    """`<base>-<purpose>-<digest>`: the digest covers every input the resource is created with.

    The length and charset are checked now (with a placeholder digest), so a name that is too long
    fails the plan with the naming error, not inside an apply.
    """
    naming.sagemaker(f"{purpose}-{'0' * DIGEST_LENGTH}")

    return pulumi.Output.from_input(dict(inputs)).apply(
        lambda resolved: naming.sagemaker(f"{purpose}-{digest(resolved)}")
    )


def digest(inputs: Mapping[str, Any]) -> str:
    """A short digest of resolved inputs, independent of key order."""
    text = json.dumps(inputs, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:DIGEST_LENGTH]


def serverless_model_prefix(naming: Naming, model_name: str) -> str:
    """Name prefix of the model a serverless endpoint serves (the guardrails exempt exactly these from the VPC)."""
    return naming.sagemaker(f"{model_name}-{SERVERLESS_MODEL}")


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

    Realtime models run network-isolated in the VPC; a share of requests and responses is sampled into
    the KMS-encrypted capture bucket for drift detection. An A/B challenger answers a configured share
    of traffic; a shadow receives a copy whose answers are discarded. Realtime endpoints roll out a new
    version blue/green (canary or linear) or rolling, and roll it back when the latency or error-rate
    alarm fires; they scale on invocations per instance. Serverless endpoints (dev) scale to zero and,
    as SageMaker's serverless feature exclusions require, run one variant outside the VPC with no
    isolation and no capture; their configuration still encrypts with the models key. With no package pinned
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
            # SageMaker cannot update a realtime endpoint to serverless (developer guide, "Update a
            # serverless endpoint"): a change of mode replaces the endpoint, deleting it first (same name).
            opts=pulumi.ResourceOptions(parent=self, replacement_trigger=serving.mode, delete_before_replace=True),
        )
        if realtime:
            self._autoscaling(endpoint)
        self.endpoint_name = endpoint.name
        self.rollback_alarm_names = [alarm.name for alarm in alarms]
        self.register_outputs({"endpoint_name": self.endpoint_name})

    def _model(self, package_arn: str, variant: str) -> aws.sagemaker.Model:
        """The model of one variant.

        Serverless endpoints support neither VPC configuration nor network isolation (SageMaker's serverless
        feature exclusions), so their model runs outside the VPC: validation allows that in dev only
        (`serving.serverless.outsideVpc`).
        """
        args = self._args
        version = package_version(package_arn)
        serverless = args.serving.mode == "serverless"
        inputs: dict[str, Any] = {
            "execution_role_arn": args.model_role_arn,
            "primary_container": {"model_package_name": package_arn},
            "enable_network_isolation": not serverless,
        }
        if not serverless:
            inputs["vpc_config"] = {
                "subnets": list(args.subnet_ids),
                "security_group_ids": list(args.security_group_ids),
            }
        purpose = f"{args.model_name}-{SERVERLESS_MODEL if serverless else variant}-v{version}"
        return aws.sagemaker.Model(
            f"{self._name}-{variant}-model",
            name=replacement_name(args.naming, purpose, inputs),
            tags={**args.tags, "model-package": package_arn},
            opts=pulumi.ResourceOptions(parent=self),
            **inputs,
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
        inputs: dict[str, Any] = {
            "production_variants": [self._variant(model, VARIANT)]
            + ([self._variant(challenger, CHALLENGER)] if challenger is not None else []),
            # The volume key of realtime instances; serverless endpoints take it too, for the image they pull.
            "kms_key_arn": args.models_key_arn,
        }
        if shadow is not None:
            inputs["shadow_production_variants"] = [self._variant(shadow, SHADOW)]
        if serving.data_capture_percentage > 0:  # serverless endpoints cannot capture: validation keeps it 0
            inputs["data_capture_config"] = {
                "enable_capture": True,
                "initial_sampling_percentage": serving.data_capture_percentage,
                "destination_s3_uri": pulumi.Output.concat("s3://", args.capture_bucket, f"/endpoints/{endpoint_name}"),
                "kms_key_id": args.models_key_arn,
                "capture_options": [{"capture_mode": "Input"}, {"capture_mode": "Output"}],
                "capture_content_type_header": {"csv_content_types": ["text/csv"]},
            }
        version = package_version(package_arn)
        return aws.sagemaker.EndpointConfiguration(
            f"{self._name}-config",
            name=replacement_name(args.naming, f"{args.model_name}-v{version}", inputs),
            tags=dict(args.tags),
            opts=pulumi.ResourceOptions(parent=self),
            **inputs,
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
        rollback: aws.sagemaker.EndpointDeploymentConfigAutoRollbackConfigurationArgsDict = {
            "alarms": [{"alarm_name": alarm.name} for alarm in alarms]
        }
        if rollout.strategy == "rolling":  # validation refuses it for serverless and multi-variant endpoints
            return {
                "rolling_update_policy": {
                    "maximum_batch_size": {"type": "CAPACITY_PERCENT", "value": rollout.rolling_batch_percent},
                    "wait_interval_in_seconds": rollout.wait_seconds,
                    "rollback_maximum_batch_size": {"type": "CAPACITY_PERCENT", "value": 100},
                },
                "auto_rollback_configuration": rollback,
            }
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
            "auto_rollback_configuration": rollback,
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
