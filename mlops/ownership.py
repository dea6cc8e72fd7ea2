"""Which files a fork owns and which the blueprint owns, as `copier update` treats them.

A fork owns its stack files (accounts, region, network, SSO personas), its project folders (each
project's settings, team personas, features and data), the project program's stack files, and the policy
pack's per-environment configuration (enforcement levels and the generated pack config). Copier writes
them once, when the fork is created, and an upgrade never touches them (copier.yml: `_skip_if_exists`,
and the same patterns excluded while updating). Every other file is the blueprint's: an upgrade brings
its new version and merges the fork's local edits into it.

The patterns are gitignore-style (`pathspec`'s `gitignore` patterns, as copier 9.19 matches them), relative to the
repository root. tests/template/test_ownership.py keeps this list equal to copier.yml's.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import pathspec

FORK_OWNED = (
    "/Pulumi.*.yaml",
    "/projects/*/",
    "/projects/Pulumi.*.yaml",
    "/policies/config/",
)
"""Paths the fork owns: written when the fork is created, never touched by an upgrade."""

ANSWERS_FILE = ".copier-answers.yml"
"""Copier's record of the fork: the template's source and release, and the answers it was created with."""

_SPEC = pathspec.PathSpec.from_lines("gitignore", FORK_OWNED)


def fork_owns(path: str) -> bool:
    """Whether the fork owns `path` (relative to the repository root, `/`-separated)."""
    return _SPEC.match_file(path)


@dataclass(frozen=True)
class Ownership:
    """A repository's tracked files split by owner."""

    fork: tuple[str, ...]
    blueprint: tuple[str, ...]


def tracked_files(root: Path) -> list[str]:
    """The files git tracks under `root`, sorted."""
    listing = subprocess.run(
        ["git", "ls-files", "-z"],  # noqa: S607 - git from PATH, a fixed command
        cwd=root,
        capture_output=True,
        check=True,
        text=True,
    )
    return sorted(filter(None, listing.stdout.split("\0")))


def split(files: list[str]) -> Ownership:
    """`files` split into the fork's and the blueprint's (copier's answers file is neither: copier owns it)."""
    kept = [name for name in files if name != ANSWERS_FILE]
    return Ownership(
        fork=tuple(name for name in kept if fork_owns(name)),
        blueprint=tuple(name for name in kept if not fork_owns(name)),
    )
