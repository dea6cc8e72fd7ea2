"""Pipelines learn projects: two projects of different kinds share the step code and the pipeline builder.

churn is a classifier gated on AUC, claims a regressor gated on RMSE (an error: lower is better). The
steps read each project's spec (`project.json`); the definitions are compiled for each project offline,
and the Clarify configs staged for it are exactly what the SageMaker SDK generates from its columns.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from kernel import ConfigError
from kernel.models import TrainingConfig
from kernel.projects import Project, load_project
from pipelines.definitions.clarify import analysis_configs
from pipelines.definitions.code import code_prefix
from pipelines.definitions.jobs import PROCESSING_SPEC
from pipelines.definitions.settings import pipeline_settings
from pipelines.definitions.templates import render_definition
from pipelines.definitions.training import TRAINING_SPEC, build_pipeline, definition_of
from pipelines.lifecycle import LifecycleError
from pipelines.lifecycle.smoke import sample_payload, smoke_test
from pipelines.local_run import STEPS_DIR, LocalTrainingRun, load_model_handlers, run_step
from pipelines.parity import PROJECT_ROOT
from tests.pipelines.conftest import refusing_aws

REGION = "eu-west-1"
VALUES = {
    "artifacts_bucket": "mlops-dev-artifacts-111111111111-eu-west-1",
    "raw_bucket": "mlops-dev-raw-111111111111-eu-west-1",
    "code_prefix": "code/0123456789abcdef/",
    "jobs_role_arn": "arn:aws:iam::111111111111:role/mlops-dev-jobs",
    "model_role_arn": "arn:aws:iam::111111111111:role/mlops-dev-model",
    "kms_key_arn": "arn:aws:kms:eu-west-1:111111111111:key/00000000-0000-0000-0000-000000000000",
    "subnet_ids": ["subnet-0a", "subnet-0b"],
    "security_group_ids": ["sg-0a"],
    "model_package_group": "mlops-dev-project",
    "feature_database": "mlops_dev_features",
    "feature_table": "table",
    "feature_workgroup": "mlops-dev-features",
    "config_hash": "0123456789abcdef",
    "tracking_arn": "arn:aws:sagemaker:eu-west-1:111111111111:mlflow-app/app-0123456789ab",
}
"""Stand-ins for a project stack's outputs (the plan's are not needed to compile a definition)."""


def dev_training(project: Project) -> TrainingConfig:
    """The project's dev training settings, as its project.yaml writes them."""
    return TrainingConfig.model_validate(project.settings("dev")["training"])


@pytest.fixture(scope="module")
def compiled(shipped: dict[str, Project]) -> tuple[Any, dict[str, Any], Any]:
    """The claims project's settings, the definition the SDK compiles offline, and the built SDK pipeline.

    (churn's, the classifier's, are compiled and compared by test_definition and test_clarify.)
    """
    project = shipped["claims"]
    with refusing_aws() as calls:
        settings = pipeline_settings(dev_training(project), REGION, VALUES, project.spec())
        pipeline = build_pipeline(settings)
    assert calls == []
    return settings, definition_of(pipeline), pipeline


@pytest.fixture(scope="module")
def steps() -> Iterator[dict[str, Any]]:
    sys.path.insert(0, str(STEPS_DIR))
    try:
        import dataset
        import evaluate

        yield {"dataset": dataset, "evaluate": evaluate}
    finally:
        sys.path.remove(str(STEPS_DIR))


def copy_project(tmp_path: Path, name: str, edit: dict[str, Any], source: Path = PROJECT_ROOT) -> Path:
    """A copy of `<source>/projects/<name>/` under `tmp_path` whose project.yaml has `edit` applied (dotted keys).

    `source` is the repository by default (its stack files go with it); the tests' fixture root
    (`FIXTURE_STACKS`) where the test reads the fixture stack files, whose accounts a fork's files do not share.
    """
    shutil.copytree(source / "projects" / name, tmp_path / "projects" / name)
    path = tmp_path / "projects" / name / "project.yaml"
    document = yaml.safe_load(path.read_text())
    for dotted, value in edit.items():
        *parents, last = dotted.split(".")
        node = document
        for key in parents:
            node = node[key]
        if value is None:
            del node[last]
        else:
            node[last] = value
    path.write_text(yaml.safe_dump(document))
    return tmp_path


