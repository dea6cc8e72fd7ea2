"""Operational alarms, the dashboard, drift detection on a schedule, and retraining when drift is found."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from infra.components.alarms import PERIOD, metric_settings, rate_settings
from infra.components.retraining import Retraining, alarm_pattern
from kernel.models import StackConfig
from kernel.naming import Naming
from pipelines.definitions.settings import drift_settings
from pipelines.definitions.templates import model_monitor_image, render_definition

DRIFT_NAMESPACE = "mlops/drift"
MODEL_MONITOR_EVENT = "SageMaker Model Monitoring Schedule Execution Status Change"


@dataclass(frozen=True)
class MonitoringArgs:
    """Inputs of `Monitoring`."""

    naming: Naming
    tags: Mapping[str, str]
    model_name: str
    config: StackConfig
    endpoint_name: pulumi.Input[str] | None
    """None when no model is served: then only the dashboard and the scheduled retraining exist."""
    alerts_topic_arn: pulumi.Input[str]
    training_pipeline_arn: pulumi.Input[str] | None
    """The training pipeline drift and schedules start; None where no model is trained (staging, prod)."""
    training_pipeline_name: pulumi.Input[str] | None
    automation_role_arn: pulumi.Input[str]
    monitoring_role_arn: pulumi.Input[str]
    models_key_arn: pulumi.Input[str]
    artifacts_bucket: pulumi.Input[str]
    capture_bucket: pulumi.Input[str]
    monitoring_bucket: pulumi.Input[str]
    code_prefix: str
    subnet_ids: Sequence[pulumi.Input[str]]
    security_group_ids: Sequence[pulumi.Input[str]]
    training_bus_arn: str | None = None
    """Where staging and prod send their drift: the default event bus of the account that trains (dev)."""
    forwarding_accounts: Sequence[str] = ()
    """Accounts (staging, prod) whose forwarded drift starts this account's training pipeline (dev)."""


