"""Plan an environment's projects on two processes, once there are enough projects to pay for a second one.

A project's plan is about 120 resources under Pulumi's mock runtime, each costing milliseconds of Python
(its properties' futures and callbacks), so an environment's plan grows by ~0.5 s per project. Projects
are independent of each other: each reads only the platform's outputs. So past `MIN_PROJECTS`, one helper
process, started (`spawn`, never `fork`: Pulumi's runtime holds threads and an event loop) before the
platform is planned so that its imports overlap that work, takes projects from the same queue as this
process. Each project is planned by exactly one of them, and the results are put back in the projects'
order, so the plan is the same, byte for byte, as a plan in one process (tests/infra/test_plan_parallel.py).
If the helper fails in any way, this process plans what it left: the same result, or the same error.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing.process import BaseProcess
from pathlib import Path
from types import TracebackType
from typing import Any

from kernel.plan import PlannedResource

MIN_PROJECTS = 3
"""From how many projects a second process pays off (its start and imports cost about two projects)."""
WORKERS_VARIABLE = "MLOPS_PLAN_WORKERS"
"""`1` plans every project in this process; `2` always uses the helper process (tests set it)."""
_RESULT_WAIT_S = 0.5

PlannedProject = tuple[list[PlannedResource], dict[str, Any]]
"""A project stack's resources and outputs."""
Evaluate = Callable[["ProjectJob", str], PlannedProject]


@dataclass(frozen=True)
class ProjectJob:
    """What planning any project of one environment needs: where, which stack, and the platform's outputs."""

    root: Path
    stack: str
    environment: str
    account_id: str
    region: str
    platform_outputs: dict[str, Any]


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def workers_for(projects: int) -> int:
    """How many processes plan `projects` projects: 2 when there are enough of them and two cores, else 1."""
    forced = os.environ.get(WORKERS_VARIABLE, "").strip()
    if forced in {"1", "2"}:
        return int(forced)
    if forced:
        raise ValueError(
            f"{WORKERS_VARIABLE}={forced!r}: set it to 1 (one process) or 2 (a helper process), or unset it"
        )
    return 2 if projects >= MIN_PROJECTS and _cores() >= 2 else 1


class ProjectWorker:
    """An optional helper process that plans projects; a context manager that always stops it."""

    def __init__(self, evaluate: Evaluate, helper: bool) -> None:
        self._evaluate = evaluate
        self._process: BaseProcess | None = None
        if helper:
            context = multiprocessing.get_context("spawn")
            self._setup: Any = context.Queue()
            self._tasks: Any = context.Queue()
            self._results: Any = context.Queue()
            self._process = context.Process(
                target=_serve,
                args=(evaluate, self._setup, self._tasks, self._results),
                daemon=True,
                name="mlops-plan-projects",
            )
            self._process.start()

    @classmethod
    def for_projects(cls, evaluate: Evaluate, projects: int) -> ProjectWorker:
        """A worker planning projects with `evaluate` (a module-level function), helped when `workers_for` says so."""
        return cls(evaluate, helper=workers_for(projects) == 2)

    def __enter__(self) -> ProjectWorker:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self._process is not None:
            if kind is None:
                self._process.join(timeout=5)
            if self._process.is_alive():
                self._process.terminate()
                self._process.join()
            for channel in (self._setup, self._tasks, self._results):
                channel.close()
                channel.join_thread()

    def evaluate(self, job: ProjectJob, names: Sequence[str]) -> dict[str, PlannedProject]:
        """Every project of `names` planned once, here or in the helper; raises what planning it here raises."""
        evaluate = self._evaluate
        if self._process is None:
            return {name: evaluate(job, name) for name in names}
        self._setup.put(job)
        for name in names:
            self._tasks.put(name)
        self._tasks.put(None)  # one end marker each: whoever takes one stops taking projects
        self._tasks.put(None)
        planned: dict[str, PlannedProject] = {}
        while (name := self._tasks.get()) is not None:
            planned[name] = evaluate(job, name)
        planned |= self._collect(set(names) - set(planned))
        for name in names:  # what the helper could not plan (it failed, or died): here, with the same outcome
            if name not in planned:
                planned[name] = evaluate(job, name)
        return planned

    def _collect(self, expected: set[str]) -> dict[str, PlannedProject]:
        """The helper's results until it has answered for `expected` or stopped; failed projects left out."""
        collected: dict[str, PlannedProject] = {}
        answered: set[str] = set()
        while answered < expected:
            try:
                name, result = self._results.get(timeout=_RESULT_WAIT_S)
            except queue.Empty:
                if self._process is None or not self._process.is_alive():
                    break
                continue
            answered.add(name)
            if result is not None:
                collected[name] = result
        return collected


def _serve(evaluate: Evaluate, setup: Any, tasks: Any, results: Any) -> None:
    """The helper process: plan projects from `tasks` until the end marker; None for a project that failed.

    `evaluate` arrives by name (pickled as its module and qualified name), so the helper imports that module
    itself, while this process plans the platform.
    """
    job: ProjectJob = setup.get()
    while (name := tasks.get()) is not None:
        try:
            results.put((name, evaluate(job, name)))
        except Exception:  # the parent plans it again, and raises the error where errors are reported
            results.put((name, None))
