"""The Spark ingestion pipeline in a project's plan: deployed only where chosen, the jobs role's reach with it.

The definition is the SDK's own compilation (the committed template, filled in, equals what
`PySparkProcessor` compiles for the same settings); the statements follow the connector's calls
(aws/sagemaker-feature-store-spark 81d099d, FeatureStoreManager.scala).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from infra.plan.evaluate import evaluate_stack
from kernel.plan import Plan
from pipelines.definitions.ingestion import compile_ingestion_definition
from pipelines.definitions.settings import ingestion_settings
from pipelines.definitions.templates import render_definition
from tests.helpers import FIXTURE_STACKS, load_view, shipped_settings, write_stack

PIPELINE = "aws:sagemaker/pipeline:Pipeline"
SPARK = {"engine": "spark", "instanceType": "ml.m5.large", "instanceCount": 3}


def _spark_root(root: Path, ingestion: dict[str, Any]) -> Path:
    settings = shipped_settings(FIXTURE_STACKS, "staging")
    settings["mlops:featureStore"] = {**settings["mlops:featureStore"], "ingestion": ingestion}
    write_stack(root, "staging", settings)
    return root


@pytest.fixture(scope="module")
def spark_plan(tmp_path_factory: pytest.TempPathFactory) -> Plan:
    return evaluate_stack("staging", _spark_root(tmp_path_factory.mktemp("spark"), SPARK), platform=False)


def _ingestion(plan: Plan) -> list[Any]:
    return [p for p in plan.of_type(PIPELINE) if "-ingest-" in p.inputs["pipelineName"]]


def _jobs_sids(plan: Plan) -> set[str]:
    sids = set()
    for policy in plan.of_type("aws:iam/policy:Policy"):
        if "-jobs" in policy.inputs.get("name", ""):
            sids |= {s.get("Sid") for s in json.loads(policy.inputs["policy"])["Statement"]}
    return sids


def test_only_a_project_that_chose_spark_gets_the_pipeline_and_the_reach(plans: dict[str, Plan]) -> None:
    for stack, plan in plans.items():
        assert _ingestion(plan) == [], stack
        assert not {sid for sid in _jobs_sids(plan) if sid and sid.startswith("SparkIngestion")}, stack


def test_the_pipeline_runs_the_spark_job_with_the_project_s_names(spark_plan: Plan) -> None:
    (pipeline,) = _ingestion(spark_plan)
    assert pipeline.inputs["pipelineName"] == "mlops-staging-churn-ingest-customer-churn"
    assert pipeline.inputs["roleArn"].endswith(":role/mlops-staging-churn-pipeline")
    (step,) = json.loads(pipeline.inputs["pipelineDefinition"])["Steps"]
    job = step["Arguments"]
    assert job["RoleArn"].endswith(":role/mlops-staging-churn-jobs")
    assert job["ProcessingResources"]["ClusterConfig"]["InstanceCount"] == 3
    assert job["AppSpecification"]["ImageUri"].endswith(
        ".eu-west-1.amazonaws.com/sagemaker-spark-processing:3.5-cpu-py312"
    )
    arguments = job["AppSpecification"]["ContainerArguments"]
    assert arguments[arguments.index("--target-stores") + 1 :] == ["OnlineStore", "OfflineStore"], "staging has both"
    parameters = {p["Name"]: p["DefaultValue"] for p in json.loads(pipeline.inputs["pipelineDefinition"])["Parameters"]}
    assert parameters["InputData"].endswith("/churn/ingest/customer-churn/")
    assert parameters["ProcessingInstanceType"] == "ml.m5.large"


def test_the_filled_template_is_what_the_sdk_compiles(spark_plan: Plan, tmp_path: Path) -> None:
    config = load_view(_spark_root(tmp_path, SPARK) / "Pulumi.staging.yaml")
    from kernel.projects import load_project

    schema = load_project(tmp_path, "churn").schema
    values = {
        "artifacts_bucket": "mlops-staging-churn-artifacts-222222222222-eu-west-1",
        "raw_bucket": "mlops-staging-churn-raw-222222222222-eu-west-1",
        "kms_key_arn": "arn:aws:kms:eu-west-1:222222222222:key/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
        "jobs_role_arn": "arn:aws:iam::222222222222:role/mlops-staging-churn-jobs",
        "subnet_ids": ["subnet-0a1b2c3d4e5f60718", "subnet-1a2b3c4d5e6f70819"],
        "security_group_ids": ["sg-0a1b2c3d4e5f60718"],
        "code_prefix": "code/0123456789abcdef/",
        "project": "churn",
        "feature_group_arn": "arn:aws:sagemaker:eu-west-1:222222222222:feature-group/mlops-staging-churn-customer-churn",
    }
    settings = ingestion_settings(config, schema, values)
    assert render_definition(settings) == compile_ingestion_definition(settings)


def test_the_jobs_role_reaches_what_each_write_path_calls(spark_plan: Plan, tmp_path: Path) -> None:
    online = _jobs_sids(spark_plan)
    assert {"SparkIngestionDescribe", "SparkIngestionOnline"} <= online
    assert "SparkIngestionOfflineWrite" not in online, "the streaming path writes no offline files itself"
    offline_root = _spark_root(tmp_path, {**SPARK, "targetStores": ["OfflineStore"]})
    offline = _jobs_sids(evaluate_stack("staging", offline_root, platform=False))
    assert {"SparkIngestionDescribe", "SparkIngestionOfflineWrite", "SparkIngestionOfflineCommit"} <= offline
    assert "SparkIngestionOnline" not in offline, "the offline-only path calls no PutRecord"
