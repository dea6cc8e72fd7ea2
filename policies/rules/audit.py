"""An audit trail that cannot be quietly turned off or rewritten."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from kernel.naming import ENDPOINT_LOG_GROUP_PREFIX, SAGEMAKER_JOB_LOG_GROUPS
from policies.model import Context, Resource, Rule
from policies.registry import register

TRAIL = "aws:cloudtrail/trail:Trail"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
SAGEMAKER_WRITERS = ("aws:sagemaker/pipeline:Pipeline", "aws:sagemaker/endpoint:Endpoint")


def _trail(resources: Sequence[Resource], context: Context) -> Iterable[tuple[Resource | None, str]]:
    trails = [r for r in resources if r.type == TRAIL]
    if not trails and context.program == "platform":  # a project's stack is audited by its platform's trail
        yield None, "the stack has no CloudTrail trail"
    for trail in trails:
        props = trail.props
        missing = [
            what
            for what, ok in (
                ("multi-region", props.get("isMultiRegionTrail") is True),
                ("log file validation", props.get("enableLogFileValidation") is True),
                ("KMS encryption", bool(props.get("kmsKeyId"))),
                ("logging", props.get("enableLogging", True) is not False),
                (
                    "CloudWatch Logs delivery",
                    bool(props.get("cloudWatchLogsGroupArn")) and bool(props.get("cloudWatchLogsRoleArn")),
                ),
            )
            if not ok
        ]
        if missing:
            yield trail, f"trail lacks {', '.join(missing)}"


register(
    Rule(
        id="cloudtrail-validated-encrypted",
        family="audit",
        description=(
            "A multi-region CloudTrail trail logs, validates its files, encrypts them with KMS "
            "and delivers to CloudWatch Logs."
        ),
        why="Who approved, deployed or read what must be provable after the fact, and alarmed on as it happens.",
        fix="Keep the audit component; do not disable validation, encryption, logging or log delivery.",
        control="Security Hub CloudTrail.1, CloudTrail.2, CloudTrail.4, CloudTrail.5",
        stack_check=_trail,
    )
)


def _log_groups(resources: Sequence[Resource], context: Context) -> Iterable[tuple[Resource | None, str]]:
    groups = {str(r.props.get("name")): r for r in resources if r.type == LOG_GROUP}
    for name, group in groups.items():
        if not group.props.get("retentionInDays"):
            yield group, f"log group {name} keeps its events forever"
    needed: list[str] = []
    if context.program == "platform":
        needed += SAGEMAKER_JOB_LOG_GROUPS.values()  # one per account and region: the platform's, for every project
    needed += [f"{ENDPOINT_LOG_GROUP_PREFIX}{r.props.get('name')}" for r in resources if r.type == SAGEMAKER_WRITERS[1]]
    for name in needed:
        if name not in groups:
            yield (
                None,
                f"SageMaker writes to {name}, which the stack does not declare: "
                "it would be unencrypted and never expire",
            )


register(
    Rule(
        id="log-groups-governed",
        family="audit",
        description=(
            "Every log group expires its events, and the SageMaker log groups the stack's jobs and endpoints "
            "write to are declared (so they carry the logs key and a retention)."
        ),
        why="SageMaker creates its log groups on first use without our key and keeps job logs forever.",
        fix="Declare them with the SageMakerLogs component (infra/components/log_groups.py); set retention_in_days.",
        control="Security Hub CloudWatch.16 (log group retention); AWS best practice: CloudWatch Logs encryption",
        stack_check=_log_groups,
    )
)