def refusal(tmp_path: Path, name: str, edit: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_project(copy_project(tmp_path, name, edit), name)
    return caught.value.lines()


def test_both_shipped_projects_load_with_their_kind_and_gate(shipped: dict[str, Project]) -> None:
    assert {name: project.file.model.kind for name, project in shipped.items()} == {
        "churn": "classifier",
        "claims": "regressor",
    }
    assert dev_training(shipped["claims"]).objective_metric == "rmse"
    assert dev_training(shipped["claims"]).metric_threshold == 250
    claims = shipped["claims"].spec()
    assert claims.sensitive == "gender" and "gender" not in claims.features and claims.label not in claims.features


@pytest.mark.parametrize(
    ("name", "edit", "expected"),
    [
        (
            "claims",
            {"environments.dev.training.objectiveMetric": "auc", "environments.dev.training.metricThreshold": 0.7},
            "projects/claims/project.yaml: environments.dev.training.objectiveMetric: 'auc' does not score a "
            "regressor; set one of rmse, mae, r2",
        ),
        (
            "claims",
            {"environments.dev.training.objectiveMetric": None, "environments.dev.training.metricThreshold": 0.7},
            "projects/claims/project.yaml: environments.dev.training.objectiveMetric: 'auc' (the default) does not "
            "score a regressor; set one of rmse, mae, r2",
        ),
        (
            "churn",
            {"environments.dev.training.objectiveMetric": "rmse"},
            "projects/churn/project.yaml: environments.dev.training.objectiveMetric: 'rmse' does not score a "
            "classifier; set one of auc, accuracy, f1",
        ),
        (
            "claims",
            {"model.labelThreshold": None},
            "projects/claims/project.yaml: model.labelThreshold: is required for a regressor with a "
            "sensitiveAttribute: bias reports count labels and predictions above it as the favourable outcome",
        ),
        (
            "churn",
            {"model.labelThreshold": 0.5},
            "projects/churn/project.yaml: model.labelThreshold: applies to a regressor only; a classifier's positive "
            "is 1",
        ),
    ],
)
def test_a_gate_or_bias_setting_that_does_not_fit_the_kind_is_refused(
    tmp_path: Path, name: str, edit: dict[str, Any], expected: str
) -> None:
    assert refusal(tmp_path, name, edit) == [expected]


def test_a_share_metric_above_one_is_refused_and_an_error_metric_is_not() -> None:
    assert TrainingConfig(objective_metric="rmse", metric_threshold=250).metric_threshold == 250
    with pytest.raises(ValueError, match=r"metricThreshold 1\.5 is above 1, which r2 never reaches"):
        TrainingConfig(objective_metric="r2", metric_threshold=1.5)


def test_the_steps_read_the_spec_the_kernel_writes(
    shipped: dict[str, Project], steps: dict[str, Any], tmp_path: Path
) -> None:
    for name, project in shipped.items():
        spec = project.spec()
        path = tmp_path / f"{name}.json"
        path.write_text(spec.to_json())
        read = steps["dataset"].load_spec(str(path))
        assert (read.name, read.kind, read.label, read.sensitive, read.features, read.label_threshold) == (
            spec.name, spec.kind, spec.label, spec.sensitive, spec.features, spec.label_threshold,
        )  # fmt: skip
        assert read.identifier == spec.identifier and read.event_time == spec.event_time


def test_a_missing_or_broken_spec_is_named(tmp_path: Path, steps: dict[str, Any]) -> None:
    load = steps["dataset"].load_spec
    with pytest.raises(ValueError, match=r"no project spec; pass --project-spec"):
        load(str(tmp_path / "project.json"))
    (tmp_path / "project.json").write_text(json.dumps({"name": "x", "kind": "ranker"}))
    with pytest.raises(ValueError, match=r"project.json: feature_group must be a non-empty string"):
        load(str(tmp_path / "project.json"))


def test_the_regressor_passes_its_gate_on_the_shipped_data(claims_run: LocalTrainingRun) -> None:
    report = json.loads(claims_run.evaluation.read_text())
    rmse = report["metrics"]["rmse"]["value"]
    assert 150 < rmse < 250, "clearly better than the constant guess (about 390), not suspiciously perfect"
    assert 0.6 < report["metrics"]["r2"]["value"] < 0.9
    assert report["decision"]["passed"] is True and report["decision"]["metric"] == "rmse"
    assert report["regression_metrics"]["mse"]["value"] == pytest.approx(rmse**2)
    assert report["bias"]["attribute"] == "gender" and report["bias"]["post_training"]["demographic_parity_gap"] < 0.1
    assert set(report["attribution"]) == set(json.loads(claims_run.spec.read_text())["numeric"]) | {
        "region",
        "vehicle_type",
        "coverage",
    }


def test_the_regressor_fails_a_stricter_error_threshold(claims_run: LocalTrainingRun, tmp_path: Path) -> None:
    """RMSE is an error: a model whose RMSE is above the threshold is not registered."""
    rmse = json.loads(claims_run.evaluation.read_text())["metrics"]["rmse"]["value"]
    for threshold, passed in ((rmse + 1, True), (rmse - 1, False)):
        out = tmp_path / f"evaluation-{threshold:.0f}"
        run_step(
            "evaluate", "--model", str(claims_run.model_dir), "--test", str(claims_run.root / "data" / "test"),
            "--output", str(out), "--metric", "rmse", "--threshold", str(threshold),
            "--project-spec", str(claims_run.spec),
        )  # fmt: skip
        decision = json.loads((out / "evaluation.json").read_text())["decision"]
        assert decision["passed"] is passed, threshold
    assert decision["reason"] == f"rmse {rmse:.4f} is above the threshold {rmse - 1} (lower is better)"


def test_a_metric_of_the_other_kind_fails_the_step(claims_run: LocalTrainingRun, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"metric 'auc' does not score this model; choose one of mae, r2, rmse"):
        run_step(
            "evaluate", "--model", str(claims_run.model_dir), "--test", str(claims_run.root / "data" / "test"),
            "--output", str(tmp_path), "--metric", "auc", "--threshold", "0.7", "--project-spec", str(claims_run.spec),
        )  # fmt: skip


def test_the_regressors_artifact_serves_values(claims_run: LocalTrainingRun, shipped: dict[str, Project]) -> None:
    handlers = load_model_handlers(claims_run.model_dir)
    model = handlers.model_fn(str(claims_run.model_dir))
    payload = sample_payload(shipped["claims"], rows=5)
    values = [float(v) for v in handlers.output_fn(handlers.predict_fn(handlers.input_fn(payload), model)).split()]
    assert len(values) == 5 and all(50 < value < 5000 for value in values), "yearly costs in USD"


def test_smoke_accepts_a_regressors_values_and_refuses_non_finite_ones() -> None:
    class Runtime:
        def __init__(self, body: str) -> None:
            self.body = body

        def invoke_endpoint(self, **_: Any) -> dict[str, Any]:
            return {"Body": self.body, "InvokedProductionVariant": "primary"}

    payload = "a,b\n1,2\n3,4\n"
    result = smoke_test(Runtime("412.5\n1830.25"), "mlops-staging-claims", payload, "regressor")
    assert result.scores == [412.5, 1830.25]
    with pytest.raises(LifecycleError, match="scores outside"):
        smoke_test(Runtime("412.5\n1830.25"), "mlops-staging-churn-model", payload, "classifier")
    with pytest.raises(LifecycleError, match="not finite"):
        smoke_test(Runtime("412.5\nnan"), "mlops-staging-claims", payload, "regressor")


@pytest.mark.parametrize("name", ["churn", "claims"])
def test_each_project_fills_the_committed_template_with_its_own_settings(
    name: str, shipped: dict[str, Project]
) -> None:
    settings = pipeline_settings(dev_training(shipped[name]), REGION, VALUES, shipped[name].spec())
    definition = render_definition(settings)
    parameters = {p["Name"]: p.get("DefaultValue") for p in definition["Parameters"]}
    assert parameters["InputData"] == f"s3://{VALUES['raw_bucket']}/{name}/", "the project's raw data prefix"
    assert definition["MlflowConfig"]["MlflowExperimentName"] == name
    steps = {step["Name"]: step for step in definition["Steps"]}
    for step in ("Preprocess", "Baseline", "Evaluate"):
        arguments = steps[step]["Arguments"]["AppSpecification"]["ContainerArguments"]
        assert arguments[arguments.index("--project-spec") + 1] == PROCESSING_SPEC, (name, step)
    train = steps["Train"]["Arguments"]
    assert train["TrainingJobDefinition"]["StaticHyperParameters"]["project-spec"] == TRAINING_SPEC
    objective = train["HyperParameterTuningJobConfig"]["HyperParameterTuningJobObjective"]
    kind = shipped[name].file.model.kind
    assert (
        objective
        == {
            "classifier": {"MetricName": "validation-auc", "Type": "Maximize"},
            "regressor": {"MetricName": "validation-rmse", "Type": "Minimize"},
        }[kind]
    )
    register = next(s for s in steps["CheckMetric"]["Arguments"]["IfSteps"] if s["Name"] == "RegisterModel")
    assert register["Arguments"]["ModelPackageDescription"] == f"{name} {kind} trained by the training pipeline"


def test_the_regressors_template_fills_to_what_the_sdk_compiles(compiled: tuple[Any, dict[str, Any], Any]) -> None:
    settings, definition, _ = compiled
    assert render_definition(settings) == definition


def test_staged_clarify_configs_are_what_the_sdk_generates_for_a_regressor(
    compiled: tuple[Any, dict[str, Any], Any], shipped: dict[str, Project]
) -> None:
    """The regressor's bias checks take its label threshold and no probability threshold, as the SDK builds them."""
    files = {"DataBiasCheck": "data-bias", "ModelBiasCheck": "model-bias", "ExplainabilityCheck": "explainability"}
    generated = analysis_configs(shipped["claims"].spec(), dev_training(shipped["claims"]).processing_instance_type)
    built = {step.name: step for step in compiled[2].steps}
    for step, file in files.items():
        assert generated[file] == built[step].analysis_config, step
    claims = analysis_configs(shipped["claims"].spec(), "ml.m5.large")
    assert claims["data-bias"]["label_values_or_threshold"] == [750.0]
    assert "probability_threshold" not in claims["model-bias"]
    churn = analysis_configs(shipped["churn"].spec(), "ml.m5.large")
    assert churn["model-bias"]["probability_threshold"] == 0.5 and churn["data-bias"]["label_values_or_threshold"] == [
        1
    ]


def test_each_project_stages_its_code_under_its_own_prefix(shipped: dict[str, Project]) -> None:
    churn, claims = shipped["churn"].spec(), shipped["claims"].spec()
    assert code_prefix(churn) != code_prefix(claims), "the spec is part of the content hash"
    assert code_prefix(churn) == code_prefix(shipped["churn"].spec()), "deterministic"
    assert code_prefix(dataclasses.replace(churn, numeric=churn.numeric[:-1])) != code_prefix(churn)


def test_no_project_is_written_into_the_pipeline_code(shipped: dict[str, Project]) -> None:
    """Every project-specific name reaches pipelines/ through the spec: none is a literal in its code."""
    import ast

    names = set()
    for project in shipped.values():
        spec = project.spec()
        names |= {project.name, spec.feature_group, spec.label, spec.identifier, spec.sensitive or ""}
    names.discard("")
    found = []
    for path in sorted((PROJECT_ROOT / "pipelines").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                found += [(str(path.relative_to(PROJECT_ROOT)), name) for name in names if name in node.value]
    assert found == []
