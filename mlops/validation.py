"""Validate several stack files at once, reporting every problem of every file."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from rich.markup import escape

from kernel import ConfigError, StackConfig, load_stack_file, stack_file, stack_names
from kernel.stack_set import check_stack_name, project_problems
from mlops.console import UserError, console, errors


def validate_stacks(root: Path, names: Sequence[str] | None = None) -> dict[str, StackConfig] | None:
    """Validate `names` (every stack file under `root` by default); None when any file has a problem."""
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
            problems += len(failed[name].problems)
            console.print(f"[red]✗[/] {path.name}")
            for line in failed[name].lines():
                errors.print(f"  [red]error:[/] {escape(line)}")
            continue
        config = loaded[name]
        console.print(f"[green]✓[/] {path.name}: {config.environment} in {config.region}, account {config.account_id}")
    problems += _validate_feature_schemas(root)
    if problems:
        errors.print(f"{problems} problem(s) found")
        return None
    return loaded


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


def _validate_feature_schemas(root: Path) -> int:
    """Validate every project (its file and feature group schemas); the number of problems."""
    from kernel.projects import load_project, project_names

    problems = 0
    for name in project_names(root):
        try:
            project = load_project(root, name)
        except ConfigError as error:
            console.print(f"[red]✗[/] projects/{name}")
            for line in error.lines():
                errors.print(f"  [red]error:[/] {escape(line)}")
            problems += len(error.problems)
            continue
        console.print(f"[green]✓[/] feature schemas of {name}: {', '.join(schema.name for schema in project.schemas)}")
    return problems
