"""The garbage collector paused while a plan is evaluated (infra/plan/collector.py).

What a user relies on: the plan is the same, byte for byte, with or without the pause; no collection runs
during a plan (the time it saves); and the process's collector is left as it was found, even after a failure.
"""

from __future__ import annotations

import contextlib
import gc
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from infra.plan import evaluate
from infra.plan.collector import collector_paused
from infra.plan.evaluate import evaluate_stack
from kernel.plan import Plan
from tests.helpers import FIXTURE_STACKS


@contextlib.contextmanager
def _collections(watching: Callable[[], bool] = lambda: True) -> Iterator[list[int]]:
    """The generation of every collection that starts inside the block while `watching()` says so."""
    started: list[int] = []

    def record(phase: str, info: dict[str, Any]) -> None:
        if phase == "start" and watching():
            started.append(int(info["generation"]))

    gc.callbacks.append(record)
    try:
        yield started
    finally:
        gc.callbacks.remove(record)


def _cycles(count: int) -> None:
    """Garbage that only the cyclic collector reclaims: `count` self-referencing lists."""
    for _ in range(count):
        cycle: list[Any] = []
        cycle.append(cycle)


def test_a_plan_is_the_same_without_the_pause(plans: dict[str, Plan], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(evaluate, "collector_paused", contextlib.nullcontext)
    collected = evaluate_stack("dev", FIXTURE_STACKS)
    assert json.dumps(collected.to_dict(), sort_keys=True) == json.dumps(plans["dev"].to_dict(), sort_keys=True)


def test_no_collection_runs_while_a_program_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    running: list[str] = []
    program = evaluate._evaluate

    def watched(*arguments: Any) -> evaluate.RecordingMonitor:
        running.append(str(arguments[1]))
        try:
            return program(*arguments)
        finally:
            running.clear()

    monkeypatch.setattr(evaluate, "_evaluate", watched)
    with _collections(lambda: bool(running)) as started:
        planned = evaluate_stack("dev", FIXTURE_STACKS, projects=[], platform=True)
    assert planned.resources, "the platform's plan registers resources"
    assert started == []
    assert gc.isenabled()
    assert gc.get_freeze_count() == 0


def test_the_collector_resumes_after_a_failure() -> None:
    with pytest.raises(RuntimeError, match="the program failed"), collector_paused():
        assert not gc.isenabled()
        raise RuntimeError("the program failed")
    assert gc.isenabled()
    assert gc.get_freeze_count() == 0
    with _collections() as started:
        _cycles(10 * gc.get_threshold()[0])
    assert started, "the collector runs again"


def test_a_pause_inside_a_pause_leaves_the_outer_one_paused(monkeypatch: pytest.MonkeyPatch) -> None:
    """The inner pause touches nothing: no freeze, no unfreeze, no enable (its frozen objects are the outer's).

    Asserted by the calls, not by `gc.get_freeze_count()`: another thread of the worker (the parity run, the
    emulator) may free a frozen object meanwhile, and the count drops without any call."""
    with collector_paused():
        calls: list[str] = []
        for name in ("freeze", "unfreeze", "enable", "disable"):
            monkeypatch.setattr(gc, name, lambda name=name: calls.append(name))
        with collector_paused():
            pass
        monkeypatch.undo()
        assert not gc.isenabled()
        assert calls == []
        with _collections() as started:
            _cycles(10 * gc.get_threshold()[0])
        assert started == []
    assert gc.isenabled()


def test_a_collector_the_caller_turned_off_stays_off() -> None:
    gc.disable()
    try:
        with collector_paused():
            assert gc.get_freeze_count() == 0
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_resuming_walks_none_of_the_objects_the_plan_made() -> None:
    with _collections(gc.isenabled) as started:
        with collector_paused():
            made: list[list[int]] = [[] for _ in range(10 * gc.get_threshold()[0])]
        more: list[list[int]] = [[] for _ in range(10)]
    assert started == [], "a collection of the plan's objects when the collector resumed"
    assert len(made) > len(more)
