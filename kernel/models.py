"""The typed stack config: one pydantic model per section of `Pulumi.<stack>.yaml`.

Keys are camelCase in the stack file (Pulumi's convention) and snake_case in Python. Every model
forbids unknown keys, so a typo fails validation instead of being silently ignored. Secure settings
are defaults; the few that may be relaxed per environment say so in their description.
"""

from __future__ import annotations

import re
from typing import Any, Literal, Self

from pydantic import Field, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic.alias_generators import to_camel
from pydantic_core import InitErrorDetails, PydanticCustomError

from kernel.quality import QualityConfig
from kernel.regions import zone_problem
from kernel.section import SCHEDULE, Section
from kernel.types import (
    AccountId,
    BucketName,
    Email,
    Environment,
    GithubName,
    InstanceType,
    ModelPackageArn,
    PrincipalArn,
    Region,
    VpcCidr,
)

NAMESPACE = "mlops"
"""Pulumi config namespace of every blueprint setting (the project name in Pulumi.yaml)."""

InterfaceEndpoint = Literal[
    "sagemaker.api",
    "sagemaker.runtime",
    "sagemaker.featurestore-runtime",
    "sts",
    "kms",
    "logs",
    "ecr.api",
    "ecr.dkr",
    "monitoring",
    "events",
    "glue",
    "athena",
    "sns",
    "sagemaker.experiments",
]
"""VPC interface endpoints a SageMaker job or endpoint in private subnets may need
(`sagemaker.experiments` is SageMaker managed MLflow)."""

Problem = tuple[tuple[str | int, ...], Any, str]
"""A cross-field problem: key path in the stack file, offending value, what to do."""

REQUIRED_INTERFACE_ENDPOINTS: dict[str, str] = {
    "sagemaker.api": "jobs and the drift step call the SageMaker API",
    "sts": "containers exchange their role for credentials",
    "logs": "jobs and endpoints write their logs",
    "ecr.api": "containers pull their images",
    "ecr.dkr": "containers pull their images",
    "athena": "preprocess reads the offline feature store",
    "glue": "Athena reads the feature store's catalog",
    "monitoring": "the drift job publishes its metrics",
}
"""Interface endpoints the platform's own jobs cannot run without, in private subnets with no internet."""

ALL_INTERFACE_ENDPOINTS: tuple[InterfaceEndpoint, ...] = InterfaceEndpoint.__args__  # type: ignore[attr-defined]
DEFAULT_INTERFACE_ENDPOINTS: tuple[InterfaceEndpoint, ...] = tuple(
    name for name in ALL_INTERFACE_ENDPOINTS if name != "sagemaker.experiments"
)
"""Every interface endpoint but MLflow's, which only `training.tracking` (dev) needs."""


def private_subnet_prefix(vpc_prefix: int) -> int:
    """Prefix length of each private subnet the blueprint carves from a VPC: 16 subnets, at most /28."""
    return min(vpc_prefix + 4, 28)


def usable_addresses(prefix: int) -> int:
    """Addresses a subnet of this prefix offers: AWS reserves the first four and the last one.

    Source: Amazon VPC user guide, "Subnet CIDR blocks" (a /28 subnet has 16 addresses, 11 usable).
    """
    return int(2 ** (32 - prefix)) - 5


def _always_on(what: str, value: Any) -> bool:
    if value is not True:
        raise ValueError(f"{what} is always on in this blueprint and cannot be turned off; remove the key")
    return True


class ExistingVpc(Section):
    """Use a VPC the network team already runs instead of creating one."""

    vpc_id: str = Field(pattern=r"^vpc-[0-9a-f]{8,17}$", description="The VPC id, e.g. vpc-0abc12345def67890.")
    private_subnet_ids: list[str] = Field(
        min_length=2, description="Private subnets in at least two AZs, with no route to an internet gateway."
    )

    route_table_ids: list[str] = Field(
        default_factory=list,
        description="Route tables of the private subnets: the blueprint adds an S3 gateway endpoint to them, "
        "since jobs without internet reach their data in S3 only through one.",
    )
    s3_prefix_list_id: str | None = Field(
        default=None,
        pattern=r"^pl-[0-9a-f]{8,17}$",
        description="Instead of routeTableIds, when the VPC already has an S3 gateway endpoint on those subnets' "
        "route tables: the S3 prefix list id (`aws ec2 describe-vpc-endpoints --filters "
        "Name=vpc-id,Values=<vpc> Name=service-name,Values=com.amazonaws.<region>.s3`), for the workloads' egress.",
    )

    @field_validator("private_subnet_ids", "route_table_ids")
    @classmethod
    def _ids(cls, value: list[str], info: ValidationInfo) -> list[str]:
        kind = "subnet" if info.field_name == "private_subnet_ids" else "rtb"
        for item in value:
            if not re.match(rf"^{kind}-[0-9a-f]{{8,17}}$", item):
                raise ValueError(f"{item!r} is not a {kind} id ({kind}-0abc...)")
        if len(set(value)) != len(value):
            raise ValueError(f"lists the same {kind} twice")
        return value

    @model_validator(mode="after")
    def _s3_reachable(self) -> Self:
        if bool(self.route_table_ids) == bool(self.s3_prefix_list_id):
            raise ValueError(
                "jobs in private subnets reach S3 only through a gateway endpoint: set routeTableIds (the "
                "blueprint creates one on them) or s3PrefixListId (your VPC has one already), not both"
            )
        return self


