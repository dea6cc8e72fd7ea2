"""What `pulumi up` needs to manage this environment's stack, and what `pulumi preview` needs to read it.

The deploy role (GitHub Actions, per environment) and the break-glass platform admin share the
deployer statements. Every write is scoped to this environment's names (`<prefix>-<env>-*`), its
account and region; roles can only be created with the boundary attached. Actions with no
resource-level permission are listed in `UNSCOPED_DEPLOY` with the reason.
"""

from __future__ import annotations

from infra.iam.arns import Arns
from infra.policy_document import Statement
from kernel.naming import ENDPOINT_LOG_GROUP_PREFIX, SAGEMAKER_JOB_LOG_GROUPS

OIDC_HOST = "token.actions.githubusercontent.com"

COST_EXPLORER = ["ce:UpdateCostAllocationTagsStatus", "ce:ListCostAllocationTags"]
"""Activating cost allocation tags. No resource type (Service Authorization Reference); Cost
Explorer is served only from us-east-1 (ce.us-east-1.amazonaws.com), so the boundary's region lock
exempts exactly these actions."""

STAGED_PREFIXES = ("code/", "clarify/")
"""Key prefixes of the objects `pulumi up` uploads into the artifacts bucket: step code and Clarify
analysis configs (infra/components/training_pipeline.py)."""

UNSCOPED_DEPLOY = [
    "kms:CreateKey",  # a key's ARN does not exist before it is created
    # dev's default bus accepts staging's and prod's drift (AWS::Events::EventBusPolicy handlers in the
    # CloudFormation schema of cfn-lint 1.58.0); IAM defines no resource type for these two
    "events:PutPermission",
    "events:RemovePermission",
    "kms:ListKeys",
    "kms:ListAliases",
    "ec2:Describe*",  # EC2 describe calls have no resource level
    "sagemaker:List*",
    "sagemaker:Search",
    "cloudtrail:DescribeTrails",
    "cloudtrail:ListTrails",
    "logs:DescribeLogGroups",
    "sts:GetCallerIdentity",
    "application-autoscaling:Describe*",
    "cloudwatch:GetMetricData",  # a target-tracking policy's metric check; metric reads have no resource level
    "logs:CreateLogDelivery",  # flow logs to S3; the Service Authorization Reference lists no resource type
    "logs:DeleteLogDelivery",
    *COST_EXPLORER,
]

BUCKET_ADMIN = [
    "s3:CreateBucket",
    "s3:DeleteBucket",
    "s3:ListBucket",
    "s3:GetBucket*",
    "s3:PutBucketPolicy",
    "s3:PutBucketTagging",
    "s3:PutBucketVersioning",
    "s3:PutBucketLogging",
    "s3:PutBucketPublicAccessBlock",
    "s3:PutBucketOwnershipControls",
    "s3:DeleteBucketPolicy",
    "s3:GetEncryptionConfiguration",
    "s3:PutEncryptionConfiguration",
    "s3:GetLifecycleConfiguration",
    "s3:PutLifecycleConfiguration",
    "s3:GetAccelerateConfiguration",
    "s3:GetReplicationConfiguration",
]
"""Bucket-level actions only: `s3:*` on `<env>-*` would also match every object (IAM's `*` spans `/`).
No `PutBucketAcl`: ownership is enforced, so ACLs are off."""

