"""Every rule fires on a resource that breaks it and stays quiet on one that complies."""

from __future__ import annotations

import json
from typing import Any

import pytest

from policies.model import Context, Resource, Rule
from policies.registry import all_rules
from tests.helpers import FIXTURE_STACKS, load_view

TAGS = {"owner": "o", "environment": "prod", "cost-center": "c", "project": "p", "managed-by": "pulumi"}
PROD = Context("prod", ("ml.m5.large",))
DEV = Context("dev", ("ml.m5.large",))


def r(token: str, **props: Any) -> Resource:
    return Resource(token, "r", f"urn:pulumi:prod::mlops::{token}::r", props)


def policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def pipeline(processing: dict[str, Any], training: dict[str, Any], defaults: dict[str, str] | None = None) -> str:
    return json.dumps(
        {
            "Parameters": [{"Name": k, "DefaultValue": v} for k, v in (defaults or {}).items()],
            "Steps": [
                {"Name": "P", "Type": "Processing", "Arguments": processing},
                {
                    "Name": "C",
                    "Type": "Condition",
                    "Arguments": {
                        "IfSteps": [{"Name": "T", "Type": "Training", "Arguments": training}],
                        "ElseSteps": [],
                    },
                },
            ],
        }
    )


GOOD_PROCESSING = {
    "ProcessingResources": {"ClusterConfig": {"VolumeKmsKeyId": "k", "InstanceType": "ml.m5.large"}},
    "ProcessingOutputConfig": {"KmsKeyId": "k"},
    "NetworkConfig": {"VpcConfig": {"Subnets": ["s"]}},
}
GOOD_TRAINING = {
    "ResourceConfig": {"VolumeKmsKeyId": "k", "InstanceType": "ml.m5.large"},
    "OutputDataConfig": {"KmsKeyId": "k"},
    "VpcConfig": {"Subnets": ["s"]},
    "EnableNetworkIsolation": True,
    "EnableManagedSpotTraining": True,
}
BUCKET = "aws:s3/bucket:Bucket"
SSE = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
PAB = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
EC = "aws:sagemaker/endpointConfiguration:EndpointConfiguration"
OIDC = "token.actions.githubusercontent.com"


def kms_sse(bucket: str, algorithm: str = "aws:kms") -> Resource:
    default = (
        {"sseAlgorithm": algorithm, "kmsMasterKeyId": "k"} if algorithm == "aws:kms" else {"sseAlgorithm": algorithm}
    )
    return r(SSE, bucket=bucket, rules=[{"applyServerSideEncryptionByDefault": default}])


LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"


def trust(subject: str | list[str], audience: str = "sts.amazonaws.com") -> str:
    return policy({"Effect": "Allow", "Principal": {"Federated": f"arn:aws:iam::1:oidc-provider/{OIDC}"}, "Action": "sts:AssumeRoleWithWebIdentity",
                   "Condition": {"StringEquals": {f"{OIDC}:aud": audience, f"{OIDC}:sub": subject}}})  # fmt: skip


