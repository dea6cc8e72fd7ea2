"""SageMaker-specific guardrails: isolation, VPC, capture, capacity, rollback, sizes and spot."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

from policies.model import Context, Resource, Rule
from policies.registry import register
from policies.rules.common import ENDPOINT_CONFIG, PIPELINE, bucket_names, pipeline_jobs

MODEL = "aws:sagemaker/model:Model"
TRACKING = ("aws:sagemaker/mlflowApp:MlflowApp", "aws:sagemaker/mlflowTrackingServer:MlflowTrackingServer")
ENDPOINT = "aws:sagemaker/endpoint:Endpoint"
MONITORING_JOBS = ("aws:sagemaker/dataQualityJobDefinition:DataQualityJobDefinition",)


def _serverless_configs(resources: Sequence[Resource]) -> list[Resource]:
    """Endpoint configurations with a serverless variant."""
    return [
        resource
        for resource in resources
        if resource.type == ENDPOINT_CONFIG
        and any("serverlessConfig" in variant for variant in resource.props.get("productionVariants") or [])
    ]


def _served_models(config: Resource) -> set[str]:
    """Names of the models an endpoint configuration serves (production and shadow variants)."""
    variants = [*(config.props.get("productionVariants") or []), *(config.props.get("shadowProductionVariants") or [])]
    return {str(variant.get("modelName")) for variant in variants}


def _model_isolation(resources: Sequence[Resource], context: Context) -> Iterable[tuple[Resource | None, str]]:
    serverless = set().union(*(_served_models(config) for config in _serverless_configs(resources)))
    for resource in resources:
        if resource.type != MODEL:
            continue
        if context.environment == "dev" and resource.props.get("name") in serverless:
            continue  # dev's documented relaxation; sagemaker-serverless-exclusions checks the rest
        if resource.props.get("enableNetworkIsolation") is not True:
            yield resource, "the model container can reach the network"
        if not (resource.props.get("vpcConfig") or {}).get("subnets"):
            yield resource, "the model does not run in the VPC"


register(
    Rule(
        id="sagemaker-model-isolated",
        family="sagemaker",
        description="Models run network-isolated inside the VPC's private subnets (dev's serverless model excepted).",
        why="An inference container must not be able to send data anywhere.",
        fix="Set enable_network_isolation=True and vpc_config on the model.",
        control="Security Hub SageMaker.2 (VPC), SageMaker.3 (no direct internet)",
        stack_check=_model_isolation,
    )
)


def _serverless_exclusions(resources: Sequence[Resource], context: Context) -> Iterable[tuple[Resource | None, str]]:
    """SageMaker's serverless feature exclusions and the deployment guardrails exclusions, on the plan."""
    yield from _serverless_config_problems(resources)
    yield from _rolling_problems(resources)
    serverless = {str(config.props.get("name")) for config in _serverless_configs(resources)}
    monitored = {
        str(((r.props.get("dataQualityJobInput") or {}).get("endpointInput") or {}).get("endpointName"))
        for r in resources
        if r.type in MONITORING_JOBS
    }
    for endpoint in resources:
        config_name, name = endpoint.props.get("endpointConfigName"), endpoint.props.get("name")
        if endpoint.type == ENDPOINT and config_name in serverless and name in monitored:
            yield endpoint, "Model Monitor does not support serverless endpoints"


def _serverless_config_problems(resources: Sequence[Resource]) -> Iterable[tuple[Resource, str]]:
    models = {str(r.props.get("name")): r for r in resources if r.type == MODEL}
    for config in _serverless_configs(resources):
        variants = config.props.get("productionVariants") or []
        if len(variants) > 1:
            yield config, f"a serverless endpoint has {len(variants)} production variants; it supports one"
        if config.props.get("shadowProductionVariants"):
            yield config, "a serverless endpoint cannot have shadow variants"
        if (config.props.get("dataCaptureConfig") or {}).get("enableCapture"):
            yield config, "a serverless endpoint cannot capture data"
        for name in sorted(_served_models(config) & set(models)):
            if models[name].props.get("vpcConfig"):
                yield models[name], f"model {name} is served serverless, which supports no VPC configuration"
            if models[name].props.get("enableNetworkIsolation"):
                yield models[name], f"model {name} is served serverless, which supports no network isolation"


