"""The step chain on each step's image Python and libraries (`make test` builds `.venv-parity/`).

The same scripts, the same shipped data, the same arguments as the pipeline: run on the image's
interpreter and pins (from its build files, `pipelines/images/catalog.yaml`), they must reach the
same decision as on the project's own environment.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import math
import shutil
import subprocess
from pathlib import Path

import pytest

from pipelines.images import STEP_IMAGES, image
from pipelines.local_run import STEPS_DIR, LocalTrainingRun
from pipelines.parity import PARITY_DIR, ParityError, ParityRun, _Runner, interpreter, python_version


def test_each_parity_environment_is_its_images_python_and_pins() -> None:
    for key in sorted(set(STEP_IMAGES.values())):
        record, python = image(key), interpreter(key)
        assert python_version(python) == record.python, key
        installed = subprocess.run(
            [str(python), "-E", "-s", "-c",
             "import json, importlib.metadata as m; "
             "print(json.dumps({d.metadata['Name'].lower(): d.version for d in m.distributions()}))"],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        versions = json.loads(installed.stdout)
        assert {name: versions.get(name) for name in record.packages} == record.packages, key


def test_the_chain_reaches_the_same_decision_on_the_images(
    parity_run: ParityRun, training_run: LocalTrainingRun
) -> None:
    here = json.loads(training_run.evaluation.read_text())
    there = parity_run.read("evaluation", "evaluation.json")
    assert there["decision"]["passed"] is True and there["decision"]["reason"] == "passed"
    assert abs(there["metrics"]["auc"]["value"] - here["metrics"]["auc"]["value"]) < 0.02
    assert there["test_rows"] == here["test_rows"] == 600
    assert next(iter(there["attribution"])) == next(iter(here["attribution"]))
    assert there["training"]["validation"]["metric"] == "auc"
    assert there["training"]["validation"]["value"] > 0.7, "train.py scored the validation split on the image"
    assert (
        parity_run.read("data", "lineage", "lineage.json")["data_version"]
        == json.loads((training_run.root / "data" / "lineage" / "lineage.json").read_text())["data_version"]
    ), "the same data gives the same data version on either pandas"


def test_baseline_drift_and_serving_work_on_the_image(parity_run: ParityRun, training_run: LocalTrainingRun) -> None:
    baseline = parity_run.read("baseline", "baseline.json")
    assert baseline["rows"] == 2100
    assert baseline == json.loads(training_run.baseline.read_text()), "the drift reference does not depend on pandas"
    drift = parity_run.read("drift", "drift.json")
    assert drift["rows"] == 600 and drift["drifted_features"] == []
    spec = json.loads(training_run.spec.read_text())
    assert sorted(drift["features"]) == sorted(spec["numeric"] + spec["categorical"])
    scores = [float(line) for line in (parity_run.root / "response.csv").read_text().split()]
    assert len(scores) == 5 and all(0.0 <= score <= 1.0 for score in scores)


def test_the_regressor_chain_runs_on_the_images_and_agrees(
    parity_runs: dict[str, ParityRun], claims_run: LocalTrainingRun
) -> None:
    """The claims project (a regressor) through every step on its image: the same gate, drift and serving."""
    run = parity_runs["claims"]
    here = json.loads(claims_run.evaluation.read_text())
    there = run.read("evaluation", "evaluation.json")
    assert there["kind"] == "regressor" and set(there["metrics"]) == {"rmse", "mae", "r2"}
    assert there["decision"]["metric"] == "rmse" and there["decision"]["passed"] is True
    assert there["decision"]["threshold"] == here["decision"]["threshold"] == 250.0
    assert there["metrics"]["rmse"]["value"] == pytest.approx(here["metrics"]["rmse"]["value"], rel=0.02)
    assert "regression_metrics" in there and "binary_classification_metrics" not in there
    assert there["training"]["validation"]["metric"] == "rmse"
    spec = json.loads((run.code / "project.json").read_text())
    assert sorted(run.read("drift", "drift.json")["features"]) == sorted(spec["numeric"] + spec["categorical"])
    assert run.read("drift", "drift.json")["drifted_features"] == []
    values = [float(line) for line in (run.root / "response.csv").read_text().split()]
    assert len(values) == 5 and all(math.isfinite(v) for v in values) and max(values) > 1, "costs, not probabilities"
    assert run.read("tracking", "tracking.json")["run_id"]


def test_the_track_step_logs_on_the_distribution_image(parity_run: ParityRun) -> None:
    ids = parity_run.read("tracking", "tracking.json")
    assert ids["run_name"] == "parity" and ids["experiment"] == "parity" and ids["run_id"]
    assert (parity_run.root / "mlruns" / "mlflow.db").is_file()


def test_a_step_that_imports_what_its_image_lacks_fails_there(tmp_path: Path) -> None:
    """The launcher runs a staged copy of evaluate.py as the container does: an import of mlflow fails there."""
    assert importlib.util.find_spec("mlflow") is not None, "the project's own environment has it"
    run = ParityRun(tmp_path)
    shutil.copytree(STEPS_DIR, run.code, ignore=shutil.ignore_patterns("__pycache__"))
    runner = _Runner(run, PARITY_DIR)
    assert "usage:" in runner.step("evaluate.py", "--help"), "the untouched copy starts on its image"
    script = run.code / "evaluate.py"
    lines = script.read_text(encoding="utf-8").splitlines(keepends=True)
    first = next(
        node.lineno
        for node in ast.parse("".join(lines)).body
        if isinstance(node, ast.Import | ast.ImportFrom) and getattr(node, "module", None) != "__future__"
    )
    lines.insert(first - 1, "import mlflow\n")
    script.write_text("".join(lines), encoding="utf-8")
    with pytest.raises(ParityError, match=r"evaluate\.py on sklearn[^\n]* failed \(exit 1\)") as failed:
        runner.step("evaluate.py", "--help")
    assert "ModuleNotFoundError: No module named 'mlflow'" in str(failed.value)
