"""The project program: one stack per project and environment (`<project>-<env>`), owned by an ML team.

The project's keys and buckets, its feature groups, training pipeline, experiment tracking, model package group,
endpoint, monitoring and budget, and its roles: execution roles, the team's personas and its own deploy and
preview roles, all named `<prefix>-<env>-<project>-*`, tagged `project: <project>` and fenced off every other
project's resources. The environment's settings come from the platform's stack file (the config kernel); what
the platform deployed (subnets, security group, alerts topic, boundary) from its stack, by `StackReference`.
A project deploys without a platform deploy. Its stack's `aws:region` is the platform's (`mlops ci` sets it).

A review stack (`<project>-dev-pr<N>`, kernel/review.py) runs the same program on dev's platform with the cheap
profile, named and tagged `pr-<N>-<project>`: only execution and automation roles (the platform's review deploy
role deploys it), and nothing protected or retained, so that closing the pull request deletes it all.
"""

from pathlib import Path

import pulumi

from infra.components.budget import Budget, BudgetArgs
from infra.components.encryption import Encryption, EncryptionArgs, KeyPurpose
from infra.components.endpoint import Endpoint, EndpointArgs, serverless_model_prefix
from infra.components.feature_store import FeatureStore, FeatureStoreArgs
from infra.components.identity import PROJECT_ROLES, REVIEW_ROLE, REVIEW_STACK_ROLES, Identity, IdentityArgs
from infra.components.ingestion_pipeline import IngestionPipelines, IngestionPipelinesArgs
from infra.components.log_groups import SageMakerLogs, SageMakerLogsArgs
from infra.components.monitoring import Monitoring, MonitoringArgs, training_bus_arn
from infra.components.quality import ModelQuality, ModelQualityArgs
from infra.components.registry import PromotionHook, Registry, RegistryArgs
from infra.components.storage import Storage, StorageArgs
from infra.components.tracking import ExperimentTracking, ExperimentTrackingArgs
from infra.components.training_pipeline import TrainingPipeline, TrainingPipelineArgs
from infra.iam.arns import Arns
from infra.iam.project_scope import project_fence
from infra.iam.workloads import spark_ingestion
from infra.retention import keep_data
from kernel import ConfigError, stack_file
from kernel.loader import parse_settings, read_stack_file
from kernel.models import TRAINING_ENVIRONMENT
from kernel.naming import MODEL_NAME, Naming
from kernel.program_stacks import parse_project_stack, platform_stack_reference
from kernel.projects import load_project
from kernel.review import REVIEW_ENVIRONMENT, parse_review_stack, review_view
from kernel.tags import mandatory_tags
from pipelines.definitions.clarify import check_training_data
from pipelines.definitions.ingestion import CONNECTOR_PREFIX
from pipelines.definitions.settings import config_hash, ingestion_input_prefix
from pipelines.definitions.templates import image_for

ROOT = Path(pulumi.get_root_directory()).parent
"""The repository: the parent of `projects/`, where this program's Pulumi.yaml is."""

review = parse_review_stack(pulumi.get_stack())
try:
    if review is not None:
        environment = REVIEW_ENVIRONMENT
        config, project = review_view(ROOT, review)
    else:
        project_name, environment = parse_project_stack(pulumi.get_stack())
        project = load_project(ROOT, project_name)
        platform_file = stack_file(environment, ROOT)
        config = parse_settings(read_stack_file(platform_file), platform_file.name, project)
    check_training_data(config, project)
except ConfigError as error:
    raise pulumi.RunError(str(error)) from None

if review is None:  # a review keeps nothing: its data is the pull request's, its keys guard only that
    pulumi.runtime.register_stack_transformation(keep_data(protect=not config.teardown))

scope = review.scope if review is not None else project.name
"""What stands for the project in names and its `project` tag: the project, or `pr-<N>-<project>`."""
naming = Naming(config.name_prefix, config.environment, config.account_id, config.region, scope)
tags = {**mandatory_tags(config, team=project.file.team), "project": scope}
platform = pulumi.StackReference(platform_stack_reference(environment))
opts = pulumi.ResourceOptions()


def _nth(index: int) -> pulumi.Output[str]:
    """The platform's `index`-th private subnet (components take a list of subnet ids, one per zone)."""
    return platform.get_output("subnet_ids").apply(lambda ids: str(ids[index]))


