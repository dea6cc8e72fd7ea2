"""The commands the workflows run, end to end: the `mlops` console script against a moto server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from kernel.plan import Plan
from tests.cli.helpers import run, run_process
from tests.helpers import LINEAGE, outputs_of, run_main

GROUP = "mlops-dev-churn-model"


def register(moto_endpoint: str, status: str, **extra: Any) -> str:
    """A package with the pipeline's lineage in a new group, as the training pipeline registers it."""
    sagemaker = boto3.client("sagemaker", region_name="eu-west-1", endpoint_url=moto_endpoint)
    sagemaker.create_model_package_group(ModelPackageGroupName=GROUP)
    return str(
        sagemaker.create_model_package(
            ModelPackageGroupName=GROUP, ModelApprovalStatus=status, CustomerMetadataProperties=LINEAGE,
            InferenceSpecification={"Containers": [{"Image": "i"}], "SupportedContentTypes": ["text/csv"],
                                    "SupportedResponseMIMETypes": ["text/csv"]},
            **extra,
        )["ModelPackageArn"]
    )  # fmt: skip


def test_approve_promote_and_refuse(project: Path, moto_endpoint: str) -> None:
    arn = register(moto_endpoint, "PendingManualApproval")
    endpoint = ["--endpoint-url", moto_endpoint]

    refused = run("model", "promote", "--to", "staging", "--arn", arn, *endpoint, cwd=project)
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert "is PendingManualApproval; a model approver must approve it first" in refused.stderr

    approved = run("model", "approve", arn, "--reason", "auc 0.81", *endpoint, cwd=project)
    assert approved.returncode == 0, approved.stderr
    assert "Approved (changed)" in approved.stdout

    listed = run("model", "list", "--stack", "dev", *endpoint, cwd=project)
    assert "Approved" in listed.stdout and GROUP in listed.stdout

    assert run("model", "promote", "--to", "staging", "--arn", arn, *endpoint, cwd=project).returncode == 0
    to_prod = run("model", "promote", "--to", "prod", *endpoint, cwd=project)
    assert to_prod.returncode == 0, to_prod.stderr
    assert f"projects/churn/project.yaml (prod) pinned {arn}" in to_prod.stdout
    again = run("model", "promote", "--to", "prod", *endpoint, cwd=project)
    assert f"projects/churn/project.yaml (prod) already pins {arn}" in again.stdout
    assert arn in (project / "projects" / "churn" / "project.yaml").read_text()


def test_pipeline_upsert_and_start(project: Path, moto_endpoint: str, plans: dict[str, Plan]) -> None:
    stack_outputs = project / "dev-outputs.json"  # what `pulumi stack output --json` prints
    stack_outputs.write_text(json.dumps(outputs_of(plans["dev"])))
    endpoint = ["--endpoint-url", moto_endpoint, "--outputs", str(stack_outputs)]
    first = run("pipeline", "upsert", "--stack", "dev", *endpoint, cwd=project)
    assert first.returncode == 0, first.stderr
    assert "pipeline mlops-dev-churn-training: created" in first.stdout
    assert "unchanged" in run("pipeline", "upsert", "--stack", "dev", *endpoint, cwd=project).stdout
    started = run("pipeline", "start", "--stack", "dev", "-p", "DataSource=feature-store", *endpoint, cwd=project)
    assert started.returncode == 0, started.stderr
    execution = started.stdout.split("started ", 1)[1].strip().replace("\n", "")
    sagemaker = boto3.client("sagemaker", region_name="eu-west-1", endpoint_url=moto_endpoint)
    parameters = sagemaker.list_pipeline_parameters_for_execution(PipelineExecutionArn=execution)["PipelineParameters"]
    assert {p["Name"]: p["Value"] for p in parameters} == {
        "DataSource": "feature-store",
        "RegisterClarifyBaselines": "true",  # nothing approved yet: this first run registers the baselines
        "SkipClarifyChecks": "true",
    }
    assert "carries Clarify baselines yet" in started.stdout.replace("\n", "")
    staging = run("pipeline", "start", "--stack", "staging", *endpoint, cwd=project)
    assert staging.returncode == 1 and "models are trained in dev only" in staging.stderr.replace("\n", " ")
    bad = run("pipeline", "start", "--stack", "dev", "-p", "Nope=1", *endpoint, cwd=project)
    assert bad.returncode == 1 and "unknown pipeline parameter(s) Nope" in bad.stderr
    outputs = project / "outputs.json"
    outputs.write_text(json.dumps({"bucket_names": {}}))
    missing = run(
        "pipeline", "upsert", "--stack", "dev", "--outputs", str(outputs), "--endpoint-url", moto_endpoint, cwd=project
    )
    assert missing.returncode == 1 and "the stack outputs lack" in missing.stderr


