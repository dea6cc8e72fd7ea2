"""The offline plan: the JSON contract, determinism, and what every resource carries."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import pytest

from infra.plan.evaluate import evaluate_stack
from infra.plan.mocks import OfflineMocks, UnsupportedInvokeError
from kernel.plan import Plan
from kernel.tags import MANDATORY_TAG_KEYS


def test_plan_json_follows_the_contract(plans: dict[str, Plan], tmp_path: Path) -> None:
    path = tmp_path / "plan.json"
    plans["dev"].write(path)
    document = json.loads(path.read_text())
    assert set(document) >= {"stack", "project", "resources"}
    assert (document["stack"], document["project"]) == ("dev", "mlops")
    for resource in document["resources"]:
        assert set(resource) == {"urn", "type", "name", "parent", "inputs", "dependencies", "options"}
        assert set(resource["options"]) <= {"protect", "retainOnDelete", "deleteBeforeReplace", "replacementTrigger"}
        assert resource["urn"].startswith("urn:pulumi:dev::mlops::")
    assert Plan.read(path) == plans["dev"]


def test_same_stack_planned_twice_is_identical(plans: dict[str, Plan], project_root: Path) -> None:
    assert evaluate_stack("dev", project_root).to_dict() == plans["dev"].to_dict()


FORWARDED_DRIFT = (
    "monitoring-forwarded-drift",
    "monitoring-retrain-on-forwarded-drift",
    "monitoring-retrain-on-forwarded-violations",
)
"""Dev's bus policy and rule: staging and prod may put their drift alarms on dev's default bus (and only that)."""


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


def test_every_resource_is_inside_a_component(plan: Plan) -> None:
    components = {r.urn for r in plan.resources if r.type.startswith("mlops:")}
    for resource in plan.resources:
        if resource.type.startswith("mlops:"):
            assert resource.parent is not None and resource.parent.endswith("pulumi:pulumi:Stack::mlops-" + plan.stack)
        else:
            assert resource.parent in components, resource.urn


def test_dependencies_point_at_planned_resources(plan: Plan) -> None:
    urns = {r.urn for r in plan.resources}
    policy = next(r for r in plan.of_type("aws:s3/bucketPolicy:BucketPolicy"))
    assert policy.dependencies, "a bucket policy depends on its bucket"
    for resource in plan.resources:
        assert set(resource.dependencies) <= urns, resource.urn


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