def _rolling_problems(resources: Sequence[Resource]) -> Iterable[tuple[Resource, str]]:
    configs = {str(r.props.get("name")): r for r in resources if r.type == ENDPOINT_CONFIG}
    serverless = set(map(id, _serverless_configs(resources)))
    for endpoint in resources:
        if endpoint.type != ENDPOINT or not (endpoint.props.get("deploymentConfig") or {}).get("rollingUpdatePolicy"):
            continue
        config = configs.get(str(endpoint.props.get("endpointConfigName")))
        if config is None:
            continue
        if id(config) in serverless:
            yield endpoint, "rolling deployments do not support serverless endpoints"
        if len(config.props.get("productionVariants") or []) > 1:
            yield endpoint, "rolling deployments do not support multi-variant endpoints"


register(
    Rule(
        id="sagemaker-serverless-exclusions",
        family="sagemaker",
        description="Serverless endpoints use none of the features SageMaker excludes for them; rolling deployments "
        "target only single-variant realtime endpoints.",
        why="SageMaker refuses these at create or update time (serverless feature exclusions; deployment "
        "guardrails exclusions), after the rest of the stack has changed.",
        fix="Serve serverless with one variant, no VPC, no isolation, no capture and no Model Monitor "
        "(serving.serverless.outsideVpc, serving.dataCapturePercentage: 0, monitoring.backend: custom), or "
        "serve with mode: realtime; use a blue/green rollout for serverless or multi-variant endpoints.",
        control="SageMaker developer guide: serverless-endpoints (feature exclusions), "
        "deployment-guardrails-exclusions",
        stack_check=_serverless_exclusions,
    )
)


def _pipeline_network(resource: Resource, context: Context) -> Iterable[str]:
    for name, kind, args in pipeline_jobs(resource):
        if kind == "Processing":
            vpc = args.get("NetworkConfig", {}).get("VpcConfig", {})
        else:
            vpc = args.get("VpcConfig", {})
            if args.get("EnableNetworkIsolation") is not True:
                yield f"training step {name} is not network-isolated"
        if not vpc.get("Subnets"):
            yield f"step {name} does not run in the VPC"


register(
    Rule(
        id="sagemaker-jobs-in-vpc",
        family="sagemaker",
        description="Every pipeline job runs in the VPC; training jobs are also network-isolated.",
        why="Jobs read raw data; outside the VPC they could reach the internet.",
        fix="Give every step the network component's subnets and security group; isolate training.",
        control="Security Hub SageMaker.2; AWS best practice: SageMaker network isolation",
        types=(PIPELINE,),
        check=_pipeline_network,
    )
)


def _capture(resource: Resource, context: Context) -> Iterable[str]:
    if context.environment == "dev":
        return
    capture = resource.props.get("dataCaptureConfig") or {}
    if not capture.get("enableCapture") or not capture.get("initialSamplingPercentage"):
        yield f"a {context.environment} endpoint must capture traffic, or drift goes unseen"


register(
    Rule(
        id="sagemaker-capture-outside-dev",
        family="sagemaker",
        description="Staging and prod endpoints capture a share of their traffic.",
        why="Drift detection compares captured inputs with the training baseline.",
        fix="Set serving.dataCapturePercentage above 0.",
        control="AWS Well-Architected ML Lens: monitor model inputs",
        types=(ENDPOINT_CONFIG,),
        check=_capture,
    )
)


def _prod_capacity(resource: Resource, context: Context) -> Iterable[str]:
    if context.environment != "prod":
        return
    for variant in resource.props.get("productionVariants") or []:
        if "serverlessConfig" in variant:
            yield "prod endpoints are realtime, not serverless"
        elif int(variant.get("initialInstanceCount", 0)) < 2:
            count = variant.get("initialInstanceCount")
            yield f"variant {variant.get('variantName')} runs {count} instance(s); prod needs 2"


register(
    Rule(
        id="sagemaker-prod-two-instances",
        family="sagemaker",
        description="Prod endpoints run at least two instances (spread across AZs by SageMaker).",
        why="One instance is one failure away from an outage.",
        fix="Set serving.minInstances to 2 or more in Pulumi.prod.yaml.",
        control="AWS Well-Architected Reliability; SageMaker endpoint best practice",
        types=(ENDPOINT_CONFIG,),
        check=_prod_capacity,
    )
)


def _rollback(resource: Resource, context: Context) -> Iterable[str]:
    if context.environment != "prod":
        return
    alarms = ((resource.props.get("deploymentConfig") or {}).get("autoRollbackConfiguration") or {}).get("alarms")
    if not alarms:
        yield "a prod deployment has no alarm to roll it back"


register(
    Rule(
        id="sagemaker-prod-auto-rollback",
        family="sagemaker",
        description="Prod endpoints deploy blue/green with alarm-driven automatic rollback.",
        why="A bad model version must undo itself before people notice.",
        fix="Keep the endpoint's deployment_config with auto_rollback_configuration alarms.",
        control="SageMaker deployment guardrails best practice",
        types=(ENDPOINT,),
        check=_rollback,
    )
)


