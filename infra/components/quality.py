"""Model quality with ground truth: the scheduled quality job, its alarms, and retraining on a violation.

Mirrors how `Monitoring` runs the drift job: a one-step SageMaker pipeline (a processing job on the
sklearn image, in the VPC, KMS on its volume and output) started by an EventBridge Scheduler schedule;
the job publishes its metrics to CloudWatch, an alarm on them notifies the alerts topic, and an
EventBridge rule on the alarm starts the training pipeline where models are trained (dev), or
forwards the alarm to dev's event bus from staging and prod. A retrained model registers as
PendingManualApproval and goes through the same approval: nothing deploys itself.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from infra.components.retraining import Retraining, alarm_pattern
from kernel.naming import Naming
from kernel.quality import QualityConfig
from pipelines.definitions.jobs import PROCESSING_SPEC

NAMESPACE = "mlops/quality"
"""The quality job's CloudWatch namespace (pipelines/steps/quality.py `NAMESPACE`)."""
STEP = "MeasureQuality"
CODE = "/opt/ml/processing/input/code"
RUN_PERIOD = 3600
"""Alarm period: a run reports once; one report with a violation is enough."""
UNJUDGED_RUNS = 3
"""Runs in a row without enough labels (or without a run at all) before the team hears of it."""


@dataclass(frozen=True)
class ModelQualityArgs:
    """Inputs of `ModelQuality`."""

    naming: Naming
    """The project's naming (`<prefix>-<env>-<project>-...`): the isolation proof covers what it names."""
    tags: Mapping[str, str]
    model_name: str
    """The project's model: names the alarms (`<prefix>-<env>-<project>-<model>-quality`)."""
    project: str
    """The project: its labels are `<project>/labels/` in `labels_bucket` (pipelines/quality/labels.py)."""
    config: QualityConfig
    endpoint_name: pulumi.Input[str] | None
    """None where nothing is captured (dev's serverless endpoint): then only forwarded alarms retrain here."""
    model_package_arn: str | None
    """The served package: its evaluation report is the baseline."""
    image_uri: str
    """The step image (the sklearn image of the region, as for the drift job)."""
    job_role_arn: pulumi.Input[str]
    """Runs the pipeline and its processing job (the monitoring role)."""
    automation_role_arn: pulumi.Input[str]
    """Lets EventBridge Scheduler and rules start pipelines and put events."""
    kms_key_arn: pulumi.Input[str]
    artifacts_bucket: pulumi.Input[str]
    """Holds the staged step code (`code_prefix`) and the job's reports."""
    code_prefix: pulumi.Input[str]
    capture_bucket: pulumi.Input[str]
    labels_bucket: pulumi.Input[str]
    """Where `mlops labels upload` stores labels (the project's monitoring bucket)."""
    subnet_ids: Sequence[pulumi.Input[str]]
    security_group_ids: Sequence[pulumi.Input[str]]
    alerts_topic_arn: pulumi.Input[str]
    training_pipeline_arn: pulumi.Input[str] | None = None
    """Where models are trained (dev): the alarm starts this pipeline."""
    training_bus_arn: str | None = None
    """Staging and prod: the alarm is forwarded to this bus (dev's default bus)."""
    forwarding_accounts: Sequence[str] = ()
    """Dev: accounts whose forwarded quality alarms start the training pipeline. The bus policy that lets
    them put events is `Monitoring`'s (one policy per bus)."""