KEY_ADMIN = [
    "kms:DescribeKey",
    "kms:GetKeyPolicy",
    "kms:PutKeyPolicy",
    "kms:GetKeyRotationStatus",
    "kms:EnableKeyRotation",
    "kms:ListResourceTags",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:UpdateKeyDescription",
    "kms:EnableKey",
    "kms:ScheduleKeyDeletion",
    "kms:CancelKeyDeletion",
]
NETWORK_ADMIN = [
    "ec2:CreateVpc",
    "ec2:DeleteVpc",
    "ec2:ModifyVpcAttribute",
    "ec2:CreateSubnet",
    "ec2:DeleteSubnet",
    "ec2:ModifySubnetAttribute",
    "ec2:CreateRouteTable",
    "ec2:DeleteRouteTable",
    "ec2:AssociateRouteTable",
    "ec2:DisassociateRouteTable",
    "ec2:ReplaceRouteTableAssociation",
    "ec2:CreateSecurityGroup",
    "ec2:DeleteSecurityGroup",
    "ec2:AuthorizeSecurityGroupIngress",
    "ec2:AuthorizeSecurityGroupEgress",
    "ec2:RevokeSecurityGroupIngress",
    "ec2:RevokeSecurityGroupEgress",
    "ec2:ModifySecurityGroupRules",
    "ec2:UpdateSecurityGroupRuleDescriptionsIngress",
    "ec2:UpdateSecurityGroupRuleDescriptionsEgress",
    "ec2:CreateVpcEndpoint",
    "ec2:DeleteVpcEndpoints",
    "ec2:ModifyVpcEndpoint",
    "ec2:CreateFlowLogs",
    "ec2:DeleteFlowLogs",
    "ec2:CreateTags",
    "ec2:DeleteTags",
]
TRAIL_ADMIN = [
    "cloudtrail:CreateTrail",
    "cloudtrail:UpdateTrail",
    "cloudtrail:StartLogging",
    "cloudtrail:GetTrail",
    "cloudtrail:GetTrailStatus",
    "cloudtrail:GetEventSelectors",
    "cloudtrail:PutEventSelectors",
    "cloudtrail:GetInsightSelectors",
    "cloudtrail:AddTags",
    "cloudtrail:RemoveTags",
    "cloudtrail:ListTags",
]
TOPIC_ADMIN = [
    "sns:CreateTopic",
    "sns:DeleteTopic",
    "sns:GetTopicAttributes",
    "sns:SetTopicAttributes",
    "sns:Subscribe",
    "sns:Unsubscribe",
    "sns:GetSubscriptionAttributes",
    "sns:SetSubscriptionAttributes",
    "sns:ListSubscriptionsByTopic",
    "sns:TagResource",
    "sns:UntagResource",
    "sns:ListTagsForResource",
]
SAGEMAKER_ADMIN = [
    f"sagemaker:{verb}{noun}"
    for noun in (
        "Pipeline",
        "ModelPackageGroup",
        "Model",
        "EndpointConfig",
        "FeatureGroup",
        "MonitoringSchedule",
        "DataQualityJobDefinition",
    )
    for verb in ("Create", "Delete", "Describe")
] + [
    "sagemaker:UpdatePipeline",
    "sagemaker:CreateEndpoint",
    "sagemaker:UpdateEndpoint",
    "sagemaker:UpdateEndpointWeightsAndCapacities",
    "sagemaker:DeleteEndpoint",
    "sagemaker:DescribeEndpoint",
    "sagemaker:UpdateFeatureGroup",
    "sagemaker:UpdateMonitoringSchedule",
    "sagemaker:PutModelPackageGroupPolicy",
    "sagemaker:GetModelPackageGroupPolicy",
    "sagemaker:DeleteModelPackageGroupPolicy",
    "sagemaker:DescribeModelPackage",
    "sagemaker:InvokeEndpoint",
    "sagemaker:CreateMlflowTrackingServer",
    "sagemaker:UpdateMlflowTrackingServer",
    "sagemaker:DeleteMlflowTrackingServer",
    "sagemaker:DescribeMlflowTrackingServer",
    "sagemaker:AddTags",
    "sagemaker:DeleteTags",
    "sagemaker:ListTags",
]
MLFLOW_APP_ADMIN = [
    "sagemaker:DescribeMlflowApp",
    "sagemaker:UpdateMlflowApp",
    "sagemaker:DeleteMlflowApp",
    "sagemaker:AddTags",
    "sagemaker:DeleteTags",
    "sagemaker:ListTags",
]
"""Manage an MLflow App that carries this environment's tag."""
LOGS_ADMIN = [
    "logs:CreateLogGroup",
    "logs:DeleteLogGroup",
    "logs:PutRetentionPolicy",
    "logs:DeleteRetentionPolicy",
    "logs:AssociateKmsKey",
    "logs:DisassociateKmsKey",
    "logs:TagResource",
    "logs:UntagResource",
    "logs:ListTagsForResource",
]
ALARMS_ADMIN = [
    "cloudwatch:PutMetricAlarm",
    "cloudwatch:DescribeAlarms",
    "cloudwatch:DeleteAlarms",
    "cloudwatch:TagResource",
    "cloudwatch:UntagResource",
    "cloudwatch:ListTagsForResource",
    "cloudwatch:PutDashboard",
    "cloudwatch:GetDashboard",
    "cloudwatch:DeleteDashboards",
]
PROMOTION_HOOK_ADMIN = [
    f"events:{verb}{noun}"
    for noun in ("Connection", "ApiDestination")
    for verb in ("Create", "Update", "Delete", "Describe")
]
"""The promotion hook's EventBridge connection and API destination (CloudFormation handlers of
AWS::Events::Connection and AWS::Events::ApiDestination)."""
CONNECTION_SECRETS = [
    "secretsmanager:CreateSecret",
    "secretsmanager:GetSecretValue",
    "secretsmanager:PutSecretValue",
    "secretsmanager:UpdateSecret",
    "secretsmanager:DescribeSecret",
    "secretsmanager:DeleteSecret",
]
"""EventBridge keeps a connection's credentials in a Secrets Manager secret named
`events!connection/<name>/<id>`, created and updated with the caller's permissions."""
KEY_USE_THROUGH_SERVICES = ["kms:GenerateDataKey", "kms:Decrypt", "kms:Encrypt", "kms:DescribeKey"]
"""What the deployer does with a key, only through a service: S3 uploads (the staged code), the
online store (SageMaker), the promotion hook's connection (EventBridge, Secrets Manager)."""
EVENTS_ADMIN = [
    "events:PutRule",
    "events:DeleteRule",
    "events:DescribeRule",
    "events:EnableRule",
    "events:DisableRule",
    "events:PutTargets",
    "events:RemoveTargets",
    "events:ListTargetsByRule",
    "events:TagResource",
    "events:UntagResource",
    "events:ListTagsForResource",
]
SCHEDULER_ADMIN = [
    "scheduler:CreateSchedule",
    "scheduler:UpdateSchedule",
    "scheduler:DeleteSchedule",
    "scheduler:GetSchedule",
]
GLUE_ADMIN = [
    "glue:CreateDatabase",
    "glue:UpdateDatabase",
    "glue:DeleteDatabase",
    "glue:GetDatabase",
    "glue:CreateTable",
    "glue:UpdateTable",
    "glue:DeleteTable",
    "glue:GetTable",
    "glue:GetTags",
    "glue:TagResource",
    "glue:UntagResource",
]
ATHENA_ADMIN = [
    "athena:CreateWorkGroup",
    "athena:UpdateWorkGroup",
    "athena:DeleteWorkGroup",
    "athena:GetWorkGroup",
    "athena:TagResource",
    "athena:UntagResource",
    "athena:ListTagsForResource",
]
AUTOSCALING_ADMIN = [
    "application-autoscaling:RegisterScalableTarget",
    "application-autoscaling:DeregisterScalableTarget",
    "application-autoscaling:PutScalingPolicy",
    "application-autoscaling:DeleteScalingPolicy",
    "application-autoscaling:PutScheduledAction",
    "application-autoscaling:DeleteScheduledAction",
    "application-autoscaling:TagResource",
    "application-autoscaling:UntagResource",
    "application-autoscaling:ListTagsForResource",
]