zones = (
    config.network.existing_vpc.private_subnet_ids if config.network.existing_vpc else config.network.availability_zones
)
subnet_ids = [_nth(index) for index in range(len(zones))]
security_group_ids = [platform.get_output("workload_security_group_id")]
alerts_topic_arn = platform.get_output("alerts_topic_arn")
access_log_bucket = platform.get_output("bucket_names").apply(lambda names: names["access-logs"])
logs_key_arn = platform.get_output("key_arns").apply(lambda arns: arns["logs"])
boundary_arn = Arns(naming.platform).policy(naming.platform.iam("boundary"))

trains_here = config.environment == TRAINING_ENVIRONMENT
training_bus = None if trains_here else training_bus_arn(config.serving.model_package_arn)
identity = Identity(
    "identity",
    IdentityArgs.of(
        naming,
        tags,
        config,
        models_outside_vpc=(
            [Arns(naming).sagemaker("model", f"{serverless_model_prefix(naming, MODEL_NAME)}-*")]
            if config.serving.serverless.outside_vpc
            else []
        ),
        training_bus_arn=training_bus if config.monitoring.retrain_on_drift else None,
        roles=PROJECT_ROLES if review is None else REVIEW_STACK_ROLES,
        platform_boundary_arn=boundary_arn,
        deploy_environment=f"{config.environment}-{project.name}",
        fence=project_fence(scope),
        jobs_extra=(
            spark_ingestion(
                Arns(naming),
                online=config.feature_store.spark_writes_online,
                offline=not config.feature_store.spark_writes_online,
            )
            if config.feature_store.ingestion.engine == "spark"
            else ()
        ),
    ),
    opts=opts,
)
roles = identity.role_arns
deployer = (
    roles["github-deploy"]
    if review is None
    else pulumi.Output.from_input(Arns(naming.platform).role(naming.platform.iam(REVIEW_ROLE)))
)
"""Who runs `pulumi up` on this stack: the project's deploy role, or the platform's review deploy role."""
KEY_USERS: dict[KeyPurpose, tuple[str, ...]] = {
    "data": ("pipeline", "jobs", "feature-store", "data-scientist", "data-engineer", "ml-engineer"),
    "models": (
        "pipeline",
        "jobs",
        "model",
        "monitoring",
        "tracking",
        "data-scientist",
        "ml-engineer",
        "model-approver",
    ),
}
# The platform's auditor reads every project's runs (its artifacts under this project's models key).
platform_auditor = (
    platform.get_output("role_arns").apply(lambda arns: str(arns["auditor"]))
    if config.identity.personas.auditors
    else None
)
encryption = Encryption(
    "encryption",
    EncryptionArgs(
        naming=naming,
        tags=tags,
        deletion_window_days=config.encryption.deletion_window_days,
        reader_accounts=config.registry.reader_accounts,
        connection_key="models",
        connection_readers=[roles.get("github-preview", deployer)],
        s3_readers=[platform_auditor] if platform_auditor is not None else [],
        # labels (`mlops labels upload`): encrypted through S3 into the monitoring bucket, nothing decrypted
        s3_writers=[roles["data-engineer"]] if "data-engineer" in roles else [],
        key_users={purpose: [roles[r] for r in users if r in roles] for purpose, users in KEY_USERS.items()},
        key_grantors={purpose: [deployer] for purpose in ("data", "models")},
        purposes=("data", "models"),
    ),
    opts=opts,
)
storage = Storage(
    "storage",
    StorageArgs(
        naming=naming,
        tags=tags,
        key_arns=encryption.key_arns,
        trail_arn="",
        capture_retention_days=config.storage.capture_retention_days,
        noncurrent_version_retention_days=config.storage.noncurrent_version_retention_days,
        access_log_retention_days=config.storage.access_log_retention_days,
        artifact_reader_accounts=config.registry.reader_accounts,
        purposes=("raw", "features", "artifacts", "capture", "monitoring"),
        access_log_bucket=access_log_bucket,
    ),
    opts=opts,
)
feature_store = FeatureStore(
    "feature-store",
    FeatureStoreArgs(
        naming=naming,
        tags=tags,
        schemas=list(project.schemas),
        role_arn=roles["feature-store"],
        data_key_arn=encryption.key_arns["data"],
        models_key_arn=encryption.key_arns["models"],
        features_bucket=storage.bucket_names["features"],
        artifacts_bucket=storage.bucket_names["artifacts"],
        online_store=config.feature_store.online_store,
        online_ttl_days=config.feature_store.online_ttl_days,
        table_format=config.feature_store.table_format,
        depends_on=[identity, storage],
    ),
    opts=opts,
)
# The one secret the blueprint reads: a GitHub token for the approval -> promote-model dispatch, set only in the
# stacks that train (dev): `pulumi config set --secret github:dispatchToken <token> -s <project>-dev`.
dispatch_token = None if review is not None else pulumi.Config("github").get_secret("dispatchToken")
promotion_hook = (
    PromotionHook(
        repository=f"{config.identity.github.org}/{config.identity.github.repo}",
        token=dispatch_token,
        role_arn=roles["automation"],
        key_arn=encryption.key_arns["models"],
    )
    if dispatch_token is not None
    else None
)
registry = Registry(
    "registry",
    RegistryArgs(
        naming=naming,
        tags=tags,
        model_name=MODEL_NAME,
        description=project.file.model.description,
        reader_accounts=config.registry.reader_accounts,
        alerts_topic_arn=alerts_topic_arn,
        promotion_hook=promotion_hook,
    ),
    opts=opts,
)
tracking = (
    ExperimentTracking(
        "tracking",
        ExperimentTrackingArgs(
            naming=naming,
            tags=tags,
            tracking=config.training.tracking,
            artifacts_bucket=storage.bucket_names["artifacts"],
            role_arn=roles["tracking"],
        ),
        opts=pulumi.ResourceOptions(depends_on=[identity, storage]),
    )
    if config.training is not None and config.training.tracking.enabled
    else None
)
training_pipeline = TrainingPipeline(
    "training",
    TrainingPipelineArgs(
        naming=naming,
        tags=tags,
        training=config.training,
        artifacts_bucket=storage.bucket_names["artifacts"],
        raw_bucket=storage.bucket_names["raw"],
        models_key_arn=encryption.key_arns["models"],
        jobs_role_arn=roles["jobs"],
        model_role_arn=roles["model"],
        pipeline_role_arn=roles["pipeline"],
        subnet_ids=subnet_ids,
        security_group_ids=security_group_ids,
        model_package_group=registry.group_name,
        feature_database=feature_store.database_name,
        feature_table=project.schema.offline_table,
        project=project.spec(),
        feature_workgroup=feature_store.workgroup_name,
        config_hash=config_hash(config),
        tracking_arn=tracking.tracking_arn if tracking else None,
    ),
    opts=pulumi.ResourceOptions(depends_on=[identity]),
)
ingestion = (
    IngestionPipelines(
        "ingestion",
        IngestionPipelinesArgs(
            naming=naming,
            tags=tags,
            config=config,
            schemas=list(project.schemas),
            feature_group_names=feature_store.feature_group_names,
            artifacts_bucket=storage.bucket_names["artifacts"],
            raw_bucket=storage.bucket_names["raw"],
            models_key_arn=encryption.key_arns["models"],
            jobs_role_arn=roles["jobs"],
            pipeline_role_arn=roles["pipeline"],
            subnet_ids=subnet_ids,
            security_group_ids=security_group_ids,
            code_prefix=training_pipeline.code_prefix,
        ),
        opts=pulumi.ResourceOptions(depends_on=[identity, training_pipeline]),
    )
    if config.feature_store.ingestion.engine == "spark"
    else None
)
endpoint = Endpoint(
    "serving",
    EndpointArgs(
        naming=naming,
        tags=tags,
        model_name=MODEL_NAME,
        serving=config.serving,
        monitoring=config.monitoring,
        model_role_arn=roles["model"],
        models_key_arn=encryption.key_arns["models"],
        capture_bucket=storage.bucket_names["capture"],
        subnet_ids=subnet_ids,
        security_group_ids=security_group_ids,
        alerts_topic_arn=alerts_topic_arn,
    ),
    opts=pulumi.ResourceOptions(depends_on=[identity]),
)
if endpoint.endpoint_name is not None:
    SageMakerLogs(
        "sagemaker-logs",
        SageMakerLogsArgs(
            naming=naming,
            tags=tags,
            logs_key_arn=logs_key_arn,
            retention_days=config.audit.log_retention_days,
            endpoint_names=[endpoint.endpoint_name],
            job_groups=False,
        ),
        opts=opts,
    )
