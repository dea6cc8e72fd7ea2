"""Encryption at rest with customer-managed keys: stores, volumes, topics, logs, features, endpoints, jobs."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from policies.model import Context, Resource, ResourceCheck, Rule
from policies.registry import register
from policies.rules.common import BUCKET, ENDPOINT_CONFIG, PIPELINE, pipeline_jobs

SSE = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"


def _buckets_encrypted(resources: Sequence[Resource], context: Context) -> Iterable[tuple[Resource | None, str]]:
    configs = {str(r.props.get("bucket")): r for r in resources if r.type == SSE}
    for bucket in (r for r in resources if r.type == BUCKET):
        name = str(bucket.props.get("bucket"))
        config = configs.get(name)
        if config is None:
            yield bucket, f"bucket {name} has no default encryption configuration"
            continue
        for rule in config.props.get("rules", []):
            default = rule.get("applyServerSideEncryptionByDefault", {})
            purpose = (bucket.props.get("tags") or {}).get("purpose")
            if default.get("sseAlgorithm") == "AES256" and purpose == "access-logs":
                continue  # S3 delivers server access logs only to SSE-S3 buckets
            if default.get("sseAlgorithm") != "aws:kms" or not default.get("kmsMasterKeyId"):
                yield bucket, f"bucket {name} is not encrypted with a customer-managed KMS key"


register(
    Rule(
        id="s3-bucket-kms-encryption",
        family="encryption",
        description="Every S3 bucket encrypts by default with a customer-managed KMS key.",
        why="Data at rest stays unreadable without the key, and key use is logged and revocable.",
        fix="Add a BucketServerSideEncryptionConfiguration with sse_algorithm aws:kms and the bucket's key.",
        control="Security Hub S3.17 (SSE-KMS), S3.4",
        stack_check=_buckets_encrypted,
    )
)


def _key_rotation(resource: Resource, context: Context) -> Iterable[str]:
    if resource.props.get("enableKeyRotation") is not True:
        yield "key rotation is off"


register(
    Rule(
        id="kms-key-rotation",
        family="encryption",
        description="Customer-managed KMS keys rotate yearly.",
        why="Rotation limits how much data one key version protects.",
        fix="Set enable_key_rotation=True on the key.",
        control="Security Hub KMS.4",
        types=("aws:kms/key:Key",),
        check=_key_rotation,
    )
)


def _needs(key: str, what: str) -> ResourceCheck:
    def check(resource: Resource, context: Context) -> Iterable[str]:
        if not resource.props.get(key):
            yield f"{what} is not encrypted with a KMS key ({key} is empty)"

    return check


register(
    Rule(
        id="sns-topic-kms",
        family="encryption",
        description="SNS topics are encrypted with a KMS key.",
        why="Alerts carry resource names and model metadata.",
        fix="Set kms_master_key_id to the alerts key.",
        control="Security Hub SNS.1",
        types=("aws:sns/topic:Topic",),
        check=_needs("kmsMasterKeyId", "the topic"),
    )
)
register(
    Rule(
        id="log-group-kms",
        family="encryption",
        description="CloudWatch log groups are encrypted with a KMS key.",
        why="Job and endpoint logs can contain feature values.",
        fix="Set kms_key_id to the logs key.",
        control="AWS best practice: CloudWatch Logs encryption (CIS 3.x)",
        types=("aws:cloudwatch/logGroup:LogGroup",),
        check=_needs("kmsKeyId", "the log group"),
    )
)


def _feature_group(resource: Resource, context: Context) -> Iterable[str]:
    offline = resource.props.get("offlineStoreConfig") or {}
    if not (offline.get("s3StorageConfig") or {}).get("kmsKeyId"):
        yield "the offline store is not KMS-encrypted"
    online = resource.props.get("onlineStoreConfig") or {}
    if online.get("enableOnlineStore") and not (online.get("securityConfig") or {}).get("kmsKeyId"):
        yield "the online store is not KMS-encrypted"


register(
    Rule(
        id="feature-store-kms",
        family="encryption",
        description="Feature groups encrypt both their online and offline stores with a KMS key.",
        why="Features are customer data.",
        fix="Set security_config.kms_key_id (online) and s3_storage_config.kms_key_id (offline).",
        control="AWS best practice: SageMaker Feature Store encryption",
        types=("aws:sagemaker/featureGroup:FeatureGroup",),
        check=_feature_group,
    )
)


def _endpoint_config(resource: Resource, context: Context) -> Iterable[str]:
    variants = resource.props.get("productionVariants") or []
    realtime = any("instanceType" in variant for variant in variants)
    if realtime and not resource.props.get("kmsKeyArn"):
        yield "instance storage of a realtime endpoint is not KMS-encrypted"
    capture = resource.props.get("dataCaptureConfig") or {}
    if capture.get("enableCapture") and not capture.get("kmsKeyId"):
        yield "captured requests are not KMS-encrypted"


register(
    Rule(
        id="endpoint-kms",
        family="encryption",
        description="Realtime endpoint volumes and captured traffic are KMS-encrypted.",
        why="Captured requests are production inputs.",
        fix="Set kms_key_arn and data_capture_config.kms_key_id on the endpoint configuration.",
        control="Security Hub SageMaker.x; AWS best practice: endpoint encryption",
        types=(ENDPOINT_CONFIG,),
        check=_endpoint_config,
    )
)


def _pipeline_jobs(resource: Resource, context: Context) -> Iterable[str]:
    for name, kind, args in pipeline_jobs(resource):
        if kind == "Processing":
            volume = args.get("ProcessingResources", {}).get("ClusterConfig", {}).get("VolumeKmsKeyId")
            output = args.get("ProcessingOutputConfig", {}).get("KmsKeyId")
        else:
            volume = args.get("ResourceConfig", {}).get("VolumeKmsKeyId")
            output = args.get("OutputDataConfig", {}).get("KmsKeyId")
        if not volume or not output:
            yield f"step {name} lacks a {'volume' if not volume else 'output'} KMS key"


register(
    Rule(
        id="pipeline-jobs-kms",
        family="encryption",
        description="Every processing and training job of a pipeline encrypts its volumes and outputs with KMS.",
        why="Jobs hold training data and write models.",
        fix="Pass volume_kms_key and output_kms_key (the models key) to every job of the pipeline.",
        control="AWS best practice: SageMaker job encryption",
        types=(PIPELINE,),
        check=_pipeline_jobs,
    )
)