UNSCOPED_READ_ONLY = [
    "kms:List*",
    "iam:List*",
    "ec2:Describe*",
    "sagemaker:List*",
    "sagemaker:Search",
    "cloudtrail:DescribeTrails",
    "cloudtrail:List*",
    "sns:List*",
    "logs:DescribeLogGroups",
    "cloudwatch:GetMetricData",
    "cloudwatch:ListDashboards",
    "cloudwatch:ListMetrics",
    "events:List*",
    "scheduler:List*",
    "athena:ListWorkGroups",
    "application-autoscaling:Describe*",
    "ce:ListCostAllocationTags",
    "sts:GetCallerIdentity",
]
"""What `pulumi preview --refresh` reads that takes no resource (Service Authorization Reference):
listings, EC2 and autoscaling describes, metric reads, the caller's identity."""


def _read_only(arns: Arns) -> dict[str, tuple[list[str], list[str]]]:
    """What refresh reads that AWS scopes to a resource: statement id -> (actions, this environment's ARNs)."""
    account, region = arns.account, arns.region
    return {
        "ReadBuckets": (
            [
                "s3:GetBucket*",
                "s3:GetEncryptionConfiguration",
                "s3:GetLifecycleConfiguration",
                "s3:GetAccelerateConfiguration",
                "s3:GetReplicationConfiguration",
                "s3:ListBucket",
            ],
            [arns.env_buckets()],
        ),
        "ReadKeys": (["kms:Describe*", "kms:Get*"], [arns.regional("kms", "key/*")]),
        "ReadIdentity": (["iam:Get*"], [f"arn:aws:iam::{account}:*"]),
        "ReadSageMaker": (["sagemaker:Describe*", "sagemaker:Get*"], [arns.regional("sagemaker", "*")]),
        "ReadTrails": (["cloudtrail:Get*"], [arns.regional("cloudtrail", "trail/*")]),
        "ReadTopics": (["sns:Get*"], [arns.regional("sns", "*")]),
        "ReadLogGroups": (["logs:ListTagsForResource", "logs:ListTagsLogGroup"], [arns.log_group("*")]),
        # Dashboards take no tags and schedules no tag conditions on Get: their names set a project's apart.
        "ReadAlarmsAndDashboards": (
            ["cloudwatch:Describe*", "cloudwatch:GetDashboard", "cloudwatch:ListTagsForResource"],
            [
                arns.regional("cloudwatch", f"alarm:{arns.naming.base}-*"),
                arns.regional("cloudwatch", f"alarm:TargetTracking-endpoint/{arns.naming.base}-*"),
                arns.regional("cloudwatch", "insight-rule/*"),
                f"arn:aws:cloudwatch::{account}:dashboard/{arns.naming.base}-*",
            ],
        ),
        "ReadEvents": (["events:Describe*"], [arns.regional("events", "*")]),
        "ReadSchedules": (
            ["scheduler:Get*"],
            [
                arns.regional("scheduler", f"schedule/*/{arns.naming.base}-*"),
                arns.regional("scheduler", "schedule-group/*"),
            ],
        ),
        "ReadCatalog": (
            ["glue:GetDatabase*", "glue:GetTable*", "glue:GetTags"],
            [arns.regional("glue", "catalog"), arns.regional("glue", "database/*"), arns.regional("glue", "table/*")],
        ),
        "ReadWorkgroups": (
            ["athena:GetWorkGroup", "athena:ListTagsForResource"],
            [arns.regional("athena", f"{kind}/*") for kind in ("workgroup", "datacatalog", "capacity-reservation")],
        ),
        "ReadScalingTags": (
            ["application-autoscaling:ListTagsForResource"],
            [f"arn:aws:application-autoscaling:{region}:{account}:scalable-target/*"],
        ),
        "ReadBudgets": (["budgets:View*", "budgets:ListTagsForResource"], [f"arn:aws:budgets::{account}:budget/*"]),
    }


