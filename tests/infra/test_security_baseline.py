"""Issue 3 guarantees, proved on the plan of every shipped stack: encrypted, private, logged, audited."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from infra.components.encryption import KEY_PURPOSES
from infra.components.network import endpoint_service_name
from infra.components.storage import BUCKET_KEYS
from infra.plan.evaluate import evaluate_stack
from kernel import StackConfig
from kernel.plan import Plan, PlannedResource
from tests.helpers import as_list, outputs_of, shipped_settings, statements, write_stack

BUCKET = "aws:s3/bucket:Bucket"


def for_each_bucket(plan: Plan, token: str) -> dict[str, PlannedResource]:
    """The `token` sub-resource of each bucket, keyed by bucket purpose; fails when one is missing."""
    by_bucket = {r.inputs["bucket"]: r for r in plan.of_type(token)}
    result = {}
    for bucket in plan.of_type(BUCKET):
        assert bucket.inputs["bucket"] in by_bucket, f"{bucket.name} has no {token}"
        result[bucket.inputs["tags"]["purpose"]] = by_bucket[bucket.inputs["bucket"]]
    return result


def key_arn(plan: Plan, purpose: str) -> str:
    return str(outputs_of(plan)["key_arns"][purpose])


def test_every_bucket_is_kms_encrypted_with_its_purpose_key(plan: Plan) -> None:
    encryption = for_each_bucket(
        plan, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
    )
    assert set(encryption) == set(BUCKET_KEYS)
    for purpose, resource in encryption.items():
        (rule,) = resource.inputs["rules"]
        default = rule["applyServerSideEncryptionByDefault"]
        key_purpose = BUCKET_KEYS[purpose]  # type: ignore[index]
        if key_purpose is None:  # S3 access logging delivers only to SSE-S3 buckets
            assert purpose == "access-logs" and default == {"sseAlgorithm": "AES256"}
            continue
        assert default == {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": key_arn(plan, key_purpose)}
        assert rule["bucketKeyEnabled"] is True


def test_every_bucket_blocks_all_public_access(plan: Plan) -> None:
    for resource in for_each_bucket(plan, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock").values():
        flags = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
        assert all(resource.inputs[flag] is True for flag in flags)


def test_every_bucket_is_versioned_and_owner_enforced(plan: Plan) -> None:
    for resource in for_each_bucket(plan, "aws:s3/bucketVersioning:BucketVersioning").values():
        assert resource.inputs["versioningConfiguration"]["status"] == "Enabled"
    for resource in for_each_bucket(plan, "aws:s3/bucketOwnershipControls:BucketOwnershipControls").values():
        assert resource.inputs["rule"]["objectOwnership"] == "BucketOwnerEnforced"


def _denies(policy: PlannedResource, sid: str) -> dict[str, Any]:
    statement = next(s for s in statements(policy) if s["Sid"] == sid)
    assert statement["Effect"] == "Deny" and statement["Principal"] == {"AWS": "*"}
    return statement


def test_every_bucket_policy_denies_plain_http_and_weaker_encryption(plan: Plan) -> None:
    for purpose, policy in for_each_bucket(plan, "aws:s3/bucketPolicy:BucketPolicy").items():
        tls = _denies(policy, "DenyInsecureTransport")
        assert tls["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        assert len(tls["Resource"]) == 2  # the bucket and its objects
        key_purpose = BUCKET_KEYS[purpose]  # type: ignore[index]
        if key_purpose is None:
            continue
        sse = _denies(policy, "DenyNonKmsEncryption")
        assert sse["Condition"]["StringNotEquals"] == {"s3:x-amz-server-side-encryption": "aws:kms"}
        other_key = _denies(policy, "DenyOtherKmsKeys")
        assert other_key["Condition"]["StringNotEquals"] == {
            "s3:x-amz-server-side-encryption-aws-kms-key-id": key_arn(plan, key_purpose)
        }


def test_no_bucket_policy_allows_anonymous_access(plan: Plan) -> None:
    for policy in plan.of_type("aws:s3/bucketPolicy:BucketPolicy"):
        for statement in statements(policy):
            if statement["Effect"] != "Allow":
                continue
            principal, condition = statement["Principal"], str(statement.get("Condition"))
            if "Service" in principal:  # AWS services, pinned to this account or this trail
                assert "aws:SourceAccount" in condition or "aws:SourceArn" in condition
            else:  # deploying accounts reading model artifacts
                assert all(p.endswith(":root") and "*" not in p for p in principal["AWS"])
                assert statement["Action"] == ["s3:GetObject", "s3:GetObjectVersion"]


def test_every_data_bucket_logs_access_to_the_log_bucket(plan: Plan) -> None:
    log_bucket = outputs_of(plan)["bucket_names"]["access-logs"]
    logging = {r.inputs["bucket"]: r for r in plan.of_type("aws:s3/bucketLogging:BucketLogging")}
    for bucket in plan.of_type(BUCKET):
        name = bucket.inputs["bucket"]
        if name == log_bucket:
            assert name not in logging  # a bucket logging into itself loops
            continue
        assert logging[name].inputs["targetBucket"] == log_bucket
        owner = f"{bucket.ml_project}/" if bucket.ml_project else ""  # a project's logs under its own prefix
        assert logging[name].inputs["targetPrefix"] == owner + bucket.inputs["tags"]["purpose"] + "/"


def test_lifecycle_expires_old_versions_and_capture_data(plan: Plan, config: StackConfig) -> None:
    lifecycles = for_each_bucket(plan, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")
    for purpose, lifecycle in lifecycles.items():
        rules = {rule["id"]: rule for rule in lifecycle.inputs["rules"]}
        days = rules["noncurrent-versions-and-uploads"]["noncurrentVersionExpiration"]["noncurrentDays"]
        assert days == config.storage.noncurrent_version_retention_days
        if purpose == "capture":
            assert rules["retention"]["expiration"]["days"] == config.storage.capture_retention_days
    assert "retention" not in {r["id"] for r in lifecycles["artifacts"].inputs["rules"]}  # models are kept


def test_keys_rotate_and_root_uses_them_only_through_services(plan: Plan, config: StackConfig) -> None:
    keys = plan.of_type("aws:kms/key:Key")
    assert sorted(k.inputs["tags"]["purpose"] for k in keys) == sorted(KEY_PURPOSES)
    for key in keys:
        assert key.inputs["enableKeyRotation"] is True
        assert key.inputs["deletionWindowInDays"] == config.encryption.deletion_window_days
        for statement in statements(key):
            principal = str(statement["Principal"])
            actions = set(as_list(statement["Action"]))
            assert "kms:*" not in actions
            if f"{config.account_id}:root" in principal:
                crypto = {
                    "kms:Decrypt",
                    "kms:Encrypt",
                    "kms:GenerateDataKey",
                    "kms:GenerateDataKey*",
                    "kms:CreateGrant",
                }
                if crypto & actions:  # delegated to IAM only through the platform's services, in this account
                    assert statement["Condition"]["StringEquals"]["kms:ViaService"], statement["Sid"]
                    assert statement["Condition"]["StringEquals"]["kms:CallerAccount"] == config.account_id
            elif ":root" in principal:  # deploying accounts: decrypt model artifacts through S3, nothing else
                assert actions == {"kms:Decrypt", "kms:DescribeKey"}
                assert statement["Condition"] == {
                    "StringEquals": {"kms:ViaService": f"s3.{config.region}.amazonaws.com"}
                }
            if "Service" in statement["Principal"]:
                assert statement.get("Condition"), f"service statement {statement['Sid']} is not pinned"


def test_key_aliases_are_per_environment(plan: Plan, stack: str) -> None:
    aliases = sorted(a.inputs["name"] for a in plan.of_type("aws:kms/alias:Alias"))
    platform = [f"alias/mlops/{stack}/{purpose}" for purpose in ("logs", "alerts")]
    project = [f"alias/mlops/{stack}/churn/{purpose}" for purpose in ("data", "models")]
    assert aliases == sorted(platform + project)
    assert set(KEY_PURPOSES) == {"data", "models", "logs", "alerts"}


def test_ml_subnets_have_no_route_to_the_internet(plan: Plan, config: StackConfig) -> None:
    for forbidden in ("internetGateway:InternetGateway", "natGateway:NatGateway", "route:Route", "eip:Eip"):
        assert not plan.of_type(f"aws:ec2/{forbidden}"), forbidden
    for table in plan.of_type("aws:ec2/routeTable:RouteTable"):
        assert not table.inputs.get("routes")
    subnets = plan.of_type("aws:ec2/subnet:Subnet")
    assert sorted(s.inputs["availabilityZone"] for s in subnets) == sorted(config.network.availability_zones)
    assert all(s.inputs["mapPublicIpOnLaunch"] is False for s in subnets)


def test_security_groups_are_closed_to_the_world(plan: Plan) -> None:
    rules = plan.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule") + plan.of_type(
        "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
    )
    assert rules
    for rule in rules:
        assert "cidrIpv4" not in rule.inputs and "cidrIpv6" not in rule.inputs, rule.name
    for group in plan.of_type("aws:ec2/securityGroup:SecurityGroup"):
        assert not group.inputs.get("ingress") and not group.inputs.get("egress")
    (default,) = plan.of_type("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup")
    assert not default.inputs.get("ingress") and not default.inputs.get("egress")


def test_vpc_endpoints_follow_config(plan: Plan, config: StackConfig) -> None:
    endpoints = {e.inputs["serviceName"]: e for e in plan.of_type("aws:ec2/vpcEndpoint:VpcEndpoint")}
    expected = {endpoint_service_name(service, config.region) for service in config.network.interface_endpoints}
    gateway = f"com.amazonaws.{config.region}.s3"
    assert set(endpoints) == expected | {gateway}
    assert endpoints[gateway].inputs["vpcEndpointType"] == "Gateway"
    for name in expected:
        assert endpoints[name].inputs["privateDnsEnabled"] is True
        zones = config.network.interface_endpoint_azs or len(config.network.availability_zones)
        assert endpoints[name].inputs["subnetIds"] == outputs_of(plan)["subnet_ids"][:zones]


def test_vpc_flow_logs_go_to_the_audit_bucket(plan: Plan) -> None:
    (flow_log,) = plan.of_type("aws:ec2/flowLog:FlowLog")
    assert flow_log.inputs["trafficType"] == "ALL"
    assert flow_log.inputs["logDestination"] == f"arn:aws:s3:::{outputs_of(plan)['bucket_names']['audit']}"


def test_trail_is_multi_region_validated_encrypted_with_data_events(plan: Plan) -> None:
    (trail,) = plan.of_type("aws:cloudtrail/trail:Trail")
    inputs = trail.inputs
    assert inputs["isMultiRegionTrail"] and inputs["enableLogFileValidation"] and inputs["enableLogging"]
    assert inputs["kmsKeyId"] == key_arn(plan, "logs")
    assert inputs["s3BucketName"] == outputs_of(plan)["bucket_names"]["audit"]
    data_selector = next(s for s in inputs["advancedEventSelectors"] if "Data" in str(s))
    arns = next(f for f in data_selector["fieldSelectors"] if f["field"] == "resources.ARN")
    names = outputs_of(plan)["bucket_names"]
    environment = plan.stack
    # Every bucket of every project of the environment (their names start with the environment's), but not the
    # trail's own bucket and the access logs, whose writes would log themselves.
    assert arns["startsWiths"] == [f"arn:aws:s3:::mlops-{environment}-"]
    assert arns["notStartsWiths"] == [f"arn:aws:s3:::{names[p]}/" for p in ("audit", "access-logs")]
    assert all(names[p].startswith(f"mlops-{environment}-") for p in ("raw", "features", "artifacts"))
    audit_policy = next(
        r for r in plan.of_type("aws:s3/bucketPolicy:BucketPolicy") if r.inputs["bucket"] == names["audit"]
    )
    write = next(s for s in statements(audit_policy) if s["Sid"] == "CloudTrailWrite")
    assert write["Condition"]["StringEquals"]["aws:SourceArn"] == outputs_of(plan)["trail_arn"]


def test_alerts_topic_is_encrypted_and_subscribed(plan: Plan, config: StackConfig) -> None:
    (topic,) = plan.of_type("aws:sns/topic:Topic")
    assert topic.inputs["kmsMasterKeyId"] == key_arn(plan, "alerts")
    emails = sorted(s.inputs["endpoint"] for s in plan.of_type("aws:sns/topicSubscription:TopicSubscription"))
    assert emails == sorted(config.audit.alert_emails)
    (policy,) = plan.of_type("aws:sns/topicPolicy:TopicPolicy")
    assert any(s["Sid"] == "DenyInsecureTransport" for s in statements(policy))


def test_existing_vpc_is_used_instead_of_a_new_one(tmp_path: Path, project_root: Path) -> None:
    settings = copy.deepcopy(shipped_settings(project_root, "staging"))
    settings["mlops:network"]["existingVpc"] = {
        "vpcId": "vpc-0abc12345def67890",
        "privateSubnetIds": ["subnet-0aaa1111bbbb2222c", "subnet-0ddd3333eeee4444f"],
        "routeTableIds": ["rtb-0aaa1111bbbb2222c", "rtb-0ddd3333eeee4444f"],
    }
    write_stack(tmp_path, "staging", settings)
    plan = evaluate_stack("staging", tmp_path)
    # Jobs without internet reach S3 only through a gateway endpoint on their subnets' route tables.
    (gateway,) = [
        e.inputs for e in plan.of_type("aws:ec2/vpcEndpoint:VpcEndpoint") if e.inputs["vpcEndpointType"] == "Gateway"
    ]
    assert gateway["serviceName"] == "com.amazonaws.eu-west-1.s3"
    assert gateway["routeTableIds"] == ["rtb-0aaa1111bbbb2222c", "rtb-0ddd3333eeee4444f"]
    assert gateway["vpcId"] == "vpc-0abc12345def67890"
    egress = [r.inputs for r in plan.of_type("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")]
    assert any(rule.get("prefixListId", "").startswith("pl-") and rule["fromPort"] == 443 for rule in egress)
    assert not plan.of_type("aws:ec2/vpc:Vpc") and not plan.of_type("aws:ec2/subnet:Subnet")
    assert outputs_of(plan)["vpc_id"] == "vpc-0abc12345def67890"
    for group in plan.of_type("aws:ec2/securityGroup:SecurityGroup"):
        assert group.inputs["vpcId"] == "vpc-0abc12345def67890"
    interface = [
        e for e in plan.of_type("aws:ec2/vpcEndpoint:VpcEndpoint") if e.inputs["vpcEndpointType"] == "Interface"
    ]
    assert interface and all(
        e.inputs["subnetIds"] == ["subnet-0aaa1111bbbb2222c", "subnet-0ddd3333eeee4444f"] for e in interface
    )


def test_an_existing_vpc_with_its_own_s3_gateway_gets_egress_to_it(tmp_path: Path, project_root: Path) -> None:
    settings = copy.deepcopy(shipped_settings(project_root, "staging"))
    settings["mlops:network"]["existingVpc"] = {
        "vpcId": "vpc-0abc12345def67890",
        "privateSubnetIds": ["subnet-0aaa1111bbbb2222c", "subnet-0ddd3333eeee4444f"],
        "s3PrefixListId": "pl-6da54004",
    }
    write_stack(tmp_path, "staging", settings)
    plan = evaluate_stack("staging", tmp_path)
    assert not [e for e in plan.of_type("aws:ec2/vpcEndpoint:VpcEndpoint") if e.inputs["vpcEndpointType"] == "Gateway"]
    egress = [r.inputs for r in plan.of_type("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")]
    assert any(rule.get("prefixListId") == "pl-6da54004" and rule["fromPort"] == 443 for rule in egress)
