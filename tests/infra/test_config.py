"""Stack config validation: shipped files pass, and every kind of mistake is named by file and key."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from kernel import ConfigError, StackConfig, parse_settings
from kernel.loader import read_stack_file
from kernel.projects import load_project
from tests.helpers import load_view, shipped_settings, where, write_stack


def problems_of(tmp_path: Path, settings: dict[str, Any], stack: str = "prod") -> list[str]:
    path = write_stack(tmp_path, stack, settings)
    with pytest.raises(ConfigError) as caught:
        load_view(path)
    assert caught.value.source in (path.name, "projects/churn/project.yaml")
    return caught.value.lines()


@pytest.fixture
def prod(project_root: Path) -> dict[str, Any]:
    return copy.deepcopy(shipped_settings(project_root, "prod"))


def test_shipped_stacks_differ_per_environment(configs: dict[str, StackConfig]) -> None:
    assert [c.environment for c in configs.values()] == ["dev", "staging", "prod"]
    assert len({c.account_id for c in configs.values()}) == 3
    assert len({str(c.network.vpc_cidr) for c in configs.values()}) == 3
    assert configs["dev"].serving.mode == "serverless"
    assert configs["prod"].serving.min_instances >= 2
    assert configs["dev"].training is not None  # only dev trains: staging and prod serve dev's approved models
    assert configs["staging"].training is configs["prod"].training is None


def test_unknown_key_is_named_with_the_known_ones(tmp_path: Path, prod: dict[str, Any]) -> None:
    prod["mlops:network"]["vpcCird"] = "10.0.0.0/16"
    (line,) = problems_of(tmp_path, prod)
    assert line.startswith("Pulumi.prod.yaml: mlops:network.vpcCird: is not a known setting")
    assert "vpcCidr" in line


def test_unknown_top_level_key(tmp_path: Path, prod: dict[str, Any]) -> None:
    prod["mlops:enviroment"] = "prod"
    (line,) = problems_of(tmp_path, prod)
    assert "mlops:enviroment: is not a known setting" in line


def test_missing_account_is_required(tmp_path: Path, prod: dict[str, Any]) -> None:
    del prod["mlops:accountId"]
    assert problems_of(tmp_path, prod) == ["Pulumi.prod.yaml: mlops:accountId: is required: add it to the stack file"]


@pytest.mark.parametrize("account", ["12345", "12345678901a", "arn:aws:iam::123456789012:root"])
def test_bad_account_id(tmp_path: Path, prod: dict[str, Any], account: str) -> None:
    prod["mlops:accountId"] = account
    (line,) = problems_of(tmp_path, prod)
    assert line.startswith("Pulumi.prod.yaml: mlops:accountId:") and "12 digits" in line


def test_unquoted_account_id_reads_as_the_engine_passes_it(tmp_path: Path, prod: dict[str, Any]) -> None:
    """The engine hands top-level scalars to the program as strings; validate must agree with it."""
    prod["mlops:accountId"] = 333333333333
    assert load_view(write_stack(tmp_path, "prod", prod)).account_id == "333333333333"


def test_wrong_type_names_key_and_value(tmp_path: Path, prod: dict[str, Any]) -> None:
    prod["mlops:monitoring"]["latencyP99Ms"] = "fast"
    (line,) = problems_of(tmp_path, prod)
    assert line.startswith(
        "projects/churn/project.yaml: environments.prod.monitoring.latencyP99Ms: Input should be a valid integer"
    )
    assert "'fast'" in line


def test_every_problem_is_reported_at_once(tmp_path: Path, prod: dict[str, Any]) -> None:
    del prod["mlops:accountId"]
    prod["mlops:allowedInstanceTypes"].append("m5.large")
    prod["mlops:monitoring"]["maxRuntimeSeconds"] = 10
    lines = problems_of(tmp_path, prod)
    keys = [line.split(": ")[0] + ": " + line.split(": ")[1] for line in lines]
    assert keys == [
        "Pulumi.prod.yaml: mlops:accountId",
        "Pulumi.prod.yaml: mlops:allowedInstanceTypes[3]",
        "projects/churn/project.yaml: environments.prod.monitoring.maxRuntimeSeconds",
    ]


@pytest.mark.parametrize(
    ("section", "key", "value", "expected"),
    [
        ("mlops:monitoring", "processingInstanceType", "ml.m5.24xlarge", "is not in allowedInstanceTypes"),
        ("mlops:monitoring", "processingInstanceType", "p3.2xlarge", "is not a SageMaker instance type"),
        ("mlops:training", "metricThreshold", 0.8, "models are trained in dev only"),
        ("mlops:serving", "minInstances", 1, "prod needs at least 2 instances"),
        ("mlops:serving", "mode", "serverless", "prod serves in realtime mode"),
        ("mlops:serving", "dataCapturePercentage", 101, "less than or equal to 100"),
        ("mlops:serving", "dataCapturePercentage", 0, "must capture some traffic"),
        ("mlops:serving", "maxInstances", 1, "below minInstances"),
        (
            "mlops:serving",
            "modelPackageArn",
            "arn:aws:sagemaker:eu-west-1:1:model-package/x",
            "versioned model package",
        ),
        (
            "mlops:network",
            "availabilityZones",
            ["eu-west-1a", "us-east-1b"],
            "not an availability zone of eu-west-1",
        ),
        ("mlops:network", "availabilityZones", ["eu-west-1a"], "at least 2 items"),
        ("mlops:network", "vpcCidr", "10.0.0.0/8", "from /16 to /24"),
        ("mlops:audit", "logRetentionDays", 100, "CloudWatch Logs accepts only these retentions"),
        (
            "mlops:identity",
            "secretsKeyArn",
            "arn:aws:kms:eu-west-1:333333333333:alias/pulumi",
            "should match pattern",
        ),
        ("mlops:network", "vpcCidr", "8.8.0.0/16", "private"),
        ("mlops:network", "interfaceEndpoints", ["sts", "ec2"], "Input should be"),
        ("mlops:storage", "encryption", False, "Encryption at rest is always on"),
        ("mlops:storage", "blockPublicAccess", False, "Blocking public access is always on"),
        ("mlops:storage", "accessLogRetentionDays", 30, "greater than or equal to 90"),
        ("mlops:encryption", "deletionWindowDays", 3, "greater than or equal to 7"),
        ("mlops:audit", "alertEmails", ["not-an-email"], "is not an e-mail address"),
        (
            "mlops:identity",
            "personas",
            {"auditors": ["arn:aws:iam::1:role/x"]},
            "is not an IAM role or user ARN",
        ),
    ],
)
def test_rejected_values(
    tmp_path: Path, prod: dict[str, Any], section: str, key: str, value: Any, expected: str
) -> None:
    prod.setdefault(section, {})[key] = value
    lines = problems_of(tmp_path, prod)
    assert any(expected in line for line in lines), lines
    assert all(line.startswith(where("prod", section)) for line in lines), lines


def test_region_must_offer_sagemaker(tmp_path: Path, prod: dict[str, Any]) -> None:
    prod["aws:region"] = "eu-west-9"
    lines = problems_of(tmp_path, prod)
    assert lines[0].startswith("Pulumi.prod.yaml: aws:region: 'eu-west-9' is not a region where SageMaker")


def test_secret_blueprint_setting_is_refused(tmp_path: Path, prod: dict[str, Any]) -> None:
    prod["mlops:owner"] = {"secure": "v1:abc"}
    (line,) = problems_of(tmp_path, prod)
    assert line == "Pulumi.prod.yaml: mlops:owner: no blueprint setting is a secret; store it in plain text"


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "Pulumi.dev.yaml"
    path.write_text("config:\n  mlops:environment: dev\n   bad: [\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"Pulumi.dev.yaml: is not valid YAML at line \d+"):
        read_stack_file(path)


def test_missing_stack_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"Pulumi\.staging\.yaml: no such stack file; create Pulumi\.staging\.yaml"):
        load_view(tmp_path / "Pulumi.staging.yaml")
    with pytest.raises(ConfigError, match=r"Pulumi\.qa\.yaml: there is no stack 'qa' and there cannot be one"):
        load_view(tmp_path / "Pulumi.qa.yaml")


def test_engine_values_parse_like_the_stack_file(project_root: Path) -> None:
    """The program reads config from the engine (strings and JSON); it must equal what validate reads."""
    from_file = load_view(project_root / "Pulumi.staging.yaml")
    engine_values = read_stack_file(project_root / "Pulumi.staging.yaml")
    assert all(isinstance(value, str) for value in engine_values.values())
    churn = load_project(project_root, "churn")
    assert parse_settings(engine_values, source="engine", project=churn) == from_file


def test_secure_defaults_apply_when_sections_are_omitted(tmp_path: Path, prod: dict[str, Any]) -> None:
    for optional in ("mlops:storage", "mlops:audit", "mlops:monitoring"):
        prod.pop(optional)
    config = load_view(write_stack(tmp_path, "prod", prod))
    assert config.storage.encryption and config.storage.block_public_access
    assert config.network.interface_endpoints[:2] == ["sagemaker.api", "sagemaker.runtime"]


def test_variants_need_realtime_serving_and_a_primary(tmp_path: Path, project_root: Path) -> None:
    dev = copy.deepcopy(shipped_settings(project_root, "dev"))
    dev["mlops:serving"]["challengerModelPackageArn"] = "arn:aws:sagemaker:eu-west-1:111111111111:model-package/g/2"
    lines = problems_of(tmp_path, dev, stack="dev")
    assert any("need a primary" in line for line in lines)
    dev["mlops:serving"]["modelPackageArn"] = "arn:aws:sagemaker:eu-west-1:111111111111:model-package/g/1"
    (line,) = problems_of(tmp_path, dev, stack="dev")
    assert (
        line.startswith("projects/churn/project.yaml: environments.dev.serving: ")
        and "A/B variants need realtime mode" in line
    )


def test_endpoints_the_jobs_need_cannot_be_left_out(tmp_path: Path, prod: dict[str, Any]) -> None:
    prod["mlops:network"]["interfaceEndpoints"] = [
        "sagemaker.api",
        "sts",
        "logs",
        "ecr.api",
        "ecr.dkr",
        "glue",
        "monitoring",
    ]
    (line,) = problems_of(tmp_path, prod)
    assert line.startswith("Pulumi.prod.yaml: mlops:network.interfaceEndpoints: lacks endpoints the platform needs")
    assert "athena (preprocess reads the offline feature store)" in line


@pytest.mark.parametrize(
    ("tuning", "expected"),
    [
        (
            {
                "learningRate": {"min": 0.3, "max": 0.1},
                "maxDepth": {"min": 2, "max": 5},
                "nEstimators": {"min": 100, "max": 400},
            },
            "min (0.3) must be below max (0.1)",
        ),
        ({"maxDepth": {"min": 2, "max": 5}, "nEstimators": {"min": 100, "max": 400}}, "learningRate: is required"),
        (
            {
                "learningRate": {"min": 0.01, "max": 0.3},
                "maxDepth": {"min": 2.5, "max": 5},
                "nEstimators": {"min": 100, "max": 400},
            },
            "maxDepth takes whole numbers",
        ),
        (
            {
                "maxJobs": 2,
                "maxParallel": 4,
                "learningRate": {"min": 0.01, "max": 0.3},
                "maxDepth": {"min": 2, "max": 5},
                "nEstimators": {"min": 100, "max": 400},
            },
            "maxParallel (4) exceeds maxJobs (2)",
        ),
        (
            {
                "learningRate": {"min": 0.01, "max": 3},
                "maxDepth": {"min": 2, "max": 5},
                "nEstimators": {"min": 100, "max": 400},
            },
            "learningRate must lie within (0, 1]",
        ),
    ],
)
def test_inconsistent_search_spaces_are_rejected(
    tmp_path: Path, project_root: Path, tuning: dict[str, Any], expected: str
) -> None:
    dev = copy.deepcopy(shipped_settings(project_root, "dev"))
    dev["mlops:training"]["tuning"] = tuning
    lines = problems_of(tmp_path, dev, "dev")
    assert any(expected in line for line in lines), lines
    assert all(line.startswith("projects/churn/project.yaml: environments.dev.training.tuning") for line in lines), (
        lines
    )


# SageMaker developer guide, "Deploy models with Amazon SageMaker Serverless Inference", feature exclusions:
# no VPC configuration, network isolation, data capture, multiple production variants or Model Monitor.
# "Deployment guardrails: Exclusions": rolling deployments support neither serverless nor multi-variant endpoints.
SERVERLESS_MISTAKES = [
    (
        "serving",
        {"dataCapturePercentage": 20},
        "dev",
        "mlops:serving.dataCapturePercentage: serverless endpoints cannot capture data",
    ),
    (
        "serving",
        {"serverless": {"memorySizeMb": 2048, "maxConcurrency": 5}},
        "dev",
        "mlops:serving.serverless.outsideVpc: serverless endpoints support neither VPC configuration nor network "
        "isolation",
    ),
    (
        "serving",
        {"rollout": {"strategy": "rolling"}},
        "dev",
        "mlops:serving.rollout.strategy: rolling deployments do not support serverless endpoints",
    ),
    (
        "monitoring",
        {"backend": "model-monitor"},
        "dev",
        "mlops:monitoring.backend: Model Monitor does not support serverless endpoints",
    ),
    (
        "serving",
        {
            "modelPackageArn": "arn:aws:sagemaker:eu-west-1:333333333333:model-package/g/1",
            "challengerModelPackageArn": "arn:aws:sagemaker:eu-west-1:333333333333:model-package/g/2",
            "rollout": {"strategy": "rolling"},
        },
        "prod",
        "mlops:serving.rollout.strategy: rolling deployments do not support multi-variant endpoints",
    ),
    (
        "serving",
        {"serverless": {"outsideVpc": True}},
        "prod",
        "mlops:serving.serverless.outsideVpc: applies to mode: serverless only",
    ),
]


@pytest.mark.parametrize(("section", "change", "stack", "expected"), SERVERLESS_MISTAKES)
def test_what_sagemaker_excludes_is_refused_naming_key_and_fix(
    tmp_path: Path, project_root: Path, section: str, change: dict[str, Any], stack: str, expected: str
) -> None:
    settings = copy.deepcopy(shipped_settings(project_root, stack))
    settings[f"mlops:{section}"] = {**settings.get(f"mlops:{section}", {}), **change}
    lines = problems_of(tmp_path, settings, stack=stack)
    assert any(line.startswith(where(stack, expected)) for line in lines), lines


def test_only_dev_may_serve_outside_the_vpc(tmp_path: Path, project_root: Path) -> None:
    staging = copy.deepcopy(shipped_settings(project_root, "staging"))
    staging["mlops:serving"] = {
        **staging["mlops:serving"],
        "mode": "serverless",
        "serverless": {"outsideVpc": True},
        "dataCapturePercentage": 0,
    }
    del staging["mlops:serving"]["offHours"]
    lines = problems_of(tmp_path, staging, stack="staging")
    assert any(
        "environments.staging.serving.serverless.outsideVpc: only dev may serve outside the VPC" in line
        for line in lines
    )


def test_the_plan_refuses_what_validate_refuses(tmp_path: Path, project_root: Path) -> None:
    from infra.plan.evaluate import evaluate_stack

    dev = copy.deepcopy(shipped_settings(project_root, "dev"))
    dev["mlops:serving"]["dataCapturePercentage"] = 100
    write_stack(tmp_path, "dev", dev)
    with pytest.raises(
        ConfigError,
        match=r"projects/churn/project.yaml: environments.dev.serving\.dataCapturePercentage: serverless endpoints cannot capture",
    ):
        evaluate_stack("dev", tmp_path)


@pytest.mark.parametrize(
    ("existing", "expected"),
    [
        ({}, "set routeTableIds (the blueprint creates one on them) or s3PrefixListId"),
        ({"routeTableIds": ["rtb-0aaa1111bbbb2222c"], "s3PrefixListId": "pl-6da54004"}, "not both"),
        ({"routeTableIds": ["subnet-0aaa1111bbbb2222c"]}, "is not a rtb id"),
    ],
)
def test_an_existing_vpc_must_reach_s3(
    tmp_path: Path, prod: dict[str, Any], existing: dict[str, Any], expected: str
) -> None:
    prod["mlops:network"]["existingVpc"] = {
        "vpcId": "vpc-0abc12345def67890",
        "privateSubnetIds": ["subnet-0aaa1111bbbb2222c", "subnet-0ddd3333eeee4444f"],
        **existing,
    }
    lines = problems_of(tmp_path, prod)
    assert any(line.startswith("Pulumi.prod.yaml: mlops:network.existingVpc") and expected in line for line in lines)


def test_retraining_is_scheduled_only_where_models_are_trained(tmp_path: Path, prod: dict[str, Any]) -> None:
    prod["mlops:monitoring"]["retrainSchedule"] = "cron(0 3 ? * SUN *)"
    assert problems_of(tmp_path, prod) == [
        "projects/churn/project.yaml: environments.prod.monitoring.retrainSchedule: models are trained in dev only (drift here starts dev's "
        "pipeline); move retrainSchedule to environments.dev.monitoring"
    ]


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_training_settings_are_refused_where_no_model_is_trained(
    tmp_path: Path, project_root: Path, stack: str
) -> None:
    """Only dev has a training pipeline: a training setting elsewhere would configure (and price) nothing."""
    settings = copy.deepcopy(shipped_settings(project_root, stack))
    settings["mlops:training"] = {"metricThreshold": 0.8, "tracking": {"enabled": True}}
    (line,) = problems_of(tmp_path, settings, stack)
    assert line.startswith(where(stack, "mlops:training") + ": models are trained in dev only"), line
    assert "remove the training section" in line and "monitoring.processingInstanceType" in line
    del settings["mlops:training"]
    settings["mlops:cost"]["expected"]["trainingHours"] = 10
    (line,) = problems_of(tmp_path, settings, stack)
    assert line.startswith(f"Pulumi.{stack}.yaml: mlops:cost.expected.trainingHours: models are trained in dev only")


def test_dev_must_configure_its_training_pipeline(tmp_path: Path, project_root: Path) -> None:
    settings = copy.deepcopy(shipped_settings(project_root, "dev"))
    del settings["mlops:training"]
    (line,) = problems_of(tmp_path, settings, "dev")
    assert (
        line
        == "projects/churn/project.yaml: environments.dev.training: dev trains every model: add a training section with at least metricThreshold"
    )
