"""Compute an expensive, deterministic session value once per test run, whatever the number of xdist workers.

`make test` runs two workers; each holds its own session fixtures, so each would plan the fixture stacks, run the
parity chains and the sufficiency suite again. Here the first worker to ask computes the value and leaves it,
pickled, in a folder the controller makes for this run alone (removed when the run ends: nothing outlives it, so
every run computes from the code as it is). The other workers wait on a file lock and read it. Without xdist the
value is computed in-process. A failure is not shared: the next worker to ask computes again and fails on its own.
"""

from __future__ import annotations

import fcntl
import os
import pickle
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

T = TypeVar("T")
_KEY = "mlops_shared_dir"
_folder: dict[str, Path | None] = {"path": None}


def configure(config: pytest.Config) -> None:
    """On the controller of an xdist run, make the run's shared folder; on a worker, find it."""
    worker_input: dict[str, Any] | None = getattr(config, "workerinput", None)
    if worker_input is not None:
        shared = worker_input.get(_KEY)
        _folder["path"] = Path(shared) if shared else None
    elif getattr(config.option, "numprocesses", None):
        _folder["path"] = Path(tempfile.mkdtemp(prefix="mlops-tests-"))


def configure_node(node: Any) -> None:
    """Hand the folder to each worker (xdist's `pytest_configure_node`)."""
    if _folder["path"] is not None:
        node.workerinput[_KEY] = str(_folder["path"])


def unconfigure(config: pytest.Config) -> None:
    """The controller removes the folder when the run ends."""
    if getattr(config, "workerinput", None) is None and _folder["path"] is not None:
        shutil.rmtree(_folder["path"], ignore_errors=True)
        _folder["path"] = None


def shared_folder() -> Path | None:
    """This run's folder shared by its workers (None outside xdist)."""
    return _folder["path"]


def once(name: str, compute: Callable[[], T]) -> T:
    """`compute()`, computed by one worker of this run and read by the others."""
    folder = shared_folder()
    if folder is None:
        return compute()
    result = folder / f"{name}.pickle"
    with (folder / f"{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, also if compute() raises
        if result.exists():
            value: T = pickle.loads(result.read_bytes())  # written by this run's own worker
            return value
        value = compute()
        partial = result.with_suffix(f".{os.getpid()}")
        partial.write_bytes(pickle.dumps(value))
        partial.replace(result)
        return value
