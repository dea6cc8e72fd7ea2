"""Run the step chain on each step's image Python and libraries, as the containers run the scripts.

Each image of `pipelines/images/catalog.yaml` that a step uses has a locked environment under
`.venv-parity/<image>/` (built by `make parity-envs` from `pipelines/images/requirements/<image>.txt`)
holding only what the image ships. Every step runs there as its container starts it: the staged code
folder, `python3 <script> <arguments>`, no site or user packages, no project on the path. A step that
needs a newer Python or imports a library its image lacks fails here, not in SageMaker.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kernel.projects import Project, load_project, project_names
from pipelines.images import HERE as IMAGES_DIR
from pipelines.images import image, image_of_step
from pipelines.local_run import SPEC_FILE, STEPS_DIR

PROJECT_ROOT = Path(__file__).resolve().parents[1]
PARITY_DIR = PROJECT_ROOT / ".venv-parity"
STEP_TIMEOUT = 300


class ParityError(RuntimeError):
    """A step failed on its image's Python and libraries (or the environment for it is missing)."""


def interpreter(image_key: str, root: Path = PARITY_DIR) -> Path:
    """The Python of an image's parity environment; ParityError naming the fix when it is not built."""
    python = root / image_key / "bin" / "python"
    if not (root / image_key / ".synced").is_file() or not python.exists():
        raise ParityError(f"{root / image_key} is not built; run `make parity-envs` (part of `make test`)")
    return python


def python_version(python: Path) -> str:
    """major.minor of an interpreter."""
    return subprocess.run(  # noqa: S603 - the parity environment's own interpreter
        [str(python), "-c", "import sys; print(f'{sys.version_info[0]}.{sys.version_info[1]}')"],
        capture_output=True, text=True, check=True, timeout=60,
    ).stdout.strip()  # fmt: skip


@dataclass(frozen=True)
class ParityRun:
    """Where a parity run wrote its results."""

    root: Path

    @property
    def code(self) -> Path:
        """The staged step code (the processing job's `/opt/ml/processing/input/code`)."""
        return self.root / "code"

    def read(self, *parts: str) -> Any:
        """A JSON result under the run's folder."""
        return json.loads(self.root.joinpath(*parts).read_text(encoding="utf-8"))


class _Runner:
    def __init__(self, run: ParityRun, parity_dir: Path) -> None:
        self.run, self.parity_dir = run, parity_dir

    def step(self, script: str, *argv: str) -> str:
        """Run `script` from the staged code on its image's Python; returns its standard output."""
        record = image_of_step(script)
        return self._python(record.key, str(self.run.code / script), *argv, what=f"{script} on {record.key}")

    def serve(self, model_dir: Path, body: Path) -> str:
        """One request through the model's handlers on the serving image."""
        record = image_of_step("inference.py")
        helper = self.run.root / "serve.py"
        return self._python(
            record.key, str(helper), "--model-dir", str(model_dir), "--body", str(body),
            what=f"the inference handlers on {record.key}",
        )  # fmt: skip

    def _python(self, image_key: str, *argv: str, what: str) -> str:
        python = interpreter(image_key, self.parity_dir)
        # -E: no PYTHON* variables; -s: no user site. The script's folder goes on sys.path, as in the container.
        command = [str(python), "-E", "-s", *argv]
        done = subprocess.run(  # noqa: S603 - our step scripts on the parity interpreter
            command, cwd=self.run.root, capture_output=True, text=True, timeout=STEP_TIMEOUT, check=False,
            env={"PATH": "/usr/bin:/bin", "HOME": str(self.run.root), "LANG": "C.UTF-8"},
        )  # fmt: skip
        if done.returncode != 0:
            tail = "\n".join(done.stderr.strip().splitlines()[-8:])
            raise ParityError(f"{what} failed (exit {done.returncode}):\n{tail}")
        return done.stdout


def gate_of(project: Project) -> tuple[str, float]:
    """The metric and threshold of the project's gate, as its dev training settings write them."""
    training = project.settings("dev").get("training") or {}
    return str(training.get("objectiveMetric", "auc")), float(training["metricThreshold"])


def run_chain(
    root: Path,
    project: Project,
    *,
    data: Path | None = None,
    max_bias: float = 0.1,
    n_estimators: int = 200,
    parity_dir: Path = PARITY_DIR,
) -> ParityRun:
    """Run `project`'s preprocess -> train -> evaluate -> baseline -> drift -> serve -> track, each on its image.

    The code folder is staged as the project program stages it: the step scripts and the project's
    `project.json`, which every step reads through `--project-spec`.
    """
    run = ParityRun(root)
    shutil.copytree(STEPS_DIR, run.code, ignore=shutil.ignore_patterns("__pycache__", "*.md"))
    (run.code / SPEC_FILE).write_text(project.spec().to_json(), encoding="utf-8")
    shutil.copy(IMAGES_DIR / "serve.py", root / "serve.py")
    spec = ("--project-spec", f"code/{SPEC_FILE}")
    metric, threshold = gate_of(project)
    runner = _Runner(run, parity_dir)
    runner.step("preprocess.py", "--input", str(data or project.sample_data), "--output", "data", *spec)
    runner.step(
        "train.py", "--train", "data/train", "--validation", "data/validation", "--model-dir", "model",
        "--checkpoint-dir", "checkpoints", "--n-estimators", str(n_estimators), *spec,
    )  # fmt: skip
    runner.step(
        "evaluate.py", "--model", "model", "--test", "data/test", "--output", "evaluation",
        "--metric", metric, "--threshold", str(threshold), "--max-bias", str(max_bias), *spec,
    )  # fmt: skip
    runner.step("baseline.py", "--train", "data/train", "--output", "baseline", *spec)
    runner.step(
        "drift.py", "--capture", "data/test", "--baseline", "baseline/baseline.json", "--output", "drift", *spec
    )
    request = root / "request.csv"
    request.write_text(_request_rows(root / "data" / "test" / "test.csv", project, rows=5), encoding="utf-8")
    (root / "response.csv").write_text(runner.serve(root / "model", request), encoding="utf-8")
    runner.step(
        "track.py", "--evaluation", "evaluation", "--lineage", "data/lineage", "--output", "tracking",
        "--local-store", "mlruns", "--experiment", "parity", "--run-key", "parity",
    )  # fmt: skip
    return run


def _request_rows(test_csv: Path, project: Project, rows: int) -> str:
    """The first `rows` test records as a headerless CSV request of the model's features."""
    lines = test_csv.read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    index = [header.index(name) for name in project.spec().features]
    return "\n".join(",".join(line.split(",")[i] for i in index) for line in lines[1 : rows + 1]) + "\n"


def images_used() -> list[str]:
    """The catalog keys of every image some step runs in."""
    from pipelines.images import STEP_IMAGES

    return sorted(set(STEP_IMAGES.values()))


def main() -> None:
    """`python -m pipelines.parity OUT`: run every project's chain into OUT/<project>; print each decision."""
    root = Path(sys.argv[1] if len(sys.argv) > 1 else "out/parity")
    if root.exists():
        shutil.rmtree(root)
    for name in project_names(PROJECT_ROOT):
        (root / name).mkdir(parents=True)
        run = run_chain(root / name, load_project(PROJECT_ROOT, name))
        decision = run.read("evaluation", "evaluation.json")["decision"]
        images = ", ".join(f"{k} (Python {image(k).python})" for k in images_used())
        print(f"parity {name}: {images}: {decision['reason']}")


if __name__ == "__main__":
    main()
