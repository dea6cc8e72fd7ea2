"""`mlops` exits without the interpreter's last collection over every object (mlops/process_exit.py).

Each case is its own interpreter, since what is tested is how one ends: a reference cycle whose finalizer
leaves a mark tells whether the collector walked the objects still alive at exit, and a callback registered
earlier tells that the process's other `atexit` work still runs.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

PROGRAM = """
import atexit, sys
from pathlib import Path

mark = Path(sys.argv[1])
atexit.register(lambda: mark.with_suffix(".atexit").write_text("ran"))
if sys.argv[2] == "skip":
    from mlops.process_exit import skip_final_collection
    skip_final_collection()
    skip_final_collection()

class Cycle:
    def __init__(self) -> None:
        self.me = self
    def __del__(self) -> None:
        mark.write_text("collected")

Cycle()
print("the command's output", end="")  # buffered: written when the interpreter flushes stdout at exit
"""


def _exit_marks(tmp_path: Path, mode: str) -> tuple[bool, bool, str]:
    """Whether the cycle was collected, whether the earlier `atexit` callback ran, and the process's output."""
    mark = tmp_path / mode / "cycle"
    mark.parent.mkdir()
    done = subprocess.run(
        [sys.executable, "-c", PROGRAM, str(mark), mode], check=True, capture_output=True, text=True, timeout=120
    )
    return mark.exists(), mark.with_suffix(".atexit").exists(), done.stdout


@pytest.mark.parametrize(("mode", "collected"), [("keep", True), ("skip", False)])
def test_the_process_ends_without_a_last_collection(tmp_path: Path, mode: str, collected: bool) -> None:
    assert _exit_marks(tmp_path, mode) == (collected, True, "the command's output")
