"""Destroy and rebuild safely: what holds data or keys survives `pulumi destroy`, and the trail has a break-glass path.

Pulumi's resource options (pulumi 3 SDK): `protect` makes the engine refuse to delete or replace a resource;
`retainOnDelete` skips the provider's delete when the resource leaves the stack. The boundary's deny of
`cloudtrail:DeleteTrail` would fail every destroy and trail replacement that tried to delete the trail.
"""

from __future__ import annotations

import copy
from pathlib import Path

from infra.plan.evaluate import evaluate_stack
from kernel.plan import Plan
from tests.helpers import outputs_of, shipped_settings, statements, write_stack

KEPT = (
    "aws:s3/bucket:Bucket",
    "aws:kms/key:Key",
    "aws:sagemaker/modelPackageGroup:ModelPackageGroup",
    "aws:sagemaker/featureGroup:FeatureGroup",
)


def test_data_keys_registry_and_features_are_protected_and_retained(plans: dict[str, Plan]) -> None:
    for stack, plan in plans.items():
        for token in KEPT:
            resources = plan.of_type(token)
            assert resources, (stack, token)
            for resource in resources:
                assert resource.options == {"protect": True, "retainOnDelete": True}, (stack, resource.name)
        (trail,) = plan.of_type("aws:cloudtrail/trail:Trail")
        assert trail.options == {"retainOnDelete": True}, "destroy and replacement never call DeleteTrail"
        unkept = [r for r in plan.resources if r.options.get("protect") and r.type not in KEPT]
        assert not unkept, "only what holds data or keys blocks a destroy"


def test_teardown_lifts_protection_but_keeps_the_data(tmp_path: Path, project_root: Path) -> None:
    settings = copy.deepcopy(shipped_settings(project_root, "dev"))
    settings["mlops:teardown"] = True
    write_stack(tmp_path, "dev", settings)
    plan = evaluate_stack("dev", tmp_path)
    for token in KEPT:
        assert all(r.options == {"retainOnDelete": True} for r in plan.of_type(token)), token


def test_only_the_break_glass_admin_may_delete_the_trail(plans: dict[str, Plan]) -> None:
    for stack, plan in plans.items():
        (boundary,) = [
            p for p in plan.of_type("aws:iam/policy:Policy") if p.inputs["name"] == f"mlops-{stack}-boundary"
        ]
        by_sid = {s["Sid"]: s for s in statements(boundary)}
        assert by_sid["DenyAuditTampering"]["Action"] == ["cloudtrail:StopLogging"], "nobody stops the trail"
        deletion = by_sid["DenyTrailDeletionButBreakGlass"]
        admin = f"arn:aws:iam::{outputs_of(plan)['role_arns']['github-deploy'].split(':')[4]}:role/mlops-{stack}-platform-admin"
        assert deletion["Action"] == ["cloudtrail:DeleteTrail"] and deletion["Resource"] == ["*"]
        assert deletion["Condition"] == {"ArnNotEquals": {"aws:PrincipalArn": admin}}
        if "platform-admin" not in outputs_of(plan)["role_arns"]:
            continue
        allows = [
            s
            for p in plan.of_type("aws:iam/policy:Policy")
            if p.inputs["name"].startswith(f"mlops-{stack}-platform-admin-access")
            for s in statements(p)
            if "cloudtrail:DeleteTrail" in s["Action"]
        ]
        assert [s["Resource"] for s in allows] == [[outputs_of(plan)["trail_arn"]]], "its own trail only"