def _instance_types(resource: Resource, context: Context) -> Iterable[str]:
    if not context.allowed_instance_types:
        return
    used: list[str] = []
    if resource.type == ENDPOINT_CONFIG:
        used = [v["instanceType"] for v in resource.props.get("productionVariants") or [] if "instanceType" in v]
    else:
        definition = resource.json("pipelineDefinition") or {}
        used = [p["DefaultValue"] for p in definition.get("Parameters", []) if p["Name"].endswith("InstanceType")]
        used += [
            str(args.get("ResourceConfig", {}).get("InstanceType"))
            for _, kind, args in pipeline_jobs(resource)
            if kind == "Training" and isinstance(args.get("ResourceConfig", {}).get("InstanceType"), str)
        ]
    for instance in used:
        if instance not in context.allowed_instance_types:
            yield f"{instance} is not allowed in {context.environment} ({', '.join(context.allowed_instance_types)})"


register(
    Rule(
        id="sagemaker-instance-allowlist",
        family="cost",
        description="Jobs and endpoints use only the instance types the environment allows.",
        why="An unreviewed GPU type can cost more in a day than the environment in a month.",
        fix="Pick a type from mlops:allowedInstanceTypes, or add it there after review.",
        control="AWS cost governance best practice",
        types=(ENDPOINT_CONFIG, PIPELINE),
        check=_instance_types,
    )
)


def _spot(resource: Resource, context: Context) -> Iterable[str]:
    if context.environment != "dev":
        return
    for name, kind, args in pipeline_jobs(resource):
        if kind == "Training" and args.get("EnableManagedSpotTraining") is not True:
            yield f"training step {name} runs on-demand in dev; spot costs up to 90% less"


register(
    Rule(
        id="sagemaker-spot-in-dev",
        family="cost",
        description="Dev training uses managed spot instances with checkpoints.",
        why="Dev trains often and can wait for capacity.",
        fix="Set training.useSpot: true in Pulumi.dev.yaml.",
        control="AWS cost optimisation: managed spot training",
        types=(PIPELINE,),
        check=_spot,
    )
)


def _monitoring_kms(resource: Resource, context: Context) -> Iterable[str]:
    config = resource.props.get("monitoringScheduleConfig") or {}
    if resource.type.endswith("MonitoringSchedule") and "monitoringJobDefinition" not in config:
        return  # it runs a job definition by name; that resource is checked itself
    text = json.dumps(dict(resource.props))
    if "volumeKmsKeyId" not in text or "kmsKeyId" not in text:
        yield "the monitoring job does not encrypt its volume and output with KMS"


register(
    Rule(
        id="sagemaker-monitoring-kms",
        family="encryption",
        description="Model Monitor job definitions encrypt their volumes and reports with KMS.",
        why="Monitoring jobs read captured production traffic.",
        fix="Set job_resources.cluster_config.volume_kms_key_id and job_output_config.kms_key_id.",
        control="AWS best practice: SageMaker Model Monitor encryption",
        types=(
            "aws:sagemaker/dataQualityJobDefinition:DataQualityJobDefinition",
            "aws:sagemaker/monitoringSchedule:MonitoringSchedule",
        ),
        check=_monitoring_kms,
    )
)


def _tracking_governed(resources: Sequence[Resource], context: Context) -> Iterable[tuple[Resource | None, str]]:
    platform_buckets = bucket_names(list(resources))
    for resource in resources:
        if resource.type not in TRACKING:
            continue
        store = str(resource.props.get("artifactStoreUri") or "")
        bucket = store.removeprefix("s3://").split("/", 1)[0]
        if bucket not in platform_buckets:
            yield resource, f"MLflow artifacts go to {store or 'nowhere'}, not to a bucket this stack governs"
        if (
            resource.props.get("modelRegistrationMode") == "AutoModelRegistrationEnabled"
            or resource.props.get("automaticModelRegistration") is True
        ):
            yield resource, "MLflow registers models in the SageMaker registry by itself, past the evaluation gate"


register(
    Rule(
        id="sagemaker-tracking-governed",
        family="sagemaker",
        description="MLflow keeps its artifacts in a bucket of the stack and never registers models by itself.",
        why="Run artifacts hold data samples and models; packages must come through the gated, lineage-stamped "
        "pipeline.",
        fix="Point artifact_store_uri at the artifacts bucket; set model registration to disabled.",
        control="AWS best practice: SageMaker MLflow artifact store and model registry integration",
        stack_check=_tracking_governed,
    )
)
