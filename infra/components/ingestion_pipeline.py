"""Bulk ingestion on Spark as Pulumi resources: one SageMaker pipeline per feature group of the project.

Created where the project's `featureStore.ingestion.engine` is `spark` in the stack's environment. Each
pipeline runs `steps/ingest_spark.py` (staged with the other step code) on SageMaker's Spark image under
the jobs role, in the VPC with KMS; its definition is rendered from the committed template, so a plan
compiles nothing and uploads nothing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from kernel.feature_schema import FeatureGroupSchema
from kernel.models import StackConfig
from kernel.naming import Naming
from pipelines.definitions.settings import ingestion_settings
from pipelines.definitions.templates import render_definition


@dataclass(frozen=True)
class IngestionPipelinesArgs:
    """Inputs of `IngestionPipelines`."""

    naming: Naming
    tags: Mapping[str, str]
    config: StackConfig
    schemas: Sequence[FeatureGroupSchema]
    feature_group_names: Mapping[str, pulumi.Input[str]]
    """Schema name -> the deployed feature group's name (its ARN is built from it)."""
    artifacts_bucket: pulumi.Input[str]
    raw_bucket: pulumi.Input[str]
    models_key_arn: pulumi.Input[str]
    jobs_role_arn: pulumi.Input[str]
    pipeline_role_arn: pulumi.Input[str]
    subnet_ids: Sequence[pulumi.Input[str]]
    security_group_ids: Sequence[pulumi.Input[str]]
    code_prefix: str


class IngestionPipelines(pulumi.ComponentResource):
    """The Spark ingestion pipeline of each feature group (`ingest-<group>`)."""

    pipeline_names: dict[str, pulumi.Output[str]]

    def __init__(self, name: str, args: IngestionPipelinesArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:pipelines:IngestionPipelines", name, None, opts)
        self.pipeline_names = {
            schema.name: self._pipeline(f"{name}-{schema.name}", args, schema).pipeline_name for schema in args.schemas
        }
        self.register_outputs({"pipeline_names": self.pipeline_names})

    def _pipeline(self, name: str, args: IngestionPipelinesArgs, schema: FeatureGroupSchema) -> aws.sagemaker.Pipeline:
        naming = args.naming
        resolved = pulumi.Output.all(
            artifacts_bucket=args.artifacts_bucket,
            raw_bucket=args.raw_bucket,
            kms_key_arn=args.models_key_arn,
            jobs_role_arn=args.jobs_role_arn,
            subnet_ids=pulumi.Output.all(*args.subnet_ids),
            security_group_ids=pulumi.Output.all(*args.security_group_ids),
            feature_group=args.feature_group_names[schema.name],
        )
        definition = resolved.apply(
            lambda values: json.dumps(
                render_definition(
                    ingestion_settings(
                        args.config,
                        schema,
                        {
                            **values,
                            "code_prefix": args.code_prefix,
                            "project": naming.project,
                            "feature_group_arn": (
                                f"arn:aws:sagemaker:{naming.region}:{naming.account_id}:feature-group/"
                                f"{values['feature_group']}"
                            ),
                        },
                    )
                ),
                sort_keys=True,
            )
        )
        pipeline_name = naming.sagemaker(f"ingest-{schema.name}")
        return aws.sagemaker.Pipeline(
            name,
            pipeline_name=pipeline_name,
            pipeline_display_name=pipeline_name,
            pipeline_description=f"validate a dataset against {schema.name} and ingest it with Spark",
            role_arn=args.pipeline_role_arn,
            pipeline_definition=definition,
            tags=dict(args.tags),
            opts=pulumi.ResourceOptions(parent=self),
        )