# rule id -> (context, compliant resources, violating resources, expected message)
CASES: dict[str, tuple[Context, list[Resource], list[Resource], str]] = {
    "s3-bucket-kms-encryption": (
        PROD,
        [
            r(BUCKET, bucket="b"),
            kms_sse("b"),
            r(BUCKET, bucket="logs", tags={"purpose": "access-logs"}),
            kms_sse("logs", "AES256"),
        ],
        [r(BUCKET, bucket="b"), kms_sse("b", "AES256")],
        "not encrypted with a customer-managed KMS key",
    ),
    "kms-key-rotation": (
        PROD,
        [r("aws:kms/key:Key", enableKeyRotation=True)],
        [r("aws:kms/key:Key")],
        "rotation is off",
    ),
    "sns-topic-kms": (
        PROD,
        [r("aws:sns/topic:Topic", kmsMasterKeyId="k")],
        [r("aws:sns/topic:Topic")],
        "not encrypted",
    ),
    "log-group-kms": (
        PROD,
        [r("aws:cloudwatch/logGroup:LogGroup", kmsKeyId="k")],
        [r("aws:cloudwatch/logGroup:LogGroup")],
        "not encrypted",
    ),
    "feature-store-kms": (
        PROD,
        [r("aws:sagemaker/featureGroup:FeatureGroup", offlineStoreConfig={"s3StorageConfig": {"kmsKeyId": "k"}})],
        [
            r(
                "aws:sagemaker/featureGroup:FeatureGroup",
                offlineStoreConfig={"s3StorageConfig": {"kmsKeyId": "k"}},
                onlineStoreConfig={"enableOnlineStore": True},
            )
        ],
        "online store is not KMS-encrypted",
    ),
    "endpoint-kms": (
        PROD,
        [
            r(
                EC,
                kmsKeyArn="k",
                productionVariants=[{"instanceType": "ml.m5.large"}],
                dataCaptureConfig={"enableCapture": True, "kmsKeyId": "k"},
            )
        ],
        [r(EC, productionVariants=[{"instanceType": "ml.m5.large"}])],
        "instance storage of a realtime endpoint",
    ),
    "pipeline-jobs-kms": (
        PROD,
        [r("aws:sagemaker/pipeline:Pipeline", pipelineDefinition=pipeline(GOOD_PROCESSING, GOOD_TRAINING))],
        [
            r(
                "aws:sagemaker/pipeline:Pipeline",
                pipelineDefinition=pipeline({**GOOD_PROCESSING, "ProcessingOutputConfig": {}}, GOOD_TRAINING),
            )
        ],
        "step P lacks a output KMS key",
    ),
    "sagemaker-monitoring-kms": (
        PROD,
        [
            r(
                "aws:sagemaker/dataQualityJobDefinition:DataQualityJobDefinition",
                jobResources={"clusterConfig": {"volumeKmsKeyId": "k"}},
                jobOutputConfig={"kmsKeyId": "k"},
            )
        ],
        [r("aws:sagemaker/dataQualityJobDefinition:DataQualityJobDefinition", jobResources={"clusterConfig": {}})],
        "does not encrypt",
    ),
    "s3-public-access-blocked": (
        PROD,
        [
            r(BUCKET, bucket="b"),
            r(
                PAB,
                bucket="b",
                blockPublicAcls=True,
                blockPublicPolicy=True,
                ignorePublicAcls=True,
                restrictPublicBuckets=True,
            ),
        ],
        [
            r(BUCKET, bucket="b"),
            r(
                PAB,
                bucket="b",
                blockPublicAcls=True,
                blockPublicPolicy=False,
                ignorePublicAcls=True,
                restrictPublicBuckets=True,
            ),
        ],
        "leaves blockPublicPolicy off",
    ),
    "security-group-no-world-ingress": (
        PROD,
        [r("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", referencedSecurityGroupId="sg-1")],
        [r("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", cidrIpv4="0.0.0.0/0", fromPort=22, toPort=22)],
        "open to the internet (22-22)",
    ),
    "no-internet-paths": (
        PROD,
        [r("aws:ec2/subnet:Subnet", mapPublicIpOnLaunch=False)],
        [r("aws:ec2/internetGateway:InternetGateway")],
        "InternetGateway gives the VPC a path to the internet",
    ),
    "iam-no-wildcard-writes": (
        PROD,
        [
            r(
                "aws:iam/policy:Policy",
                name="x",
                policy=policy(
                    {
                        "Effect": "Allow",
                        "Action": ["sagemaker:DescribeModel", "ecr:GetAuthorizationToken"],
                        "Resource": "*",
                    }
                ),
            )
        ],
        [
            r(
                "aws:iam/policy:Policy",
                name="x",
                policy=policy({"Sid": "W", "Effect": "Allow", "Action": ["s3:PutObject"], "Resource": "*"}),
            )
        ],
        "statement W allows s3:PutObject on every resource",
    ),
    "iam-no-managed-full-access": (
        PROD,
        [r("aws:iam/rolePolicyAttachment:RolePolicyAttachment", policyArn="arn:aws:iam::1:policy/mine")],
        [
            r(
                "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
                policyArn="arn:aws:iam::aws:policy/AmazonSageMakerFullAccess",
            )
        ],
        "AmazonSageMakerFullAccess",
    ),
    "iam-role-boundary": (
        PROD,
        [r("aws:iam/role:Role", permissionsBoundary="arn:b")],
        [r("aws:iam/role:Role")],
        "no permissions boundary",
    ),
    "oidc-trust-pinned": (
        PROD,
        [
            r("aws:iam/role:Role", permissionsBoundary="b", assumeRolePolicy=trust("repo:org/repo:environment:prod")),
            r(
                "aws:iam/role:Role",
                permissionsBoundary="b",
                assumeRolePolicy=trust(["repo:org/repo:pull_request", "repo:org/repo:ref:refs/heads/main"]),
            ),
        ],
        [
            r("aws:iam/role:Role", permissionsBoundary="b", assumeRolePolicy=trust("repo:org/*")),
            r(
                "aws:iam/role:Role",
                permissionsBoundary="b",
                assumeRolePolicy=trust(["repo:org/repo:pull_request", "repo:other/repo:ref:refs/heads/main"]),
            ),
        ],
        "does not pin one repository",
    ),
    "sagemaker-model-isolated": (
        PROD,
        [r("aws:sagemaker/model:Model", enableNetworkIsolation=True, vpcConfig={"subnets": ["s"]})],
        [r("aws:sagemaker/model:Model", vpcConfig={"subnets": ["s"]})],
        "can reach the network",
    ),
    "sagemaker-jobs-in-vpc": (
        PROD,
        [r("aws:sagemaker/pipeline:Pipeline", pipelineDefinition=pipeline(GOOD_PROCESSING, GOOD_TRAINING))],
        [
            r(
                "aws:sagemaker/pipeline:Pipeline",
                pipelineDefinition=pipeline(GOOD_PROCESSING, {**GOOD_TRAINING, "EnableNetworkIsolation": False}),
            )
        ],
        "training step T is not network-isolated",
    ),
    "sagemaker-capture-outside-dev": (
        PROD,
        [r(EC, dataCaptureConfig={"enableCapture": True, "initialSamplingPercentage": 10})],
        [r(EC, dataCaptureConfig={"enableCapture": False})],
        "must capture traffic",
    ),
    "sagemaker-prod-two-instances": (
        PROD,
        [
            r(
                EC,
                productionVariants=[
                    {"variantName": "primary", "instanceType": "ml.m5.large", "initialInstanceCount": 2}
                ],
            )
        ],
        [
            r(
                EC,
                productionVariants=[
                    {"variantName": "primary", "instanceType": "ml.m5.large", "initialInstanceCount": 1}
                ],
            )
        ],
        "runs 1 instance(s); prod needs 2",
    ),
    "sagemaker-prod-auto-rollback": (
        PROD,
        [
            r(
                "aws:sagemaker/endpoint:Endpoint",
                deploymentConfig={"autoRollbackConfiguration": {"alarms": [{"alarmName": "a"}]}},
            )
        ],
        [r("aws:sagemaker/endpoint:Endpoint")],
        "no alarm to roll it back",
    ),
    "sagemaker-instance-allowlist": (
        PROD,
        [r(EC, productionVariants=[{"instanceType": "ml.m5.large"}])],
        [
            r(
                "aws:sagemaker/pipeline:Pipeline",
                pipelineDefinition=pipeline(
                    GOOD_PROCESSING, GOOD_TRAINING, {"TrainingInstanceType": "ml.p4d.24xlarge"}
                ),
            )
        ],
        "ml.p4d.24xlarge is not allowed in prod",
    ),
    "sagemaker-spot-in-dev": (
        DEV,
        [r("aws:sagemaker/pipeline:Pipeline", pipelineDefinition=pipeline(GOOD_PROCESSING, GOOD_TRAINING))],
        [
            r(
                "aws:sagemaker/pipeline:Pipeline",
                pipelineDefinition=pipeline(GOOD_PROCESSING, {**GOOD_TRAINING, "EnableManagedSpotTraining": False}),
            )
        ],
        "runs on-demand in dev",
    ),
    "cost-endpoint-instances": (
        DEV,
        [r(EC, productionVariants=[{"variantName": "primary", "serverlessConfig": {}}])],
        [
            r(
                EC,
                productionVariants=[
                    {"variantName": "primary", "instanceType": "ml.m5.large", "initialInstanceCount": 1}
                ],
            )
        ],
        "dev runs serverless only",
    ),
    "cloudtrail-validated-encrypted": (
        PROD,
        [
            r(
                "aws:cloudtrail/trail:Trail",
                isMultiRegionTrail=True,
                enableLogFileValidation=True,
                kmsKeyId="k",
                cloudWatchLogsGroupArn="arn:aws:logs:eu-west-1:1:log-group:t:*",
                cloudWatchLogsRoleArn="arn:aws:iam::1:role/t",
            )
        ],
        [r("aws:cloudtrail/trail:Trail", isMultiRegionTrail=True, kmsKeyId="k")],
        "trail lacks log file validation, CloudWatch Logs delivery",
    ),
    "log-groups-governed": (
        PROD,
        [
            r("aws:sagemaker/pipeline:Pipeline"),
            r("aws:sagemaker/endpoint:Endpoint", name="e"),
            *[
                r(LOG_GROUP, name=n, kmsKeyId="k", retentionInDays=365)
                for n in (
                    "/aws/sagemaker/TrainingJobs",
                    "/aws/sagemaker/ProcessingJobs",
                    "/aws/sagemaker/TransformJobs",
                    "/aws/sagemaker/Endpoints/e",
                )
            ],
        ],
        [
            r("aws:sagemaker/pipeline:Pipeline"),
            r(LOG_GROUP, name="/aws/sagemaker/TrainingJobs", kmsKeyId="k"),
        ],
        "keeps its events forever",
    ),
    "mandatory-tags": (
        PROD,
        [r("aws:sns/topic:Topic", tags=TAGS)],
        [r("aws:sns/topic:Topic", tags={**TAGS, "owner": ""})],
        "missing tag(s) owner",
    ),
}


