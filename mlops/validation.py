"""Validate several stack files at once, reporting every problem of every file."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from infra.config import ConfigError, StackConfig, load_stack_file, stack_file, stack_names
from mlops.console import UserError, console, errors
from pipelines.definitions.clarify import check_training_data


def validate_stacks(root: Path, names: Sequence[str] | None = None) -> dict[str, StackConfig] | None:
    """Validate `names` (every stack file under `root` by default); None when any file has a problem."""
    names = list(names) if names else stack_names(root)
    if not names:
        raise UserError(f"no Pulumi.<stack>.yaml files in {root}")
    valid: dict[str, StackConfig] = {}
    problems = 0
    for name in names:
        path = stack_file(name, root)
        try:
            config = load_stack_file(path)
            check_training_data(config, path.name)
        except ConfigError as error:
            problems += len(error.problems)
            console.print(f"[red]✗[/] {path.name}")
            for line in error.lines():
                errors.print(f"  [red]error:[/] {line}")
            continue
        valid[name] = config
        console.print(f"[green]✓[/] {path.name}: {config.environment} in {config.region}, account {config.account_id}")
    problems += _validate_feature_schemas()
    if problems:
        errors.print(f"{problems} problem(s) found")
        return None
    return valid


def _validate_feature_schemas() -> int:
    """Validate the feature group schema files every stack provisions; the number of problems."""
    from pipelines.features.schema import SCHEMA_DIR, load_schemas

    try:
        schemas = load_schemas(SCHEMA_DIR)
    except ConfigError as error:
        console.print("[red]✗[/] feature schemas")
        for line in error.lines():
            errors.print(f"  [red]error:[/] {line}")
        return len(error.problems)
    console.print(f"[green]✓[/] feature schemas: {', '.join(schema.name for schema in schemas)}")
    return 0
