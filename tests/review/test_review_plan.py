"""A review stack's plan: names within AWS's limits, the cheap profile, the policy pack, nothing kept on destroy."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import botocore.session

from kernel.plan import Plan
from kernel.review import ReviewStack, review_view
from policies.check import check_plan

NAME_LIMITS: dict[str, tuple[str, str, tuple[str, ...], str]] = {
    "aws:iam/role:Role": ("iam", "CreateRole", ("RoleName",), "name"),
    "aws:iam/policy:Policy": ("iam", "CreatePolicy", ("PolicyName",), "name"),
    "aws:sagemaker/pipeline:Pipeline": ("sagemaker", "CreatePipeline", ("PipelineName",), "pipelineName"),
    "aws:sagemaker/featureGroup:FeatureGroup": (
        "sagemaker",
        "CreateFeatureGroup",
        ("FeatureGroupName",),
        "featureGroupName",
    ),
    "aws:sagemaker/modelPackageGroup:ModelPackageGroup": (
        "sagemaker",
        "CreateModelPackageGroup",
        ("ModelPackageGroupName",),
        "modelPackageGroupName",
    ),
    "aws:sagemaker/mlflowApp:MlflowApp": ("sagemaker", "CreateMlflowApp", ("Name",), "name"),
    "aws:sagemaker/endpoint:Endpoint": ("sagemaker", "CreateEndpoint", ("EndpointName",), "name"),
    "aws:sagemaker/endpointConfiguration:EndpointConfiguration": (
        "sagemaker",
        "CreateEndpointConfig",
        ("EndpointConfigName",),
        "name",
    ),
    "aws:sagemaker/model:Model": ("sagemaker", "CreateModel", ("ModelName",), "name"),
    "aws:glue/catalogDatabase:CatalogDatabase": ("glue", "CreateDatabase", ("DatabaseInput", "Name"), "name"),
    "aws:cloudwatch/eventRule:EventRule": ("events", "PutRule", ("Name",), "name"),
    "aws:budgets/budget:Budget": ("budgets", "CreateBudget", ("Budget", "BudgetName"), "name"),
    "aws:kms/alias:Alias": ("kms", "CreateAlias", ("AliasName",), "name"),
    "aws:cloudwatch/logGroup:LogGroup": ("logs", "CreateLogGroup", ("logGroupName",), "name"),
    "aws:cloudwatch/metricAlarm:MetricAlarm": ("cloudwatch", "PutMetricAlarm", ("AlarmName",), "name"),
}
"""Planned type -> the API call that creates it, the name's member in its request, and the plan's input key.
The limits come from botocore's service models (the AWS SDKs' API definitions), not from our naming code."""
S3_BUCKET_MAX = 63
"""Amazon S3 user guide, "General purpose bucket naming rules": 3 to 63 characters (botocore's model has no
length on BucketName)."""
ATHENA_WORKGROUP = re.compile(r"[a-zA-Z0-9._-]{1,128}")
"""botocore's athena model, WorkGroupName's pattern (it carries the length)."""


@cache
def _limit(service: str, operation: str, path: tuple[str, ...]) -> int:
    shape = botocore.session.get_session().get_service_model(service).operation_model(operation).input_shape
    for member in path:
        shape = shape.members[member]
    return int(shape.metadata["max"])


def test_every_review_name_fits_the_limit_aws_sets_for_it(review_plan: Plan) -> None:
    """The longest pull request number the tests promise, with a model pinned: every name fits its API's limit."""
    checked: set[str] = set()
    for resource in review_plan.resources:
        if resource.type in NAME_LIMITS:
            service, operation, path, key = NAME_LIMITS[resource.type]
            name = str(resource.inputs[key])
            assert len(name) <= _limit(service, operation, path), f"{resource.type} {name!r}"
            checked.add(resource.type)
        elif resource.type == "aws:s3/bucket:Bucket":
            assert len(resource.inputs["bucket"]) <= S3_BUCKET_MAX, resource.inputs["bucket"]
            checked.add(resource.type)
        elif resource.type == "aws:athena/workgroup:Workgroup":
            assert ATHENA_WORKGROUP.fullmatch(resource.inputs["name"]), resource.inputs["name"]
            checked.add(resource.type)
    # Not vacuous: the limits that bind review names (S3 63, SageMaker 63, IAM 64, EventBridge 64) were all met.
    assert {
        "aws:s3/bucket:Bucket",
        "aws:iam/role:Role",
        "aws:sagemaker/endpoint:Endpoint",
        "aws:sagemaker/model:Model",
        "aws:sagemaker/modelPackageGroup:ModelPackageGroup",
        "aws:cloudwatch/eventRule:EventRule",
    } <= checked


def test_review_names_and_tags_are_the_reviews_own(review_plan: Plan, review: ReviewStack) -> None:
    """Every name starts `mlops-dev-pr-<N>-<project>-`, every tag says `project: pr-<N>-<project>`."""
    base = f"mlops-dev-{review.scope}-"
    for resource in review_plan.resources:
        if resource.type in ("aws:iam/role:Role", "aws:s3/bucket:Bucket", "aws:sagemaker/endpoint:Endpoint"):
            assert str(resource.inputs.get("name") or resource.inputs.get("bucket")).startswith(base)
        tags = resource.inputs.get("tags")
        if isinstance(tags, dict) and tags:
            assert tags["project"] == review.scope, resource.urn


def test_the_cheap_profile_serves_serverless_without_endpoints_schedules_or_personas(
    review_plan: Plan, review: ReviewStack, review_root: Path
) -> None:
    """Serverless at its smallest, no interface endpoints or VPC of its own, no schedules, only workload roles."""
    config, _ = review_view(review_root, review)
    assert config.serving.mode == "serverless" and config.serving.serverless.memory_size_mb == 1024
    assert not config.feature_store.online_store
    assert config.monitoring.retrain_schedule is None and not config.monitoring.retrain_on_drift
    types = {resource.type for resource in review_plan.resources}
    assert not types & {"aws:ec2/vpcEndpoint:VpcEndpoint", "aws:ec2/vpc:Vpc", "aws:ec2/subnet:Subnet"}
    assert not types & {"aws:scheduler/schedule:Schedule", "aws:sagemaker/monitoringSchedule:MonitoringSchedule"}
    [config_resource] = review_plan.of_type("aws:sagemaker/endpointConfiguration:EndpointConfiguration")
    assert [
        variant["serverlessConfig"]["memorySizeInMb"] for variant in config_resource.inputs["productionVariants"]
    ] == [1024]
    roles = {
        str(role.inputs["name"]).removeprefix(f"mlops-dev-{review.scope}-")
        for role in review_plan.of_type("aws:iam/role:Role")
    }
    assert roles == {"pipeline", "jobs", "model", "monitoring", "feature-store", "tracking", "automation"}


def test_the_review_profile_passes_the_policy_pack(review_plan: Plan, review: ReviewStack, review_root: Path) -> None:
    """The review stack is judged like any project stack of dev: no violation, mandatory or advisory."""
    config, _ = review_view(review_root, review)
    assert [f"{v.rule.id}: {v.message}" for v in check_plan(review_plan, config, {review.scope: config})] == []


def test_a_review_keeps_nothing_after_destroy(review_plan: Plan) -> None:
    """Unlike a project stack, no key, bucket or group of a review is protected or retained."""
    kept = [r.urn for r in review_plan.resources if r.options.get("protect") or r.options.get("retainOnDelete")]
    assert kept == []
    assert review_plan.of_type("aws:kms/key:Key") and review_plan.of_type("aws:s3/bucket:Bucket")
