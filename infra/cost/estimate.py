"""A monthly cost estimate of a plan, from the price table in this folder and the stack's expected usage.

Always-on ("idle") cost is what the environment costs doing nothing: endpoint instances, interface
endpoints, keys, alarms, dashboards, storage. Usage cost follows the expected work in the stack file:
training hours (dev only: no other environment trains), processing hours, serverless requests, log
ingestion. A resource type the table cannot price is listed
as unpriced, never counted as zero; types that AWS does not bill are listed with the reason.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal

from kernel import yaml_text
from kernel.models import StackConfig
from kernel.regions import PRICES as REGION_PRICES

PRICES = REGION_PRICES
Kind = Literal["idle", "usage"]

FREE = {
    "aws:iam/role:Role": "IAM is free",
    "aws:iam/policy:Policy": "IAM is free",
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": "IAM is free",
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": "IAM is free",
    "aws:kms/alias:Alias": "aliases are free",
    "aws:s3/bucketPolicy:BucketPolicy": "bucket settings are free",
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": "bucket settings are free",
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": "bucket settings are free",
    "aws:s3/bucketVersioning:BucketVersioning": "bucket settings are free (old versions are in storage_gb)",
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": (
        "bucket keys keep KMS requests low"
    ),
    "aws:s3/bucketLogging:BucketLogging": "log objects are in storage_gb",
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": "bucket settings are free",
    "aws:s3/bucketObjectv2:BucketObjectv2": "a few KB of step code",
    "aws:ec2/vpc:Vpc": "VPCs are free",
    "aws:ec2/subnet:Subnet": "subnets are free",
    "aws:ec2/routeTable:RouteTable": "route tables are free",
    "aws:ec2/routeTableAssociation:RouteTableAssociation": "route tables are free",
    "aws:ec2/securityGroup:SecurityGroup": "security groups are free",
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": "security groups are free",
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": "security groups are free",
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": "security groups are free",
    "aws:ec2/flowLog:FlowLog": "flow logs to S3 are billed as vended logs; small in an idle VPC",
    "aws:sns/topic:Topic": "first million publishes free",
    "aws:sns/topicPolicy:TopicPolicy": "free",
    "aws:sns/topicSubscription:TopicSubscription": "first 1,000 e-mails free",
    "aws:glue/catalogDatabase:CatalogDatabase": "first million catalog objects free",
    "aws:athena/workgroup:Workgroup": "billed per query scanned (capped by the workgroup)",
    "aws:sagemaker/modelPackageGroup:ModelPackageGroup": "the registry is free",
    "aws:sagemaker/modelPackageGroupPolicy:ModelPackageGroupPolicy": "the registry is free",
    "aws:sagemaker/model:Model": "billed through its endpoint",
    "aws:sagemaker/endpoint:Endpoint": "billed through its endpoint configuration",
    "aws:sagemaker/pipeline:Pipeline": "pipelines are free; their jobs are usage",
    "aws:cloudwatch/eventRule:EventRule": "AWS service events are free",
    "aws:cloudwatch/eventTarget:EventTarget": "AWS service events are free",
    "aws:cloudwatch/eventBusPolicy:EventBusPolicy": "bus policies are free (forwarded events: $1 per million)",
    "aws:scheduler/schedule:Schedule": "first 14 million invocations free",
    "aws:appautoscaling/target:Target": "free; the instances are priced",
    "aws:appautoscaling/policy:Policy": "free",
    "aws:appautoscaling/scheduledAction:ScheduledAction": "free",
    "aws:budgets/budget:Budget": "the first two budgets are free",
    "aws:costexplorer/costAllocationTag:CostAllocationTag": "free",
}


@dataclass(frozen=True)
class Line:
    """One priced item."""

    component: str
    item: str
    quantity: float
    unit: str
    unit_usd: float
    monthly_usd: float
    kind: Kind


@dataclass
class CostReport:
    """The estimate: lines, unpriced resources, free resources, and the table it came from."""

    stack: str
    region: str
    price_date: str
    price_source: str
    lines: list[Line] = field(default_factory=list)
    unpriced: list[str] = field(default_factory=list)
    free: dict[str, int] = field(default_factory=dict)

    def total(self, kind: Kind) -> float:
        """Monthly total of idle or usage lines."""
        return round(sum(line.monthly_usd for line in self.lines if line.kind == kind), 2)

    def to_dict(self) -> dict[str, Any]:
        """The JSON report."""
        return {
            **{key: value for key, value in asdict(self).items() if key != "lines"},
            "lines": [asdict(line) for line in self.lines],
            "idle_usd": self.total("idle"),
            "usage_usd": self.total("usage"),
        }

    def write(self, path: Path) -> None:
        """Write the JSON report."""
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n", encoding="utf-8")


@cache
def price_table() -> dict[str, Any]:
    """The price table (prices.yaml)."""
    return dict(yaml_text.load(PRICES.read_text(encoding="utf-8")))


def estimate(stack: str, resources: Sequence[Any], config: StackConfig) -> CostReport:
    """Price `resources` (planned: `.type`, `.name`, `.urn`, `.inputs`) for the stack's region."""
    table = price_table()
    region_prices = table["regions"].get(config.region)
    report = CostReport(stack, config.region, table["date"], table["source"])
    if region_prices is None:
        report.unpriced = [f"every resource: no prices for {config.region} in infra/cost/{PRICES.name}"]
        return report
    pricer = _Pricer(region_prices, float(table["hours_per_month"]), report)
    for resource in resources:
        pricer.price(resource.type, resource.name, _component(resource.urn), resource.inputs)
    pricer.usage(config)
    return report


