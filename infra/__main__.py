"""The MLOps platform stack: validated config in, components wired in dependency order, outputs out.

Runs unchanged under `pulumi up`, under `mlops plan` (Pulumi mocks, offline) and under pytest.
"""

from pathlib import Path

import pulumi

from infra.components.audit import Audit, AuditArgs, trail_log_group
from infra.components.budget import Budget, BudgetArgs
from infra.components.encryption import Encryption, EncryptionArgs, KeyPurpose
from infra.components.endpoint import Endpoint, EndpointArgs, serverless_model_prefix
from infra.components.feature_store import FeatureStore, FeatureStoreArgs
from infra.components.identity import Identity, IdentityArgs
from infra.components.log_groups import SageMakerLogs, SageMakerLogsArgs
from infra.components.monitoring import Monitoring, MonitoringArgs, training_bus_arn
from infra.components.network import Network, NetworkArgs
from infra.components.registry import PromotionHook, Registry, RegistryArgs
from infra.components.storage import Storage, StorageArgs
from infra.components.tracking import ExperimentTracking, ExperimentTrackingArgs
from infra.components.training_pipeline import TrainingPipeline, TrainingPipelineArgs
from infra.iam.arns import Arns
from infra.retention import keep_data
from kernel import ConfigError, parse_settings, runtime_settings
from kernel.models import TRAINING_ENVIRONMENT
from kernel.naming import Naming
from kernel.projects import load_project
from kernel.tags import MANDATORY_TAG_KEYS, mandatory_tags
from pipelines.definitions.clarify import check_training_data
from pipelines.definitions.settings import config_hash

MODEL_NAME = "churn"
try:
    config = parse_settings(runtime_settings(), source=f"Pulumi.{pulumi.get_stack()}.yaml")
    project = load_project(Path(__file__).resolve().parents[1], MODEL_NAME)
    check_training_data(config, project)
except ConfigError as error:
    raise pulumi.RunError(str(error)) from None

pulumi.runtime.register_stack_transformation(keep_data(protect=not config.teardown))

schemas = {schema.name: schema for schema in project.schemas}
naming = Naming(config.name_prefix, config.environment, config.account_id, config.region)
tags = mandatory_tags(config, pulumi.get_project())
trail_name = naming.resource("trail")
trail_arn = f"arn:aws:cloudtrail:{config.region}:{config.account_id}:trail/{trail_name}"