class NetworkConfig(Section):
    """Network isolation for training, processing and endpoints."""

    vpc_cidr: VpcCidr = Field(default="10.40.0.0/16", description="CIDR of the VPC the blueprint creates.")  # type: ignore[assignment]
    availability_zones: list[str] = Field(
        min_length=2,
        max_length=6,
        description="AZs of the private subnets; at least two, in the stack's region.",
    )
    interface_endpoints: list[InterfaceEndpoint] = Field(
        default_factory=lambda: list(DEFAULT_INTERFACE_ENDPOINTS),
        description="Interface endpoints to create (default: all but sagemaker.experiments, which only "
        "training.tracking needs). Fewer in dev saves money; jobs then lose those services.",
    )
    existing_vpc: ExistingVpc | None = Field(default=None, description="Bring your own VPC instead.")
    interface_endpoint_azs: int | None = Field(
        default=None, ge=1, le=6, description="Put interface endpoints in only this many AZs (unset: every AZ)."
    )

    @field_validator("interface_endpoints")
    @classmethod
    def _required_endpoints(cls, value: list[str]) -> list[str]:
        missing = [f"{name} ({why})" for name, why in REQUIRED_INTERFACE_ENDPOINTS.items() if name not in value]
        if missing:
            raise ValueError(f"lacks endpoints the platform needs without internet access: {'; '.join(missing)}")
        return value

    @field_validator("availability_zones", "interface_endpoints")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        duplicates = sorted({item for item in value if value.count(item) > 1})
        if duplicates:
            raise ValueError(f"lists {', '.join(duplicates)} more than once")
        return value


class StorageConfig(Section):
    """Retention of the S3 data stores. Encryption and public-access blocking are not optional."""

    encryption: bool = Field(default=True, description="Always true: every bucket is SSE-KMS encrypted.")
    block_public_access: bool = Field(default=True, description="Always true: all four S3 public-access blocks.")
    capture_retention_days: int = Field(
        default=30, ge=1, le=3650, description="Days endpoint data capture is kept before it expires."
    )
    noncurrent_version_retention_days: int = Field(
        default=30, ge=1, le=3650, description="Days an overwritten or deleted object version is kept."
    )
    access_log_retention_days: int = Field(
        default=365,
        ge=90,
        le=3650,
        description="Days S3 access logs and the audit trail are kept (at least 90).",
    )

    @field_validator("encryption", mode="before")
    @classmethod
    def _encryption_on(cls, value: Any) -> bool:
        return _always_on("Encryption at rest", value)

    @field_validator("block_public_access", mode="before")
    @classmethod
    def _public_access_blocked(cls, value: Any) -> bool:
        return _always_on("Blocking public access", value)


class EncryptionConfig(Section):
    """Customer-managed KMS keys, one per purpose."""

    deletion_window_days: int = Field(
        default=30, ge=7, le=30, description="Waiting period before a scheduled key deletion takes effect."
    )


LOG_RETENTION_DAYS = (
    *(1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545),
    *(731, 1096, 1827, 2192, 2557, 2922, 3288, 3653),
)
"""The retentionInDays values CloudWatch Logs accepts (API reference, PutRetentionPolicy)."""


class AuditConfig(Section):
    """Audit trail and alert routing."""

    alert_emails: list[Email] = Field(default_factory=list, description="Addresses subscribed to the alerts topic.")
    log_retention_days: int = Field(
        default=365,
        ge=90,
        le=3653,
        description="Retention of the CloudWatch log groups (trail and SageMaker); one of the values AWS accepts.",
    )

    @field_validator("log_retention_days")
    @classmethod
    def _retention(cls, value: int) -> int:
        if value not in LOG_RETENTION_DAYS:
            allowed = ", ".join(str(days) for days in LOG_RETENTION_DAYS if days >= 90)
            raise ValueError(f"CloudWatch Logs accepts only these retentions from 90 days: {allowed}")
        return value


class GithubConfig(Section):
    """The repository whose workflows may assume this environment's deploy and preview roles."""

    org: GithubName = Field(description="GitHub organisation or user that owns the fork.")
    repo: GithubName = Field(description="Repository name, without the organisation.")
    create_oidc_provider: bool = Field(
        default=True,
        description="An account has one GitHub OIDC provider: set false in a stack whose account already has it.",
    )


class PersonasConfig(Section):
    """Who may assume each persona role in this environment (IAM role or user ARNs, e.g. SSO roles)."""

    data_scientists: list[PrincipalArn] = Field(default_factory=list)
    data_engineers: list[PrincipalArn] = Field(
        default_factory=list,
        description="Load data: write the raw bucket and put records into feature groups (mlops features ingest).",
    )
    ml_engineers: list[PrincipalArn] = Field(default_factory=list)
    model_approvers: list[PrincipalArn] = Field(default_factory=list)
    platform_admins: list[PrincipalArn] = Field(default_factory=list)
    auditors: list[PrincipalArn] = Field(default_factory=list)


class IdentityConfig(Section):
    """Personas and keyless CI."""

    github: GithubConfig
    personas: PersonasConfig = Field(default_factory=PersonasConfig)
    state_bucket: BucketName | None = Field(
        default=None,
        description="S3 bucket of the Pulumi state backend; the deploy and preview roles get access to it.",
    )
    secrets_key_arn: str | None = Field(
        default=None,
        pattern=r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/[0-9a-f-]{36}$",
        description=(
            "Key ARN of the stack's Pulumi secrets provider (awskms://); the deploy role may encrypt and "
            "decrypt with it, the preview role decrypt. A key ARN, not an alias: IAM matches key ARNs."
        ),
    )


class GuardrailsConfig(Section):
    """Deny rules every role carries (permissions boundary and guardrail policy)."""

    require_network_isolation: bool = Field(
        default=True,
        description="Deny training jobs and models without network isolation (built-in images support it).",
    )


FEATURE_STORE_SPARK = "https://github.com/aws/sagemaker-feature-store-spark (commit 81d099d)"
"""The Feature Store Spark connector: FeatureGroupHelper.checkAndParseTargetStore refuses an empty or repeated
target store and a store the feature group does not have; InputDataSchemaValidator refuses its reserved names."""
TargetStore = Literal["OnlineStore", "OfflineStore"]


