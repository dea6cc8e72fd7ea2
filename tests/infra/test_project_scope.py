"""Issue 21: an environment with two projects: each project's roles name only its own resources, fence off every
other project's, and its resources carry its tag; the platform's shared resources accept what projects send them.

The simulator-based proof that cross-project requests are denied is the sufficiency suite's (tests/sufficiency);
these tests pin what the documents say, on a plan of two projects (churn and a copy of it named fraud).
"""

from __future__ import annotations

import fnmatch
import json
import re
import shutil

import pytest

from infra.plan.evaluate import evaluate_stack
from kernel.plan import Plan, PlannedResource
from kernel.tags import PLATFORM
from tests.helpers import FIXTURE_STACKS, as_list, bucket_of, statements

PROJECTS = ("churn", "fraud")
ACCOUNT, REGION = "111111111111", "eu-west-1"
PLATFORM_ROLES = ("github-deploy", "github-preview", "platform-admin", "auditor", "trail-logs")
"""The platform's roles (`mlops-dev-<role>`): no project role may pass, assume or change them."""


@pytest.fixture(scope="module")
def two(tmp_path_factory: pytest.TempPathFactory) -> Plan:
    """Dev's environment plan with two projects: churn, and fraud (churn's folder under another name)."""
    root = tmp_path_factory.mktemp("two-projects")
    for name in ("Pulumi.yaml", "Pulumi.dev.yaml", "Pulumi.staging.yaml", "Pulumi.prod.yaml"):
        shutil.copy(FIXTURE_STACKS / name, root / name)
    shutil.copytree(FIXTURE_STACKS / "projects", root / "projects")
    shutil.copytree(root / "projects" / "churn", root / "projects" / "fraud")
    path = root / "projects" / "fraud" / "project.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("name: churn", "name: fraud", 1), encoding="utf-8")
    return evaluate_stack("dev", root)


def _names_in(statement: dict[str, object]) -> list[str]:
    """The blueprint's names a statement's resources and conditions mention (`mlops-dev-...`, `mlops_dev_...`)."""
    text = json.dumps({key: statement[key] for key in ("Resource", "Condition") if key in statement})
    return re.findall(r"mlops[-_/]dev[-_/][A-Za-z0-9_*./-]*", text)


def _project_policies(plan: Plan, project: str) -> list[PlannedResource]:
    return plan.of_project(project).of_type("aws:iam/policy:Policy")


def test_both_projects_are_planned_apart(two: Plan) -> None:
    assert two.projects == list(PROJECTS)
    assert {r.stack for r in two.resources} == {"dev", "churn-dev", "fraud-dev"}
    assert set(two.outputs["projects"]) == set(PROJECTS)


def test_no_project_role_names_another_projects_or_the_platforms_own_resources(two: Plan) -> None:
    """Every name an Allow statement of a project role mentions is the project's own; the one platform name is
    the permissions boundary its deploy role must attach to the roles it creates (iam:PermissionsBoundary)."""
    for project in PROJECTS:
        policies = _project_policies(two, project)
        assert len(policies) > 10, "execution roles, personas, deploy and preview roles"
        for policy in policies:
            for statement in statements(policy):
                if statement["Effect"] != "Allow":
                    continue
                for name in _names_in(statement):
                    own = re.match(rf"mlops[-_/]dev[-_/]{project}([-_/]|$)", name)
                    boundary = name == "mlops-dev-boundary" and "iam:PermissionsBoundary" in json.dumps(
                        statement.get("Condition", {})
                    )
                    assert own or boundary, (policy.inputs["name"], statement.get("Sid"), name)


def test_no_project_role_may_pass_or_change_a_platform_role(two: Plan) -> None:
    """No Allow statement of a project role that passes, creates or changes IAM roles matches a platform role."""
    platform_roles = [f"arn:aws:iam::{ACCOUNT}:role/mlops-dev-{role}" for role in PLATFORM_ROLES]
    for project in PROJECTS:
        for policy in _project_policies(two, project):
            for statement in statements(policy):
                changes = [
                    a
                    for a in as_list(statement.get("Action", []))
                    if (a == "*" or a.lower().startswith("iam:")) and not a.split(":")[-1].startswith(("Get", "List"))
                ]  # reading a role (the preview role's unscoped reads) changes nothing
                if statement["Effect"] != "Allow" or not changes:
                    continue
                for pattern in as_list(statement.get("Resource", [])):
                    matched = [role for role in platform_roles if fnmatch.fnmatchcase(role, pattern)]
                    assert not matched, (policy.inputs["name"], statement.get("Sid"), matched)


