"""Run the `mlops` console script the way a user does, in this process or in a new one.

A new process per command costs the CLI's import floor (about half a second, three for `plan`), and the
suite runs well over a hundred commands. `run` therefore calls the console script's entry point
(`mlops.cli.main`, its error boundary included) in this process, with what a new process would start from:
the command line, the working folder, the environment (`COLUMNS=200`, `NO_COLOR=1`, plus `env`), the
repository found from that folder, the consoles' width, and no cached AWS session. All of it is restored
afterwards, and so is any environment variable the command sets. `run_process` starts the real console
script, for the tests whose point is a fresh process: the installed entry point, its imports, the environment
it inherits.
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

MLOPS = str(Path(sys.executable).with_name("mlops"))
"""The installed console script (`[project.scripts]` in pyproject.toml)."""

BASE_ENV = {"COLUMNS": "200", "NO_COLOR": "1"}
"""What every run adds to the environment: a fixed width for tables, no colour codes."""


def _environment(env: dict[str, str | None] | None) -> dict[str, str]:
    merged: dict[str, str | None] = {**os.environ, **BASE_ENV, **(env or {})}
    return {key: value for key, value in merged.items() if value is not None}


def run_process(*args: str, cwd: Path, env: dict[str, str | None] | None = None) -> subprocess.CompletedProcess[str]:
    """The console script with `args` in `cwd`, in a new process; `env` adds variables (None removes one)."""
    return subprocess.run(
        [MLOPS, *args], cwd=cwd, env=_environment(env), capture_output=True, text=True, timeout=120, check=False
    )


def run(*args: str, cwd: Path, env: dict[str, str | None] | None = None) -> subprocess.CompletedProcess[str]:
    """The console script with `args` in `cwd`, in this process: exit status, stdout and stderr as a process's."""
    import mlops.cli

    out, err = io.StringIO(), io.StringIO()
    with (
        _as_a_new_process(args, cwd, _environment(env)),
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
    ):
        code = _exit_status(mlops.cli.main)
    return subprocess.CompletedProcess([MLOPS, *args], code, out.getvalue(), err.getvalue())


def _exit_status(main: Callable[[], None]) -> int:
    """The status a process running `main` would exit with."""
    try:
        main()
    except SystemExit as exited:
        if exited.code is None or isinstance(exited.code, int):
            return int(exited.code or 0)
        print(exited.code, file=sys.stderr)  # as the interpreter does with a message
        return 1
    return 0


@contextlib.contextmanager
def _as_a_new_process(args: tuple[str, ...], cwd: Path, environment: dict[str, str]) -> Iterator[None]:
    """The process state a new `mlops` process would start from, restored on the way out."""
    import boto3

    import mlops.console
    import mlops.workspace

    saved_environ, saved_cwd, saved_argv = dict(os.environ), os.getcwd(), sys.argv
    saved_root, saved_session = mlops.workspace.ROOT, boto3.DEFAULT_SESSION
    consoles = (mlops.console.console, mlops.console.errors)
    saved_widths = [console.width for console in consoles]
    try:
        _set_environment(environment)
        os.chdir(cwd)
        sys.argv = [MLOPS, *args]
        mlops.workspace.ROOT = mlops.workspace.find_root(Path.cwd()) or mlops.workspace.CHECKOUT
        boto3.DEFAULT_SESSION = None  # a new process resolves region and credentials from its own environment
        for console, stderr in zip(consoles, (False, True), strict=True):
            console.width = mlops.console._console(stderr).width  # as built at import, under this environment
        yield
    finally:
        for console, width in zip(consoles, saved_widths, strict=True):
            console.width = width
        boto3.DEFAULT_SESSION = saved_session
        mlops.workspace.ROOT = saved_root
        sys.argv = saved_argv
        os.chdir(saved_cwd)
        _set_environment(saved_environ)


def _set_environment(environment: dict[str, str]) -> None:
    """Make `os.environ` equal `environment`, key by key (never empty in between: other threads read it)."""
    for key in [key for key in os.environ if key not in environment]:
        del os.environ[key]
    os.environ.update({key: value for key, value in environment.items() if os.environ.get(key) != value})