monitoring = Monitoring(
    "monitoring",
    MonitoringArgs(
        naming=naming,
        tags=tags,
        model_name=MODEL_NAME,
        config=config,
        endpoint_name=endpoint.endpoint_name,
        alerts_topic_arn=alerts_topic_arn,
        training_pipeline_arn=training_pipeline.pipeline_arn,
        training_pipeline_name=training_pipeline.pipeline_name,
        automation_role_arn=roles["automation"],
        monitoring_role_arn=roles["monitoring"],
        models_key_arn=encryption.key_arns["models"],
        artifacts_bucket=storage.bucket_names["artifacts"],
        capture_bucket=storage.bucket_names["capture"],
        monitoring_bucket=storage.bucket_names["monitoring"],
        code_prefix=training_pipeline.code_prefix,
        subnet_ids=subnet_ids,
        security_group_ids=security_group_ids,
        training_bus_arn=training_bus,
        forwarding_accounts=config.registry.reader_accounts if trains_here else (),
    ),
    opts=pulumi.ResourceOptions(depends_on=[identity]),
)
# Model quality with ground truth where the endpoint captures what it predicts (not dev's serverless endpoint): the
# quality job joins the captures with the labels `mlops labels upload` stores under `<project>/labels/`. Dev, where
# models are trained, starts its training pipeline on the quality alarms staging and prod forward.
captures = config.serving.data_capture_percentage > 0
quality = (
    ModelQuality(
        "quality",
        ModelQualityArgs(
            naming=naming,
            tags=tags,
            model_name=MODEL_NAME,
            project=project.name,
            config=config.quality,
            endpoint_name=endpoint.endpoint_name if captures else None,
            model_package_arn=config.serving.model_package_arn,
            image_uri=image_for(config.region),
            job_role_arn=roles["monitoring"],
            automation_role_arn=roles["automation"],
            kms_key_arn=encryption.key_arns["models"],
            artifacts_bucket=storage.bucket_names["artifacts"],
            code_prefix=training_pipeline.code_prefix,
            capture_bucket=storage.bucket_names["capture"],
            labels_bucket=storage.bucket_names["monitoring"],
            subnet_ids=subnet_ids,
            security_group_ids=security_group_ids,
            alerts_topic_arn=alerts_topic_arn,
            training_pipeline_arn=training_pipeline.pipeline_arn if trains_here else None,
            training_bus_arn=training_bus,
            forwarding_accounts=config.registry.reader_accounts if trains_here else (),
        ),
        opts=pulumi.ResourceOptions(depends_on=[identity]),
    )
    if config.quality.enabled
    else None
)
budget = Budget(
    "budget",
    BudgetArgs(
        naming=naming,
        tags=tags,
        monthly_usd=config.cost.monthly_budget_usd,
        alert_percents=config.cost.alert_percents,
        alerts_topic_arn=alerts_topic_arn,
        cost_allocation_tags=[],
    ),
    opts=opts,
)

