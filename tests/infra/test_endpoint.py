"""Issue 7 on every stack: no endpoint until a model is pinned; then the right endpoint per environment."""

from __future__ import annotations

import copy
import fnmatch
import json
import re
from pathlib import Path
from typing import Any

import pytest

from infra.components.endpoint import digest
from infra.plan.evaluate import evaluate_stack
from kernel.plan import Plan
from tests.helpers import outputs_of, shipped_settings, statements, write_stack

PACKAGE = "arn:aws:sagemaker:eu-west-1:111111111111:model-package/mlops-dev-churn-model/7"


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
    assert outputs_of(plan).get("endpoint_name") is None  # Pulumi drops outputs that are None
    for token in ("endpoint:Endpoint", "endpointConfiguration:EndpointConfiguration", "model:Model"):
        assert not plan.of_type(f"aws:sagemaker/{token}")
    assert plan.of_type("mlops:serving:Endpoint"), "the component is there, empty, so the plan says why"


DIGEST = r"[0-9a-f]{8}"


def test_realtime_models_are_isolated_in_the_vpc(pinned: dict[str, Plan]) -> None:
    for stack in ("staging", "prod"):
        plan = pinned[stack]
        model = one(plan, "aws:sagemaker/model:Model")
        assert model["primaryContainer"] == {"modelPackageName": PACKAGE}
        assert model["enableNetworkIsolation"] is True
        assert model["vpcConfig"]["subnets"] == outputs_of(plan)["subnet_ids"]
        assert model["executionRoleArn"] == outputs_of(plan)["role_arns"]["model"]
        assert re.fullmatch(f"mlops-{stack}-churn-model-primary-v7-{DIGEST}", model["name"])


def test_realtime_capture_is_encrypted_and_sampled_per_config(pinned: dict[str, Plan], configs: dict[str, Any]) -> None:
    for stack in ("staging", "prod"):
        plan = pinned[stack]
        config = one(plan, "aws:sagemaker/endpointConfiguration:EndpointConfiguration")
        capture = config["dataCaptureConfig"]
        assert capture["enableCapture"] is True
        assert capture["initialSamplingPercentage"] == configs[stack].serving.data_capture_percentage
        assert capture["kmsKeyId"] == outputs_of(plan)["key_arns"]["models"]
        assert capture["destinationS3Uri"].startswith(f"s3://{outputs_of(plan)['bucket_names']['capture']}/endpoints/")


def test_dev_serverless_uses_none_of_the_features_sagemaker_excludes(pinned: dict[str, Plan]) -> None:
    """SageMaker's serverless feature exclusions (developer guide, serverless-endpoints): no VPC configuration,
    no network isolation, no data capture, no Model Monitor, one production variant. The config still takes
    KmsKeyId (botocore 1.44.5 CreateEndpointConfigInput.KmsKeyId)."""
    plan = pinned["dev"]
    config = one(plan, "aws:sagemaker/endpointConfiguration:EndpointConfiguration")
    (variant,) = config["productionVariants"]
    assert variant["serverlessConfig"] == {"maxConcurrency": 5, "memorySizeInMb": 2048}
    assert "instanceType" not in variant
    assert "dataCaptureConfig" not in config and "shadowProductionVariants" not in config
    assert config["kmsKeyArn"] == outputs_of(plan)["key_arns"]["models"]
    model = one(plan, "aws:sagemaker/model:Model")
    assert "vpcConfig" not in model and model["enableNetworkIsolation"] is False
    assert variant["modelName"] == model["name"]
    assert re.fullmatch(f"mlops-dev-churn-model-serverless-v7-{DIGEST}", model["name"])
    assert not plan.of_type("aws:sagemaker/dataQualityJobDefinition:DataQualityJobDefinition")
    assert not plan.of_type("aws:appautoscaling/target:Target")
    assert "deploymentConfig" not in one(plan, "aws:sagemaker/endpoint:Endpoint")


