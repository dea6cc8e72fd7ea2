"""The config views of one environment: the platform's (its stack file) and each project's (completed by it).

Each program runs on its own view, so whatever judges a program's resources (policy rules, cost, budgets)
reads that program's view: a project's resources by the project's serving, jobs and budget, the platform's by
the stack file's own settings.
"""

from __future__ import annotations

from pathlib import Path

from kernel.loader import parse_settings, read_stack_file, stack_file
from kernel.models import StackConfig
from kernel.projects import load_project
from kernel.stack_set import check_project


def platform_view(root: Path, stack: str) -> StackConfig:
    """The platform's view of `stack`, validated with the other stack files (`ConfigError` names file and key)."""
    return check_project(stack, root)


def project_view(root: Path, stack: str, project: str) -> StackConfig:
    """`project`'s view of `stack`: the stack file's settings completed by the project's for its environment."""
    path = stack_file(stack, root)
    return parse_settings(read_stack_file(path), path.name, load_project(root, project))
