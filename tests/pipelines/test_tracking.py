"""Experiment tracking: the track step's MLflow run, and how the compiled pipeline reaches MLflow."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import mlflow
import pytest

from kernel import StackConfig
from kernel.plan import Plan
from kernel.projects import Project
from pipelines.definitions.settings import experiment_name, settings_for_stack
from pipelines.definitions.templates import distribution_image, render_definition
from pipelines.local_run import LocalTrainingRun, run_step
from tests.helpers import outputs_of


def tracked_run(run: LocalTrainingRun) -> Any:
    ids = json.loads(run.tracking.read_text())
    client = mlflow.MlflowClient(tracking_uri=f"sqlite:///{run.tracking_store / 'mlflow.db'}")
    return client, client.get_run(ids["run_id"])


def test_local_run_logs_settings_metrics_bias_attribution_lineage_and_report(training_run: LocalTrainingRun) -> None:
    client, run = tracked_run(training_run)
    report = json.loads(training_run.evaluation.read_text())
    metrics, params, tags = run.data.metrics, run.data.params, run.data.tags
    assert metrics["test.auc"] == pytest.approx(report["metrics"]["auc"]["value"])
    assert metrics["bias.demographic_parity_gap"] == pytest.approx(
        report["bias"]["post_training"]["demographic_parity_gap"]
    )
    assert {f"attribution.{feature}" for feature in report["attribution"]} <= set(metrics)
    assert metrics["gate.passed"] == 1.0
    assert params["train.n_estimators"] == "200" and params["gate.metric"] == "auc"
    assert params["bias.attribute"] == "gender"
    lineage = json.loads((training_run.root / "data" / "lineage" / "lineage.json").read_text())
    assert tags["lineage.data-version"] == lineage["data_version"]
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert artifacts == {"evaluation.json", "lineage.json"}
    logged = json.loads(Path(run.info.artifact_uri.removeprefix("file://"), "evaluation.json").read_text())
    assert logged["decision"] == report["decision"]


def test_a_retried_track_step_completes_its_run_instead_of_adding_one(
    training_run: LocalTrainingRun, tmp_path: Path
) -> None:
    args = [
        "--evaluation", str(training_run.evaluation.parent), "--output", str(tmp_path / "out"),
        "--local-store", str(tmp_path / "store"), "--run-key", "execution-1", "--git-commit", "abc123",
        "--experiment", "churn",
    ]  # fmt: skip
    run_ids = []
    for _ in range(2):
        run_step("track", *args)
        run_ids.append(json.loads((tmp_path / "out" / "tracking.json").read_text())["run_id"])
    client = mlflow.MlflowClient(tracking_uri=f"sqlite:///{tmp_path / 'store' / 'mlflow.db'}")
    runs = client.search_runs([client.get_experiment_by_name("churn").experiment_id])
    assert run_ids[0] == run_ids[1] and [r.info.run_id for r in runs] == run_ids[:1]
    assert runs[0].data.tags["lineage.git-commit"] == "abc123"


def test_compiled_pipeline_tracks_natively_and_logs_through_the_track_step(
    plans: dict[str, Plan], training_configs: dict[str, StackConfig], shipped: dict[str, Project]
) -> None:
    for config in training_configs.values():
        plan = plans["dev"]
        settings = settings_for_stack(config, outputs_of(plan), shipped["churn"].spec())
        definition = render_definition(settings)
        arn = outputs_of(plan)["tracking_arn"]
        assert arn.startswith(f"arn:aws:sagemaker:{config.region}:{config.account_id}:mlflow-app/")
        experiment = experiment_name(config.trained(), "churn")
        assert definition["MlflowConfig"] == {"MlflowResourceArn": arn, "MlflowExperimentName": experiment}
        (track,) = [s for s in definition["Steps"] if s["Name"] == "TrackExperiment"]
        arguments = track["Arguments"]
        assert arguments["AppSpecification"]["ImageUri"] == distribution_image(config.region)
        container_args = arguments["AppSpecification"]["ContainerArguments"]
        assert container_args[container_args.index("--tracking-uri") + 1] == arn
        assert arguments["RoleArn"] == outputs_of(plan)["role_arns"]["jobs"]
        assert arguments["ProcessingOutputConfig"]["KmsKeyId"] == outputs_of(plan)["key_arns"]["models"]
        (train,) = [s for s in definition["Steps"] if s["Name"] == "Train"]
        if config.trained().tuning is None:  # a training job logs itself; a tuning job's definition cannot
            assert train["Arguments"]["MlflowConfig"]["MlflowResourceArn"] == arn
        else:
            assert "MlflowConfig" not in train["Arguments"]["TrainingJobDefinition"]


def test_without_tracking_the_pipeline_has_no_mlflow_step_or_setting(
    plans: dict[str, Plan], training_configs: dict[str, StackConfig], shipped: dict[str, Project]
) -> None:
    on_demand = training_configs["on-demand"]
    tracking = on_demand.trained().tracking.model_copy(update={"enabled": False})
    training = on_demand.trained().model_copy(update={"tracking": tracking})
    definition = render_definition(
        settings_for_stack(
            on_demand.model_copy(update={"training": training}), outputs_of(plans["dev"]), shipped["churn"].spec()
        )
    )
    assert definition["MlflowConfig"] is None
    assert "TrackExperiment" not in {s["Name"] for s in definition["Steps"]}
    assert "MlflowConfig" not in json.dumps(definition["Steps"])


def test_a_regressor_run_logs_its_errors_and_kind(claims_run: LocalTrainingRun) -> None:
    """The claims project's run lands in its own experiment, with the regression metrics and the validation RMSE."""
    client, run = tracked_run(claims_run)
    report = json.loads(claims_run.evaluation.read_text())
    assert client.get_experiment(run.info.experiment_id).name == "claims"
    metrics, params = run.data.metrics, run.data.params
    assert {"test.rmse", "test.mae", "test.r2"} <= set(metrics) and "test.auc" not in metrics
    assert metrics["test.rmse"] == pytest.approx(report["metrics"]["rmse"]["value"])
    assert params["model.kind"] == "regressor" and params["gate.metric"] == "rmse"
