"""RBAC and keyless CI: execution roles, personas, GitHub OIDC roles, boundary and guardrails."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from infra.iam.arns import Arns
from infra.iam.boundary import boundary_statements
from infra.iam.deployer import (
    OIDC_HOST,
    deployer_statements,
    preview_statements,
    secrets_provider_statements,
    state_backend_statements,
)
from infra.iam.guardrails import sagemaker_guardrails
from infra.iam.personas import persona_statements
from infra.iam.project_scope import project_deployer_statements, project_preview_statements
from infra.iam.review_scope import review_deployer_statements, review_fence, review_state_statements
from infra.iam.roles import CI_ROLES, PERSONAS, WORKLOADS, Persona, ReviewRole, RoleKey
from infra.iam.workloads import workload_statements
from infra.policy_document import Statement, chunk_statements, policy_json
from kernel.models import GithubConfig, PersonasConfig, StackConfig
from kernel.naming import Naming
from kernel.program_stacks import PLATFORM_PROJECT, PROJECTS_PROJECT, project_stack
from kernel.review import SWEEP_ENVIRONMENT
from kernel.types import Environment

SESSION_SECONDS = 3600
MAIN_BRANCH = "main"
"""Scheduled and manually dispatched runs (drift-check) run on the default branch: GitHub's OIDC
subject for them is `repo:<org>/<repo>:ref:refs/heads/<branch>` when the job names no environment."""
MANAGED_POLICY_LIMIT = 6_144
"""IAM's size limit of a managed policy (characters, whitespace not counted)."""

_PERSONA_FIELDS: dict[Persona, str] = {
    "data-scientist": "data_scientists",
    "data-engineer": "data_engineers",
    "ml-engineer": "ml_engineers",
    "model-approver": "model_approvers",
    "platform-admin": "platform_admins",
    "auditor": "auditors",
}


@dataclass(frozen=True)
class IdentityArgs:
    """Inputs of `Identity`."""

    naming: Naming
    tags: Mapping[str, str]
    environment: Environment
    github: GithubConfig
    personas: PersonasConfig
    state_bucket: str | None
    allowed_instance_types: Sequence[str]
    require_network_isolation: bool
    models_outside_vpc: Sequence[str] = ()
    """Model ARN patterns exempt from the VPC and isolation guardrails (dev's serverless endpoint only)."""
    training_bus_arn: str | None = None
    """The event bus (dev's) the automation role forwards drift to; None where models are trained."""
    trail_arn: str = ""
    """The audit trail (its ARN is derived from its name): the only principal of the trail-logs role."""
    trail_log_group: str = ""
    """The CloudWatch Logs group the trail delivers to."""
    secrets_key_arn: str | None = None
    """The Pulumi secrets provider's KMS key (created at bootstrap, outside the stack)."""
    roles: Sequence[RoleKey] | None = None
    """The roles to create (all when None): the platform's, or a project's (see `PLATFORM_ROLES`)."""
    platform_boundary_arn: str | None = None
    """A project's roles carry the platform's boundary (its ARN); None: this stack creates the boundary."""
    deploy_environment: str | None = None
    """The GitHub environment whose jobs may assume the deploy role (default: the stack's environment)."""
    fence: Sequence[Statement] = ()
    """Statements added to every role's access: a project's ABAC fence."""
    jobs_extra: Sequence[Statement] = ()
    """Statements added to the jobs role: a project's Spark ingestion (`workloads.spark_ingestion`)."""

    @classmethod
    def of(cls, naming: Naming, tags: Mapping[str, str], config: StackConfig, **scope: Any) -> IdentityArgs:
        """The arguments both programs take from the stack's settings, completed by their own `scope`.

        `scope`: `roles`, `models_outside_vpc`, the platform's trail, or a project's boundary, fence and deploy
        environment.
        """
        return cls(
            naming=naming,
            tags=tags,
            environment=config.environment,
            github=config.identity.github,
            personas=config.identity.personas,
            state_bucket=config.identity.state_bucket,
            secrets_key_arn=config.identity.secrets_key_arn,
            allowed_instance_types=config.allowed_instance_types,
            require_network_isolation=config.guardrails.require_network_isolation,
            **scope,
        )


