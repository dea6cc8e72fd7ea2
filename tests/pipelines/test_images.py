"""Each step runs on an image chosen on purpose, and its code suits that image's Python and libraries.

The expectations come from the images' build files, recorded with their commits in
`pipelines/images/catalog.yaml`: never from what our own environment happens to have.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from infra.plan.evaluate import PROJECT_ROOT
from pipelines.definitions.templates import image_for
from pipelines.images import REQUIREMENTS, SKLEARN_IMAGE, STEP_IMAGES, catalog, image, image_of_step
from pipelines.local_run import STEPS_DIR

IMPORT_NAMES = {"sklearn": "scikit-learn", "yaml": "pyyaml", "dateutil": "python-dateutil"}
"""Module name -> distribution name, where they differ."""
STDLIB = set(sys.stdlib_module_names) | {"__future__"}
SIBLINGS = {path.stem for path in STEPS_DIR.glob("*.py")}
SUBMITTED = {"ingest_spark.py": {"feature_store_pyspark"}}
"""Modules a step receives with its job rather than from its image: the Feature Store Spark connector, which the
Spark image does not install (its Dockerfile comments the line out), goes with `spark-submit --py-files`."""


def test_every_step_script_has_a_chosen_image() -> None:
    assert sorted(STEP_IMAGES) == sorted(path.name for path in STEPS_DIR.glob("*.py"))
    for script in STEP_IMAGES:
        record = image_of_step(script)
        assert record.source["commit"] and record.source["files"], f"{record.key}: record where versions came from"


def test_every_step_parses_on_its_images_python() -> None:
    """vermin: the oldest Python each script needs is at most its image's (zip(strict=True) needs 3.10)."""
    for script in sorted(STEP_IMAGES):
        python = image_of_step(script).python
        done = subprocess.run(
            [str(Path(sys.executable).with_name("vermin")), "--no-tips", "--violations", "--eval-annotations", f"-t={python}-",
             str(STEPS_DIR / script)],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert done.returncode == 0, f"{script} needs a newer Python than its image's {python}:\n{done.stdout}"


def test_every_step_imports_only_what_its_image_ships() -> None:
    for script, key in sorted(STEP_IMAGES.items()):
        shipped = set(image(key).packages)
        tree = ast.parse((STEPS_DIR / script).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [node.module]
            else:
                continue
            for module in modules:
                top = module.split(".")[0]
                if top in STDLIB or top in SIBLINGS or top in SUBMITTED.get(script, set()):
                    continue
                assert IMPORT_NAMES.get(top, top) in shipped, f"{script} imports {top}, which {key} does not ship"


def test_the_lint_guard_targets_the_images_python() -> None:
    makefile = (PROJECT_ROOT / "Makefile").read_text(encoding="utf-8")
    (target,) = re.findall(r"vermin .*-t=(\d+\.\d+)- pipelines/steps", makefile)
    oldest = min((image(key).python for key in set(STEP_IMAGES.values())), key=lambda v: tuple(map(int, v.split("."))))
    assert target == oldest


def test_parity_requirements_pin_exactly_the_images_versions() -> None:
    for key in sorted(set(STEP_IMAGES.values())):
        record = image(key)
        given = (REQUIREMENTS / f"{key}.in").read_text(encoding="utf-8")
        pins = dict(re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)$", given, flags=re.MULTILINE))
        assert pins == record.packages, f"{key}.in differs from catalog.yaml"
        locked = dict(re.findall(r"^([a-z0-9_.-]+)==(\S+) \\$", record.requirements.read_text(), flags=re.MULTILINE))
        assert {name: locked.get(name) for name in record.packages} == record.packages, (
            f"run `make parity-lock` ({key})"
        )


def _images_in(definition: dict[str, Any]) -> dict[str, str]:
    """Step name -> image URI of every job and model in a pipeline definition."""
    found = {}
    branches = [s for c in definition["Steps"] if c["Type"] == "Condition" for s in c["Arguments"]["IfSteps"]]
    for step in definition["Steps"] + branches:
        args = step["Arguments"]
        if step["Type"] == "Processing" and "ContainerEntrypoint" in args["AppSpecification"]:
            script = Path(args["AppSpecification"]["ContainerEntrypoint"][-1]).name
            found[script] = args["AppSpecification"]["ImageUri"]
        elif step["Type"] in ("Training", "Tuning"):
            job = args.get("TrainingJobDefinition", args)
            found[json.loads((job.get("HyperParameters") or job["StaticHyperParameters"])["sagemaker_program"])] = job[
                "AlgorithmSpecification"
            ]["TrainingImage"]
        elif step["Type"] == "Model":
            found["inference.py"] = args["PrimaryContainer"]["Image"]
        elif step["Type"] == "RegisterModel":
            (container,) = args["InferenceSpecification"]["Containers"]
            found["inference.py (registered)"] = container["Image"]
    return found


def test_the_pipelines_run_each_step_on_its_chosen_image(dev_definition: dict[str, Any]) -> None:
    """Every job and model of dev's training pipeline, spot and on-demand, runs its script's chosen image."""
    tags = {key: f":{record.version}-cpu" for key, record in catalog().items()}
    found = _images_in(dev_definition)
    # dataset.py and offline_query.py are modules the scripts import; drift.py and quality.py run in the drift and
    # quality jobs, ingest_spark.py in the ingestion job (tests/pipelines/test_ingestion_definition.py), not here
    modules = {"dataset.py", "offline_query.py"}
    expected = {*STEP_IMAGES} - modules - {"drift.py", "quality.py", "ingest_spark.py"} | {"inference.py (registered)"}
    assert set(found) == expected
    for step, uri in found.items():
        key = STEP_IMAGES[step.split(" ")[0]]
        assert tags[key] in uri and ".eu-west-1." in uri, f"{step} runs {uri}"
    assert tags[SKLEARN_IMAGE] in image_for("eu-west-1"), "the drift job's image (drift_settings) too"