class IngestionConfig(Section):
    """How records reach the feature group: `PutRecord` per record, or a Spark processing job in bulk."""

    engine: Literal["records", "spark"] = Field(
        default="records",
        description="records: PutRecord per record from `mlops` (bounded threads, resumable); spark: a processing job "
        "on SageMaker's Spark image that validates the whole input and ingests it with the Feature Store Spark "
        "connector (the ingestion pipeline).",
    )
    instance_type: InstanceType = Field(default="ml.m5.xlarge", description="engine spark: the job's instance type.")
    instance_count: int = Field(
        default=1,
        ge=1,
        le=100,  # ProcessingResources.ClusterConfig.InstanceCount: 1 to 100 (botocore's SageMaker model)
        description="engine spark: instances of the Spark cluster (one driver and executors across them).",
    )
    max_runtime_seconds: int = Field(
        default=14_400,
        ge=1,
        le=777_600,  # ProcessingMaxRuntimeInSeconds: 1 to 777,600 (botocore's SageMaker model)
        description="engine spark: hard stop of the job.",
    )
    target_stores: list[TargetStore] | None = Field(
        default=None,
        description="engine spark: [OfflineStore] writes the offline store's table directly (no PutRecord, no "
        "write units); a list with OnlineStore streams every record through PutRecord. Unset: every store the "
        "feature group has.",
    )

    @model_validator(mode="after")
    def _spark_settings(self) -> Self:
        spark_only = sorted(
            to_camel(key)
            for key in ("instance_type", "instance_count", "target_stores")
            if key in self.model_fields_set
        )
        if self.engine != "spark" and spark_only:
            raise ValueError(f"{', '.join(spark_only)} apply to engine: spark only; remove them or set engine: spark")
        stores = self.target_stores
        if stores is not None and (not stores or len(set(stores)) != len(stores)):
            raise ValueError(
                f"targetStores must name each store once and at least one (the Spark connector refuses "
                f"{stores}: {FEATURE_STORE_SPARK}); remove it to write every store the feature group has"
            )
        return self


class FeatureStoreConfig(Section):
    """Where features are served from. The offline store is always on; the online store costs per GB-month."""

    online_store: bool = Field(default=True, description="Serve features at low latency for online inference.")
    online_ttl_days: int | None = Field(
        default=None, ge=1, le=3650, description="Online records expire after this many days (unset: never)."
    )
    table_format: Literal["Iceberg", "Glue"] = Field(
        default="Iceberg", description="Offline store table format; Iceberg compacts and supports time travel."
    )

    ingestion: IngestionConfig = Field(default_factory=IngestionConfig)

    @model_validator(mode="after")
    def _ttl_needs_online(self) -> Self:
        if self.online_ttl_days is not None and not self.online_store:
            raise ValueError("onlineTtlDays is set but onlineStore is false; remove onlineTtlDays or enable the store")
        if "OnlineStore" in (self.ingestion.target_stores or []) and not self.online_store:
            raise ValueError(
                "ingestion.targetStores names OnlineStore but onlineStore is false: the Spark connector refuses a "
                f"store the feature group does not have ({FEATURE_STORE_SPARK}); write [OfflineStore] or enable it"
            )
        return self

    @property
    def spark_writes_online(self) -> bool:
        """The Spark ingestion job calls PutRecord (its executors reach the featurestore-runtime endpoint)."""
        stores = self.ingestion.target_stores
        return self.ingestion.engine == "spark" and (
            "OnlineStore" in stores if stores is not None else self.online_store
        )


class SearchRange(Section):
    """Bounds of one hyperparameter's search."""

    min: float
    max: float

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if not self.min < self.max:
            raise ValueError(f"min ({self.min}) must be below max ({self.max})")
        return self


class TuningConfig(Section):
    """Optional hyperparameter tuning: a Bayesian search whose best model is evaluated and registered."""

    max_jobs: int = Field(default=8, ge=2, le=100, description="Training jobs the search may run.")
    max_parallel: int = Field(default=2, ge=1, le=10, description="Training jobs at once.")
    early_stopping: bool = Field(default=True, description="Stop jobs that are unlikely to beat the best.")
    learning_rate: SearchRange = Field(description="Continuous, log-scaled; within (0, 1].")
    max_depth: SearchRange = Field(description="Integer tree depth; within 1..12.")
    n_estimators: SearchRange = Field(description="Integer number of trees; within 10..2000.")

    @model_validator(mode="after")
    def _space(self) -> Self:
        problems = []
        if self.max_parallel > self.max_jobs:
            problems.append(f"maxParallel ({self.max_parallel}) exceeds maxJobs ({self.max_jobs})")
        if not (self.learning_rate.min > 0 and self.learning_rate.max <= 1):
            problems.append("learningRate must lie within (0, 1]")
        for name, search, low, high in (
            ("maxDepth", self.max_depth, 1, 12),
            ("nEstimators", self.n_estimators, 10, 2000),
        ):
            if not (search.min.is_integer() and search.max.is_integer()):
                problems.append(f"{name} takes whole numbers")
            elif not (low <= search.min and search.max <= high):
                problems.append(f"{name} must lie within {low}..{high}")
        if problems:
            raise ValueError("; ".join(problems))
        return self


class TrackingConfig(Section):
    """Experiment tracking: SageMaker managed MLflow, its artifacts in the KMS-encrypted artifacts bucket."""

    enabled: bool = Field(default=False, description="Create the tracking service and log every pipeline run to it.")
    kind: Literal["app", "server"] = Field(
        default="app",
        description="`app`: a serverless MLflow App (billed by use); `server`: a sized tracking server, always on.",
    )
    server_size: Literal["Small", "Medium", "Large"] = Field(
        default="Small", description="Size of the tracking server (kind: server only)."
    )
    maintenance_window: str = Field(
        default="SUN:03:00",
        pattern=r"^(MON|TUE|WED|THU|FRI|SAT|SUN):([01]\d|2[0-3]):[0-5]\d$",
        description="Weekly maintenance start in UTC, e.g. SUN:03:00.",
    )
    experiment: str | None = Field(
        default=None,
        pattern=r"^[a-zA-Z0-9][a-zA-Z0-9_-]{0,63}$",
        description="MLflow experiment the pipeline's runs are logged to; default: the project's name.",
    )

    @model_validator(mode="after")
    def _size_needs_server(self) -> Self:
        if "server_size" in self.model_fields_set and self.kind != "server":
            raise ValueError("serverSize applies to kind: server only; remove it or set kind: server")
        return self


