"""The rows of required.yaml, filled from one plan (and the registry stack's plan, for promotion across accounts)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from infra.sufficiency.documents import DEFAULT_KEY_POLICY, Documents
from infra.sufficiency.requirements import (
    Requirement,
    UnresolvableError,
    bucket_key,
    fill,
    load_required,
    principal_context,
    tag_context,
    tags_of,
)
from kernel import StackConfig
from kernel.naming import Naming
from kernel.plan import Plan
from kernel.program_stacks import PLATFORM_PROJECT, PROJECTS_PROJECT, project_stack

OIDC_PROVIDER = "token.actions.githubusercontent.com"
TRAIL = "aws:cloudtrail/trail:Trail"


@dataclass(frozen=True)
class StackFacts:
    """What one program's config view says that its plan does not carry.

    The GitHub repository, the state bucket and secrets key; the program's Pulumi project and stack (the state
    backend's paths), the GitHub environment its deploy jobs name, and the base of its resources' names.
    """

    github: str
    state_bucket: str | None
    secrets_key: str | None = None
    pulumi_project: str = PLATFORM_PROJECT
    stack: str = ""
    environment: str = ""
    deploy_environment: str = ""
    name_base: str = ""
    """`<prefix>-<env>` for the platform, `<prefix>-<env>-<project>` for a project: what its names start with."""
    program: str | None = None
    """The ML project of the view; None for the platform's."""

    @classmethod
    def of(cls, config: StackConfig) -> StackFacts:
        """The facts of a validated config view: the platform's (`load_stack_file`) or a project's."""
        identity = config.identity
        project = config.project
        naming = Naming(config.name_prefix, config.environment, config.account_id, config.region, project)
        return cls(
            github=f"{identity.github.org}/{identity.github.repo}",
            state_bucket=identity.state_bucket,
            secrets_key=identity.secrets_key_arn,
            pulumi_project=PROJECTS_PROJECT if project else PLATFORM_PROJECT,
            stack=project_stack(project, config.environment) if project else config.environment,
            environment=config.environment,
            deploy_environment=f"{config.environment}-{project}" if project else config.environment,
            name_base=naming.base,
            program=project,
        )


def hand_requirements(
    plan: Plan, docs: Documents, registry: Plan, registry_docs: Documents, facts: StackFacts
) -> list[Requirement]:
    """Every row of required.yaml that applies to this plan."""
    values = _values(plan, docs, registry, registry_docs, facts)
    rows: list[Requirement] = []
    for row in load_required():
        if not _applies(row, plan, docs, facts):
            continue
        try:
            rows += _row(row, values, plan, docs, registry, registry_docs)
        except UnresolvableError:
            continue  # the plan has no such resource (no endpoint until a model is pinned, no tracking...)
    return rows


def _values(plan: Plan, docs: Documents, registry: Plan, registry_docs: Documents, facts: StackFacts) -> dict[str, Any]:
    return {
        "stack": facts.stack,
        "project": facts.pulumi_project,
        "platform_project": PLATFORM_PROJECT,
        "environment": facts.environment,
        "deploy_environment": facts.deploy_environment,
        "state_bucket": facts.state_bucket,
        "secrets_key": facts.secrets_key,
        "region": docs.region,
        "account": docs.account,
        "out": plan.outputs,
        "github": facts.github,
        "tracking": _tracking_arn(plan, docs),
        "feature_group": next(iter(sorted(plan.outputs.get("feature_group_names", {}).values())), None),
        "trail_log_group": next(
            (t.inputs.get("cloudWatchLogsGroupArn", "").removesuffix(":*") for t in plan.of_type(TRAIL)), None
        )
        or None,
        "registry": {"account": registry_docs.account, "out": registry.outputs},
    }


def _tracking_arn(plan: Plan, docs: Documents) -> str | None:
    """The tracking service's ARN: the App's (from the plan), or the server's, which ends in its name."""
    for server in plan.of_type("aws:sagemaker/mlflowTrackingServer:MlflowTrackingServer"):
        name = server.inputs["trackingServerName"]
        return f"arn:aws:sagemaker:{docs.region}:{docs.account}:mlflow-tracking-server/{name}"
    return plan.outputs.get("tracking_arn") or None