class ModelQuality(pulumi.ComponentResource):
    """Judge the served model against ground truth on a schedule; alert and retrain when it degrades."""

    pipeline_name: pulumi.Output[str] | None
    alarm_name: pulumi.Output[str] | None

    def __init__(self, name: str, args: ModelQualityArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:monitoring:ModelQuality", name, None, opts)
        self._name, self._args = name, args
        self.pipeline_name = self.alarm_name = None
        if args.endpoint_name is not None and args.model_package_arn is not None:
            pipeline = self._pipeline(args.endpoint_name, args.model_package_arn)
            self._schedule(pipeline)
            alarm = self._violation_alarm(args.endpoint_name)
            self._unjudged_alarm(args.endpoint_name)
            if args.config.retrain_on_violation:
                self._retraining().on(
                    "retrain-on-quality",
                    "A model-quality alarm",
                    alarm.arn.apply(lambda arn: json.dumps(alarm_pattern(arn), sort_keys=True)),
                )
            self.pipeline_name, self.alarm_name = pipeline.pipeline_name, alarm.name
        if args.config.retrain_on_violation and args.forwarding_accounts and args.training_pipeline_arn is not None:
            # `<project>-<model>`: every project's rule sits on dev's one bus; project names have no hyphen
            model = "-".join(filter(None, (args.naming.project, args.model_name)))
            self._retraining().on_forwarded(
                "retrain-on-forwarded-quality",
                "Model-quality alarms",
                forwarded_quality_pattern(args.forwarding_accounts, model),
            )
        self.register_outputs({"pipeline_name": self.pipeline_name, "alarm_name": self.alarm_name})

    def _child(self) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self)

    def _pipeline(self, endpoint: pulumi.Input[str], package: str) -> aws.sagemaker.Pipeline:
        args = self._args
        values = pulumi.Output.all(
            role=args.job_role_arn,
            key=args.kms_key_arn,
            artifacts=args.artifacts_bucket,
            code_prefix=args.code_prefix,
            capture=args.capture_bucket,
            labels=args.labels_bucket,
            endpoint=endpoint,
            subnets=pulumi.Output.all(*args.subnet_ids),
            groups=pulumi.Output.all(*args.security_group_ids),
        )
        definition = values.apply(
            lambda v: json.dumps(quality_definition(args, {**v, "package": package}), sort_keys=True)
        )
        return aws.sagemaker.Pipeline(
            f"{self._name}-quality",
            pipeline_name=args.naming.sagemaker("quality"),
            pipeline_display_name=args.naming.sagemaker("quality"),
            pipeline_description="join captured predictions with labels and compare the model with its baseline",
            role_arn=args.job_role_arn,
            pipeline_definition=definition,
            tags=dict(args.tags),
            opts=self._child(),
        )

    def _schedule(self, pipeline: aws.sagemaker.Pipeline) -> None:
        args = self._args
        aws.scheduler.Schedule(
            f"{self._name}-quality-schedule",
            name=args.naming.resource("quality"),
            description="Runs the model-quality pipeline",
            schedule_expression=args.config.schedule,
            flexible_time_window={"mode": "FLEXIBLE", "maximum_window_in_minutes": 30},
            target={
                "arn": pipeline.arn,
                "role_arn": args.automation_role_arn,
                "retry_policy": {"maximum_retry_attempts": 3, "maximum_event_age_in_seconds": 3600},
            },
            opts=self._child(),
        )

    def _alarm(
        self, endpoint: pulumi.Input[str], suffix: str, description: str, **settings: Any
    ) -> aws.cloudwatch.MetricAlarm:
        args = self._args
        return aws.cloudwatch.MetricAlarm(
            f"{self._name}-{suffix}",
            name=args.naming.resource(f"{args.model_name}-{suffix}"),
            alarm_description=description,
            namespace=NAMESPACE,
            dimensions={"Endpoint": endpoint},
            alarm_actions=[args.alerts_topic_arn],
            ok_actions=[args.alerts_topic_arn],
            tags=dict(args.tags),
            opts=self._child(),
            **settings,
        )

    def _violation_alarm(self, endpoint: pulumi.Input[str]) -> aws.cloudwatch.MetricAlarm:
        return self._alarm(
            endpoint,
            "quality",
            "the quality job found the model worse than its evaluation baseline on labelled traffic",
            metric_name="Violations",
            statistic="Maximum",
            period=RUN_PERIOD,
            evaluation_periods=1,
            datapoints_to_alarm=1,
            comparison_operator="GreaterThanOrEqualToThreshold",
            threshold=1,
            treat_missing_data="notBreaching",  # no run in the hour is no evidence of degradation
        )

    def _unjudged_alarm(self, endpoint: pulumi.Input[str]) -> aws.cloudwatch.MetricAlarm:
        period = 86_400
        return self._alarm(
            endpoint,
            "quality-unjudged",
            f"the quality job could not judge the model for {UNJUDGED_RUNS} days: too few labels arrive "
            "(or the job did not run); nothing watches the model's quality meanwhile",
            metric_name="Judged",
            statistic="Maximum",
            period=period,
            evaluation_periods=UNJUDGED_RUNS,
            datapoints_to_alarm=UNJUDGED_RUNS,
            comparison_operator="LessThanThreshold",
            threshold=1,
            treat_missing_data="breaching",  # a job that stopped running is what this alarm is for
        )

    def _retraining(self) -> Retraining:
        return Retraining.of(self, self._name, self._args)


def forwarded_quality_pattern(accounts: Sequence[str], model_name: str) -> dict[str, Any]:
    """The quality alarms (entering ALARM) of the serving accounts, as they arrive on dev's bus."""
    return {
        "source": ["aws.cloudwatch"],
        "detail-type": ["CloudWatch Alarm State Change"],
        "account": sorted(accounts),
        "detail": {"alarmName": [{"suffix": f"-{model_name}-quality"}], "state": {"value": ["ALARM"]}},
    }


