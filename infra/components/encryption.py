"""Customer-managed KMS keys, one per purpose, with rotation and key policies that name their users."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import pulumi
import pulumi_aws as aws

from infra.policy_document import Statement, policy_json
from kernel.naming import Naming

KeyPurpose = Literal["data", "models", "logs", "alerts"]
KEY_PURPOSES: tuple[KeyPurpose, ...] = ("data", "models", "logs", "alerts")
"""data: raw data and feature store; models: artifacts, capture, reports; logs: audit; alerts: SNS."""

KEY_ADMIN_ACTIONS = [
    "kms:CreateAlias",
    "kms:Describe*",
    "kms:Enable*",
    "kms:List*",
    "kms:Put*",
    "kms:Update*",
    "kms:Revoke*",
    "kms:Disable*",
    "kms:Get*",
    "kms:Delete*",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:ScheduleKeyDeletion",
    "kms:CancelKeyDeletion",
    "kms:RotateKeyOnDemand",
]
"""What the account root delegates to IAM policies without conditions: administration. No
cryptographic operation and no grant (`kms:CreateGrant`, which would let its holder hand out
decryption). Key use is delegated only through the platform's services (`AccountUseThroughServices`),
otherwise it goes to named roles. What stays true beyond that: whoever may `kms:PutKeyPolicy` (the
deployers, break-glass) can rewrite this policy; CloudTrail records every such change."""

KEY_USER_ACTIONS = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"]
KEY_GRANT_ACTIONS = ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"]
DEPLOYER_KEY_USE = ["kms:GenerateDataKey", "kms:Decrypt", "kms:Encrypt", "kms:DescribeKey"]
DEPLOYER_VIA_SERVICES: dict[KeyPurpose, tuple[str, ...]] = {
    "models": ("s3", "sagemaker"),
    "data": ("sagemaker",),
}
"""Where `pulumi up` uses a key, only through that service: uploads of the staged step code into
the artifacts bucket (models, S3 user guide: PutObject with SSE-KMS needs kms:GenerateDataKey),
endpoint configurations (models, through SageMaker), the online store of a feature group (data,
SageMaker developer guide: Feature Store KMS permissions)."""
CONNECTION_SERVICES = ("events", "secretsmanager")
"""Where `pulumi up` uses the key of the promotion hook's connection secret (EventBridge keeps the secret in
Secrets Manager: CloudFormation handlers of AWS::Events::Connection)."""

CONNECTION_KEY_TAG = {"EventBridgeApiDestinations": "true"}
"""EventBridge uses a customer managed key for a connection only when the key carries this tag (EventBridge user
guide, "Encrypting EventBridge connection authorization with AWS KMS keys")."""


def deployer_services(purpose: KeyPurpose, connection_key: KeyPurpose | None) -> tuple[str, ...]:
    """The services through which the deployers use the key of `purpose`."""
    return DEPLOYER_VIA_SERVICES.get(purpose, ()) + (CONNECTION_SERVICES if purpose == connection_key else ())


@dataclass(frozen=True)
class EncryptionArgs:
    """Inputs of `Encryption`."""

    naming: Naming
    tags: Mapping[str, str]
    deletion_window_days: int
    key_users: Mapping[KeyPurpose, Sequence[pulumi.Input[str]]] = field(default_factory=dict)
    """Role ARNs allowed to use each key (and to create grants for AWS services acting for them)."""
    reader_accounts: Sequence[str] = ()
    """Accounts that deploy models trained here: they may decrypt model artifacts through S3 only."""
    connection_key: KeyPurpose | None = None
    """The key that encrypts the promotion hook's connection secret (a project's models key; None where no
    connection is deployed, as in the platform): deployers also use it through `CONNECTION_SERVICES`."""
    connection_readers: Sequence[pulumi.Input[str]] = ()
    """The preview role: EventBridge decrypts the promotion hook connection's parameters (connection key)
    with the caller's permission when `pulumi preview --refresh` describes it."""
    s3_writers: Sequence[pulumi.Input[str]] = ()
    """Roles that write objects under the models key through S3 only (a project's data engineers: labels)."""
    s3_readers: Sequence[pulumi.Input[str]] = ()
    """Roles of another program that read objects under the models key through S3 only (a project's key
    admits the platform's auditor, who reads every project's runs)."""
    key_grantors: Mapping[KeyPurpose, Sequence[pulumi.Input[str]]] = field(default_factory=dict)
    """The deployers: they create grants for AWS resources (endpoints, feature groups) and use the key
    only through the services of `DEPLOYER_VIA_SERVICES`."""
    purposes: Sequence[KeyPurpose] = KEY_PURPOSES
    """The keys to create: the platform's (logs, alerts) or a project's (data, models)."""


