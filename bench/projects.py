"""`mlops plan` of an environment with 1 project against the same environment with 10 (issue 21's target: 2x).

The projects are generated: copies of the churn project under other names, in a scratch copy of the repository
(its stack files and `projects/Pulumi.yaml`). Each plan is a separate `mlops plan --stack <stack>` process, so its
figure includes the imports every plan pays once; the median of `repeats` runs, wall-clock and CPU.
"""

from __future__ import annotations

import shutil
import statistics
import tempfile
from pathlib import Path
from typing import Any

from bench.plan import MLOPS, ROOT, _timed

TEMPLATE = "churn"


def repository(projects: int, into: Path) -> Path:
    """A scratch repository with the platform's stack files and `projects` copies of the template project."""
    for path in ROOT.glob("Pulumi*.yaml"):
        shutil.copy(path, into / path.name)
    (into / "projects").mkdir()
    shutil.copy(ROOT / "projects" / "Pulumi.yaml", into / "projects" / "Pulumi.yaml")
    for index in range(projects):
        name = TEMPLATE if index == 0 else f"team{index}"
        folder = into / "projects" / name
        shutil.copytree(ROOT / "projects" / TEMPLATE, folder, ignore=shutil.ignore_patterns("__pycache__"))
        document = folder / "project.yaml"
        document.write_text(document.read_text(encoding="utf-8").replace(f"name: {TEMPLATE}", f"name: {name}", 1))
        if name != TEMPLATE:
            (folder / "data" / f"{TEMPLATE}.csv").rename(folder / "data" / f"{name}.csv")
    return into


def run(counts: tuple[int, ...] = (1, 10), repeats: int = 3, stack: str = "prod") -> dict[str, Any]:
    """Median plan time per project count, the ratio of the largest to the smallest, the marginal per project."""
    figures = []
    for count in counts:
        with tempfile.TemporaryDirectory(prefix=f"bench-projects-{count}-") as scratch:
            root = repository(count, Path(scratch))
            runs = [_timed([str(MLOPS), "plan", "--stack", stack], cwd=root) for _ in range(repeats)]
        wall = statistics.median(run[0] for run in runs)
        cpu = statistics.median(run[1] for run in runs)
        figures.append({"projects": count, "wall_s": round(wall, 2), "cpu_s": round(cpu, 2)})
    first, last = figures[0], figures[-1]
    extra = last["projects"] - first["projects"]
    return {
        "stack": stack,
        "runs": figures,
        "ratio": {"wall": round(last["wall_s"] / first["wall_s"], 2), "cpu": round(last["cpu_s"] / first["cpu_s"], 2)},
        "marginal_per_project_s": round((last["wall_s"] - first["wall_s"]) / extra, 2) if extra else 0.0,
        "target": "10 projects at most 2x the plan time of 1",
    }
