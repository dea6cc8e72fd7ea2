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
from tests.cli.helpers import run


def test_shipped_stacks_pass_every_rule(
    plan: Plan, stack: str, platform_configs: dict[str, StackConfig], configs: dict[str, StackConfig]
) -> None:
    """Each stack of the environment passes with its own view: the platform's, and churn's."""
    assert check_plan(plan, platform_configs[stack], {"churn": configs[stack]}) == []


def test_each_stack_is_judged_by_its_own_budget(
    plans: dict[str, Plan], platform_configs: dict[str, StackConfig], configs: dict[str, StackConfig]
) -> None:
    """A project's idle cost counts against the project's budget, not the platform's (and not the sum)."""
    import dataclasses

    churn = configs["prod"]
    tight = churn.model_copy(update={"cost": churn.cost.model_copy(update={"monthly_budget_usd": 100.0})})
    found = check_plan(plans["prod"], platform_configs["prod"], {"churn": tight})
    assert [(v.rule.id, v.message.split(" exceeds")[0]) for v in found] == [
        ("cost-idle-within-budget", "idle cost $690.10/month")
    ], [dataclasses.asdict(v.rule)["id"] for v in found]
    assert "the prod budget of $100.00" in found[0].message


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
    platform = plan.of_project(None).resources  # CrossGuard sees one stack: the platform's `pulumi up`
    without_trail = [_policy_resource(r) for r in platform if r.type != "aws:cloudtrail/trail:Trail"]
    stack_reports: list[tuple[str, str | None]] = []
    trail_rule.validate(
        StackValidationArgs(without_trail, config["cloudtrail-validated-encrypted"]),
        lambda m, u: stack_reports.append((m, u)),
    )  # type: ignore[misc, union-attr]
    assert stack_reports and stack_reports[0][0].startswith("the stack has no CloudTrail trail")
    project_reports: list[tuple[str, str | None]] = []
    trail_rule.validate(
        StackValidationArgs(
            [_policy_resource(r) for r in plan.of_project("churn").resources], config["cloudtrail-validated-encrypted"]
        ),
        lambda m, u: project_reports.append((m, u)),
    )  # type: ignore[misc, union-attr]
    assert project_reports == [], "churn's stack (told apart by its project tag) is audited by the platform's trail"


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


def test_crossguard_judges_a_project_stack_with_the_project_view() -> None:
    """CrossGuard names no stack: the pack tells a project's stack by its resources' `project` tag."""
    from policies.crossguard import _context, ml_project

    assert ml_project([{"tags": {"project": "churn"}}, {"tags": {"project": "churn"}}, {}]) == "churn"
    assert ml_project([{"tags": {"project": "platform"}}, {"name": "untagged"}]) is None
    project = _context({"environment": "prod"}, "churn")
    platform = _context({"environment": "prod"}, None)
    assert (project.program, project.config.project) == ("project", "churn")
    assert (platform.program, platform.config.project) == ("platform", None)
    assert project.config.serving.min_instances >= 2, "churn's prod serving, from its project file"
