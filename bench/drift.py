"""The drift job's time and peak memory at growing numbers of captured rows, chunked and whole.

Each measurement is a process of its own on the drift image's Python and libraries (the parity
environment, `.venv-parity/`). Its peak resident memory is the kernel's high-water mark of its own
address space (`VmHWM` in `/proc/self/status`), not `getrusage`'s `ru_maxrss`, which survives `fork`
and `execve` (getrusage(2)): a child of this process would report this process's peak.

The input is SageMaker data capture (JSON lines, 10 rows per request) resampled from the shipped data;
`job` is `drift.py` as the processing job runs it (chunks of `CHUNK_ROWS`), `whole` the same
computation over one frame of every row, which is what the job did before it read in chunks; `imports`
is the floor (Python, pandas, scipy), against which the other two are compared.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from infra.plan.evaluate import PROJECT_ROOT
from kernel.projects import load_project
from pipelines.images import STEP_IMAGES
from pipelines.local_run import STEPS_DIR
from pipelines.parity import interpreter

SAMPLE = load_project(PROJECT_ROOT, "churn").sample_data
"""The churn project's sample dataset, the rows every benchmark multiplies."""

SIZES = (10_000, 100_000, 1_000_000)
ROWS_PER_REQUEST = 10

MEASURE = """
import json, resource, runpy, sys, time



def peak_mb():
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


mode, steps, capture, baseline, output, spec_path = sys.argv[1:]
sys.path.insert(0, steps)
start = time.perf_counter()
if mode == "job":
    sys.argv = ["drift.py", "--capture", capture, "--baseline", baseline, "--output", output,
                "--project-spec", spec_path]
    runpy.run_path(steps + "/drift.py", run_name="__main__")
elif mode == "whole":
    import drift
    import pandas as pd
    with open(baseline) as handle:
        profile = json.load(handle)
    spec = drift.load_spec(spec_path)
    frame = pd.concat(list(drift.read_capture(capture, spec, 10**12)), ignore_index=True)
    drift.detect(profile, frame, 0.2, 0.01, spec)
else:
    import drift
seconds = time.perf_counter() - start
print(json.dumps({"seconds": seconds, "peak_rss_mb": peak_mb()}))
"""


def write_capture(rows: int, folder: Path) -> Path:
    """`rows` captured requests' rows (resampled from the shipped data, seeded) as data-capture JSON lines."""
    features = _features()
    sample = pd.read_csv(SAMPLE)[features]
    picked = sample.iloc[np.random.default_rng(rows).integers(0, len(sample), rows)]
    lines = picked.to_csv(index=False, header=False).splitlines()
    capture = folder / f"capture-{rows}"
    capture.mkdir()
    with (capture / "capture.jsonl").open("w", encoding="utf-8") as out:
        for start in range(0, rows, ROWS_PER_REQUEST):
            body = "\n".join(lines[start : start + ROWS_PER_REQUEST]) + "\n"
            if start == 0:
                body = ",".join(features) + "\n" + body
            record = {"captureData": {"endpointInput": {"data": body, "encoding": "CSV", "mode": "INPUT"}}}
            out.write(json.dumps(record) + "\n")
    return capture


def _features() -> list[str]:
    return load_project(PROJECT_ROOT, "churn").spec().features


def run(sizes: tuple[int, ...] = SIZES) -> dict[str, Any]:
    """Seconds and peak RSS of the job (chunked) and of the whole-frame computation at each size."""
    python = interpreter(STEP_IMAGES["drift.py"])
    with tempfile.TemporaryDirectory(prefix="bench-drift-") as scratch:
        root = Path(scratch)
        script = root / "measure.py"
        script.write_text(MEASURE, encoding="utf-8")
        baseline = root / "baseline"
        spec = root / "project.json"
        spec.write_text(load_project(PROJECT_ROOT, "churn").spec().to_json(), encoding="utf-8")
        subprocess.run(  # noqa: S603 - the image's interpreter on our own step
            [str(python), "-E", "-s", str(STEPS_DIR / "baseline.py"), "--train", str(SAMPLE),
             "--output", str(baseline), "--project-spec", str(spec)],
            check=True, capture_output=True, timeout=300,
        )  # fmt: skip

        def measure(mode: str, capture: Path) -> dict[str, float]:
            done = subprocess.run(  # noqa: S603 - as above
                [str(python), "-E", "-s", str(script), mode, str(STEPS_DIR), str(capture),
                 str(baseline / "baseline.json"), str(root / "out"), str(spec)],
                check=True, capture_output=True, text=True, timeout=1800,
            )  # fmt: skip
            figures = json.loads(done.stdout.strip().splitlines()[-1])
            return {"seconds": round(figures["seconds"], 2), "peak_rss_mb": round(figures["peak_rss_mb"], 1)}

        floor = measure("imports", root)
        results = []
        for rows in sizes:
            capture = write_capture(rows, root)
            results.append({"rows": rows, "job": measure("job", capture), "whole": measure("whole", capture)})
    return {
        "python": str(python.relative_to(python.parents[3])),
        "rows_per_request": ROWS_PER_REQUEST,
        "imports": floor,
        "sizes": results,
        "target": "the job's peak memory flat in rows",
    }
