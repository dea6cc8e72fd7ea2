"""`mlops plan --stack prod` against its floor: Python importing what the plan cannot do without.

The floor is a process importing pulumi, pulumi_aws, boto3 and pydantic, and loading every `pulumi_aws`
service package whose resource classes the plan itself loads (read from `python -X importtime` of a real
plan run, so the list follows the code). pulumi_aws registers its service packages as lazy modules
(`pulumi._utils.lazy_import`): an `import`, or reading `__name__` or `__dict__`, runs none of their code;
the first other attribute read runs it all, so the floor asks each for one (`hasattr`). Both are timed
as processes, the median of `repeats` runs, in wall-clock and CPU seconds (a shared machine's load
moves the first far more than the second). Where the plan exceeds
1.5 times its floor, the import time of the modules the floor does not load (their own time, per package)
says how much of the difference is imports; the rest is the program itself, run under Pulumi's mocks.

The plan treats Python's garbage collector as the floor does not: no collection while its programs run
(and so while they load pulumi_aws's service packages; infra/plan/collector.py), and none over every object
at exit (mlops/process_exit.py). Both save the floor's own process time too, so a second figure, for
reference only, is the floor treated alike (`floor_collector_as_plan`); the target is judged on the floor.
"""

from __future__ import annotations

import re
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
MLOPS = Path(sys.executable).with_name("mlops")
_IMPORT = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \| (\s*)(\S+)")


def _timed(command: list[str], cwd: Path = ROOT) -> tuple[float, float, str, str]:
    """(wall seconds, CPU seconds of the child, its output, its error output) of one run of `command` in `cwd`."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, check=True, capture_output=True, text=True, timeout=600)  # noqa: S603
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), done.stdout, done.stderr


def _imports(stderr: str) -> list[tuple[str, float, float, int]]:
    """(module, own seconds, cumulative seconds, nesting depth) of every import `-X importtime` reported."""
    found = []
    for line in stderr.splitlines():
        match = _IMPORT.match(line)
        if match:
            own, cumulative = int(match.group(1)) / 1e6, int(match.group(2)) / 1e6
            found.append((match.group(4), own, cumulative, len(match.group(3)) // 2))
    return found


def run(repeats: int = 3, stack: str = "prod", *, smoke: bool = False) -> dict[str, Any]:
    """Median plan and floor times, their ratio, and where the plan's time above the floor goes.

    `smoke` times the plan once, by its `-X importtime` run (which costs a little more): a check that
    the harness works, not a figure.
    """
    plan = [str(MLOPS), "plan", "--stack", stack]
    tracing = _timed([sys.executable, "-X", "importtime", *plan])
    traced = _imports(tracing[3])
    services = sorted(
        {match.group(1) for name, *_ in traced if (match := re.fullmatch(r"pulumi_aws\.([a-z0-9]\w*)\.\w+", name))}
    )
    floor_imports = ["pulumi", "pulumi_aws", "boto3", "pydantic", *(f"pulumi_aws.{service}" for service in services)]
    loads = "".join(f"hasattr(pulumi_aws.{service}, 'load')\n" for service in services)
    listing = "import sys\nprint(' '.join(sys.modules))"  # what the floor loaded, at no measurable cost
    floor = [sys.executable, "-c", f"import pulumi, pulumi_aws, boto3, pydantic\n{loads}{listing}"]
    paused = "gc.freeze()\ngc.disable()\n"
    resumed = "gc.freeze()\ngc.unfreeze()\ngc.enable()\natexit.register(gc.freeze)\n"
    imports = "import atexit, gc\nimport pulumi, pulumi_aws, boto3, pydantic\n"
    alike = [sys.executable, "-c", f"{imports}{paused}{loads}{resumed}"]
    # plan and floors alternate, so that a load spike on a shared machine hits them all alike
    runs = [(tracing if smoke else _timed(plan), _timed(floor), _timed(alike)) for _ in range(1 if smoke else repeats)]
    plan_runs, floor_runs, alike_runs = ([run[index] for run in runs] for index in range(3))
    plan_wall, plan_cpu = statistics.median(r[0] for r in plan_runs), statistics.median(r[1] for r in plan_runs)
    floor_wall, floor_cpu = statistics.median(r[0] for r in floor_runs), statistics.median(r[1] for r in floor_runs)
    alike_wall, alike_cpu = statistics.median(r[0] for r in alike_runs), statistics.median(r[1] for r in alike_runs)
    floor_modules = set(floor_runs[0][2].split())
    beyond: dict[str, float] = {}  # own import time of the modules the floor does not load, per top-level package
    for name, own, _, _ in traced:
        if name not in floor_modules:
            beyond[name.split(".")[0]] = beyond.get(name.split(".")[0], 0.0) + own
    extra = sorted(beyond.items(), key=lambda item: -item[1])
    return {
        "stack": stack,
        "repeats": len(runs),
        "plan": {"wall_s": round(plan_wall, 2), "cpu_s": round(plan_cpu, 2)},
        "floor": {"wall_s": round(floor_wall, 2), "cpu_s": round(floor_cpu, 2), "modules": floor_imports},
        "ratio": {"wall": round(plan_wall / floor_wall, 2), "cpu": round(plan_cpu / floor_cpu, 2)},
        "floor_collector_as_plan": {"wall_s": round(alike_wall, 2), "cpu_s": round(alike_cpu, 2)},
        "ratio_to_floor_collector_as_plan": {
            "wall": round(plan_wall / alike_wall, 2),
            "cpu": round(plan_cpu / alike_cpu, 2),
        },
        "imports_s": round(sum(own for _, own, _, _ in traced), 2),
        "imports_beyond_floor_s": round(sum(seconds for _, seconds in extra), 2),
        "largest_imports_beyond_floor": [{"package": name, "seconds": round(s, 3)} for name, s in extra[:10]],
        "target": "plan <= 1.5x its floor",
        "met": {"wall": plan_wall / floor_wall <= 1.5, "cpu": plan_cpu / floor_cpu <= 1.5},
    }
