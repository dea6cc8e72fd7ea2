"""Issue 14: the estimate against hand-checked figures, unpriced resources, budgets, the budget rule."""

from __future__ import annotations

import copy
import shutil
from pathlib import Path

import pytest

from infra.cost.environment import estimate_environment
from infra.cost.estimate import estimate
from infra.plan.evaluate import evaluate_stack
from kernel import StackConfig
from kernel.loader import parse_settings, read_stack_file
from kernel.plan import Plan, PlannedResource
from kernel.projects import load_project
from policies.check import check_plan
from tests.helpers import load_view, outputs_of, shipped_settings, write_stack

PACKAGE = "arn:aws:sagemaker:eu-west-1:111111111111:model-package/mlops-dev-churn-model/7"


def line(report: object, text: str) -> float:
    lines = [item for item in report.lines if text in item.item]  # type: ignore[attr-defined]
    assert lines, f"no line with {text!r}"
    return round(sum(item.monthly_usd for item in lines), 2)


def test_hand_checked_figures(plans: dict[str, Plan], configs: dict[str, StackConfig]) -> None:
    dev = estimate("dev", plans["dev"].resources, configs["dev"])
    assert line(dev, "KMS key") == 4.00  # four keys at $1
    assert line(dev, "interface endpoint sagemaker.api") == 8.03  # 1 AZ x 730 h x $0.011
    assert line(dev, "training on spot") == round(20 * round(0.269 * 0.3, 4), 2)  # 20 h at 30% of $0.269
    prod = estimate("prod", plans["prod"].resources, configs["prod"])
    assert line(prod, "interface endpoint sts") == 24.09  # 3 AZ x 730 h x $0.011
    assert line(prod, "processing (drift jobs) on ml.m5.xlarge") == round(120 * 0.269, 2)  # 120 h at $0.269
    assert line(prod, "CloudWatch Logs ingestion") == round(5 * 0.57, 2)  # 5 GB at $0.57 (eu-west-1, Standard)


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_environments_that_do_not_train_are_priced_without_training(
    plans: dict[str, Plan], configs: dict[str, StackConfig], stack: str
) -> None:
    """Only dev trains: staging and prod run drift jobs, never a training job, whatever the price table holds."""
    report = estimate(stack, plans[stack].resources, configs[stack])
    assert not [item for item in report.lines if "training" in item.item]
    assert report.unpriced == []


def test_dev_idles_under_100_dollars_with_secure_defaults(
    plans: dict[str, Plan], configs: dict[str, StackConfig]
) -> None:
    report = estimate("dev", plans["dev"].resources, configs["dev"])
    assert report.total("idle") <= 100
    assert report.unpriced == []
    assert configs["dev"].network.interface_endpoint_azs == 1


def test_realtime_instances_are_idle_cost(tmp_path: Path, project_root: Path) -> None:
    settings = copy.deepcopy(shipped_settings(project_root, "prod"))
    settings["mlops:serving"]["modelPackageArn"] = PACKAGE
    write_stack(tmp_path, "prod", settings)
    report = estimate("prod", evaluate_stack("prod", tmp_path).resources, load_view(tmp_path / "Pulumi.prod.yaml"))
    assert line(report, "endpoint primary 2 x ml.c5.2xlarge") == round(2 * 730 * 0.46, 2)


def test_an_unpriced_resource_is_listed_not_zero(plans: dict[str, Plan], configs: dict[str, StackConfig]) -> None:
    extra = PlannedResource(
        "urn:pulumi:dev::mlops::aws:rds/instance:Instance::db", "aws:rds/instance:Instance", "db", None, {}, []
    )
    report = estimate("dev", [*plans["dev"].resources, extra], configs["dev"])
    assert report.unpriced == ["aws:rds/instance:Instance db"]


def test_budget_alerts_actual_and_forecast_to_the_alerts_topic(
    plan: Plan, config: StackConfig, platform_configs: dict[str, StackConfig], stack: str
) -> None:
    """The platform's budget counts the environment's spend; each project's budget its own (`project` tag), with
    the limit and alerts of its project.yaml."""
    (platform,) = plan.of_project(None).of_type("aws:budgets/budget:Budget")
    (churn,) = plan.of_project("churn").of_type("aws:budgets/budget:Budget")
    for budget, settings, counted in (
        (platform, platform_configs[stack], f"user:environment${stack}"),
        (churn, config, "user:project$churn"),
    ):
        assert budget.inputs["limitAmount"] == f"{settings.cost.monthly_budget_usd:.2f}"
        assert budget.inputs["costFilters"] == [{"name": "TagKeyValue", "values": [counted]}]
        kinds = {(n["notificationType"], n["threshold"]) for n in budget.inputs["notifications"]}
        assert kinds == {(k, p) for k in ("ACTUAL", "FORECASTED") for p in settings.cost.alert_percents}
        assert all(
            n["subscriberSnsTopicArns"] == [outputs_of(plan)["alerts_topic_arn"]]
            for n in budget.inputs["notifications"]
        )
    assert platform.inputs["name"] != churn.inputs["name"]
    tags = [t for t in plan.of_type("aws:costexplorer/costAllocationTag:CostAllocationTag")]
    assert sorted(t.inputs["tagKey"] for t in tags) == sorted(
        ["owner", "environment", "cost-center", "project", "managed-by"]
    )
    assert all(t.program == "platform" for t in tags), "an account activates a tag once: the platform does"


