"""A folder of artefacts as `mlops demo` leaves them, built once: training, drift and quality history."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from pipelines.local_run import LocalTrainingRun, run_training
from pipelines.quality_scenario import quality_history, run_concept_drift


@pytest.fixture(scope="session")
def artefacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("artefacts")
    training = run_training(root / "training", metric="auc", threshold=0.7, track=False)
    shifted = run_concept_drift(
        root / "data-drift", LocalTrainingRun(training.root), concept="original", data_drift=True
    )
    (root / "drift").mkdir()
    shutil.copy(shifted.root / "drift" / "drift.json", root / "drift" / "drift.json")
    (root / "quality").mkdir()
    history = quality_history(training, days=5, drift_from=3, rows_per_day=300)
    (root / "quality" / "history.json").write_text(json.dumps(history), encoding="utf-8")
    return root
