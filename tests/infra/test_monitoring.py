"""Issue 8 on every stack: alarms, dashboard, drift schedule and retraining trigger, with their rights."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from infra.plan.evaluate import evaluate_stack
from kernel import StackConfig
from kernel.plan import Plan
from tests.helpers import outputs_of, shipped_settings, statements, write_stack

PACKAGE = "arn:aws:sagemaker:eu-west-1:111111111111:model-package/mlops-dev-churn-model/7"


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
        a.inputs["name"].removeprefix(f"mlops-{plan.stack}-churn-model-"): a.inputs
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
            "quality",  # the quality job (infra/components/quality.py) where the endpoint captures
            "quality-unjudged",
        ]
    for plan in served.values():
        for alarm in alarms(plan).values():
            assert alarm["alarmActions"] == [outputs_of(plan)["alerts_topic_arn"]]


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
        assert pipeline["roleArn"] == outputs_of(plan)["role_arns"]["monitoring"]
        (step,) = json.loads(pipeline["pipelineDefinition"])["Steps"]
        args = step["Arguments"]
        assert args["NetworkConfig"]["VpcConfig"]["Subnets"] == outputs_of(plan)["subnet_ids"]
        assert args["ProcessingOutputConfig"]["KmsKeyId"] == outputs_of(plan)["key_arns"]["models"]
        assert (
            PACKAGE in args["AppSpecification"]["ContainerArguments"]
            and "--publish" in args["AppSpecification"]["ContainerArguments"]
        )
        assert "CacheConfig" not in step, "a cached drift result would hide new traffic"
        schedule = next(
            s.inputs for s in plan.of_type("aws:scheduler/schedule:Schedule") if s.inputs["name"].endswith("-drift")
        )
        assert schedule["scheduleExpression"] == configs[stack].monitoring.drift_schedule
        assert schedule["target"]["roleArn"] == outputs_of(plan)["role_arns"]["automation"]
    plan = served["prod"]  # the monitoring role is the drift pipeline's execution role
    monitoring = next(
        p for p in plan.of_type("aws:iam/policy:Policy") if p.inputs["name"] == "mlops-prod-churn-monitoring-access-1"
    )
    by_sid = {s["Sid"]: s for s in statements(monitoring)}
    assert "sagemaker:CreateProcessingJob" in by_sid["RunDriftJobs"]["Action"], "it runs the drift pipeline's job"
    assert by_sid["PassExecutionRoles"]["Resource"] == [outputs_of(plan)["role_arns"]["monitoring"]]


@pytest.fixture(scope="module")
def dev_realtime(tmp_path_factory: pytest.TempPathFactory, project_root: Path) -> Plan:
    """Dev serving like staging (realtime, captured): its own drift job then watches it."""
    root = tmp_path_factory.mktemp("dev-realtime")
    settings = copy.deepcopy(shipped_settings(project_root, "dev"))
    settings["mlops:serving"] = {
        **shipped_settings(project_root, "staging")["mlops:serving"],
        "modelPackageArn": PACKAGE,
    }
    write_stack(root, "dev", settings)
    return evaluate_stack("dev", root)


def test_drift_in_dev_starts_dev_training_with_a_role_that_can_only_start_pipelines(dev_realtime: Plan) -> None:
    plan = dev_realtime
    rule = next(
        r.inputs
        for r in plan.of_type("aws:cloudwatch/eventRule:EventRule")
        if r.inputs["name"].endswith("-retrain-on-drift")
    )
    pattern = json.loads(rule["eventPattern"])
    assert pattern["detail"] == {"state": {"value": ["ALARM"]}}
    assert pattern["resources"][0].endswith(":alarm:mlops-dev-churn-model-drift")
    target = next(
        t.inputs for t in plan.of_type("aws:cloudwatch/eventTarget:EventTarget") if t.inputs["rule"] == rule["name"]
    )
    assert target["arn"].endswith(":pipeline/mlops-dev-churn-training")
    assert target["roleArn"] == outputs_of(plan)["role_arns"]["automation"]
    access = [
        p for p in plan.of_type("aws:iam/policy:Policy") if p.inputs["name"] == "mlops-dev-churn-automation-access-1"
    ]
    by_sid = {s["Sid"]: s for s in statements(access[0])}
    fence = {"FenceOtherProjectsResources", "FenceOtherProjectsTags"}  # denies only: another project's resources
    assert set(by_sid) == {"StartPipelines", "CallPromotionHook", *fence}
    assert all(by_sid[sid]["Effect"] == "Deny" for sid in fence)
    assert by_sid["StartPipelines"]["Action"] == ["sagemaker:StartPipelineExecution"]
    assert by_sid["StartPipelines"]["Resource"] == [
        "arn:aws:sagemaker:eu-west-1:111111111111:pipeline/mlops-dev-churn-*"
    ]
    assert by_sid["CallPromotionHook"]["Action"] == ["events:InvokeApiDestination"]


def test_staging_and_prod_train_nothing_and_send_their_drift_to_dev(served: dict[str, Plan]) -> None:
    """One flow: every model comes from dev's registry, so drift where models are served retrains in dev."""
    dev_bus = "arn:aws:events:eu-west-1:111111111111:event-bus/default"  # the pinned package's account
    for stack in ("staging", "prod"):
        plan = served[stack]
        assert sorted(p.inputs["pipelineName"] for p in plan.of_type("aws:sagemaker/pipeline:Pipeline")) == [
            f"mlops-{stack}-churn-drift",
            f"mlops-{stack}-churn-quality",
        ], "no training pipeline whose models no one would approve or promote"
        assert outputs_of(plan).get("training_pipeline_name") is None
        rule = next(
            r.inputs
            for r in plan.of_type("aws:cloudwatch/eventRule:EventRule")
            if r.inputs["name"].endswith("-retrain-on-drift")
        )
        assert json.loads(rule["eventPattern"])["resources"][0].endswith(f":alarm:mlops-{stack}-churn-model-drift")
        (target,) = [
            t.inputs for t in plan.of_type("aws:cloudwatch/eventTarget:EventTarget") if t.inputs["rule"] == rule["name"]
        ]
        assert target["arn"] == dev_bus and "sagemakerPipelineTarget" not in target
        assert target["roleArn"] == outputs_of(plan)["role_arns"]["automation"]
        (access,) = [
            p
            for p in plan.of_type("aws:iam/policy:Policy")
            if p.inputs["name"] == f"mlops-{stack}-churn-automation-access-1"
        ]
        forward = {s["Sid"]: s for s in statements(access)}["ForwardDriftToTrainingAccount"]
        assert forward["Action"] == ["events:PutEvents"] and forward["Resource"] == [dev_bus]


