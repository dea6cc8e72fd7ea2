"""The `mlops` process exits without a last walk over every object it still holds.

At exit CPython runs the cyclic garbage collector over every object still alive (`Py_FinalizeEx`, CPython
3.11), a million and a half after a plan, to call finalizers that the language does not promise to call
at exit anyway (the reference's `object.__del__`: "It is not guaranteed that __del__() methods are called
for objects that still exist when the interpreter exits"). Measured on `mlops plan --stack prod` (CPython
3.11.7): 0.85 s of its 2.9 s of CPU went there. Freezing what is alive in an `atexit` callback moves it
where no collection looks, so the process ends as soon as the command is done. What the process must do
at exit is not left to a collection: `atexit` callbacks (and `weakref.finalize`'s) still run, and the
interpreter still flushes stdout and stderr (tests/cli/test_process_exit.py).
"""

from __future__ import annotations

import atexit
import gc


def skip_final_collection() -> None:
    """Freeze every object at exit, before the interpreter's last collection; once per process however often called."""
    atexit.unregister(gc.freeze)
    atexit.register(gc.freeze)
