"""The model registry: a model package group per model, readable by the accounts that deploy from it."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.policy_document import Statement, policy_json
from kernel.naming import Naming

DEPLOYING_ACCOUNT_ACTIONS = [
    "sagemaker:DescribeModelPackage",
    "sagemaker:DescribeModelPackageGroup",
    "sagemaker:ListModelPackages",
    "sagemaker:CreateModel",
]
"""What a deploying account may do with this group's packages: read them, and create a model from
one (SageMaker developer guide, "Deploy a Model Version from a Different Account": the owner's
group policy grants `sagemaker:CreateModel` on the packages). Never update or delete them."""


def package_state_changes(group_name: str, **detail: list[str]) -> str:
    """EventBridge pattern for state changes of a group's model packages, narrowed by `detail` fields."""
    return json.dumps(
        {
            "source": ["aws.sagemaker"],
            "detail-type": ["SageMaker Model Package State Change"],
            "detail": {"ModelPackageGroupName": [group_name], **detail},
        }
    )


@dataclass(frozen=True)
class PromotionHook:
    """Where approvals are sent: a GitHub `repository_dispatch` that starts the promote-model workflow."""

    repository: str
    """`<org>/<repo>` of the fork."""
    token: pulumi.Input[str]
    """A GitHub token allowed to create repository dispatches (a Pulumi secret: `github:dispatchToken`)."""
    role_arn: pulumi.Input[str]
    """The automation role, which may invoke this environment's API destinations."""
    key_arn: pulumi.Input[str]
    """KMS key that encrypts the stored token."""


@dataclass(frozen=True)
class RegistryArgs:
    """Inputs of `Registry`."""

    naming: Naming
    tags: Mapping[str, str]
    model_name: str
    """Short model name; the group is `<prefix>-<env>-<model_name>`."""
    description: str
    reader_accounts: Sequence[str]
    """Accounts that deploy packages of this group (staging, prod): they may read, never write."""
    alerts_topic_arn: pulumi.Input[str]
    promotion_hook: PromotionHook | None = None


class Registry(pulumi.ComponentResource):
    """A model package group, its cross-account read policy, and the approval-change event route.

    Packages enter as PendingManualApproval and are approved by the model-approver persona. Every
    approval change is an EventBridge event, routed to the alerts topic (people) and available on the
    default bus for the promotion hook (`mlops:registry:Registry` exports the rule name).
    """

    group_name: pulumi.Output[str]
    group_arn: pulumi.Output[str]
    approval_rule_name: pulumi.Output[str]

    def __init__(self, name: str, args: RegistryArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:registry:Registry", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        group_name = args.naming.sagemaker(args.model_name)
        group = aws.sagemaker.ModelPackageGroup(
            f"{name}-{args.model_name}",
            model_package_group_name=group_name,
            model_package_group_description=args.description,
            tags=dict(args.tags),
            opts=child,
        )
        if args.reader_accounts:
            naming = args.naming
            packages = f"arn:aws:sagemaker:{naming.region}:{naming.account_id}:model-package/{group_name}/*"
            aws.sagemaker.ModelPackageGroupPolicy(
                f"{name}-{args.model_name}-readers",
                model_package_group_name=group.model_package_group_name,
                resource_policy=policy_json(
                    Statement(
                        sid="DeployingAccountsRead",
                        principals={"AWS": [f"arn:aws:iam::{account}:root" for account in args.reader_accounts]},
                        actions=DEPLOYING_ACCOUNT_ACTIONS,
                        resources=[group.arn, packages],
                    )
                ),
                opts=child,
            )
        rule = aws.cloudwatch.EventRule(
            f"{name}-approval-changes",
            name=args.naming.resource(f"{args.model_name}-approval-changes"),
            description=f"Approval state changes of {group_name} packages",
            event_pattern=package_state_changes(group_name),
            tags=dict(args.tags),
            opts=child,
        )
        aws.cloudwatch.EventTarget(
            f"{name}-approval-changes-alerts",
            rule=rule.name,
            arn=args.alerts_topic_arn,
            input_transformer={
                "input_paths": {
                    "package": "$.detail.ModelPackageArn",
                    "status": "$.detail.ModelApprovalStatus",
                },
                "input_template": '"Model package <package> is now <status>."',
            },
            opts=child,
        )
        if args.promotion_hook is not None:
            self._promotion_hook(name, args, group_name, args.promotion_hook)
        self.group_name = group.model_package_group_name
        self.group_arn = group.arn
        self.approval_rule_name = rule.name
        self.register_outputs({"group_name": self.group_name, "approval_rule_name": self.approval_rule_name})

    def _promotion_hook(self, name: str, args: RegistryArgs, group_name: str, hook: PromotionHook) -> None:
        """Approved packages start the promote-model workflow through GitHub's repository_dispatch API."""
        child = pulumi.ResourceOptions(parent=self)
        bearer: pulumi.Output[str] = pulumi.Output.concat("Bearer ", hook.token)
        connection = aws.cloudwatch.EventConnection(
            f"{name}-github",
            name=args.naming.resource("github-dispatch"),
            description="GitHub API token for repository_dispatch, encrypted with the project's models key",
            authorization_type="API_KEY",
            auth_parameters={
                "api_key": {
                    "key": "Authorization",
                    "value": pulumi.Output.secret(bearer),  # type: ignore[arg-type]
                }
            },
            kms_key_identifier=hook.key_arn,
            opts=child,
        )
        destination = aws.cloudwatch.EventApiDestination(
            f"{name}-promote-model",
            name=args.naming.resource("promote-model"),
            description=f"repository_dispatch of {hook.repository}",
            connection_arn=connection.arn,
            http_method="POST",
            invocation_endpoint=f"https://api.github.com/repos/{hook.repository}/dispatches",
            invocation_rate_limit_per_second=1,
            opts=child,
        )
        approved = aws.cloudwatch.EventRule(
            f"{name}-approved",
            name=args.naming.resource(f"{args.model_name}-approved"),
            description=f"A {group_name} package was approved: start the promotion workflow",
            event_pattern=package_state_changes(group_name, ModelApprovalStatus=["Approved"]),
            tags=dict(args.tags),
            opts=child,
        )
        aws.cloudwatch.EventTarget(
            f"{name}-approved-dispatch",
            rule=approved.name,
            arn=destination.arn,
            role_arn=hook.role_arn,
            http_target={"header_parameters": {"Accept": "application/vnd.github+json"}},
            input_transformer={
                "input_paths": {"package": "$.detail.ModelPackageArn"},
                # promote-model reads the project from the payload: one repository serves every project
                "input_template": (
                    '{"event_type": "model-package-approved", "client_payload": {"package_arn": <package>, '
                    f'"project": "{args.naming.project or ""}"}}}}'
                ),
            },
            retry_policy={"maximum_event_age_in_seconds": 3600, "maximum_retry_attempts": 10},
            opts=child,
        )
