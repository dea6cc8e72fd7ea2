"""Read and pin the served model version in a stack file: one line changes, under a lock, or nothing does.

A pin edits the text of the file where ruamel.yaml's round-trip parser locates `modelPackageArn`
(or, before the first pin, inserts one line at the indentation of the `mlops:serving` keys), so
comments, quoting, indentation and flow lists stay byte for byte. The edit is checked by reading the
new text back (the same document but for the pin) and by the stack file's own validation, then
written atomically. A pin holds an exclusive lock on the stack file and compares the pin it finds
with the one its caller read before (compare-and-swap), so concurrent promotions never lose one.
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

from kernel import load_stack_file, parse_settings, stack_file
from kernel.loader import read_stack_file
from pipelines.lifecycle import LifecycleError

SERVING_KEY = "mlops:serving"
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


def pinned_package(root: Path, stack: str) -> str | None:
    """The model package ARN `stack` serves, or None before its first promotion."""
    return load_stack_file(stack_file(stack, root)).serving.model_package_arn


def read_pin(root: Path, stack: str) -> Pin:
    """The pin of `stack` and the rollback note on its line, read from the validated file."""
    path = stack_file(stack, root)
    arn = pinned_package(root, stack)
    serving = _serving(_load(path.read_text(encoding="utf-8")))
    comment = _comment(serving, PACKAGE_KEY) if serving is not None and PACKAGE_KEY in serving else ""
    note = _NOTE.search(comment)
    return Pin(arn, int(note.group(1)) if note else None)


def pin_package(root: Path, stack: str, arn: str, *, expected: str | None, note: str | None = None) -> bool:
    """Pin `arn` in the stack file if it still pins `expected`; False when it already pins `arn`.

    `note` is written as the pin line's comment (a rollback's); a promotion passes none and drops
    any. Raises `StackFileBusyError` while another pin holds the lock, `PinChangedError` when the file pins
    neither `expected` nor `arn`, and `ConfigError` (file untouched) when the config refuses the pin.
    """
    path = stack_file(stack, root)
    with stack_file_lock(path):
        current = read_pin(root, stack)
        if current.arn == arn and (note is None or current.rolled_back_from is not None):
            return False
        if current.arn != expected:
            raise PinChangedError(
                f"{path.name} changed while this command ran: it now pins {current.arn or 'nothing'}, "
                f"not {expected or 'nothing'}; nothing was written. Re-run to act on the new pin"
            )
        text = path.read_text(encoding="utf-8")
        updated = pinned_text(text, arn, note)
        _write_checked(path, updated)
    return True


def pinned_text(text: str, arn: str, note: str | None = None) -> str:
    """`text` with `mlops:serving.modelPackageArn` set to `arn`: one line replaced or inserted, nothing else."""
    document = _load(text)
    config = document.get("config") if isinstance(document, CommentedMap) else None
    if not isinstance(config, CommentedMap):
        raise LifecycleError("the stack file has no `config:` mapping to pin a model in")
    lines = text.splitlines(keepends=True)
    serving = config.get(SERVING_KEY)
    comment = f"  # {note}" if note else ""
    if isinstance(serving, CommentedMap) and PACKAGE_KEY in serving:
        line, column = serving.lc.key(PACKAGE_KEY)
        if _one_line_value(lines[line], serving[PACKAGE_KEY]):
            lines[line] = f"{lines[line][:column]}{PACKAGE_KEY}: {arn}{comment}{_ending(lines[line])}"
            return _checked("".join(lines), document, arn)
    elif isinstance(serving, CommentedMap) and serving and not serving.fa.flow_style():
        line, column = serving.lc.key(next(iter(serving)))
        lines.insert(line, f"{' ' * column}{PACKAGE_KEY}: {arn}{comment}{_ending(lines[line])}")
        return _checked("".join(lines), document, arn)
    elif serving is None and SERVING_KEY not in config and config and not config.fa.flow_style():
        line, column = config.lc.key(next(iter(config)))
        step = max(2, column)
        block = f"{' ' * column}{SERVING_KEY}:\n{' ' * (column + step)}{PACKAGE_KEY}: {arn}{comment}\n"
        ending = "" if not lines or lines[-1].endswith("\n") else "\n"
        return _checked("".join(lines) + ending + block, document, arn)
    raise LifecycleError(
        f"cannot pin a model in this layout of {SERVING_KEY}; write `{PACKAGE_KEY}: {arn}` under it by hand"
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


def _write_checked(path: Path, text: str) -> None:
    """Validate `text` as the stack file, then replace the file atomically; on any error it stays untouched."""
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        parse_settings(read_stack_file(Path(temporary)), source=path.name)  # raises ConfigError
        os.chmod(temporary, path.stat().st_mode & 0o777)
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


def _load(text: str) -> Any:
    return YAML().load(text)


def _serving(document: Any) -> CommentedMap | None:
    config = document.get("config") if isinstance(document, CommentedMap) else None
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


def _checked(text: str, before: Any, arn: str) -> str:
    """`text` if it reads back as `before` with only the pin changed; LifecycleError otherwise."""
    after = _load(text)
    expected = _plain(before)
    expected["config"].setdefault(SERVING_KEY, {})
    expected["config"][SERVING_KEY] = {**(expected["config"][SERVING_KEY] or {}), PACKAGE_KEY: arn}
    if _plain(after) != expected:
        raise LifecycleError("pinning would change more than the pin line; edit the stack file by hand")
    return text


def _plain(node: Any) -> Any:
    """A ruamel.yaml tree as plain data (ordering of keys ignored), for comparing documents."""
    if isinstance(node, dict):
        return {str(key): _plain(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_plain(value) for value in node]
    return node if node is None or isinstance(node, bool | int | float) else str(node)
