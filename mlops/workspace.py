"""Where a command works: the repository's root, and the ML project the current folder belongs to.

Commands read both from here, never from `mlops.cli` (the import graph reads top-down: the CLI imports the
commands, not the other way round). Run from the repository, a command acts on its stack files; run inside
`projects/<name>/`, it acts on that project unless `--project` says otherwise.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kernel.projects import PROJECTS_DIR

CHECKOUT = Path(__file__).resolve().parents[1]
"""This checkout: the repository the commands read when the current folder is not inside one."""


def find_root(start: Path) -> Path | None:
    """The nearest folder at or above `start` that holds the platform's `Pulumi.yaml`.

    `projects/Pulumi.yaml` is the projects' Pulumi project, not a repository root: it is skipped.
    """
    for folder in (start, *start.parents):
        if (folder / "Pulumi.yaml").is_file() and not _is_projects_folder(folder):
            return folder
    return None


def _is_projects_folder(folder: Path) -> bool:
    return folder.name == PROJECTS_DIR and (folder.parent / "Pulumi.yaml").is_file()


ROOT = find_root(Path.cwd()) or CHECKOUT
"""The repository whose stack files and projects the commands read (tests point it elsewhere)."""


def root() -> Path:
    """The repository the commands act on (read at call time, so it can be redirected)."""
    return ROOT


def folder_project(root: Path, cwd: Path) -> str | None:
    """The project whose folder `cwd` is in (`<root>/projects/<name>/...`), or None outside one."""
    try:
        parts = cwd.resolve().relative_to((root / PROJECTS_DIR).resolve()).parts
    except ValueError:
        return None
    return parts[0] if parts else None


def selected_project(option: str | None) -> str | None:
    """`--project`, or the project of the current folder, or None (the whole environment or the platform)."""
    return option or folder_project(root(), Path.cwd())


ProjectOption = Annotated[
    str | None,
    typer.Option(
        "--project",
        help="Only this ML project's stack (a folder under projects/); default: the project folder you are in, "
        "else the whole environment.",
        show_default=False,
    ),
]
