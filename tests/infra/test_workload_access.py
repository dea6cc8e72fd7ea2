"""Issue 18: execution roles — MLflow Apps take CallMlflowAppApi, the offline store's role has the ACL
calls, the model role reads its rollback alarms.

Sources: the Service Authorization Reference (tests/infra/aws_reference.json) for which resource
each MLflow action applies to; the SageMaker developer guide's AmazonSageMakerFeatureStoreAccess
policy (s3:PutObject, s3:GetBucketAcl, s3:PutObjectAcl) for the offline store.
"""

from __future__ import annotations

from fnmatch import fnmatchcase

from infra.iam.arns import Arns
from infra.iam.workloads import tracking_access, workload_statements
from kernel.naming import Naming
from tests.infra.helpers import granting, reference

NAMING = Naming("mlops", "dev", "111111111111", "eu-west-1")
ARNS = Arns(NAMING)
APP = ARNS.sagemaker("mlflow-app", "app-0a1b2c3d4e5f")
SERVER = ARNS.sagemaker("mlflow-tracking-server", "mlops-dev-tracking")
NAMES = {key: NAMING.iam(key) for key in ("pipeline", "jobs", "model", "monitoring", "feature-store", "tracking")}


def _resource_type(action: str) -> str:
    (resource,) = reference()["actions"][action]["resourceTypes"]
    return str(resource["name"])


def test_the_app_api_is_what_aws_lists_for_apps() -> None:
    assert _resource_type("sagemaker:CallMlflowAppApi") == "mlflow-app"
    for action in ("sagemaker-mlflow:LogMetric", "sagemaker-mlflow:SearchRuns"):
        assert _resource_type(action) == "mlflow-tracking-server"
    assert reference()["actions"]["sagemaker-mlflow:AccessUI"]["resourceTypes"] == []


def test_the_server_ui_is_granted_where_aws_can_match_it() -> None:
    """AccessUI has no resource type: a grant on the server's ARN would never match."""
    for log in (True, False):
        found = granting(tracking_access(ARNS, log=log), "sagemaker-mlflow:AccessUI")
        assert found and all(s["Resource"] == ["*"] for s in found)


def test_loggers_call_an_apps_api_and_log_to_a_server() -> None:
    found = granting(tracking_access(ARNS, log=True), "sagemaker:CallMlflowAppApi", APP)
    assert found and all(s["Condition"] == {"StringEquals": {"aws:ResourceTag/environment": "dev"}} for s in found)
    assert granting(tracking_access(ARNS, log=True), "sagemaker-mlflow:LogMetric", SERVER)
    jobs = workload_statements("jobs", ARNS, NAMES)
    assert granting(jobs, "sagemaker:CallMlflowAppApi", APP), "training steps log to the App"


def test_server_actions_are_never_granted_on_apps() -> None:
    for log in (True, False):
        for statement in tracking_access(ARNS, log=log):
            if any(a.startswith("sagemaker-mlflow:") and a != "sagemaker-mlflow:AccessUI" for a in statement.actions):
                assert not any(fnmatchcase(APP, str(r)) for r in statement.resources or []), statement.sid


def test_readers_get_no_app_api_which_would_also_write() -> None:
    assert not granting(tracking_access(ARNS, log=False), "sagemaker:CallMlflowAppApi", APP)
    assert granting(tracking_access(ARNS, log=False), "sagemaker-mlflow:SearchRuns", SERVER)


def test_the_offline_store_role_has_the_acl_calls_feature_store_makes() -> None:
    role = workload_statements("feature-store", ARNS, NAMES)
    bucket = f"arn:aws:s3:::{NAMING.bucket('features')}"
    assert granting(role, "s3:GetBucketAcl", bucket)
    for action in ("s3:PutObject", "s3:PutObjectAcl"):
        assert granting(role, action, f"{bucket}/offline-store/111111111111/sagemaker/eu-west-1/x.parquet")


def test_the_model_role_reads_its_rollback_alarms() -> None:
    """SageMaker developer guide, auto-rollback (deployment guardrails): the endpoint's execution role
    needs cloudwatch:DescribeAlarms on the alarms named in the deployment configuration."""
    role = workload_statements("model", ARNS, NAMES)
    assert granting(
        role, "cloudwatch:DescribeAlarms", ARNS.regional("cloudwatch", "alarm:mlops-dev-churn-model-latency-p99")
    )
    assert not granting(
        role, "cloudwatch:PutMetricAlarm", ARNS.regional("cloudwatch", "alarm:mlops-dev-churn-model-latency-p99")
    )
