"""Audit trail and alert routing: a validated, encrypted CloudTrail and an encrypted alerts topic."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.policy_document import Statement, deny_insecure_transport, policy_json
from kernel.naming import Naming


def trail_log_group(naming: Naming) -> str:
    """The CloudWatch Logs group the trail delivers to."""
    return naming.resource("trail")


@dataclass(frozen=True)
class AuditArgs:
    """Inputs of `Audit`."""

    naming: Naming
    tags: Mapping[str, str]
    trail_name: str
    audit_bucket_name: pulumi.Input[str]
    logs_key_arn: pulumi.Input[str]
    alerts_key_arn: pulumi.Input[str]
    data_event_arn_prefixes: Sequence[pulumi.Input[str]]
    """Object ARN prefixes whose data events are logged: every bucket of the environment's projects."""
    """Buckets whose object reads and writes are recorded (raw data, features, model artifacts)."""
    alert_emails: Sequence[str]
    log_retention_days: int
    trail_logs_role_arn: pulumi.Input[str]
    """The role CloudTrail assumes to write into the trail's log group."""
    excluded_bucket_arns: Sequence[pulumi.Input[str]] = ()
    """Buckets whose objects are not logged: the trail's own bucket and the access logs (no logging loops)."""
    depends_on: Sequence[pulumi.Resource] = ()
    """The audit bucket's policy: CloudTrail checks it when the trail is created."""


class Audit(pulumi.ComponentResource):
    """The audit trail and the alerts topic.

    A multi-region CloudTrail with log file validation, KMS-encrypted, recording S3 data events on
    the data and model buckets, and delivered to a KMS-encrypted CloudWatch Logs group with the
    environment's retention too (Security Hub CloudTrail.5: metric filters and alarms need it); and
    the KMS-encrypted SNS topic every alarm and approval event goes to.
    """

    trail_arn: pulumi.Output[str]
    alerts_topic_arn: pulumi.Output[str]

    def __init__(self, name: str, args: AuditArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:audit:Audit", name, None, opts)
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-trail-logs",
            name=trail_log_group(args.naming),
            kms_key_id=args.logs_key_arn,
            retention_in_days=args.log_retention_days,
            tags=dict(args.tags),
            opts=pulumi.ResourceOptions(parent=self),
        )
        trail = aws.cloudtrail.Trail(
            f"{name}-trail",
            name=args.trail_name,
            s3_bucket_name=args.audit_bucket_name,
            kms_key_id=args.logs_key_arn,
            is_multi_region_trail=True,
            include_global_service_events=True,
            enable_log_file_validation=True,
            enable_logging=True,
            # CloudTrail takes the group's ARN with the `:*` stream suffix (CloudTrail API, CloudWatchLogsLogGroupArn).
            cloud_watch_logs_group_arn=pulumi.Output.concat(log_group.arn, ":*"),
            cloud_watch_logs_role_arn=args.trail_logs_role_arn,
            advanced_event_selectors=[
                {
                    "name": "Management events",
                    "field_selectors": [{"field": "eventCategory", "equals": ["Management"]}],
                },
                {
                    "name": "S3 object events on data and model buckets",
                    "field_selectors": [
                        {"field": "eventCategory", "equals": ["Data"]},
                        {"field": "resources.type", "equals": ["AWS::S3::Object"]},
                        {
                            "field": "resources.ARN",
                            "starts_withs": list(args.data_event_arn_prefixes),
                            "not_starts_withs": [pulumi.Output.concat(arn, "/") for arn in args.excluded_bucket_arns],
                        },
                    ],
                },
            ],
            tags=dict(args.tags),
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.depends_on)),
        )
        topic = aws.sns.Topic(
            f"{name}-alerts",
            name=args.naming.resource("alerts"),
            kms_master_key_id=args.alerts_key_arn,
            tags=dict(args.tags),
            opts=pulumi.ResourceOptions(parent=self),
        )
        aws.sns.TopicPolicy(
            f"{name}-alerts-policy",
            arn=topic.arn,
            policy=policy_json(
                Statement(
                    sid="AlarmAndEventPublishers",
                    principals={
                        "Service": ["cloudwatch.amazonaws.com", "events.amazonaws.com", "budgets.amazonaws.com"]
                    },
                    actions=["sns:Publish"],
                    resources=[topic.arn],
                    conditions={"StringEquals": {"aws:SourceAccount": args.naming.account_id}},
                ),
                deny_insecure_transport(["sns:Publish"], [topic.arn]),
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        for email in args.alert_emails:
            aws.sns.TopicSubscription(
                f"{name}-alerts-{email}",
                topic=topic.arn,
                protocol="email",
                endpoint=email,
                opts=pulumi.ResourceOptions(parent=self),
            )
        self.trail_arn = trail.arn
        self.alerts_topic_arn = topic.arn
        self.register_outputs({"trail_arn": self.trail_arn, "alerts_topic_arn": self.alerts_topic_arn})
