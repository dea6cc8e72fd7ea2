"""The monitoring backend switch: Model Monitor replaces the custom drift job, encrypted and in the VPC."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from infra.plan.evaluate import evaluate_stack
from kernel.plan import Plan
from pipelines.lifecycle.model_monitor import suggest_baseline
from policies.check import check_plan
from tests.helpers import load_view, outputs_of, shipped_settings, write_stack

PACKAGE = "arn:aws:sagemaker:eu-west-1:111111111111:model-package/mlops-dev-churn-model/7"


@pytest.fixture(scope="module")
def monitored(tmp_path_factory: pytest.TempPathFactory, project_root: Path) -> tuple[Plan, Path]:
    root = tmp_path_factory.mktemp("model-monitor")
    settings = copy.deepcopy(shipped_settings(project_root, "prod"))
    settings["mlops:serving"]["modelPackageArn"] = PACKAGE
    settings["mlops:monitoring"]["backend"] = "model-monitor"
    write_stack(root, "prod", settings)
    return evaluate_stack("prod", root), root


def test_switching_the_backend_swaps_the_resources(monitored: tuple[Plan, Path]) -> None:
    plan, _ = monitored
    assert not [
        p for p in plan.of_type("aws:sagemaker/pipeline:Pipeline") if p.inputs["pipelineName"].endswith("-drift")
    ]
    assert not [
        a for a in plan.of_type("aws:cloudwatch/metricAlarm:MetricAlarm") if a.inputs["name"].endswith("-drift")
    ]
    (definition,) = plan.of_type("aws:sagemaker/dataQualityJobDefinition:DataQualityJobDefinition")
    (schedule,) = plan.of_type("aws:sagemaker/monitoringSchedule:MonitoringSchedule")
    inputs = definition.inputs
    assert inputs["dataQualityJobInput"]["endpointInput"]["endpointName"] == "mlops-prod-churn-model"
    assert inputs["jobResources"]["clusterConfig"]["volumeKmsKeyId"] == outputs_of(plan)["key_arns"]["models"]
    assert inputs["dataQualityJobOutputConfig"]["kmsKeyId"] == outputs_of(plan)["key_arns"]["models"]
    assert inputs["networkConfig"]["enableNetworkIsolation"] is True
    assert inputs["networkConfig"]["vpcConfig"]["subnets"] == outputs_of(plan)["subnet_ids"]
    assert inputs["dataQualityBaselineConfig"]["statisticsResource"]["s3Uri"].endswith(
        "/model-monitor/mlops-prod-churn-model/baseline/statistics.json"
    )
    assert schedule.inputs["monitoringScheduleConfig"]["scheduleConfig"]["scheduleExpression"] == "cron(0 * ? * * *)"


def test_a_violation_starts_retraining(monitored: tuple[Plan, Path]) -> None:
    plan, _ = monitored
    rule = next(
        r.inputs
        for r in plan.of_type("aws:cloudwatch/eventRule:EventRule")
        if r.inputs["name"].endswith("retrain-on-drift")
    )
    pattern = json.loads(rule["eventPattern"])
    assert pattern["detail"] == {
        "MonitoringScheduleName": ["mlops-prod-churn-model-data-quality"],
        "MonitoringExecutionStatus": ["CompletedWithViolations"],
    }


def test_the_model_monitor_stack_passes_the_policy_pack(monitored: tuple[Plan, Path]) -> None:
    plan, root = monitored
    assert check_plan(plan, load_view(root / "Pulumi.prod.yaml")) == []


def test_suggest_baseline_starts_one_encrypted_job() -> None:
    arguments = {
        "prefix": "mlops-prod", "image_uri": "img", "role_arn": "arn:aws:iam::123456789012:role/mlops-prod-monitoring",
        "train_uri": "s3://a/pipelines/training/x/Preprocess/train", "output_uri": "s3://m/model-monitor/mlops-prod-churn-model/baseline",
        "kms_key_arn": "arn:aws:kms:eu-west-1:123456789012:key/k", "subnet_ids": ["subnet-1"], "security_group_ids": ["sg-1"],
        "instance_type": "ml.m5.large",
    }  # fmt: skip
    with mock_aws():
        client = boto3.client("sagemaker", region_name="eu-west-1")
        name, started = suggest_baseline(client, **arguments)
        again, started_again = suggest_baseline(client, **arguments)
        job = client.describe_processing_job(ProcessingJobName=name)
    assert started and not started_again and again == name
    assert job["ProcessingOutputConfig"]["KmsKeyId"] == arguments["kms_key_arn"]
    assert job["NetworkConfig"]["EnableNetworkIsolation"] is True
