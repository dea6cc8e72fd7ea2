"""Experiment tracking as infrastructure: the MLflow App or server, its role, its cost, its config rules."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from infra.cost.estimate import estimate
from infra.plan.evaluate import evaluate_stack
from kernel import ConfigError, StackConfig, load_stack_file
from kernel.plan import Plan
from tests.helpers import as_list, load_view, outputs_of, shipped_settings, statements, write_stack

APP = "aws:sagemaker/mlflowApp:MlflowApp"
SERVER = "aws:sagemaker/mlflowTrackingServer:MlflowTrackingServer"


def test_dev_has_a_serverless_mlflow_app_on_the_encrypted_artifacts_bucket(plans: dict[str, Plan]) -> None:
    plan = plans["dev"]
    (app,) = plan.of_type(APP)
    assert app.inputs["artifactStoreUri"] == f"s3://{outputs_of(plan)['bucket_names']['artifacts']}/mlflow/"
    assert app.inputs["roleArn"] == outputs_of(plan)["role_arns"]["tracking"]
    assert app.inputs["modelRegistrationMode"] == "AutoModelRegistrationDisabled"  # only the gated pipeline registers
    assert app.inputs["accountDefaultStatus"] == "DISABLED"
    assert outputs_of(plan)["tracking_arn"].endswith(f":mlflow-app/{app.inputs['name']}")
    assert plan.of_type(SERVER) == []
    models_key = next(k for k in plan.of_type("aws:kms/key:Key") if k.inputs["tags"]["purpose"] == "models")
    users = next(s for s in statements(models_key) if s["Sid"] == "KeyUse")["Principal"]["AWS"]
    assert outputs_of(plan)["role_arns"]["tracking"] in users


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_environments_that_do_not_train_pay_for_no_tracking(
    plans: dict[str, Plan], configs: dict[str, StackConfig], stack: str
) -> None:
    """Only dev's pipeline logs to MLflow (the drift job does not): no App, no server, no PrivateLink endpoint."""
    plan = plans[stack]
    assert plan.of_type(APP) == plan.of_type(SERVER) == []
    assert outputs_of(plan)["tracking_arn"] == ""
    services = {
        str(e.inputs["serviceName"]).rsplit(".", 1)[-1] for e in plan.of_type("aws:ec2/vpcEndpoint:VpcEndpoint")
    }
    assert "experiments" not in services
    report = estimate(stack, plan.resources, configs[stack])
    assert not [line for line in report.lines if "MLflow" in line.item or "experiments" in line.item]


def test_the_tracking_role_reaches_only_its_artifact_prefix(plan: Plan) -> None:
    role = outputs_of(plan)["role_arns"]["tracking"].rsplit("/", 1)[1]
    (policy,) = [p for p in plan.of_type("aws:iam/policy:Policy") if p.inputs["name"] == f"{role}-access-1"]
    allowed = [s for s in statements(policy) if s["Effect"] == "Allow"]
    assert {s["Sid"] for s in statements(policy) if s not in allowed} == {
        "FenceOtherProjectsResources",
        "FenceOtherProjectsTags",
    }, "the only denials: the project fence"
    granted = {(a, r) for s in allowed for a in as_list(s["Action"]) for r in as_list(s["Resource"])}
    artifacts = outputs_of(plan)["bucket_names"]["artifacts"]
    object_grants = {resource for action, resource in granted if action.startswith("s3:") and "/" in str(resource)}
    assert object_grants == {f"arn:aws:s3:::{artifacts}/mlflow/*"}
    assert all(action.startswith("s3:") for action, _ in granted)


def test_a_sized_server_is_planned_and_priced_as_always_on(tmp_path: Path, project_root: Path) -> None:
    settings = copy.deepcopy(shipped_settings(project_root, "dev"))
    settings["mlops:training"]["tracking"] = {"enabled": True, "kind": "server", "serverSize": "Medium"}
    write_stack(tmp_path, "dev", settings)
    plan = evaluate_stack("dev", tmp_path)
    (server,) = plan.of_type(SERVER)
    assert server.inputs["trackingServerSize"] == "Medium" and server.inputs["automaticModelRegistration"] is False
    assert plan.of_type(APP) == []
    report = estimate("dev", plan.resources, load_stack_file(tmp_path / "Pulumi.dev.yaml"))
    (line,) = [item for item in report.lines if "MLflow tracking server" in item.item]
    assert line.kind == "idle" and line.monthly_usd > 500  # Medium runs around the clock


def test_tracking_off_plans_no_service_and_an_empty_output(tmp_path: Path, project_root: Path) -> None:
    settings = copy.deepcopy(shipped_settings(project_root, "dev"))
    settings["mlops:training"]["tracking"] = {"enabled": False}
    write_stack(tmp_path, "dev", settings)
    plan = evaluate_stack("dev", tmp_path)
    assert plan.of_type(APP) == plan.of_type(SERVER) == []
    assert outputs_of(plan)["tracking_arn"] == ""


@pytest.mark.parametrize(
    ("tracking", "endpoints", "expected"),
    [
        (
            {"enabled": True, "kind": "app", "serverSize": "Large"},
            None,
            "training.tracking: serverSize applies to kind: server only",
        ),
        (
            {"enabled": True},
            ["sagemaker.api", "sts", "logs", "ecr.api", "ecr.dkr", "athena", "glue", "monitoring"],
            "network.interfaceEndpoints: training.tracking is enabled: add sagemaker.experiments",
        ),
        ({"enabled": True, "maintenanceWindow": "SUNDAY"}, None, "training.tracking.maintenanceWindow"),
        ({"enabled": True, "experiment": "churn model!"}, None, "training.tracking.experiment"),
    ],
)
def test_inconsistent_tracking_settings_are_rejected(
    tmp_path: Path, project_root: Path, tracking: dict[str, Any], endpoints: list[str] | None, expected: str
) -> None:
    settings = copy.deepcopy(shipped_settings(project_root, "dev"))
    settings["mlops:training"]["tracking"] = tracking
    if endpoints is not None:
        settings["mlops:network"]["interfaceEndpoints"] = endpoints
    path = write_stack(tmp_path, "dev", settings)
    with pytest.raises(ConfigError) as caught:
        load_view(path)  # the churn project's view: its training section completed by the platform's network
    assert any(expected in line for line in caught.value.lines()), caught.value.lines()
