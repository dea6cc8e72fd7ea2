"""The pack on the blueprint's own stacks, through CrossGuard's API and offline, and its generated files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pulumi_policy import PolicyResource, PolicyResourceOptions, ResourceValidationArgs, StackValidationArgs

from kernel import StackConfig
from kernel.plan import Plan
from policies.catalogue import CATALOGUE, render
from policies.check import check_plan
from policies.crossguard import policies
from policies.enforcement import config_path, level, render_pack_config
from policies.registry import all_rules
from tests.cli.test_cli import run


def test_shipped_stacks_pass_every_rule(plan: Plan, config: StackConfig) -> None:
    assert check_plan(plan, config) == []


def test_enforcement_is_advisory_in_dev_and_mandatory_in_prod() -> None:
    rules = {rule.id: rule for rule in all_rules()}
    assert level(rules["sagemaker-prod-two-instances"], "dev") == "advisory"
    assert level(rules["sagemaker-prod-two-instances"], "prod") == "mandatory"
    assert level(rules["s3-bucket-kms-encryption"], "dev") == "mandatory", "secure defaults stay mandatory in dev"
    assert all(level(rule, "prod") == "mandatory" for rule in rules.values())


def test_generated_files_are_current(configs: dict[str, StackConfig]) -> None:
    assert CATALOGUE.read_text() == render(), "run `mlops policy docs`"
    for environment, config in configs.items():
        expected = render_pack_config(all_rules(), environment, list(config.allowed_instance_types))
        assert config_path(environment).read_text() == expected, "run `mlops policy config`"


def _policy_resource(resource: Any) -> PolicyResource:
    return PolicyResource(
        resource.type,
        resource.inputs,
        resource.urn,
        resource.name,
        PolicyResourceOptions(False, [], False, [], None, []),
        None,
        None,
        [],
        {},
    )  # type: ignore[arg-type]


def test_crossguard_policies_report_what_the_offline_check_finds(plans: dict[str, Plan]) -> None:
    """Break two things in the prod plan; the CrossGuard adapters must report both, at their urns."""
    plan = plans["prod"]
    config = json.loads(config_path("prod").read_text())
    resources = []
    for resource in plan.resources:
        inputs = dict(resource.inputs)
        if resource.type == "aws:kms/key:Key" and inputs["tags"]["purpose"] == "logs":
            inputs["enableKeyRotation"] = False
        resources.append((resource, inputs))
    reported: list[tuple[str, str | None]] = []
    by_name = {policy.name: policy for policy in policies()}
    key = next(r for r, _ in resources if r.type == "aws:kms/key:Key" and r.inputs["tags"]["purpose"] == "logs")
    rotation = by_name["kms-key-rotation"]
    for resource, inputs in resources:
        args = ResourceValidationArgs(
            resource.type, inputs, resource.urn, resource.name, None, None, config["kms-key-rotation"]
        )  # type: ignore[arg-type]
        rotation.validate(args, lambda message, urn: reported.append((message, urn)))  # type: ignore[misc, union-attr]
    assert reported == [("key rotation is off. Fix: Set enable_key_rotation=True on the key.", key.urn)]
    trail_rule = by_name["cloudtrail-validated-encrypted"]
    without_trail = [_policy_resource(r) for r in plan.resources if r.type != "aws:cloudtrail/trail:Trail"]
    stack_reports: list[tuple[str, str | None]] = []
    trail_rule.validate(
        StackValidationArgs(without_trail, config["cloudtrail-validated-encrypted"]),
        lambda m, u: stack_reports.append((m, u)),
    )  # type: ignore[misc, union-attr]
    assert stack_reports and stack_reports[0][0].startswith("the stack has no CloudTrail trail")


def test_cli_check_exits_non_zero_on_a_mandatory_violation(
    plans: dict[str, Plan], tmp_path: Path, project_root: Path
) -> None:
    clean = tmp_path / "clean.json"
    plans["prod"].write(clean)
    ok = run("policy", "check", "--plan", str(clean), cwd=project_root)
    assert ok.returncode == 0, ok.stderr
    assert "prod: " in ok.stdout and "pass every rule" in ok.stdout
    document = json.loads(clean.read_text())
    for resource in document["resources"]:
        if resource["type"] == "aws:sagemaker/featureGroup:FeatureGroup":
            resource["inputs"]["onlineStoreConfig"]["securityConfig"] = {}
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(document))
    failed = run("policy", "check", "--plan", str(broken), cwd=project_root)
    assert failed.returncode == 1
    assert "feature-store-kms" in failed.stdout and "online store is not KMS-encrypted" in failed.stdout
    assert "Traceback" not in failed.stderr