def test_the_guardrails_exempt_only_devs_serverless_model(pinned: dict[str, Plan]) -> None:
    """The relaxation is explicit and narrow: CreateModel outside the VPC is denied for every model name
    except the serverless endpoint's, in dev only; jobs stay denied outside the VPC."""
    plan = pinned["dev"]
    model_arn = f"arn:aws:sagemaker:eu-west-1:111111111111:model/{one(plan, 'aws:sagemaker/model:Model')['name']}"
    (guardrails,) = [p for p in plan.of_type("aws:iam/policy:Policy") if p.inputs["name"] == "mlops-dev-guardrails"]
    by_sid = {s["Sid"]: s for s in statements(guardrails)}
    model_deny = by_sid["DenyJobsOutsideVpcModels"]
    assert model_deny["Action"] == ["sagemaker:CreateModel"] and "Resource" not in model_deny
    (exempt,) = model_deny["NotResource"]
    assert fnmatch.fnmatchcase(model_arn, exempt)
    assert not fnmatch.fnmatchcase(model_arn.replace("-serverless-", "-primary-"), exempt)
    assert "sagemaker:CreateModel" not in by_sid["DenyJobsOutsideVpc"]["Action"]
    assert "sagemaker:CreateTrainingJob" in by_sid["DenyJobsOutsideVpc"]["Action"]
    assert by_sid["DenyMissingNetworkIsolationModels"]["NotResource"] == [exempt]
    # The same exemption in the platform's boundary (every project role's ceiling) and in churn's own guardrails,
    # which exempt churn's serverless models only, never another project's.
    policies = {p.inputs["name"]: p for p in plan.of_type("aws:iam/policy:Policy")}
    other_project = model_arn.replace("/mlops-dev-churn-", "/mlops-dev-fraud-")
    for name in ("mlops-dev-boundary", "mlops-dev-churn-guardrails"):
        sids = {s["Sid"]: s for s in statements(policies[name])}
        for sid in ("DenyJobsOutsideVpcModels", "DenyMissingNetworkIsolationModels"):
            (pattern,) = sids[sid]["NotResource"]
            assert fnmatch.fnmatchcase(model_arn, pattern), (name, sid)
            assert not fnmatch.fnmatchcase(model_arn.replace("-serverless-", "-primary-"), pattern), (name, sid)
            if name != "mlops-dev-boundary":
                assert not fnmatch.fnmatchcase(other_project, pattern), (name, sid)
    for stack in ("staging", "prod"):
        names = {f"mlops-{stack}-guardrails", f"mlops-{stack}-boundary", f"mlops-{stack}-churn-guardrails"}
        found = [p for p in pinned[stack].of_type("aws:iam/policy:Policy") if p.inputs["name"] in names]
        assert len(found) == len(names)
        for policy in found:
            assert all("NotResource" not in statement for statement in statements(policy)), policy.inputs["name"]


