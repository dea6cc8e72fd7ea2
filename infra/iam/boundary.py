"""The permissions boundary attached to every role the blueprint creates.

A boundary caps what a role can ever do, whatever policies are later attached to it: here, only the
services the platform uses, only in its region, never creating long-lived credentials, internet
paths or unbounded roles, never silencing the audit trail, never registering a model outside the
training pipeline, and always the SageMaker guardrails.
"""

from __future__ import annotations

from collections.abc import Sequence

from infra.iam.arns import Arns
from infra.iam.deployer import CONNECTION_SECRETS, COST_EXPLORER
from infra.policy_document import Statement

PLATFORM_SERVICES = [
    "application-autoscaling",
    "athena",
    "budgets",
    "cloudtrail",
    "cloudwatch",
    "ecr",
    "ec2",
    "events",
    "glue",
    "iam",
    "kms",
    "logs",
    "s3",
    "sagemaker",
    "sagemaker-mlflow",
    "scheduler",
    "sns",
    "sts",
]
PLATFORM_ACTIONS = [*COST_EXPLORER, *CONNECTION_SECRETS]
"""Single actions of services the platform otherwise does not use: activating cost allocation tags,
and the secret behind the promotion hook's EventBridge connection."""
GLOBAL_SERVICES = ["iam:*", "sts:*", "budgets:*", "s3:ListAllMyBuckets", *COST_EXPLORER]
"""Services with a global endpoint, exempt from the region lock. Cost Explorer's API is served from
us-east-1 only (AWS General Reference, Cost Explorer endpoints), whatever the stack's region."""


def boundary_statements(
    arns: Arns,
    boundary_arn: str,
    admins: Sequence[str],
    guardrails: Sequence[Statement],
    registrar: str,
    *,
    break_glass: str | None = None,
    key_destroyers: Sequence[str] = (),
) -> list[Statement]:
    """The boundary document: a ceiling of platform services minus explicit denies.

    `admins` (the deploy role and the break-glass admin) are the only principals that may change
    the boundary policy itself or delete KMS keys. `registrar` (the training pipeline's role) is the
    only one that may register a model package (a pattern: every project's pipeline role), so every package
    carries the lineage, reports and
    evaluation gate the pipeline gives it: registration by hand is refused by IAM. `break_glass` (the
    platform admin persona) is the only one that may delete a trail: `pulumi destroy` and a trail
    replacement retain the trail (infra/retention.py), and that admin deletes it by hand. `key_destroyers` (dev's
    review deploy role) may also schedule key deletion: a review stack's destroy deletes its keys, and that role's
    own policy reaches only review stacks' keys (infra/iam/review_scope.py).
    """
    not_admin = {"ArnNotLike": {"aws:PrincipalArn": list(admins)}}
    return [
        Statement(
            sid="PlatformServicesCeiling",
            actions=[f"{service}:*" for service in PLATFORM_SERVICES] + PLATFORM_ACTIONS,
            resources=["*"],
        ),
        Statement(
            sid="DenyOutsideRegion",
            effect="Deny",
            not_actions=GLOBAL_SERVICES,
            resources=["*"],
            conditions={"StringNotEquals": {"aws:RequestedRegion": [arns.region]}},
        ),
        Statement(
            sid="DenyLongLivedCredentials",
            effect="Deny",
            actions=["iam:CreateUser", "iam:CreateAccessKey", "iam:CreateLoginProfile", "iam:UpdateLoginProfile"],
            resources=["*"],
        ),
        Statement(
            sid="DenyUnboundedRoles",
            effect="Deny",
            actions=["iam:CreateRole", "iam:PutRolePermissionsBoundary"],
            resources=["*"],
            conditions={"StringNotEquals": {"iam:PermissionsBoundary": boundary_arn}},
        ),
        Statement(
            sid="DenyBoundaryRemoval",
            effect="Deny",
            actions=["iam:DeleteRolePermissionsBoundary", "iam:DeleteUserPermissionsBoundary"],
            resources=["*"],
        ),
        Statement(
            sid="DenyBoundaryEdits",
            effect="Deny",
            actions=[
                "iam:CreatePolicyVersion",
                "iam:DeletePolicy",
                "iam:DeletePolicyVersion",
                "iam:SetDefaultPolicyVersion",
            ],
            resources=[boundary_arn],
            conditions=not_admin,
        ),
        Statement(
            sid="DenyRegistrationOutsideThePipeline",
            effect="Deny",
            actions=["sagemaker:CreateModelPackage"],
            resources=["*"],
            conditions={"ArnNotLike": {"aws:PrincipalArn": registrar}},
        ),
        Statement(
            sid="DenyAuditTampering",
            effect="Deny",
            actions=["cloudtrail:StopLogging", *([] if break_glass else ["cloudtrail:DeleteTrail"])],
            resources=["*"],
        ),
        *(
            [
                Statement(
                    sid="DenyTrailDeletionButBreakGlass",
                    effect="Deny",
                    actions=["cloudtrail:DeleteTrail"],
                    resources=["*"],
                    conditions={"ArnNotEquals": {"aws:PrincipalArn": break_glass}},
                )
            ]
            if break_glass
            else []
        ),
        Statement(
            sid="DenyKeyDestruction",
            effect="Deny",
            actions=["kms:ScheduleKeyDeletion", "kms:DisableKey"],
            resources=["*"],
            conditions={"ArnNotLike": {"aws:PrincipalArn": [*admins, *key_destroyers]}},
        ),
        Statement(
            sid="DenyInternetPaths",
            effect="Deny",
            actions=[
                "ec2:CreateInternetGateway",
                "ec2:AttachInternetGateway",
                "ec2:CreateNatGateway",
                "ec2:CreateEgressOnlyInternetGateway",
            ],
            resources=["*"],
        ),
        *guardrails,
    ]
