"""A fresh registry's first training run bootstraps the Clarify baselines; later runs check against them.

SageMaker's ClarifyCheck step reference: with `SkipCheck: false` and no supplied baseline, the
previous baseline (the drift-check baseline of the group's latest approved package) must be
available. So a run that would find none must compute and register its own instead.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from kernel.plan import Plan
from pipelines.clarify_baselines import BASELINES, BOOTSTRAP, missing_baselines
from pipelines.definitions.training import REGISTER_CLARIFY, SKIP_CLARIFY
from pipelines.pipeline_ops import start_pipeline, upsert_pipeline
from tests.helpers import outputs_of


@pytest.fixture
def sagemaker() -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("sagemaker", region_name="eu-west-1")


@pytest.fixture
def pipeline(plans: dict[str, Plan], sagemaker: Any) -> tuple[str, str]:
    """The dev training pipeline, created in the emulator; its name and its registry group."""
    (resource,) = plans["dev"].of_type("aws:sagemaker/pipeline:Pipeline")
    name = resource.inputs["pipelineName"]
    upsert_pipeline(sagemaker, name, json.loads(resource.inputs["pipelineDefinition"]), resource.inputs["roleArn"], {})
    group = outputs_of(plans["dev"])["model_package_group"]
    sagemaker.create_model_package_group(ModelPackageGroupName=group)
    return name, group


def _register(sagemaker: Any, group: str, status: str, baselines: dict[str, Any] | None) -> None:
    request: dict[str, Any] = {
        "ModelPackageGroupName": group,
        "ModelApprovalStatus": status,
        "InferenceSpecification": {
            "Containers": [
                {"Image": "141502667606.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-scikit-learn:1.9-0-cpu-py3"}
            ],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
    }
    if baselines is not None:
        request["DriftCheckBaselines"] = baselines
    sagemaker.create_model_package(**request)


def _clarify_baselines() -> dict[str, Any]:
    document = {"ContentType": "application/json", "S3Uri": "s3://mlops-dev-artifacts/pipelines/training/x/report"}
    baselines: dict[str, Any] = {}
    for kind, key in BASELINES:
        baselines.setdefault(kind, {})[key] = document
    return baselines


def _started_with(sagemaker: Any, arn: str) -> dict[str, str]:
    parameters = sagemaker.list_pipeline_parameters_for_execution(PipelineExecutionArn=arn)["PipelineParameters"]
    return {p["Name"]: p["Value"] for p in parameters}


def test_the_definition_lets_a_run_skip_the_checks_and_register_baselines(
    plans: dict[str, Plan], dev_definition: dict[str, Any]
) -> None:
    parameters = {p["Name"]: p for p in dev_definition["Parameters"]}
    assert parameters[SKIP_CLARIFY] == {"Name": SKIP_CLARIFY, "Type": "Boolean", "DefaultValue": False}
    assert parameters[REGISTER_CLARIFY] == {"Name": REGISTER_CLARIFY, "Type": "Boolean", "DefaultValue": False}
    checks = [step for step in dev_definition["Steps"] if step["Type"] == "ClarifyCheck"]
    assert len(checks) == 3
    for step in checks:
        assert step["SkipCheck"] == {"Get": f"Parameters.{SKIP_CLARIFY}"}, step["Name"]
        assert step["RegisterNewBaseline"] == {"Get": f"Parameters.{REGISTER_CLARIFY}"}, step["Name"]
        assert step["ModelPackageGroupName"] == outputs_of(plans["dev"])["model_package_group"]


def test_a_first_run_in_an_empty_registry_bootstraps_the_baselines(sagemaker: Any, pipeline: tuple[str, str]) -> None:
    name, group = pipeline
    heard: list[str] = []
    arn = start_pipeline(sagemaker, name, {"DataSource": "feature-store"}, notify=heard.append).arn
    assert _started_with(sagemaker, arn) == {"DataSource": "feature-store", **BOOTSTRAP}
    assert heard and group in heard[0]


def test_pending_or_rejected_packages_have_no_baseline_to_check_against(
    sagemaker: Any, pipeline: tuple[str, str]
) -> None:
    name, group = pipeline
    _register(sagemaker, group, "PendingManualApproval", _clarify_baselines())
    _register(sagemaker, group, "Rejected", _clarify_baselines())
    assert _started_with(sagemaker, start_pipeline(sagemaker, name, {}).arn) == BOOTSTRAP


def test_a_later_run_checks_against_the_approved_baselines(sagemaker: Any, pipeline: tuple[str, str]) -> None:
    name, group = pipeline
    _register(sagemaker, group, "Approved", _clarify_baselines())
    heard: list[str] = []
    arn = start_pipeline(sagemaker, name, {"DataSource": "csv"}, notify=heard.append).arn
    assert _started_with(sagemaker, arn) == {"DataSource": "csv"}, "the pipeline's defaults: check, keep baselines"
    assert heard == []


def test_an_approved_package_without_clarify_baselines_bootstraps_them(
    sagemaker: Any, pipeline: tuple[str, str]
) -> None:
    name, group = pipeline
    _register(sagemaker, group, "Approved", None)
    assert missing_baselines(sagemaker, group) == [f"{kind}.{key}" for kind, key in BASELINES]
    assert _started_with(sagemaker, start_pipeline(sagemaker, name, {}).arn) == BOOTSTRAP


def test_a_caller_who_sets_the_parameters_decides(sagemaker: Any, pipeline: tuple[str, str]) -> None:
    name, _ = pipeline
    arn = start_pipeline(sagemaker, name, {SKIP_CLARIFY: "false"}).arn
    assert _started_with(sagemaker, arn) == {SKIP_CLARIFY: "false"}
