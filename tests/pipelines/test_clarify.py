"""Clarify checks in the compiled pipeline: staged configs equal the SDK's, jobs are secured, reports attached."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from kernel import ConfigError, StackConfig
from kernel.plan import Plan
from kernel.projects import Project
from pipelines.definitions.checks import DATA_BIAS_STEP, EXPLAINABILITY_STEP, MODEL_BIAS_STEP, MODEL_STEP
from pipelines.definitions.clarify import analysis_configs, dataset_columns
from pipelines.definitions.settings import settings_for_stack
from pipelines.definitions.templates import clarify_image, render_definition
from pipelines.local_run import LocalTrainingRun
from tests.helpers import outputs_of

CHECK_FILES = {DATA_BIAS_STEP: "data-bias", MODEL_BIAS_STEP: "model-bias", EXPLAINABILITY_STEP: "explainability"}


def steps(definition: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found = {step["Name"]: step for step in definition["Steps"]}
    condition = found["CheckMetric"]["Arguments"]
    return found | {step["Name"]: step for step in condition["IfSteps"] + condition["ElseSteps"]}


def staged_configs(plan: Plan) -> dict[str, dict[str, Any]]:
    """Key -> the JSON of every Clarify analysis config the plan stages."""
    return {
        o.inputs["key"]: json.loads(o.inputs["content"])
        for o in plan.of_type("aws:s3/bucketObjectv2:BucketObjectv2")
        if o.inputs["key"].startswith("clarify/")
    }


def test_staged_analysis_configs_are_what_the_sdk_generates(
    plans: dict[str, Plan],
    training_configs: dict[str, StackConfig],
    built_pipelines: dict[str, Any],
    shipped: dict[str, Project],
) -> None:
    spec = shipped["churn"].spec()
    for stack, pipeline in built_pipelines.items():
        training = training_configs[stack].trained()
        built = {step.name: step for step in pipeline.steps}
        generated = analysis_configs(spec, training.processing_instance_type)
        for name, file in CHECK_FILES.items():
            assert generated[file] == built[name].analysis_config, (stack, name)
    dev = training_configs["dev"].trained()  # the stack that trains stages them
    settings = settings_for_stack(training_configs["dev"], outputs_of(plans["dev"]), spec)
    generated = analysis_configs(spec, dev.processing_instance_type)
    staged = staged_configs(plans["dev"])
    assert staged == {f"{settings.clarify_prefix}{file}.json": generated[file] for file in CHECK_FILES.values()}
    assert not staged_configs(plans["prod"]), "prod trains nothing: no Clarify configs to stage"


def test_check_jobs_run_clarify_in_the_vpc_encrypted_under_the_jobs_role(
    plans: dict[str, Plan], training_configs: dict[str, StackConfig], shipped: dict[str, Project]
) -> None:
    plan = plans["dev"]  # only dev trains and stages the configs
    for stack, config in training_configs.items():
        outputs = outputs_of(plan)
        found = steps(render_definition(settings_for_stack(config, outputs, shipped["churn"].spec())))
        key = outputs["key_arns"]["models"]
        staged = {o.inputs["key"]: o for o in plan.of_type("aws:s3/bucketObjectv2:BucketObjectv2")}
        for name, file in CHECK_FILES.items():
            step = found[name]
            args = step["Arguments"]
            assert step["Type"] == "ClarifyCheck" and step["FailOnViolation"] is True, name
            assert step["ModelPackageGroupName"] == outputs["model_package_group"]  # drift vs the approved model
            assert args["AppSpecification"]["ImageUri"] == clarify_image(config.region)
            assert args["RoleArn"] == outputs["role_arns"]["jobs"]
            assert args["ProcessingResources"]["ClusterConfig"]["VolumeKmsKeyId"] == key
            assert args["ProcessingOutputConfig"]["KmsKeyId"] == key
            assert args["NetworkConfig"]["VpcConfig"]["Subnets"] == outputs["subnet_ids"]
            assert args["NetworkConfig"]["EnableInterContainerTrafficEncryption"] is True
            (config_input,) = [i for i in args["ProcessingInputs"] if i["InputName"] == "analysis_config"]
            bucket, object_key = config_input["S3Input"]["S3Uri"].removeprefix("s3://").split("/", 1)
            assert object_key.endswith(f"/{file}.json")
            assert staged[object_key].inputs["bucket"] == bucket and staged[object_key].inputs["kmsKeyId"] == key, stack
        model = found[MODEL_STEP]["Arguments"]
        assert model["EnableNetworkIsolation"] is True and model["ExecutionRoleArn"] == outputs["role_arns"]["model"]
        assert model["VpcConfig"]["Subnets"] == outputs["subnet_ids"]
        for name in (MODEL_BIAS_STEP, EXPLAINABILITY_STEP):
            assert found[name]["ModelName"] == {"Get": f"Steps.{MODEL_STEP}.ModelName"}


def test_the_package_carries_clarify_reports_and_baselines(
    plans: dict[str, Plan], training_configs: dict[str, StackConfig], shipped: dict[str, Project]
) -> None:
    spec = shipped["churn"].spec()
    found = steps(render_definition(settings_for_stack(training_configs["on-demand"], outputs_of(plans["dev"]), spec)))
    request = found["RegisterModel"]["Arguments"]
    metrics, baselines = request["ModelMetrics"], request["DriftCheckBaselines"]
    calculated = "CalculatedBaselineConstraints"
    assert metrics["Bias"]["PreTrainingReport"]["S3Uri"] == {"Get": f"Steps.{DATA_BIAS_STEP}.{calculated}"}
    assert metrics["Bias"]["PostTrainingReport"]["S3Uri"] == {"Get": f"Steps.{MODEL_BIAS_STEP}.{calculated}"}
    assert metrics["Explainability"]["Report"]["S3Uri"] == {"Get": f"Steps.{EXPLAINABILITY_STEP}.{calculated}"}
    used = "BaselineUsedForDriftCheckConstraints"
    assert baselines["Bias"]["PreTrainingConstraints"]["S3Uri"] == {"Get": f"Steps.{DATA_BIAS_STEP}.{used}"}
    assert baselines["Explainability"]["Constraints"]["S3Uri"] == {"Get": f"Steps.{EXPLAINABILITY_STEP}.{used}"}


@pytest.mark.parametrize("name", ["churn", "claims"])
def test_clarify_reads_the_headerless_splits_preprocess_writes(
    name: str, shipped: dict[str, Project], training_run: LocalTrainingRun, claims_run: LocalTrainingRun
) -> None:
    """The configs' headers are the columns preprocess writes, in its order, for either kind of project."""
    run = {"churn": training_run, "claims": claims_run}[name]
    _, headers, _ = dataset_columns(shipped[name].spec())
    assert headers == (run.root / "data" / "test" / "test.csv").read_text().splitlines()[0].split(",")
    for split in ("train", "test"):
        (path,) = (run.root / "data" / "clarify" / split).glob("*.csv")
        first = path.read_text().splitlines()[0].split(",")
        assert len(first) == len(headers) and first[0] != headers[0], split  # a record, not a header


def test_a_project_without_a_sensitive_attribute_is_named(shipped: dict[str, Project]) -> None:
    spec = dataclasses.replace(shipped["claims"].spec(), sensitive=None)
    with pytest.raises(ConfigError) as caught:
        analysis_configs(spec, "ml.m5.large")
    assert caught.value.lines() == [
        "projects/claims/project.yaml: model.sensitiveAttribute: is required: the training pipeline's bias checks "
        "group by it"
    ]
