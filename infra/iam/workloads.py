"""Access statements of the execution roles SageMaker assumes, each scoped to its own buckets and prefixes.

KMS use is not granted here: key policies name the roles that may use each key (infra/components/
encryption.py), so an IAM statement could not widen it anyway.
"""

from __future__ import annotations

from collections.abc import Sequence

from infra.iam import actions
from infra.iam.arns import Arns
from infra.iam.roles import Workload
from infra.policy_document import Statement
from pipelines.definitions.training import OUTPUT_PREFIX as TRAINING_OUTPUTS

SAGEMAKER_SERVICE = "sagemaker.amazonaws.com"
METRIC_NAMESPACES = ["/aws/sagemaker/*", "mlops/*"]
CLARIFY_ENDPOINT_PREFIX = "sm-clarify-"
"""Clarify names the shadow endpoint it serves a model from during a bias or SHAP check like this."""
TRACKING_PREFIX = "mlflow/"
"""Key prefix (in the artifacts bucket) of the MLflow artifact store."""


def workload_statements(workload: Workload, arns: Arns, role_names: dict[str, str]) -> list[Statement]:
    """The access statements of one execution role."""
    builders = {
        "pipeline": _pipeline,
        "jobs": _jobs,
        "model": _model,
        "monitoring": _monitoring,
        "feature-store": _feature_store,
        "tracking": _tracking,
    }
    return builders[workload](arns, role_names)


def buckets(arns: Arns, sid: str, read: Sequence[str] = (), write: Sequence[str] = ()) -> list[Statement]:
    """List and read `read` buckets, write `write` buckets; nothing else in S3."""
    listed = sorted({*read, *write})
    statements = [Statement(sid=f"{sid}List", actions=actions.S3_LIST, resources=[arns.bucket(p) for p in listed])]
    if read:
        statements.append(
            Statement(sid=f"{sid}Read", actions=actions.S3_READ, resources=[arns.objects(p) for p in read])
        )
    if write:
        statements.append(
            Statement(sid=f"{sid}Write", actions=actions.S3_WRITE, resources=[arns.objects(p) for p in write])
        )
    return statements


def tracking_access(arns: Arns, *, log: bool) -> list[Statement]:
    """Use this environment's MLflow tracking app or server: read, and with `log` record runs.

    The two kinds take different actions (Service Authorization Reference): a tracking server's API
    is the `sagemaker-mlflow:*` actions, one per call, so reading and logging stay apart; an MLflow
    App's whole API is the single `sagemaker:CallMlflowAppApi`, which reads and writes alike. So only
    principals that log get an App's API; read-only principals read an App's run artifacts from S3
    (and every run of a tracking server). App ARNs end in a generated id, so apps are matched by the
    environment tag; servers by the environment's name prefix. Run artifacts go straight to the
    MLflow artifact prefix of the artifacts bucket, so loggers may write there.
    """
    server = [arns.sagemaker("mlflow-tracking-server")]
    app = [arns.sagemaker("mlflow-app", "*")]
    this_environment = {"StringEquals": arns.tagged()}
    statements = [
        Statement(
            sid="TrackingServerRead",
            actions=[*actions.MLFLOW_READ, "sagemaker:CreatePresignedMlflowTrackingServerUrl"],
            resources=server,
        ),
        Statement(sid="TrackingServerUi", actions=actions.UNSCOPED_MLFLOW_UI, resources=["*"]),
        Statement(sid="TrackingArtifactsList", actions=actions.S3_LIST, resources=[arns.bucket("artifacts")]),
        Statement(
            sid="TrackingArtifactsRead", actions=actions.S3_READ, resources=[arns.objects("artifacts", TRACKING_PREFIX)]
        ),
    ]
    if log:
        statements += [
            Statement(sid="TrackingServerLog", actions=actions.MLFLOW_LOG, resources=server),
            Statement(
                sid="TrackingApp",
                actions=[*actions.MLFLOW_APP_API, "sagemaker:CreatePresignedMlflowAppUrl"],
                resources=app,
                conditions=this_environment,
            ),
            Statement(
                sid="TrackingArtifactsWrite",
                actions=actions.S3_WRITE,
                resources=[arns.objects("artifacts", TRACKING_PREFIX)],
            ),
        ]
    return statements


