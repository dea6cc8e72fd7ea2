"""The compiled training pipeline: what every job carries, the gate, the registration target.

The SDK compiles with every AWS call blocked, proving compilation is offline and uploads nothing;
the plan's definition (filled in from the committed template) must equal the SDK's output.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from infra.plan.evaluate import evaluate_stack
from kernel import StackConfig
from kernel.plan import Plan
from kernel.projects import Project
from pipelines.definitions.drift import compile_drift_definition
from pipelines.definitions.settings import drift_settings, settings_for_stack
from pipelines.definitions.templates import render_definition
from pipelines.definitions.training import definition_of
from tests.helpers import load_view, outputs_of, shipped_settings, write_stack
from tests.pipelines.conftest import refusing_aws


@pytest.fixture(scope="module")
def compiled(built_pipelines: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The SDK's definition for dev (spot, tuned) and dev on demand (untuned), from dev's plan outputs."""
    with refusing_aws() as calls:
        definitions = {stack: definition_of(pipeline) for stack, pipeline in built_pipelines.items()}
    assert calls == []
    return definitions


def planned(plan: Plan) -> dict[str, Any]:
    (pipeline,) = plan.of_type("aws:sagemaker/pipeline:Pipeline")
    definition: dict[str, Any] = json.loads(pipeline.inputs["pipelineDefinition"])
    return definition


def steps_of(definition: dict[str, Any]) -> dict[str, dict[str, Any]]:
    steps = {step["Name"]: step for step in definition["Steps"]}
    condition = steps["CheckMetric"]["Arguments"]
    steps.update({step["Name"]: step for step in condition["IfSteps"] + condition["ElseSteps"]})
    return steps