def _budget_context(budget: float) -> Context:
    config = load_view(FIXTURE_STACKS / "Pulumi.prod.yaml")
    cost = config.cost.model_copy(update={"monthly_budget_usd": budget})
    return Context("prod", tuple(config.allowed_instance_types), config.model_copy(update={"cost": cost}))


_ENDPOINT = r(
    EC, productionVariants=[{"variantName": "primary", "instanceType": "ml.c5.2xlarge", "initialInstanceCount": 2}]
)
_APP = "aws:sagemaker/mlflowApp:MlflowApp"
CASES["sagemaker-tracking-governed"] = (
    PROD,
    [r(BUCKET, bucket="artifacts"), r(_APP, artifactStoreUri="s3://artifacts/mlflow/",
                                     modelRegistrationMode="AutoModelRegistrationDisabled")],
    [r(BUCKET, bucket="artifacts"), r(_APP, artifactStoreUri="s3://someone-elses/mlflow/",
                                     modelRegistrationMode="AutoModelRegistrationEnabled")],
    "not to a bucket this stack governs",
)  # fmt: skip
# SageMaker developer guide: serverless feature exclusions; deployment guardrails exclusions (rolling).
_MODEL = "aws:sagemaker/model:Model"
_SERVERLESS_MODEL = r(_MODEL, name="m", enableNetworkIsolation=False)
_SERVERLESS = r(
    EC,
    name="c",
    kmsKeyArn="k",
    productionVariants=[{"variantName": "primary", "modelName": "m", "serverlessConfig": {"memorySizeInMb": 2048}}],
)
CASES["sagemaker-serverless-exclusions"] = (
    DEV,
    [_SERVERLESS_MODEL, _SERVERLESS, r("aws:sagemaker/endpoint:Endpoint", name="e", endpointConfigName="c")],
    [
        r(_MODEL, name="m", enableNetworkIsolation=True, vpcConfig={"subnets": ["s"]}),
        r(EC, **{**_SERVERLESS.props, "dataCaptureConfig": {"enableCapture": True}}),
    ],
    "a serverless endpoint cannot capture data",
)
CASES["cost-idle-within-budget"] = (_budget_context(1000), [_ENDPOINT], [_ENDPOINT], "")  # context swapped below


