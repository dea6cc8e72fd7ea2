"""Shared, slow-to-build fixtures of the pipeline tests: one local training run per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.local_run import LocalTrainingRun, run_training


@pytest.fixture(scope="session")
def training_run(tmp_path_factory: pytest.TempPathFactory) -> LocalTrainingRun:
    """preprocess -> train -> evaluate -> baseline on the shipped data, as the pipeline runs them."""
    return run_training(Path(tmp_path_factory.mktemp("training")), metric="auc", threshold=0.7)