def jobs_of(definition: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Processing and training jobs; a tuning step stands for the training jobs it runs."""
    jobs = {}
    for name, step in steps_of(definition).items():
        if step["Type"] == "Tuning":
            jobs[name] = {**step, "Type": "Training", "Arguments": step["Arguments"]["TrainingJobDefinition"]}
        elif step["Type"] in ("Processing", "Training"):
            jobs[name] = step
        elif step["Type"] == "ClarifyCheck":  # a processing job with Clarify's image and analysis config
            jobs[name] = {**step, "Type": "Processing", "Clarify": True}
    return jobs


def test_plan_carries_exactly_what_the_sdk_compiles(
    plans: dict[str, Plan],
    compiled: dict[str, dict[str, Any]],
    training_configs: dict[str, StackConfig],
    shipped: dict[str, Project],
) -> None:
    assert planned(plans["dev"]) == compiled["dev"], "run `mlops pipeline templates`"
    # Only dev trains; dev on demand exercises the other template variant.
    spec = shipped["churn"].spec()
    rendered = render_definition(settings_for_stack(training_configs["on-demand"], outputs_of(plans["dev"]), spec))
    assert rendered == compiled["on-demand"], "run `mlops pipeline templates`"


def test_steps_and_their_order(compiled: dict[str, dict[str, Any]]) -> None:
    for stack, definition in compiled.items():
        assert [s["Name"] for s in definition["Steps"]] == [
            "Preprocess",
            "Baseline",
            "Train",
            "ClarifyModel",
            "DataBiasCheck",
            "ModelBiasCheck",
            "ExplainabilityCheck",
            "Evaluate",
            "CheckMetric",
            "TrackExperiment",  # both stacks track runs in MLflow
        ]
        steps, jobs = steps_of(definition), jobs_of(definition)
        text = json.dumps
        assert "Steps.Preprocess" in text(jobs["Train"]["Arguments"]["InputDataConfig"]), stack
        assert "Steps.Preprocess" in text(steps["Baseline"]["Arguments"]["ProcessingInputs"]), stack
        evaluate_inputs = text(steps["Evaluate"]["Arguments"]["ProcessingInputs"])
        assert "Steps.Train" in evaluate_inputs and "Steps.Preprocess" in evaluate_inputs, stack
        condition = steps["CheckMetric"]["Arguments"]
        assert [s["Name"] for s in condition["IfSteps"]] == ["RegisterModel"]
        assert [s["Name"] for s in condition["ElseSteps"]] == ["MetricBelowThreshold"]
    assert "Steps.Train.ModelArtifacts.S3ModelArtifacts" in json.dumps(steps_of(compiled["on-demand"])["Evaluate"])


def test_parameters_default_to_the_stack_config(
    compiled: dict[str, dict[str, Any]], training_configs: dict[str, StackConfig]
) -> None:
    for stack, definition in compiled.items():
        defaults = {p["Name"]: p.get("DefaultValue") for p in definition["Parameters"]}
        training = training_configs[stack].trained()
        assert defaults["TrainingInstanceType"] == training.instance_type
        assert defaults["ProcessingInstanceType"] == training.processing_instance_type
        assert defaults["MetricThreshold"] == training.metric_threshold
        assert defaults["ModelApprovalStatus"] == "PendingManualApproval"
        assert defaults["DataSource"] == "csv"
        assert defaults["InputData"].startswith("s3://mlops-dev-churn-raw-"), stack


def test_every_job_is_in_the_vpc_encrypted_and_uses_the_jobs_role(
    compiled: dict[str, dict[str, Any]], plans: dict[str, Plan]
) -> None:
    for definition in compiled.values():
        outputs = outputs_of(plans["dev"])  # only dev trains
        key, role = outputs["key_arns"]["models"], outputs["role_arns"]["jobs"]
        jobs = jobs_of(definition)
        assert sorted(jobs) == [
            "Baseline", "DataBiasCheck", "Evaluate", "ExplainabilityCheck", "ModelBiasCheck", "Preprocess",
            "TrackExperiment", "Train",
        ]  # fmt: skip
        for name, job in jobs.items():
            args = job["Arguments"]
            assert args["RoleArn"] == role, name
            if job["Type"] == "Processing":
                vpc = args["NetworkConfig"]["VpcConfig"]
                assert args["ProcessingResources"]["ClusterConfig"]["VolumeKmsKeyId"] == key
                assert args["ProcessingOutputConfig"]["KmsKeyId"] == key
                assert args["NetworkConfig"]["EnableInterContainerTrafficEncryption"] is True
            else:
                vpc = args["VpcConfig"]
                assert args["ResourceConfig"]["VolumeKmsKeyId"] == key and args["OutputDataConfig"]["KmsKeyId"] == key
                assert args["EnableNetworkIsolation"] is True and args["EnableInterContainerTrafficEncryption"] is True
            assert vpc["Subnets"] == outputs["subnet_ids"]
            assert vpc["SecurityGroupIds"] == [outputs["workload_security_group_id"]]
            if name != "TrackExperiment":  # every execution logs its own run
                assert job["CacheConfig"] == {"Enabled": True, "ExpireAfter": "P30D"}
            if job.get("Clarify"):
                continue  # SageMaker has no retry policies for check steps
            retried = {t for policy in job["RetryPolicies"] for t in policy["ExceptionType"]}
            assert {"Step.THROTTLING", "SageMaker.CAPACITY_ERROR", "SageMaker.RESOURCE_LIMIT"} <= retried


def test_spot_training_and_checkpoints_follow_config(compiled: dict[str, dict[str, Any]]) -> None:
    dev, prod = (jobs_of(compiled[s])["Train"]["Arguments"] for s in ("dev", "on-demand"))
    assert dev["EnableManagedSpotTraining"] is True and prod["EnableManagedSpotTraining"] is False
    assert dev["StoppingCondition"]["MaxWaitTimeInSeconds"] == 2 * dev["StoppingCondition"]["MaxRuntimeInSeconds"]
    assert dev["CheckpointConfig"]["LocalPath"] == "/opt/ml/checkpoints"
    # SageMaker copies the checkpoint prefix into the container at start: one shared prefix would make
    # every retraining resume the first model. Each execution gets its own.
    uri = dev["CheckpointConfig"]["S3Uri"]
    assert uri["Std:Join"]["Values"][1] == {"Get": "Execution.PipelineExecutionId"}
    assert (
        uri["Std:Join"]["Values"][0].startswith("s3://mlops-dev-churn-artifacts-")
        and "checkpoints" in uri["Std:Join"]["Values"]
    )
    assert "CheckpointConfig" not in prod and "MaxWaitTimeInSeconds" not in prod["StoppingCondition"]


def test_code_comes_from_the_content_addressed_prefix(
    compiled: dict[str, dict[str, Any]], plans: dict[str, Plan]
) -> None:
    plan = plans["dev"]
    code_uri = f"s3://{outputs_of(plan)['bucket_names']['artifacts']}/{outputs_of(plan)['code_prefix']}"
    staged = {o.inputs["key"] for o in plan.of_type("aws:s3/bucketObjectv2:BucketObjectv2")}
    assert {
        f"{outputs_of(plan)['code_prefix']}{name}" for name in ("preprocess.py", "train.py", "evaluate.py")
    } <= staged
    for name, job in jobs_of(compiled["dev"]).items():
        assert job.get("Clarify") or code_uri in json.dumps(job["Arguments"]), name
    for stack, key in (("dev", "StaticHyperParameters"), ("on-demand", "HyperParameters")):
        train = jobs_of(compiled[stack])["Train"]["Arguments"][key]
        assert json.loads(train["sagemaker_submit_directory"]) == "/opt/ml/input/data/code", stack


def test_the_gate_reads_the_evaluation_decision(compiled: dict[str, dict[str, Any]]) -> None:
    steps = steps_of(compiled["dev"])
    (condition,) = steps["CheckMetric"]["Arguments"]["Conditions"]
    assert condition["Type"] == "Equals" and condition["RightValue"] is True
    assert condition["LeftValue"]["Std:JsonGet"]["Path"] == "decision.passed"
    (report,) = steps["Evaluate"]["PropertyFiles"]
    assert report == {"FilePath": "evaluation.json", "OutputName": "evaluation", "PropertyFileName": "EvaluationReport"}
    arguments = steps["Evaluate"]["Arguments"]["AppSpecification"]["ContainerArguments"]
    assert "--threshold" in arguments and "--metric" in arguments
    assert "--max-bias" in arguments and "--sensitive" in arguments
    message = json.dumps(steps["MetricBelowThreshold"]["Arguments"]["ErrorMessage"])
    assert "The model was not registered:" in message and "decision.reason" in message


def test_registration_targets_the_environment_group(
    compiled: dict[str, dict[str, Any]], plans: dict[str, Plan]
) -> None:
    for stack, definition in compiled.items():
        register = steps_of(definition)["RegisterModel"]
        assert register["Type"] == "RegisterModel"
        args = register["Arguments"]
        assert (
            args["ModelPackageGroupName"] == outputs_of(plans["dev"])["model_package_group"] == "mlops-dev-churn-model"
        ), stack
        assert args["ModelApprovalStatus"] == {"Get": "Parameters.ModelApprovalStatus"}
        assert "evaluation.json" in json.dumps(args["ModelMetrics"]["ModelQuality"])
        assert "baseline.json" in json.dumps(args["DriftCheckBaselines"]["ModelDataQuality"])
        assert (
            "evaluation.json" in json.dumps(args["ModelMetrics"]["Bias"]) and "Explainability" in args["ModelMetrics"]
        )
        lineage = args["CustomerMetadataProperties"]
        assert lineage["lineage.pipeline-execution"] == {"Get": "Execution.PipelineExecutionArn"}
        assert lineage["lineage.git-commit"] == {"Get": "Parameters.GitCommit"}
        assert "DataLineage" in json.dumps(lineage["lineage.data-version"])
        (container,) = args["InferenceSpecification"]["Containers"]
        assert container["Environment"]["SAGEMAKER_SUBMIT_DIRECTORY"] == "/opt/ml/model/code"


def test_pipeline_resource_uses_the_pipeline_role(plan: Plan, stack: str) -> None:
    pipelines = plan.of_type("aws:sagemaker/pipeline:Pipeline")
    if stack == "dev":
        (pipeline,) = pipelines
        assert pipeline.inputs["roleArn"] == outputs_of(plan)["role_arns"]["pipeline"]
        assert pipeline.inputs["pipelineName"] == f"mlops-{stack}-churn-training"
    else:
        assert pipelines == [], "models are trained in dev only; nothing here would use a training pipeline"
    code = plan.of_project("churn").of_type("aws:s3/bucketObjectv2:BucketObjectv2")  # the drift job's, everywhere
    assert code and all(o.inputs["serverSideEncryption"] == "aws:kms" for o in code)
    assert all(o.inputs["kmsKeyId"] == outputs_of(plan)["key_arns"]["models"] for o in code)


def test_drift_plan_carries_exactly_what_the_sdk_compiles(
    tmp_path: Path, project_root: Path, configs: dict[str, StackConfig], no_aws: list[str]
) -> None:
    settings = copy.deepcopy(shipped_settings(project_root, "prod"))
    settings["mlops:serving"]["modelPackageArn"] = (
        "arn:aws:sagemaker:eu-west-1:111111111111:model-package/mlops-dev-churn-model/3"
    )
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
        "artifacts_bucket": outputs["bucket_names"]["artifacts"],
        "code_prefix": outputs["code_prefix"],
        "monitoring_role_arn": outputs["role_arns"]["monitoring"],
        "kms_key_arn": outputs["key_arns"]["models"],
        "subnet_ids": outputs["subnet_ids"],
        "security_group_ids": [outputs["workload_security_group_id"]],
        "capture_bucket": outputs["bucket_names"]["capture"],
        "endpoint_name": outputs["endpoint_name"],
    }
    assert json.loads(drift.inputs["pipelineDefinition"]) == compile_drift_definition(drift_settings(config, values))
    assert no_aws == []


def test_unattended_runs_still_record_which_code_ran(
    compiled: dict[str, dict[str, Any]], plans: dict[str, Plan]
) -> None:
    defaults = {p["Name"]: p.get("DefaultValue") for p in compiled["dev"]["Parameters"]}
    assert defaults["GitCommit"] == f"code:{outputs_of(plans['dev'])['code_prefix']}"


def test_dev_tunes_and_evaluates_the_best_job(
    compiled: dict[str, dict[str, Any]], configs: dict[str, StackConfig]
) -> None:
    tuning = configs["dev"].training.tuning
    assert tuning is not None
    steps = steps_of(compiled["dev"])
    assert steps["Train"]["Type"] == "Tuning" and steps_of(compiled["on-demand"])["Train"]["Type"] == "Training"
    config = steps["Train"]["Arguments"]["HyperParameterTuningJobConfig"]
    assert config["ResourceLimits"] == {
        "MaxNumberOfTrainingJobs": tuning.max_jobs,
        "MaxParallelTrainingJobs": tuning.max_parallel,
    }
    assert config["HyperParameterTuningJobObjective"] == {"MetricName": "validation-auc", "Type": "Maximize"}
    ranges = {r["Name"]: (r["MinValue"], r["MaxValue"]) for group in config["ParameterRanges"].values() for r in group}
    assert ranges == {"learning-rate": ("0.02", "0.3"), "max-depth": ("2", "5"), "n-estimators": ("100", "400")}
    definition = steps["Train"]["Arguments"]["TrainingJobDefinition"]
    assert definition["AlgorithmSpecification"]["MetricDefinitions"][0]["Name"] == "validation-auc"
    assert "validation" in [c["ChannelName"] for c in definition["InputDataConfig"]]
    assert "learning-rate" not in definition["StaticHyperParameters"]
    best = "Steps.Train.BestTrainingJob.TrainingJobName"
    assert best in json.dumps(steps["Evaluate"]["Arguments"]["ProcessingInputs"])
    assert best in json.dumps(steps["RegisterModel"]["Arguments"]["InferenceSpecification"])
