"""Approve, promote, roll back and smoke-test against moto, in a copy of the project's stack files."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from moto import mock_aws

from kernel.projects import load_project
from pipelines.lifecycle import LifecycleError
from pipelines.lifecycle.promotion import promote, rollback
from pipelines.lifecycle.registry import decide, list_packages
from pipelines.lifecycle.smoke import sample_payload, smoke_test
from pipelines.lifecycle.stack_files import pinned_package
from pipelines.parity import PROJECT_ROOT
from tests.helpers import LINEAGE, load_view

GROUP = "mlops-dev-churn-model"


@pytest.fixture
def registry() -> Iterator[tuple[Any, list[str]]]:
    """A model package group with three pending versions, in moto."""
    with mock_aws():
        client = boto3.client("sagemaker", region_name="eu-west-1")
        client.create_model_package_group(ModelPackageGroupName=GROUP)
        arns = [
            client.create_model_package(
                ModelPackageGroupName=GROUP,
                ModelPackageDescription=f"candidate {n}",
                ModelApprovalStatus="PendingManualApproval",
                CustomerMetadataProperties=LINEAGE,
                InferenceSpecification={
                    "Containers": [{"Image": "img", "ModelDataUrl": f"s3://b/model-{n}.tar.gz"}],
                    "SupportedContentTypes": ["text/csv"],
                    "SupportedResponseMIMETypes": ["text/csv"],
                },
            )["ModelPackageArn"]
            for n in (1, 2, 3)
        ]
        yield client, arns


def test_approval_needs_a_reason_and_is_idempotent(registry: tuple[Any, list[str]]) -> None:
    client, arns = registry
    with pytest.raises(LifecycleError, match="give a reason"):
        decide(client, arns[0], "Approved", "  ")
    assert decide(client, arns[0], "Approved", "auc 0.81 on holdout") == "changed"
    assert decide(client, arns[0], "Approved", "again") == "unchanged"
    assert client.describe_model_package(ModelPackageName=arns[0])["ApprovalDescription"] == "auc 0.81 on holdout"
    approved = list_packages(client, GROUP, status="Approved")
    assert [p.version for p in approved] == [1]
    assert [p.version for p in list_packages(client, GROUP)] == [3, 2, 1]


def test_unknown_and_malformed_packages_are_refused(registry: tuple[Any, list[str]], project: Path) -> None:
    client, arns = registry
    with pytest.raises(LifecycleError, match="does not exist"):
        decide(client, arns[0][:-1] + "9", "Approved", "x")
    with pytest.raises(LifecycleError, match="not a versioned model package ARN"):
        promote(client, project, "arn:aws:sagemaker:eu-west-1:1:model-package/x", "staging", "churn")


def test_an_unapproved_package_is_never_promoted(registry: tuple[Any, list[str]], project: Path) -> None:
    client, arns = registry
    with pytest.raises(LifecycleError, match="is PendingManualApproval; a model approver must approve it first"):
        promote(client, project, arns[1], "staging", "churn")
    assert pinned_package(project, "staging", "churn") is None


def test_promotion_moves_forward_one_stage_at_a_time(registry: tuple[Any, list[str]], project: Path) -> None:
    client, arns = registry
    decide(client, arns[1], "Approved", "passed review")
    before = (project / "Pulumi.staging.yaml").read_text()
    with pytest.raises(LifecycleError, match="prod only receives what staging runs; churn serves nothing in staging"):
        promote(client, project, arns[1], "prod", "churn")
    change = promote(client, project, arns[1], "staging", "churn")
    assert (change.previous, change.current, change.changed) == (None, arns[1], True)
    after = (project / "Pulumi.staging.yaml").read_text()
    assert after.startswith(before.splitlines()[0]), "the stack file keeps its comments"
    assert load_view(project / "Pulumi.staging.yaml").serving.model_package_arn == arns[1]
    assert promote(client, project, arns[1], "staging", "churn").changed is False
    assert promote(client, project, arns[1], "prod", "churn").changed is True
    assert pinned_package(project, "prod", "churn") == arns[1]
    with pytest.raises(LifecycleError, match="promote to staging or prod"):
        promote(client, project, arns[1], "dev", "churn")


def test_a_package_from_another_registry_is_refused(registry: tuple[Any, list[str]], project: Path) -> None:
    client, _ = registry
    client.create_model_package_group(ModelPackageGroupName="someone-else")
    arn = client.create_model_package(
        ModelPackageGroupName="someone-else", ModelApprovalStatus="Approved", CustomerMetadataProperties=LINEAGE,
        InferenceSpecification={"Containers": [{"Image": "i"}], "SupportedContentTypes": ["text/csv"],
                                "SupportedResponseMIMETypes": ["text/csv"]},
    )["ModelPackageArn"]  # fmt: skip
    before = (project / "Pulumi.staging.yaml").read_bytes()
    with pytest.raises(LifecycleError, match="belongs to group 'someone-else', not to the registries staging receives"):
        promote(client, project, arn, "staging", "churn")
    assert (project / "Pulumi.staging.yaml").read_bytes() == before


def test_approve_and_reject_act_only_on_the_stacks_own_group(registry: tuple[Any, list[str]]) -> None:
    client, _ = registry
    client.create_model_package_group(ModelPackageGroupName="mlops-staging-churn-model")
    other = client.create_model_package(
        ModelPackageGroupName="mlops-staging-churn-model", ModelApprovalStatus="PendingManualApproval",
        CustomerMetadataProperties=LINEAGE,
        InferenceSpecification={"Containers": [{"Image": "i"}], "SupportedContentTypes": ["text/csv"],
                                "SupportedResponseMIMETypes": ["text/csv"]},
    )["ModelPackageArn"]  # fmt: skip
    for decision in ("Approved", "Rejected"):
        with pytest.raises(
            LifecycleError, match="belongs to group 'mlops-staging-churn-model', not to the stack's model"
        ):
            decide(client, other, decision, "looks fine", groups=[GROUP])  # type: ignore[arg-type]
    assert client.describe_model_package(ModelPackageName=other)["ModelApprovalStatus"] == "PendingManualApproval"


def test_rollback_pins_the_previous_approved_version(registry: tuple[Any, list[str]], project: Path) -> None:
    client, arns = registry
    for arn in arns:
        decide(client, arn, "Approved", "ok")
    decide(client, arns[1], "Rejected", "bias regression")
    promote(client, project, arns[2], "staging", "churn")
    change = rollback(client, project, "staging", "churn")
    assert (change.previous, change.current) == (arns[2], arns[0]), "v2 was rejected, so v3 rolls back to v1"
    with pytest.raises(LifecycleError, match="prod serves no model"):
        rollback(client, project, "prod", "churn")


def test_rollback_run_twice_rolls_back_once(registry: tuple[Any, list[str]], project: Path) -> None:
    client, arns = registry
    for arn in arns:
        decide(client, arn, "Approved", "ok")
    promote(client, project, arns[2], "staging", "churn")
    assert rollback(client, project, "staging", "churn").current == arns[1]
    after_first = (project / "Pulumi.staging.yaml").read_bytes()
    again = rollback(client, project, "staging", "churn")
    assert (again.changed, again.current, again.rolled_back_from) == (False, arns[1], 3)
    assert (project / "Pulumi.staging.yaml").read_bytes() == after_first
    assert rollback(client, project, "staging", "churn", again=True).current == arns[0]
    with pytest.raises(LifecycleError, match="no earlier version of mlops-dev-churn-model is approved"):
        rollback(client, project, "staging", "churn", again=True)
    to_three = rollback(client, project, "staging", "churn", to_version=3)
    assert (to_three.current, to_three.changed) == (arns[2], True)
    assert rollback(client, project, "staging", "churn", to_version=3).changed is False
    decide(client, arns[1], "Rejected", "bias regression")
    with pytest.raises(LifecycleError, match="is Rejected; roll back only to an approved version"):
        rollback(client, project, "staging", "churn", to_version=2)
    promote(client, project, arns[2], "staging", "churn")
    assert pinned_package(project, "staging", "churn") == arns[2]


@pytest.mark.usefixtures("registry")
def test_a_pin_the_config_rejects_leaves_the_file_untouched(project: Path) -> None:
    other_region = boto3.client("sagemaker", region_name="us-east-1")
    other_region.create_model_package_group(ModelPackageGroupName=GROUP)
    arn = other_region.create_model_package(
        ModelPackageGroupName=GROUP, ModelApprovalStatus="Approved", CustomerMetadataProperties=LINEAGE,
        InferenceSpecification={"Containers": [{"Image": "i"}], "SupportedContentTypes": ["text/csv"],
                                "SupportedResponseMIMETypes": ["text/csv"]},
    )["ModelPackageArn"]  # fmt: skip
    before = (project / "Pulumi.staging.yaml").read_text()
    with pytest.raises(Exception, match="must be in the stack's region eu-west-1"):
        promote(other_region, project, arn, "staging", "churn")
    assert (project / "Pulumi.staging.yaml").read_text() == before
    assert not list(project.glob(".Pulumi*"))


def _queue_endpoint_answers(bodies: list[str]) -> None:
    requests.post(
        "http://motoapi.amazonaws.com/moto-api/static/sagemaker/endpoint-results",
        json={
            "region": "eu-west-1",
            "results": [{"Body": b, "ContentType": "text/csv", "InvokedProductionVariant": "primary"} for b in bodies],
        },
        timeout=5,
    )


def test_smoke_test_accepts_probabilities_and_refuses_anything_else() -> None:
    payload = sample_payload(load_project(PROJECT_ROOT, "churn"), rows=3)
    assert payload.splitlines()[0].startswith("tenure_months,monthly_charges")
    with mock_aws():
        runtime = boto3.client("sagemaker-runtime", region_name="eu-west-1")
        _queue_endpoint_answers(["0.12\n0.8\n0.5", "0.1\n0.2", "0.1\n1.7\n0.2", "not a number"])
        result = smoke_test(runtime, "mlops-staging-churn-model", payload)
        assert (result.rows, result.scores, result.variant) == (3, [0.12, 0.8, 0.5], "primary")
        with pytest.raises(LifecycleError, match="answered 2 scores for 3 rows"):
            smoke_test(runtime, "mlops-staging-churn-model", payload + "\n")
        with pytest.raises(LifecycleError, match=r"scores outside \[0, 1\]: \[1.7\]"):
            smoke_test(runtime, "mlops-staging-churn-model", payload + " ")
        with pytest.raises(LifecycleError, match="not one number per line"):
            smoke_test(runtime, "mlops-staging-churn-model", payload + "  ")


def test_a_package_without_lineage_is_neither_approved_nor_promoted(
    registry: tuple[Any, list[str]], project: Path
) -> None:
    client, _ = registry
    arn = client.create_model_package(
        ModelPackageGroupName=GROUP, ModelApprovalStatus="Approved",
        InferenceSpecification={"Containers": [{"Image": "i"}], "SupportedContentTypes": ["text/csv"],
                                "SupportedResponseMIMETypes": ["text/csv"]},
    )["ModelPackageArn"]  # fmt: skip
    with pytest.raises(LifecycleError, match=r"lacks lineage \(lineage.data-version, lineage.git-commit"):
        decide(client, arn, "Approved", "looks fine")
    with pytest.raises(LifecycleError, match="register models through the training pipeline"):
        promote(client, project, arn, "staging", "churn")


def test_lineage_follows_the_package_to_its_environments(registry: tuple[Any, list[str]], project: Path) -> None:
    from pipelines.lifecycle.lineage import lineage

    client, arns = registry
    decide(client, arns[0], "Approved", "auc 0.81")
    promote(client, project, arns[0], "staging", "churn")
    chain = lineage(client, project, arns[0], "churn")
    assert chain.data_version == LINEAGE["lineage.data-version"] and chain.git_commit == LINEAGE["lineage.git-commit"]
    assert chain.metrics == {"auc": "0.81"} and chain.pinned_by == ["staging"]
    assert chain.approval == "Approved" and chain.approval_reason == "auc 0.81"
