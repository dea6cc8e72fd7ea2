"""`mlops upgrade`: take a fork to a newer blueprint release with `copier update`, safely.

Copier re-renders the fork's release and the target release with the fork's answers, and applies the
fork's own changes (the diff between the first and the fork) on top of the second: a three-way merge.
Where a local edit of a blueprint file collides with the release's change to the same lines, copier
leaves both sides between `<<<<<<< before updating` and `>>>>>>> after updating` (`--conflict inline`)
or writes the rejected hunks beside the file as `<file>.rej` (`--conflict rej`). Fork-owned files
(mlops/ownership.py) are neither rendered nor patched.

This wrapper refuses what would make the result unreviewable (no answers file, not a git repository,
uncommitted changes), passes copier the flags an upgrade needs, and names every file that conflicted.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

from mlops.console import UserError
from mlops.ownership import ANSWERS_FILE, fork_owns

Conflict = Literal["inline", "rej"]
INLINE_MARKER = "<<<<<<< before updating"
"""How copier (9.x, `git merge-file -L "before updating"`) opens a conflict block inline."""


def copier_command(to: str | None, conflict: Conflict = "inline") -> list[str]:
    """The plain `copier update` command `mlops upgrade` runs, for those who run copier themselves.

    `--trust`: the template's migrations (`_migrations` in copier.yml, e.g. a file's rename) are commands;
    `--defaults --skip-answered`: keep the fork's answers and take the default of a question a release adds.
    """
    command = ["copier", "update", "--trust", "--defaults", "--skip-answered", "--conflict", conflict]
    return [*command, "--vcs-ref", to] if to else command


@dataclass(frozen=True)
class Release:
    """Where a fork comes from: the template's location and the release (tag or commit) it was made at."""

    source: str
    ref: str


@dataclass(frozen=True)
class Outcome:
    """What an upgrade did to the fork's work tree."""

    before: Release
    after: Release
    changed: tuple[str, ...]
    conflicts: tuple[str, ...]


def current_release(root: Path) -> Release:
    """The release the fork at `root` is at, from copier's answers file (UserError naming the fix)."""
    answers = root / ANSWERS_FILE
    if not answers.is_file():
        hint = (
            "this is the blueprint itself (it has copier.yml); upgrades apply to forks made from it"
            if (root / "copier.yml").is_file()
            else "this checkout was not made by `copier copy`, so it has no release to upgrade from"
        )
        raise UserError(
            f"{answers}: missing: {hint}. Create a fork with: copier copy --trust gh:<org>/mlops-platform <folder>"
        )
    try:
        recorded: Any = yaml.safe_load(answers.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise UserError(
            f"{answers}: not YAML ({error}); restore it from git: git checkout -- {ANSWERS_FILE}"
        ) from error
    missing = [key for key in ("_src_path", "_commit") if not isinstance(recorded, dict) or not recorded.get(key)]
    if missing:
        raise UserError(
            f"{answers}: {', '.join(missing)}: missing; copier writes these keys, restore the file from git history"
        )
    return Release(source=str(recorded["_src_path"]), ref=str(recorded["_commit"]))


def _git(root: Path, *args: str) -> str:
    result = subprocess.run(  # noqa: S603 - fixed git subcommands
        ["git", *args],  # noqa: S607 - git from PATH
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise UserError(
            f"{root}: `git {' '.join(args)}` failed: {result.stderr.strip() or result.returncode}; "
            "an upgrade is merged through git, so the fork must be a git repository with at least one commit"
        )
    return result.stdout


def _status(root: Path) -> list[str]:
    """Paths `git status` reports (modified, added, deleted, untracked), relative to `root`."""
    lines = _git(root, "status", "--porcelain", "--untracked-files=all", "--no-renames", "-z").split("\0")
    return sorted({line[3:] for line in lines if len(line) > 3})


def require_clean(root: Path) -> None:
    """Refuse a work tree with uncommitted changes: the upgrade must be a diff of its own, reviewable and revertible."""
    _git(root, "rev-parse", "--verify", "HEAD")
    dirty = _status(root)
    if dirty:
        shown = ", ".join(dirty[:5]) + (f" and {len(dirty) - 5} more" if len(dirty) > 5 else "")
        raise UserError(
            f"{root}: the work tree has uncommitted changes ({shown}): commit or stash them, then run "
            "`mlops upgrade` again, so that the upgrade is one reviewable diff"
        )


def conflicts(root: Path, changed: list[str]) -> list[str]:
    """Files where a local edit collided with the release: inline conflict blocks, or `.rej` files beside them."""
    found = set()
    for name in changed:
        path = root / name
        if name.endswith(".rej"):
            found.add(name.removesuffix(".rej"))
        elif path.is_file() and INLINE_MARKER in path.read_text(encoding="utf-8", errors="replace").splitlines():
            found.add(name)  # a whole line: a document may quote the marker
    return sorted(found)


def upgrade(root: Path, to: str | None = None, conflict: Conflict = "inline") -> Outcome:
    """Run `copier update` on the fork at `root` towards release `to` (default: the newest tag)."""
    before = current_release(root)
    require_clean(root)
    owned = {name for name in _git(root, "ls-files", "-z").split("\0") if name and fork_owns(name)}
    from copier import run_update
    from copier.errors import CopierError
    from plumbum import ProcessExecutionError

    try:
        run_update(
            dst_path=root,
            vcs_ref=to,
            defaults=True,
            skip_answered=True,
            overwrite=True,
            unsafe=True,
            conflict=conflict,
            quiet=True,
        )
    except CopierError as error:
        raise UserError(f"copier update from {before.source}: {error}") from error
    except ProcessExecutionError as error:
        reason = (error.stderr or str(error)).strip().splitlines()[-1:] or ["git failed"]
        raise UserError(
            f"copier update could not read the template at {before.source} ({reason[0]}); "
            f"check the network and `_src_path` in {ANSWERS_FILE}: retrying may help"
        ) from error
    after = current_release(root)
    changed = _status(root)
    touched = [name for name in changed if name in owned]  # a migration may add fork-owned files, never edit them
    if touched:
        raise UserError(
            f"the upgrade changed fork-owned files ({', '.join(touched)}): a template bug; "
            "undo it with `git checkout -- . && git clean -fd` and report it to the blueprint"
        )
    return Outcome(before=before, after=after, changed=tuple(changed), conflicts=tuple(conflicts(root, changed)))
