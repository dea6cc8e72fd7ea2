"""The quality job's time and peak memory at growing numbers of labelled predictions, sharded and whole.

Measured as `bench/drift.py` measures the drift job: each run a process of its own on the sklearn image's
Python and libraries (the parity environment), its peak resident memory the kernel's high-water mark
(`VmHWM`). The input is what the job reads in AWS: SageMaker data capture (JSON lines, 10 rows per request,
each answer `inference_id,probability`) of rows resampled from the churn project's sample, and a label for
each. `job` is `quality.py` as the processing job runs it (chunks spilled to hash shards of `SHARD_BYTES`
of input, joined one at a time into fixed-size tallies); `whole` reads every prediction and label into one
frame each and measures them at once; `imports` is the floor (Python, pandas, scipy).
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bench.drift import MEASURE as DRIFT_MEASURE
from bench.drift import ROWS_PER_REQUEST, SAMPLE, SIZES, _features
from infra.plan.evaluate import PROJECT_ROOT
from kernel.projects import load_project
from pipelines.images import STEP_IMAGES
from pipelines.local_run import STEPS_DIR
from pipelines.parity import interpreter

NOW = "2026-11-29T00:00:00+00:00"
INFERENCE_TIME = "2026-11-27T00:30:00Z"
"""Inside the window of a run at `NOW` with the job's default 24-hour window and 48-hour delay."""

MEASURE = (
    DRIFT_MEASURE.split("mode, steps,")[0]
    + """
mode, steps, capture, labels, baseline, output, spec_path = sys.argv[1:]
sys.path.insert(0, steps)
start = time.perf_counter()
if mode == "job":
    sys.argv = ["quality.py", "--capture", capture, "--labels", labels, "--baseline", baseline,
                "--output", output, "--project-spec", spec_path, "--now", "@NOW@", "--min-samples", "10"]
    runpy.run_path(steps + "/quality.py", run_name="__main__")
elif mode == "whole":
    import quality
    with open(baseline) as handle:
        profile = json.load(handle)
    spec = quality.load_spec(spec_path)
    window = quality.Window.ending(quality.parse_time("@NOW@"), 24, 48)
    predictions, _ = quality.read_predictions(capture, window, spec, 10**12)
    arrived = quality.read_labels(labels, window.labels_until, 10**12)
    quality.measure(predictions, arrived, profile, spec=spec, min_samples=10)
else:
    import quality
seconds = time.perf_counter() - start
print(json.dumps({"seconds": seconds, "peak_rss_mb": peak_mb()}))
"""
).replace("@NOW@", NOW)

BASELINE = {
    "metrics": {"auc": {"value": 0.8}, "precision": {"value": 0.6}, "recall": {"value": 0.5}},
    "binary_classification_metrics": {"confusion_matrix": {"0": {"0": 600, "1": 100}, "1": {"0": 150, "1": 150}}},
}
"""An evaluation report's shape (evaluate.py); the figures only set what the job compares with."""


def write_traffic(rows: int, folder: Path) -> tuple[Path, Path]:
    """`rows` captured predictions (resampled from the churn sample, seeded) and a label for each."""
    features = _features()
    sample = pd.read_csv(SAMPLE)[features]
    rng = np.random.default_rng(rows)
    picked = sample.iloc[rng.integers(0, len(sample), rows)]
    lines = picked.to_csv(index=False, header=False).splitlines()
    scores = np.round(rng.random(rows), 6)
    outcomes = (rng.random(rows) < scores).astype(int)
    capture, labels = folder / f"capture-{rows}", folder / f"labels-{rows}"
    capture.mkdir()
    labels.mkdir()
    with (capture / "capture.jsonl").open("w", encoding="utf-8") as out:
        for start in range(0, rows, ROWS_PER_REQUEST):
            body = ",".join(features) + "\n" + "\n".join(lines[start : start + ROWS_PER_REQUEST]) + "\n"
            answer = "\n".join(f"r{i},{scores[i]:.6f}" for i in range(start, min(start + ROWS_PER_REQUEST, rows)))
            record = {
                "captureData": {
                    "endpointInput": {"data": body, "encoding": "CSV", "mode": "INPUT"},
                    "endpointOutput": {"data": answer, "encoding": "CSV", "mode": "OUTPUT"},
                },
                "eventMetadata": {"eventId": f"e{start}", "inferenceTime": INFERENCE_TIME},
            }
            out.write(json.dumps(record) + "\n")
    with (labels / "labels.jsonl").open("w", encoding="utf-8") as out:
        for i in range(rows):
            out.write(json.dumps({"inference_id": f"r{i}", "label": int(outcomes[i]), "event_time": NOW}) + "\n")
    return capture, labels


def run(sizes: tuple[int, ...] = SIZES) -> dict[str, Any]:
    """Seconds and peak RSS of the job (sharded) and of the whole-frame computation at each size."""
    python = interpreter(STEP_IMAGES["quality.py"])
    with tempfile.TemporaryDirectory(prefix="bench-quality-") as scratch:
        root = Path(scratch)
        script = root / "measure.py"
        script.write_text(MEASURE, encoding="utf-8")
        baseline = root / "evaluation.json"
        baseline.write_text(json.dumps(BASELINE), encoding="utf-8")
        spec = root / "project.json"
        spec.write_text(load_project(PROJECT_ROOT, "churn").spec().to_json(), encoding="utf-8")

        def measure(mode: str, capture: Path, labels: Path) -> dict[str, float]:
            done = subprocess.run(  # noqa: S603 - the image's interpreter on our own step
                [str(python), "-E", "-s", str(script), mode, str(STEPS_DIR), str(capture), str(labels),
                 str(baseline), str(root / "out"), str(spec)],
                check=True, capture_output=True, text=True, timeout=3600,
            )  # fmt: skip
            figures = json.loads(done.stdout.strip().splitlines()[-1])
            return {"seconds": round(figures["seconds"], 2), "peak_rss_mb": round(figures["peak_rss_mb"], 1)}

        floor = measure("imports", root, root)
        results = []
        for rows in sizes:
            capture, labels = write_traffic(rows, root)
            results.append(
                {"rows": rows, "job": measure("job", capture, labels), "whole": measure("whole", capture, labels)}
            )
    return {
        "python": str(python.relative_to(python.parents[3])),
        "rows_per_request": ROWS_PER_REQUEST,
        "imports": floor,
        "sizes": results,
        "target": "the job's peak memory bounded in rows (one shard of SHARD_BYTES of input at a time)",
    }