def container_runtime(arns: Arns) -> list[Statement]:
    """Pull images, write logs and metrics, attach to the VPC: what every SageMaker container needs."""
    return [
        Statement(sid="RegistryLogin", actions=actions.UNSCOPED_CONTAINER, resources=["*"]),
        Statement(
            sid="PullImages",
            actions=actions.ECR_PULL,
            resources=[f"arn:aws:ecr:{arns.region}:*:repository/*"],
        ),
        Statement(
            sid="JobLogs",
            actions=actions.LOGS_WRITE,
            resources=[arns.log_group("/aws/sagemaker/*"), arns.log_group("/aws/sagemaker/*:log-stream:*")],
        ),
        Statement(
            sid="Metrics",
            actions=actions.UNSCOPED_METRICS,
            resources=["*"],
            conditions={"StringLike": {"cloudwatch:namespace": METRIC_NAMESPACES}},
        ),
        Statement(sid="VpcRead", actions=actions.UNSCOPED_VPC_READ, resources=["*"]),
        Statement(sid="VpcAttach", actions=actions.VPC_ATTACH, resources=[arns.regional("ec2", "*")]),
    ]


def pass_roles(arns: Arns, role_names: Sequence[str], service: str = SAGEMAKER_SERVICE) -> Statement:
    """`iam:PassRole` for exactly these roles, to exactly this service."""
    return Statement(
        sid="PassExecutionRoles",
        actions=["iam:PassRole"],
        resources=[arns.role(name) for name in role_names],
        conditions={"StringEquals": {"iam:PassedToService": service}},
    )


def _pipeline(arns: Arns, role_names: dict[str, str]) -> list[Statement]:
    """Runs pipeline steps: creates jobs and models, registers packages, passes the job and model roles."""
    jobs = [arns.sagemaker(kind, "*") for kind in ("processing-job", "training-job", "transform-job")]
    return [
        Statement(
            sid="RunSteps",
            actions=[*actions.SAGEMAKER_JOBS, *actions.SAGEMAKER_STOP_JOBS, *actions.SAGEMAKER_TAG],
            resources=[*jobs, arns.sagemaker("hyper-parameter-tuning-job", "*")],
        ),
        Statement(
            sid="CreateModels",
            actions=["sagemaker:CreateModel", *actions.SAGEMAKER_TAG],
            resources=[arns.sagemaker("model", "*")],
        ),
        Statement(
            sid="RegisterModels",
            actions=[*actions.SAGEMAKER_REGISTER, *actions.SAGEMAKER_TAG],
            resources=[
                arns.sagemaker("model-package-group"),
                arns.sagemaker("model-package", arns.naming.base + "-*/*"),
            ],
        ),
        *actions.sagemaker_reads(arns),
        pass_roles(arns, [role_names["jobs"], role_names["model"]]),
        *buckets(arns, "Artifacts", read=["artifacts"], write=["artifacts"]),
        *tracking_access(arns, log=True),
    ]