def test_lineage_traces_a_live_endpoint_to_its_data_as_table_and_json(project: Path, moto_endpoint: str) -> None:
    arn = register(
        moto_endpoint,
        "Approved",
        ModelMetrics={"Explainability": {"Report": {"ContentType": "application/json", "S3Uri": "s3://b/shap.json"}}},
    )
    sagemaker = boto3.client("sagemaker", region_name="eu-west-1", endpoint_url=moto_endpoint)
    role = "arn:aws:iam::123456789012:role/mlops-staging-model"
    sagemaker.create_model(ModelName="churn-v1", ExecutionRoleArn=role, PrimaryContainer={"ModelPackageName": arn})
    sagemaker.create_model(ModelName="hand-made", ExecutionRoleArn=role, PrimaryContainer={"Image": "i"})
    for model in ("churn-v1", "hand-made"):
        sagemaker.create_endpoint_config(
            EndpointConfigName=f"{model}-config",
            ProductionVariants=[{"VariantName": "primary", "ModelName": model, "InitialInstanceCount": 1,
                                 "InstanceType": "ml.m5.large", "InitialVariantWeight": 1.0}],
        )  # fmt: skip
        sagemaker.create_endpoint(EndpointName=model, EndpointConfigName=f"{model}-config")
    endpoint = ["--endpoint-url", moto_endpoint]

    table = run("lineage", "--stack", "staging", "--endpoint", "churn-v1", *endpoint, cwd=project)
    assert table.returncode == 0, table.stderr
    assert LINEAGE["lineage.git-commit"] in table.stdout and "explainability" in table.stdout

    as_json = run("lineage", "--stack", "staging", "--endpoint", "churn-v1", "--format", "json", *endpoint, cwd=project)
    chain = json.loads(as_json.stdout)
    assert chain["package_arn"] == arn and chain["data_version"] == LINEAGE["lineage.data-version"]
    assert chain["pipeline_execution"] == LINEAGE["lineage.pipeline-execution"] and chain["tracking_run"] == "abc"
    assert chain["approval"] == "Approved" and chain["reports"] == {"explainability": "s3://b/shap.json"}
    assert chain["endpoint"] == {"endpoint": "churn-v1", "status": "InService", "variant": "primary",
                                 "model": "churn-v1", "package_arn": arn, "weight": 1.0}  # fmt: skip

    by_package = run(
        "lineage", "--stack", "staging", "--model-package", arn, "--format", "json", *endpoint, cwd=project
    )
    assert json.loads(by_package.stdout)["endpoint"] is None

    hand_made = run("lineage", "--stack", "staging", "--endpoint", "hand-made", *endpoint, cwd=project)
    assert hand_made.returncode == 1 and "serves no model created from a model package" in hand_made.stderr
    both = run("lineage", "--model-package", arn, "--endpoint", "churn-v1", *endpoint, cwd=project)
    assert both.returncode == 1 and "not both" in both.stderr
    missing = run("lineage", "--stack", "staging", "--endpoint", "nope", *endpoint, cwd=project)
    assert (
        missing.returncode == 1
        and "endpoint nope, its config or its model does not exist" in missing.stderr
        and "Traceback" not in missing.stderr
    )


def test_without_credentials_each_command_says_how_to_get_them_in_one_line(
    project: Path, moto_endpoint: str, plans: dict[str, Plan], tmp_path: Path
) -> None:
    outputs = project / "dev-outputs.json"
    outputs.write_text(json.dumps(outputs_of(plans["dev"])))
    arn = "arn:aws:sagemaker:eu-west-1:111111111111:model-package/mlops-dev-churn-model/1"
    env = {
        "AWS_ACCESS_KEY_ID": None, "AWS_SECRET_ACCESS_KEY": None, "AWS_SESSION_TOKEN": None, "AWS_PROFILE": None,
        "AWS_EC2_METADATA_DISABLED": "true", "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"), "HOME": str(tmp_path),
    }  # fmt: skip
    for command in (
        ("model", "list"),
        ("model", "approve", arn, "--reason", "ok"),
        ("pipeline", "start", "--outputs", str(outputs)),
    ):
        result = run_process(*command, "--endpoint-url", moto_endpoint, cwd=project, env=env)  # its own environment
        assert result.returncode == 77, (command, result.stderr)
        assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr, command
        assert "Unable to locate credentials; retrying will not help" in result.stderr, command
        assert "run `aws sso login`" in result.stderr, command


