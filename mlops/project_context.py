"""The project a command acts on: `--project NAME`, or the project folder the command runs in.

Run inside `projects/<name>/` (or below it), a command acts on that project; elsewhere, with one project in the
repository, on that one; with several, `--project` is required and the error lists them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kernel.errors import ConfigError, Problem
from kernel.projects import PROJECTS_DIR, Project, load_project, project_names

ProjectOption = Annotated[
    str | None,
    typer.Option("--project", help="The ML project (a folder of projects/); default: the one you are in."),
]


def project_name(root: Path, name: str | None, cwd: Path | None = None) -> str:
    """The project a command means: `name`, the folder it runs in, or the repository's only project."""
    if name:
        return name
    here = (cwd or Path.cwd()).resolve()
    folder = (root / PROJECTS_DIR).resolve()
    if here.is_relative_to(folder) and here != folder:
        return here.relative_to(folder).parts[0]
    names = project_names(root)
    if len(names) == 1:
        return names[0]
    known = ", ".join(names) or "none yet: `mlops project new NAME`"
    raise ConfigError("--project", [Problem("", f"is required here: say which project ({known})")])


def current_project(root: Path, name: str | None = None) -> Project:
    """The project a command acts on, validated (ConfigError names the file and key)."""
    return load_project(root, project_name(root, name))