def test_dev_accepts_drift_only_from_its_serving_accounts(
    plans: dict[str, Plan], configs: dict[str, StackConfig]
) -> None:
    plan, readers = plans["dev"], configs["dev"].registry.reader_accounts
    (policy,) = plan.of_type("aws:cloudwatch/eventBusPolicy:EventBusPolicy")
    (grant,) = statements(policy)
    assert grant["Action"] == "events:PutEvents"
    assert grant["Principal"] == {"AWS": [f"arn:aws:iam::{account}:root" for account in readers]}
    assert grant["Resource"] == "arn:aws:events:eu-west-1:111111111111:event-bus/default"
    rule = next(
        r.inputs
        for r in plan.of_type("aws:cloudwatch/eventRule:EventRule")
        if r.inputs["name"] == "mlops-dev-churn-retrain-on-forwarded-drift"
    )
    (target,) = [
        t.inputs for t in plan.of_type("aws:cloudwatch/eventTarget:EventTarget") if t.inputs["rule"] == rule["name"]
    ]
    assert target["arn"].endswith(":pipeline/mlops-dev-churn-training")
    assert target["sagemakerPipelineTarget"]["pipelineParameterLists"] == [
        {"name": "DataSource", "value": "feature-store"}
    ]
    pattern = json.loads(rule["eventPattern"])
    assert pattern["account"] == sorted(readers)
    assert_matches(pattern, alarm_event("222222222222", "mlops-staging-churn-model-drift"), True)
    assert_matches(pattern, alarm_event("333333333333", "mlops-prod-churn-model-drift"), True)
    assert_matches(pattern, alarm_event("444444444444", "mlops-prod-churn-model-drift"), False)
    assert_matches(pattern, alarm_event("333333333333", "mlops-prod-churn-model-cpu"), False)
    assert_matches(pattern, alarm_event("333333333333", "mlops-prod-churn-model-drift", state="OK"), False)
    # another project's drift retrains that project, never churn
    assert_matches(pattern, alarm_event("333333333333", "mlops-prod-claims-model-drift"), False)
    assert_matches(pattern, alarm_event("333333333333", "mlops-prod-xchurn-model-drift"), False)
    violations = next(
        r.inputs
        for r in plan.of_type("aws:cloudwatch/eventRule:EventRule")
        if r.inputs["name"] == "mlops-dev-churn-retrain-on-forwarded-violations"
    )  # a serving environment on monitoring.backend: model-monitor forwards these instead
    (target,) = [
        t.inputs
        for t in plan.of_type("aws:cloudwatch/eventTarget:EventTarget")
        if t.inputs["rule"] == violations["name"]
    ]
    assert target["arn"].endswith(":pipeline/mlops-dev-churn-training")
    pattern = json.loads(violations["eventPattern"])
    assert_matches(pattern, monitor_event("333333333333", "CompletedWithViolations"), True)
    assert_matches(pattern, monitor_event("333333333333", "Completed"), False)
    assert_matches(pattern, monitor_event("444444444444", "CompletedWithViolations"), False)
    assert_matches(pattern, monitor_event("333333333333", "CompletedWithViolations", "claims"), False)