class Monitoring(pulumi.ComponentResource):
    """Close the loop: notice that a served model degrades, alert, and retrain.

    Per endpoint: alarms on client errors and instance CPU and memory (realtime) or latency, server
    errors and concurrency (serverless; realtime endpoints carry those as rollback alarms), all to
    the encrypted alerts topic. A drift pipeline runs on the configured schedule against captured
    traffic and publishes per-feature PSI. Its alarm retrains in the one place models are trained:
    in dev it starts the training pipeline; in staging and prod it is forwarded to dev's event bus,
    where a rule accepting only those accounts starts the same pipeline. Every model so registers in
    dev's registry as PendingManualApproval and follows the one approval and promotion path; none
    deploys itself. One dashboard per environment.
    """

    drift_pipeline_name: pulumi.Output[str] | None
    drift_alarm_name: pulumi.Output[str] | None

    def __init__(self, name: str, args: MonitoringArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:monitoring:Monitoring", name, None, opts)
        self._name, self._args = name, args
        self.drift_pipeline_name = None
        self.drift_alarm_name = None
        if args.config.monitoring.retrain_schedule and args.training_pipeline_arn is not None:
            self._scheduled_retraining(args.config.monitoring.retrain_schedule, args.training_pipeline_arn)
        if args.forwarding_accounts and args.config.monitoring.retrain_on_drift:
            self._retrain_on_forwarded_drift(args.forwarding_accounts)
        if args.endpoint_name is not None:
            self._operational_alarms(args.endpoint_name)
            if args.config.serving.data_capture_percentage == 0:
                # Nothing is captured (dev's serverless endpoint cannot capture): drift is watched where
                # traffic is real, on staging's and prod's captured requests.
                pulumi.log.info(f"{args.naming.base}: the endpoint captures no traffic, so no drift job", self)
            elif args.config.monitoring.backend == "model-monitor":
                self._model_monitor(args.endpoint_name)
            else:
                drift_pipeline = self._drift_pipeline(args.endpoint_name)
                drift_alarm = self._drift_alarm(args.endpoint_name)
                if args.config.monitoring.retrain_on_drift:
                    self._retrain_on(_alarm_pattern(drift_alarm))
                self.drift_pipeline_name = drift_pipeline.pipeline_name
                self.drift_alarm_name = drift_alarm.name
        self._dashboard()
        self.register_outputs({"drift_pipeline_name": self.drift_pipeline_name})

    def _child(self) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self)

    def _alarm(self, suffix: str, description: str, **settings: Any) -> aws.cloudwatch.MetricAlarm:
        args = self._args
        return aws.cloudwatch.MetricAlarm(
            f"{self._name}-{suffix}",
            name=args.naming.resource(f"{args.model_name}-{suffix}"),
            alarm_description=description,
            treat_missing_data="notBreaching",
            alarm_actions=[args.alerts_topic_arn],
            ok_actions=[args.alerts_topic_arn],
            tags=dict(args.tags),
            opts=self._child(),
            **settings,
        )

    def _operational_alarms(self, endpoint: pulumi.Input[str]) -> None:
        monitoring = self._args.config.monitoring
        dimensions = {"EndpointName": endpoint, "VariantName": "primary"}
        self._alarm(
            "client-error-rate",
            f"4xx above {monitoring.client_error_rate_percent}% of invocations: callers send bad requests",
            **rate_settings("Invocation4XXErrors", dimensions, monitoring.client_error_rate_percent),
        )
        if self._args.config.serving.mode == "serverless":
            self._alarm(
                "latency-p99",
                f"p99 model latency above {monitoring.latency_p99_ms} ms",
                **metric_settings("AWS/SageMaker", "ModelLatency", dimensions, extended_statistic="p99"),
                threshold=monitoring.latency_p99_ms * 1000,
            )
            self._alarm(
                "error-rate",
                f"5xx above {monitoring.error_rate_percent}% of invocations",
                **rate_settings("Invocation5XXErrors", dimensions, monitoring.error_rate_percent),
            )
            self._alarm(
                "concurrency",
                "serverless concurrency above 90% of its maximum: requests are about to be throttled",
                **metric_settings(
                    "AWS/SageMaker", "ServerlessConcurrentExecutionsUtilization", dimensions, statistic="Maximum"
                ),
                threshold=0.9,
            )
            return
        instance = "/aws/sagemaker/Endpoints"
        self._alarm(
            "cpu",
            f"instance CPU above {monitoring.cpu_utilization_percent}%",
            **metric_settings(instance, "CPUUtilization", dimensions, statistic="Average"),
            threshold=monitoring.cpu_utilization_percent,
        )
        self._alarm(
            "memory",
            f"instance memory above {monitoring.memory_utilization_percent}%",
            **metric_settings(instance, "MemoryUtilization", dimensions, statistic="Average"),
            threshold=monitoring.memory_utilization_percent,
        )

    def _drift_pipeline(self, endpoint: pulumi.Input[str]) -> aws.sagemaker.Pipeline:
        args = self._args
        values = pulumi.Output.all(
            artifacts_bucket=args.artifacts_bucket,
            monitoring_role_arn=args.monitoring_role_arn,
            kms_key_arn=args.models_key_arn,
            subnet_ids=pulumi.Output.all(*args.subnet_ids),
            security_group_ids=pulumi.Output.all(*args.security_group_ids),
            capture_bucket=args.capture_bucket,
            endpoint_name=endpoint,
        )
        definition = values.apply(
            lambda v: json.dumps(
                render_definition(drift_settings(args.config, {**v, "code_prefix": args.code_prefix})), sort_keys=True
            )
        )
        pipeline = aws.sagemaker.Pipeline(
            f"{self._name}-drift",
            pipeline_name=args.naming.sagemaker("drift"),
            pipeline_display_name=args.naming.sagemaker("drift"),
            pipeline_description="compare captured traffic with the served model's training baseline",
            role_arn=args.monitoring_role_arn,
            pipeline_definition=definition,
            tags=dict(args.tags),
            opts=self._child(),
        )
        aws.scheduler.Schedule(
            f"{self._name}-drift-schedule",
            name=args.naming.resource("drift"),
            description="Runs the drift pipeline",
            schedule_expression=args.config.monitoring.drift_schedule,
            flexible_time_window={"mode": "FLEXIBLE", "maximum_window_in_minutes": 30},
            target={
                "arn": pipeline.arn,
                "role_arn": args.automation_role_arn,
                "retry_policy": {"maximum_retry_attempts": 3, "maximum_event_age_in_seconds": 3600},
            },
            opts=self._child(),
        )
        return pipeline

    def _drift_alarm(self, endpoint: pulumi.Input[str]) -> aws.cloudwatch.MetricAlarm:
        return self._alarm(
            "drift",
            "the drift job found features whose distribution moved away from the training baseline",
            **{
                **metric_settings(DRIFT_NAMESPACE, "DriftedFeatures", {"Endpoint": endpoint}, statistic="Maximum"),
                "period": 3600,  # the job reports once per run; one report with drift is enough
                "comparison_operator": "GreaterThanOrEqualToThreshold",
                "evaluation_periods": 1,
                "datapoints_to_alarm": 1,
            },
            threshold=1,
        )

    def _model_monitor(self, endpoint: pulumi.Input[str]) -> None:
        """SageMaker Model Monitor instead of the custom drift job: a data-quality schedule on captured traffic."""
        args, config = self._args, self._args.config
        baseline = pulumi.Output.concat("s3://", args.monitoring_bucket, "/model-monitor/", endpoint, "/baseline")
        definition = aws.sagemaker.DataQualityJobDefinition(
            f"{self._name}-data-quality",
            name=args.naming.sagemaker(f"{args.model_name}-data-quality"),
            role_arn=args.monitoring_role_arn,
            data_quality_app_specification={"image_uri": model_monitor_image(config.region)},
            data_quality_baseline_config={
                "constraints_resource": {"s3_uri": pulumi.Output.concat(baseline, "/constraints.json")},
                "statistics_resource": {"s3_uri": pulumi.Output.concat(baseline, "/statistics.json")},
            },
            data_quality_job_input={
                "endpoint_input": {"endpoint_name": endpoint, "local_path": "/opt/ml/processing/input/endpoint"}
            },
            data_quality_job_output_config={
                "kms_key_id": args.models_key_arn,
                "monitoring_outputs": {
                    "s3_output": {
                        "s3_uri": pulumi.Output.concat(
                            "s3://", args.monitoring_bucket, "/model-monitor/", endpoint, "/reports"
                        ),
                        "local_path": "/opt/ml/processing/output",
                    }
                },
            },
            job_resources={
                "cluster_config": {
                    "instance_count": 1,
                    "instance_type": config.monitoring.processing_instance_type,
                    "volume_size_in_gb": 20,
                    "volume_kms_key_id": args.models_key_arn,
                }
            },
            network_config={
                "enable_network_isolation": True,
                "enable_inter_container_traffic_encryption": True,
                "vpc_config": {"subnets": list(args.subnet_ids), "security_group_ids": list(args.security_group_ids)},
            },
            stopping_condition={"max_runtime_in_seconds": 3600},
            tags=dict(args.tags),
            opts=self._child(),
        )
        schedule = aws.sagemaker.MonitoringSchedule(
            f"{self._name}-data-quality-schedule",
            name=args.naming.sagemaker(f"{args.model_name}-data-quality"),
            monitoring_schedule_config={
                "monitoring_job_definition_name": definition.name,
                "monitoring_type": "DataQuality",
                "schedule_config": {"schedule_expression": config.monitoring.model_monitor_schedule},
            },
            tags=dict(args.tags),
            opts=self._child(),
        )
        if config.monitoring.retrain_on_drift:
            self._retrain_on(
                schedule.name.apply(
                    lambda name: {
                        "source": ["aws.sagemaker"],
                        "detail-type": [MODEL_MONITOR_EVENT],
                        "detail": {
                            "MonitoringScheduleName": [name],
                            "MonitoringExecutionStatus": ["CompletedWithViolations"],
                        },
                    }
                )
            )

    def _retraining(self) -> Retraining:
        return Retraining.of(self, self._name, self._args)

    def _retrain_on(self, pattern: pulumi.Output[dict[str, Any]]) -> None:
        """Drift here retrains: this account's pipeline where models are trained, else dev's, by its bus."""
        self._retraining().on(
            "retrain-on-drift", "Drift (an alarm or a Model Monitor violation)", pattern.apply(json.dumps)
        )

    def _retrain_on_forwarded_drift(self, accounts: Sequence[str]) -> None:
        """Dev: the drift alarms staging and prod forward start this account's training pipeline."""
        model = "-".join(filter(None, (self._args.naming.project, self._args.model_name)))
        # each serving environment sends one or the other, by its monitoring.backend
        self._retraining().on_forwarded(
            "retrain-on-forwarded-drift", "Drift alarms", forwarded_drift_pattern(accounts, model)
        )
        self._retraining().on_forwarded(
            "retrain-on-forwarded-violations", "Model Monitor violations", forwarded_violation_pattern(accounts, model)
        )

    def _scheduled_retraining(self, expression: str, pipeline_arn: pulumi.Input[str]) -> None:
        args = self._args
        aws.scheduler.Schedule(
            f"{self._name}-retrain-schedule",
            name=args.naming.resource("retrain"),
            description="Retrains on a schedule, drift or not",
            schedule_expression=expression,
            flexible_time_window={"mode": "FLEXIBLE", "maximum_window_in_minutes": 60},
            target={
                "arn": pipeline_arn,
                "role_arn": args.automation_role_arn,
                "sagemaker_pipeline_parameters": {
                    "pipeline_parameters": [{"name": "DataSource", "value": "feature-store"}]
                },
                "retry_policy": {"maximum_retry_attempts": 3, "maximum_event_age_in_seconds": 3600},
            },
            opts=self._child(),
        )

    def _dashboard(self) -> None:
        """One dashboard of what this environment runs: its training pipeline, its endpoint, or both."""
        args = self._args
        if args.endpoint_name is None and args.training_pipeline_name is None:
            return  # staging or prod serving nothing yet: nothing to show
        body = pulumi.Output.all(endpoint=args.endpoint_name or "", pipeline=args.training_pipeline_name or "").apply(
            lambda v: json.dumps(_dashboard_body(args.naming.region, v["endpoint"], v["pipeline"]))
        )
        aws.cloudwatch.Dashboard(
            f"{self._name}-dashboard",
            dashboard_name=args.naming.resource("ml"),
            dashboard_body=body,
            opts=self._child(),
        )