SKLEARN_SINGLE_MACHINE = (
    "the SageMaker Python SDK's SKLearn estimator refuses instance_count above 1: "
    "aws/sagemaker-python-sdk src/sagemaker/sklearn/estimator.py, commit 5d36aec"
)
"""Why `training.instanceCount` is 1: scikit-learn fits on one machine, and SageMaker's container does not spread it."""

LOWER_IS_BETTER = frozenset({"rmse", "mae"})
"""Gate metrics that are errors: a model passes at or below the threshold (pipelines/steps/evaluate.py)."""


class TrainingConfig(Section):
    """Defaults of the training pipeline's jobs and its promotion gate."""

    instance_type: InstanceType = Field(default="ml.m5.xlarge", description="Training job instance type.")
    processing_instance_type: InstanceType = Field(
        default="ml.m5.large", description="Instance type of the pipeline's preprocessing, evaluation and Clarify jobs."
    )
    instance_count: int = Field(
        default=1,
        ge=1,
        description="Instances of the training job. The training step fits scikit-learn's gradient boosting, "
        "which runs on one machine: only 1 is accepted (scale up with instanceType, out with tuning.maxParallel).",
    )
    preprocess_instance_count: int = Field(
        default=1,
        ge=1,
        le=100,  # ProcessingResources.ClusterConfig.InstanceCount: 1 to 100 (botocore's SageMaker model)
        description="Instances of the preprocess job. Above 1, SageMaker runs the latest-record query on Athena "
        "first (the job's Athena dataset definition) and gives each instance its share of the result files "
        "(ShardedByS3Key); records are split by a hash of their identifier. It reads the offline feature store "
        "only: the pipeline's DataSource parameter then accepts feature-store alone (raw CSV files hold every "
        "version of a record, which only one instance reading all of them can reduce to the latest).",
    )
    use_spot: bool = Field(default=True, description="Managed spot training with checkpoints.")
    max_runtime_seconds: int = Field(default=3600, ge=60, le=432_000, description="Hard stop of a training job.")
    objective_metric: Literal["auc", "accuracy", "f1", "rmse", "mae", "r2"] = Field(
        default="auc",
        description="Metric the evaluation step compares to the threshold: auc, accuracy or f1 for a classifier; "
        "rmse, mae (errors, in the label's units) or r2 for a regressor.",
    )
    metric_threshold: float = Field(
        gt=0,
        description="The gate: a model scoring below this (auc, accuracy, f1, r2: at most 1), or with an error above "
        "it (rmse, mae: in the label's units), is not registered (the pipeline fails).",
    )
    max_bias_gap: float = Field(
        default=0.1,
        gt=0,
        le=1,
        description="Largest demographic parity gap a registered model may have, across the groups of the "
        "project's model.sensitiveAttribute (the one attribute the bias reports group by).",
    )
    tuning: TuningConfig | None = Field(default=None, description="Tune hyperparameters instead of one training job.")
    tracking: TrackingConfig = Field(default_factory=TrackingConfig)

    @field_validator("instance_count")
    @classmethod
    def _one_machine(cls, value: int) -> int:
        if value != 1:
            raise ValueError(
                f"{value} instances cannot train this model: the training step fits scikit-learn's gradient boosting "
                "in the SageMaker scikit-learn container, which does not support distributed training "
                f"({SKLEARN_SINGLE_MACHINE}); every instance would fit the same model on the same data. Set 1, "
                "a larger instanceType, or tuning.maxParallel to train several candidates at once"
            )
        return value

    @model_validator(mode="after")
    def _threshold_fits_metric(self) -> Self:
        if self.objective_metric not in LOWER_IS_BETTER and self.metric_threshold > 1:
            raise ValueError(
                f"metricThreshold {self.metric_threshold} is above 1, which {self.objective_metric} never reaches; "
                "set a share between 0 and 1 (only rmse and mae, errors in the label's units, go above 1)"
            )
        return self


SERVERLESS_EXCLUSIONS = "https://docs.aws.amazon.com/sagemaker/latest/dg/serverless-endpoints.html"
"""SageMaker's serverless feature exclusions: no GPUs, Marketplace model packages, private Docker registries,
multi-model endpoints, VPC configuration, network isolation, data capture, multiple production variants,
Model Monitor or inference pipelines. Every one of them is refused by validation, by the plan and by the
`sagemaker-serverless-exclusions` policy rule."""

ROLLING_EXCLUSIONS = "https://docs.aws.amazon.com/sagemaker/latest/dg/deployment-guardrails-exclusions.html"
"""Deployment guardrails exclusions: rolling deployments support neither serverless nor multi-variant endpoints."""


class ServerlessConfig(Section):
    """Serverless inference: scales to zero, billed per request."""

    memory_size_mb: Literal[1024, 2048, 3072, 4096, 5120, 6144] = 2048
    max_concurrency: int = Field(default=5, ge=1, le=200)
    outside_vpc: bool = Field(
        default=False,
        description="Serverless endpoints support neither VPC configuration nor network isolation (SageMaker's "
        "serverless feature exclusions): true accepts that the serving model runs outside the VPC, unisolated, "
        "and that the guardrails exempt that one model. Dev only; staging and prod serve realtime in the VPC.",
    )