def _jobs(arns: Arns, role_names: dict[str, str]) -> list[Statement]:
    """Processing and training jobs: read data and features, write artifacts and baselines, log runs.

    Clarify's model checks run under this role too: they stand up a short-lived shadow endpoint of
    the trained model (named `sm-clarify-*`), query it and delete it.
    """
    return [
        *buckets(arns, "Data", read=["raw", "features", "artifacts"], write=["artifacts", "monitoring"]),
        *container_runtime(arns),
        Statement(
            sid="QueryOfflineStore",
            actions=["athena:StartQueryExecution", "athena:GetQueryExecution", "athena:GetQueryResults"],
            resources=[arns.regional("athena", f"workgroup/{arns.naming.base}-*")],
        ),
        Statement(
            sid="ReadFeatureCatalog",
            actions=["glue:GetDatabase", "glue:GetTable", "glue:GetPartitions"],
            resources=_glue(arns),
        ),
        *tracking_access(arns, log=True),
        Statement(
            sid="ClarifyShadowEndpoints",
            actions=[
                "sagemaker:CreateEndpointConfig",
                "sagemaker:CreateEndpoint",
                "sagemaker:DescribeEndpoint",
                "sagemaker:DescribeEndpointConfig",
                "sagemaker:InvokeEndpoint",
                "sagemaker:DeleteEndpoint",
                "sagemaker:DeleteEndpointConfig",
                *actions.SAGEMAKER_TAG,
            ],
            resources=[
                arns.sagemaker("endpoint", f"{CLARIFY_ENDPOINT_PREFIX}*"),
                arns.sagemaker("endpoint-config", f"{CLARIFY_ENDPOINT_PREFIX}*"),
            ],
        ),
        Statement(
            sid="ClarifyReadModel", actions=["sagemaker:DescribeModel"], resources=[arns.sagemaker("model", "*")]
        ),
    ]


def promoted_models(arns: Arns) -> list[Statement]:
    """Read a model trained in another environment of this platform (promotion crosses accounts).

    The owning account's bucket and key policies grant these reads to this account; this is the
    caller's half. Scoped to the platform's artifact buckets and their model output prefix, and to
    decryption through S3 only. A project's roles read only that project's models, in any environment
    (`<prefix>-*-<project>-...`: environment and project names have no hyphen, so no other project matches).
    """
    prefix = arns.naming.prefix
    scope = f"{prefix}-*-{arns.naming.project}" if arns.naming.project else prefix + "-*"
    return [
        Statement(
            sid="PromotedModelArtifacts",
            actions=["s3:GetObject", "s3:GetObjectVersion"],
            resources=[f"arn:aws:s3:::{scope}-artifacts-*/{TRAINING_OUTPUTS}/*"],
        ),
        Statement(
            sid="PromotedModelKeys",
            actions=["kms:Decrypt", "kms:DescribeKey"],
            resources=[f"arn:aws:kms:{arns.region}:*:key/*"],
            conditions={"StringEquals": {"kms:ViaService": f"s3.{arns.region}.amazonaws.com"}},
        ),
        Statement(
            sid="ServedModelPackages",
            actions=["sagemaker:DescribeModelPackage"],
            resources=[f"arn:aws:sagemaker:{arns.region}:*:model-package/{scope}-*/*"],
        ),
    ]


def _model(arns: Arns, role_names: dict[str, str]) -> list[Statement]:
    """The model behind an endpoint: read its artifact; data capture writes to the capture bucket.

    A blue/green deployment with auto-rollback reads its alarms with the endpoint's execution role
    (SageMaker developer guide, deployment guardrails: the role needs cloudwatch:DescribeAlarms).
    """
    return [
        *buckets(arns, "Model", read=["artifacts"], write=["capture"]),
        Statement(
            sid="RollbackAlarms",
            actions=["cloudwatch:DescribeAlarms"],
            resources=[arns.regional("cloudwatch", f"alarm:{arns.naming.base}-*")],
        ),
        *container_runtime(arns),
        *promoted_models(arns),
    ]


def _monitoring(arns: Arns, role_names: dict[str, str]) -> list[Statement]:
    """Drift and data-quality jobs: read captured traffic and baselines, write reports.

    It is also the drift pipeline's execution role, so it starts that pipeline's processing job
    and passes itself to it (to SageMaker only).
    """
    return [
        *buckets(arns, "Monitoring", read=["capture", "artifacts", "monitoring"], write=["monitoring", "artifacts"]),
        *container_runtime(arns),
        *promoted_models(arns),
        Statement(
            sid="StartRetraining",
            actions=["sagemaker:StartPipelineExecution"],
            resources=[arns.sagemaker("pipeline")],
        ),
        Statement(
            sid="RunDriftJobs",
            actions=[
                "sagemaker:CreateProcessingJob",
                "sagemaker:StopProcessingJob",
                "sagemaker:DescribeProcessingJob",
                *actions.SAGEMAKER_TAG,
            ],
            resources=[arns.sagemaker("processing-job", "*")],
        ),
        pass_roles(arns, [role_names["monitoring"]]),
    ]