LINKED_SERVICES = (
    "sagemaker.application-autoscaling.amazonaws.com",
    "autoscaling.amazonaws.com",
    "apidestinations.events.amazonaws.com",
)
"""Services whose service-linked role a deployment may create: endpoint autoscaling, and EventBridge
API destinations (the promotion hook; AWS::Events::Connection's create handler lists it)."""

DEPLOYER_KEY_SERVICES = ("s3", "sagemaker", "events", "secretsmanager")


def via_services(region: str, services: tuple[str, ...]) -> list[str]:
    """`kms:ViaService` values: these services, in this region."""
    return [f"{service}.{region}.amazonaws.com" for service in services]


def deployer_statements(arns: Arns, boundary_arn: str) -> list[Statement]:
    """Manage every resource of this environment's stack, and nothing of another environment's."""
    base, account, region = arns.naming.base, arns.account, arns.region
    sagemaker_kinds = [
        "pipeline",
        "model-package-group",
        "model-package",
        "model",
        "endpoint",
        "endpoint-config",
        "feature-group",
        "monitoring-schedule",
        "data-quality-job-definition",
        "mlflow-tracking-server",
    ]
    return [
        Statement(sid="Unscoped", actions=UNSCOPED_DEPLOY, resources=["*"]),
        Statement(sid="Buckets", actions=BUCKET_ADMIN, resources=[arns.env_buckets()]),
        Statement(
            sid="StagedObjects",
            # Tagged uploads need PutObjectTagging; on a versioned bucket the provider deletes every version.
            actions=[
                "s3:GetObject",
                "s3:GetObjectVersion",
                "s3:GetObjectTagging",
                "s3:PutObject",
                "s3:PutObjectTagging",
                "s3:DeleteObject",
                "s3:DeleteObjectVersion",
            ],
            resources=[arns.objects("artifacts", prefix) for prefix in STAGED_PREFIXES],
        ),
        Statement(sid="StagedObjectVersions", actions=["s3:ListBucketVersions"], resources=[arns.bucket("artifacts")]),
        Statement(
            sid="KeyUseThroughServices",
            actions=KEY_USE_THROUGH_SERVICES,
            resources=[arns.regional("kms", "key/*")],
            conditions={"StringEquals": {"kms:ViaService": via_services(region, DEPLOYER_KEY_SERVICES)}},
        ),
        Statement(sid="DescribeKeys", actions=["kms:DescribeKey"], resources=[arns.regional("kms", "key/*")]),
        Statement(
            sid="TaggedKeys",
            actions=KEY_ADMIN,
            resources=[arns.regional("kms", "key/*")],
            conditions={"StringEquals": arns.tagged()},
        ),
        Statement(
            sid="KeyAliases",
            actions=["kms:CreateAlias", "kms:UpdateAlias", "kms:DeleteAlias"],
            resources=[
                arns.kms_aliases(),
                arns.regional("kms", "key/*"),
            ],
        ),
        Statement(
            sid="BoundedRoles",
            actions=["iam:CreateRole", "iam:PutRolePermissionsBoundary"],
            resources=[arns.env_roles()],
            conditions={"StringEquals": {"iam:PermissionsBoundary": boundary_arn}},
        ),
        Statement(
            sid="ManageRoles",
            actions=[
                "iam:GetRole",
                "iam:DeleteRole",
                "iam:UpdateRole",
                "iam:UpdateRoleDescription",
                "iam:UpdateAssumeRolePolicy",
                "iam:TagRole",
                "iam:UntagRole",
                "iam:ListRoleTags",
                "iam:PutRolePolicy",
                "iam:GetRolePolicy",
                "iam:DeleteRolePolicy",
                "iam:ListRolePolicies",
                "iam:ListAttachedRolePolicies",
                "iam:ListInstanceProfilesForRole",
                "iam:DetachRolePolicy",
            ],
            resources=[arns.env_roles()],
        ),
        Statement(
            sid="AttachOwnPolicies",
            actions=["iam:AttachRolePolicy"],
            resources=[arns.env_roles()],
            conditions={"ArnLike": {"iam:PolicyARN": arns.policy(f"{base}-*")}},
        ),
        Statement(
            sid="ManagePolicies",
            actions=[
                "iam:CreatePolicy",
                "iam:CreatePolicyVersion",
                "iam:DeletePolicy",
                "iam:DeletePolicyVersion",
                "iam:SetDefaultPolicyVersion",
                "iam:GetPolicy",
                "iam:GetPolicyVersion",
                "iam:ListPolicyVersions",
                "iam:ListEntitiesForPolicy",
                "iam:TagPolicy",
                "iam:UntagPolicy",
            ],
            resources=[arns.policy(f"{base}-*")],
        ),
        Statement(
            sid="GithubOidcProvider",
            actions=[
                "iam:CreateOpenIDConnectProvider",
                "iam:GetOpenIDConnectProvider",
                "iam:DeleteOpenIDConnectProvider",
                "iam:TagOpenIDConnectProvider",
                "iam:UntagOpenIDConnectProvider",
                "iam:ListOpenIDConnectProviderTags",
                "iam:RemoveClientIDFromOpenIDConnectProvider",
                "iam:UpdateOpenIDConnectProviderThumbprint",
                "iam:AddClientIDToOpenIDConnectProvider",
            ],
            resources=[f"arn:aws:iam::{account}:oidc-provider/{OIDC_HOST}"],
        ),
        Statement(
            sid="PassRolesToServices",
            actions=["iam:PassRole"],
            resources=[arns.env_roles()],
            conditions={
                "StringEquals": {
                    "iam:PassedToService": [
                        "sagemaker.amazonaws.com",
                        "events.amazonaws.com",
                        "scheduler.amazonaws.com",
                        "cloudtrail.amazonaws.com",
                    ]
                }
            },
        ),
        Statement(
            sid="ServiceLinkedRoles",
            # A service-linked role's ARN carries its service in the path (IAM user guide, service-linked roles).
            actions=["iam:CreateServiceLinkedRole"],
            resources=[f"arn:aws:iam::{account}:role/aws-service-role/{service}/*" for service in LINKED_SERVICES],
        ),
        Statement(sid="Network", actions=NETWORK_ADMIN, resources=[f"arn:aws:ec2:{region}:{account}:*"]),
        Statement(sid="Trail", actions=TRAIL_ADMIN, resources=[arns.regional("cloudtrail", f"trail/{base}-*")]),
        Statement(sid="Topics", actions=TOPIC_ADMIN, resources=[arns.regional("sns", f"{base}-*")]),
        Statement(
            sid="SageMaker",
            actions=SAGEMAKER_ADMIN,
            resources=[arns.sagemaker(kind) for kind in sagemaker_kinds]
            + [arns.sagemaker("model-package", f"{base}-*/*")],
        ),
        Statement(
            sid="ReadPromotedPackages",
            # Promotion reads the package it deploys from the training account (dev), whose group
            # policy grants the other half (infra/components/registry.py).
            actions=["sagemaker:DescribeModelPackage"],
            # A project's deploy role reads only its own project's packages (`<prefix>-<env>-<project>-...`).
            resources=[
                f"arn:aws:sagemaker:{region}:*:model-package/{arns.naming.prefix}-*"
                + (f"-{arns.naming.project}-*/*" if arns.naming.project else "/*")
            ],
        ),
        # MLflow App ARNs end in a generated id, not the name: scope them by the environment tag instead.
        Statement(
            sid="CreateMlflowApps",
            actions=["sagemaker:CreateMlflowApp", "sagemaker:AddTags"],
            resources=[arns.sagemaker("mlflow-app", "*")],
            conditions={"StringEquals": arns.tagged("RequestTag")},
        ),
        Statement(
            sid="ManageMlflowApps",
            actions=MLFLOW_APP_ADMIN,
            resources=[arns.sagemaker("mlflow-app", "*")],
            conditions={"StringEquals": arns.tagged()},
        ),
        Statement(
            sid="LogGroups",
            actions=LOGS_ADMIN,
            resources=[
                arns.log_group(f"{ENDPOINT_LOG_GROUP_PREFIX}{base}-*"),
                arns.log_group(f"{base}-*"),
                *[
                    arns.log_group(f"{group}{suffix}")
                    for group in SAGEMAKER_JOB_LOG_GROUPS.values()
                    for suffix in ("", ":*")
                ],
            ],
        ),
        Statement(
            sid="AlarmsAndDashboards",
            actions=ALARMS_ADMIN,
            resources=[
                arns.regional("cloudwatch", f"alarm:{base}-*"),
                # Target tracking creates its alarms with the caller's permissions, named after the endpoint.
                arns.regional("cloudwatch", f"alarm:TargetTracking-endpoint/{base}-*"),
                f"arn:aws:cloudwatch::{account}:dashboard/{base}-*",
            ],
        ),
        Statement(sid="EventRules", actions=EVENTS_ADMIN, resources=[arns.regional("events", f"rule/{base}-*")]),
        Statement(
            sid="DescribeDefaultBus",
            actions=["events:DescribeEventBus"],
            resources=[arns.regional("events", "event-bus/default")],
        ),
        Statement(
            sid="PromotionHook",
            actions=PROMOTION_HOOK_ADMIN,
            resources=[
                arns.regional("events", f"connection/{base}-*"),
                arns.regional("events", f"api-destination/{base}-*"),
            ],
        ),
        Statement(
            sid="PromotionHookSecret",
            actions=CONNECTION_SECRETS,
            resources=[arns.regional("secretsmanager", f"secret:events!connection/{base}-*")],
        ),
        Statement(
            sid="Schedules", actions=SCHEDULER_ADMIN, resources=[arns.regional("scheduler", f"schedule/*/{base}-*")]
        ),
        Statement(
            sid="Catalog",
            actions=GLUE_ADMIN,
            resources=[
                arns.regional("glue", "catalog"),
                arns.regional("glue", f"database/{arns.naming.glue_database('*')}"),
                arns.regional("glue", f"table/{arns.naming.glue_database('*')}/*"),
                arns.regional("glue", f"userDefinedFunction/{arns.naming.glue_database('*')}/*"),
            ],
        ),
        Statement(
            sid="QueryWorkgroups",
            actions=ATHENA_ADMIN,
            # Athena's tagging actions apply to three resource kinds; all are scoped to this environment.
            resources=[
                arns.regional("athena", f"{kind}/{base}-*")
                for kind in ("workgroup", "datacatalog", "capacity-reservation")
            ],
        ),
        Statement(
            sid="Autoscaling",
            actions=AUTOSCALING_ADMIN,
            resources=[arns.regional("application-autoscaling", "scalable-target/*")],
        ),
        Statement(
            sid="Budgets",
            actions=[
                "budgets:ModifyBudget",
                "budgets:ViewBudget",
                "budgets:TagResource",
                "budgets:UntagResource",
                "budgets:ListTagsForResource",
            ],
            resources=[f"arn:aws:budgets::{account}:budget/{base}-*"],
        ),
    ]


