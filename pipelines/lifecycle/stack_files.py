"""Read and pin the served model version in a project's file: one line changes, under a lock, or nothing does.

A project's pin is `environments.<env>.serving.modelPackageArn` in `projects/<name>/project.yaml` (its team owns
it; the platform's stack files never change on a promotion). A pin edits the text of the file where ruamel.yaml's
round-trip parser locates `modelPackageArn` (or, before the first pin, inserts one line at the indentation of the
`serving` keys), so comments, quoting, indentation and flow lists stay byte for byte. The edit is checked by
reading the new text back (the same document but for the pin) and by the project's view of the environment's
validation, then written atomically. A pin holds an exclusive lock on the project file and compares the pin it
finds with the one its caller read before (compare-and-swap), so concurrent promotions never lose one.
"""

from __future__ import annotations

import errno
import fcntl
import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap

from kernel import StackConfig, parse_settings, stack_file
from kernel.loader import read_stack_file
from kernel.projects import PROJECT_FILE, Project, load_project, projects_dir
from pipelines.lifecycle import LifecycleError

SERVING_KEY = "serving"
PACKAGE_KEY = "modelPackageArn"
ROLLBACK_NOTE = "rolled back from version {version}"
"""The comment a rollback leaves on the pin line, so that running it again does not roll back twice."""
_NOTE = re.compile(r"rolled back from version (\d+)")


class StackFileBusyError(LifecycleError):
    """Another promotion or rollback holds the stack file's lock."""


class PinChangedError(LifecycleError):
    """The pin changed since the caller read it; nothing was written."""


@dataclass(frozen=True)
class Pin:
    """What a stack file pins, and the rollback it came from (None when it was promoted)."""

    arn: str | None
    rolled_back_from: int | None = None


def pinned_package(root: Path, stack: str, project: str) -> str | None:
    """The model package ARN `project` serves in `stack`, or None before its first promotion there."""
    return _view(root, stack, load_project(root, project)).serving.model_package_arn


def read_pin(root: Path, stack: str, project: str) -> Pin:
    """The pin of `project` in `stack` and the rollback note on its line, read from the validated file."""
    arn = pinned_package(root, stack, project)
    path = project_file(root, project)
    serving = _serving(_load(path.read_text(encoding="utf-8")), _environment(root, stack))
    comment = _comment(serving, PACKAGE_KEY) if serving is not None and PACKAGE_KEY in serving else ""
    note = _NOTE.search(comment)
    return Pin(arn, int(note.group(1)) if note else None)


def pin_package(
    root: Path, stack: str, project: str, arn: str, *, expected: str | None, note: str | None = None
) -> bool:
    """Pin `arn` for `project` in `stack` if it still pins `expected`; False when it already pins `arn`.

    `note` is written as the pin line's comment (a rollback's); a promotion passes none and drops
    any. Raises `StackFileBusyError` while another pin holds the lock, `PinChangedError` when the file pins
    neither `expected` nor `arn`, and `ConfigError` (file untouched) when the config refuses the pin.
    """
    path = project_file(root, project)
    with stack_file_lock(path):
        current = read_pin(root, stack, project)
        if current.arn == arn and (note is None or current.rolled_back_from is not None):
            return False
        if current.arn != expected:
            raise PinChangedError(
                f"{path.name} of {project} changed while this command ran: it now pins {current.arn or 'nothing'} "
                f"in {stack}, not {expected or 'nothing'}; nothing was written. Re-run to act on the new pin"
            )
        text = path.read_text(encoding="utf-8")
        updated = pinned_text(text, arn, note, _environment(root, stack))
        _write_checked(root, stack, project, updated)
    return True


def project_file(root: Path, project: str) -> Path:
    """The file a project's pins are written in."""
    return projects_dir(root) / project / PROJECT_FILE


def pinned_text(text: str, arn: str, note: str | None = None, environment: str = "staging") -> str:
    """`text` with `environments.<environment>.serving.modelPackageArn` set to `arn`: one line replaced or inserted."""
    document = _load(text)
    environments = document.get("environments") if isinstance(document, CommentedMap) else None
    config = environments.get(environment) if isinstance(environments, CommentedMap) else None
    if not isinstance(config, CommentedMap):
        raise LifecycleError(f"the project file has no `environments.{environment}` mapping to pin a model in")
    lines = text.splitlines(keepends=True)
    serving = config.get(SERVING_KEY)
    comment = f"  # {note}" if note else ""
    if isinstance(serving, CommentedMap) and PACKAGE_KEY in serving:
        line, column = serving.lc.key(PACKAGE_KEY)
        if _one_line_value(lines[line], serving[PACKAGE_KEY]):
            lines[line] = f"{lines[line][:column]}{PACKAGE_KEY}: {arn}{comment}{_ending(lines[line])}"
            return _checked("".join(lines), document, arn, environment)
    elif isinstance(serving, CommentedMap) and serving and not serving.fa.flow_style():
        line, column = serving.lc.key(next(iter(serving)))
        lines.insert(line, f"{' ' * column}{PACKAGE_KEY}: {arn}{comment}{_ending(lines[line])}")
        return _checked("".join(lines), document, arn, environment)
    elif serving is None and SERVING_KEY not in config and config and not config.fa.flow_style():
        line, column = config.lc.key(next(iter(config)))
        step = max(2, column - environments.lc.key(environment)[1]) if environments is not None else 2
        block = f"{' ' * column}{SERVING_KEY}:\n{' ' * (column + step)}{PACKAGE_KEY}: {arn}{comment}\n"
        lines.insert(line, block)
        return _checked("".join(lines), document, arn, environment)
    raise LifecycleError(
        f"cannot pin a model in this layout of environments.{environment}.{SERVING_KEY}; "
        f"write `{PACKAGE_KEY}: {arn}` under it by hand"
    )