PLATFORM_ROLES: tuple[RoleKey, ...] = ("platform-admin", "auditor", "github-deploy", "github-preview", "trail-logs")
"""The platform's roles; every other role belongs to a project."""
REVIEW_ROLE: ReviewRole = "github-review"
"""Dev's platform role that deploys and destroys review stacks (kernel/review.py), trusted by pull requests only."""
REVIEW_STACK_ROLES: tuple[RoleKey, ...] = (*WORKLOADS, "automation")
"""A review stack's own roles: its jobs' and schedules'; no personas, and the review role deploys it."""
PROJECT_ROLES: tuple[RoleKey, ...] = (
    *(workload for workload in WORKLOADS),
    *(persona for persona in PERSONAS if persona not in PLATFORM_ROLES),
    "automation",
    "github-deploy",
    "github-preview",
)


def role_names(naming: Naming) -> dict[str, str]:
    """The IAM name of every role the blueprint may create in this environment."""
    keys = (*WORKLOADS, *PERSONAS, *CI_ROLES, REVIEW_ROLE, "automation", "trail-logs")
    return {key: naming.iam(key) for key in keys}


class Identity(pulumi.ComponentResource):
    """Who may do what in one environment, with no long-lived keys.

    Every role carries the permissions boundary and the SageMaker guardrail policy. Execution roles
    trust only SageMaker in this account; persona roles trust only the principals named in config
    (a persona without principals gets no role); the GitHub deploy role trusts only
    `repo:<org>/<repo>:environment:<env>` and the read-only preview role only pull requests of
    that repository and runs on its main branch (drift-check's schedule presents
    `repo:<org>/<repo>:ref:refs/heads/main`).
    """

    roles: dict[RoleKey, aws.iam.Role]
    role_arns: dict[RoleKey, pulumi.Output[str]]
    boundary_arn: pulumi.Output[str]

    def __init__(self, name: str, args: IdentityArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:identity:Identity", name, None, opts)
        self._name = name
        self._args = args
        self._arns = Arns(args.naming)
        self._names = role_names(args.naming)
        self._wanted = set(args.roles if args.roles is not None else role_names(args.naming))
        guardrails = sagemaker_guardrails(
            args.allowed_instance_types, args.require_network_isolation, args.models_outside_vpc
        )
        if args.platform_boundary_arn is None:
            platform = Arns(args.naming.platform)
            platform_names = role_names(args.naming.platform)
            self._boundary_policy_arn = platform.policy(args.naming.iam("boundary"))
            admins = [platform.role(platform_names[key]) for key in ("github-deploy", "platform-admin")]
            reviewer = [platform.role(platform_names[REVIEW_ROLE])] if REVIEW_ROLE in self._wanted else []
            boundary = self._policy(
                "boundary",
                "Permissions boundary of every role of this environment",
                boundary_statements(
                    platform,
                    self._boundary_policy_arn,
                    admins,
                    guardrails,
                    platform.role(f"{args.naming.base}-*-pipeline"),
                    break_glass=platform.role(platform_names["platform-admin"]),
                    key_destroyers=reviewer,
                ),
            )
            self.boundary_arn = boundary.arn
        else:
            self._boundary_policy_arn = args.platform_boundary_arn
            self.boundary_arn = pulumi.Output.from_input(args.platform_boundary_arn)
        self._guardrails = self._policy("guardrails", "SageMaker guardrails: VPC, KMS, isolation, sizes", guardrails)
        self.roles = {}
        self._execution_roles()
        self._automation_role()
        self._trail_logs_role()
        self._persona_roles()
        self._github_roles()
        self.role_arns = {key: role.arn for key, role in self.roles.items()}
        self.register_outputs({"role_arns": self.role_arns, "boundary_arn": self.boundary_arn})

    def _policy(self, purpose: str, description: str, statements: list[Statement]) -> aws.iam.Policy:
        """A managed policy of this environment (access policies are split to fit the size limit)."""
        return aws.iam.Policy(
            f"{self._name}-{purpose}",
            name=self._args.naming.iam(purpose),
            description=description,
            policy=policy_json(*statements),
            tags=dict(self._args.tags),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _role(self, key: RoleKey, description: str, trust: Statement, access: list[Statement]) -> None:
        if key not in self._wanted:
            return
        access = [*self._args.fence, *access]  # first: the fence's two statements stay in one policy
        child = pulumi.ResourceOptions(parent=self)
        role = aws.iam.Role(
            f"{self._name}-{key}",
            name=self._names[key],
            description=description,
            assume_role_policy=policy_json(trust),
            permissions_boundary=self.boundary_arn,
            max_session_duration=SESSION_SECONDS,
            tags={**self._args.tags, "role-kind": key},
            opts=child,
        )
        chunks = chunk_statements(access, MANAGED_POLICY_LIMIT)
        attached = {"guardrails": self._guardrails}
        for index, chunk in enumerate(chunks, start=1):
            purpose = f"{key}-access-{index}"
            attached[purpose] = self._policy(purpose, f"Access of {self._names[key]} ({index}/{len(chunks)})", chunk)
        for purpose, policy in attached.items():
            aws.iam.RolePolicyAttachment(
                f"{self._name}-{key}-{purpose.removeprefix(key + '-')}",
                role=role.name,
                policy_arn=policy.arn,
                opts=child,
            )
        self.roles[key] = role

    def _execution_roles(self) -> None:
        trust = Statement(
            sid="SageMakerInThisAccount",
            principals={"Service": "sagemaker.amazonaws.com"},
            actions=["sts:AssumeRole"],
            conditions={"StringEquals": {"aws:SourceAccount": self._args.naming.account_id}},
        )
        for workload in WORKLOADS:
            self._role(
                workload,
                f"SageMaker execution role: {workload}",
                trust,
                [
                    *workload_statements(workload, self._arns, self._names),
                    *(self._args.jobs_extra if workload == "jobs" else ()),
                ],
            )

    def _automation_role(self) -> None:
        arns = self._arns
        trust = Statement(
            sid="SchedulesAndRulesInThisAccount",
            principals={"Service": ["scheduler.amazonaws.com", "events.amazonaws.com"]},
            actions=["sts:AssumeRole"],
            conditions={"StringEquals": {"aws:SourceAccount": self._args.naming.account_id}},
        )
        access = [
            Statement(
                sid="StartPipelines",
                actions=["sagemaker:StartPipelineExecution"],
                resources=[arns.sagemaker("pipeline")],
            ),
            Statement(
                sid="CallPromotionHook",
                actions=["events:InvokeApiDestination"],
                resources=[arns.regional("events", f"api-destination/{self._args.naming.base}-*/*")],
            ),
        ]
        if self._args.training_bus_arn:
            access.append(
                Statement(
                    sid="ForwardDriftToTrainingAccount",
                    actions=["events:PutEvents"],
                    resources=[self._args.training_bus_arn],
                )
            )
        self._role("automation", "Starts the drift and training pipelines on schedules and alarms", trust, access)

    def _trail_logs_role(self) -> None:
        """CloudTrail writes the trail's events into its log group: create streams and put events, nothing else.

        CloudTrail user guide, "Sending events to CloudWatch Logs": the role trusts cloudtrail.amazonaws.com
        and allows logs:CreateLogStream and logs:PutLogEvents on the group's streams.
        """
        args = self._args
        if not args.trail_arn:
            return
        trust = Statement(
            sid="ThisTrailOnly",
            principals={"Service": "cloudtrail.amazonaws.com"},
            actions=["sts:AssumeRole"],
            conditions={"StringEquals": {"aws:SourceArn": args.trail_arn}},
        )
        streams = self._arns.log_group(f"{args.trail_log_group}:log-stream:*")
        access = [
            Statement(
                sid="DeliverTrailEvents", actions=["logs:CreateLogStream", "logs:PutLogEvents"], resources=[streams]
            )
        ]
        self._role("trail-logs", "CloudTrail: delivers the trail to its CloudWatch Logs group", trust, access)

    def _persona_roles(self) -> None:
        args = self._args
        for persona in PERSONAS:
            principals: list[str] = getattr(args.personas, _PERSONA_FIELDS[persona])
            if not principals:
                continue
            trust = Statement(sid="NamedPrincipals", principals={"AWS": principals}, actions=["sts:AssumeRole"])
            access = persona_statements(persona, args.environment, self._arns, self._names, self._boundary_policy_arn)
            if persona == "platform-admin":
                access += self._state_backend(writable=True)
            self._role(persona, f"Persona: {persona} ({args.environment})", trust, access)

    def _github_roles(self) -> None:
        args = self._args
        provider_arn: pulumi.Input[str] = f"arn:aws:iam::{args.naming.account_id}:oidc-provider/{OIDC_HOST}"
        if args.github.create_oidc_provider and args.platform_boundary_arn is None:
            provider = aws.iam.OpenIdConnectProvider(
                f"{self._name}-github-oidc",
                url=f"https://{OIDC_HOST}",
                client_id_lists=["sts.amazonaws.com"],
                tags=dict(args.tags),
                opts=pulumi.ResourceOptions(parent=self),
            )
            provider_arn = provider.arn
        repo = f"repo:{args.github.org}/{args.github.repo}"
        subjects: dict[str, str | list[str]] = {
            "github-deploy": f"{repo}:environment:{args.deploy_environment or args.environment}",
            "github-preview": [f"{repo}:pull_request", f"{repo}:ref:refs/heads/{MAIN_BRANCH}"],
        }
        access = {
            "github-deploy": (
                deployer_statements(self._arns, self._boundary_policy_arn)
                if args.platform_boundary_arn is None
                else project_deployer_statements(self._arns, self._boundary_policy_arn)
            )
            + self._state_backend(True),
            "github-preview": (
                preview_statements(self._arns)
                if args.platform_boundary_arn is None
                else project_preview_statements(self._arns)
            )
            + self._state_backend(False),
        }
        for key in CI_ROLES:
            trust = Statement(
                sid="GithubActionsOidc",
                principals={"Federated": provider_arn},
                actions=["sts:AssumeRoleWithWebIdentity"],
                conditions={
                    "StringEquals": {f"{OIDC_HOST}:aud": "sts.amazonaws.com", f"{OIDC_HOST}:sub": subjects[key]}
                },
            )
            subject = subjects[key]
            described = subject if isinstance(subject, str) else " or ".join(subject)
            self._role(key, f"GitHub Actions: {described}", trust, access[key])
        self._review_role(provider_arn, repo)

    def _review_role(self, provider_arn: pulumi.Input[str], repo: str) -> None:
        """Deploys and destroys review stacks: trusted by this repository's pull request jobs and its sweep job only.

        GitHub issues no OIDC token to a pull request from a fork (its `GITHUB_TOKEN` is read-only and
        `id-token: write` is not granted), so only branches of this repository can assume it. The scheduled sweep
        names the `review-sweep` environment, whose subject nothing else presents.
        """
        bucket, key = self._args.state_bucket, self._args.secrets_key_arn
        subjects = [f"{repo}:pull_request", f"{repo}:environment:{SWEEP_ENVIRONMENT}"]
        trust = Statement(
            sid="GithubActionsOidc",
            principals={"Federated": provider_arn},
            actions=["sts:AssumeRoleWithWebIdentity"],
            conditions={"StringEquals": {f"{OIDC_HOST}:aud": "sts.amazonaws.com", f"{OIDC_HOST}:sub": subjects}},
        )
        access = [
            *review_fence(),
            *review_deployer_statements(self._args.naming, self._boundary_policy_arn),
            *(review_state_statements(bucket) if bucket else []),
            *(secrets_provider_statements(key, True) if key else []),
        ]
        self._role(REVIEW_ROLE, f"GitHub Actions: {' or '.join(subjects)}; review stacks only", trust, access)

    def _state_backend(self, writable: bool) -> list[Statement]:
        bucket, key = self._args.state_bucket, self._args.secrets_key_arn
        naming = self._args.naming
        # A project's CI roles reach only their own stack's state, and read the platform's (StackReference).
        own = (PROJECTS_PROJECT, project_stack(naming.project, naming.environment)) if naming.project else None
        reads = ((PLATFORM_PROJECT, naming.environment),) if naming.project else ()
        return (state_backend_statements(bucket, writable, own, reads) if bucket else []) + (
            secrets_provider_statements(key, writable) if key else []
        )