def _applies(row: dict[str, Any], plan: Plan, docs: Documents, facts: StackFacts) -> bool:
    programs = row.get("program", "project")
    if programs != "both" and (programs == "project") != (facts.program is not None):
        return False
    if row.get("if_role") and row["principal"] not in docs.principals:
        return False
    if row.get("when_environment") and plan.outputs.get("environment") != row["when_environment"]:
        return False
    if row.get("when_not_registry") and plan.outputs.get("environment") == "dev":
        return False
    tracking = str(_tracking_arn(plan, docs) or "")
    return not (row.get("when_tracking") and f":{row['when_tracking']}/" not in tracking)


def _row(  # noqa: PLR0917 - one call site
    row: dict[str, Any], values: dict[str, Any], plan: Plan, docs: Documents, registry: Plan, registry_docs: Documents
) -> list[Requirement]:
    if "trust" in row:
        subject = fill(row["subject"], values)
        context = {
            "_principal": f"arn:aws:iam::{docs.account}:oidc-provider/{OIDC_PROVIDER}",
            f"{OIDC_PROVIDER}:sub": subject,
            f"{OIDC_PROVIDER}:aud": "sts.amazonaws.com",
        }
        return [
            Requirement(
                principal=f"github-oidc -> {row['trust']}",
                action="sts:AssumeRoleWithWebIdentity",
                resource=row["trust"],
                needed_by=f"{row['needed_by']} [sub {subject}]",
                source=row["source"],
                context=tuple(sorted(context.items())),
                trust=True,
            )
        ]
    resource = fill(row["resource"], values)
    cross = row.get("cross_account") == "registry"
    owner = registry_docs if cross else docs
    context = principal_context(docs, row["principal"], row["action"]) | tag_context(
        row["action"], tags_of(registry if cross else plan, resource)
    )
    policy = _owner_policy(resource, owner) if cross else None
    if row.get("default_key_policy"):
        policy = docs.name(DEFAULT_KEY_POLICY)
    rows = [
        Requirement(
            principal=row["principal"],
            action=row["action"],
            resource=resource,
            needed_by=row["needed_by"],
            source=row["source"],
            context=tuple(sorted(context.items())),
            resource_account=owner.account if cross else None,
            resource_policy=policy,
        )
    ]
    rows += _object_keys(rows[0], plan if not cross else registry, docs)
    return rows


def _owner_policy(resource: str, owner: Documents) -> str | None:
    if ":model-package/" in resource:
        group = resource.replace(":model-package/", ":model-package-group/").rsplit("/", 1)[0]
        return owner.resource_policies.get(group)
    return owner.resource_policies.get(resource)


def _object_keys(row: Requirement, plan: Plan, docs: Documents) -> list[Requirement]:
    """An object written to (or read from) an SSE-KMS bucket also uses the bucket's key, through S3."""
    if not row.resource.startswith("arn:aws:s3:::") or "/" not in row.resource.removeprefix("arn:aws:s3:::"):
        return []
    key = bucket_key(plan, row.resource.removeprefix("arn:aws:s3:::").split("/", 1)[0])
    verb = {"s3:PutObject": "kms:GenerateDataKey", "s3:GetObject": "kms:Decrypt"}.get(row.action)
    if key is None or verb is None:
        return []
    context = dict(row.context) | {
        "kms:ViaService": f"s3.{docs.region}.amazonaws.com",
        "kms:CallerAccount": docs.account,
    }
    return [
        Requirement(
            principal=row.principal,
            action=verb,
            resource=key,
            needed_by=f"{row.needed_by} (SSE-KMS by the bucket's default key)",
            source="Amazon S3 user guide, 'Permissions for SSE-KMS'",
            context=tuple(sorted(context.items())),
        )
    ]
