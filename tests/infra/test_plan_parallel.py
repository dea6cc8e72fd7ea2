"""An environment's projects planned in a forked helper process: the same plan, byte for byte, as in one.

`mlops plan` forks a helper before it plans the platform (infra/plan/parallel.py). What a user relies on is
that this changes nothing but the time: the plan JSON is identical, whichever process planned which project;
a project the helper could not plan is planned in the main process; a failure before the platform's outputs
exist leaves no process waiting; and a fork happens only where it is safe.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from infra.plan.evaluate import PROJECT_ROOT, evaluate_stack
from infra.plan.parallel import (
    WORKERS_VARIABLE,
    PlannedProject,
    ProjectJob,
    ProjectWorker,
    _cores,
    others_running,
    workers_for,
)
from tests.helpers import FIXTURE_STACKS

TEMPLATE = "churn"
PROJECTS = ["churn", "team1", "team2", "team3"]

PLAN_IN_A_FRESH_PROCESS = """
import json, os, sys
from pathlib import Path
from infra.plan import evaluate

marks = Path(sys.argv[2])
planned = evaluate.evaluate_project

def marked(job, name, outputs):
    (marks / f"{name}.{os.getpid()}").touch()
    return planned(job, name, outputs)

evaluate.evaluate_project = marked
print(os.getpid())
print(json.dumps(evaluate.evaluate_stack("dev", Path(sys.argv[1])).to_dict(), sort_keys=True))
"""
"""A plan in an interpreter of its own, where nothing but the plan runs threads (so the helper is forked), that
leaves a mark per project and process: `<project>.<pid>`."""


@pytest.fixture(scope="module")
def four_projects(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture stacks with churn and three copies of it under other names (team1..team3)."""
    root = tmp_path_factory.mktemp("four-projects")
    shutil.copytree(FIXTURE_STACKS, root, dirs_exist_ok=True)
    for name in PROJECTS[1:]:
        folder = root / "projects" / name
        shutil.copytree(root / "projects" / TEMPLATE, folder, ignore=shutil.ignore_patterns("__pycache__"))
        document = folder / "project.yaml"
        document.write_text(document.read_text(encoding="utf-8").replace(f"name: {TEMPLATE}", f"name: {name}", 1))
        (folder / "data" / f"{TEMPLATE}.csv").rename(folder / "data" / f"{name}.csv")
    return root


