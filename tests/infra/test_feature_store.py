"""Issue 5 on every stack: one encrypted, catalogued feature group per schema; queries encrypted."""

from __future__ import annotations

import boto3
from moto import mock_aws

from kernel import StackConfig
from kernel.plan import Plan
from kernel.projects import load_project
from pipelines.plan_requests import api_request
from tests.helpers import FIXTURE_STACKS, outputs_of


def test_one_feature_group_per_schema(plan: Plan, config: StackConfig, stack: str) -> None:
    groups = plan.of_type("aws:sagemaker/featureGroup:FeatureGroup")
    schemas = load_project(FIXTURE_STACKS, "churn").schemas  # the project's features/*.yaml
    assert all(g.ml_project == "churn" for g in groups), "feature groups belong to their project's stack"
    assert sorted(g.inputs["featureGroupName"] for g in groups) == sorted(
        f"mlops-{stack}-churn-{s.name}" for s in schemas
    )
    for group, schema in zip(sorted(groups, key=lambda g: g.name), sorted(schemas, key=lambda s: s.name), strict=True):
        assert group.inputs["recordIdentifierFeatureName"] == schema.record_identifier
        assert group.inputs["eventTimeFeatureName"] == schema.event_time
        assert [d["featureType"] for d in group.inputs["featureDefinitions"]] == [f.type for f in schema.features]
        assert group.inputs["roleArn"] == outputs_of(plan)["role_arns"]["feature-store"]


def test_both_stores_are_encrypted_and_catalogued(plan: Plan, config: StackConfig, stack: str) -> None:
    data_key = outputs_of(plan)["key_arns"]["data"]
    for group in plan.of_type("aws:sagemaker/featureGroup:FeatureGroup"):
        offline = group.inputs["offlineStoreConfig"]
        assert offline["s3StorageConfig"]["kmsKeyId"] == data_key
        assert offline["s3StorageConfig"]["s3Uri"].startswith(f"s3://{outputs_of(plan)['bucket_names']['features']}/")
        assert offline["dataCatalogConfig"]["database"] == f"mlops_{stack}_churn_features"
        assert offline["tableFormat"] == config.feature_store.table_format == "Iceberg"
        online = group.inputs.get("onlineStoreConfig")
        if not config.feature_store.online_store:
            assert online is None
            continue
        assert online["enableOnlineStore"] is True and online["securityConfig"]["kmsKeyId"] == data_key
        assert online["ttlDuration"] == {"unit": "Days", "value": config.feature_store.online_ttl_days}


def test_query_results_are_encrypted_and_enforced(plan: Plan) -> None:
    (workgroup,) = plan.of_type("aws:athena/workgroup:Workgroup")
    configuration = workgroup.inputs["configuration"]
    assert configuration["enforceWorkgroupConfiguration"] is True
    results = configuration["resultConfiguration"]
    assert results["encryptionConfiguration"] == {
        "encryptionOption": "SSE_KMS",
        "kmsKeyArn": outputs_of(plan)["key_arns"]["models"],
    }
    assert results["outputLocation"] == f"s3://{outputs_of(plan)['bucket_names']['artifacts']}/athena-results/"


def test_planned_feature_group_is_accepted_by_the_sagemaker_api(plans: dict[str, Plan]) -> None:
    """botocore validates the whole request (online store included) against AWS's model; moto keeps the rest."""
    plan = plans["staging"]
    (group,) = plan.of_type("aws:sagemaker/featureGroup:FeatureGroup")
    with mock_aws():
        client = boto3.client("sagemaker", region_name="eu-west-1")
        client.create_feature_group(**api_request(group.inputs))
        described = client.describe_feature_group(FeatureGroupName=group.inputs["featureGroupName"])
    assert described["OfflineStoreConfig"]["S3StorageConfig"]["KmsKeyId"] == outputs_of(plan)["key_arns"]["data"]
    assert len(described["FeatureDefinitions"]) == len(load_project(FIXTURE_STACKS, "churn").schemas[0].features)
