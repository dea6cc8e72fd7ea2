"""Validate stack files and projects at once, reporting every problem of every file.

A stack file is validated as the platform program reads it; a project as its program reads each stack file (the
platform's settings completed by the project's for that environment), so a key is named in the file it is written in.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from rich.markup import escape

from kernel import ConfigError, StackConfig, load_stack_file, stack_file, stack_names
from kernel.stack_set import check_stack_name, project_problems
from mlops.console import UserError, console, errors


def validate_stacks(
    root: Path, names: Sequence[str] | None = None, projects: Sequence[str] | None = None
) -> dict[str, StackConfig] | None:
    """Validate stack files and projects; the platform's configs, or None when any file has a problem.

    Every stack file in `names` (all under `root` by default) is validated as the platform reads it, and every
    project in `projects` (all of `projects/` by default) as its program reads each of those stacks.
    """
    names = list(names) if names else stack_names(root)
    if not names:
        raise UserError(f"no Pulumi.<stack>.yaml files in {root}")
    loaded: dict[str, StackConfig] = {}
    failed: dict[str, ConfigError] = {}
    siblings: dict[str, StackConfig] = {}
    unreadable: list[str] = []
    for name in names:
        path = stack_file(name, root)
        try:
            check_stack_name(name, root)
        except ConfigError as error:
            failed[name] = error  # no such file: not part of the project
            continue
        try:
            config = siblings[name] = load_stack_file(path)
        except ConfigError as error:
            failed[name] = error
            if name not in siblings:
                unreadable.append(name)
            continue
        loaded[name] = config
    others, unread = _other_stacks(root, names)
    siblings.update(others)
    unreadable.extend(unread)
    for name, found in project_problems(siblings, unreadable).items():
        if name in loaded:
            failed[name] = ConfigError(stack_file(name, root).name, found)
            del loaded[name]
    problems = 0
    for name in names:
        path = stack_file(name, root)
        if name in failed:
            problems += _report(path.name, failed[name].lines())
            continue
        config = loaded[name]
        console.print(f"[green]✓[/] {path.name}: {config.environment} in {config.region}, account {config.account_id}")
    reported = {line for error in failed.values() for line in error.lines()}
    problems += _validate_projects(
        root, [name for name in names if stack_file(name, root).is_file()], projects, reported
    )
    if problems:
        errors.print(f"{problems} problem(s) found")
        return None
    return loaded


def _report(title: str, lines: Sequence[str]) -> int:
    """Print a failed file's problems, one line each; how many."""
    console.print(f"[red]✗[/] {title}")
    for line in lines:
        errors.print(f"  [red]error:[/] {escape(line)}")
    return len(lines)


def _other_stacks(root: Path, names: Sequence[str]) -> tuple[dict[str, StackConfig], list[str]]:
    """The configs of the project's other stack files, and the names of those that do not load.

    Their own problems are not reported here: they were not asked for.
    """
    loaded: dict[str, StackConfig] = {}
    unreadable: list[str] = []
    for other in [name for name in stack_names(root) if name not in names]:
        try:
            loaded[other] = load_stack_file(stack_file(other, root))
        except ConfigError:
            unreadable.append(other)
    return loaded, unreadable


def _validate_projects(root: Path, stacks: Sequence[str], names: Sequence[str] | None, reported: set[str]) -> int:
    """Validate each project (its file and feature groups) and its view of every stack; the number of problems.

    A project's view is the stack file's settings completed by the project's for that environment: what its
    program runs on. A problem of the stack file itself was reported with the stack file, and is not repeated.
    """
    from kernel.loader import parse_settings, read_stack_file
    from kernel.projects import load_project, project_names

    problems = 0
    for name in names if names is not None else project_names(root):
        try:
            project = load_project(root, name)
        except ConfigError as error:
            problems += _report(f"projects/{name}", error.lines())
            continue
        found: list[str] = []
        for stack in stacks:
            path = stack_file(stack, root)
            try:
                parse_settings(read_stack_file(path), path.name, project)
            except ConfigError as error:
                found += [line for line in error.lines() if line not in reported and line not in found]
        if found:
            problems += _report(f"projects/{name}", found)
            continue
        groups = ", ".join(schema.name for schema in project.schemas)
        console.print(f"[green]✓[/] projects/{name}: {', '.join(stacks)} (feature groups: {groups})")
    return problems