def preview_statements(arns: Arns) -> list[Statement]:
    """Read-only: enough for `pulumi preview --refresh`, nothing that reads data or changes state."""
    return [
        Statement(sid="ReadUnscoped", actions=UNSCOPED_READ_ONLY, resources=["*"]),
        *[
            Statement(sid=sid, actions=granted, resources=resources)
            for sid, (granted, resources) in _read_only(arns).items()
        ],
        Statement(
            sid="ReadStagedObjects",
            actions=["s3:GetObject", "s3:GetObjectTagging"],
            resources=[arns.objects("artifacts", prefix) for prefix in STAGED_PREFIXES],
        ),
        Statement(
            sid="DescribeConnections",
            # EventBridge decrypts a connection's stored parameters for DescribeConnection with the
            # caller's permission (CloudFormation read handler of AWS::Events::Connection: kms:Decrypt).
            actions=["kms:Decrypt"],
            resources=[arns.regional("kms", "key/*")],
            conditions={"StringEquals": {"kms:ViaService": via_services(arns.region, ("events",))}},
        ),
    ]


def secrets_provider_statements(key_arn: str, writable: bool) -> list[Statement]:
    """Use of the stack's Pulumi secrets provider key (`awskms://`).

    Pulumi encrypts and decrypts the stack's data key with KMS Encrypt and Decrypt (Pulumi docs,
    "awskms" secrets provider). Preview only decrypts, to show a diff of secret values it never prints.
    """
    return [
        Statement(
            sid="SecretsProvider",
            actions=["kms:Encrypt", "kms:Decrypt"] if writable else ["kms:Decrypt"],
            resources=[key_arn],
        )
    ]


