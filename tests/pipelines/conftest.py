"""Shared, slow-to-build fixtures of the pipeline tests: one local training run, one SDK build per stack."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import botocore.client
import pytest

from infra.config import StackConfig
from infra.plan.model import Plan
from pipelines.definitions.settings import settings_for_stack
from pipelines.definitions.training import build_pipeline
from pipelines.local_run import LocalTrainingRun, run_training


@pytest.fixture(scope="session")
def training_run(tmp_path_factory: pytest.TempPathFactory) -> LocalTrainingRun:
    """preprocess -> train -> evaluate -> baseline on the shipped data, as the pipeline runs them."""
    return run_training(Path(tmp_path_factory.mktemp("training")), metric="auc", threshold=0.7)


@contextmanager
def refusing_aws() -> Iterator[list[str]]:
    """Fail any AWS API call made inside the block; yields the operations that were tried."""
    calls: list[str] = []
    original = botocore.client.BaseClient._make_api_call

    def refuse(self: Any, operation: str, params: Any) -> Any:
        calls.append(operation)
        raise AssertionError(f"compiling called AWS: {operation}")

    botocore.client.BaseClient._make_api_call = refuse  # type: ignore[method-assign]
    try:
        yield calls
    finally:
        botocore.client.BaseClient._make_api_call = original  # type: ignore[method-assign]


@pytest.fixture
def no_aws() -> Iterator[list[str]]:
    """Fail any AWS API call the test makes."""
    with refusing_aws() as calls:
        yield calls


@pytest.fixture(scope="session")
def training_configs(configs: dict[str, StackConfig]) -> dict[str, StackConfig]:
    """Only dev trains: its shipped config (spot, tuned), and the same on demand without tuning (the other variant)."""
    dev = configs["dev"]
    on_demand = dev.trained().model_copy(update={"use_spot": False, "tuning": None})
    return {"dev": dev, "on-demand": dev.model_copy(update={"training": on_demand})}


@pytest.fixture(scope="session")
def built_pipelines(plans: dict[str, Plan], training_configs: dict[str, StackConfig]) -> dict[str, Any]:
    """The SDK `Pipeline` of each training config, built from dev's plan outputs offline."""
    with refusing_aws() as calls:
        built = {
            name: build_pipeline(settings_for_stack(config, plans["dev"].outputs))
            for name, config in training_configs.items()
        }
    assert calls == []
    return built
