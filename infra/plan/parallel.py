"""Plan an environment's projects in a second process, forked before Pulumi's runtime starts.

The platform's plan and each project's take about equal parts of `mlops plan`, and a project reads only the
platform's outputs. So, on two cores, a helper process is forked before the platform is planned: it inherits
every module already imported (a spawned one would import them again, about 2 s) and starts on the first
project at once, while this process plans the platform. The project program runs in the helper up to its
`StackReference` to the platform, and everything that does not need the platform's outputs (importing the
project's modules, building its components, registering what depends on no output) overlaps the platform's
plan; the reference's answer waits until this process sends the outputs. Then both take projects from the
same queue. Each project is planned by exactly one of them, and the results are put back in the projects'
order, so the plan is the same, byte for byte, as a plan in one process (tests/infra/test_plan_parallel.py).
If the helper fails in any way, this process plans what it left: the same result, or the same error.

A fork copies only the forking thread, so one is made only while this process runs no other thread
(`threading.active_count() == 1`): no lock another thread holds can be copied held. A program's Pulumi
runtime leaves threads (its executor's) and an event loop behind, which is why the fork happens before the
platform's plan, why each plan shuts its executor down (infra/plan/evaluate.py), and why the helper makes
an event loop of its own rather than touch the one it inherited, whose epoll and wake-up pipe it shares
with this process. Where a fork is not safe, or not available, or there is one core, all is planned here.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import multiprocessing
import os
import queue
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from types import TracebackType
from typing import Any

from kernel.plan import PlannedResource

WORKERS_VARIABLE = "MLOPS_PLAN_WORKERS"
"""`1` plans every project in this process; `2` uses the helper wherever a fork is safe (tests set it)."""
_RESULT_WAIT_S = 0.5
_STALL_S = 60.0
"""How long the helper may go without answering for a project (one takes about half a second) before this
process stops it and plans what it left: a helper that hangs, for whatever reason, never hangs the plan."""
_PR_SET_PDEATHSIG = 1
"""prctl(2): the signal the kernel sends this process when the thread that forked it ends."""
_INHERITED_LOOPS: list[asyncio.AbstractEventLoop] = []
"""This process's event loop at each fork, referenced here before the fork so that the helper's copy stays
referenced too (since Python 3.12 a fork child's policy forgets its loop): never run and never closed in the
helper, whose epoll instance and wake-up pipe are this process's too. Closing it (as a collected, unclosed loop
does) would take the pipe out of this process's epoll, and this process's loop would never wake again."""

PlannedProject = tuple[list[PlannedResource], dict[str, Any]]
"""A project stack's resources and outputs."""
Evaluate = Callable[["ProjectJob", str, Mapping[str, Any]], PlannedProject]
"""Plans one project of a job, given the platform's outputs (which it may read only when it needs them)."""


@dataclass(frozen=True)
class ProjectJob:
    """What planning any project of one environment needs besides the platform's outputs: where, which stack."""

    root: Path
    stack: str
    environment: str
    account_id: str
    region: str


def _cores(quota: Path = Path("/sys/fs/cgroup/cpu.max")) -> int:
    """The CPUs this process may use: its affinity, capped by a cgroup v2 CPU quota (a container's limit)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    with contextlib.suppress(OSError, ValueError, IndexError):
        limit, period = quota.read_text(encoding="ascii").split()[:2]
        if limit != "max":
            cores = min(cores, max(int(int(limit) // int(period)), 1))
    return cores


def fork_is_safe() -> bool:
    """A fork copies only this thread: safe where no other thread runs, on a platform whose fork is sound."""
    return (
        sys.platform == "linux" and "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1
    )


def others_running(stat: Path = Path("/proc/stat")) -> float:
    """How many other tasks are running now: the kernel's `procs_running` less this process, else the load average.

    `procs_running` (proc(5)) is what runs at this instant. The one-minute load average lags by a minute, and
    counts this process's own work just before (a benchmark's or a script's previous plan) as another's.
    """
    try:
        for line in stat.read_text(encoding="ascii").splitlines():
            if line.startswith("procs_running "):
                return float(max(int(line.split()[1]) - 1, 0))
    except (OSError, ValueError):
        pass
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0


def _a_core_is_idle() -> bool:
    """Whether a core besides this process's is free: two or more, and fewer others running than cores less one."""
    return _cores() >= 2 and others_running() < _cores() - 1


def workers_for(projects: int) -> int:
    """How many processes plan `projects` projects: 2 with a project, an idle core and a safe fork, else 1.

    On a machine whose cores are all busy a helper only takes turns with this process, and costs its share
    of the projects' imports again (measured: 0.3 to 0.5 s more wall time at a load average of 6 on 2 cores).
    """
    forced = os.environ.get(WORKERS_VARIABLE, "").strip()
    if forced and forced not in {"1", "2"}:
        raise ValueError(
            f"{WORKERS_VARIABLE}={forced!r}: set it to 1 (one process) or 2 (a helper process), or unset it"
        )
    wanted = int(forced) if forced else (2 if _a_core_is_idle() else 1)
    return 2 if wanted == 2 and projects >= 1 and fork_is_safe() else 1


class _Queue:
    """The projects' names, each taken once by whichever process asks first (a counter shared by the fork)."""

    def __init__(self, names: Sequence[str], counter: Any) -> None:
        self._names: list[str] = list(names)
        self._counter = counter

    def take(self, leave: int = 0) -> str | None:
        """The next name, unless no more than `leave` are left (they are for the other process)."""
        with self._counter.get_lock():
            index: int = self._counter.value
            if index >= len(self._names) - leave:
                return None
            self._counter.value = index + 1
        return self._names[index]

    def __iter__(self) -> Iterator[str]:
        while (name := self.take()) is not None:
            yield name