class RolloutConfig(Section):
    """Blue/green deployment of a new model version, rolled back automatically by alarms."""

    strategy: Literal["canary", "linear", "all-at-once", "rolling"] = Field(
        default="canary",
        description="How traffic moves to the new fleet: blue/green canary, linear or all at once, or rolling "
        "(replaces instances in batches; not for serverless or multi-variant endpoints).",
    )
    rolling_batch_percent: int = Field(
        default=25, ge=5, le=50, description="Capacity share replaced per batch of a rolling deployment."
    )
    canary_percent: int = Field(default=10, ge=1, le=50, description="Capacity share of the canary step.")
    linear_step_percent: int = Field(default=20, ge=5, le=50, description="Capacity share of each linear step.")
    wait_seconds: int = Field(default=600, ge=0, le=3600, description="Bake time between traffic steps.")
    termination_wait_seconds: int = Field(
        default=300, ge=0, le=3600, description="How long the old fleet stays up after the shift, for rollback."
    )


class OffHoursConfig(Section):
    """Scale a realtime endpoint down outside working hours (EventBridge cron, UTC)."""

    scale_down: str = Field(pattern=SCHEDULE, description="When to scale down, e.g. cron(0 19 ? * MON-FRI *).")
    scale_up: str = Field(pattern=SCHEDULE, description="When to scale back up, e.g. cron(0 7 ? * MON-FRI *).")
    max_instances: int = Field(default=1, ge=1, le=100, description="Ceiling outside working hours.")


class ServingConfig(Section):
    """The deployed model version and how it is served."""

    model_package_arn: ModelPackageArn | None = Field(
        default=None, description="Approved model package to serve; empty until the first promotion."
    )
    mode: Literal["serverless", "realtime"] = "realtime"
    instance_type: InstanceType = "ml.m5.large"
    min_instances: int = Field(default=1, ge=1, le=100, description="Autoscaling floor (and initial count).")
    max_instances: int = Field(default=2, ge=1, le=100, description="Autoscaling ceiling.")
    serverless: ServerlessConfig = Field(default_factory=ServerlessConfig)
    data_capture_percentage: int = Field(default=100, ge=0, le=100, description="Share of requests captured.")
    target_invocations_per_instance: int = Field(
        default=100, ge=1, le=100_000, description="Autoscaling target: invocations per instance per minute."
    )
    rollout: RolloutConfig = Field(default_factory=RolloutConfig)
    shadow_model_package_arn: ModelPackageArn | None = Field(
        default=None, description="A challenger that receives a copy of live traffic; its answers are discarded."
    )
    shadow_percent: int = Field(default=10, ge=1, le=100, description="Share of requests copied to the shadow.")
    challenger_model_package_arn: ModelPackageArn | None = Field(
        default=None, description="An A/B challenger that answers a share of live traffic."
    )
    challenger_percent: int = Field(default=10, ge=1, le=50, description="Share of traffic the challenger answers.")
    off_hours: OffHoursConfig | None = Field(default=None, description="Scale down outside working hours.")

    @model_validator(mode="after")
    def _capacity(self) -> Self:
        if self.max_instances < self.min_instances:
            raise ValueError(f"maxInstances ({self.max_instances}) is below minInstances ({self.min_instances})")
        if self.mode == "serverless" and self.shadow_model_package_arn:
            raise ValueError("shadow variants need realtime mode; remove shadowModelPackageArn or set mode: realtime")
        if (self.shadow_model_package_arn or self.challenger_model_package_arn) and not self.model_package_arn:
            raise ValueError("shadow and challenger variants need a primary: set modelPackageArn first")
        if self.mode == "serverless" and self.off_hours:
            raise ValueError("offHours scales realtime instances; serverless endpoints already scale to zero")
        if self.mode == "serverless" and self.challenger_model_package_arn:
            raise ValueError("A/B variants need realtime mode; remove challengerModelPackageArn or set mode: realtime")
        return self

    def exclusion_problems(self) -> list[Problem]:
        """What SageMaker refuses for this serving shape (serverless and rolling-deployment exclusions)."""
        problems: list[Problem] = []
        if self.mode == "serverless":
            if self.data_capture_percentage > 0:
                problems.append(
                    (
                        ("serving", "dataCapturePercentage"),
                        self.data_capture_percentage,
                        "serverless endpoints cannot capture data (SageMaker serverless feature exclusions); "
                        "set it to 0 or serve with mode: realtime",
                    )
                )
            if not self.serverless.outside_vpc:
                problems.append(
                    (
                        ("serving", "serverless", "outsideVpc"),
                        False,
                        "serverless endpoints support neither VPC configuration nor network isolation (SageMaker "
                        "serverless feature exclusions): set outsideVpc: true to accept that in dev, or serve "
                        "with mode: realtime",
                    )
                )
            if self.rollout.strategy == "rolling":
                problems.append(
                    (
                        ("serving", "rollout", "strategy"),
                        "rolling",
                        "rolling deployments do not support serverless endpoints (deployment guardrails "
                        "exclusions); use canary, linear or all-at-once, or mode: realtime",
                    )
                )
        elif self.serverless.outside_vpc:
            problems.append(
                (
                    ("serving", "serverless", "outsideVpc"),
                    True,
                    "applies to mode: serverless only; realtime endpoints always run in the VPC, isolated: remove it",
                )
            )
        if self.rollout.strategy == "rolling" and self.challenger_model_package_arn:
            problems.append(
                (
                    ("serving", "rollout", "strategy"),
                    "rolling",
                    "rolling deployments do not support multi-variant endpoints (deployment guardrails exclusions); "
                    "use canary or linear, or remove challengerModelPackageArn",
                )
            )
        return problems


