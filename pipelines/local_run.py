"""Run the pipeline's step scripts on this machine, exactly as their containers run them.

Each script is executed as `__main__` with its folder on `sys.path` and its arguments in `argv`,
so sibling imports and argument parsing behave as in SageMaker.
"""

from __future__ import annotations

import importlib
import json
import runpy
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from pipelines.data import CHURN_CSV

STEPS_DIR = Path(__file__).parent / "steps"


@contextmanager
def _as_script(script: Path, argv: Sequence[str]) -> Iterator[None]:
    saved_argv, saved_path = sys.argv[:], sys.path[:]
    sys.argv = [str(script), *argv]
    sys.path.insert(0, str(script.parent))
    try:
        yield
    finally:
        sys.argv, sys.path[:] = saved_argv, saved_path


def load_step_module(name: str) -> ModuleType:
    """Import `pipelines/steps/<name>.py` (e.g. `dataset`) as the containers do, cached in sys.modules."""
    with _as_script(STEPS_DIR / f"{name}.py", []):
        return importlib.import_module(name)


def run_step(name: str, *argv: str) -> dict[str, Any]:
    """Run `pipelines/steps/<name>.py` with `argv`; returns the script's module globals."""
    script = STEPS_DIR / f"{name}.py"
    with _as_script(script, argv):
        return runpy.run_path(str(script), run_name="__main__")


@dataclass(frozen=True)
class LocalTrainingRun:
    """Where a local run of preprocess -> train -> evaluate -> baseline wrote its results."""

    root: Path

    @property
    def evaluation(self) -> Path:
        """The evaluation report."""
        return self.root / "evaluation" / "evaluation.json"

    @property
    def baseline(self) -> Path:
        """The drift baseline."""
        return self.root / "baseline" / "baseline.json"

    @property
    def model_dir(self) -> Path:
        """The model folder (model.joblib and its inference code)."""
        return self.root / "model"

    @property
    def tracking(self) -> Path:
        """The ids of the MLflow run the track step logged."""
        return self.root / "tracking" / "tracking.json"

    @property
    def tracking_store(self) -> Path:
        """The local MLflow store (SQLite database and artifacts) the run was logged to."""
        return self.root / "mlruns"

    def track(
        self, *, experiment: str, run_key: str, git_commit: str = "", config_hash: str = "", execution: str = ""
    ) -> dict[str, str]:
        """Run the track step on this run's results (into the local store); returns the run's ids."""
        run_step(
            "track", "--evaluation", str(self.evaluation.parent), "--lineage", str(self.root / "data" / "lineage"),
            "--output", str(self.tracking.parent), "--local-store", str(self.tracking_store),
            "--experiment", experiment, "--run-key", run_key, "--git-commit", git_commit,
            "--config-hash", config_hash, "--pipeline-execution", execution,
        )  # fmt: skip
        ids: dict[str, str] = json.loads(self.tracking.read_text(encoding="utf-8"))
        return ids


def run_training(
    root: Path,
    metric: str,
    threshold: float,
    *,
    data: Path = CHURN_CSV,
    n_estimators: int = 200,
    max_bias: float | None = None,
    experiment: str = "churn",
    run_key: str = "local",
    git_commit: str = "",
    config_hash: str = "",
    track: bool = True,
) -> LocalTrainingRun:
    """Run the training steps on `data` under `root`, as the pipeline would, and (with `track`) log the run."""
    run = LocalTrainingRun(root)
    splits = root / "data"
    run_step("preprocess", "--input", str(data), "--output", str(splits))
    run_step(
        "train", "--train", str(splits / "train"), "--model-dir", str(run.model_dir),
        "--checkpoint-dir", str(root / "checkpoints"), "--n-estimators", str(n_estimators),
    )  # fmt: skip
    run_step(
        "evaluate", "--model", str(run.model_dir), "--test", str(splits / "test"),
        "--output", str(run.evaluation.parent), "--metric", metric, "--threshold", str(threshold),
        *(["--max-bias", str(max_bias)] if max_bias is not None else []),
    )  # fmt: skip
    run_step("baseline", "--train", str(splits / "train"), "--output", str(run.baseline.parent))
    if track:
        run.track(experiment=experiment, run_key=run_key, git_commit=git_commit, config_hash=config_hash)
    return run
