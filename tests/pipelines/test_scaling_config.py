"""Scaling settings a team writes in project.yaml: refused where the engine, connector or container cannot use them.

Expectations come from AWS's own sources: the Feature Store Spark connector's checks
(aws/sagemaker-feature-store-spark 81d099d: FeatureGroupHelper.checkAndParseTargetStore,
InputDataSchemaValidator.RESERVED_FEATURE_NAMES), botocore's ProcessingResources.ClusterConfig.InstanceCount
(1 to 100), and the SageMaker SDK's SKLearn estimator, which refuses distributed training
(aws/sagemaker-python-sdk 5d36aec, src/sagemaker/sklearn/estimator.py).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from kernel import ConfigError
from kernel.loader import parse_settings, read_stack_file
from kernel.models import DEFAULT_INTERFACE_ENDPOINTS, FeatureStoreConfig, TrainingConfig
from kernel.projects import load_project
from tests.helpers import FIXTURE_STACKS
from tests.pipelines.test_projects import copy_project

SPARK = "environments.staging.featureStore.ingestion"


def view(root: Path, stack: str = "staging") -> Any:
    return parse_settings(
        read_stack_file(FIXTURE_STACKS / f"Pulumi.{stack}.yaml"), f"Pulumi.{stack}.yaml", load_project(root, "churn")
    )


def test_the_default_is_the_record_path_and_spark_is_chosen_per_environment(tmp_path: Path) -> None:
    assert (
        view(copy_project(tmp_path / "a", "churn", {}, source=FIXTURE_STACKS)).feature_store.ingestion.engine
        == "records"
    )
    root = copy_project(
        tmp_path / "b",
        "churn",
        {
            SPARK: {
                "engine": "spark",
                "instanceType": "ml.c5.xlarge",
                "instanceCount": 4,
                "targetStores": ["OfflineStore"],
            }
        },
        source=FIXTURE_STACKS,
    )
    ingestion = view(root).feature_store.ingestion
    assert (ingestion.engine, ingestion.instance_count, ingestion.target_stores) == ("spark", 4, ["OfflineStore"])
    assert view(root, "prod").feature_store.ingestion.engine == "records", "prod keeps its own setting"


def test_spark_settings_without_the_spark_engine_are_refused() -> None:
    with pytest.raises(ValidationError, match="instanceCount apply to engine: spark only"):
        FeatureStoreConfig.model_validate({"ingestion": {"instanceCount": 3}})


@pytest.mark.parametrize(
    ("stores", "why"),
    [([], "at least one"), (["OfflineStore", "OfflineStore"], "each store once"), (["Offline"], "OnlineStore")],
)
def test_target_stores_the_connector_refuses_are_refused(stores: list[str], why: str) -> None:
    with pytest.raises(ValidationError, match=why):
        FeatureStoreConfig.model_validate({"ingestion": {"engine": "spark", "targetStores": stores}})


def test_the_online_store_as_a_target_needs_the_online_store(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="names OnlineStore but onlineStore is false"):
        FeatureStoreConfig.model_validate(
            {"onlineStore": False, "ingestion": {"engine": "spark", "targetStores": ["OnlineStore"]}}
        )


def test_processing_instances_stay_within_the_api_s_bounds() -> None:
    for count in (0, 101):
        with pytest.raises(ValidationError, match="instanceCount"):
            FeatureStoreConfig.model_validate({"ingestion": {"engine": "spark", "instanceCount": count}})


def test_spark_writing_the_online_store_needs_the_runtime_endpoint(tmp_path: Path) -> None:
    stack = read_stack_file(FIXTURE_STACKS / "Pulumi.staging.yaml")
    network = stack["mlops:network"]
    network = json.loads(network) if isinstance(network, str) else dict(network)
    network["interfaceEndpoints"] = [e for e in DEFAULT_INTERFACE_ENDPOINTS if e != "sagemaker.featurestore-runtime"]
    stack["mlops:network"] = network
    root = copy_project(
        tmp_path, "churn", {SPARK: {"engine": "spark", "instanceType": "ml.c5.xlarge"}}, source=FIXTURE_STACKS
    )  # staging's churn has its online store
    with pytest.raises(ConfigError) as caught:
        parse_settings(stack, "Pulumi.staging.yaml", load_project(root, "churn"))
    assert any("add sagemaker.featurestore-runtime" in line for line in caught.value.lines())
    offline = copy_project(
        tmp_path / "b",
        "churn",
        {SPARK: {"engine": "spark", "instanceType": "ml.c5.xlarge", "targetStores": ["OfflineStore"]}},
        source=FIXTURE_STACKS,
    )
    assert (
        parse_settings(stack, "Pulumi.staging.yaml", load_project(offline, "churn")).feature_store.spark_writes_online
        is False
    )


def test_the_spark_instance_type_must_be_allowed(tmp_path: Path) -> None:
    root = copy_project(
        tmp_path, "churn", {SPARK: {"engine": "spark", "instanceType": "ml.r5.24xlarge"}}, source=FIXTURE_STACKS
    )
    with pytest.raises(ConfigError) as caught:
        view(root)
    assert any(
        "featureStore.ingestion.instanceType" in line and "allowedInstanceTypes" in line
        for line in caught.value.lines()
    )


def test_a_feature_named_as_a_connector_partition_refuses_spark(tmp_path: Path) -> None:
    root = copy_project(
        tmp_path, "churn", {SPARK: {"engine": "spark", "instanceType": "ml.c5.xlarge"}}, source=FIXTURE_STACKS
    )
    schema = root / "projects" / "churn" / "features" / "customer-churn.yaml"
    document = yaml.safe_load(schema.read_text())
    document["features"].append({"name": "hour", "type": "Integral", "description": "Hour of the last call"})
    schema.write_text(yaml.safe_dump(document))
    with pytest.raises(ConfigError) as caught:
        load_project(root, "churn")
    (line,) = caught.value.lines()
    assert f"{SPARK}.engine" in line and "reserves the feature name(s) hour" in line
    del document["features"][-1]
    schema.write_text(yaml.safe_dump(document))
    assert load_project(root, "churn").schema.name == "customer-churn"


def test_training_on_several_instances_is_refused_with_the_reason(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="does not support distributed training"):
        TrainingConfig.model_validate({"metricThreshold": 0.7, "instanceCount": 2})
    assert TrainingConfig.model_validate({"metricThreshold": 0.7, "instanceCount": 1}).instance_count == 1
    root = copy_project(tmp_path / "v", "churn", {"environments.dev.training.instanceCount": 4}, source=FIXTURE_STACKS)
    with pytest.raises(ConfigError) as caught:
        view(root, "dev")
    (line,) = [line for line in caught.value.lines() if "instanceCount" in line]
    assert "environments.dev.training.instanceCount" in line and "sagemaker-python-sdk" in line