class ExpectedUsage(Section):
    """What the environment is expected to do in a month: prices usage-billed items in `mlops cost`."""

    training_hours: float = Field(default=10, ge=0, description="Training job hours per month (dev only).")
    processing_hours: float = Field(default=20, ge=0, description="Processing (preprocess, evaluate, drift) hours.")
    serverless_requests: int = Field(default=100_000, ge=0, description="Serverless endpoint requests per month.")
    serverless_seconds_per_request: float = Field(default=0.2, gt=0, description="Billed duration of a request.")
    storage_gb: float = Field(default=50, ge=0, description="Data, features, artifacts and logs in S3.")
    online_store_gb: float = Field(default=1, ge=0, description="Feature store online storage.")
    logs_ingest_gb: float = Field(
        default=5,
        ge=0,
        description="GB a month delivered to CloudWatch Logs: the trail's management and S3 data events, job and "
        "endpoint logs.",
    )
    monitoring_job_minutes: float = Field(
        default=10,
        gt=0,
        le=60,
        description="Billed minutes of one Model Monitor job (monitoring.backend: model-monitor).",
    )
    s3_data_events: int = Field(
        default=1_000_000,
        ge=0,
        description="Object reads and writes on the data and model buckets: the audit trail's billed data events.",
    )


class CostConfig(Section):
    """The monthly budget (an AWS Budget with alerts) and the usage the estimate assumes."""

    monthly_budget_usd: float = Field(gt=0, description="Budget of the environment; alerts go to the alerts topic.")
    alert_percents: list[int] = Field(
        default_factory=lambda: [80, 100],
        min_length=1,
        description="Actual and forecast alert thresholds (% of budget).",
    )
    activate_cost_allocation_tags: bool = Field(
        default=True,
        description="Activate the mandatory tags for cost allocation; false in member accounts of an organisation "
        "(only the management account can).",
    )
    expected: ExpectedUsage = Field(default_factory=ExpectedUsage)

    @field_validator("alert_percents")
    @classmethod
    def _percents(cls, value: list[int]) -> list[int]:
        if any(not 1 <= percent <= 500 for percent in value) or len(set(value)) != len(value):
            raise ValueError("use distinct percentages from 1 to 500")
        return sorted(value)


class RegistryConfig(Section):
    """Who else may read this environment's approved model packages (for promotion across accounts)."""

    reader_accounts: list[AccountId] = Field(
        default_factory=list, description="Accounts (staging, prod) that deploy packages registered here."
    )


TRAINING_ENVIRONMENT = "dev"
"""The one environment with a training pipeline: staging and prod serve its approved packages."""


class MonitoringConfig(Section):
    """Alarm and drift thresholds, the drift schedule, and when to retrain."""

    latency_p99_ms: int = Field(default=500, ge=1, le=60_000, description="p99 model latency alarm threshold.")
    error_rate_percent: float = Field(default=1.0, gt=0, le=100, description="5xx share of invocations that alarms.")
    drift_psi_threshold: float = Field(default=0.2, gt=0, le=10, description="Population stability index limit.")
    drift_p_value: float = Field(default=0.01, gt=0, lt=1, description="KS / chi-square significance level.")
    client_error_rate_percent: float = Field(default=5.0, gt=0, le=100, description="4xx share that alarms.")
    cpu_utilization_percent: float = Field(
        default=80.0, gt=0, le=10_000, description="Instance CPU alarm (SageMaker sums cores: 200 = two full cores)."
    )
    memory_utilization_percent: float = Field(default=85.0, gt=0, le=100, description="Instance memory alarm.")
    drift_schedule: str = Field(
        default="rate(1 day)", pattern=SCHEDULE, description="How often the drift job checks captured traffic."
    )
    backend: Literal["custom", "model-monitor"] = Field(
        default="custom",
        description="custom: the blueprint's drift pipeline (PSI + KS/chi-square); model-monitor: SageMaker Model "
        "Monitor data-quality schedule (needs a baseline from `mlops model baseline`).",
    )
    model_monitor_schedule: str = Field(
        default="cron(0 * ? * * *)",
        pattern=r"^cron\([^)]+\)$",
        description="Model Monitor schedule (hourly or daily cron).",
    )
    retrain_on_drift: bool = Field(
        default=True,
        description="A drift alarm (or a violation) starts dev's training pipeline: dev's own directly, staging's "
        "and prod's by forwarding the alarm to the event bus of the account their model package comes from.",
    )
    retrain_schedule: str | None = Field(
        default=None,
        pattern=SCHEDULE,
        description="Also retrain on this schedule, drift or not (unset: never). Dev only: models are trained there.",
    )
    processing_instance_type: InstanceType = Field(
        default="ml.m5.large",
        description="Instance type of the jobs outside the training pipeline: drift checks, Model Monitor "
        "baselines and schedules, batch scoring.",
    )
    max_runtime_seconds: int = Field(default=3600, ge=60, le=86_400, description="Hard stop of a drift job.")
    processing_instance_count: int = Field(
        default=1,
        ge=1,
        le=100,  # ProcessingResources.ClusterConfig.InstanceCount: 1 to 100 (botocore's SageMaker model)
        description="Instances of the custom drift job. Above 1, each reads its share of the capture files "
        "(ShardedByS3Key) and a second, one-instance job merges their tallies into the report.",
    )

    @model_validator(mode="after")
    def _instances_need_the_custom_job(self) -> Self:
        if self.processing_instance_count > 1 and self.backend != "custom":
            raise ValueError(
                "processingInstanceCount applies to the custom drift job; backend model-monitor runs Model "
                "Monitor's own schedule instead: set processingInstanceCount to 1 or backend to custom"
            )
        return self


