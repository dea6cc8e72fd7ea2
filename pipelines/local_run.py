"""Run the pipeline's step scripts on this machine, exactly as their containers run them.

Each script is executed as `__main__` with its folder on `sys.path` and its arguments in `argv`,
so sibling imports and argument parsing behave as in SageMaker.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import json
import runpy
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from kernel.projects import Project, ProjectSpec

STEPS_DIR = Path(__file__).parent / "steps"
SPEC_FILE = "project.json"
"""The project spec's file name beside the step code (the steps' `dataset.SPEC_FILE`)."""


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


def write_spec(spec: ProjectSpec, folder: Path) -> Path:
    """Write `spec` as `<folder>/project.json`, the file every step reads through `--project-spec`."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / SPEC_FILE
    path.write_text(spec.to_json(), encoding="utf-8")
    return path


def load_model_handlers(model_dir: Path) -> ModuleType:
    """The inference handlers a model artifact carries (`<model_dir>/code/inference.py`), as its container loads them.

    Each artifact's handlers read the `project.json` beside them, so two projects' models load side by side.
    """
    script = model_dir / "code" / "inference.py"
    name = "inference_" + hashlib.sha256(str(script.resolve()).encode()).hexdigest()[:12]
    if name in sys.modules:
        return sys.modules[name]
    loader = importlib.util.spec_from_file_location(name, script)
    if loader is None or loader.loader is None:
        raise FileNotFoundError(f"{script}: the model carries no inference handlers")
    module = importlib.util.module_from_spec(loader)
    with _as_script(script, []):
        loader.loader.exec_module(module)
    sys.modules[name] = module
    return module


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
    def spec(self) -> Path:
        """The project spec the steps ran with."""
        return self.root / SPEC_FILE

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
    project: Project,
    metric: str,
    threshold: float,
    *,
    data: Path | None = None,
    n_estimators: int = 200,
    max_bias: float | None = None,
    experiment: str | None = None,
    run_key: str = "local",
    git_commit: str = "",
    config_hash: str = "",
    track: bool = True,
) -> LocalTrainingRun:
    """Run `project`'s training steps on `data` (its sample by default) under `root`, as the pipeline would.

    With `track`, the run is logged to a local MLflow store, in `experiment` (default: the project's name).
    """
    run = LocalTrainingRun(root)
    spec = str(write_spec(project.spec(), root))
    splits = root / "data"
    run_step("preprocess", "--input", str(data or project.sample_data), "--output", str(splits), "--project-spec", spec)
    run_step(
        "train", "--train", str(splits / "train"), "--model-dir", str(run.model_dir),
        "--checkpoint-dir", str(root / "checkpoints"), "--n-estimators", str(n_estimators), "--project-spec", spec,
    )  # fmt: skip
    run_step(
        "evaluate", "--model", str(run.model_dir), "--test", str(splits / "test"),
        "--output", str(run.evaluation.parent), "--metric", metric, "--threshold", str(threshold),
        "--project-spec", spec, *(["--max-bias", str(max_bias)] if max_bias is not None else []),
    )  # fmt: skip
    run_step("baseline", "--train", str(splits / "train"), "--output", str(run.baseline.parent), "--project-spec", spec)
    if track:
        run.track(
            experiment=experiment or project.name, run_key=run_key, git_commit=git_commit, config_hash=config_hash
        )
    return run
