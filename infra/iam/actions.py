"""Action lists shared by the role builders, grouped by what a principal needs to do.

Actions that AWS does not allow to be scoped to a resource are kept in `UNSCOPED_*` lists: they are
the only ones granted on `Resource: "*"`, and each list says why. Reads that AWS can scope are
granted on this account's and region's ARNs (`*_reads`).
"""

from __future__ import annotations

from infra.iam.arns import Arns
from infra.policy_document import Statement

S3_READ = ["s3:GetObject", "s3:GetObjectVersion", "s3:GetObjectTagging"]
S3_LIST = ["s3:ListBucket", "s3:GetBucketLocation"]
S3_WRITE = ["s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"]

LOGS_WRITE = ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"]
ECR_PULL = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"]

UNSCOPED_CONTAINER = ["ecr:GetAuthorizationToken"]
"""Registry login: AWS has no resource-level permission for it."""

UNSCOPED_METRICS = ["cloudwatch:PutMetricData"]
"""Custom metrics: no resource-level permission; limited by the `cloudwatch:namespace` condition."""

UNSCOPED_VPC_READ = [
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeVpcs",
    "ec2:DescribeSubnets",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeDhcpOptions",
]
"""What SageMaker checks before it attaches a job or endpoint to the VPC: Describe* has no resource level."""

VPC_ATTACH = [
    "ec2:CreateNetworkInterface",
    "ec2:CreateNetworkInterfacePermission",
    "ec2:DeleteNetworkInterface",
    "ec2:DeleteNetworkInterfacePermission",
]
"""What SageMaker does to put a job or endpoint in the VPC; scoped to this account and region."""

SAGEMAKER_READ = ["sagemaker:Describe*", "sagemaker:Get*", "sagemaker:BatchDescribeModelPackage"]
"""Read-only SageMaker, on this account's and region's ARNs (see `sagemaker_reads`)."""
UNSCOPED_SAGEMAKER_READ = ["sagemaker:List*", "sagemaker:Search"]
"""Search and nearly every List action take no resource (Service Authorization Reference)."""

SAGEMAKER_JOBS = [
    "sagemaker:CreateProcessingJob",
    "sagemaker:CreateTrainingJob",
    "sagemaker:CreateTransformJob",
    "sagemaker:CreateHyperParameterTuningJob",
]
SAGEMAKER_STOP_JOBS = [
    "sagemaker:StopProcessingJob",
    "sagemaker:StopTrainingJob",
    "sagemaker:StopTransformJob",
    "sagemaker:StopHyperParameterTuningJob",
]
SAGEMAKER_PIPELINE_RUN = [
    "sagemaker:StartPipelineExecution",
    "sagemaker:StopPipelineExecution",
    "sagemaker:RetryPipelineExecution",
]
SAGEMAKER_DEPLOY = [
    "sagemaker:CreateModel",
    "sagemaker:DeleteModel",
    "sagemaker:CreateEndpointConfig",
    "sagemaker:DeleteEndpointConfig",
    "sagemaker:CreateEndpoint",
    "sagemaker:UpdateEndpoint",
    "sagemaker:UpdateEndpointWeightsAndCapacities",
    "sagemaker:DeleteEndpoint",
]
SAGEMAKER_REGISTER = ["sagemaker:CreateModelPackage", "sagemaker:CreateModelPackageGroup"]
SAGEMAKER_APPROVE = ["sagemaker:UpdateModelPackage"]
SAGEMAKER_TAG = ["sagemaker:AddTags"]

CLOUDTRAIL_READ = ["cloudtrail:GetTrail", "cloudtrail:GetTrailStatus", "cloudtrail:GetEventSelectors"]
"""Audit reads of a trail, on this account's trails (see `trail_reads`)."""
UNSCOPED_CLOUDTRAIL_READ = ["cloudtrail:LookupEvents", "cloudtrail:DescribeTrails"]
"""LookupEvents and DescribeTrails take no resource."""

UNSCOPED_OBSERVABILITY_READ = [
    "cloudwatch:GetMetricData",
    "cloudwatch:ListMetrics",
    "cloudwatch:ListDashboards",
    "logs:DescribeLogGroups",
]
"""Metric reads and listings: no required resource (a metric read names no dataset)."""