class Encryption(pulumi.ComponentResource):
    """Four KMS keys split by purpose, so a role that reads data cannot decrypt audit logs.

    Rotation is always on. Key policies give the account root administration only; use is granted
    by name to the roles in `key_users` and, per purpose, to the AWS services that must write
    encrypted data on the account's behalf (CloudTrail, VPC flow logs, CloudWatch and EventBridge).
    """

    keys: dict[KeyPurpose, aws.kms.Key]
    key_arns: dict[KeyPurpose, pulumi.Output[str]]

    def __init__(self, name: str, args: EncryptionArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:security:Encryption", name, None, opts)
        self._args = args
        self.keys = {purpose: self._key(name, purpose) for purpose in args.purposes}
        self.key_arns = {purpose: key.arn for purpose, key in self.keys.items()}
        self.register_outputs({f"{purpose}_key_arn": arn for purpose, arn in self.key_arns.items()})

    def _key(self, name: str, purpose: KeyPurpose) -> aws.kms.Key:
        naming = self._args.naming
        key = aws.kms.Key(
            f"{name}-{purpose}",
            description=f"{naming.base}: {purpose} encryption",
            enable_key_rotation=True,
            rotation_period_in_days=365,
            deletion_window_in_days=self._args.deletion_window_days,
            key_usage="ENCRYPT_DECRYPT",
            customer_master_key_spec="SYMMETRIC_DEFAULT",
            policy=policy_json(*self._statements(purpose)),
            tags={
                **self._args.tags,
                "purpose": purpose,
                **(CONNECTION_KEY_TAG if purpose == self._args.connection_key else {}),
            },
            opts=pulumi.ResourceOptions(parent=self),
        )
        aws.kms.Alias(
            f"{name}-{purpose}-alias",
            name=naming.kms_alias(purpose),
            target_key_id=key.key_id,
            opts=pulumi.ResourceOptions(parent=self),
        )
        return key

    def _statements(self, purpose: KeyPurpose) -> list[Statement]:
        naming = self._args.naming
        root = f"arn:aws:iam::{naming.account_id}:root"
        statements = [
            Statement(sid="KeyAdministration", principals={"AWS": root}, actions=KEY_ADMIN_ACTIONS, resources=["*"])
        ]
        users = list(self._args.key_users.get(purpose, ()))
        deployers = list(self._args.key_grantors.get(purpose, ()))
        grantors = users + deployers
        if users:
            statements.append(
                Statement(sid="KeyUse", principals={"AWS": users}, actions=KEY_USER_ACTIONS, resources=["*"])
            )
        if grantors:
            statements.append(
                Statement(
                    sid="KeyGrantsForAwsServices",
                    principals={"AWS": grantors},
                    actions=KEY_GRANT_ACTIONS,
                    resources=["*"],
                    conditions={"Bool": {"kms:GrantIsForAWSResource": "true"}},
                )
            )
        services = deployer_services(purpose, self._args.connection_key)
        if services:
            statements += _account_use_through_services(naming, services)
        if purpose == self._args.connection_key and self._args.connection_readers:
            statements.append(
                Statement(
                    sid="ConnectionReadersDecryptViaEvents",
                    principals={"AWS": list(self._args.connection_readers)},
                    actions=["kms:Decrypt"],
                    resources=["*"],
                    conditions={"StringEquals": {"kms:ViaService": f"events.{naming.region}.amazonaws.com"}},
                )
            )
        if purpose == "models" and self._args.s3_writers:
            statements.append(
                Statement(
                    sid="WritersEncryptViaS3",
                    principals={"AWS": list(self._args.s3_writers)},
                    actions=["kms:GenerateDataKey"],
                    resources=["*"],
                    conditions={
                        "StringEquals": {
                            "kms:ViaService": f"s3.{naming.region}.amazonaws.com",
                            "kms:CallerAccount": naming.account_id,
                        }
                    },
                )
            )
        if purpose == "models" and self._args.s3_readers:
            statements.append(
                Statement(
                    sid="ReadersDecryptViaS3",
                    principals={"AWS": list(self._args.s3_readers)},
                    actions=["kms:Decrypt"],
                    resources=["*"],
                    conditions={
                        "StringEquals": {
                            "kms:ViaService": f"s3.{naming.region}.amazonaws.com",
                            "kms:CallerAccount": naming.account_id,
                        }
                    },
                )
            )
        if purpose == "models" and self._args.reader_accounts:
            statements.append(
                Statement(
                    sid="DeployingAccountsDecryptViaS3",
                    principals={"AWS": [f"arn:aws:iam::{a}:root" for a in self._args.reader_accounts]},
                    actions=["kms:Decrypt", "kms:DescribeKey"],
                    resources=["*"],
                    conditions={"StringEquals": {"kms:ViaService": f"s3.{naming.region}.amazonaws.com"}},
                )
            )
        return statements + _service_statements(purpose, naming)


def _account_use_through_services(naming: Naming, services: Sequence[str]) -> list[Statement]:
    """Delegate to IAM the use of the key through these services only, in this account.

    This is how `pulumi up` writes encrypted data: the deploy role's identity policy allows it (scoped
    the same way), and so does the bootstrap admin's before that role exists (the first `pulumi up`
    uploads the step code into the artifacts bucket and, in staging and prod, creates online stores).
    No role of the blueprint is granted these actions otherwise, so in practice it admits the
    deployers and account administrators only, and never for a direct Decrypt outside a service.
    """
    root = f"arn:aws:iam::{naming.account_id}:root"
    via = {
        "kms:ViaService": [f"{service}.{naming.region}.amazonaws.com" for service in services],
        "kms:CallerAccount": naming.account_id,
    }
    statements = [
        Statement(
            sid="AccountUseThroughServices",
            principals={"AWS": root},
            actions=DEPLOYER_KEY_USE,
            resources=["*"],
            conditions={"StringEquals": via},
        )
    ]
    if "sagemaker" in services:
        statements.append(
            Statement(
                sid="AccountGrantsThroughSageMaker",
                principals={"AWS": root},
                actions=["kms:CreateGrant"],
                resources=["*"],
                conditions={
                    "StringEquals": {**via, "kms:ViaService": f"sagemaker.{naming.region}.amazonaws.com"},
                    "Bool": {"kms:GrantIsForAWSResource": "true"},
                },
            )
        )
    return statements


def _service_statements(purpose: KeyPurpose, naming: Naming) -> list[Statement]:
    """Statements for AWS services that encrypt on the account's behalf, pinned to this account."""
    account, region = naming.account_id, naming.region
    if purpose == "logs":
        return [
            Statement(
                sid="CloudTrailEncryptLogs",
                principals={"Service": "cloudtrail.amazonaws.com"},
                actions=["kms:GenerateDataKey*", "kms:DescribeKey"],
                resources=["*"],
                conditions={
                    "StringEquals": {"aws:SourceAccount": account},
                    "StringLike": {
                        "kms:EncryptionContext:aws:cloudtrail:arn": f"arn:aws:cloudtrail:*:{account}:trail/*"
                    },
                },
            ),
            Statement(
                sid="VpcFlowLogsDelivery",
                principals={"Service": "delivery.logs.amazonaws.com"},
                actions=KEY_USER_ACTIONS,
                resources=["*"],
                conditions={"StringEquals": {"aws:SourceAccount": account}},
            ),
            Statement(
                sid="CloudWatchLogsEncrypt",
                principals={"Service": f"logs.{region}.amazonaws.com"},
                actions=KEY_USER_ACTIONS,
                resources=["*"],
                conditions={
                    "ArnLike": {"kms:EncryptionContext:aws:logs:arn": f"arn:aws:logs:{region}:{account}:log-group:*"}
                },
            ),
        ]
    if purpose == "alerts":
        return [
            Statement(
                sid="AlarmAndEventPublishers",
                principals={"Service": ["cloudwatch.amazonaws.com", "events.amazonaws.com", "budgets.amazonaws.com"]},
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],
                conditions={"StringEquals": {"aws:SourceAccount": account}},
            )
        ]
    return []