class StackConfig(Section):
    """Every setting of one stack (environment), validated before anything is registered."""

    region: Region = Field(description="AWS region, read from `aws:region`.")
    environment: Environment = Field(description="dev, staging or prod: drives naming, tags and guardrails.")
    account_id: AccountId = Field(description="The AWS account this stack deploys into.")
    owner: str = Field(min_length=2, max_length=64, description="Team that owns the stack (tag `owner`).")
    cost_center: str = Field(
        min_length=2, max_length=64, pattern=r"^[A-Za-z0-9_.:/=+@-]+$", description="Tag `cost-center`."
    )
    name_prefix: str = Field(
        default="mlops",
        min_length=2,
        max_length=12,
        pattern=r"^[a-z][a-z0-9]*$",
        description="Lower-case prefix of every resource name; short, since SageMaker caps names at 63.",
    )
    allowed_instance_types: list[InstanceType] = Field(
        min_length=1, description="Instance types jobs and endpoints may use in this environment."
    )
    network: NetworkConfig
    storage: StorageConfig = Field(default_factory=StorageConfig)
    encryption: EncryptionConfig = Field(default_factory=EncryptionConfig)
    audit: AuditConfig = Field(default_factory=AuditConfig)
    identity: IdentityConfig
    guardrails: GuardrailsConfig = Field(default_factory=GuardrailsConfig)
    feature_store: FeatureStoreConfig = Field(default_factory=FeatureStoreConfig)
    training: TrainingConfig | None = Field(
        default=None, description=f"The training pipeline: required in {TRAINING_ENVIRONMENT}, refused elsewhere."
    )
    serving: ServingConfig = Field(default_factory=ServingConfig)
    registry: RegistryConfig = Field(default_factory=RegistryConfig)
    cost: CostConfig
    monitoring: MonitoringConfig = Field(default_factory=MonitoringConfig)
    quality: QualityConfig = Field(
        default_factory=QualityConfig,
        description="The model-quality job on captured predictions joined with late labels (a project's setting).",
    )
    project: str | None = Field(
        default=None,
        description="Set by the loader, never in a file: the project whose settings complete the platform's "
        "(None: the platform's own view).",
    )
    teardown: bool = Field(
        default=False,
        description="Lift the protection of data buckets, keys, the registry and feature groups so "
        "`pulumi destroy` can run (they are still retained in AWS): the README's teardown path.",
    )

    @field_validator("training", mode="before")
    @classmethod
    def _trained_here(cls, value: Any, info: ValidationInfo) -> Any:
        """Refused before its keys are checked: outside dev, every training setting would be ignored."""
        environment = info.data.get("environment")
        if value is None or environment in (None, TRAINING_ENVIRONMENT):
            return value
        raise ValueError(
            f"models are trained in {TRAINING_ENVIRONMENT} only (drift here starts {TRAINING_ENVIRONMENT}'s "
            f"pipeline), so no training setting applies in {environment}, tracking included; remove the training "
            "section (the drift job's instance is monitoring.processingInstanceType)"
        )

    @model_validator(mode="after")
    def _cross_field_rules(self) -> Self:
        problems = [*self._zone_problems(), *self._registry_problems()]
        if self.project is not None:  # the project's view: the platform's settings completed by one project's
            problems += [
                *self._instance_problems(),
                *self._environment_problems(),
                *self._tracking_problems(),
                *self._retraining_problems(),
                *self._ingestion_problems(),
            ]
        if problems:
            raise ValidationError.from_exception_data(
                "StackConfig",
                [
                    InitErrorDetails(type=PydanticCustomError("cross_field", message), loc=loc, input=value)
                    for loc, value, message in problems
                ],
            )
        return self

    def _registry_problems(self) -> list[Problem]:
        if self.account_id in self.registry.reader_accounts:
            return [(("registry", "readerAccounts"), self.account_id, "lists the stack's own account; remove it")]
        return []

    def _zone_problems(self) -> list[Problem]:
        network = self.network
        zones = (
            len(network.existing_vpc.private_subnet_ids) if network.existing_vpc else len(network.availability_zones)
        )
        if network.interface_endpoint_azs and network.interface_endpoint_azs > zones:
            return [
                (
                    ("network", "interfaceEndpointAzs"),
                    network.interface_endpoint_azs,
                    f"there are only {zones} private subnets to put interface endpoints in",
                )
            ]
        if self.network.existing_vpc is not None:
            return []
        problems: list[Problem] = [
            (("network", "availabilityZones", index), zone, problem)
            for index, zone in enumerate(self.network.availability_zones)
            if (problem := zone_problem(zone, self.region))
        ]
        return [*problems, *self._subnet_size_problems()]

    def _subnet_size_problems(self) -> list[Problem]:
        """Each private subnet must hold an address for every interface endpoint and every workload ENI."""
        network = self.network
        if network.existing_vpc is not None:
            return []
        needed = self.addresses_per_subnet()
        prefix = private_subnet_prefix(network.vpc_cidr.prefixlen)
        if usable_addresses(prefix) >= needed:
            return []
        fits = next(
            (vpc for vpc in range(network.vpc_cidr.prefixlen - 1, 15, -1)
             if usable_addresses(private_subnet_prefix(vpc)) >= needed),
            16,
        )  # fmt: skip
        return [
            (
                ("network", "vpcCidr"),
                str(network.vpc_cidr),
                f"a /{network.vpc_cidr.prefixlen} VPC gives /{prefix} subnets with {usable_addresses(prefix)} usable "
                f"addresses each (AWS reserves 5), but a subnet needs {needed}: one per interface endpoint "
                f"({len(network.interface_endpoints)}) and one per job or endpoint instance; use a /{fits} or larger",
            )
        ]

    def addresses_per_subnet(self) -> int:
        """Addresses a private subnet must have: the interface endpoints' ENIs and the workload's, at worst."""
        training = self.training
        jobs = 0 if training is None else training.tuning.max_parallel if training.tuning else 1
        serving = self.serving.max_instances if self.serving.mode == "realtime" else 0  # serverless: no ENIs here
        ingestion = self.feature_store.ingestion
        preprocess = 1 if training is None else training.preprocess_instance_count
        # one ENI per instance
        processing = max(self.monitoring.processing_instance_count, ingestion.instance_count, preprocess)
        return len(self.network.interface_endpoints) + jobs + processing + serving

    def _instance_problems(self) -> list[Problem]:
        used: dict[tuple[str, ...], str] = {
            ("monitoring", "processingInstanceType"): self.monitoring.processing_instance_type,
        }
        if self.training is not None:
            used[("training", "instanceType")] = self.training.instance_type
            used[("training", "processingInstanceType")] = self.training.processing_instance_type
        if self.serving.mode == "realtime":
            used[("serving", "instanceType")] = self.serving.instance_type
        if self.feature_store.ingestion.engine == "spark":
            used[("featureStore", "ingestion", "instanceType")] = self.feature_store.ingestion.instance_type
        allowed = ", ".join(self.allowed_instance_types)
        return [
            (
                loc,
                value,
                f"{value} is not in allowedInstanceTypes ({allowed}); add it there or pick one of those",
            )
            for loc, value in used.items()
            if value not in self.allowed_instance_types
        ]

    def _ingestion_problems(self) -> list[Problem]:
        """The Spark job's executors call PutRecord from private subnets: only through the runtime's endpoint."""
        endpoints = self.network.interface_endpoints
        if not self.feature_store.spark_writes_online or "sagemaker.featurestore-runtime" in endpoints:
            return []
        return [
            (
                ("network", "interfaceEndpoints"),
                endpoints,
                "featureStore.ingestion (engine spark) writes the online store: add sagemaker.featurestore-runtime, "
                "or set its targetStores to [OfflineStore]",
            )
        ]

    def _tracking_problems(self) -> list[Problem]:
        endpoints = self.network.interface_endpoints
        if self.training is None or not self.training.tracking.enabled or "sagemaker.experiments" in endpoints:
            return []
        return [
            (
                ("network", "interfaceEndpoints"),
                endpoints,
                "training.tracking is enabled: add sagemaker.experiments, or jobs cannot reach MLflow",
            )
        ]

    def _persona_problems(self) -> list[Problem]:
        personas = self.identity.personas
        problems: list[Problem] = [
            (
                ("identity", "personas", to_camel(persona), index),
                arn,
                f"is in account {arn.split(':')[4]}, not this stack's account {self.account_id}: a persona is a "
                "role (e.g. an SSO permission set's) in the account it works in",
            )
            for persona, arns in personas
            for index, arn in enumerate(arns)
            if arn.split(":")[4] != self.account_id
        ]
        if self.environment == "prod" and not personas.model_approvers:
            problems.append(
                (
                    ("identity", "personas", "modelApprovers"),
                    [],
                    "prod needs at least one model approver, or no model can ever be approved for it: add the SSO "
                    "role ARN of the people who approve models",
                )
            )
        return problems

    def _retraining_problems(self) -> list[Problem]:
        """Every model is trained, registered and approved in dev; other environments only serve them."""
        if self.environment == TRAINING_ENVIRONMENT:
            if self.training is not None:
                return []
            return [
                (
                    ("training",),
                    None,
                    f"{TRAINING_ENVIRONMENT} trains every model: add a training section with at least metricThreshold",
                )
            ]
        elsewhere = (
            f"models are trained in {TRAINING_ENVIRONMENT} only (drift here starts {TRAINING_ENVIRONMENT}'s pipeline)"
        )
        problems: list[Problem] = []
        if "training_hours" in self.cost.expected.model_fields_set:
            problems.append(
                (
                    ("cost", "expected", "trainingHours"),
                    self.cost.expected.training_hours,
                    f"{elsewhere}, so no training hours are billed here; remove trainingHours",
                )
            )
        if self.monitoring.retrain_schedule is not None:
            problems.append(
                (
                    ("monitoring", "retrainSchedule"),
                    self.monitoring.retrain_schedule,
                    f"{elsewhere}; move retrainSchedule to environments.{TRAINING_ENVIRONMENT}.monitoring",
                )
            )
        return problems

    def trained(self) -> TrainingConfig:
        """The training section, in the one environment that has it (validation guarantees it there)."""
        if self.training is None:
            raise ValueError(f"{self.environment} has no training pipeline; {TRAINING_ENVIRONMENT} trains every model")
        return self.training

    def _environment_problems(self) -> list[Problem]:
        problems: list[Problem] = []
        serving = self.serving
        problems += serving.exclusion_problems()
        if self.environment != "dev" and serving.serverless.outside_vpc:
            problems.append(
                (
                    ("serving", "serverless", "outsideVpc"),
                    True,
                    f"only dev may serve outside the VPC; {self.environment} serves with mode: realtime",
                )
            )
        if serving.mode == "serverless" and self.monitoring.backend == "model-monitor":
            problems.append(
                (
                    ("monitoring", "backend"),
                    "model-monitor",
                    "Model Monitor does not support serverless endpoints (SageMaker serverless feature "
                    "exclusions); use backend: custom or serve with mode: realtime",
                )
            )
        if self.environment == "prod" and serving.mode != "realtime":
            problems.append(
                (
                    ("serving", "mode"),
                    serving.mode,
                    "prod serves in realtime mode (serverless has cold starts)",
                )
            )
        if self.environment == "prod" and serving.rollout.strategy == "all-at-once":
            problems.append(
                (
                    ("serving", "rollout", "strategy"),
                    serving.rollout.strategy,
                    "prod shifts traffic by canary or linear steps, so an alarm can roll a bad model back",
                )
            )
        problems += self._persona_problems()
        if self.environment == "prod" and serving.min_instances < 2:
            problems.append(
                (
                    ("serving", "minInstances"),
                    serving.min_instances,
                    "prod needs at least 2 instances so one AZ failing does not take the endpoint down",
                )
            )
        if self.environment != "dev" and serving.data_capture_percentage == 0:
            problems.append(
                (
                    ("serving", "dataCapturePercentage"),
                    0,
                    f"{self.environment} must capture some traffic, or drift detection has nothing to compare",
                )
            )
        arn = serving.model_package_arn
        if arn and arn.split(":")[3] != self.region:
            problems.append(
                (
                    ("serving", "modelPackageArn"),
                    arn,
                    f"the package must be in the stack's region {self.region}",
                )
            )
        return problems
