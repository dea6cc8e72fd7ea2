"""Issue 18: the deploy role may do what `pulumi up` does, scoped to its environment.

Each row names the permission, the CloudFormation handler that lists it (checked against cfn-lint's
bundled resource schemas, so the citation itself is tested) and an ARN of this environment it must
cover. Rows the Terraform-based provider adds cite the API reference instead. Whether the whole
chain (boundary, key policies, conditions) allows it is the sufficiency suite's job; these rows pin
each fix to its source.
"""

from __future__ import annotations

import pytest

from infra.components.encryption import deployer_services
from infra.iam.arns import Arns
from infra.iam.boundary import boundary_statements
from infra.iam.deployer import (
    COST_EXPLORER,
    STAGED_PREFIXES,
    deployer_statements,
    preview_statements,
    secrets_provider_statements,
)
from kernel import StackConfig
from kernel.naming import Naming
from kernel.plan import Plan
from tests.helpers import statements
from tests.infra.helpers import cfn_permissions, granting, reference

ACCOUNT, REGION = "111111111111", "eu-west-1"
NAMING = Naming("mlops", "dev", ACCOUNT, REGION)
ARNS = Arns(NAMING)
DEPLOYER = deployer_statements(ARNS, "arn:aws:iam::111111111111:policy/mlops-dev-boundary")
ENDPOINT = "mlops-dev-churn-model"