def test_two_processes_plan_what_one_plans(
    four_projects: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(WORKERS_VARIABLE, "1")
    threads = threading.active_count()
    one = json.dumps(evaluate_stack("dev", four_projects).to_dict(), sort_keys=True)
    assert threading.active_count() == threads, "a plan leaves no thread behind (the next one may fork)"
    monkeypatch.setenv(WORKERS_VARIABLE, "2")
    done = subprocess.run(
        [sys.executable, "-c", PLAN_IN_A_FRESH_PROCESS, str(four_projects), str(tmp_path)],
        cwd=PROJECT_ROOT,
        check=True,
        capture_output=True,
        text=True,
        timeout=600,
    )
    main, two = done.stdout.splitlines()
    plan = json.loads(one)
    assert sorted(plan["outputs"]["projects"]) == PROJECTS
    assert two == one
    marks = [path.name.split(".") for path in tmp_path.iterdir()]
    assert sorted(name for name, _ in marks) == PROJECTS, "each project planned once"
    assert {pid for _, pid in marks} - {main}, "the helper planned projects"


def _fails_in_the_helper(job: ProjectJob, name: str, outputs: Mapping[str, Any]) -> PlannedProject:
    """Plans nothing in the helper process (it leaves a mark and fails); in the main process, it first waits
    until the helper has taken a project, so that the fallback is always exercised."""
    if multiprocessing.parent_process() is not None:
        (job.root / f"taken-{name}").touch()
        raise RuntimeError("the helper cannot plan")
    deadline = time.monotonic() + 120
    while not list(job.root.glob("taken-*")) and time.monotonic() < deadline:
        time.sleep(0.05)
    return [], {"planned_by": "main", **outputs}


def test_a_project_the_helper_cannot_plan_is_planned_here(tmp_path: Path) -> None:
    job = ProjectJob(tmp_path, "dev", "dev", "111111111111", "eu-west-1")
    names = [f"p{index}" for index in range(4)]
    with ProjectWorker(_fails_in_the_helper, job, names, helper=True) as worker:
        planned = worker.evaluate({"platform": "outputs"})
    taken = sorted(path.name.removeprefix("taken-") for path in tmp_path.glob("taken-*"))
    assert taken, "the helper took no project"
    assert sorted(planned) == names
    assert all(outputs == {"planned_by": "main", "platform": "outputs"} for _, outputs in planned.values())


def _reads_the_outputs(job: ProjectJob, name: str, outputs: Mapping[str, Any]) -> PlannedProject:
    (job.root / f"waiting-{name}").touch()
    return [], dict(outputs)


def test_a_failure_before_the_platform_s_outputs_leaves_no_helper_waiting(tmp_path: Path) -> None:
    job = ProjectJob(tmp_path, "dev", "dev", "111111111111", "eu-west-1")
    started = time.monotonic()
    with (
        pytest.raises(RuntimeError, match="the platform's plan failed"),
        ProjectWorker(_reads_the_outputs, job, ["p0", "p1"], helper=True),
    ):
        deadline = time.monotonic() + 120
        while not list(tmp_path.glob("waiting-*")) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert list(tmp_path.glob("waiting-*")), "the helper started a project before the outputs existed"
        raise RuntimeError("the platform's plan failed")
    assert time.monotonic() - started < 60


def test_a_second_process_only_where_a_fork_is_safe_and_pays(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(WORKERS_VARIABLE, raising=False)
    monkeypatch.setattr("infra.plan.parallel._cores", lambda: 2)
    monkeypatch.setattr("infra.plan.parallel.others_running", lambda: 0.0)
    monkeypatch.setattr("infra.plan.parallel.threading.active_count", lambda: 1)
    assert workers_for(0) == 1, "no project, nothing to help with"
    assert workers_for(1) == 2
    monkeypatch.setattr("infra.plan.parallel.threading.active_count", lambda: 2)
    assert workers_for(4) == 1, "another thread runs: a fork could copy a lock it holds"
    monkeypatch.setenv(WORKERS_VARIABLE, "2")
    assert workers_for(4) == 1, "not even when asked for"
    monkeypatch.setattr("infra.plan.parallel.threading.active_count", lambda: 1)
    monkeypatch.setattr("infra.plan.parallel.others_running", lambda: 1.0)
    assert workers_for(4) == 2, "asked for: a helper on a busy machine too (the tests do)"
    monkeypatch.delenv(WORKERS_VARIABLE)
    assert workers_for(4) == 1, "every core busy: a helper would only take turns with this process"
    monkeypatch.setattr("infra.plan.parallel.others_running", lambda: 0.0)
    monkeypatch.setattr("infra.plan.parallel._cores", lambda: 1)
    assert workers_for(4) == 1, "one core"
    monkeypatch.setenv(WORKERS_VARIABLE, "many")
    with pytest.raises(ValueError, match=f"{WORKERS_VARIABLE}='many': set it to 1"):
        workers_for(10)


def test_what_runs_now_is_read_from_the_kernel_not_the_lagging_load_average(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stat = tmp_path / "stat"
    stat.write_text("cpu  1 2 3 4\nctxt 99\nprocs_running 3\nprocs_blocked 0\n", encoding="ascii")
    monkeypatch.setattr("infra.plan.parallel.os.getloadavg", lambda: (9.0, 9.0, 9.0))
    assert others_running(stat) == 2.0, "procs_running counts this process"
    stat.write_text("procs_running 1\n", encoding="ascii")
    assert others_running(stat) == 0.0
    assert others_running(tmp_path / "absent") == 9.0, "no /proc/stat: the load average"


SHARED_LOOP = """
import asyncio, gc, time
from pathlib import Path
from infra.plan.parallel import ProjectJob, ProjectWorker

asyncio.set_event_loop(asyncio.new_event_loop())
asyncio.get_event_loop().run_until_complete(asyncio.sleep(0))  # a loop exists when the helper is forked

def collects(job, name, outputs):
    gc.collect()
    return [], dict(outputs)

with ProjectWorker(collects, ProjectJob(Path("."), "dev", "dev", "1", "r"), ["p0"], helper=True) as worker:
    worker.evaluate({})
loop = asyncio.get_event_loop()
loop.run_until_complete(loop.run_in_executor(None, time.sleep, 0.1))  # woken through the loop's wake-up pipe
print("woken")
"""


def test_the_helper_leaves_this_process_s_event_loop_working() -> None:
    """The helper inherits this process's loop, whose epoll and wake-up pipe both processes share: a collection
    in the helper must not close it, or this process's next plan waits forever."""
    done = subprocess.run(
        [sys.executable, "-c", SHARED_LOOP], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert (done.returncode, done.stdout.strip()) == (0, "woken"), done.stderr


HELPER_WAITS = """
import os, sys, time
from pathlib import Path
from infra.plan import parallel
from infra.plan.parallel import ProjectJob, ProjectWorker

marks = Path(sys.argv[1])
parallel._STALL_S = float(sys.argv[3])
parent = os.getpid()

def waits(job, name, outputs):
    if os.getpid() != parent:
        (marks / f"waiting-{name}").touch()
        dict(outputs) if sys.argv[2] == "outputs" else time.sleep(600)
    return [], {"planned_by": "main" if os.getpid() == parent else "helper"}

with ProjectWorker(waits, ProjectJob(marks, "dev", "dev", "1", "r"), ["p0", "p1"], helper=True) as worker:
    print(worker._process.pid, flush=True)
    if sys.argv[2] == "outputs":
        try:
            time.sleep(600)  # killed or interrupted meanwhile
        except KeyboardInterrupt:
            time.sleep(1)  # before the helper is stopped: time for it to print whatever it would
            raise
    print(sorted(worker.evaluate({}).items()), flush=True)
"""
"""A forking process whose helper waits: for the platform's outputs (`outputs`), or for ever (`hangs`)."""


def _start_waiting_helper(marks: Path, waits_for: str, stall_s: float = 60.0) -> tuple[subprocess.Popen[str], int]:
    started = subprocess.Popen(
        [sys.executable, "-c", HELPER_WAITS, str(marks), waits_for, str(stall_s)],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert started.stdout is not None
    helper = int(started.stdout.readline())
    deadline = time.monotonic() + 60
    while not list(marks.glob("waiting-*")) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert list(marks.glob("waiting-*")), "the helper never started a project"
    return started, helper


def _gone(pid: int, within_s: float) -> bool:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/status").read_text(encoding="ascii")
        except OSError:
            return True
        if "\nState:\tZ" in state:  # dead, waiting to be reaped by whoever adopted it
            return True
        time.sleep(0.05)
    return False


@pytest.mark.skipif(sys.platform != "linux", reason="the helper is forked on Linux only")
def test_a_killed_plan_takes_its_helper_with_it_and_releases_its_output(tmp_path: Path) -> None:
    """`timeout mlops plan | tee`: a plan killed from outside must not leave a helper holding the pipe open."""
    plan, helper = _start_waiting_helper(tmp_path, "outputs")
    plan.kill()
    plan.wait(timeout=30)
    assert _gone(helper, within_s=10), "the helper outlived the killed plan"
    assert plan.stdout is not None
    assert plan.stdout.read() == "", "the output pipe reached its end"


@pytest.mark.skipif(sys.platform != "linux", reason="the helper is forked on Linux only")
def test_ctrl_c_during_a_plan_stops_the_helper_without_its_traceback(tmp_path: Path) -> None:
    plan, helper = _start_waiting_helper(tmp_path, "outputs")
    os.killpg(plan.pid, signal.SIGINT)  # what the terminal does: the whole foreground group
    _, errors = plan.communicate(timeout=60)
    assert "KeyboardInterrupt" in errors, "the parent was interrupted"
    assert "mlops-plan-projects" not in errors, errors  # the helper leaves Ctrl-C to the parent
    assert _gone(helper, within_s=10)


@pytest.mark.skipif(sys.platform != "linux", reason="the helper is forked on Linux only")
def test_a_helper_that_hangs_is_stopped_and_its_projects_planned_here(tmp_path: Path) -> None:
    plan, helper = _start_waiting_helper(tmp_path, "hangs", stall_s=1.0)
    output, errors = plan.communicate(timeout=60)
    assert plan.returncode == 0, errors
    assert output.splitlines()[-1] == "[('p0', ([], {'planned_by': 'main'})), ('p1', ([], {'planned_by': 'main'}))]"
    assert _gone(helper, within_s=10)


def test_a_cgroup_cpu_quota_caps_the_cores(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("infra.plan.parallel.os.sched_getaffinity", lambda _: {0, 1, 2, 3})
    quota = tmp_path / "cpu.max"
    quota.write_text("100000 100000\n", encoding="ascii")
    assert _cores(quota) == 1, "a one-CPU container: no helper"
    quota.write_text("250000 100000\n", encoding="ascii")
    assert _cores(quota) == 2
    quota.write_text("max 100000\n", encoding="ascii")
    assert _cores(quota) == 4
    assert _cores(tmp_path / "absent") == 4


def test_without_the_fork_s_primitives_everything_is_planned_here(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_semaphores(method: str) -> None:
        raise OSError(38, "Function not implemented")  # sem_open in a sandbox without /dev/shm

    monkeypatch.setattr("infra.plan.parallel.multiprocessing.get_context", no_semaphores)
    job = ProjectJob(Path("."), "dev", "dev", "1", "r")
    for helper in (False, True):
        with ProjectWorker(lambda _job, name, outputs: ([], {"name": name}), job, ["a", "b"], helper) as worker:
            assert worker.evaluate({}) == {"a": ([], {"name": "a"}), "b": ([], {"name": "b"})}