# Models are trained only in dev; staging and prod serve dev's approved packages, and send their drift
# to the event bus of the account their package comes from, where dev's pipeline retrains.
trains_here = config.environment == TRAINING_ENVIRONMENT
training_bus = None if trains_here else training_bus_arn(config.serving.model_package_arn)
identity = Identity(
    "identity",
    IdentityArgs(
        naming=naming,
        tags=tags,
        environment=config.environment,
        github=config.identity.github,
        personas=config.identity.personas,
        state_bucket=config.identity.state_bucket,
        secrets_key_arn=config.identity.secrets_key_arn,
        allowed_instance_types=config.allowed_instance_types,
        require_network_isolation=config.guardrails.require_network_isolation,
        models_outside_vpc=(
            [Arns(naming).sagemaker("model", f"{serverless_model_prefix(naming, MODEL_NAME)}-*")]
            if config.serving.serverless.outside_vpc
            else []
        ),
        training_bus_arn=training_bus if config.monitoring.retrain_on_drift else None,
        trail_arn=trail_arn,
        trail_log_group=trail_log_group(naming),
    ),
)
roles = identity.role_arns
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
        "auditor",
    ),
    "logs": ("auditor",),
}
encryption = Encryption(
    "encryption",
    EncryptionArgs(
        naming=naming,
        tags=tags,
        deletion_window_days=config.encryption.deletion_window_days,
        reader_accounts=config.registry.reader_accounts,
        connection_readers=[roles["github-preview"]],
        key_users={purpose: [roles[r] for r in users if r in roles] for purpose, users in KEY_USERS.items()},
        key_grantors={
            purpose: [roles[r] for r in ("github-deploy", "platform-admin") if r in roles]
            for purpose in ("data", "models", "alerts")
        },
    ),
)
storage = Storage(
    "storage",
    StorageArgs(
        naming=naming,
        tags=tags,
        key_arns=encryption.key_arns,
        trail_arn=trail_arn,
        capture_retention_days=config.storage.capture_retention_days,
        noncurrent_version_retention_days=config.storage.noncurrent_version_retention_days,
        access_log_retention_days=config.storage.access_log_retention_days,
        artifact_reader_accounts=config.registry.reader_accounts,
    ),
)
network = Network(
    "network",
    NetworkArgs(
        naming=naming,
        tags=tags,
        vpc_cidr=config.network.vpc_cidr,
        availability_zones=config.network.availability_zones,
        interface_endpoints=config.network.interface_endpoints,
        flow_log_bucket_arn=storage.bucket_arns["audit"],
        existing_vpc=config.network.existing_vpc,
        interface_endpoint_azs=config.network.interface_endpoint_azs,
    ),
)
audit = Audit(
    "audit",
    AuditArgs(
        naming=naming,
        tags=tags,
        trail_name=trail_name,
        audit_bucket_name=storage.bucket_names["audit"],
        logs_key_arn=encryption.key_arns["logs"],
        alerts_key_arn=encryption.key_arns["alerts"],
        data_event_bucket_arns=[storage.bucket_arns[purpose] for purpose in ("raw", "features", "artifacts")],
        alert_emails=config.audit.alert_emails,
        log_retention_days=config.audit.log_retention_days,
        trail_logs_role_arn=roles["trail-logs"],
        depends_on=[storage, identity],
    ),
)
feature_store = FeatureStore(
    "feature-store",
    FeatureStoreArgs(
        naming=naming,
        tags=tags,
        schemas=list(schemas.values()),
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
)
# The one secret the blueprint reads: a GitHub token for the approval -> promote-model dispatch.
# Set it only in the stack that trains (dev): `pulumi config set --secret github:dispatchToken <token>`.
dispatch_token = pulumi.Config("github").get_secret("dispatchToken")
promotion_hook = (
    PromotionHook(
        repository=f"{config.identity.github.org}/{config.identity.github.repo}",
        token=dispatch_token,
        role_arn=roles["automation"],
        key_arn=encryption.key_arns["alerts"],
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
        description="Customer churn classifier",
        reader_accounts=config.registry.reader_accounts,
        alerts_topic_arn=audit.alerts_topic_arn,
        promotion_hook=promotion_hook,
    ),
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
        subnet_ids=network.subnet_ids,
        security_group_ids=[network.workload_security_group_id],
        model_package_group=registry.group_name,
        feature_database=feature_store.database_name,
        feature_table=schemas[project.spec().feature_group].offline_table,
        project=project.spec(),
        feature_workgroup=feature_store.workgroup_name,
        config_hash=config_hash(config),
        tracking_arn=tracking.tracking_arn if tracking else None,
    ),
    opts=pulumi.ResourceOptions(depends_on=[identity]),
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
        subnet_ids=network.subnet_ids,
        security_group_ids=[network.workload_security_group_id],
        alerts_topic_arn=audit.alerts_topic_arn,
    ),
    opts=pulumi.ResourceOptions(depends_on=[identity]),
)
sagemaker_logs = SageMakerLogs(
    "sagemaker-logs",
    SageMakerLogsArgs(
        naming=naming,
        tags=tags,
        logs_key_arn=encryption.key_arns["logs"],
        retention_days=config.audit.log_retention_days,
        endpoint_names=[endpoint.endpoint_name] if endpoint.endpoint_name is not None else [],
    ),
)
monitoring = Monitoring(
    "monitoring",
    MonitoringArgs(
        naming=naming,
        tags=tags,
        model_name=MODEL_NAME,
        config=config,
        endpoint_name=endpoint.endpoint_name,
        alerts_topic_arn=audit.alerts_topic_arn,
        training_pipeline_arn=training_pipeline.pipeline_arn,
        training_pipeline_name=training_pipeline.pipeline_name,
        automation_role_arn=roles["automation"],
        monitoring_role_arn=roles["monitoring"],
        models_key_arn=encryption.key_arns["models"],
        artifacts_bucket=storage.bucket_names["artifacts"],
        capture_bucket=storage.bucket_names["capture"],
        monitoring_bucket=storage.bucket_names["monitoring"],
        code_prefix=training_pipeline.code_prefix,
        subnet_ids=network.subnet_ids,
        security_group_ids=[network.workload_security_group_id],
        training_bus_arn=training_bus,
        forwarding_accounts=config.registry.reader_accounts if trains_here else (),
    ),
    opts=pulumi.ResourceOptions(depends_on=[identity]),
)
budget = Budget(
    "budget",
    BudgetArgs(
        naming=naming,
        tags=tags,
        monthly_usd=config.cost.monthly_budget_usd,
        alert_percents=config.cost.alert_percents,
        alerts_topic_arn=audit.alerts_topic_arn,
        cost_allocation_tags=list(MANDATORY_TAG_KEYS) if config.cost.activate_cost_allocation_tags else [],
    ),
)

pulumi.export("environment", config.environment)
pulumi.export("bucket_names", storage.bucket_names)
pulumi.export("key_arns", encryption.key_arns)
pulumi.export("vpc_id", network.vpc_id)
pulumi.export("subnet_ids", network.subnet_ids)
pulumi.export("workload_security_group_id", network.workload_security_group_id)
pulumi.export("alerts_topic_arn", audit.alerts_topic_arn)
pulumi.export("trail_arn", audit.trail_arn)
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
