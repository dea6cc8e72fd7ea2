"""The offline plan: the JSON contract, determinism, and what every resource carries."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import pytest

from infra.plan.evaluate import evaluate_stack
from infra.plan.mocks import OfflineMocks, UnsupportedInvokeError
from kernel.plan import Plan, PlannedResource
from kernel.tags import MANDATORY_TAG_KEYS


def test_plan_json_follows_the_contract(plans: dict[str, Plan], tmp_path: Path) -> None:
    path = tmp_path / "plan.json"
    plans["dev"].write(path)
    document = json.loads(path.read_text())
    assert set(document) >= {"stack", "project", "resources"}
    assert (document["stack"], document["project"]) == ("dev", "mlops")
    programs = set()
    for resource in document["resources"]:
        assert set(resource) == {
            *("urn", "type", "name", "parent", "inputs", "dependencies", "options"),
            *("program", "stack", "ml_project"),  # which program and stack registers it (issue 21)
        }
        assert set(resource["options"]) <= {"protect", "retainOnDelete", "deleteBeforeReplace", "replacementTrigger"}
        if resource["program"] == "platform":
            assert (resource["stack"], resource["ml_project"]) == ("dev", None)
            assert resource["urn"].startswith("urn:pulumi:dev::mlops::")
        else:
            assert resource["program"] == "project"
            assert resource["stack"] == f"{resource['ml_project']}-dev"
            assert resource["urn"].startswith(f"urn:pulumi:{resource['stack']}::mlops-projects::")
        programs.add((resource["program"], resource["stack"]))
    assert programs == {("platform", "dev"), ("project", "churn-dev")}, "the environment: platform and projects"
    assert set(document["outputs"]["projects"]) == {"churn"}
    assert Plan.read(path) == plans["dev"]


def test_same_stack_planned_twice_is_identical(plans: dict[str, Plan], project_root: Path) -> None:
    assert evaluate_stack("dev", project_root).to_dict() == plans["dev"].to_dict()


FORWARDED_DRIFT = (
    "forwarded-drift-policy",
    "monitoring-retrain-on-forwarded-drift",
    "monitoring-retrain-on-forwarded-violations",
    "quality-retrain-on-forwarded-quality",
)
"""Dev's bus policy and rules: staging and prod may put their drift and quality alarms on dev's default bus (and
only that)."""


def test_stacks_plan_into_their_own_account(plan: Plan, stack: str) -> None:
    """Other accounts appear only as principals of the registry's cross-account grants: reads, and
    creating a model from a package in their own account (SageMaker's cross-account deployment).

    The one write: staging and prod forward drift to dev's default event bus, so dev's pipeline retrains.
    """
    accounts = {"dev": "111111111111", "staging": "222222222222", "prod": "333333333333"}
    others = set(accounts.values()) - {accounts[stack]}
    assert accounts[stack] in json.dumps(plan.to_dict())
    for resource in plan.resources:
        for document in _policy_strings(resource.inputs):
            for statement in json.loads(document).get("Statement", []):
                mentions = [other for other in others if other in json.dumps(statement)]
                if mentions and resource.name == FORWARDED_DRIFT[0]:
                    assert statement["Action"] == "events:PutEvents"
                    assert statement["Resource"].endswith(f":{accounts[stack]}:event-bus/default")
                elif mentions:
                    assert statement["Effect"] == "Allow"
                    assert statement["Principal"] == {"AWS": [f"arn:aws:iam::{a}:root" for a in sorted(mentions)]}
                    assert all(
                        a.split(":")[-1].startswith(("Describe", "List", "Get", "Decrypt"))
                        or a == "sagemaker:CreateModel"
                        for a in statement["Action"]
                    )
        stripped = {k: v for k, v in resource.inputs.items() if k not in ("policy", "resourcePolicy")}
        if resource.name in FORWARDED_DRIFT[1:]:
            stripped.pop("eventPattern", None)  # the rule matches events whose `account` is staging's or prod's
        assert not any(other in json.dumps(stripped) for other in others), resource.urn


def _policy_strings(inputs: dict[str, object]) -> list[str]:
    return [str(inputs[key]) for key in ("policy", "resourcePolicy") if key in inputs]


def _stack_urn(resource: PlannedResource) -> str:
    """The root stack resource of the program and stack that registers `resource`."""
    pulumi_project = "mlops" if resource.program == "platform" else "mlops-projects"
    return f"urn:pulumi:{resource.stack}::{pulumi_project}::pulumi:pulumi:Stack::{pulumi_project}-{resource.stack}"


def test_every_resource_is_inside_a_component(plan: Plan) -> None:
    components = {r.urn for r in plan.resources if r.type.startswith("mlops:")}
    for resource in plan.resources:
        if resource.type.startswith("mlops:"):
            assert resource.parent == _stack_urn(resource), resource.urn
        else:
            assert resource.parent in components, resource.urn
            assert plan.by_urn(resource.parent).stack == resource.stack, "a component's children are its stack's"


def test_dependencies_point_at_planned_resources(plan: Plan) -> None:
    """Every dependency is a planned resource of the same stack, or (for a project) the reference to its
    environment's platform stack, whose resources are in this plan too."""
    urns = {r.urn for r in plan.resources}
    policy = next(r for r in plan.of_type("aws:s3/bucketPolicy:BucketPolicy"))
    assert policy.dependencies, "a bucket policy depends on its bucket"
    for resource in plan.resources:
        reference = (
            f"urn:pulumi:{resource.stack}::mlops-projects::pulumi:pulumi:Stack$pulumi:pulumi:StackReference::"
            f"organization/mlops/{plan.stack}"
        )
        outside = set(resource.dependencies) - urns
        assert outside <= ({reference} if resource.program == "project" else set()), resource.urn
        assert all(plan.by_urn(urn).stack == resource.stack for urn in set(resource.dependencies) & urns)
    assert any(r.program == "platform" for r in plan.resources), "the referenced platform stack is planned"


def _taggable(token: str) -> bool:
    package, rest = token.split(":", 1)
    if package != "aws":
        return False
    module, class_name = rest.split("/")[0], rest.split(":")[-1]
    resource_class = getattr(importlib.import_module(f"pulumi_aws.{module}"), class_name)
    return "tags" in resource_class._internal_init.__code__.co_varnames


def test_every_taggable_resource_has_the_mandatory_tags(plan: Plan, stack: str) -> None:
    taggable = [r for r in plan.resources if _taggable(r.type)]
    assert len(taggable) > 20
    for resource in taggable:
        tags = resource.inputs.get("tags") or {}
        missing = [key for key in MANDATORY_TAG_KEYS if not tags.get(key)]
        assert not missing, f"{resource.type} {resource.name} lacks tags {missing}"
        assert tags["environment"] == stack


def test_mocks_refuse_data_sources() -> None:
    """An invoke would evaluate to nothing offline; the plan must fail loudly instead of lying."""
    import pulumi

    with pytest.raises(UnsupportedInvokeError, match="aws:iam/getPolicyDocument:getPolicyDocument"):
        OfflineMocks("111111111111", "eu-west-1").call(
            pulumi.runtime.MockCallArgs(token="aws:iam/getPolicyDocument:getPolicyDocument", args={}, provider="")
        )
