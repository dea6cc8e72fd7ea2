"""The project a command acts on, until every command takes `--project` (issue 21, the lead's wiring)."""

from __future__ import annotations

from pathlib import Path

from kernel.projects import Project, load_project

DEFAULT_PROJECT = "churn"
"""The project of the commands that do not take `--project` yet."""


def current_project(root: Path, name: str = DEFAULT_PROJECT) -> Project:
    """`projects/<name>/` of the repository at `root`, validated (ConfigError names the file and key)."""
    return load_project(root, name)
