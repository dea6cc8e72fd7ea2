"""The platform program: one stack per environment, owned by the platform team.

The network, the platform's keys (logs, alerts), the audit trail and its buckets, the permissions boundary, the
GitHub OIDC provider, the platform's roles (deploy, preview, admin, auditor), SageMaker's log groups, dev's
event bus policy for forwarded drift, and the platform budget. It exports what every project reads through a
`StackReference`; it knows no project. Runs unchanged under `pulumi up`, `mlops plan` (mocks) and pytest.
"""

import pulumi

from infra.components.audit import Audit, AuditArgs, trail_log_group
from infra.components.budget import Budget, BudgetArgs
from infra.components.encryption import Encryption, EncryptionArgs
from infra.components.endpoint import SERVERLESS_MODEL
from infra.components.identity import PLATFORM_ROLES, REVIEW_ROLE, Identity, IdentityArgs
from infra.components.log_groups import SageMakerLogs, SageMakerLogsArgs
from infra.components.monitoring import ForwardedDriftBus
from infra.components.network import Network, NetworkArgs
from infra.components.storage import Storage, StorageArgs
from infra.iam.arns import Arns
from infra.retention import keep_data
from kernel import ConfigError, parse_settings, runtime_settings
from kernel.models import TRAINING_ENVIRONMENT
from kernel.naming import Naming
from kernel.review import REVIEW_ENVIRONMENT
from kernel.tags import MANDATORY_TAG_KEYS, mandatory_tags

try:
    config = parse_settings(runtime_settings(), source=f"Pulumi.{pulumi.get_stack()}.yaml")
except ConfigError as error:
    raise pulumi.RunError(str(error)) from None

pulumi.runtime.register_stack_transformation(keep_data(protect=not config.teardown))

naming = Naming(config.name_prefix, config.environment, config.account_id, config.region)
tags = mandatory_tags(config)
trail_name = naming.resource("trail")
trail_arn = f"arn:aws:cloudtrail:{config.region}:{config.account_id}:trail/{trail_name}"
trains_here = config.environment == TRAINING_ENVIRONMENT

identity = Identity(
    "identity",
    IdentityArgs.of(
        naming,
        tags,
        config,
        # Only dev may serve outside the VPC (serverless supports no VPC); each project's own guardrails
        # then exempt only its serverless model, if its project.yaml asks for it.
        models_outside_vpc=(
            [Arns(naming).sagemaker("model", f"{naming.base}-*-{SERVERLESS_MODEL}-*")] if trains_here else []
        ),
        trail_arn=trail_arn,
        trail_log_group=trail_log_group(naming),
        # Dev's platform also holds the role that deploys review stacks (kernel/review.py) from pull requests.
        roles=(*PLATFORM_ROLES, REVIEW_ROLE) if config.environment == REVIEW_ENVIRONMENT else PLATFORM_ROLES,
    ),
)
roles = identity.role_arns
encryption = Encryption(
    "encryption",
    EncryptionArgs(
        naming=naming,
        tags=tags,
        deletion_window_days=config.encryption.deletion_window_days,
        connection_readers=[],
        key_users={"logs": [roles["auditor"]] if "auditor" in roles else []},
        key_grantors={"alerts": [roles[r] for r in ("github-deploy", "platform-admin") if r in roles]},
        purposes=("logs", "alerts"),
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
        purposes=("audit", "access-logs"),
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
        # Data events of every bucket of the environment's projects (their names start with the platform's).
        data_event_arn_prefixes=[f"arn:aws:s3:::{naming.base}-"],
        excluded_bucket_arns=[storage.bucket_arns["audit"], storage.bucket_arns["access-logs"]],
        alert_emails=config.audit.alert_emails,
        log_retention_days=config.audit.log_retention_days,
        trail_logs_role_arn=roles["trail-logs"],
        depends_on=[storage, identity],
    ),
)
sagemaker_logs = SageMakerLogs(
    "sagemaker-logs",
    SageMakerLogsArgs(
        naming=naming,
        tags=tags,
        logs_key_arn=encryption.key_arns["logs"],
        retention_days=config.audit.log_retention_days,
    ),
)
if trains_here and config.registry.reader_accounts:
    ForwardedDriftBus("forwarded-drift", naming, config.registry.reader_accounts)
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
