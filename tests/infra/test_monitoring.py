"""Issue 8 on every stack: alarms, dashboard, drift schedule and retraining trigger, with their rights."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from infra.config import StackConfig
from infra.plan.evaluate import evaluate_stack
from infra.plan.model import Plan
from tests.helpers import shipped_settings, statements, write_stack

PACKAGE = "arn:aws:sagemaker:eu-west-1:111111111111:model-package/mlops-dev-churn/7"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, project_root: Path) -> dict[str, Plan]:
    plans = {}
    for stack in ("dev", "staging", "prod"):
        root = tmp_path_factory.mktemp(f"served-{stack}")
        settings = copy.deepcopy(shipped_settings(project_root, stack))
        settings["mlops:serving"]["modelPackageArn"] = PACKAGE
        write_stack(root, stack, settings)
        plans[stack] = evaluate_stack(stack, root)
    return plans


def alarms(plan: Plan) -> dict[str, dict[str, Any]]:
    return {
        a.inputs["name"].removeprefix(f"mlops-{plan.stack}-churn-"): a.inputs
        for a in plan.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")
    }


def test_alarm_set_per_serving_mode(served: dict[str, Plan]) -> None:
    # dev serves serverless, which cannot capture traffic: no drift job, so no drift alarm
    assert sorted(alarms(served["dev"])) == ["client-error-rate", "concurrency", "error-rate", "latency-p99"]
    for stack in ("staging", "prod"):
        assert sorted(alarms(served[stack])) == [
            "client-error-rate",
            "cpu",
            "drift",
            "error-rate",
            "latency-p99",
            "memory",
        ]
    for plan in served.values():
        for alarm in alarms(plan).values():
            assert alarm["alarmActions"] == [plan.outputs["alerts_topic_arn"]]


def test_thresholds_come_from_config(served: dict[str, Plan], configs: dict[str, StackConfig]) -> None:
    prod, monitoring = alarms(served["prod"]), configs["prod"].monitoring
    assert prod["memory"]["threshold"] == monitoring.memory_utilization_percent
    assert prod["cpu"]["namespace"] == "/aws/sagemaker/Endpoints"
    assert prod["client-error-rate"]["threshold"] == monitoring.client_error_rate_percent
    assert alarms(served["dev"])["latency-p99"]["threshold"] == configs["dev"].monitoring.latency_p99_ms * 1000


def test_drift_runs_on_schedule_in_the_vpc_encrypted(served: dict[str, Plan], configs: dict[str, StackConfig]) -> None:
    for stack, plan in served.items():
        if stack == "dev":  # nothing captured, nothing to compare: drift is watched where traffic is real
            assert not [
                p for p in plan.of_type("aws:sagemaker/pipeline:Pipeline") if "drift" in p.inputs["pipelineName"]
            ]
            continue
        pipeline = next(
            p.inputs
            for p in plan.of_type("aws:sagemaker/pipeline:Pipeline")
            if p.inputs["pipelineName"].endswith("-drift")
        )
        assert pipeline["roleArn"] == plan.outputs["role_arns"]["monitoring"]
        (step,) = json.loads(pipeline["pipelineDefinition"])["Steps"]
        args = step["Arguments"]
        assert args["NetworkConfig"]["VpcConfig"]["Subnets"] == plan.outputs["subnet_ids"]
        assert args["ProcessingOutputConfig"]["KmsKeyId"] == plan.outputs["key_arns"]["models"]
        assert (
            PACKAGE in args["AppSpecification"]["ContainerArguments"]
            and "--publish" in args["AppSpecification"]["ContainerArguments"]
        )
        assert "CacheConfig" not in step, "a cached drift result would hide new traffic"
        schedule = next(
            s.inputs for s in plan.of_type("aws:scheduler/schedule:Schedule") if s.inputs["name"].endswith("-drift")
        )
        assert schedule["scheduleExpression"] == configs[stack].monitoring.drift_schedule
        assert schedule["target"]["roleArn"] == plan.outputs["role_arns"]["automation"]
    plan = served["prod"]  # the monitoring role is the drift pipeline's execution role
    monitoring = next(
        p for p in plan.of_type("aws:iam/policy:Policy") if p.inputs["name"] == "mlops-prod-monitoring-access-1"
    )
    by_sid = {s["Sid"]: s for s in statements(monitoring)}
    assert "sagemaker:CreateProcessingJob" in by_sid["RunDriftJobs"]["Action"], "it runs the drift pipeline's job"
    assert by_sid["PassExecutionRoles"]["Resource"] == [plan.outputs["role_arns"]["monitoring"]]


def test_drift_alarm_starts_retraining_with_a_role_that_can_only_start_pipelines(served: dict[str, Plan]) -> None:
    plan = served["staging"]
    rule = next(
        r.inputs
        for r in plan.of_type("aws:cloudwatch/eventRule:EventRule")
        if r.inputs["name"].endswith("retrain-on-drift")
    )
    pattern = json.loads(rule["eventPattern"])
    assert pattern["detail"] == {"state": {"value": ["ALARM"]}}
    assert pattern["resources"][0].endswith(":alarm:mlops-staging-churn-drift")
    target = next(t.inputs for t in plan.of_type("aws:cloudwatch/eventTarget:EventTarget") if t.inputs.get("roleArn"))
    assert target["arn"].endswith(":pipeline/mlops-staging-training")
    assert target["roleArn"] == plan.outputs["role_arns"]["automation"]
    access = [
        p for p in plan.of_type("aws:iam/policy:Policy") if p.inputs["name"] == "mlops-staging-automation-access-1"
    ]
    by_sid = {s["Sid"]: s for s in statements(access[0])}
    assert set(by_sid) == {"StartPipelines", "CallPromotionHook"}
    assert by_sid["StartPipelines"]["Action"] == ["sagemaker:StartPipelineExecution"]
    assert by_sid["StartPipelines"]["Resource"] == ["arn:aws:sagemaker:eu-west-1:222222222222:pipeline/mlops-staging-*"]
    assert by_sid["CallPromotionHook"]["Action"] == ["events:InvokeApiDestination"]


def test_retrained_models_wait_for_approval(plans: dict[str, Plan]) -> None:
    for plan in plans.values():
        (training,) = [
            p for p in plan.of_type("aws:sagemaker/pipeline:Pipeline") if p.inputs["pipelineName"].endswith("-training")
        ]
        parameters = {
            p["Name"]: p.get("DefaultValue") for p in json.loads(training.inputs["pipelineDefinition"])["Parameters"]
        }
        assert parameters["ModelApprovalStatus"] == "PendingManualApproval"


def test_scheduled_retraining_only_where_configured(plans: dict[str, Plan], configs: dict[str, StackConfig]) -> None:
    for stack, plan in plans.items():
        schedules = [
            s.inputs for s in plan.of_type("aws:scheduler/schedule:Schedule") if s.inputs["name"].endswith("-retrain")
        ]
        expected = configs[stack].monitoring.retrain_schedule
        assert [s["scheduleExpression"] for s in schedules] == ([expected] if expected else [])


def test_no_model_means_no_drift_job_but_a_dashboard(plan: Plan) -> None:
    assert not [
        p for p in plan.of_type("aws:sagemaker/pipeline:Pipeline") if p.inputs["pipelineName"].endswith("-drift")
    ]
    (dashboard,) = plan.of_type("aws:cloudwatch/dashboard:Dashboard")
    titles = [w["properties"]["title"] for w in json.loads(dashboard.inputs["dashboardBody"])["widgets"]]
    assert titles == ["Training pipeline executions"]


def test_dashboard_shows_endpoint_pipeline_and_drift(served: dict[str, Plan]) -> None:
    (dashboard,) = served["prod"].of_type("aws:cloudwatch/dashboard:Dashboard")
    body = json.loads(dashboard.inputs["dashboardBody"])
    titles = [w["properties"]["title"] for w in body["widgets"]]
    assert "Drift: features past the threshold" in titles and "Endpoint traffic and errors" in titles
    assert "mlops-prod-churn" in json.dumps(body) and "mlops-prod-training" in json.dumps(body)
