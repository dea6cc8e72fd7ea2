"""S3 data and artifact stores: encrypted, private, versioned, logged and expiring by design."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import pulumi
import pulumi_aws as aws

from infra.components.encryption import KeyPurpose
from infra.policy_document import Statement, deny_insecure_transport, policy_json
from kernel.naming import Naming
from pipelines.definitions.training import OUTPUT_PREFIX

BucketPurpose = Literal["raw", "features", "artifacts", "capture", "monitoring", "audit", "access-logs"]

BUCKET_KEYS: dict[BucketPurpose, KeyPurpose | None] = {
    "raw": "data",
    "features": "data",
    "artifacts": "models",
    "capture": "models",
    "monitoring": "models",
    "audit": "logs",
    "access-logs": None,
}
"""The KMS key of each bucket. S3 server access logging only delivers to SSE-S3 buckets (an AWS
limit), so `access-logs` uses AES256; it holds request metadata, never data."""

ABORT_INCOMPLETE_UPLOADS_DAYS = 7


def log_prefix(naming: Naming, purpose: str) -> str:
    """Where a bucket's access logs go in the platform's access-logs bucket.

    A project's go under its own name, so two projects' `raw` buckets never share a prefix.
    """
    return f"{naming.project}/{purpose}/" if naming.project else f"{purpose}/"


@dataclass(frozen=True)
class StorageArgs:
    """Inputs of `Storage`."""

    naming: Naming
    tags: Mapping[str, str]
    key_arns: Mapping[KeyPurpose, pulumi.Input[str]]
    trail_arn: str
    """ARN the audit trail will have (derived from its name), so the audit bucket admits only it."""
    capture_retention_days: int
    noncurrent_version_retention_days: int
    access_log_retention_days: int
    artifact_reader_accounts: Sequence[str] = ()
    purposes: Sequence[BucketPurpose] = tuple(BUCKET_KEYS)
    """The buckets to create: the platform's (audit, access-logs) or a project's (the rest)."""
    access_log_bucket: pulumi.Input[str] | None = None
    """Where the buckets log their requests when this stack has no access-logs bucket (the platform's)."""
    """Accounts that deploy models trained here: they may read model artifacts, nothing else."""


class Storage(pulumi.ComponentResource):
    """The data and artifact buckets, each with every S3 control on.

    SSE-KMS with a bucket key, all four public-access blocks, bucket-owner-enforced ownership,
    versioning, TLS-only and encrypted-put-only policies, server access logging, and lifecycle rules
    (noncurrent versions, capture and log retention).
    """

    buckets: dict[BucketPurpose, aws.s3.Bucket]
    bucket_names: dict[BucketPurpose, pulumi.Output[str]]
    bucket_arns: dict[BucketPurpose, pulumi.Output[str]]

    def __init__(self, name: str, args: StorageArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:storage:Storage", name, None, opts)
        self._name = name
        self._args = args
        self.buckets = {}
        logs: pulumi.Input[str] | None = args.access_log_bucket
        if "access-logs" in args.purposes:
            self.buckets["access-logs"] = self._bucket("access-logs", log_target=None)
            logs = self.buckets["access-logs"].id
        for purpose in BUCKET_KEYS:
            if purpose != "access-logs" and purpose in args.purposes:
                self.buckets[purpose] = self._bucket(purpose, log_target=logs)
        self.buckets = dict(sorted(self.buckets.items(), key=lambda item: item[0] == "access-logs"))
        self.bucket_names = {purpose: bucket.bucket for purpose, bucket in self.buckets.items()}
        self.bucket_arns = {purpose: bucket.arn for purpose, bucket in self.buckets.items()}
        self.register_outputs({"bucket_names": self.bucket_names})

    def _bucket(self, purpose: BucketPurpose, log_target: pulumi.Input[str] | None) -> aws.s3.Bucket:
        args = self._args
        child = pulumi.ResourceOptions(parent=self)
        logical = f"{self._name}-{purpose}"
        bucket = aws.s3.Bucket(
            logical,
            bucket=args.naming.bucket(purpose),
            force_destroy=False,
            tags={**args.tags, "purpose": purpose},
            opts=child,
        )
        ownership = aws.s3.BucketOwnershipControls(
            f"{logical}-ownership",
            bucket=bucket.id,
            rule={"object_ownership": "BucketOwnerEnforced"},
            opts=child,
        )
        public_access = aws.s3.BucketPublicAccessBlock(
            f"{logical}-public-access",
            bucket=bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=child,
        )
        aws.s3.BucketVersioning(
            f"{logical}-versioning",
            bucket=bucket.id,
            versioning_configuration={"status": "Enabled"},
            opts=child,
        )
        key_purpose = BUCKET_KEYS[purpose]
        key_arn = args.key_arns[key_purpose] if key_purpose else None
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{logical}-encryption",
            bucket=bucket.id,
            rules=[
                {
                    "apply_server_side_encryption_by_default": (
                        {"sse_algorithm": "aws:kms", "kms_master_key_id": key_arn}
                        if key_arn is not None
                        else {"sse_algorithm": "AES256"}
                    ),
                    "bucket_key_enabled": key_arn is not None,
                }
            ],
            opts=child,
        )
        aws.s3.BucketPolicy(
            f"{logical}-policy",
            bucket=bucket.id,
            policy=policy_json(*self._policy(purpose, bucket, key_arn)),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[public_access, ownership]),
        )
        if log_target is not None:
            aws.s3.BucketLogging(
                f"{logical}-logging",
                bucket=bucket.id,
                target_bucket=log_target,
                target_prefix=log_prefix(self._args.naming, purpose),
                opts=child,
            )
        aws.s3.BucketLifecycleConfiguration(
            f"{logical}-lifecycle", bucket=bucket.id, rules=self._lifecycle_rules(purpose), opts=child
        )
        return bucket

    def _lifecycle_rules(self, purpose: BucketPurpose) -> list[aws.s3.BucketLifecycleConfigurationRuleArgsDict]:
        args = self._args
        rule: aws.s3.BucketLifecycleConfigurationRuleArgsDict = {
            "id": "noncurrent-versions-and-uploads",
            "status": "Enabled",
            "filter": {},
            "noncurrent_version_expiration": {"noncurrent_days": args.noncurrent_version_retention_days},
            "abort_incomplete_multipart_upload": {"days_after_initiation": ABORT_INCOMPLETE_UPLOADS_DAYS},
        }
        expiry_days = {
            "capture": args.capture_retention_days,
            "audit": args.access_log_retention_days,
            "access-logs": args.access_log_retention_days,
        }.get(purpose)
        if expiry_days is None:
            return [rule]
        return [
            rule,
            {"id": "retention", "status": "Enabled", "filter": {}, "expiration": {"days": expiry_days}},
        ]

    def _policy(
        self, purpose: BucketPurpose, bucket: aws.s3.Bucket, key_arn: pulumi.Input[str] | None
    ) -> list[Statement]:
        objects = pulumi.Output.concat(bucket.arn, "/*")
        statements = [deny_insecure_transport(["s3:*"], [bucket.arn, objects])]
        if key_arn is not None:
            statements += _deny_weaker_encryption(objects, key_arn)
        account = self._args.naming.account_id
        if purpose == "access-logs":
            statements.append(
                Statement(
                    sid="S3ServerAccessLogsDelivery",
                    principals={"Service": "logging.s3.amazonaws.com"},
                    actions=["s3:PutObject"],
                    resources=[objects],
                    conditions={"StringEquals": {"aws:SourceAccount": account}},
                )
            )
        if purpose == "audit":
            statements += _audit_delivery(bucket, account, self._args.trail_arn)
        if purpose == "artifacts" and self._args.artifact_reader_accounts:
            statements.append(
                Statement(
                    sid="DeployingAccountsReadModels",
                    principals={"AWS": [f"arn:aws:iam::{a}:root" for a in self._args.artifact_reader_accounts]},
                    actions=["s3:GetObject", "s3:GetObjectVersion"],
                    resources=[pulumi.Output.concat(bucket.arn, f"/{OUTPUT_PREFIX}/*")],
                )
            )
        return statements


