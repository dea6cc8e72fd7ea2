"""Multi-instance drift: `monitoring.processingInstanceCount`, the sharded pipeline, its template, plan and cost."""

from __future__ import annotations

import copy
import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from infra.cost.estimate import estimate
from infra.plan.evaluate import evaluate_stack
from kernel import StackConfig
from pipelines.definitions.drift import DriftPipelineSettings, compile_drift_definition
from pipelines.definitions.settings import drift_settings
from pipelines.definitions.templates import render_definition
from tests.helpers import load_view, outputs_of, shipped_settings, where, write_stack
from tests.infra.test_config import problems_of

PACKAGE = "arn:aws:sagemaker:eu-west-1:111111111111:model-package/mlops-dev-churn/7"
SETTINGS = DriftPipelineSettings(
    image_uri="141502667606.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-scikit-learn:1.9-0-cpu-py3",
    region="eu-west-1",
    artifacts_bucket="mlops-prod-artifacts-333333333333-eu-west-1",
    code_prefix="code/0123456789abcdef",
    monitoring_role_arn="arn:aws:iam::333333333333:role/mlops-prod-monitoring",
    kms_key_arn="arn:aws:kms:eu-west-1:333333333333:key/11111111-2222-3333-4444-555555555555",
    subnet_ids=["subnet-0a", "subnet-0b"],
    security_group_ids=["sg-0c"],
    capture_uri="s3://mlops-prod-capture-333333333333-eu-west-1/endpoints/mlops-prod-churn/",
    model_package_arn=PACKAGE,
    endpoint_name="mlops-prod-churn",
    processing_instance_type="ml.m5.xlarge",
    max_runtime_seconds=3600,
    drift_psi_threshold=0.2,
    drift_p_value=0.01,
    processing_instance_count=1,
    sharded=False,
)
SHARDED = dataclasses.replace(SETTINGS, processing_instance_count=4, sharded=True)