@contextmanager
def stack_file_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on `path` (a `.<name>.lock` file beside it), or raise `StackFileBusyError` at once.

    `flock` locks die with their process, so a crashed promotion never leaves the file locked; the
    lock file is removed on release, and a lock taken on a file another holder just removed is retried.
    """
    lock_path = path.with_name(f".{path.name}.lock")
    while True:
        handle = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            os.close(handle)
            if error.errno not in (errno.EAGAIN, errno.EACCES):
                raise
            holder = _holder(lock_path)
            raise StackFileBusyError(
                f"{path.name} is locked by another promotion or rollback{holder}; "
                "nothing was written. Re-run when it has finished"
            ) from None
        try:
            if os.path.exists(lock_path) and os.stat(lock_path).st_ino == os.fstat(handle).st_ino:
                break
        except FileNotFoundError:
            pass
        os.close(handle)  # the holder removed this lock file as we opened it: take the new one
    try:
        os.ftruncate(handle, 0)
        os.write(handle, f"{os.getpid()}\n".encode())
        yield
    finally:
        os.remove(lock_path)
        os.close(handle)


def _holder(lock_path: Path) -> str:
    try:
        pid = lock_path.read_text(encoding="utf-8").strip()
    except OSError:
        return ""
    return f" (process {pid})" if pid.isdigit() else ""


def _write_checked(root: Path, stack: str, project: str, text: str) -> None:
    """Validate `text` as the project's file in `stack`'s view, then replace the file atomically.

    On any error the file stays untouched.
    """
    path = project_file(root, project)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        _view(root, stack, load_project(root, project, file=Path(temporary)))  # raises ConfigError
        os.chmod(temporary, path.stat().st_mode & 0o777)
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


def _view(root: Path, stack: str, project: Project) -> StackConfig:
    path = stack_file(stack, root)
    return parse_settings(read_stack_file(path), path.name, project)


def _environment(root: Path, stack: str) -> str:
    """The environment of `stack` (its stack file's), where the project's pin for it is written."""
    return str(read_stack_file(stack_file(stack, root)).get("mlops:environment", stack))


def _load(text: str) -> Any:
    return YAML().load(text)


def _serving(document: Any, environment: str) -> CommentedMap | None:
    environments = document.get("environments") if isinstance(document, CommentedMap) else None
    config = environments.get(environment) if isinstance(environments, CommentedMap) else None
    serving = config.get(SERVING_KEY) if isinstance(config, CommentedMap) else None
    return serving if isinstance(serving, CommentedMap) else None


def _comment(mapping: CommentedMap, key: str) -> str:
    """The end-of-line comment after `key`'s value, as ruamel.yaml keeps it."""
    tokens = mapping.ca.items.get(key) or []
    return "".join(token.value for token in tokens if token is not None and hasattr(token, "value"))


def _one_line_value(line: str, value: Any) -> bool:
    """Whether `line` holds the whole scalar `value` (never folded onto the next line)."""
    rest = line.split(":", 1)[1] if ":" in line else ""
    rest = rest.split(" #", 1)[0].strip().strip("'\"")
    return value is None or rest == str(value)


def _ending(line: str) -> str:
    return "\r\n" if line.endswith("\r\n") else "\n"


def _checked(text: str, before: Any, arn: str, environment: str) -> str:
    """`text` if it reads back as `before` with only the pin changed; LifecycleError otherwise."""
    after = _load(text)
    expected = _plain(before)
    config = expected["environments"][environment]
    config[SERVING_KEY] = {**(config.get(SERVING_KEY) or {}), PACKAGE_KEY: arn}
    if _plain(after) != expected:
        raise LifecycleError("pinning would change more than the pin line; edit the project file by hand")
    return text


def _plain(node: Any) -> Any:
    """A ruamel.yaml tree as plain data (ordering of keys ignored), for comparing documents."""
    if isinstance(node, dict):
        return {str(key): _plain(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_plain(value) for value in node]
    return node if node is None or isinstance(node, bool | int | float) else str(node)