@pytest.mark.parametrize(("stack", "routing"), [("staging", "LINEAR"), ("prod", "CANARY")])
def test_realtime_rolls_out_blue_green_with_alarm_rollback(
    pinned: dict[str, Plan], configs: dict[str, Any], stack: str, routing: str
) -> None:
    plan, serving = pinned[stack], configs[stack].serving
    config = one(plan, "aws:sagemaker/endpointConfiguration:EndpointConfiguration")
    (variant,) = config["productionVariants"]
    assert variant["instanceType"] == serving.instance_type
    assert variant["initialInstanceCount"] == serving.min_instances
    assert config["kmsKeyArn"] == outputs_of(plan)["key_arns"]["models"]
    deployment = one(plan, "aws:sagemaker/endpoint:Endpoint")["deploymentConfig"]
    traffic = deployment["blueGreenUpdatePolicy"]["trafficRoutingConfiguration"]
    assert traffic["type"] == routing and traffic["waitIntervalInSeconds"] == serving.rollout.wait_seconds
    alarms = {a.inputs["name"]: a.inputs for a in plan.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")}
    rollback = [a["alarmName"] for a in deployment["autoRollbackConfiguration"]["alarms"]]
    assert sorted(rollback) == [f"mlops-{stack}-churn-model-error-rate", f"mlops-{stack}-churn-model-latency-p99"]
    assert set(rollback) <= set(alarms)
    latency = alarms[f"mlops-{stack}-churn-model-latency-p99"]
    assert latency["threshold"] == configs[stack].monitoring.latency_p99_ms * 1000
    assert all(a["alarmActions"] == [outputs_of(plan)["alerts_topic_arn"]] for a in alarms.values())


def test_prod_has_two_instances_and_scales_on_invocations(pinned: dict[str, Plan], configs: dict[str, Any]) -> None:
    plan, serving = pinned["prod"], configs["prod"].serving
    target = one(plan, "aws:appautoscaling/target:Target")
    assert (target["minCapacity"], target["maxCapacity"]) == (serving.min_instances, serving.max_instances)
    assert target["minCapacity"] >= 2
    assert target["resourceId"] == "endpoint/mlops-prod-churn-model/variant/primary"
    policy = one(plan, "aws:appautoscaling/policy:Policy")["targetTrackingScalingPolicyConfiguration"]
    assert policy["targetValue"] == serving.target_invocations_per_instance
    assert policy["predefinedMetricSpecification"]["predefinedMetricType"] == "SageMakerVariantInvocationsPerInstance"


def _pinned_staging(root: Path, project_root: Path, **serving: Any) -> Plan:
    settings = copy.deepcopy(shipped_settings(project_root, "staging"))
    settings["mlops:serving"] |= {"modelPackageArn": PACKAGE, **serving}
    settings["mlops:network"]["existingVpc"] = {
        "vpcId": "vpc-0abc12345def67890",
        "privateSubnetIds": ["subnet-0aaa1111bbbb2222c", "subnet-0ddd3333eeee4444f"],
        "routeTableIds": ["rtb-0aaa1111bbbb2222c"],
    }
    root.mkdir()
    write_stack(root, "staging", settings)
    return evaluate_stack("staging", root)


def test_a_replacement_forcing_change_gives_models_and_configs_new_names(tmp_path: Path, project_root: Path) -> None:
    """SageMaker cannot update a model or an endpoint configuration (botocore 1.44.5 has no UpdateModel or
    UpdateEndpointConfig; terraform-provider-aws, under pulumi-aws 7.51.1, marks every input but tags ForceNew),
    so a change replaces them create-before-delete: the new name must differ from the old one for every input
    (subnets, security groups, role, key, package), or the create collides with the resource still in use."""
    base = _pinned_staging(tmp_path / "base", project_root)
    settings = copy.deepcopy(shipped_settings(project_root, "staging"))
    settings["mlops:serving"] |= {"modelPackageArn": PACKAGE}
    settings["mlops:network"]["existingVpc"] = {
        "vpcId": "vpc-0abc12345def67890",
        "privateSubnetIds": ["subnet-0aaa1111bbbb2222c", "subnet-0fff5555aaaa6666b"],  # one subnet moved
        "routeTableIds": ["rtb-0aaa1111bbbb2222c"],
    }
    (tmp_path / "moved").mkdir()
    write_stack(tmp_path / "moved", "staging", settings)
    moved = evaluate_stack("staging", tmp_path / "moved")
    same = _pinned_staging(tmp_path / "same", project_root)
    token_model, token_config = "aws:sagemaker/model:Model", "aws:sagemaker/endpointConfiguration:EndpointConfiguration"
    assert one(moved, token_model)["name"] != one(base, token_model)["name"]
    assert one(moved, token_config)["name"] != one(base, token_config)["name"], "it serves the new model"
    assert one(same, token_model)["name"] == one(base, token_model)["name"], "no change, no replacement"
    assert one(same, token_config)["name"] == one(base, token_config)["name"]


def test_the_name_digest_covers_every_input() -> None:
    inputs = {
        "execution_role_arn": "arn:aws:iam::222222222222:role/mlops-staging-model",
        "primary_container": {"model_package_name": PACKAGE},
        "enable_network_isolation": True,
        "vpc_config": {"subnets": ["subnet-0aaa1111bbbb2222c"], "security_group_ids": ["sg-0aaa1111bbbb2222c"]},
    }
    changes = {
        "execution_role_arn": "arn:aws:iam::222222222222:role/other",
        "primary_container": {"model_package_name": PACKAGE[:-1] + "8"},
        "enable_network_isolation": False,
        "vpc_config": {"subnets": ["subnet-0aaa1111bbbb2222c"], "security_group_ids": ["sg-0bbb1111bbbb2222c"]},
    }
    digests = [digest(inputs), *(digest({**inputs, key: value}) for key, value in changes.items())]
    assert len(set(digests)) == len(digests)
    assert digest(dict(reversed(inputs.items()))) == digests[0], "key order does not matter"


def test_changing_a_setting_renames_the_endpoint_configuration(
    tmp_path: Path, project_root: Path, pinned: dict[str, Plan]
) -> None:
    settings = copy.deepcopy(shipped_settings(project_root, "staging"))
    settings["mlops:serving"] |= {"modelPackageArn": PACKAGE, "dataCapturePercentage": 60}
    write_stack(tmp_path, "staging", settings)
    changed = one(evaluate_stack("staging", tmp_path), "aws:sagemaker/endpointConfiguration:EndpointConfiguration")
    original = one(pinned["staging"], "aws:sagemaker/endpointConfiguration:EndpointConfiguration")
    assert changed["name"] != original["name"] and changed["name"].startswith("mlops-staging-churn-model-v7-")


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
    names = sorted(m.inputs["name"] for m in plan.of_type("aws:sagemaker/model:Model"))
    assert [name[: -len("-01234567")] for name in names] == [
        "mlops-prod-churn-model-primary-v7",
        "mlops-prod-churn-model-shadow-v8",
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
    (rule,) = [r.inputs for r in plan.of_type("aws:cloudwatch/eventRule:EventRule") if r.name.startswith("registry-")]
    assert (
        '"SageMaker Model Package State Change"' in rule["eventPattern"]
        and "mlops-dev-churn-model" in rule["eventPattern"]
    )
    (target,) = [
        t.inputs for t in plan.of_type("aws:cloudwatch/eventTarget:EventTarget") if t.name.startswith("registry-")
    ]
    assert target["arn"] == outputs_of(plan)["alerts_topic_arn"]
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
    settings["github:dispatchToken"] = "ghp_not-a-real-token"  # the project's own stack file holds the secret
    write_stack(tmp_path, "dev", settings)
    assert "dispatchToken" in (tmp_path / "projects" / "Pulumi.churn-dev.yaml").read_text()
    plan = evaluate_stack("dev", tmp_path)
    (connection,) = plan.of_type("aws:cloudwatch/eventConnection:EventConnection")
    assert connection.ml_project == "churn"
    assert connection.inputs["authParameters"] == "[secret]", "the token never reaches the plan"
    key_arn = outputs_of(plan)["key_arns"]["models"]  # the project's own key: the platform's keys serve no project
    assert connection.inputs["kmsKeyIdentifier"] == key_arn
    # EventBridge uses a customer managed key for a connection only when it is tagged so, and the creating
    # principal uses it through Secrets Manager (EventBridge user guide, encryption-connections).
    (key,) = [k for k in plan.of_project("churn").of_type("aws:kms/key:Key") if k.inputs["tags"]["purpose"] == "models"]
    assert key.inputs["tags"]["EventBridgeApiDestinations"] == "true"
    by_sid = {s["Sid"]: s for s in statements(key)}
    via = by_sid["AccountUseThroughServices"]["Condition"]["StringEquals"]["kms:ViaService"]
    assert {"secretsmanager.eu-west-1.amazonaws.com", "events.eu-west-1.amazonaws.com"} <= set(via)
    readers = by_sid["ConnectionReadersDecryptViaEvents"]
    assert readers["Principal"] == {"AWS": [outputs_of(plan)["role_arns"]["github-preview"]]}
    for platform_key in plan.of_project(None).of_type("aws:kms/key:Key"):
        assert "EventBridgeApiDestinations" not in platform_key.inputs["tags"]
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
    assert target["roleArn"] == outputs_of(plan)["role_arns"]["automation"]
    payload = json.loads(target["inputTransformer"]["inputTemplate"].replace("<package>", '"arn"'))
    # the shape promote-model reads: its package, and its project (one repository serves every project)
    assert payload == {
        "event_type": "model-package-approved",
        "client_payload": {"package_arn": "arn", "project": "churn"},
    }
    assert "ghp_" not in json.dumps(plan.to_dict())


def test_no_token_no_hook(plans: dict[str, Plan]) -> None:
    assert not plans["dev"].of_type("aws:cloudwatch/eventConnection:EventConnection")


def test_every_pinned_stack_passes_the_pack(pinned: dict[str, Plan], configs: dict[str, Any]) -> None:
    """A pinned model (as after a promotion) keeps each stack within the pack, serverless dev included."""
    from policies.check import check_plan

    for stack, plan in pinned.items():
        mandatory = [v for v in check_plan(plan, configs[stack]) if v.level == "mandatory"]
        assert not mandatory, [(v.rule.id, v.message) for v in mandatory]
        serverless = [v for v in check_plan(plan, configs[stack]) if v.rule.id.startswith("sagemaker-serverless")]
        assert not serverless


def test_a_change_of_serving_mode_replaces_the_endpoint(pinned: dict[str, Plan]) -> None:
    """SageMaker cannot update a realtime endpoint to a serverless one (developer guide, "Update a serverless
    endpoint"): the mode is the endpoint's replacement trigger, and the same name means delete first."""
    for stack, plan in pinned.items():
        (endpoint,) = plan.of_type("aws:sagemaker/endpoint:Endpoint")
        mode = "serverless" if stack == "dev" else "realtime"
        assert endpoint.options == {"deleteBeforeReplace": True, "replacementTrigger": mode}


def test_devs_serverless_config_is_a_request_sagemaker_accepts(pinned: dict[str, Plan]) -> None:
    """Every input of dev's endpoint configuration, as the CreateEndpointConfig request botocore 1.44.5 validates
    (ProductionVariantServerlessConfig; KmsKeyId is accepted beside a serverless variant)."""
    from botocore.session import get_session
    from botocore.validate import ParamValidator

    config = one(pinned["dev"], "aws:sagemaker/endpointConfiguration:EndpointConfiguration")
    assert set(config) == {"name", "tags", "productionVariants", "kmsKeyArn"}, "nothing serverless excludes"
    (variant,) = config["productionVariants"]
    assert set(variant) == {"variantName", "modelName", "serverlessConfig"}
    serverless = variant["serverlessConfig"]
    request = {
        "EndpointConfigName": config["name"],
        "ProductionVariants": [
            {
                "VariantName": variant["variantName"],
                "ModelName": variant["modelName"],
                "ServerlessConfig": {
                    "MemorySizeInMB": serverless["memorySizeInMb"],
                    "MaxConcurrency": serverless["maxConcurrency"],
                },
            }
        ],
        "KmsKeyId": config["kmsKeyArn"],
        "Tags": [{"Key": key, "Value": value} for key, value in config["tags"].items()],
    }
    shape = get_session().get_service_model("sagemaker").operation_model("CreateEndpointConfig").input_shape
    report = ParamValidator().validate(request, shape)
    assert not report.has_errors(), report.generate_report()


def test_each_endpoint_logs_to_a_declared_encrypted_group(pinned: dict[str, Plan], configs: dict[str, Any]) -> None:
    """SageMaker logs an endpoint to /aws/sagemaker/Endpoints/<name> (developer guide, CloudWatch logs)."""
    for stack, plan in pinned.items():
        endpoint = one(plan, "aws:sagemaker/endpoint:Endpoint")
        groups = {g.inputs["name"]: g.inputs for g in plan.of_type("aws:cloudwatch/logGroup:LogGroup")}
        group = groups[f"/aws/sagemaker/Endpoints/{endpoint['name']}"]
        assert group["kmsKeyId"] == outputs_of(plan)["key_arns"]["logs"], stack
        assert group["retentionInDays"] == configs[stack].audit.log_retention_days