def rule(rule_id: str) -> Rule:
    return next(candidate for candidate in all_rules() if candidate.id == rule_id)


def test_every_rule_has_a_compliant_and_a_violating_case() -> None:
    assert sorted(CASES) == sorted(r.id for r in all_rules())


@pytest.mark.parametrize("rule_id", sorted(CASES))
def test_rule_is_quiet_on_compliant_resources(rule_id: str) -> None:
    context, good, _, _ = CASES[rule_id]
    assert rule(rule_id).run(good, context) == []


@pytest.mark.parametrize("rule_id", sorted(CASES))
def test_rule_fires_on_a_violating_resource(rule_id: str) -> None:
    context, _, bad, expected = CASES[rule_id]
    if rule_id == "cost-idle-within-budget":  # the same endpoint breaks a smaller budget
        context, expected = _budget_context(500), "exceeds the prod budget of $500.00"
    messages = [v.message for v in rule(rule_id).run(bad, context)]
    assert messages and any(expected in message for message in messages), messages


def test_tracking_rule_also_refuses_self_registration() -> None:
    _, _, bad, _ = CASES["sagemaker-tracking-governed"]
    messages = [v.message for v in rule("sagemaker-tracking-governed").run(bad, PROD)]
    assert any("registers models in the SageMaker registry by itself" in m for m in messages)