def test_every_project_role_is_fenced_off_the_other_projects_tags(two: Plan) -> None:
    """Each role of a project has a policy attached that denies everything on resources, and requests, tagged with
    another project (ABAC where an ARN has no name to scope): the project's tag and the platform's pass."""
    for project in PROJECTS:
        own = two.of_project(project)
        fenced = set()
        for policy in own.of_type("aws:iam/policy:Policy"):
            by_sid = {s.get("Sid"): s for s in statements(policy)}
            if "FenceOtherProjectsResources" not in by_sid:
                continue
            resources, requests = by_sid["FenceOtherProjectsResources"], by_sid["FenceOtherProjectsTags"]
            assert resources["Effect"] == requests["Effect"] == "Deny"
            assert as_list(resources["Action"]) == as_list(requests["Action"]) == ["*"]
            not_equal = resources["Condition"]["StringNotEquals"]["aws:ResourceTag/project"]
            assert sorted(as_list(not_equal)) == sorted([project, PLATFORM])
            assert as_list(requests["Condition"]["StringNotEquals"]["aws:RequestTag/project"]) == [project]
            fenced.add(f"arn:aws:iam::{ACCOUNT}:policy/{policy.inputs['name']}")
        attached: dict[str, set[str]] = {}
        for attachment in own.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment"):
            attached.setdefault(attachment.inputs["role"], set()).add(attachment.inputs["policyArn"])
        roles = [role.inputs["name"] for role in own.of_type("aws:iam/role:Role")]
        assert len(roles) == 13, roles
        for role in roles:
            assert attached.get(role, set()) & fenced, f"{role} has no fence attached"


def test_every_taggable_resource_carries_its_projects_tag(two: Plan) -> None:
    for resource in two.resources:
        tags = resource.inputs.get("tags")
        if not isinstance(tags, dict) or "environment" not in tags:
            continue
        assert tags.get("project") == (resource.ml_project or PLATFORM), resource.urn


def test_the_platforms_access_log_bucket_accepts_every_projects_logs(two: Plan) -> None:
    """S3 server access logging delivers as `logging.s3.amazonaws.com` (S3 user guide, "Enabling Amazon S3
    server access logging": the target bucket's policy grants it s3:PutObject, scoped by aws:SourceAccount and
    optionally aws:SourceArn). Each project logs under its own prefix, and the policy admits its buckets."""
    log_bucket = two.outputs["bucket_names"]["access-logs"]
    policy = next(
        p for p in two.of_project(None).of_type("aws:s3/bucketPolicy:BucketPolicy") if p.inputs["bucket"] == log_bucket
    )
    (delivery,) = [s for s in statements(policy) if s.get("Sid") == "S3ServerAccessLogsDelivery"]
    for project in PROJECTS:
        loggings = two.of_project(project).of_type("aws:s3/bucketLogging:BucketLogging")
        assert len(loggings) == 5, "raw, features, artifacts, capture, monitoring"
        for logging in loggings:
            source = bucket_of(two, logging.inputs["bucket"])
            assert logging.inputs["targetBucket"] == log_bucket
            prefix = logging.inputs["targetPrefix"]
            assert prefix == f"{project}/{source.inputs['tags']['purpose']}/", "a project's logs apart"
            key = f"arn:aws:s3:::{log_bucket}/{prefix}2026-11-29-07-00-00-ABCDEF"
            assert any(fnmatch.fnmatchcase(key, r) for r in as_list(delivery["Resource"]))
            condition = delivery["Condition"]
            assert condition["StringEquals"]["aws:SourceAccount"] == ACCOUNT
            source_arns = as_list(condition.get("ArnLike", {}).get("aws:SourceArn", "*"))
            assert any(fnmatch.fnmatchcase(f"arn:aws:s3:::{source.inputs['bucket']}", a) for a in source_arns)


def test_project_endpoint_log_groups_may_use_the_platforms_logs_key(two: Plan) -> None:
    """CloudWatch Logs encrypts a group with a KMS key only when the key policy allows `logs.<region>` with the
    group's ARN as encryption context (CloudWatch Logs user guide, "Encrypt log data using AWS KMS")."""
    (logs_key,) = [k for k in two.of_project(None).of_type("aws:kms/key:Key") if k.inputs["tags"]["purpose"] == "logs"]
    (allow,) = [s for s in statements(logs_key) if s.get("Sid") == "CloudWatchLogsEncrypt"]
    assert allow["Principal"] == {"Service": f"logs.{REGION}.amazonaws.com"}
    pattern = allow["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"]
    for project in PROJECTS:
        group = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/sagemaker/Endpoints/mlops-dev-{project}-model"
        assert fnmatch.fnmatchcase(group, pattern), project
