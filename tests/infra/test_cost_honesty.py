"""The estimate never flatters: no budget passes unpriced, the endpoint counts before a model is pinned, and the
MLflow App and the trail's data events are priced lines, from the price table's own figures."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from infra.cost.estimate import PRICES, CostReport, estimate
from infra.plan.evaluate import evaluate_stack
from kernel import StackConfig
from kernel.plan import Plan
from policies.check import check_plan
from tests.helpers import load_view, shipped_settings, write_stack

TABLE = yaml.safe_load(PRICES.read_text(encoding="utf-8"))


def budget_violations(plan: Plan, config: StackConfig) -> list[str]:
    return [v.message for v in check_plan(plan, config) if v.rule.id == "cost-idle-within-budget"]


def test_an_unpriced_region_fails_the_budget(plans: dict[str, Plan], configs: dict[str, StackConfig]) -> None:
    """Validation refuses unpriced regions; a plan JSON from elsewhere must still never pass on $0.00."""
    config = configs["prod"].model_copy(update={"region": "ap-south-2"})
    (message,) = budget_violations(plans["prod"], config)
    assert "no prices for ap-south-2" in message
    assert "ap-south-2" not in TABLE["regions"]


def test_an_unpriced_resource_fails_the_budget(plans: dict[str, Plan], configs: dict[str, StackConfig]) -> None:
    config = configs["prod"].model_copy(
        update={"serving": configs["prod"].serving.model_copy(update={"instance_type": "ml.p5.48xlarge"})}
    )
    (message,) = budget_violations(plans["prod"], config)
    assert "ml.p5.48xlarge" in message and "cannot be checked against the budget" in message


@pytest.mark.parametrize("environment", ["staging", "prod"])
def test_the_configured_endpoint_is_estimated_before_a_model_is_pinned(
    tmp_path: Path, project_root: Path, plans: dict[str, Plan], configs: dict[str, StackConfig], environment: str
) -> None:
    config = configs[environment]
    assert plans[environment].of_type("aws:sagemaker/endpointConfiguration:EndpointConfiguration") == []
    before = estimate(environment, plans[environment].resources, config)
    (expected,) = [line for line in before.lines if "expected once a model is served" in line.item]
    rate = TABLE["regions"][config.region]["sagemaker_instance_hour"][config.serving.instance_type]
    count = config.serving.min_instances
    assert expected.kind == "idle"
    assert expected.monthly_usd == round(count * TABLE["hours_per_month"] * rate, 2)
    settings = copy.deepcopy(shipped_settings(project_root, environment))
    settings["mlops:serving"]["modelPackageArn"] = (
        f"arn:aws:sagemaker:{config.region}:{configs['dev'].account_id}:model-package/mlops-dev-churn-model/3"
    )
    write_stack(tmp_path, environment, settings)
    pinned = load_view(tmp_path / f"Pulumi.{environment}.yaml")
    after = estimate(environment, evaluate_stack(environment, tmp_path).resources, pinned)
    assert not [line for line in after.lines if "expected once a model is served" in line.item]
    (served,) = [line for line in after.lines if line.item.startswith("endpoint primary")]
    assert served.monthly_usd == expected.monthly_usd, "pinning a model must not change the endpoint's estimate"

    def watching(result: CostReport) -> float:  # the alarms and the dashboard that watch a served endpoint
        return float(sum(line.monthly_usd for line in result.lines if line.item.startswith(("alarm", "dashboard"))))

    added = watching(after) - watching(before)
    assert round(after.total("idle") - before.total("idle"), 2) == round(added, 2), "only what watches it adds"


def test_mlflow_app_and_trail_data_events_are_priced(plans: dict[str, Plan], configs: dict[str, StackConfig]) -> None:
    report = estimate("dev", plans["dev"].resources, configs["dev"])  # only dev tracks: only dev trains
    prices = TABLE["regions"][configs["dev"].region]
    (app,) = [line for line in report.lines if line.item.startswith("MLflow App")]
    assert app.unit_usd == prices["mlflow_app_month"]
    (events,) = [line for line in report.lines if line.item.startswith("CloudTrail S3 data events")]
    expected_events = configs["dev"].cost.expected.s3_data_events
    assert events.monthly_usd == round(expected_events / 100_000 * prices["cloudtrail_data_events_100k"], 2)
    assert not any("mlflowApp" in label for label in report.free)
    assert "aws:cloudtrail/trail:Trail" not in report.free
    assert {"mlflow_app_month", "cloudtrail_data_events_100k"} <= set(TABLE["sources"])


def test_log_ingestion_is_priced_where_the_trail_delivers_to_cloudwatch_logs(
    plan: Plan, config: StackConfig, stack: str
) -> None:
    """The trail (management and S3 data events) delivers into a log group: that ingestion is billed per GB."""
    (trail,) = plan.of_type("aws:cloudtrail/trail:Trail")
    assert trail.inputs["cloudWatchLogsGroupArn"]
    report = estimate(stack, plan.resources, config)
    (logs,) = [line for line in report.lines if line.item.startswith("CloudWatch Logs ingestion")]
    price = TABLE["regions"][config.region]["cloudwatch_logs_ingest_gb"]
    assert (logs.kind, logs.unit_usd) == ("usage", price)
    assert logs.monthly_usd == round(config.cost.expected.logs_ingest_gb * price, 2) > 0
    assert "aws:cloudwatch/logGroup:LogGroup" not in report.free  # no longer counted as simply free
    assert "cloudwatch_logs_ingest_gb" in TABLE["sources"]


def test_every_region_validation_accepts_is_priced_fully() -> None:
    from kernel.regions import priced_regions, region_problem, sagemaker_regions

    accepted = [region for region in sorted(sagemaker_regions()) if region_problem(region) is None]
    assert accepted == list(priced_regions())
    keys = set(TABLE["regions"][accepted[0]])
    for region in accepted:
        assert set(TABLE["regions"][region]) == keys, region


def test_model_monitor_schedules_are_priced_by_their_runs(tmp_path: Path, project_root: Path) -> None:
    """An hourly data-quality schedule runs 730 jobs a month on its job definition's instance, traffic or not."""
    settings = copy.deepcopy(shipped_settings(project_root, "prod"))
    settings["mlops:serving"]["modelPackageArn"] = (
        "arn:aws:sagemaker:eu-west-1:111111111111:model-package/mlops-dev-churn-model/7"
    )
    settings["mlops:monitoring"]["backend"] = "model-monitor"
    write_stack(tmp_path, "prod", settings)
    config = load_view(tmp_path / "Pulumi.prod.yaml")
    plan = evaluate_stack("prod", tmp_path)
    report = estimate("prod", plan.resources, config)
    assert report.unpriced == []
    (definition,) = plan.of_type("aws:sagemaker/dataQualityJobDefinition:DataQualityJobDefinition")
    instance = definition.inputs["jobResources"]["clusterConfig"]["instanceType"]
    (line,) = [item for item in report.lines if item.item.startswith("Model Monitor")]
    minutes = config.cost.expected.monitoring_job_minutes
    hours = round(TABLE["hours_per_month"] * minutes / 60, 2)  # hourly cron: one job per hour
    assert config.monitoring.model_monitor_schedule == "cron(0 * ? * * *)"
    assert line.kind == "idle" and line.quantity == hours
    assert line.monthly_usd == round(hours * TABLE["regions"][config.region]["sagemaker_instance_hour"][instance], 2)
