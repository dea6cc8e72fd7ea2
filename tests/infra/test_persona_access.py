"""Issue 18: personas can do what README promises — the data engineer loads data, the approver reads reports.

Sources: the Service Authorization Reference (PutRecord applies to a `feature-group`,
tests/infra/aws_reference.json); the S3 user guide (a PutObject into an SSE-KMS bucket needs
kms:GenerateDataKey on the bucket's key, here granted by the data key's policy).
"""

from __future__ import annotations

from infra.iam.arns import Arns
from infra.iam.personas import persona_statements
from kernel import StackConfig
from kernel.naming import Naming
from kernel.plan import Plan
from tests.helpers import as_list, outputs_of, statements
from tests.infra.helpers import granting, reference

NAMING = Naming("mlops", "prod", "333333333333", "eu-west-1")
ARNS = Arns(NAMING)


def test_the_data_engineer_loads_raw_files_and_feature_records() -> None:
    assert [r["name"] for r in reference()["actions"]["sagemaker:PutRecord"]["resourceTypes"]] == ["feature-group"]
    role = persona_statements("data-engineer", "prod", ARNS, {}, "arn:boundary")
    raw = f"arn:aws:s3:::{NAMING.bucket('raw')}"
    assert granting(role, "s3:PutObject", f"{raw}/churn/2026-11-29.csv")
    assert granting(role, "s3:ListBucket", raw)
    assert granting(role, "sagemaker:PutRecord", ARNS.sagemaker("feature-group", "mlops-prod-customer-churn"))
    assert not granting(role, "sagemaker:DeleteRecord", ARNS.sagemaker("feature-group", "mlops-prod-customer-churn"))
    for purpose in ("features", "artifacts", "capture", "audit"):
        assert not granting(role, "s3:PutObject", f"arn:aws:s3:::{NAMING.bucket(purpose)}/x"), purpose


def test_the_data_key_names_the_data_engineer(plan: Plan, config: StackConfig) -> None:
    arns = outputs_of(plan)["role_arns"]
    assert config.identity.personas.data_engineers and "data-engineer" in arns
    (data,) = [k for k in plan.of_type("aws:kms/key:Key") if k.inputs["tags"]["purpose"] == "data"]
    (use,) = [s for s in statements(data) if s["Sid"] == "KeyUse"]
    assert arns["data-engineer"] in as_list(use["Principal"]["AWS"])
    assert "kms:GenerateDataKey*" in use["Action"]
    (models,) = [k for k in plan.of_type("aws:kms/key:Key") if k.inputs["tags"]["purpose"] == "models"]
    # labels (`mlops labels upload`) are stored under the models key in the monitoring bucket, where the quality
    # job reads them: the engineer may encrypt through S3 (its S3 rights reach only `<project>/labels/`, test
    # below) and never decrypt what the key protects (models, captures, runs)
    naming = [s for s in statements(models) if arns["data-engineer"] in as_list(s["Principal"].get("AWS", []))]
    assert [(s["Sid"], s["Action"]) for s in naming] == [("WritersEncryptViaS3", ["kms:GenerateDataKey"])]
    assert naming[0]["Condition"]["StringEquals"]["kms:ViaService"] == "s3.eu-west-1.amazonaws.com"


def test_the_data_engineer_writes_labels_under_the_projects_prefix_only(plan: Plan) -> None:
    """Only PutObject, only `<project>/labels/` of the project's monitoring bucket (required.yaml proves it allowed
    and the isolation proof denies it to the other project's roles)."""
    monitoring = outputs_of(plan)["bucket_names"]["monitoring"]
    policies = [p for p in plan.of_type("aws:iam/policy:Policy") if "-data-engineer-" in p.inputs["name"]]
    granted = [s for p in policies for s in statements(p) if s["Effect"] == "Allow"]
    on_monitoring = [s for s in granted if any(monitoring in r for r in as_list(s["Resource"]))]
    assert on_monitoring == [
        {"Sid": "UploadLabels", "Effect": "Allow", "Action": ["s3:PutObject"],
         "Resource": [f"arn:aws:s3:::{monitoring}/churn/labels/*"]}
    ]  # fmt: skip


def test_the_approver_reads_the_evaluation_report_a_package_points_at() -> None:
    """The registered package's ModelMetrics name <Evaluate output>/evaluation.json (the pipeline's
    Evaluate step writes under <training outputs>/<execution>/Evaluate/evaluation/)."""
    from pipelines.definitions.training import OUTPUT_PREFIX

    dev = Arns(Naming("mlops", "dev", "111111111111", "eu-west-1"))
    role = persona_statements("model-approver", "dev", dev, {}, "arn:boundary")
    bucket = f"arn:aws:s3:::{dev.naming.bucket('artifacts')}"
    report = f"{bucket}/{OUTPUT_PREFIX}/execution-0a1b/Evaluate/evaluation/evaluation.json"
    assert granting(role, "s3:GetObject", report)
    assert not granting(role, "s3:GetObject", f"{bucket}/{OUTPUT_PREFIX}/execution-0a1b/Train/output/model.tar.gz")
