"""Least privilege: no wildcard writes, no AWS-managed full-access policies, bounded roles, pinned OIDC trust."""

from __future__ import annotations

import re
from collections.abc import Iterable

from infra.iam.actions import UNSCOPED_CONTAINER, UNSCOPED_METRICS, UNSCOPED_MLFLOW_UI
from infra.iam.deployer import UNSCOPED_DEPLOY
from policies.model import Context, Resource, Rule
from policies.registry import register
from policies.rules.common import as_list, is_read

UNSCOPED_WRITES = {*UNSCOPED_CONTAINER, *UNSCOPED_METRICS, *UNSCOPED_MLFLOW_UI, *UNSCOPED_DEPLOY}
"""Writes AWS offers no resource-level permission for (documented in infra/iam)."""
OIDC = "token.actions.githubusercontent.com"


def _wildcards(resource: Resource, context: Context) -> Iterable[str]:
    document = resource.json("policy") or {}
    if resource.props.get("name", "").endswith("-boundary"):
        return  # a permissions boundary is a ceiling, not a grant
    for statement in as_list(document.get("Statement", [])):
        if statement.get("Effect") != "Allow":
            continue
        actions = as_list(statement.get("Action", []))
        if "NotAction" in statement or "*" in actions:
            yield f"statement {statement.get('Sid', '?')} allows every action"
            continue
        if "*" in as_list(statement.get("Resource", [])):
            writes = [
                a for a in actions if not is_read(a) and a not in UNSCOPED_WRITES and a != "athena:StartQueryExecution"
            ]
            if writes:
                yield f"statement {statement.get('Sid', '?')} allows {', '.join(writes)} on every resource"


register(
    Rule(
        id="iam-no-wildcard-writes",
        family="identity",
        description="No IAM policy allows every action, or a write on every resource where AWS can scope it.",
        why="A wildcard write is one compromised credential away from the whole account.",
        fix="Name the actions and the resource ARNs; see infra/iam for the few documented exceptions.",
        control="Security Hub IAM.1, IAM.21",
        types=("aws:iam/policy:Policy", "aws:iam/rolePolicy:RolePolicy"),
        check=_wildcards,
    )
)


def _managed_full_access(resource: Resource, context: Context) -> Iterable[str]:
    arns = [resource.props.get("policyArn"), *(resource.props.get("managedPolicyArns") or [])]
    for arn in filter(None, arns):
        if re.match(r"^arn:aws[\w-]*:iam::aws:policy/.*(FullAccess|AdministratorAccess|PowerUserAccess)", str(arn)):
            yield f"attaches the AWS-managed {str(arn).rsplit('/', 1)[1]}"


register(
    Rule(
        id="iam-no-managed-full-access",
        family="identity",
        description="No role carries an AWS-managed *FullAccess, AdministratorAccess or PowerUserAccess policy.",
        why="Managed full-access policies grant every action of a service on every resource.",
        fix="Attach the blueprint's scoped policies (infra/iam) instead.",
        control="Security Hub IAM.1",
        types=("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "aws:iam/role:Role"),
        check=_managed_full_access,
    )
)


def _boundary(resource: Resource, context: Context) -> Iterable[str]:
    if not resource.props.get("permissionsBoundary"):
        yield "the role has no permissions boundary"


register(
    Rule(
        id="iam-role-boundary",
        family="identity",
        description="Every role the blueprint creates carries the permissions boundary.",
        why="The boundary keeps guardrails (region lock, no long-lived keys, SageMaker denies) on every role.",
        fix="Set permissions_boundary to the environment's boundary policy.",
        control="AWS best practice: permissions boundaries for delegated role creation",
        types=("aws:iam/role:Role",),
        check=_boundary,
    )
)


PINNED_SUBJECT = r"repo:(?P<repo>[\w.-]+/[\w.-]+):(environment:[\w.-]+|pull_request|ref:refs/heads/[\w.-]+)"
"""GitHub's `sub` for a job naming an environment, a pull request, or a run on one named branch."""


def _oidc_trust(resource: Resource, context: Context) -> Iterable[str]:
    document = resource.json("assumeRolePolicy") or {}
    for statement in as_list(document.get("Statement", [])):
        federated = str((statement.get("Principal") or {}).get("Federated", ""))
        if OIDC not in federated:
            continue
        equals = (statement.get("Condition") or {}).get("StringEquals", {})
        subjects = [str(s) for s in as_list(equals.get(f"{OIDC}:sub", ""))]
        if equals.get(f"{OIDC}:aud") != "sts.amazonaws.com":
            yield "the GitHub OIDC trust does not pin the audience to sts.amazonaws.com"
        matches = [re.fullmatch(PINNED_SUBJECT, subject) for subject in subjects]
        if not all(matches) or len({m.group("repo") for m in matches if m}) != 1:
            yield f"the GitHub OIDC trust does not pin one repository and environment (sub={subjects!r})"


register(
    Rule(
        id="oidc-trust-pinned",
        family="identity",
        description=(
            "A role trusted by GitHub OIDC names exactly one repository and, exactly, its environment, "
            "its pull requests or one branch."
        ),
        why="An unpinned trust lets any GitHub repository assume the role.",
        fix="Use StringEquals on token.actions.githubusercontent.com:sub = repo:<org>/<repo>:environment:<env>.",
        control="AWS/GitHub guidance for OIDC federation",
        types=("aws:iam/role:Role",),
        check=_oidc_trust,
    )
)