def training_bus_arn(model_package_arn: str | None) -> str | None:
    """The default event bus of the account and region a served package was registered in (dev's)."""
    if not model_package_arn:
        return None
    _, partition, _, region, account, _ = model_package_arn.split(":", 5)
    return f"arn:{partition}:events:{region}:{account}:event-bus/default"


def forwarded_drift_pattern(accounts: Sequence[str], model_name: str) -> dict[str, Any]:
    """The drift alarms (entering ALARM) of the serving accounts, as they arrive on dev's bus."""
    return {
        "source": ["aws.cloudwatch"],
        "detail-type": ["CloudWatch Alarm State Change"],
        "account": sorted(accounts),
        "detail": {"alarmName": [{"suffix": f"-{model_name}-drift"}], "state": {"value": ["ALARM"]}},
    }


def forwarded_violation_pattern(accounts: Sequence[str], model_name: str) -> dict[str, Any]:
    """One model's Model Monitor executions with violations in the serving accounts, as they arrive on dev's bus.

    Every project's rule sits on the same bus: the schedule's name (`<prefix>-<env>-<project>-<model>-data-quality`)
    keeps another project's violations from retraining this one's model (project names have no hyphen).
    """
    return {
        "source": ["aws.sagemaker"],
        "detail-type": [MODEL_MONITOR_EVENT],
        "account": sorted(accounts),
        "detail": {
            "MonitoringScheduleName": [{"suffix": f"-{model_name}-data-quality"}],
            "MonitoringExecutionStatus": ["CompletedWithViolations"],
        },
    }


