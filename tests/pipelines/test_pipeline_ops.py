"""Upsert and start the planned pipeline against moto: idempotent, parameters checked."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from kernel.plan import Plan
from pipelines.clarify_baselines import BOOTSTRAP
from pipelines.pipeline_ops import PipelineError, start_pipeline, upsert_pipeline


@pytest.fixture
def sagemaker() -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("sagemaker", region_name="eu-west-1")


def test_upsert_creates_then_leaves_then_updates(plans: dict[str, Plan], sagemaker: Any) -> None:
    (resource,) = plans["dev"].of_type("aws:sagemaker/pipeline:Pipeline")
    name, role = resource.inputs["pipelineName"], resource.inputs["roleArn"]
    definition = json.loads(resource.inputs["pipelineDefinition"])
    assert upsert_pipeline(sagemaker, name, definition, role, {"environment": "dev"}) == "created"
    assert upsert_pipeline(sagemaker, name, definition, role, {"environment": "dev"}) == "unchanged"
    changed = {**definition, "Parameters": definition["Parameters"][:-1]}
    assert upsert_pipeline(sagemaker, name, changed, role, {"environment": "dev"}) == "updated"
    stored = json.loads(sagemaker.describe_pipeline(PipelineName=name)["PipelineDefinition"])
    assert stored == changed


def test_start_checks_parameters_then_starts(plans: dict[str, Plan], sagemaker: Any) -> None:
    (resource,) = plans["dev"].of_type("aws:sagemaker/pipeline:Pipeline")
    name = resource.inputs["pipelineName"]
    with pytest.raises(PipelineError, match="does not exist here"):
        start_pipeline(sagemaker, name, {})
    upsert_pipeline(sagemaker, name, json.loads(resource.inputs["pipelineDefinition"]), resource.inputs["roleArn"], {})
    with pytest.raises(
        PipelineError, match=r"unknown pipeline parameter\(s\) Epochs; .* takes DataSource, GitCommit, InputData"
    ):
        start_pipeline(sagemaker, name, {"Epochs": "3"})
    with pytest.raises(PipelineError, match="DataSource='lake' is not one of csv, feature-store"):
        start_pipeline(sagemaker, name, {"DataSource": "lake"})
    run = start_pipeline(sagemaker, name, {"DataSource": "feature-store", "MetricThreshold": "0.8"}, token="ci-run-42")
    arn = run.arn
    assert run.started and arn.startswith(f"arn:aws:sagemaker:eu-west-1:123456789012:pipeline/{name}/execution/")
    again = start_pipeline(
        sagemaker, name, {"DataSource": "feature-store", "MetricThreshold": "0.8"}, token="ci-run-42"
    )
    assert (again.arn, again.started) == (arn, False), "the same token finds the execution it started"
    executions = sagemaker.list_pipeline_executions(PipelineName=name)["PipelineExecutionSummaries"]
    assert [e["PipelineExecutionArn"] for e in executions] == [arn]
    parameters = sagemaker.list_pipeline_parameters_for_execution(PipelineExecutionArn=arn)["PipelineParameters"]
    assert {p["Name"]: p["Value"] for p in parameters} == {
        "DataSource": "feature-store",
        "MetricThreshold": "0.8",
        **BOOTSTRAP,  # an empty registry: the first run registers the Clarify baselines
    }


def test_the_default_token_names_one_run_per_commit_data_settings_and_trigger() -> None:
    from pipelines.pipeline_ops import execution_token

    base = execution_token("mlops-dev-training", {"DataSource": "csv"}, "4b825dc", "manual")
    assert base == execution_token("mlops-dev-training", {"DataSource": "csv"}, "4b825dc", "manual")
    assert base != execution_token("mlops-dev-training", {"DataSource": "csv"}, "5c936ed", "manual")
    assert base != execution_token("mlops-dev-training", {"DataSource": "feature-store"}, "4b825dc", "manual")
    assert base != execution_token("mlops-dev-training", {"DataSource": "csv"}, "4b825dc", "schedule:42")
