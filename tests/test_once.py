"""tests/once.py: a session value computed by one xdist worker is what every worker reads, and failures are not shared."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import once


@pytest.fixture
def shared(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A run's shared folder, as the controller hands it to its workers."""
    monkeypatch.setitem(once._folder, "path", tmp_path)
    return tmp_path


def test_the_second_worker_reads_what_the_first_computed(shared: Path) -> None:
    calls: list[int] = []

    def compute() -> dict[str, list[int]]:
        calls.append(1)
        return {"plan": [1, 2, 3]}

    assert once.once("value", compute) == {"plan": [1, 2, 3]}
    assert once.once("value", compute) == {"plan": [1, 2, 3]}
    assert len(calls) == 1
    assert (shared / "value.pickle").is_file()


def test_a_failure_is_computed_again_by_the_next_worker(shared: Path) -> None:
    def broken() -> int:
        raise RuntimeError("the simulator failed")

    with pytest.raises(RuntimeError, match="the simulator failed"):
        once.once("value", broken)
    assert once.once("value", lambda: 7) == 7


def test_without_xdist_nothing_is_shared(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(once._folder, "path", None)
    calls: list[int] = []
    once.once("value", lambda: calls.append(1))
    once.once("value", lambda: calls.append(1))
    assert len(calls) == 2