class ForwardedDriftBus(pulumi.ComponentResource):
    """Dev's default event bus accepts events from the serving accounts only (one policy per bus: the platform's).

    Each project's rules on that bus then start its own training pipeline on its own model's drift.
    """

    def __init__(
        self, name: str, naming: Naming, accounts: Sequence[str], opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mlops:monitoring:ForwardedDriftBus", name, None, opts)
        bus_arn = f"arn:aws:events:{naming.region}:{naming.account_id}:event-bus/default"
        policy = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "ServingAccountsForwardDrift",
                    "Effect": "Allow",
                    "Principal": {"AWS": [f"arn:aws:iam::{reader}:root" for reader in accounts]},
                    "Action": "events:PutEvents",
                    "Resource": bus_arn,
                }
            ],
        }
        self.policy = aws.cloudwatch.EventBusPolicy(
            f"{name}-policy",
            event_bus_name="default",
            policy=json.dumps(policy, sort_keys=True),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({})


def _alarm_pattern(alarm: aws.cloudwatch.MetricAlarm) -> pulumi.Output[dict[str, Any]]:
    return alarm.arn.apply(alarm_pattern)


def _dashboard_body(region: str, endpoint: str, pipeline: str) -> dict[str, Any]:
    def widget(title: str, metrics: list[list[Any]], x: int, y: int) -> dict[str, Any]:
        return {
            "type": "metric",
            "x": x,
            "y": y,
            "width": 12,
            "height": 6,
            "properties": {
                "title": title,
                "region": region,
                "metrics": metrics,
                "period": PERIOD,
                "view": "timeSeries",
            },
        }

    pipeline_metrics = [
        ["AWS/Sagemaker/ModelBuildingPipeline", name, "PipelineName", pipeline, {"stat": "Sum"}]
        for name in ("ExecutionStarted", "ExecutionSucceeded", "ExecutionFailed")
    ]
    widgets = [widget("Training pipeline executions", pipeline_metrics, 0, 0)] if pipeline else []
    if endpoint:
        endpoint_dims = ["EndpointName", endpoint, "VariantName", "primary"]
        widgets += [
            widget(
                "Endpoint traffic and errors",
                [
                    ["AWS/SageMaker", name, *endpoint_dims, {"stat": "Sum"}]
                    for name in ("Invocations", "Invocation4XXErrors", "Invocation5XXErrors")
                ],
                12,
                0,
            ),
            widget(
                "Model latency p99 (microseconds)",
                [["AWS/SageMaker", "ModelLatency", *endpoint_dims, {"stat": "p99"}]],
                0,
                6,
            ),
            widget(
                "Drift: features past the threshold",
                [[DRIFT_NAMESPACE, "DriftedFeatures", "Endpoint", endpoint, {"stat": "Maximum"}]],
                12,
                6,
            ),
        ]
    return {"widgets": widgets}
