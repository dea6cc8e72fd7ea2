"""Issue 7 on every stack: no endpoint until a model is pinned; then the right endpoint per environment."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from infra.plan.evaluate import evaluate_stack
from infra.plan.model import Plan
from tests.helpers import shipped_settings, statements, write_stack

PACKAGE = "arn:aws:sagemaker:eu-west-1:111111111111:model-package/mlops-dev-churn/7"


@pytest.fixture(scope="module")
def pinned(tmp_path_factory: pytest.TempPathFactory, project_root: Path) -> dict[str, Plan]:
    """Each shipped stack with a model package pinned, as after a promotion."""
    plans = {}
    for stack in ("dev", "staging", "prod"):
        root = tmp_path_factory.mktemp(stack)
        settings = copy.deepcopy(shipped_settings(project_root, stack))
        settings["mlops:serving"]["modelPackageArn"] = PACKAGE
        write_stack(root, stack, settings)
        plans[stack] = evaluate_stack(stack, root)
    return plans


def one(plan: Plan, token: str) -> dict[str, Any]:
    (resource,) = plan.of_type(token)
    return resource.inputs


def test_without_a_pinned_model_there_is_no_endpoint(plan: Plan) -> None:
    assert plan.outputs.get("endpoint_name") is None  # Pulumi drops outputs that are None
    for token in ("endpoint:Endpoint", "endpointConfiguration:EndpointConfiguration", "model:Model"):
        assert not plan.of_type(f"aws:sagemaker/{token}")
    assert plan.of_type("mlops:serving:Endpoint"), "the component is there, empty, so the plan says why"


def test_models_are_isolated_in_the_vpc(pinned: dict[str, Plan]) -> None:
    for stack, plan in pinned.items():
        model = one(plan, "aws:sagemaker/model:Model")
        assert model["primaryContainer"] == {"modelPackageName": PACKAGE}
        assert model["enableNetworkIsolation"] is True
        assert model["vpcConfig"]["subnets"] == plan.outputs["subnet_ids"]
        assert model["executionRoleArn"] == plan.outputs["role_arns"]["model"]
        assert model["name"] == f"mlops-{stack}-churn-primary-v7"


def test_capture_is_encrypted_and_sampled_per_config(pinned: dict[str, Plan], configs: dict[str, Any]) -> None:
    for stack, plan in pinned.items():
        config = one(plan, "aws:sagemaker/endpointConfiguration:EndpointConfiguration")
        capture = config["dataCaptureConfig"]
        assert capture["enableCapture"] is True
        assert capture["initialSamplingPercentage"] == configs[stack].serving.data_capture_percentage
        assert capture["kmsKeyId"] == plan.outputs["key_arns"]["models"]
        assert capture["destinationS3Uri"].startswith(f"s3://{plan.outputs['bucket_names']['capture']}/endpoints/")


def test_dev_is_serverless_and_scales_to_zero(pinned: dict[str, Plan]) -> None:
    plan = pinned["dev"]
    config = one(plan, "aws:sagemaker/endpointConfiguration:EndpointConfiguration")
    (variant,) = config["productionVariants"]
    assert variant["serverlessConfig"] == {"maxConcurrency": 5, "memorySizeInMb": 2048}
    assert "instanceType" not in variant
    assert not plan.of_type("aws:appautoscaling/target:Target")
    assert "deploymentConfig" not in one(plan, "aws:sagemaker/endpoint:Endpoint")


@pytest.mark.parametrize(("stack", "routing"), [("staging", "LINEAR"), ("prod", "CANARY")])
def test_realtime_rolls_out_blue_green_with_alarm_rollback(
    pinned: dict[str, Plan], configs: dict[str, Any], stack: str, routing: str
) -> None:
    plan, serving = pinned[stack], configs[stack].serving
    config = one(plan, "aws:sagemaker/endpointConfiguration:EndpointConfiguration")
    (variant,) = config["productionVariants"]
    assert variant["instanceType"] == serving.instance_type
    assert variant["initialInstanceCount"] == serving.min_instances
    assert config["kmsKeyArn"] == plan.outputs["key_arns"]["models"]
    deployment = one(plan, "aws:sagemaker/endpoint:Endpoint")["deploymentConfig"]
    traffic = deployment["blueGreenUpdatePolicy"]["trafficRoutingConfiguration"]
    assert traffic["type"] == routing and traffic["waitIntervalInSeconds"] == serving.rollout.wait_seconds
    alarms = {a.inputs["name"]: a.inputs for a in plan.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")}
    rollback = [a["alarmName"] for a in deployment["autoRollbackConfiguration"]["alarms"]]
    assert sorted(rollback) == [f"mlops-{stack}-churn-error-rate", f"mlops-{stack}-churn-latency-p99"]
    assert set(rollback) <= set(alarms)
    latency = alarms[f"mlops-{stack}-churn-latency-p99"]
    assert latency["threshold"] == configs[stack].monitoring.latency_p99_ms * 1000
    assert all(a["alarmActions"] == [plan.outputs["alerts_topic_arn"]] for a in alarms.values())


def test_prod_has_two_instances_and_scales_on_invocations(pinned: dict[str, Plan], configs: dict[str, Any]) -> None:
    plan, serving = pinned["prod"], configs["prod"].serving
    target = one(plan, "aws:appautoscaling/target:Target")
    assert (target["minCapacity"], target["maxCapacity"]) == (serving.min_instances, serving.max_instances)
    assert target["minCapacity"] >= 2
    assert target["resourceId"] == "endpoint/mlops-prod-churn/variant/primary"
    policy = one(plan, "aws:appautoscaling/policy:Policy")["targetTrackingScalingPolicyConfiguration"]
    assert policy["targetValue"] == serving.target_invocations_per_instance
    assert policy["predefinedMetricSpecification"]["predefinedMetricType"] == "SageMakerVariantInvocationsPerInstance"


def test_changing_a_setting_renames_the_endpoint_configuration(
    tmp_path: Path, project_root: Path, pinned: dict[str, Plan]
) -> None:
    settings = copy.deepcopy(shipped_settings(project_root, "staging"))
    settings["mlops:serving"] |= {"modelPackageArn": PACKAGE, "dataCapturePercentage": 60}
    write_stack(tmp_path, "staging", settings)
    changed = one(evaluate_stack("staging", tmp_path), "aws:sagemaker/endpointConfiguration:EndpointConfiguration")
    original = one(pinned["staging"], "aws:sagemaker/endpointConfiguration:EndpointConfiguration")
    assert changed["name"] != original["name"] and changed["name"].startswith("mlops-staging-churn-v7-")


def test_shadow_variant_gets_a_share_of_traffic(tmp_path: Path, project_root: Path) -> None:
    settings = copy.deepcopy(shipped_settings(project_root, "prod"))
    settings["mlops:serving"] |= {
        "modelPackageArn": PACKAGE,
        "shadowModelPackageArn": PACKAGE[:-1] + "8",
        "shadowPercent": 20,
    }
    write_stack(tmp_path, "prod", settings)
    plan = evaluate_stack("prod", tmp_path)
    config = one(plan, "aws:sagemaker/endpointConfiguration:EndpointConfiguration")
    (shadow,) = config["shadowProductionVariants"]
    assert shadow["variantName"] == "shadow" and shadow["initialVariantWeight"] == 0.2
    assert sorted(m.inputs["name"] for m in plan.of_type("aws:sagemaker/model:Model")) == [
        "mlops-prod-churn-primary-v7",
        "mlops-prod-churn-shadow-v8",
    ]


def test_registry_lets_deploying_accounts_read_and_routes_approvals(
    plans: dict[str, Plan], configs: dict[str, Any]
) -> None:
    plan = plans["dev"]
    (policy,) = plan.of_type("aws:sagemaker/modelPackageGroupPolicy:ModelPackageGroupPolicy")
    (statement,) = statements(policy, "resourcePolicy")
    readers = configs["dev"].registry.reader_accounts
    assert statement["Principal"] == {"AWS": [f"arn:aws:iam::{a}:root" for a in readers]}
    # Read, and create a model from a package (the deploying half of cross-account serving); never write.
    reads = [a for a in statement["Action"] if a != "sagemaker:CreateModel"]
    assert all(action.split(":")[1].startswith(("Describe", "List")) for action in reads)
    rule = one(plan, "aws:cloudwatch/eventRule:EventRule")
    assert (
        '"SageMaker Model Package State Change"' in rule["eventPattern"] and "mlops-dev-churn" in rule["eventPattern"]
    )
    target = one(plan, "aws:cloudwatch/eventTarget:EventTarget")
    assert target["arn"] == plan.outputs["alerts_topic_arn"]
    assert not plans["prod"].of_type("aws:sagemaker/modelPackageGroupPolicy:ModelPackageGroupPolicy")


def test_ab_challenger_answers_its_share(tmp_path: Path, project_root: Path) -> None:
    settings = copy.deepcopy(shipped_settings(project_root, "staging"))
    settings["mlops:serving"] |= {
        "modelPackageArn": PACKAGE,
        "challengerModelPackageArn": PACKAGE[:-1] + "9",
        "challengerPercent": 25,
    }
    write_stack(tmp_path, "staging", settings)
    config = one(evaluate_stack("staging", tmp_path), "aws:sagemaker/endpointConfiguration:EndpointConfiguration")
    weights = {v["variantName"]: v["initialVariantWeight"] for v in config["productionVariants"]}
    assert weights == {"primary": 0.75, "challenger": 0.25}


def test_approvals_dispatch_the_promotion_workflow_when_a_token_is_set(tmp_path: Path, project_root: Path) -> None:
    settings = copy.deepcopy(shipped_settings(project_root, "dev"))
    settings["github:dispatchToken"] = "ghp_not-a-real-token"
    write_stack(tmp_path, "dev", settings)
    plan = evaluate_stack("dev", tmp_path)
    (connection,) = plan.of_type("aws:cloudwatch/eventConnection:EventConnection")
    assert connection.inputs["authParameters"] == "[secret]", "the token never reaches the plan"
    assert connection.inputs["kmsKeyIdentifier"] == plan.outputs["key_arns"]["alerts"]
    (destination,) = plan.of_type("aws:cloudwatch/eventApiDestination:EventApiDestination")
    assert (
        destination.inputs["invocationEndpoint"] == "https://api.github.com/repos/example-org/mlops-platform/dispatches"
    )
    rule = next(
        r.inputs for r in plan.of_type("aws:cloudwatch/eventRule:EventRule") if r.inputs["name"].endswith("-approved")
    )
    assert '"ModelApprovalStatus": ["Approved"]' in rule["eventPattern"]
    target = next(
        t.inputs for t in plan.of_type("aws:cloudwatch/eventTarget:EventTarget") if t.inputs.get("httpTarget")
    )
    assert target["roleArn"] == plan.outputs["role_arns"]["automation"]
    assert '"event_type": "model-package-approved"' in target["inputTransformer"]["inputTemplate"]
    assert "ghp_" not in json.dumps(plan.to_dict())


def test_no_token_no_hook(plans: dict[str, Plan]) -> None:
    assert not plans["dev"].of_type("aws:cloudwatch/eventConnection:EventConnection")


def test_each_endpoint_logs_to_a_declared_encrypted_group(pinned: dict[str, Plan], configs: dict[str, Any]) -> None:
    """SageMaker logs an endpoint to /aws/sagemaker/Endpoints/<name> (developer guide, CloudWatch logs)."""
    for stack, plan in pinned.items():
        endpoint = one(plan, "aws:sagemaker/endpoint:Endpoint")
        groups = {g.inputs["name"]: g.inputs for g in plan.of_type("aws:cloudwatch/logGroup:LogGroup")}
        group = groups[f"/aws/sagemaker/Endpoints/{endpoint['name']}"]
        assert group["kmsKeyId"] == plan.outputs["key_arns"]["logs"], stack
        assert group["retentionInDays"] == configs[stack].audit.log_retention_days
