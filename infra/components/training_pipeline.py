"""The training pipeline as a Pulumi resource: step code staged content-addressed, definition compiled."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from kernel.models import TrainingConfig
from kernel.naming import Naming
from kernel.projects import ProjectSpec
from pipelines.definitions.clarify import CHECKS, analysis_configs, config_prefix, config_text
from pipelines.definitions.code import SPEC_FILE, code_prefix, step_scripts
from pipelines.definitions.settings import pipeline_settings
from pipelines.definitions.templates import render_definition

MAX_PARALLEL_STEPS = 4


@dataclass(frozen=True)
class TrainingPipelineArgs:
    """Inputs of `TrainingPipeline`."""

    naming: Naming
    tags: Mapping[str, str]
    training: TrainingConfig | None
    """None where no model is trained (staging, prod): only the step code the drift job runs is staged."""
    artifacts_bucket: pulumi.Input[str]
    raw_bucket: pulumi.Input[str]
    models_key_arn: pulumi.Input[str]
    jobs_role_arn: pulumi.Input[str]
    model_role_arn: pulumi.Input[str]
    pipeline_role_arn: pulumi.Input[str]
    subnet_ids: Sequence[pulumi.Input[str]]
    security_group_ids: Sequence[pulumi.Input[str]]
    model_package_group: pulumi.Input[str]
    feature_database: pulumi.Input[str]
    feature_table: str
    feature_workgroup: pulumi.Input[str]
    config_hash: str
    project: ProjectSpec
    """The project's data contract: staged beside the scripts as `project.json`, which every step reads."""
    tracking_arn: pulumi.Input[str] | None = None
    """The environment's MLflow App or tracking server (None: tracking is off)."""


class TrainingPipeline(pulumi.ComponentResource):
    """The training pipeline and the code it runs.

    The step scripts become KMS-encrypted S3 objects under `code/<content hash>/`, and the SageMaker
    pipeline's definition references exactly those objects.

    Changing a script changes the hash, so the pipeline is updated to the new code in the same
    deployment; an unchanged repository plans no diff. Nothing is uploaded except by `pulumi up`.
    Where no model is trained (staging, prod) only the code is staged: their drift job runs it.
    """

    pipeline_name: pulumi.Output[str] | None
    pipeline_arn: pulumi.Output[str] | None
    code_prefix: str

    def __init__(self, name: str, args: TrainingPipelineArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:pipelines:TrainingPipeline", name, None, opts)
        self.code_prefix = code_prefix(args.project)
        objects = [
            self._staged(
                f"{name}-code-{path.stem}",
                args,
                f"{self.code_prefix}{path.name}",
                "text/x-python",
                source=pulumi.FileAsset(str(path)),
            )
            for path in step_scripts()
        ]
        objects.append(
            self._staged(
                f"{name}-code-project",
                args,
                f"{self.code_prefix}{SPEC_FILE}",
                "application/json",
                content=args.project.to_json(),
            )
        )
        self.pipeline_name = self.pipeline_arn = None
        if args.training is not None:
            staged = objects + self._clarify_configs(name, args, args.training)
            pipeline = self._pipeline(name, args, args.training, staged)
            self.pipeline_name, self.pipeline_arn = pipeline.pipeline_name, pipeline.arn
        self.register_outputs({"pipeline_name": self.pipeline_name, "code_prefix": self.code_prefix})

    def _pipeline(
        self, name: str, args: TrainingPipelineArgs, training: TrainingConfig, staged: list[aws.s3.BucketObjectv2]
    ) -> aws.sagemaker.Pipeline:
        """The SageMaker pipeline, its definition rendered from the committed template with the stack's values."""
        resolved = pulumi.Output.all(
            artifacts_bucket=args.artifacts_bucket,
            raw_bucket=args.raw_bucket,
            kms_key_arn=args.models_key_arn,
            jobs_role_arn=args.jobs_role_arn,
            model_role_arn=args.model_role_arn,
            subnet_ids=pulumi.Output.all(*args.subnet_ids),
            security_group_ids=pulumi.Output.all(*args.security_group_ids),
            model_package_group=args.model_package_group,
            feature_database=args.feature_database,
            feature_workgroup=args.feature_workgroup,
            tracking_arn=args.tracking_arn or "",
        )
        definition = resolved.apply(
            lambda values: json.dumps(
                render_definition(
                    pipeline_settings(
                        training,
                        args.naming.region,
                        {
                            **values,
                            "code_prefix": self.code_prefix,
                            "feature_table": args.feature_table,
                            "config_hash": args.config_hash,
                        },
                        args.project,
                    )
                ),
                sort_keys=True,
            )
        )
        return aws.sagemaker.Pipeline(
            f"{name}-training",
            pipeline_name=args.naming.sagemaker("training"),
            pipeline_display_name=args.naming.sagemaker("training"),
            pipeline_description="preprocess, train, evaluate, register if the metric passes",
            role_arn=args.pipeline_role_arn,
            pipeline_definition=definition,
            parallelism_configuration={"max_parallel_execution_steps": MAX_PARALLEL_STEPS},
            tags=dict(args.tags),
            opts=pulumi.ResourceOptions(parent=self, depends_on=staged),
        )

    def _clarify_configs(
        self, name: str, args: TrainingPipelineArgs, training: TrainingConfig
    ) -> list[aws.s3.BucketObjectv2]:
        """The Clarify checks' analysis configs, staged content-addressed next to the step code."""
        configs = analysis_configs(args.project, training.processing_instance_type)  # checked
        prefix = config_prefix(configs)
        return [
            self._staged(
                f"{name}-clarify-{check}",
                args,
                f"{prefix}{check}.json",
                "application/json",
                content=config_text(configs[check]),
            )
            for check in CHECKS
        ]

    def _staged(
        self, resource_name: str, args: TrainingPipelineArgs, key: str, content_type: str, **body: Any
    ) -> aws.s3.BucketObjectv2:
        """One object the pipeline's jobs read: artifacts bucket, models key; `body` is `source` or `content`."""
        return aws.s3.BucketObjectv2(
            resource_name,
            bucket=args.artifacts_bucket,
            key=key,
            content_type=content_type,
            server_side_encryption="aws:kms",
            kms_key_id=args.models_key_arn,
            bucket_key_enabled=True,
            tags=dict(args.tags),
            opts=pulumi.ResourceOptions(parent=self),
            **body,
        )