pulumi.export("project", project.name)
pulumi.export("environment", config.environment)
pulumi.export("bucket_names", storage.bucket_names)
pulumi.export("key_arns", encryption.key_arns)
pulumi.export("subnet_ids", subnet_ids)
pulumi.export("workload_security_group_id", security_group_ids[0])
pulumi.export("alerts_topic_arn", alerts_topic_arn)
pulumi.export("role_arns", identity.role_arns)
pulumi.export("boundary_arn", identity.boundary_arn)
pulumi.export("feature_group_names", feature_store.feature_group_names)
pulumi.export("feature_database", feature_store.database_name)
pulumi.export("feature_workgroup", feature_store.workgroup_name)
pulumi.export("model_package_group", registry.group_name)
pulumi.export("training_pipeline_name", training_pipeline.pipeline_name)
pulumi.export("code_prefix", training_pipeline.code_prefix)
pulumi.export("config_hash", config_hash(config))
pulumi.export("tracking_arn", tracking.tracking_arn if tracking else "")
pulumi.export("endpoint_name", endpoint.endpoint_name)
pulumi.export("drift_pipeline_name", monitoring.drift_pipeline_name)
if ingestion is not None:  # what the Spark ingestion's rows in infra/sufficiency/required.yaml are filled from
    ingested = project.schema.name
    pulumi.export("spark_pipeline", ingestion.pipeline_names[ingested])
    pulumi.export("spark_input_prefix", ingestion_input_prefix(project.name, ingested))
    pulumi.export("spark_connector_prefix", CONNECTOR_PREFIX)
    if config.feature_store.spark_writes_online:
        pulumi.export("spark_online_feature_group", feature_store.feature_group_names[ingested])
    else:
        pulumi.export("spark_offline_feature_group", feature_store.feature_group_names[ingested])
        pulumi.export("spark_offline_table", project.schema.offline_table)
pulumi.export("quality_pipeline_name", quality.pipeline_name if quality else None)