def test_unknown_stack_is_refused_cleanly_by_every_lifecycle_command(
    project: Path, moto_endpoint: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    arn = "arn:aws:sagemaker:eu-west-1:111111111111:model-package/mlops-dev-churn-model/1"
    expected = "error: Pulumi.qa.yaml: there is no stack 'qa' and there cannot be one"
    for command in (
        ("model", "list", "--stack", "qa"),
        ("model", "approve", arn, "--reason", "ok", "--stack", "qa"),
        ("model", "rollback", "--stack", "qa"),
        ("model", "smoke", "--stack", "qa"),
        ("lineage", "--stack", "qa"),
        ("pipeline", "start", "--stack", "qa"),
        ("features", "ingest", "rows.csv", "--stack", "qa", "--group", "customer-churn"),
    ):
        code, _, stderr = run_main(command, project, moto_endpoint, monkeypatch, capsys)
        assert code == 1 and stderr.startswith(expected) and stderr.count("\n") == 1, (command, stderr)


def test_a_missing_plan_file_and_a_debug_run(project: Path) -> None:
    missing = run("cost", "--plan", "missing.json", cwd=project)
    assert missing.returncode == 1 and "Traceback" not in missing.stderr
    assert missing.stderr.startswith("error: --plan missing.json: not a plan JSON written by `mlops plan")
    debug = run("cost", "--plan", "missing.json", "--debug", cwd=project)
    assert debug.returncode == 1 and "Traceback (most recent call last)" in debug.stderr
    assert debug.stderr.rstrip().splitlines()[-1].startswith("error: --plan missing.json")


def test_features_ingest_refuses_bad_records_before_writing_anything(project: Path) -> None:
    rows = project / "rows.csv"
    closed = ["--endpoint-url", "http://127.0.0.1:9"]  # nothing listens: a write would fail otherwise
    ingest = ("features", "ingest", str(rows), "--stack", "dev", "--group", "customer-churn", *closed)
    rows.write_text("customer_id,event_time,colour\nC1,2026-10-01T00:00:00Z,red\n")
    column = run(*ingest, cwd=project)
    assert column.returncode == 1 and column.stderr.startswith(
        f"error: {rows}: the header names colour, not features of customer-churn; remove the column(s)"
    )
    rows.write_text(
        "customer_id,event_time,tenure_months\nC1,2026-10-01T00:00:00Z,3\nC2,2026-10-01T00:00:00Z,two\nC3,,4\n"
    )
    result = run(*ingest, cwd=project)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [
        f"error: {rows}: row 2 (line 3): tenure_months='two': must be an integer",
        f"error: {rows}: row 3 (line 4): event_time=None: is required",
        f"error: {rows}: 2 invalid value(s); nothing was written",
    ]
    rows.write_text(
        "customer_id,event_time,tenure_months\n"
        "C1,2026-10-01T00:00:00Z,3,9\n"  # one cell more than the header: a value without a feature
        "C2,2026-10-01T00:00:00Z,4\n"
        "\n"
        "C3,2026-10-01T00:00:00Z\n"  # one cell fewer: tenure_months left out, not set empty
    )
    ragged = run(*ingest, cwd=project)
    assert ragged.returncode == 1 and "Traceback" not in ragged.stderr
    assert ragged.stderr.splitlines() == [
        f"error: {rows}: row 1 (line 2) has 4 cells, the header has 3",
        f"error: {rows}: row 3 (line 5) has 2 cells, the header has 3",
        f"error: {rows}: 2 row(s) of the wrong width; nothing was written",
    ]
    unknown = run("features", "ingest", str(rows), "--stack", "dev", "--group", "orders", *closed, cwd=project)
    assert unknown.returncode == 1
    assert "--group 'orders': no such feature group in dev; known: customer-churn (mlops-dev-churn-customer-churn)" in (
        unknown.stderr
    )