def test_staging_scales_down_outside_working_hours(
    tmp_path: Path, project_root: Path, configs: dict[str, StackConfig]
) -> None:
    settings = copy.deepcopy(shipped_settings(project_root, "staging"))
    settings["mlops:serving"]["modelPackageArn"] = PACKAGE
    write_stack(tmp_path, "staging", settings)
    actions = {
        a.inputs["name"]: a.inputs
        for a in evaluate_stack("staging", tmp_path).of_type("aws:appautoscaling/scheduledAction:ScheduledAction")
    }
    off = configs["staging"].serving.off_hours
    assert off is not None
    assert actions["mlops-staging-churn-model-off-hours"]["schedule"] == off.scale_down
    assert actions["mlops-staging-churn-model-off-hours"]["scalableTargetAction"]["maxCapacity"] == off.max_instances


@pytest.mark.parametrize(("stack", "level"), [("dev", "advisory"), ("prod", "mandatory")])
def test_over_budget_plan_is_a_violation(tmp_path: Path, project_root: Path, stack: str, level: str) -> None:
    settings = copy.deepcopy(shipped_settings(project_root, stack))
    settings["mlops:cost"]["monthlyBudgetUsd"] = 10
    write_stack(tmp_path, stack, settings)
    config = load_view(tmp_path / f"Pulumi.{stack}.yaml")
    violations = [
        v for v in check_plan(evaluate_stack(stack, tmp_path), config) if v.rule.id == "cost-idle-within-budget"
    ]
    assert len(violations) == 1 and violations[0].level == level
    assert "exceeds the" in violations[0].message and "budget of $10.00" in violations[0].message


def test_serverless_is_usage_not_idle(tmp_path: Path, project_root: Path) -> None:
    settings = copy.deepcopy(shipped_settings(project_root, "dev"))
    settings["mlops:serving"]["modelPackageArn"] = PACKAGE
    write_stack(tmp_path, "dev", settings)
    config = load_view(tmp_path / "Pulumi.dev.yaml")
    report = estimate("dev", evaluate_stack("dev", tmp_path).resources, config)
    (serverless,) = [item for item in report.lines if item.item.startswith("serverless")]
    assert serverless.kind == "usage"
    assert serverless.monthly_usd == round(50_000 * 0.2 * 2 * 0.000022, 2)  # requests x seconds x GB x $/GB-s
    assert report.total("idle") <= 100, "a served dev environment still idles under $100"


def _with_second_project(project: Path) -> Path:
    """The fixture repository with a second project, `fraud`: churn's folder under another name."""
    shutil.copytree(project / "projects" / "churn", project / "projects" / "fraud")
    path = project / "projects" / "fraud" / "project.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("name: churn", "name: fraud", 1), encoding="utf-8")
    return project


def test_an_environment_is_priced_per_program(
    project: Path, plans: dict[str, Plan], configs: dict[str, StackConfig], platform_configs: dict[str, StackConfig]
) -> None:
    """`mlops cost` per project and in total: each program's resources in its own report, with its own expected
    usage; the environment's total is their sum, and a second project adds its own keys, jobs and endpoint."""
    one = estimate_environment(plans["dev"], platform_configs["dev"], {"churn": configs["dev"]})
    assert one.platform is not None
    assert line(one.platform, "KMS key") == 2.00 and line(one.projects["churn"], "KMS key") == 2.00
    assert line(one.platform, "interface endpoint sagemaker.api") == 8.03, "the network is the platform's"
    assert not [item for item in one.projects["churn"].lines if item.component == "network"]
    assert not [item for item in one.platform.lines if "training" in item.item or "serverless" in item.item]
    assert line(one.projects["churn"], "training on spot") == round(20 * round(0.269 * 0.3, 4), 2)
    for kind in ("idle", "usage"):
        assert one.total(kind) == round(one.platform.total(kind) + one.projects["churn"].total(kind), 2)
    assert one.unpriced == []
    root = _with_second_project(project)
    two_plan = evaluate_stack("dev", root)
    views = {
        name: parse_settings(read_stack_file(root / "Pulumi.dev.yaml"), "Pulumi.dev.yaml", load_project(root, name))
        for name in ("churn", "fraud")
    }
    two = estimate_environment(two_plan, platform_configs["dev"], views)
    assert two.platform is not None
    churn, fraud = two.projects["churn"], two.projects["fraud"]
    assert [(i.component, i.monthly_usd) for i in fraud.lines] == [(i.component, i.monthly_usd) for i in churn.lines]
    assert all("fraud" in i.item for i in fraud.lines if "mlops-dev-" in i.item), "its own resources only"
    assert two.platform.to_dict() == one.platform.to_dict(), "a project adds nothing to the platform's bill"
    assert two.total("idle") == round(one.total("idle") + one.projects["churn"].total("idle"), 2)
    assert set(two.to_dict()["projects"]) == {"churn", "fraud"}
    with pytest.raises(KeyError, match="fraud"):
        estimate_environment(two_plan, platform_configs["dev"], {"churn": configs["dev"]})