def sagemaker_reads(arns: Arns) -> list[Statement]:
    """Read SageMaker resources of this account and region; list and search (no resource level) on `*`."""
    return [
        Statement(sid="ReadSageMaker", actions=SAGEMAKER_READ, resources=[arns.regional("sagemaker", "*")]),
        Statement(sid="ListSageMaker", actions=UNSCOPED_SAGEMAKER_READ, resources=["*"]),
    ]


def observability_reads(arns: Arns) -> list[Statement]:
    """Read this account's alarms, dashboards and log events; metrics and listings (no resource level) on `*`."""
    return [
        Statement(
            sid="ReadAlarmsDashboardsAndLogs",
            actions=[
                "cloudwatch:DescribeAlarms",
                "cloudwatch:GetDashboard",
                "logs:GetLogEvents",
                "logs:FilterLogEvents",
            ],
            resources=[
                # This scope's alarms, and those target tracking creates after its endpoints (no tags of ours).
                arns.regional("cloudwatch", f"alarm:{arns.naming.base}-*"),
                arns.regional("cloudwatch", f"alarm:TargetTracking-endpoint/{arns.naming.base}-*"),
                # Dashboards take no tags: their names set one project's apart (`<prefix>-<env>-<project>-*`).
                f"arn:aws:cloudwatch::{arns.account}:dashboard/{arns.naming.base}-*",
                arns.log_group("*"),
            ],
        ),
        Statement(sid="ReadMetricsAndListLogs", actions=UNSCOPED_OBSERVABILITY_READ, resources=["*"]),
    ]


def trail_reads(arns: Arns) -> list[Statement]:
    """Read this account's trails; look up events and list trails (no resource level) on `*`."""
    return [
        Statement(sid="ReadTrail", actions=CLOUDTRAIL_READ, resources=[arns.regional("cloudtrail", "trail/*")]),
        Statement(sid="LookupTrailEvents", actions=UNSCOPED_CLOUDTRAIL_READ, resources=["*"]),
    ]


MLFLOW_READ = [
    "sagemaker-mlflow:GetExperiment",
    "sagemaker-mlflow:GetExperimentByName",
    "sagemaker-mlflow:SearchExperiments",
    "sagemaker-mlflow:GetRun",
    "sagemaker-mlflow:SearchRuns",
    "sagemaker-mlflow:GetMetricHistory",
    "sagemaker-mlflow:ListArtifacts",
    "sagemaker-mlflow:GetRegisteredModel",
    "sagemaker-mlflow:SearchRegisteredModels",
    "sagemaker-mlflow:GetModelVersion",
    "sagemaker-mlflow:SearchModelVersions",
]
"""Browse experiments, runs, metrics and artifacts in the MLflow UI or client."""

MLFLOW_LOG = [
    "sagemaker-mlflow:CreateExperiment",
    "sagemaker-mlflow:CreateRun",
    "sagemaker-mlflow:UpdateRun",
    "sagemaker-mlflow:LogBatch",
    "sagemaker-mlflow:LogMetric",
    "sagemaker-mlflow:LogParam",
    "sagemaker-mlflow:LogInputs",
    "sagemaker-mlflow:LogModel",
    "sagemaker-mlflow:SetTag",
    "sagemaker-mlflow:SetExperimentTag",
]
"""Record runs. No delete or restore: a logged run is evidence, removed only by the platform admin."""

MLFLOW_UI = ["sagemaker:CreatePresignedMlflowAppUrl", "sagemaker:CreatePresignedMlflowTrackingServerUrl"]
"""Open the MLflow UI of a tracking app or server (a short-lived presigned URL)."""

UNSCOPED_MLFLOW_UI = ["sagemaker-mlflow:AccessUI"]
"""Open a tracking server's UI: the Service Authorization Reference lists no resource type for it, so
only `Resource: "*"` matches (the server's API calls behind the UI stay scoped)."""

MLFLOW_APP_API = ["sagemaker:CallMlflowAppApi"]
"""An MLflow App's whole API, reads and writes alike: its only data-plane action (Service
Authorization Reference). The `sagemaker-mlflow:*` actions above apply to tracking servers only."""