def _deny_weaker_encryption(objects: pulumi.Input[str], key_arn: pulumi.Input[str]) -> list[Statement]:
    """Deny puts that ask for anything but SSE-KMS with this bucket's key.

    A put without encryption headers gets the bucket default (SSE-KMS, this key), so SDKs that rely
    on default encryption keep working; a put that asks for SSE-S3, no encryption or another key fails.
    """
    return [
        Statement(
            sid="DenyNonKmsEncryption",
            effect="Deny",
            principals={"AWS": "*"},
            actions=["s3:PutObject"],
            resources=[objects],
            conditions={
                "StringNotEquals": {"s3:x-amz-server-side-encryption": "aws:kms"},
                "Null": {"s3:x-amz-server-side-encryption": "false"},
            },
        ),
        Statement(
            sid="DenyOtherKmsKeys",
            effect="Deny",
            principals={"AWS": "*"},
            actions=["s3:PutObject"],
            resources=[objects],
            conditions={
                "StringNotEquals": {"s3:x-amz-server-side-encryption-aws-kms-key-id": key_arn},
                "Null": {"s3:x-amz-server-side-encryption-aws-kms-key-id": "false"},
            },
        ),
    ]


def _audit_delivery(bucket: aws.s3.Bucket, account: str, trail_arn: str) -> list[Statement]:
    """CloudTrail (this trail only) and VPC flow logs (this account only) may write audit logs."""
    logs_prefix = pulumi.Output.concat(bucket.arn, f"/AWSLogs/{account}/*")
    return [
        Statement(
            sid="CloudTrailAclCheck",
            principals={"Service": "cloudtrail.amazonaws.com"},
            actions=["s3:GetBucketAcl"],
            resources=[bucket.arn],
            conditions={"StringEquals": {"aws:SourceArn": trail_arn}},
        ),
        Statement(
            sid="CloudTrailWrite",
            principals={"Service": "cloudtrail.amazonaws.com"},
            actions=["s3:PutObject"],
            resources=[logs_prefix],
            conditions={"StringEquals": {"aws:SourceArn": trail_arn}},
        ),
        Statement(
            sid="FlowLogsAclCheck",
            principals={"Service": "delivery.logs.amazonaws.com"},
            actions=["s3:GetBucketAcl"],
            resources=[bucket.arn],
            conditions={"StringEquals": {"aws:SourceAccount": account}},
        ),
        Statement(
            sid="FlowLogsWrite",
            principals={"Service": "delivery.logs.amazonaws.com"},
            actions=["s3:PutObject"],
            resources=[logs_prefix],
            conditions={"StringEquals": {"aws:SourceAccount": account}},
        ),
    ]