def steps(definition: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {step["Name"]: step["Arguments"] for step in definition["Steps"]}


@pytest.fixture(scope="module")
def compiled() -> dict[str, dict[str, Any]]:
    """What the SDK compiles for one instance and for four (compiling costs seconds: once each)."""
    return {"single": compile_drift_definition(SETTINGS), "sharded": compile_drift_definition(SHARDED)}


@pytest.mark.parametrize(
    ("monitoring", "expected"),
    [
        ({"processingInstanceCount": 0}, "processingInstanceCount: Input should be greater than or equal to 1"),
        ({"processingInstanceCount": 101}, "processingInstanceCount: Input should be less than or equal to 100"),
        ({"processingInstanceCount": 2, "backend": "model-monitor"}, "applies to the custom drift job"),
    ],
)
def test_the_instance_count_is_bounded_as_sagemaker_bounds_it_and_needs_the_custom_job(
    tmp_path: Path, project_root: Path, monitoring: dict[str, Any], expected: str
) -> None:
    """1 to 100: `ProcessingResources.ClusterConfig.InstanceCount` in botocore's SageMaker model."""
    prod = copy.deepcopy(shipped_settings(project_root, "prod"))
    prod.setdefault("mlops:monitoring", {}).update(monitoring)
    lines = problems_of(tmp_path, prod)
    assert any(line.startswith(where("prod", "mlops:monitoring")) and expected in line for line in lines), lines


def test_one_instance_keeps_the_single_drift_job(compiled: dict[str, dict[str, Any]]) -> None:
    (job,) = steps(compiled["single"]).values()
    assert job["ProcessingResources"]["ClusterConfig"]["InstanceCount"] == 1
    assert "--tallies" not in job["AppSpecification"]["ContainerArguments"]


def test_a_sharded_pipeline_tallies_each_share_of_the_capture_then_merges_on_one_instance(
    compiled: dict[str, dict[str, Any]],
) -> None:
    found = steps(compiled["sharded"])
    tally, merge = found["TallyDrift"], found["DetectDrift"]
    assert tally["ProcessingResources"]["ClusterConfig"]["InstanceCount"] == 4
    assert merge["ProcessingResources"]["ClusterConfig"]["InstanceCount"] == 1
    distribution = {i["InputName"]: i["S3Input"]["S3DataDistributionType"] for i in tally["ProcessingInputs"]}
    assert distribution == {"code": "FullyReplicated", "capture": "ShardedByS3Key"}
    (tallies,) = [i for i in merge["ProcessingInputs"] if i["InputName"] == "tallies"]
    assert tallies["S3Input"]["S3Uri"] == {
        "Get": "Steps.TallyDrift.ProcessingOutputConfig.Outputs['tallies'].S3Output.S3Uri"
    }
    assert "--tally-output" in tally["AppSpecification"]["ContainerArguments"]
    assert "--publish" not in tally["AppSpecification"]["ContainerArguments"]
    merged = [a for a in merge["AppSpecification"]["ContainerArguments"] if isinstance(a, str)]
    assert "--tallies" in merged and "--publish" in merged
    for job in (tally, merge):  # both in the VPC, encrypted, as every job
        assert job["NetworkConfig"]["VpcConfig"] == {
            "Subnets": ["subnet-0a", "subnet-0b"],
            "SecurityGroupIds": ["sg-0c"],
        }
        assert job["NetworkConfig"]["EnableInterContainerTrafficEncryption"] is True
        assert job["ProcessingResources"]["ClusterConfig"]["VolumeKmsKeyId"] == SETTINGS.kms_key_arn
        assert job["ProcessingOutputConfig"]["KmsKeyId"] == SETTINGS.kms_key_arn


def test_the_committed_templates_render_what_the_sdk_compiles(compiled: dict[str, dict[str, Any]]) -> None:
    assert render_definition(SETTINGS) == compiled["single"]
    assert render_definition(SHARDED) == compiled["sharded"]


def test_the_plan_carries_the_sharded_pipeline_and_the_cost_bills_every_instance(
    tmp_path: Path, project_root: Path, configs: dict[str, StackConfig]
) -> None:
    settings = copy.deepcopy(shipped_settings(project_root, "prod"))
    settings["mlops:serving"]["modelPackageArn"] = PACKAGE
    settings.setdefault("mlops:monitoring", {})["processingInstanceCount"] = 3
    write_stack(tmp_path, "prod", settings)
    plan = evaluate_stack("prod", tmp_path)
    config = load_view(tmp_path / "Pulumi.prod.yaml")
    (drift,) = [
        p
        for p in plan.of_type("aws:sagemaker/pipeline:Pipeline")
        if p.inputs["pipelineName"] == "mlops-prod-churn-drift"
    ]
    outputs = outputs_of(plan)
    values = {
        "artifacts_bucket": outputs["bucket_names"]["artifacts"], "code_prefix": outputs["code_prefix"],
        "monitoring_role_arn": outputs["role_arns"]["monitoring"], "kms_key_arn": outputs["key_arns"]["models"],
        "subnet_ids": outputs["subnet_ids"], "security_group_ids": [outputs["workload_security_group_id"]],
        "capture_bucket": outputs["bucket_names"]["capture"], "endpoint_name": outputs["endpoint_name"],
    }  # fmt: skip
    definition = json.loads(drift.inputs["pipelineDefinition"])
    assert definition == compile_drift_definition(drift_settings(config, values))
    assert steps(definition)["TallyDrift"]["ProcessingResources"]["ClusterConfig"]["InstanceCount"] == 3
    churn = plan.of_project("churn").resources
    report = estimate("prod", churn, config)
    shipped = estimate("prod", churn, configs["prod"])
    (sharded_line,) = [item for item in report.lines if item.item.startswith("processing (drift jobs)")]
    (single_line,) = [item for item in shipped.lines if item.item.startswith("processing (drift jobs)")]
    assert sharded_line.item == "processing (drift jobs) on ml.m5.xlarge x 3 instances"
    assert sharded_line.monthly_usd == pytest.approx(3 * single_line.monthly_usd)
