"""What each human persona may do in one environment.

Writes shrink as code moves toward prod: data scientists experiment in dev only, ML engineers
deploy in dev and staging only, and in prod the only writes are the deploy role's, the break-glass
admin's, the model approver's approval itself (the gate promotion waits for) and the data
engineer's data loading (raw files and feature records: the data, never the platform). Reading offline
features through Athena writes the query's result set under `athena-results/`; that is part of a read.
MLflow: data scientists and ML engineers log runs in dev only; every persona reads runs everywhere.
"""

from __future__ import annotations

from infra.iam import actions
from infra.iam.arns import Arns
from infra.iam.deployer import deployer_statements
from infra.iam.roles import Persona
from infra.iam.workloads import TRACKING_PREFIX, buckets, pass_roles, tracking_access
from infra.policy_document import Statement
from kernel.types import Environment
from pipelines.definitions.training import OUTPUT_PREFIX as TRAINING_OUTPUTS


def persona_statements(
    persona: Persona, environment: Environment, arns: Arns, role_names: dict[str, str], boundary_arn: str
) -> list[Statement]:
    """The access statements of one persona role in `environment`."""
    if persona == "data-scientist":
        return _data_scientist(environment, arns, role_names)
    if persona == "data-engineer":
        return _data_engineer(arns)
    if persona == "ml-engineer":
        return _ml_engineer(environment, arns, role_names)
    if persona == "model-approver":
        return _model_approver(arns)
    if persona == "platform-admin":  # also the break-glass admin: the only role that may delete the trail
        trail = arns.regional("cloudtrail", f"trail/{arns.naming.resource('trail')}")
        return [
            *deployer_statements(arns, boundary_arn),
            Statement(sid="BreakGlassDeleteTrail", actions=["cloudtrail:DeleteTrail"], resources=[trail]),
        ]
    return _auditor(arns)


def _observe(arns: Arns) -> list[Statement]:
    return [*actions.sagemaker_reads(arns), *actions.observability_reads(arns)]


def _feature_reads(arns: Arns) -> list[Statement]:
    base = arns.naming.base
    return [
        Statement(
            sid="ReadOnlineFeatures",
            actions=["sagemaker:GetRecord", "sagemaker:BatchGetRecord"],
            resources=[arns.sagemaker("feature-group")],
        ),
        Statement(
            sid="QueryOfflineFeatures",
            actions=["athena:StartQueryExecution", "athena:GetQueryExecution", "athena:GetQueryResults"],
            resources=[arns.regional("athena", f"workgroup/{base}-*")],
        ),
        Statement(
            sid="QueryResults",
            actions=[*actions.S3_READ, *actions.S3_WRITE],
            resources=[arns.objects("artifacts", "athena-results/")],
        ),
        Statement(
            sid="ReadFeatureCatalog",
            actions=["glue:GetDatabase", "glue:GetTable", "glue:GetPartitions"],
            resources=[
                arns.regional("glue", "catalog"),
                arns.regional("glue", f"database/{arns.naming.glue_database('*')}"),
                arns.regional("glue", f"table/{arns.naming.glue_database('*')}/*"),
            ],
        ),
    ]


def _run_pipelines(arns: Arns) -> Statement:
    return Statement(sid="RunPipelines", actions=actions.SAGEMAKER_PIPELINE_RUN, resources=[arns.sagemaker("pipeline")])


def _experiment(arns: Arns, role_names: dict[str, str]) -> list[Statement]:
    kinds = ("processing-job", "training-job", "transform-job", "hyper-parameter-tuning-job")
    jobs = [arns.sagemaker(kind, "*") for kind in kinds]
    return [
        Statement(
            sid="RunExperiments",
            actions=[*actions.SAGEMAKER_JOBS, *actions.SAGEMAKER_STOP_JOBS, *actions.SAGEMAKER_TAG],
            resources=jobs,
        ),
        pass_roles(arns, [role_names["jobs"]]),
    ]


def _data_scientist(environment: Environment, arns: Arns, role_names: dict[str, str]) -> list[Statement]:
    statements = [*_observe(arns), *_feature_reads(arns), *tracking_access(arns, log=environment == "dev")]
    if environment != "dev":
        return [*statements, *buckets(arns, "Features", read=["features"])]
    return [
        *statements,
        _run_pipelines(arns),
        *_experiment(arns, role_names),
        *buckets(arns, "Experiments", read=["raw", "features", "artifacts"], write=["artifacts"]),
    ]


def _data_engineer(arns: Arns) -> list[Statement]:
    """Loads data in every environment: raw files into the raw bucket, records into feature groups, and labels.

    This is the only human write path into the data itself. `PutRecord` goes to the online store
    (and from there to the offline store, written by the feature-store role); the data key is used
    through S3 and Feature Store (its key policy names this role). No delete: a correction is a
    newer record (a later event time), which keeps the history the offline store is for.

    Labels (the ground truth the quality job joins with captured predictions, `mlops labels upload`) go to the
    project's own prefix of its monitoring bucket, `<project>/labels/`, and nowhere else in it: `s3:PutObject`
    only (the upload is a conditional write, `If-None-Match`, which needs no read; Amazon S3 user guide,
    "Add preconditions to S3 operations with conditional requests"), with the models key through S3 (the key
    policy names this role).
    """
    labels = (
        [Statement(sid="UploadLabels", actions=["s3:PutObject"], resources=[arns.objects("monitoring", prefix)])]
        if (prefix := _labels_prefix(arns))
        else []
    )
    return [
        *_observe(arns),
        *_feature_reads(arns),
        *buckets(arns, "RawData", read=["raw", "features"], write=["raw"]),
        Statement(
            sid="IngestFeatureRecords",
            actions=["sagemaker:PutRecord", "sagemaker:GetRecord", "sagemaker:BatchGetRecord"],
            resources=[arns.sagemaker("feature-group")],
        ),
        Statement(  # bulk loads: the Spark ingestion pipelines (`featureStore.ingestion.engine: spark`), nothing else
            sid="IngestWithSpark",
            actions=actions.SAGEMAKER_PIPELINE_RUN,
            resources=[arns.sagemaker("pipeline", f"{arns.naming.base}-ingest-*")],
        ),
        *labels,
    ]