def test_clarify_jobs_are_held_to_the_job_rules() -> None:
    clarify = {**GOOD_PROCESSING, "NetworkConfig": {}}
    definition = json.loads(pipeline(GOOD_PROCESSING, GOOD_TRAINING))
    definition["Steps"].append({"Name": "DataBiasCheck", "Type": "ClarifyCheck", "Arguments": clarify})
    resource = r("aws:sagemaker/pipeline:Pipeline", pipelineDefinition=json.dumps(definition))
    messages = [v.message for v in rule("sagemaker-jobs-in-vpc").run([resource], PROD)]
    assert messages == ["step DataBiasCheck does not run in the VPC"]


def test_rules_document_why_fix_and_mapping() -> None:
    for candidate in all_rules():
        assert candidate.why and candidate.fix and candidate.control, candidate.id
        assert candidate.id == candidate.id.lower() and " " not in candidate.id


def test_serverless_exclusions_name_each_excluded_feature() -> None:
    models = [r(_MODEL, name="m", enableNetworkIsolation=True, vpcConfig={"subnets": ["s"]}), r(_MODEL, name="n")]
    two_variants = {**_SERVERLESS.props["productionVariants"][0], "variantName": "challenger", "modelName": "n"}
    config = r(
        EC,
        **{
            **_SERVERLESS.props,
            "productionVariants": [*_SERVERLESS.props["productionVariants"], two_variants],
            "shadowProductionVariants": [{"variantName": "shadow", "modelName": "n"}],
        },
    )
    endpoint = r(
        "aws:sagemaker/endpoint:Endpoint",
        name="e",
        endpointConfigName="c",
        deploymentConfig={"rollingUpdatePolicy": {"maximumBatchSize": {"type": "CAPACITY_PERCENT", "value": 25}}},
    )
    monitor = r(
        "aws:sagemaker/dataQualityJobDefinition:DataQualityJobDefinition",
        dataQualityJobInput={"endpointInput": {"endpointName": "e"}},
    )
    messages = [
        v.message for v in rule("sagemaker-serverless-exclusions").run([*models, config, endpoint, monitor], DEV)
    ]
    assert messages == [
        "a serverless endpoint has 2 production variants; it supports one",
        "a serverless endpoint cannot have shadow variants",
        "model m is served serverless, which supports no VPC configuration",
        "model m is served serverless, which supports no network isolation",
        "rolling deployments do not support serverless endpoints",
        "rolling deployments do not support multi-variant endpoints",
        "Model Monitor does not support serverless endpoints",
    ]


def test_rolling_deployments_need_a_single_realtime_variant() -> None:
    variants = [{"variantName": name, "modelName": name, "instanceType": "ml.m5.large"} for name in ("a", "b")]
    rolling = {"rollingUpdatePolicy": {"maximumBatchSize": {"type": "CAPACITY_PERCENT", "value": 25}}}
    endpoint = r("aws:sagemaker/endpoint:Endpoint", name="e", endpointConfigName="c", deploymentConfig=rolling)
    single = r(EC, name="c", productionVariants=variants[:1])
    double = r(EC, name="c", productionVariants=variants)
    check = rule("sagemaker-serverless-exclusions")
    assert check.run([single, endpoint], PROD) == []
    assert [v.message for v in check.run([double, endpoint], PROD)] == [
        "rolling deployments do not support multi-variant endpoints"
    ]


def test_only_devs_serverless_model_may_run_outside_the_vpc() -> None:
    isolated = rule("sagemaker-model-isolated")
    assert isolated.run([_SERVERLESS_MODEL, _SERVERLESS], DEV) == []
    assert {v.message for v in isolated.run([_SERVERLESS_MODEL, _SERVERLESS], PROD)} == {
        "the model container can reach the network",
        "the model does not run in the VPC",
    }
    assert isolated.run([r(_MODEL, name="other"), _SERVERLESS], DEV), "only the serverless endpoint's own model"


def test_log_group_rule_names_each_undeclared_sagemaker_group() -> None:
    _, _, bad, _ = CASES["log-groups-governed"]
    messages = [v.message for v in rule("log-groups-governed").run(bad, PROD)]
    assert any("/aws/sagemaker/ProcessingJobs, which the stack does not declare" in m for m in messages)
    assert any("/aws/sagemaker/TransformJobs" in m for m in messages)
    assert not any("TrainingJobs, which" in m for m in messages)


def test_oidc_rule_refuses_each_unpinned_trust() -> None:
    _, _, bad, _ = CASES["oidc-trust-pinned"]
    assert len(rule("oidc-trust-pinned").run(bad, PROD)) == len(bad)