def monitor_event(account: str, status: str, project: str = "churn") -> dict[str, Any]:
    """A Model Monitor execution status-change event (SageMaker's EventBridge event reference)."""
    return {
        "version": "0",
        "id": "e2a1b2c3-0000-0000-0000-000000000000",
        "detail-type": "SageMaker Model Monitoring Schedule Execution Status Change",
        "source": "aws.sagemaker",
        "account": account,
        "time": "2026-11-29T07:00:00Z",
        "region": "eu-west-1",
        "resources": [],
        "detail": {
            "MonitoringScheduleName": f"mlops-prod-{project}-model-data-quality",
            "MonitoringExecutionStatus": status,
        },
    }


def alarm_event(account: str, alarm: str, state: str = "ALARM") -> dict[str, Any]:
    """A CloudWatch alarm state-change event as EventBridge delivers it (the CloudWatch user guide's example)."""
    return {
        "version": "0",
        "id": "c4c1c1c9-6542-e61b-6ef0-8c4d36933a92",
        "detail-type": "CloudWatch Alarm State Change",
        "source": "aws.cloudwatch",
        "account": account,
        "time": "2026-11-29T07:00:00Z",
        "region": "eu-west-1",
        "resources": [f"arn:aws:cloudwatch:eu-west-1:{account}:alarm:{alarm}"],
        "detail": {
            "alarmName": alarm,
            "state": {"value": state, "reason": "drift", "timestamp": "2026-11-29T07:00:00Z"},
        },
    }


def assert_matches(pattern: dict[str, Any], event: dict[str, Any], expected: bool) -> None:
    """moto's EventBridge pattern matcher decides (its `TestEventPattern` API returns no result)."""
    from moto.events.models import EventPattern

    assert EventPattern.load(json.dumps(pattern)).matches_event(event) is expected, (pattern, event)


def test_retrained_models_wait_for_approval(plans: dict[str, Plan]) -> None:
    (training,) = [
        p
        for p in plans["dev"].of_type("aws:sagemaker/pipeline:Pipeline")
        if p.inputs["pipelineName"].endswith("-training")
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


def test_no_model_means_no_drift_job_and_a_dashboard_only_where_training_runs(plan: Plan, stack: str) -> None:
    assert not [
        p for p in plan.of_type("aws:sagemaker/pipeline:Pipeline") if p.inputs["pipelineName"].endswith("-drift")
    ]
    dashboards = plan.of_type("aws:cloudwatch/dashboard:Dashboard")
    if stack != "dev":
        assert dashboards == [], "staging and prod serve nothing yet and train nothing"
        return
    (dashboard,) = dashboards
    titles = [w["properties"]["title"] for w in json.loads(dashboard.inputs["dashboardBody"])["widgets"]]
    assert titles == ["Training pipeline executions"]


def test_dashboard_shows_endpoint_pipeline_and_drift(served: dict[str, Plan]) -> None:
    (dashboard,) = served["dev"].of_type("aws:cloudwatch/dashboard:Dashboard")
    body = json.loads(dashboard.inputs["dashboardBody"])
    titles = [w["properties"]["title"] for w in body["widgets"]]
    assert "Drift: features past the threshold" in titles and "Endpoint traffic and errors" in titles
    assert "mlops-dev-churn-model" in json.dumps(body) and "mlops-dev-churn-training" in json.dumps(body)
    (prod,) = served["prod"].of_type("aws:cloudwatch/dashboard:Dashboard")
    assert "Training pipeline executions" not in prod.inputs["dashboardBody"]