def _labels_prefix(arns: Arns) -> str | None:
    """A project's labels prefix (pipelines/quality/labels.py `labels_prefix`); None for the platform's roles."""
    project = arns.naming.project
    return f"{project}/labels/" if project else None


def _ml_engineer(environment: Environment, arns: Arns, role_names: dict[str, str]) -> list[Statement]:
    statements = [
        *_observe(arns),
        *buckets(arns, "Artifacts", read=["artifacts"]),
        *tracking_access(arns, log=environment == "dev"),
    ]
    if environment == "prod":
        return statements
    deploy = [arns.sagemaker(kind) for kind in ("model", "endpoint", "endpoint-config")]
    return [
        *statements,
        _run_pipelines(arns),
        Statement(
            sid="ManagePipelines",
            actions=["sagemaker:CreatePipeline", "sagemaker:UpdatePipeline", *actions.SAGEMAKER_TAG],
            resources=[arns.sagemaker("pipeline")],
        ),
        Statement(sid="Deploy", actions=[*actions.SAGEMAKER_DEPLOY, *actions.SAGEMAKER_TAG], resources=deploy),
        *_experiment(arns, role_names),
        Statement(
            sid="PassPipelineAndModelRoles",
            actions=["iam:PassRole"],
            resources=[arns.role(role_names["pipeline"]), arns.role(role_names["model"])],
            conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
        ),
    ]


def _model_approver(arns: Arns) -> list[Statement]:
    packages = arns.sagemaker("model-package", arns.naming.base + "-*/*")
    return [
        Statement(
            sid="ReviewPackages",
            actions=[
                "sagemaker:DescribeModelPackage",
                "sagemaker:DescribeModelPackageGroup",
                "sagemaker:ListModelPackages",
                "sagemaker:BatchDescribeModelPackage",
            ],
            resources=[arns.sagemaker("model-package-group"), packages],
        ),
        Statement(sid="ListPackageGroups", actions=["sagemaker:ListModelPackageGroups"], resources=["*"]),
        Statement(sid="ApproveOrReject", actions=actions.SAGEMAKER_APPROVE, resources=[packages]),
        Statement(
            sid="ReadEvaluationReports",
            # The package's ModelMetrics point at the Evaluate step's report: <training outputs>/<execution>/Evaluate/.
            actions=actions.S3_READ,
            resources=[arns.objects("artifacts", f"{TRAINING_OUTPUTS}/*/Evaluate/evaluation/")],
        ),
        *tracking_access(arns, log=False),
    ]


def _project_runs(arns: Arns) -> list[Statement]:
    """Read every project's MLflow run artifacts: an auditor's read-only reach across projects is by design.

    The objects are under each project's models key, whose policy admits the platform's auditor for a
    Decrypt through S3 only (`EncryptionArgs.s3_readers`).
    """
    return [
        Statement(sid="ProjectRunsList", actions=actions.S3_LIST, resources=[arns.project_buckets("artifacts")]),
        Statement(
            sid="ProjectRunsRead",
            actions=actions.S3_READ,
            resources=[f"{arns.project_buckets('artifacts')}/{TRACKING_PREFIX}*"],
        ),
    ]


def _auditor(arns: Arns) -> list[Statement]:
    bucket_config = [
        "s3:GetBucketPolicy",
        "s3:GetBucketPublicAccessBlock",
        "s3:GetEncryptionConfiguration",
        "s3:GetBucketVersioning",
        "s3:GetBucketLogging",
        "s3:GetLifecycleConfiguration",
        "s3:GetBucketOwnershipControls",
    ]
    return [
        *_observe(arns),
        *tracking_access(arns, log=False),
        *_project_runs(arns),
        *actions.trail_reads(arns),
        *buckets(arns, "AuditLogs", read=["audit"]),
        Statement(sid="ReadBucketControls", actions=bucket_config, resources=[arns.env_buckets()]),
        Statement(
            sid="ReadIdentityAndKeys",
            actions=[
                "iam:GetRole",
                "iam:GetRolePolicy",
                "iam:GetPolicy",
                "iam:GetPolicyVersion",
                "iam:ListRolePolicies",
                "iam:ListAttachedRolePolicies",
                "kms:DescribeKey",
                "kms:GetKeyPolicy",
                "kms:GetKeyRotationStatus",
            ],
            resources=[arns.env_roles(), arns.policy(f"{arns.naming.base}-*"), arns.regional("kms", "key/*")],
        ),
        Statement(
            sid="ListIdentityAndNetwork",
            actions=["iam:ListRoles", "iam:ListPolicies", "kms:ListKeys", "kms:ListAliases", "ec2:Describe*"],
            resources=["*"],
        ),
    ]