def state_backend_statements(
    bucket: str, writable: bool, stack: tuple[str, str] | None = None, reads: tuple[tuple[str, str], ...] = ()
) -> list[Statement]:
    """Access to the Pulumi S3 state backend: the deploy role writes state, preview only its lock.

    `stack` (Pulumi project, stack) limits a project's roles to their own stack's files, so that one project's
    deploy role can neither read nor overwrite another's state (issue 21); `reads` adds the stacks it reads by
    StackReference (the platform's). The DIY backend's layout (pulumi/pulumi pkg/backend/diy): state in
    `.pulumi/stacks/<project>/<stack>.json`, history and backups under `.pulumi/{history,backups}/<project>/<stack>/`,
    locks under `.pulumi/locks/organization/<project>/<stack>/`, the backend's version in `.pulumi/meta.yaml`.
    """
    root = f"arn:aws:s3:::{bucket}/.pulumi"
    if stack is None:
        objects, locks = [f"{root}/*"], [f"{root}/locks/*"]
    else:
        project, name = stack
        locks = [f"{root}/locks/organization/{project}/{name}/*"]
        objects = [
            f"{root}/stacks/{project}/{name}.json*",
            f"{root}/history/{project}/{name}/*",
            f"{root}/backups/{project}/{name}/*",
            *locks,
        ]
    readable = objects + ([f"{root}/meta.yaml"] if stack else []) + [f"{root}/stacks/{p}/{n}.json" for p, n in reads]
    write = ["s3:PutObject", "s3:DeleteObject"]
    return [
        Statement(
            sid="StateList", actions=["s3:ListBucket", "s3:GetBucketLocation"], resources=[f"arn:aws:s3:::{bucket}"]
        ),
        Statement(sid="StateRead", actions=["s3:GetObject", "s3:GetObjectVersion"], resources=readable),
        Statement(sid="StateWrite", actions=write, resources=objects if writable else locks),
    ]
