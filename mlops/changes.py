"""What a change touches: the projects whose folders it edits, and the platform when anything else changes.

The workflows preview and deploy only those: a project's pull request runs its own stacks, a platform change
(program, components, kernel, stack files, pipelines, policies) runs the platform and every project, since each
project's program reads them.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from kernel.projects import PROJECTS_DIR, project_names
from mlops.console import UserError

NOT_DEPLOYED = ("README.md", "docs/", "tests/", ".github/ISSUE_TEMPLATE/")
"""Paths no stack is built from: a change to them alone deploys nothing."""


@dataclass(frozen=True)
class Touched:
    """The stacks a change needs previewed or deployed."""

    platform: bool
    projects: list[str]


def changed_files(root: Path, base: str) -> list[str]:
    """Files that differ between `base` and the working tree's HEAD (paths relative to the repository)."""
    git = shutil.which("git")
    if git is None:
        raise UserError("git is not installed: `mlops ci changed` compares revisions with it")
    if base.startswith("-"):
        raise UserError(f"--base {base!r}: a git revision (a branch, tag or commit), not an option")
    try:
        result = subprocess.run(  # noqa: S603 - git with a revision, never through a shell
            [git, "diff", "--name-only", "--no-renames", f"{base}...HEAD"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
    except subprocess.CalledProcessError as error:
        raise UserError(f"--base {base}: git cannot compare it with HEAD ({error.stderr.strip()})") from None
    return [line for line in result.stdout.splitlines() if line]


def touched(root: Path, files: list[str]) -> Touched:
    """The platform (any file outside projects/ that builds a stack) and the projects `files` touch.

    A change to the platform touches every project; a removed project is not listed (its folder is gone).
    """
    existing = project_names(root)
    projects: set[str] = set()
    platform = False
    for path in files:
        parts = path.split("/")
        if parts[0] == PROJECTS_DIR and len(parts) > 2:
            projects.add(parts[1])
        elif parts[0] == PROJECTS_DIR or not path.startswith(NOT_DEPLOYED):
            platform = True
    if platform:
        projects = set(existing)
    return Touched(platform, sorted(name for name in projects if name in existing))
