"""A folder of artefacts as `mlops demo` leaves a project's (out/demo/churn): training, drift and quality history."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from infra.plan.evaluate import PROJECT_ROOT
from kernel.projects import load_project
from mlops.scenarios.concept_drift import quality_history, run_concept_drift
from pipelines.local_run import run_training


@pytest.fixture(scope="session")
def artefacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The churn project's training run, its data-drift report and a quality history."""
    root = tmp_path_factory.mktemp("artefacts")
    churn = load_project(PROJECT_ROOT, "churn")
    training = run_training(root / "training", churn, metric="auc", threshold=0.7, track=False)
    shifted = run_concept_drift(root / "data-drift", training, concept="original", data_drift=True, rows=600)
    (root / "drift").mkdir()
    shutil.copy(shifted.root / "drift" / "drift.json", root / "drift" / "drift.json")
    (root / "quality").mkdir()
    history = quality_history(training, days=5, drift_from=3, rows_per_day=300)
    (root / "quality" / "history.json").write_text(json.dumps(history), encoding="utf-8")
    return root
