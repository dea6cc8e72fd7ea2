"""Action lists shared by the role builders, grouped by what a principal needs to do.

Actions that AWS does not allow to be scoped to a resource are kept in `UNSCOPED_*` lists: they are
the only ones granted on `Resource: "*"`, and each list says why.
"""

from __future__ import annotations

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

SAGEMAKER_READ = [
    "sagemaker:Describe*",
    "sagemaker:List*",
    "sagemaker:Get*",
    "sagemaker:Search",
    "sagemaker:BatchDescribeModelPackage",
]
"""Read-only SageMaker. List* and Search have no resource-level permission."""

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

CLOUDTRAIL_READ = [
    "cloudtrail:LookupEvents",
    "cloudtrail:GetTrail",
    "cloudtrail:GetTrailStatus",
    "cloudtrail:DescribeTrails",
    "cloudtrail:GetEventSelectors",
]
"""Audit reads. LookupEvents and DescribeTrails have no resource-level permission."""

OBSERVABILITY_READ = [
    "cloudwatch:GetMetricData",
    "cloudwatch:ListMetrics",
    "cloudwatch:DescribeAlarms",
    "cloudwatch:GetDashboard",
    "cloudwatch:ListDashboards",
    "logs:DescribeLogGroups",
    "logs:GetLogEvents",
    "logs:FilterLogEvents",
]
"""Metrics and logs reads; metric reads have no resource-level permission."""

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
