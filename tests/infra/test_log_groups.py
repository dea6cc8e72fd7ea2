"""Issue 18: CloudTrail also delivers to CloudWatch Logs; SageMaker's log groups are encrypted and expire.

Sources: the CloudTrail user guide, "Sending events to CloudWatch Logs" (a role CloudTrail assumes,
allowed logs:CreateLogStream and logs:PutLogEvents on the group's streams; Security Hub
CloudTrail.5); the SageMaker developer guide's CloudWatch Logs page (the fixed group names); the
CloudWatch Logs user guide, "Encrypt log data using AWS KMS" (the key policy admits
logs.<region>.amazonaws.com with the kms:EncryptionContext:aws:logs:arn condition).
"""

from __future__ import annotations

from kernel import StackConfig
from kernel.plan import Plan
from tests.helpers import as_list, outputs_of, statements
from tests.infra.helpers import cfn_permissions, granting

SAGEMAKER_GROUPS = {"/aws/sagemaker/TrainingJobs", "/aws/sagemaker/ProcessingJobs", "/aws/sagemaker/TransformJobs"}


def _groups(plan: Plan) -> dict[str, dict[str, object]]:
    return {g.inputs["name"]: g.inputs for g in plan.of_type("aws:cloudwatch/logGroup:LogGroup")}


def _access(plan: Plan, kind: str, role_arn: str | None = None) -> list[dict[str, object]]:
    """The statements of a role's access policies: churn's role of `kind` (or the platform's), or `role_arn`'s."""
    role = (role_arn or outputs_of(plan)["role_arns"][kind]).rsplit("/", 1)[1]
    return [
        s
        for p in plan.of_type("aws:iam/policy:Policy")
        if p.inputs["name"].startswith(f"{role}-access-")
        for s in statements(p)
    ]


def test_the_trail_delivers_to_an_encrypted_expiring_group(plan: Plan, config: StackConfig) -> None:
    (trail,) = plan.of_type("aws:cloudtrail/trail:Trail")
    group_arn = trail.inputs["cloudWatchLogsGroupArn"]
    name = group_arn.split(":log-group:")[1].removesuffix(":*")
    group = _groups(plan)[name]
    assert group["kmsKeyId"] == outputs_of(plan)["key_arns"]["logs"]
    assert group["retentionInDays"] == config.audit.log_retention_days
    role_arn = trail.inputs["cloudWatchLogsRoleArn"]
    assert role_arn == outputs_of(plan)["role_arns"]["trail-logs"]
    (role,) = [r for r in plan.of_type("aws:iam/role:Role") if r.inputs["tags"]["role-kind"] == "trail-logs"]
    (trust,) = statements(role, "assumeRolePolicy")
    assert trust["Principal"] == {"Service": "cloudtrail.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceArn": outputs_of(plan)["trail_arn"]}}
    stream = group_arn.removesuffix(":*") + ":log-stream:111111111111_CloudTrail_eu-west-1"
    access = _access(plan, "trail-logs")
    for action in ("logs:CreateLogStream", "logs:PutLogEvents"):
        assert granting(access, action, stream), action
    assert not granting(access, "logs:PutLogEvents", stream.replace(name, "/aws/sagemaker/TrainingJobs"))


def test_the_deployer_may_hand_the_trail_its_role(plan: Plan) -> None:
    """The trail is the platform's: its deploy role passes the trail's role; a project's deploy role cannot."""
    assert "iam:PassRole" in cfn_permissions("AWS::CloudTrail::Trail", "create")
    trail_role = outputs_of(plan)["role_arns"]["trail-logs"]
    platform_deployer = plan.of_project(None).outputs["role_arns"]["github-deploy"]
    assert not granting(_access(plan, "github-deploy"), "iam:PassRole", trail_role), "churn's deploy role"
    passes = granting(_access(plan, "github-deploy", platform_deployer), "iam:PassRole", trail_role)
    assert any(
        "cloudtrail.amazonaws.com" in as_list(s["Condition"]["StringEquals"]["iam:PassedToService"]) for s in passes
    )


def test_sagemaker_job_groups_are_declared_with_the_logs_key(plan: Plan, config: StackConfig) -> None:
    groups = _groups(plan)
    assert set(groups) >= SAGEMAKER_GROUPS
    for name in SAGEMAKER_GROUPS:
        assert groups[name]["kmsKeyId"] == outputs_of(plan)["key_arns"]["logs"]
        assert groups[name]["retentionInDays"] == config.audit.log_retention_days
    deploy = _access(plan, "github-deploy")
    region, account = config.region, config.account_id
    for name in SAGEMAKER_GROUPS:
        for action in cfn_permissions("AWS::Logs::LogGroup", "create"):
            if action in ("logs:CreateLogGroup", "logs:PutRetentionPolicy", "logs:TagResource"):
                assert granting(deploy, action, f"arn:aws:logs:{region}:{account}:log-group:{name}"), (action, name)


def test_the_logs_key_admits_cloudwatch_logs_for_this_accounts_groups(plan: Plan, config: StackConfig) -> None:
    (key,) = [k for k in plan.of_type("aws:kms/key:Key") if k.inputs["tags"]["purpose"] == "logs"]
    (admit,) = [s for s in statements(key) if s["Principal"] == {"Service": f"logs.{config.region}.amazonaws.com"}]
    assert {"kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey*"} <= set(admit["Action"])
    context = admit["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"]
    assert context == f"arn:aws:logs:{config.region}:{config.account_id}:log-group:*"