class _Awaited(Mapping[str, Any]):
    """The platform's outputs in the helper: received from the forking process the first time they are read."""

    def __init__(self, source: Connection) -> None:
        self._source = source
        self._outputs: dict[str, Any] | None = None
        self._lock = threading.Lock()  # read from the runtime's executor threads

    def _received(self) -> dict[str, Any]:
        with self._lock:
            if self._outputs is None:
                self._outputs = self._source.recv()  # EOFError when the forking process stopped: the project fails
            return self._outputs

    def __getitem__(self, key: str) -> Any:
        return self._received()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._received())

    def __len__(self) -> int:
        return len(self._received())


class ProjectWorker:
    """An optional forked helper that plans projects; a context manager that always stops it."""

    def __init__(self, evaluate: Evaluate, job: ProjectJob, names: Sequence[str], helper: bool) -> None:
        """Fork the helper now (when `helper`), before this process plans the platform.

        Where the fork's primitives cannot be had (no `fork` start method, no POSIX semaphores in a sandbox),
        everything is planned in this process.
        """
        self._evaluate, self._job, self._names = evaluate, job, list(names)
        self._process: BaseProcess | None = None
        if helper:
            with contextlib.suppress(OSError, ValueError):
                self._start_helper()

    def _start_helper(self) -> None:
        context = multiprocessing.get_context("fork")
        self._queue = _Queue(self._names, context.Value("i", 0))
        outputs_in, self._outputs = context.Pipe(duplex=False)
        self._results: Any = context.Queue()  # its feeder thread, in the helper, never blocks the helper
        loop = getattr(getattr(asyncio.get_event_loop_policy(), "_local", None), "_loop", None)
        if loop is not None and loop not in _INHERITED_LOOPS:  # referenced before the fork: the helper inherits it
            _INHERITED_LOOPS.append(loop)
        self._process = context.Process(
            target=_serve,
            args=(self._evaluate, self._job, self._queue, outputs_in, self._outputs, self._results, os.getpid()),
            daemon=True,
            name="mlops-plan-projects",
        )
        self._process.start()
        outputs_in.close()  # the helper's end, closed here; the helper closes its copy of ours: EOF if we stop

    @classmethod
    def for_projects(cls, evaluate: Evaluate, job: ProjectJob, names: Sequence[str]) -> ProjectWorker:
        """A worker planning `names` with `evaluate`, helped by a forked process when `workers_for` says so."""
        return cls(evaluate, job, names, helper=workers_for(len(names)) == 2)

    def __enter__(self) -> ProjectWorker:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self._process is not None:
            self._outputs.close()  # a helper still waiting for the platform's outputs stops waiting
            if kind is None:
                self._process.join(timeout=5)
            if self._process.is_alive():
                self._process.terminate()
                self._process.join()
            self._results.close()
            self._results.join_thread()
            self._process.close()

    def evaluate(self, platform_outputs: dict[str, Any]) -> dict[str, PlannedProject]:
        """Every project planned once, here or in the helper; raises what planning it here raises."""
        evaluate, job = self._evaluate, self._job
        if self._process is None:
            return {name: evaluate(job, name, platform_outputs) for name in self._names}
        with contextlib.suppress(OSError):  # the helper is gone: whatever it took is planned here below
            self._outputs.send(platform_outputs)
        planned: dict[str, PlannedProject] = {}
        while (name := self._queue.take(leave=1)) is not None:  # the first costs this process the projects' imports
            planned[name] = evaluate(job, name, platform_outputs)
        planned |= self._collect(set(self._names) - set(planned))
        for name in self._names:  # what the helper could not plan (it failed, or died): here, with the same outcome
            if name not in planned:
                planned[name] = evaluate(job, name, platform_outputs)
        return planned

    def _collect(self, expected: set[str]) -> dict[str, PlannedProject]:
        """The helper's results until it has answered for `expected`, stopped, or stalled; failed projects left out."""
        collected: dict[str, PlannedProject] = {}
        answered: set[str] = set()
        last_answer = time.monotonic()
        while answered < expected:
            try:
                name, result = self._results.get(timeout=_RESULT_WAIT_S)
            except queue.Empty:
                if self._process is None or not self._process.is_alive():
                    break
                if time.monotonic() - last_answer > _STALL_S:  # hung: stop it; what it left is planned here
                    self._process.terminate()
                    break
                continue
            last_answer = time.monotonic()
            answered.add(name)
            if result is not None:
                collected[name] = result
        return collected


def _serve(  # noqa: PLR0917 - the helper's entry point: its arguments come from `Process(args=...)`
    evaluate: Evaluate,
    job: ProjectJob,
    names: _Queue,
    outputs: Connection,
    parents_end: Connection,
    results: Any,
    parent: int,
) -> None:
    """The helper process: plan projects from `names` until none is left; None for a project that failed.

    It never outlives the process that forked it (the kernel kills it when that one ends, however it ends), and
    leaves Ctrl-C to it: the terminal's SIGINT reaches both, and the parent, which reports errors, stops it.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with(parent)
    parents_end.close()  # our copy of the parent's end: with it closed, the parent's exit is EOF on `outputs`
    asyncio.get_event_loop_policy().set_event_loop(asyncio.new_event_loop())  # the inherited one: never touched
    platform_outputs = _Awaited(outputs)
    for name in names:
        try:
            result: PlannedProject | None = evaluate(job, name, platform_outputs)
        except Exception:  # the parent plans it again, and raises the error where errors are reported
            result = None
        results.put((name, result))


def _die_with(parent: int) -> None:
    """Have the kernel kill this process when `parent` ends (Linux prctl); exit now if it already has."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:
        os._exit(0)
