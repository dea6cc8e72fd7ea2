"""`ModelQuality` under Pulumi's mocks, instantiated directly: the scheduled job, its alarms, retraining.

Expectations come from AWS's models and from the job itself: the processing step is validated with
botocore's `CreateProcessingJob` model, alarm settings with the `PutMetricAlarm` documentation (botocore
1.44.5), the job's arguments with the quality step's own parser, and the alarmed metrics with what the
step publishes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import botocore.session
import pandas as pd
import pytest
from botocore.validate import ParamValidator
from pulumi.runtime import mocks, settings
from pulumi.runtime.stack import run_in_stack
from pulumi.runtime.sync_await import _sync_await

from infra.components.quality import ModelQuality, ModelQualityArgs, forwarded_quality_pattern
from infra.plan.evaluate import RecordingMonitor, _lock
from infra.plan.mocks import OfflineMocks
from kernel.naming import Naming
from kernel.plan import Plan
from kernel.quality import QualityConfig
from pipelines.definitions.templates import TEMPLATE_DIR, image_for
from pipelines.local_run import load_step_module

ACCOUNT, REGION = "222222222222", "eu-west-1"
CHURN_SPEC = load_step_module("dataset").Spec(
    name="churn", kind="classifier", feature_group="customer-churn", identifier="customer_id",
    event_time="event_time", label="churned", sensitive="gender", numeric=("tenure_months",), categorical=(),
)  # fmt: skip
DEV_ACCOUNT = "111111111111"
PACKAGE = f"arn:aws:sagemaker:{REGION}:{DEV_ACCOUNT}:model-package/mlops-dev-churn-model/7"
PIPELINE_ARN = f"arn:aws:sagemaker:{REGION}:{DEV_ACCOUNT}:pipeline/mlops-dev-churn-training"
BUS_ARN = f"arn:aws:events:{REGION}:{DEV_ACCOUNT}:event-bus/default"
TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT}:mlops-staging-alerts"
KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/11111111-2222-3333-4444-555555555555"


def args(**overrides: Any) -> ModelQualityArgs:
    base: dict[str, Any] = {
        "naming": Naming("mlops", "staging", ACCOUNT, REGION, "churn"),
        "tags": {"environment": "staging", "owner": "ml-platform", "project": "churn"},
        "model_name": "model",
        "project": "churn",
        "config": QualityConfig(),
        "endpoint_name": "mlops-staging-churn-model",
        "model_package_arn": PACKAGE,
        "image_uri": image_for(REGION),
        "job_role_arn": f"arn:aws:iam::{ACCOUNT}:role/mlops-staging-churn-monitoring",
        "automation_role_arn": f"arn:aws:iam::{ACCOUNT}:role/mlops-staging-churn-automation",
        "kms_key_arn": KEY,
        "artifacts_bucket": "mlops-staging-churn-artifacts",
        "code_prefix": "code/0123456789abcdef/",
        "capture_bucket": "mlops-staging-churn-capture",
        "labels_bucket": "mlops-staging-churn-monitoring",
        "subnet_ids": ["subnet-a", "subnet-b"],
        "security_group_ids": ["sg-1"],
        "alerts_topic_arn": TOPIC,
        "training_bus_arn": BUS_ARN,
    }
    return ModelQualityArgs(**(base | overrides))


def planned(make: Callable[[], ModelQualityArgs]) -> Plan:
    """The resources `ModelQuality` registers, recorded as the offline plan records them."""
    offline = OfflineMocks(account_id=ACCOUNT, region=REGION)
    monitor = RecordingMonitor(offline, program="project", stack="churn-staging", ml_project="churn")

    def program() -> None:
        ModelQuality("quality", make())

    with _lock:
        mocks.set_mocks(offline, project="mlops", stack="staging", preview=False, monitor=monitor)
        settings.ROOT.set(None)
        _sync_await(run_in_stack(program))
    return Plan(stack="staging", project="mlops", resources=monitor.records, outputs={})


@pytest.fixture(scope="module")
def staging() -> Plan:
    return planned(args)


def only(plan: Plan, token: str) -> dict[str, Any]:
    (resource,) = plan.of_type(token)
    return resource.inputs


def alarms(plan: Plan) -> dict[str, dict[str, Any]]:
    return {a.inputs["name"]: a.inputs for a in plan.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")}


def step_of(plan: Plan) -> dict[str, Any]:
    definition = json.loads(only(plan, "aws:sagemaker/pipeline:Pipeline")["pipelineDefinition"])
    (step,) = definition["Steps"]
    return dict(step)


def test_the_job_runs_the_quality_step_on_the_drift_jobs_image_in_the_vpc_with_kms(staging: Plan) -> None:
    step = step_of(staging)
    job = step["Arguments"]
    assert job["AppSpecification"]["ContainerEntrypoint"] == ["python3", "/opt/ml/processing/input/code/quality.py"]
    assert job["AppSpecification"]["ImageUri"] == image_for(REGION)
    assert job["NetworkConfig"]["VpcConfig"] == {"SecurityGroupIds": ["sg-1"], "Subnets": ["subnet-a", "subnet-b"]}
    assert job["NetworkConfig"]["EnableInterContainerTrafficEncryption"] is True
    assert job["ProcessingOutputConfig"]["KmsKeyId"] == KEY
    assert job["ProcessingResources"]["ClusterConfig"]["VolumeKmsKeyId"] == KEY
    inputs = {i["InputName"]: i["S3Input"]["S3Uri"] for i in job["ProcessingInputs"]}
    assert inputs == {
        "code": "s3://mlops-staging-churn-artifacts/code/0123456789abcdef/",
        "capture": "s3://mlops-staging-churn-capture/endpoints/mlops-staging-churn-model/",
        "labels": "s3://mlops-staging-churn-monitoring/churn/labels/",  # `mlops labels upload --project churn`
    }


def test_the_step_is_shaped_like_the_sdk_compiled_drift_step(staging: Plan) -> None:
    drift = json.loads((TEMPLATE_DIR / "drift.json").read_text(encoding="utf-8"))["Steps"][0]  # SDK-compiled
    step = step_of(staging)
    assert set(step) == set(drift) and set(step["Arguments"]) == set(drift["Arguments"])
    assert step["RetryPolicies"] == drift["RetryPolicies"]


def test_the_processing_job_is_a_valid_create_processing_job_request(staging: Plan) -> None:
    job = json.loads(json.dumps(step_of(staging)["Arguments"]))
    output = job["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]
    output["S3Uri"] = (
        "s3://mlops-staging-churn-artifacts/pipelines/quality/execution/MeasureQuality/quality"  # a Join at run
    )
    request = {"ProcessingJobName": "quality", **job}
    model = botocore.session.get_session().get_service_model("sagemaker").operation_model("CreateProcessingJob")
    report = ParamValidator().validate(request, model.input_shape)
    assert not report.has_errors(), report.generate_report()


def test_the_job_arguments_are_the_steps_own_and_carry_the_config() -> None:
    config = QualityConfig.model_validate(
        {"delayHours": 72, "minSamples": 500, "windowHours": 48, "tolerances": {"auc": 0.03}}
    )
    job = step_of(planned(lambda: args(config=config)))["Arguments"]["AppSpecification"]["ContainerArguments"]
    quality = load_step_module("quality")
    parsed = quality.parser().parse_args(job)
    assert (parsed.delay_hours, parsed.min_samples, parsed.window_hours) == (72, 500, 48)
    assert quality._tolerances(parsed.tolerance)["auc"] == 0.03
    assert parsed.publish and parsed.model_package_arn == PACKAGE and parsed.endpoint == "mlops-staging-churn-model"
    assert parsed.project_spec == "/opt/ml/processing/input/code/project.json", "the spec staged with the code"


def test_a_schedule_starts_the_pipeline_as_the_drift_schedule_does(staging: Plan) -> None:
    schedule = only(staging, "aws:scheduler/schedule:Schedule")
    pipeline = staging.of_type("aws:sagemaker/pipeline:Pipeline")[0]
    assert schedule["scheduleExpression"] == "rate(1 day)"
    assert schedule["target"]["roleArn"].endswith(":role/mlops-staging-churn-automation")
    assert schedule["target"]["arn"].startswith("arn:aws:sagemaker:") and pipeline.urn in {
        dep for r in staging.of_type("aws:scheduler/schedule:Schedule") for dep in r.dependencies
    }


def _published_metric_names() -> set[str]:
    quality = load_step_module("quality")
    report = quality.measure(
        pd.DataFrame({"inference_id": ["a", "b"], "prediction": [0.2, 0.8], "group": [None, None]}),
        pd.DataFrame({"inference_id": ["a", "b"], "label": [0, 1], "event_time": ["2026-11-29T00:00:00Z"] * 2}),
        {"metrics": {"auc": {"value": 0.8}}, "binary_classification_metrics": {"confusion_matrix": {
            "0": {"0": 5, "1": 1}, "1": {"0": 1, "1": 3}}}},
        spec=CHURN_SPEC, min_samples=2,
    )  # fmt: skip
    return {d["MetricName"] for d in quality.metric_data(report, "e", datetime(2026, 11, 29, tzinfo=UTC))}


def test_alarms_watch_what_the_job_publishes_and_notify(staging: Plan) -> None:
    found = alarms(staging)
    assert sorted(found) == ["mlops-staging-churn-model-quality", "mlops-staging-churn-model-quality-unjudged"]
    published = _published_metric_names()
    for alarm in found.values():
        assert alarm["namespace"] == "mlops/quality" and alarm["metricName"] in published
        assert alarm["dimensions"] == {"Endpoint": "mlops-staging-churn-model"}
        assert alarm["alarmActions"] == [TOPIC] and alarm["okActions"] == [TOPIC]
    violation = found["mlops-staging-churn-model-quality"]
    assert (violation["metricName"], violation["comparisonOperator"], violation["threshold"]) == (
        "Violations", "GreaterThanOrEqualToThreshold", 1,
    )  # fmt: skip
    assert violation["treatMissingData"] == "notBreaching", "no run is no evidence of degradation"
    assert found["mlops-staging-churn-model-quality-unjudged"]["treatMissingData"] == "breaching"


def test_alarm_periods_fit_what_cloudwatch_accepts(staging: Plan) -> None:
    documentation = re.sub(
        r"<[^>]+>", "",
        botocore.session.get_session().get_service_model("cloudwatch").operation_model("PutMetricAlarm")
        .input_shape.members["Period"].documentation,
    )  # fmt: skip
    assert "Period multiplied by EvaluationPeriods can't be more than 604,800 seconds" in documentation
    assert (
        "less than one hour (3,600 seconds), the total evaluation period can't be longer than one day" in documentation
    )
    for alarm in alarms(staging).values():
        total = alarm["period"] * alarm["evaluationPeriods"]
        assert total <= 604_800 and (alarm["period"] >= 3600 or total <= 86_400)
        assert alarm["period"] % 60 == 0


def test_staging_forwards_its_quality_alarm_to_devs_bus(staging: Plan) -> None:
    (rule,) = staging.of_type("aws:cloudwatch/eventRule:EventRule")
    pattern = json.loads(rule.inputs["eventPattern"])
    assert pattern["detail-type"] == ["CloudWatch Alarm State Change"]
    assert pattern["detail"] == {"state": {"value": ["ALARM"]}}
    assert pattern["resources"][0].endswith(":alarm:mlops-staging-churn-model-quality")
    target = only(staging, "aws:cloudwatch/eventTarget:EventTarget")
    assert target["arn"] == BUS_ARN and "sagemakerPipelineTarget" not in target


def test_dev_starts_its_training_pipeline_and_accepts_the_serving_accounts_alarms() -> None:
    dev = planned(
        lambda: args(
            naming=Naming("mlops", "dev", DEV_ACCOUNT, REGION, "churn"), training_bus_arn=None,
            training_pipeline_arn=PIPELINE_ARN, forwarding_accounts=["333333333333", ACCOUNT],
        )
    )  # fmt: skip
    targets = [t.inputs for t in dev.of_type("aws:cloudwatch/eventTarget:EventTarget")]
    assert len(targets) == 2 and all(t["arn"] == PIPELINE_ARN for t in targets)
    for target in targets:
        assert target["sagemakerPipelineTarget"]["pipelineParameterLists"] == [
            {"name": "DataSource", "value": "feature-store"}
        ]
    rules = {r.inputs["name"]: json.loads(r.inputs["eventPattern"]) for r in dev.of_type(
        "aws:cloudwatch/eventRule:EventRule")}  # fmt: skip
    forwarded = rules["mlops-dev-churn-retrain-on-forwarded-quality"]
    assert forwarded == forwarded_quality_pattern(["333333333333", ACCOUNT], "churn-model")
    assert forwarded["account"] == sorted([ACCOUNT, "333333333333"])
    # the staging alarm's own name matches, another project's (claims) on the same bus does not
    assert forwarded["detail"]["alarmName"] == [{"suffix": "-churn-model-quality"}]
    assert "mlops-staging-churn-model-quality".endswith("-churn-model-quality")
    assert not "mlops-staging-claims-model-quality".endswith("-churn-model-quality")


def test_where_nothing_is_captured_only_forwarded_alarms_retrain() -> None:
    """Dev's serverless endpoint captures nothing: no quality job there, but the serving accounts' alarms retrain."""
    dev = planned(
        lambda: args(
            naming=Naming("mlops", "dev", DEV_ACCOUNT, REGION, "churn"), endpoint_name=None, training_bus_arn=None,
            training_pipeline_arn=PIPELINE_ARN, forwarding_accounts=[ACCOUNT],
        )
    )  # fmt: skip
    assert not dev.of_type("aws:sagemaker/pipeline:Pipeline") and not alarms(dev)
    (rule,) = dev.of_type("aws:cloudwatch/eventRule:EventRule")
    assert rule.inputs["name"] == "mlops-dev-churn-retrain-on-forwarded-quality"


def test_no_retraining_when_turned_off_or_nowhere_to_train() -> None:
    off = planned(lambda: args(config=QualityConfig(retrainOnViolation=False)))
    nowhere = planned(lambda: args(training_bus_arn=None))
    for plan in (off, nowhere):
        assert not plan.of_type("aws:cloudwatch/eventRule:EventRule")
        assert len(alarms(plan)) == 2, "the team is still told"


def test_every_child_is_parented_and_tagged(staging: Plan) -> None:
    (component,) = staging.of_type("mlops:monitoring:ModelQuality")
    for resource in staging.resources:
        if resource is component:
            continue
        assert resource.parent == component.urn, resource.urn
        if "tags" in resource.inputs:
            assert resource.inputs["tags"]["project"] == "churn"
    assert {r.type for r in staging.resources} >= {
        "aws:sagemaker/pipeline:Pipeline", "aws:scheduler/schedule:Schedule", "aws:cloudwatch/metricAlarm:MetricAlarm",
    }  # fmt: skip