def job_arguments(args: ModelQualityArgs, endpoint: str, package: str) -> list[str]:
    """The quality job's command line (pipelines/steps/quality.py), from the config."""
    config = args.config
    return [
        "--capture", "/opt/ml/processing/input/capture",
        "--labels", "/opt/ml/processing/input/labels",
        "--output", "/opt/ml/processing/quality",
        "--model-package-arn", package,
        "--endpoint", endpoint,
        "--region", args.naming.region,
        "--project-spec", PROCESSING_SPEC,
        "--threshold", str(config.threshold),
        "--window-hours", str(config.window_hours),
        "--delay-hours", str(config.delay_hours),
        "--min-samples", str(config.min_samples),
        *config.tolerances.arguments(),
        "--publish",
    ]  # fmt: skip


def _input(name: str, uri: str) -> dict[str, Any]:
    return {
        "InputName": name,
        "S3Input": {
            "LocalPath": f"/opt/ml/processing/input/{name}",
            "S3CompressionType": "None",
            "S3DataDistributionType": "FullyReplicated",
            "S3DataType": "S3Prefix",
            "S3InputMode": "File",
            "S3Uri": uri,
        },
    }


def quality_definition(args: ModelQualityArgs, v: Mapping[str, Any]) -> dict[str, Any]:
    """The quality pipeline's definition: one processing step, shaped as the drift template's.

    Built as data, field for field like the committed `pipelines/definitions/compiled/drift.json` that
    the SDK compiles for the drift job (the test compares the two step shapes).
    """
    labels_prefix = f"{args.project}/labels/"
    step = {
        "Name": STEP,
        "Type": "Processing",
        "Arguments": {
            "AppSpecification": {
                "ImageUri": args.image_uri,
                "ContainerEntrypoint": ["python3", f"{CODE}/quality.py"],
                "ContainerArguments": job_arguments(args, v["endpoint"], v["package"]),
            },
            "NetworkConfig": {
                "EnableInterContainerTrafficEncryption": True,
                "EnableNetworkIsolation": False,  # it reads the package and publishes metrics (VPC endpoints)
                "VpcConfig": {"SecurityGroupIds": list(v["groups"]), "Subnets": list(v["subnets"])},
            },
            "ProcessingInputs": [
                _input("code", f"s3://{v['artifacts']}/{v['code_prefix']}"),
                _input("capture", f"s3://{v['capture']}/endpoints/{v['endpoint']}/"),
                _input("labels", f"s3://{v['labels']}/{labels_prefix}"),
            ],
            "ProcessingOutputConfig": {
                "KmsKeyId": v["key"],
                "Outputs": [
                    {
                        "OutputName": "quality",
                        "S3Output": {
                            "LocalPath": "/opt/ml/processing/quality",
                            "S3UploadMode": "EndOfJob",
                            "S3Uri": {
                                "Std:Join": {
                                    "On": "/",
                                    "Values": [
                                        f"s3://{v['artifacts']}/pipelines/quality",
                                        {"Get": "Execution.PipelineExecutionId"},
                                        STEP,
                                        "quality",
                                    ],
                                }
                            },
                        },
                    }
                ],
            },
            "ProcessingResources": {
                "ClusterConfig": {
                    "InstanceCount": 1,
                    "InstanceType": args.config.processing_instance_type,
                    "VolumeKmsKeyId": v["key"],
                    "VolumeSizeInGB": 30,
                }
            },
            "RoleArn": v["role"],
            "StoppingCondition": {"MaxRuntimeInSeconds": args.config.max_runtime_seconds},
        },
        "RetryPolicies": [  # the drift template's: throttling and service faults, then capacity and internal errors
            {
                "BackoffRate": 2.0,
                "ExceptionType": ["Step.THROTTLING", "Step.SERVICE_FAULT"],
                "IntervalSeconds": 10,
                "MaxAttempts": 5,
            },
            {
                "BackoffRate": 2.0,
                "ExceptionType": [
                    "SageMaker.CAPACITY_ERROR",
                    "SageMaker.RESOURCE_LIMIT",
                    "SageMaker.JOB_INTERNAL_ERROR",
                ],
                "IntervalSeconds": 60,
                "MaxAttempts": 3,
            },
        ],
    }
    return {"Version": "2020-12-01", "Metadata": {}, "Parameters": [], "Steps": [step]}
