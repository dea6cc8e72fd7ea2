"""Experiment tracking: SageMaker managed MLflow, one per environment."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.iam.workloads import TRACKING_PREFIX
from kernel.models import TrackingConfig
from kernel.naming import Naming


@dataclass(frozen=True)
class ExperimentTrackingArgs:
    """Inputs of `ExperimentTracking`."""

    naming: Naming
    tags: Mapping[str, str]
    tracking: TrackingConfig
    artifacts_bucket: pulumi.Input[str]
    role_arn: pulumi.Input[str]
    """The `tracking` execution role: the artifact store prefix, nothing else (infra/iam/workloads.py)."""


class ExperimentTracking(pulumi.ComponentResource):
    """An MLflow App (serverless, billed by use) or a sized MLflow tracking server (always on).

    Run artifacts live under `mlflow/` in the artifacts bucket, so they are encrypted with the models
    key and governed by that bucket's TLS-only policy and versioning. Automatic registration into the
    SageMaker Model Registry is off: packages are registered only by the pipeline, with lineage, behind
    the evaluation gate. Who may log or read is decided by the persona and workload policies.
    """

    tracking_arn: pulumi.Output[str]

    def __init__(self, name: str, args: ExperimentTrackingArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:tracking:ExperimentTracking", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        config = args.tracking
        store = pulumi.Output.concat("s3://", args.artifacts_bucket, "/", TRACKING_PREFIX)
        if config.kind == "app":
            app = aws.sagemaker.MlflowApp(
                f"{name}-app",
                name=args.naming.resource("mlflow"),
                artifact_store_uri=store,
                role_arn=args.role_arn,
                model_registration_mode="AutoModelRegistrationDisabled",
                account_default_status="DISABLED",
                weekly_maintenance_window_start=config.maintenance_window,
                tags=dict(args.tags),
                opts=child,
            )
            self.tracking_arn = app.arn
        else:
            server = aws.sagemaker.MlflowTrackingServer(
                f"{name}-server",
                tracking_server_name=args.naming.resource("mlflow"),
                tracking_server_size=config.server_size,
                artifact_store_uri=store,
                role_arn=args.role_arn,
                automatic_model_registration=False,
                weekly_maintenance_window_start=config.maintenance_window,
                tags=dict(args.tags),
                opts=child,
            )
            self.tracking_arn = server.arn
        self.register_outputs({"tracking_arn": self.tracking_arn})