def _feature_store(arns: Arns, role_names: dict[str, str]) -> list[Statement]:
    """The feature store's offline-store writer: the features bucket and its Glue catalog tables.

    Feature Store checks the bucket's ACL and sets the written objects' ACL (the S3 actions of AWS's
    AmazonSageMakerFeatureStoreAccess policy: PutObject, GetBucketAcl, PutObjectAcl). With
    bucket-owner-enforced ownership those ACL calls change nothing, but they must be allowed.
    """
    return [
        *buckets(arns, "OfflineStore", read=["features"], write=["features"]),
        Statement(sid="OfflineStoreBucketAcl", actions=["s3:GetBucketAcl"], resources=[arns.bucket("features")]),
        Statement(sid="OfflineStoreObjectAcl", actions=["s3:PutObjectAcl"], resources=[arns.objects("features")]),
        Statement(
            sid="OfflineStoreCatalog",
            actions=["glue:GetDatabase", "glue:GetTable", "glue:CreateTable", "glue:UpdateTable"],
            resources=_glue(arns),
        ),
    ]


SPARK_CONNECTOR = "aws/sagemaker-feature-store-spark 81d099d, FeatureStoreManager.scala"


def spark_ingestion(arns: Arns, *, online: bool, offline: bool) -> list[Statement]:
    """The jobs role's extra reach when the project ingests with Spark (`featureStore.ingestion.engine: spark`).

    What the Feature Store Spark connector calls from the job (`SPARK_CONNECTOR`): DescribeFeatureGroup first;
    with the online store as a target, PutRecord from every executor; with only the offline store, a direct
    write of the offline store's table (Iceberg: data and metadata files under the offline store's prefix and a
    commit of the Glue table; Glue format: Parquet files under that prefix). Only this project's groups.
    """
    statements = [
        Statement(
            sid="SparkIngestionDescribe",
            actions=["sagemaker:DescribeFeatureGroup"],
            resources=[arns.sagemaker("feature-group")],
        )
    ]
    if online:
        statements.append(
            Statement(
                sid="SparkIngestionOnline", actions=["sagemaker:PutRecord"], resources=[arns.sagemaker("feature-group")]
            )
        )
    if offline:
        statements += [
            Statement(
                sid="SparkIngestionOfflineWrite",
                actions=[*actions.S3_WRITE, "s3:DeleteObject"],
                resources=[arns.objects("features", "offline-store/")],
            ),
            Statement(
                sid="SparkIngestionOfflineCommit",
                actions=["glue:GetDatabase", "glue:GetTable", "glue:UpdateTable"],
                resources=_glue(arns),
            ),
        ]
    return statements


def _glue(arns: Arns) -> list[str]:
    database = arns.naming.glue_database("*")
    return [
        arns.regional("glue", "catalog"),
        arns.regional("glue", f"database/{database}"),
        arns.regional("glue", f"table/{database}/*"),
    ]


def _tracking(arns: Arns, role_names: dict[str, str]) -> list[Statement]:
    """The MLflow tracking service: its artifact store (the artifacts bucket's MLflow prefix) and nothing else."""
    return [
        Statement(sid="ArtifactStoreList", actions=actions.S3_LIST, resources=[arns.bucket("artifacts")]),
        Statement(
            sid="ArtifactStore",
            actions=[*actions.S3_READ, *actions.S3_WRITE, "s3:DeleteObject"],
            resources=[arns.objects("artifacts", TRACKING_PREFIX)],
        ),
    ]
