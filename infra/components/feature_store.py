"""SageMaker Feature Store as code: one feature group per schema file, with its catalog and query workgroup."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import pulumi
import pulumi_aws as aws

from kernel.feature_schema import FeatureGroupSchema
from kernel.naming import Naming

ATHENA_RESULTS_PREFIX = "athena-results/"
OFFLINE_STORE_PREFIX = "offline-store"
QUERY_SCAN_LIMIT_BYTES = 10 * 1024**3
"""A runaway query stops after 10 GiB scanned (about $0.05), never a surprise bill."""


@dataclass(frozen=True)
class FeatureStoreArgs:
    """Inputs of `FeatureStore`."""

    naming: Naming
    tags: Mapping[str, str]
    schemas: Sequence[FeatureGroupSchema]
    role_arn: pulumi.Input[str]
    """The feature-store execution role (writes the offline store and its Glue table)."""
    data_key_arn: pulumi.Input[str]
    models_key_arn: pulumi.Input[str]
    features_bucket: pulumi.Input[str]
    artifacts_bucket: pulumi.Input[str]
    online_store: bool
    online_ttl_days: int | None
    table_format: Literal["Iceberg", "Glue"]
    depends_on: Sequence[pulumi.Resource] = ()
    """The role's policies: Feature Store checks them when the group is created."""


class FeatureStore(pulumi.ComponentResource):
    """Feature groups, their catalog and the workgroup that queries them.

    Each group has an encrypted, optional online store and an encrypted offline store catalogued in
    this environment's Glue database; the Athena workgroup's results are KMS-encrypted and its
    settings cannot be overridden by a query.
    """

    feature_group_names: dict[str, pulumi.Output[str]]
    database_name: pulumi.Output[str]
    workgroup_name: pulumi.Output[str]

    def __init__(self, name: str, args: FeatureStoreArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:features:FeatureStore", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        database = aws.glue.CatalogDatabase(
            f"{name}-catalog",
            name=args.naming.glue_database("features"),
            description=f"{args.naming.base}: offline feature store tables",
            tags=dict(args.tags),
            opts=child,
        )
        workgroup = aws.athena.Workgroup(
            f"{name}-queries",
            name=args.naming.resource("features"),
            description="Queries over the offline feature store",
            force_destroy=False,
            configuration={
                "enforce_workgroup_configuration": True,
                "publish_cloudwatch_metrics_enabled": True,
                "bytes_scanned_cutoff_per_query": QUERY_SCAN_LIMIT_BYTES,
                "result_configuration": {
                    "output_location": pulumi.Output.concat("s3://", args.artifacts_bucket, "/", ATHENA_RESULTS_PREFIX),
                    "encryption_configuration": {"encryption_option": "SSE_KMS", "kms_key_arn": args.models_key_arn},
                },
            },
            tags=dict(args.tags),
            opts=child,
        )
        self.feature_group_names = {}
        for schema in args.schemas:
            group = self._feature_group(name, schema, args, database)
            self.feature_group_names[schema.name] = group.feature_group_name
        self.database_name = database.name
        self.workgroup_name = workgroup.name
        self.register_outputs({"feature_group_names": self.feature_group_names, "workgroup_name": self.workgroup_name})

    def _feature_group(
        self, name: str, schema: FeatureGroupSchema, args: FeatureStoreArgs, database: aws.glue.CatalogDatabase
    ) -> aws.sagemaker.FeatureGroup:
        online: aws.sagemaker.FeatureGroupOnlineStoreConfigArgsDict = {
            "enable_online_store": True,
            "security_config": {"kms_key_id": args.data_key_arn},
        }
        if args.online_ttl_days:
            online["ttl_duration"] = {"unit": "Days", "value": args.online_ttl_days}
        return aws.sagemaker.FeatureGroup(
            f"{name}-{schema.name}",
            feature_group_name=args.naming.sagemaker(schema.name),
            description=schema.description,
            record_identifier_feature_name=schema.record_identifier,
            event_time_feature_name=schema.event_time,
            feature_definitions=[
                {"feature_name": feature.name, "feature_type": feature.type} for feature in schema.features
            ],
            role_arn=args.role_arn,
            online_store_config=online if args.online_store else None,
            offline_store_config={
                "s3_storage_config": {
                    "s3_uri": pulumi.Output.concat("s3://", args.features_bucket, "/", OFFLINE_STORE_PREFIX),
                    "kms_key_id": args.data_key_arn,
                },
                "data_catalog_config": {
                    "catalog": "AwsDataCatalog",
                    "database": database.name,
                    "table_name": schema.offline_table,
                },
                "table_format": args.table_format,
                "disable_glue_table_creation": False,
            },
            tags={**args.tags, "feature-owner": schema.owner},
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.depends_on)),
        )
