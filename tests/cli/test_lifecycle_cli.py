"""The commands the workflows run, end to end: the `mlops` console script against a moto server."""

from __future__ import annotations

import json
from pathlib import Path

import boto3

from infra.plan.model import Plan
from tests.cli.test_cli import run
from tests.helpers import LINEAGE

GROUP = "mlops-dev-churn"


def test_approve_promote_and_refuse(project: Path, moto_endpoint: str) -> None:
    sagemaker = boto3.client("sagemaker", region_name="eu-west-1", endpoint_url=moto_endpoint)
    sagemaker.create_model_package_group(ModelPackageGroupName=GROUP)
    arn = sagemaker.create_model_package(
        ModelPackageGroupName=GROUP, ModelApprovalStatus="PendingManualApproval", CustomerMetadataProperties=LINEAGE,
        InferenceSpecification={"Containers": [{"Image": "i"}], "SupportedContentTypes": ["text/csv"],
                                "SupportedResponseMIMETypes": ["text/csv"]},
    )["ModelPackageArn"]  # fmt: skip
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
    assert f"Pulumi.prod.yaml pinned {arn}" in to_prod.stdout
    again = run("model", "promote", "--to", "prod", *endpoint, cwd=project)
    assert f"Pulumi.prod.yaml already pins {arn}" in again.stdout
    assert arn in (project / "Pulumi.prod.yaml").read_text()


def test_pipeline_upsert_and_start(project: Path, moto_endpoint: str, plans: dict[str, Plan]) -> None:
    stack_outputs = project / "dev-outputs.json"  # what `pulumi stack output --json` prints
    stack_outputs.write_text(json.dumps(plans["dev"].outputs))
    endpoint = ["--endpoint-url", moto_endpoint, "--outputs", str(stack_outputs)]
    first = run("pipeline", "upsert", "--stack", "dev", *endpoint, cwd=project)
    assert first.returncode == 0, first.stderr
    assert "pipeline mlops-dev-training: created" in first.stdout
    assert "unchanged" in run("pipeline", "upsert", "--stack", "dev", *endpoint, cwd=project).stdout
    started = run("pipeline", "start", "--stack", "dev", "-p", "DataSource=feature-store", *endpoint, cwd=project)
    assert started.returncode == 0, started.stderr
    execution = started.stdout.split("started ", 1)[1].strip().replace("\n", "")
    sagemaker = boto3.client("sagemaker", region_name="eu-west-1", endpoint_url=moto_endpoint)
    parameters = sagemaker.list_pipeline_parameters_for_execution(PipelineExecutionArn=execution)["PipelineParameters"]
    assert parameters == [{"Name": "DataSource", "Value": "feature-store"}]
    bad = run("pipeline", "start", "--stack", "dev", "-p", "Nope=1", *endpoint, cwd=project)
    assert bad.returncode == 1 and "unknown pipeline parameter(s) Nope" in bad.stderr
    outputs = project / "outputs.json"
    outputs.write_text(json.dumps({"bucket_names": {}}))
    missing = run(
        "pipeline", "upsert", "--stack", "dev", "--outputs", str(outputs), "--endpoint-url", moto_endpoint, cwd=project
    )
    assert missing.returncode == 1 and "the stack outputs lack" in missing.stderr