def _component(urn: str) -> str:
    """The component a resource belongs to, from its URN (`mlops:serving:Endpoint` -> serving)."""
    for part in urn.split("::")[2].split("$"):
        if part.startswith("mlops:"):
            return part.split(":")[1]
    return "stack"


class _Pricer:
    def __init__(self, prices: Mapping[str, Any], hours: float, report: CostReport) -> None:
        self.prices, self.hours, self.report = prices, hours, report
        self.online_store = False
        """A feature group keeps an online store: priced from expected usage."""
        self.serverless_gb = 0
        """Memory of the largest serverless variant: priced from expected requests."""
        self.endpoint_planned = False
        """The plan holds an endpoint configuration (a model is pinned); else the configured shape is estimated."""
        self.data_events = False
        """The trail records S3 data events: priced from expected requests."""
        self.log_groups = False
        """The plan has CloudWatch Logs groups (the trail delivers there): ingestion priced from expected GB."""
        self.monitoring_jobs: dict[str, tuple[str, int]] = {}
        """Model Monitor job definitions: name -> (instance type, count)."""
        self.schedules: list[tuple[str, str, str]] = []
        """Model Monitor schedules: (component, job definition name, schedule expression)."""

    def count_free(self, label: str) -> None:
        """Record a resource AWS does not bill (or bills through another line)."""
        self.report.free[label] = self.report.free.get(label, 0) + 1

    def add(self, component: str, item: str, *, quantity: float, unit: str, unit_usd: float, kind: Kind) -> None:
        monthly = round(quantity * unit_usd, 2)
        self.report.lines.append(Line(component, item, quantity, unit, unit_usd, monthly, kind))

    def instance_hour(self, instance: str) -> float | None:
        value = self.prices["sagemaker_instance_hour"].get(instance)
        return None if value is None else float(value)

    def price(self, token: str, name: str, component: str, inputs: Mapping[str, Any]) -> None:
        if token.startswith("mlops:"):
            return
        if token in FREE:
            self.count_free(token)
            return
        handler = getattr(self, "_" + token.rsplit(":", 1)[1], None)
        if handler is None or handler(name, component, inputs) is False:
            self.report.unpriced.append(f"{token} {name}")

    def _Key(self, name: str, component: str, inputs: Mapping[str, Any]) -> None:  # noqa: N802
        self.add(
            component,
            f"KMS key {name}",
            quantity=1,
            unit="key-month",
            unit_usd=float(self.prices["kms_key_month"]),
            kind="idle",
        )

    def _MlflowTrackingServer(self, name: str, component: str, inputs: Mapping[str, Any]) -> None:  # noqa: N802
        size = str(inputs.get("trackingServerSize") or "Small")
        self.add(
            component,
            f"MLflow tracking server {name} ({size}, always on)",
            quantity=self.hours,
            unit="hour",
            unit_usd=float(self.prices["mlflow_tracking_server_hour"][size]),
            kind="idle",
        )

    def _VpcEndpoint(self, name: str, component: str, inputs: Mapping[str, Any]) -> None:  # noqa: N802
        if inputs.get("vpcEndpointType") == "Gateway":
            self.count_free("aws:ec2/vpcEndpoint:VpcEndpoint (gateway endpoints are free)")
            return
        zones = len(inputs.get("subnetIds") or [])
        rate = float(self.prices["interface_endpoint_az_hour"])
        service = str(inputs.get("serviceName", name)).split(".", 3)[-1]  # com.amazonaws.<region>.<service>
        self.add(
            component,
            f"interface endpoint {service} x {zones} AZ",
            quantity=zones * self.hours,
            unit="AZ-hour",
            unit_usd=rate,
            kind="idle",
        )

    def _MlflowApp(self, name: str, component: str, inputs: Mapping[str, Any]) -> None:  # noqa: N802
        self.add(
            component,
            f"MLflow App {inputs.get('name', name)} (serverless; artifacts are in S3 storage)",
            quantity=1,
            unit="app-month",
            unit_usd=float(self.prices["mlflow_app_month"]),
            kind="usage",
        )

    def _Trail(self, name: str, component: str, inputs: Mapping[str, Any]) -> None:  # noqa: N802
        selectors = inputs.get("advancedEventSelectors") or []
        categories = {
            value
            for selector in selectors
            for field in selector.get("fieldSelectors") or []
            if field.get("field") == "eventCategory"
            for value in field.get("equals") or []
        }
        self.data_events |= "Data" in categories
        self.count_free("aws:cloudtrail/trail:Trail (the first copy of management events is free)")

    def _DataQualityJobDefinition(self, name: str, component: str, inputs: Mapping[str, Any]) -> None:  # noqa: N802
        cluster = (inputs.get("jobResources") or {}).get("clusterConfig") or {}
        definition = str(inputs.get("name", name))
        self.monitoring_jobs[definition] = (str(cluster.get("instanceType")), int(cluster.get("instanceCount", 1)))
        self.count_free("aws:sagemaker/dataQualityJobDefinition:DataQualityJobDefinition (its schedule runs it)")

    def _MonitoringSchedule(self, name: str, component: str, inputs: Mapping[str, Any]) -> None:  # noqa: N802
        config = inputs.get("monitoringScheduleConfig") or {}
        expression = str((config.get("scheduleConfig") or {}).get("scheduleExpression", ""))
        self.schedules.append((component, str(config.get("monitoringJobDefinitionName")), expression))

    def monitoring(self, minutes: float) -> None:
        """Model Monitor jobs run on their schedule (hourly or daily cron), whatever the traffic: idle cost."""
        for component, definition, expression in self.schedules:
            instance, count = self.monitoring_jobs.get(definition, ("", 1))
            rate = self.instance_hour(instance)
            fields = expression.removeprefix("cron(").removesuffix(")").split()
            if rate is None or len(fields) != 6:
                self.report.unpriced.append(f"Model Monitor schedule {definition} ({expression} on {instance})")
                continue
            runs_per_day = 24 if fields[1] == "*" else len(fields[1].split(","))
            runs = runs_per_day * self.hours / 24
            self.add(
                component,
                f"Model Monitor {definition}: {runs:g} runs x {minutes:g} min on {count} x {instance}",
                quantity=round(runs * count * minutes / 60, 2),
                unit="instance-hour",
                unit_usd=rate,
                kind="idle",
            )

    def _NatGateway(self, name: str, component: str, inputs: Mapping[str, Any]) -> None:  # noqa: N802
        self.add(
            component,
            f"NAT gateway {name}",
            quantity=self.hours,
            unit="hour",
            unit_usd=float(self.prices["nat_gateway_hour"]),
            kind="idle",
        )

    def _MetricAlarm(self, name: str, component: str, inputs: Mapping[str, Any]) -> None:  # noqa: N802
        metrics = max(1, sum(1 for query in inputs.get("metricQueries") or [] if "metric" in query))
        self.add(
            component,
            f"alarm {inputs.get('name', name)}",
            quantity=metrics,
            unit="metric-month",
            unit_usd=float(self.prices["alarm_metric_month"]),
            kind="idle",
        )

    def _Dashboard(self, name: str, component: str, inputs: Mapping[str, Any]) -> None:  # noqa: N802
        self.add(
            component,
            f"dashboard {inputs.get('dashboardName', name)}",
            quantity=1,
            unit="month",
            unit_usd=float(self.prices["dashboard_month"]),
            kind="idle",
        )

    def _LogGroup(self, name: str, component: str, inputs: Mapping[str, Any]) -> None:  # noqa: N802
        self.log_groups = True
        self.count_free("aws:cloudwatch/logGroup:LogGroup (idle groups are free; ingestion is priced as usage)")

    def _Bucket(self, name: str, component: str, inputs: Mapping[str, Any]) -> None:  # noqa: N802
        self.count_free("aws:s3/bucket:Bucket (storage priced from expected usage)")

    def _FeatureGroup(self, name: str, component: str, inputs: Mapping[str, Any]) -> bool | None:  # noqa: N802
        self.online_store |= bool((inputs.get("onlineStoreConfig") or {}).get("enableOnlineStore"))
        return None

    def _EndpointConfiguration(self, name: str, component: str, inputs: Mapping[str, Any]) -> bool | None:  # noqa: N802
        self.endpoint_planned = True
        variants = list(inputs.get("productionVariants") or []) + list(inputs.get("shadowProductionVariants") or [])
        for variant in variants:
            if "serverlessConfig" in variant:
                memory_gb = int(variant["serverlessConfig"]["memorySizeInMb"]) // 1024
                self.serverless_gb = max(self.serverless_gb, memory_gb)
                continue
            rate = self.instance_hour(str(variant.get("instanceType")))
            if rate is None:
                return False
            count = int(variant.get("initialInstanceCount", 1))
            item = f"endpoint {variant.get('variantName')} {count} x {variant.get('instanceType')}"
            self.add(component, item, quantity=count * self.hours, unit="instance-hour", unit_usd=rate, kind="idle")
        return None

    def serving_shape(self, config: StackConfig) -> None:
        """Before a model is pinned the plan has no endpoint: price the configured one, labelled as expected."""
        serving = config.serving
        if self.endpoint_planned:
            return
        if serving.mode == "serverless":
            self.serverless_gb = serving.serverless.memory_size_mb // 1024
            return
        rate = self.instance_hour(serving.instance_type)
        if rate is None:
            self.report.unpriced.append(f"endpoint instances {serving.instance_type} (expected once a model is served)")
            return
        count = serving.min_instances
        self.add(
            "serving",
            f"endpoint {count} x {serving.instance_type} (expected once a model is served)",
            quantity=count * self.hours,
            unit="instance-hour",
            unit_usd=rate,
            kind="idle",
        )

    def usage(self, config: StackConfig) -> None:
        expected = config.cost.expected
        if config.project is not None:  # the platform's own view serves and runs no jobs: its projects do
            self.serving_shape(config)
            self.monitoring(expected.monitoring_job_minutes)
        if self.data_events:
            self.add(
                "audit",
                "CloudTrail S3 data events (expected)",
                quantity=expected.s3_data_events / 100_000,
                unit="100k events",
                unit_usd=float(self.prices["cloudtrail_data_events_100k"]),
                kind="usage",
            )
        self.add(
            "storage",
            "S3 storage (expected)",
            quantity=expected.storage_gb,
            unit="GB-month",
            unit_usd=float(self.prices["s3_gb_month"]),
            kind="idle",
        )
        if self.online_store:
            rate = float(self.prices["online_store_gb_month"])
            self.add(
                "feature-store",
                "online store (expected)",
                quantity=expected.online_store_gb,
                unit="GB-month",
                unit_usd=rate,
                kind="idle",
            )
        if self.serverless_gb:
            seconds = expected.serverless_requests * expected.serverless_seconds_per_request * self.serverless_gb
            rate = float(self.prices["serverless_gb_second"])
            self.add(
                "serving",
                f"serverless {expected.serverless_requests} requests",
                quantity=seconds,
                unit="GB-second",
                unit_usd=rate,
                kind="usage",
            )
        if self.log_groups:
            self.add(
                "audit",
                "CloudWatch Logs ingestion: trail events, job and endpoint logs (expected)",
                quantity=expected.logs_ingest_gb,
                unit="GB",
                unit_usd=float(self.prices["cloudwatch_logs_ingest_gb"]),
                kind="usage",
            )
        if config.project is not None:
            self.jobs(config)

    def jobs(self, config: StackConfig) -> None:
        """Pipeline jobs: training only where models are trained; processing (drift jobs elsewhere) everywhere."""
        expected, training = config.cost.expected, config.training
        instances = 1
        if training is None:
            instance, label = config.monitoring.processing_instance_type, "processing (drift jobs)"
            instances = config.monitoring.processing_instance_count  # a sharded drift job bills every instance
        else:
            instance, label = training.processing_instance_type, "processing"
            self.training_jobs(training.instance_type, training.use_spot, expected.training_hours)
        rate = self.instance_hour(instance)
        if rate is None:
            self.report.unpriced.append(f"processing jobs on {instance}")
            return
        self.add(
            "pipelines",
            f"{label} on {instance}" + (f" x {instances} instances" if instances > 1 else ""),
            quantity=expected.processing_hours * instances,
            unit="hour",
            unit_usd=rate,
            kind="usage",
        )

    def training_jobs(self, instance: str, use_spot: bool, hours: float) -> None:
        """Training jobs: only in the environment that trains (validation refuses `training` elsewhere)."""
        rate = self.instance_hour(instance)
        if rate is None:
            self.report.unpriced.append(f"training jobs on {instance}")
            return
        factor = 1 - float(price_table()["spot_discount"]) if use_spot else 1.0
        self.add(
            "pipelines",
            f"training{' on spot' if use_spot else ''} on {instance}",
            quantity=hours,
            unit="hour",
            unit_usd=round(rate * factor, 4),
            kind="usage",
        )