CFN_ROWS = [
    ("AWS::IAM::Role", "update", "iam:UpdateRoleDescription", ARNS.role("mlops-dev-jobs")),
    ("AWS::EC2::FlowLog", "create", "logs:CreateLogDelivery", "*"),
    ("AWS::EC2::FlowLog", "delete", "logs:DeleteLogDelivery", "*"),
    ("AWS::EC2::SubnetRouteTableAssociation", "create", "ec2:ReplaceRouteTableAssociation", ARNS.regional("ec2", "route-table/rtb-1")),
    ("AWS::SageMaker::FeatureGroup", "create", "kms:DescribeKey", ARNS.regional("kms", "key/k")),
    ("AWS::SageMaker::EndpointConfig", "create", "kms:DescribeKey", ARNS.regional("kms", "key/k")),
    ("AWS::SNS::Subscription", "read", "sns:GetSubscriptionAttributes", ARNS.regional("sns", "mlops-dev-alerts")),
    ("AWS::SNS::Subscription", "update", "sns:SetSubscriptionAttributes", ARNS.regional("sns", "mlops-dev-alerts")),
    ("AWS::SNS::Subscription", "delete", "sns:Unsubscribe", ARNS.regional("sns", "mlops-dev-alerts")),
    ("AWS::Budgets::Budget", "create", "budgets:TagResource", f"arn:aws:budgets::{ACCOUNT}:budget/mlops-dev-monthly"),
    ("AWS::Budgets::Budget", "read", "budgets:ListTagsForResource", f"arn:aws:budgets::{ACCOUNT}:budget/mlops-dev-monthly"),
    ("AWS::Budgets::Budget", "update", "budgets:UntagResource", f"arn:aws:budgets::{ACCOUNT}:budget/mlops-dev-monthly"),
    *[
        ("AWS::SageMaker::DataQualityJobDefinition", handler, f"sagemaker:{verb}DataQualityJobDefinition",
         ARNS.sagemaker("data-quality-job-definition", f"{ENDPOINT}-data-quality"))
        for handler, verb in (("create", "Create"), ("read", "Describe"), ("delete", "Delete"))
    ],
    *[
        ("AWS::Events::Connection", handler, f"events:{verb}Connection", ARNS.regional("events", "connection/mlops-dev-github-dispatch"))
        for handler, verb in (("create", "Create"), ("read", "Describe"), ("update", "Update"), ("delete", "Delete"))
    ],
    *[
        ("AWS::Events::ApiDestination", handler, f"events:{verb}ApiDestination", ARNS.regional("events", "api-destination/mlops-dev-promote-model"))
        for handler, verb in (("create", "Create"), ("read", "Describe"), ("update", "Update"), ("delete", "Delete"))
    ],
    *[
        ("AWS::Events::Connection", handler, action, ARNS.regional("secretsmanager", "secret:events!connection/mlops-dev-github-dispatch/1a2b-Xy12"))
        for handler, action in (("create", "secretsmanager:CreateSecret"), ("update", "secretsmanager:UpdateSecret"),
                                ("update", "secretsmanager:PutSecretValue"), ("update", "secretsmanager:GetSecretValue"))
    ],
    *[
        ("AWS::ApplicationAutoScaling::ScalableTarget", "create", action,
         ARNS.regional("cloudwatch", f"alarm:TargetTracking-endpoint/{ENDPOINT}/variant/primary-AlarmHigh-0f1e2d3c"))
        for action in ("cloudwatch:PutMetricAlarm", "cloudwatch:DeleteAlarms")
    ],
    ("AWS::ApplicationAutoScaling::ScalingPolicy", "create", "cloudwatch:GetMetricData", "*"),
    ("AWS::IAM::ManagedPolicy", "read", "iam:ListEntitiesForPolicy", ARNS.policy("mlops-dev-jobs-access-1")),
    ("AWS::CloudTrail::Trail", "read", "cloudtrail:GetInsightSelectors", ARNS.regional("cloudtrail", "trail/mlops-dev-trail")),
    ("AWS::IAM::OIDCProvider", "update", "iam:ListOpenIDConnectProviderTags",
     f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com"),
]  # fmt: skip

API_ROWS = [
    # IAM API reference, CreatePolicyVersion/SetDefaultPolicyVersion: the provider updates a managed
    # policy with a new version, then makes it the default.
    ("iam:SetDefaultPolicyVersion", ARNS.policy("mlops-dev-jobs-access-1")),
    # SageMaker developer guide, "Prerequisites" of endpoint autoscaling: registering a variant as a
    # scalable target needs these on the endpoint.
    ("sagemaker:UpdateEndpointWeightsAndCapacities", ARNS.sagemaker("endpoint", ENDPOINT)),
    ("sagemaker:DescribeEndpoint", ARNS.sagemaker("endpoint", ENDPOINT)),
    # `mlops model smoke` (deploy-stack.yml, after `pulumi up` of a stack that serves a model) invokes the
    # endpoint it just deployed: InvokeEndpoint.
    ("sagemaker:InvokeEndpoint", ARNS.sagemaker("endpoint", ENDPOINT)),
    # `mlops model promote` in staging reads the package in dev's registry (DescribeModelPackage).
    (
        "sagemaker:DescribeModelPackage",
        "arn:aws:sagemaker:eu-west-1:999999999999:model-package/mlops-dev-churn-model/3",
    ),
    # The provider reads a role's tags with ListRoleTags (IAM API reference).
    ("iam:ListRoleTags", ARNS.role("mlops-dev-jobs")),
    # AWS::Events::Connection's create handler lists iam:CreateServiceLinkedRole: EventBridge's API destinations role.
    (
        "iam:CreateServiceLinkedRole",
        f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/apidestinations.events.amazonaws.com/"
        "AWSServiceRoleForAmazonEventBridgeApiDestinations",
    ),
    # Cost Explorer API reference: UpdateCostAllocationTagsStatus / ListCostAllocationTags.
    *[(action, "*") for action in COST_EXPLORER],
]


@pytest.mark.parametrize(("type_name", "handler", "action", "resource"), CFN_ROWS)
def test_the_deployer_has_what_cloudformation_lists(type_name: str, handler: str, action: str, resource: str) -> None:
    assert action in cfn_permissions(type_name, handler), f"{type_name} {handler} no longer lists {action}"
    assert granting(DEPLOYER, action, resource), f"the deployer may not {action} on {resource}"


@pytest.mark.parametrize(("action", "resource"), API_ROWS)
def test_the_deployer_has_what_the_provider_calls(action: str, resource: str) -> None:
    assert granting(DEPLOYER, action, resource), f"the deployer may not {action} on {resource}"


def test_the_deployer_manages_every_object_pulumi_uploads(plan: Plan) -> None:
    """S3 API reference: PutObject with tags also needs s3:PutObjectTagging; the provider reads the
    tags back (GetObjectTagging) and removes every version of a versioned object (ListBucketVersions,
    DeleteObjectVersion)."""
    bucket = NAMING.bucket("artifacts")
    objects = plan.of_type("aws:s3/bucketObjectv2:BucketObjectv2")
    assert objects and all(o.inputs["key"].startswith(STAGED_PREFIXES) for o in objects)
    uploaded = {o.inputs["key"].split("/", 1)[0] + "/" for o in objects}
    # dev stages both; staging and prod train nothing, so they stage only the drift job's code
    assert uploaded == (set(STAGED_PREFIXES) if plan.stack == "dev" else {"code/"})
    for prefix in STAGED_PREFIXES:
        resource = f"arn:aws:s3:::{bucket}/{prefix}0123456789abcdef/x"
        for action in ("s3:PutObject", "s3:PutObjectTagging", "s3:GetObjectTagging", "s3:DeleteObjectVersion"):
            assert granting(DEPLOYER, action, resource), (action, resource)
    assert granting(DEPLOYER, "s3:ListBucketVersions", f"arn:aws:s3:::{bucket}")


def test_the_deployer_uses_keys_only_through_services() -> None:
    """S3 user guide (SSE-KMS permissions): an upload needs kms:GenerateDataKey on the bucket key;
    the deployer holds it only with kms:ViaService, so it cannot decrypt data directly."""
    found = granting(DEPLOYER, "kms:GenerateDataKey", ARNS.regional("kms", "key/k"))
    assert found
    for statement in found:
        via = statement["Condition"]["StringEquals"]["kms:ViaService"]
        assert f"s3.{REGION}.amazonaws.com" in via and all(v.endswith(f".{REGION}.amazonaws.com") for v in via)
    decrypt = granting(DEPLOYER, "kms:Decrypt", ARNS.regional("kms", "key/k"))
    assert decrypt and all("kms:ViaService" in s["Condition"]["StringEquals"] for s in decrypt)


def test_key_policies_admit_key_use_only_through_services(plan: Plan, config: StackConfig) -> None:
    """The first `pulumi up` runs as an account administrator (the deploy role does not exist yet), later
    ones as the deploy role: both use the keys by IAM delegation, only through the platform's services."""
    keys = {k.inputs["tags"]["purpose"]: k for k in plan.of_type("aws:kms/key:Key")}
    assert set(keys) == {"logs", "alerts", "data", "models"}  # the platform's two, churn's two
    root = f"arn:aws:iam::{config.account_id}:root"
    for purpose, key in keys.items():
        services = deployer_services(purpose, "models")  # a project's models key encrypts its promotion hook
        found = [s for s in statements(key) if s["Sid"] == "AccountUseThroughServices"]
        assert len(found) == bool(services), purpose  # no deployer use of a key where `pulumi up` needs none
        if not services:
            continue
        (use,) = found
        assert use["Principal"] == {"AWS": root}
        assert "kms:GenerateDataKey" in use["Action"]
        assert use["Condition"]["StringEquals"] == {
            "kms:ViaService": [f"{service}.{config.region}.amazonaws.com" for service in services],
            "kms:CallerAccount": config.account_id,
        }
    for key in keys.values():
        for statement in statements(key):
            if statement["Principal"] == {"AWS": root} and statement["Sid"] != "KeyAdministration":
                assert "kms:ViaService" in statement["Condition"]["StringEquals"], statement["Sid"]


def test_cost_explorer_passes_the_boundary_from_us_east_1() -> None:
    """Cost Explorer's endpoint is ce.us-east-1.amazonaws.com: the request's region is us-east-1."""
    boundary = boundary_statements(ARNS, "arn:b", [], [], ARNS.role("mlops-dev-pipeline"))
    ceiling = next(s for s in boundary if s.sid == "PlatformServicesCeiling")
    lock = next(s for s in boundary if s.sid == "DenyOutsideRegion")
    for action in COST_EXPLORER:
        assert reference()["actions"][action]["resourceTypes"] == []
        assert granting([ceiling], action)
        assert any(pattern == action for pattern in lock.not_actions), f"the region lock denies {action} in us-east-1"


PREVIEW = preview_statements(ARNS)


@pytest.mark.parametrize(
    ("type_name", "action", "resource"),
    [
        ("AWS::Athena::WorkGroup", "athena:ListTagsForResource", ARNS.regional("athena", "workgroup/mlops-dev-features")),
        ("AWS::Budgets::Budget", "budgets:ListTagsForResource", f"arn:aws:budgets::{ACCOUNT}:budget/mlops-dev-monthly"),
        ("AWS::ApplicationAutoScaling::ScalableTarget", "application-autoscaling:ListTagsForResource", ARNS.regional("application-autoscaling", "scalable-target/056f1c2d")),
        ("AWS::Events::Connection", "events:DescribeConnection", ARNS.regional("events", "connection/mlops-dev-github-dispatch")),
    ],
)  # fmt: skip
def test_the_preview_role_reads_what_refresh_reads(type_name: str, action: str, resource: str) -> None:
    assert action in cfn_permissions(type_name, "read")
    assert granting(PREVIEW, action, resource), f"preview may not {action} on {resource}"


def test_the_preview_role_reads_glue_tags() -> None:
    """The provider reads a Glue database's tags with GetTags (Glue API reference); CloudFormation does not."""
    assert granting(PREVIEW, "glue:GetTags", ARNS.regional("glue", "database/mlops_dev_features"))


def test_the_preview_role_reads_uploaded_objects_and_their_tags(plan: Plan) -> None:
    """The provider's object read is HeadObject (s3:GetObject) and GetObjectTagging (S3 API reference)."""
    bucket = NAMING.bucket("artifacts")
    for key in {o.inputs["key"] for o in plan.of_type("aws:s3/bucketObjectv2:BucketObjectv2")}:
        for action in ("s3:GetObject", "s3:GetObjectTagging"):
            assert granting(PREVIEW, action, f"arn:aws:s3:::{bucket}/{key}"), (action, key)
    assert not granting(PREVIEW, "s3:GetObject", f"arn:aws:s3:::{NAMING.bucket('raw')}/data.csv")


def test_the_preview_role_stays_read_only() -> None:
    for statement in PREVIEW:
        for action in statement.actions:
            if action == "kms:Decrypt":  # only as EventBridge describing a connection
                assert statement.conditions == {"StringEquals": {"kms:ViaService": [f"events.{REGION}.amazonaws.com"]}}
                continue
            assert action.split(":", 1)[1].startswith(("Describe", "List", "Get", "View", "Search")), action


CRYPTOGRAPHIC = {
    "kms:Decrypt", "kms:Encrypt", "kms:ReEncryptFrom", "kms:ReEncryptTo", "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext", "kms:GenerateDataKeyPair", "kms:GenerateDataKeyPairWithoutPlaintext",
    "kms:GenerateMac", "kms:VerifyMac", "kms:Sign", "kms:Verify", "kms:DeriveSharedSecret",
}  # fmt: skip
"""KMS developer guide, "Cryptographic operations"."""


def test_the_root_statement_delegates_neither_decryption_nor_grants() -> None:
    """`kms:Create*` used to include kms:CreateGrant: whoever holds a grant may decrypt."""
    from infra.components.encryption import KEY_ADMIN_ACTIONS

    admin = [{"Effect": "Allow", "Action": KEY_ADMIN_ACTIONS, "Resource": "*"}]
    kms = [a for a in reference()["actions"] if a.startswith("kms:")]
    delegated = {action for action in kms if granting(admin, action)}
    assert "kms:PutKeyPolicy" in delegated and "kms:ScheduleKeyDeletion" in delegated
    assert not delegated & (CRYPTOGRAPHIC | {"kms:CreateGrant", "kms:RetireGrant"})


def test_deploying_accounts_may_create_a_model_from_a_package(plans: dict[str, Plan]) -> None:
    """SageMaker developer guide, "Deploy a Model Version from a Different Account": dev's group policy
    grants CreateModel on its packages. The deployer's own CreateModel is on `model/` ARNs only: the
    Service Authorization Reference lists `model` as CreateModel's only resource type, so an identity
    grant on a model-package ARN would match nothing (parliament reports it as a mismatch)."""
    assert [r["name"] for r in reference()["actions"]["sagemaker:CreateModel"]["resourceTypes"]] == ["model"]
    (group_policy,) = plans["dev"].of_type("aws:sagemaker/modelPackageGroupPolicy:ModelPackageGroupPolicy")
    (grant,) = statements(group_policy, "resourcePolicy")
    package = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package/mlops-dev-churn-model/3"
    for action in ("sagemaker:CreateModel", "sagemaker:DescribeModelPackage"):
        assert granting([grant], action, package)
    assert not granting([grant], "sagemaker:UpdateModelPackage", package)


def test_the_secrets_provider_key_is_usable_by_ci() -> None:
    """Pulumi's awskms secrets provider calls KMS Encrypt and Decrypt on the stack's key."""
    key = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
    deploy, preview = secrets_provider_statements(key, True), secrets_provider_statements(key, False)
    assert granting(deploy, "kms:Encrypt", key) and granting(deploy, "kms:Decrypt", key)
    assert granting(preview, "kms:Decrypt", key) and not granting(preview, "kms:Encrypt", key)
