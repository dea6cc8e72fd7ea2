"""`mlops policy ...`: check a plan against the policy pack offline; regenerate its docs and configs."""

from __future__ import annotations

import io
import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from mlops.console import UserError, console
from mlops.workspace import ProjectOption

if TYPE_CHECKING:
    from policies.model import Violation

NO_WRAP_WIDTH = 10_000
"""Width of the table off a terminal: CI logs scroll sideways, so a resource name is never cut in two."""

app = typer.Typer(
    help="Run the policy pack offline; regenerate its catalogue and per-environment configs.", no_args_is_help=True
)


def _root() -> Path:
    from mlops.workspace import root

    return root()


class Format(StrEnum):
    """Output formats of `mlops policy check`."""

    table = "table"
    json = "json"
    sarif = "sarif"
    github = "github"


@app.command("check")
def check_command(
    *,
    stack: Annotated[
        str | None, typer.Option("--stack", "-s", help="Stack to plan and check (or the plan's stack).")
    ] = None,
    project: ProjectOption = None,
    platform: Annotated[bool, typer.Option("--platform", help="Check only the platform's stack.")] = False,
    plan: Annotated[Path | None, typer.Option("--plan", help="A plan JSON written by `mlops plan --json`.")] = None,
    output_format: Annotated[
        Format,
        typer.Option(
            "--format",
            "-f",
            help="table (people), json, sarif (code scanning upload) or github (workflow annotations).",
        ),
    ] = Format.table,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the report to FILE.")] = None,
) -> None:
    """Check a plan (the environment's by default); exit 1 on any mandatory violation (advisory ones are listed).

    Each stack's resources are judged as CrossGuard judges its `pulumi up`: the platform's with the stack file's
    settings, a project's with its view (the stack file completed by the project's settings).
    """
    from kernel import stack_file
    from mlops.plan_input import load_plan
    from mlops.workspace import selected_project
    from policies.check import check_plan

    if platform and project:
        raise UserError(f"--platform and --project {project}: check one of them, or neither for the environment")
    loaded = load_plan(plan, stack, _root(), None if platform else selected_project(project), platform)
    path = stack_file(loaded.plan.stack, _root())
    violations = check_plan(loaded.plan, loaded.platform, loaded.projects)
    count = len(loaded.plan.resources)
    report = _report(output_format, loaded.plan.stack, path.name, count, violations)
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(report + "\n", encoding="utf-8")
        console.print(f"wrote {output}: {len(violations)} violation(s)")
    elif output_format is Format.table:
        _table_console().print(_summary(loaded.plan.stack, count, violations))
    else:
        sys.stdout.write(report + "\n")
    if any(violation.level == "mandatory" for violation in violations):
        raise typer.Exit(1)


def _report(output_format: Format, stack: str, stack_file: str, count: int, violations: list[Violation]) -> str:
    from policies import report
    from policies.registry import all_rules

    match output_format:
        case Format.json:
            return report.as_json(stack, count, violations)
        case Format.sarif:
            return report.as_sarif(stack, stack_file, all_rules(), violations)
        case Format.github:
            return report.as_github(stack_file, violations)
        case _:
            text = Console(file=io.StringIO(), width=NO_WRAP_WIDTH, highlight=False, no_color=True, emoji=False)
            text.print(_summary(stack, count, violations))
            return str(text.file.getvalue()).rstrip("\n")  # type: ignore[attr-defined]


def _summary(stack: str, count: int, violations: list[Violation]) -> Table | str:
    if not violations:
        return f"[green]✓[/] {stack}: {count} resources pass every rule"
    return violation_table(stack, violations)


def violation_table(stack: str, violations: list[Violation]) -> Table:
    """The violations for people: identifiers (rule, resource) never wrap; messages fold on a terminal."""
    table = Table(title=f"{stack}: {len(violations)} violation(s)", title_justify="left")
    for column in ("level", "rule", "resource"):
        table.add_column(column, no_wrap=True)
    for column in ("message", "fix"):
        table.add_column(column, overflow="fold")
    for violation in violations:
        resource = violation.resource.name if violation.resource else "(stack)"
        table.add_row(violation.level, violation.rule.id, resource, violation.message, violation.rule.fix)
    return table


def _table_console() -> Console:
    """The terminal's console; off a terminal (CI logs, pipes) one wide enough that no line wraps."""
    if console.is_terminal:
        return console
    return Console(highlight=False, width=NO_WRAP_WIDTH, soft_wrap=True, emoji=False)


@app.command()
def docs() -> None:
    """Regenerate policies/RULES.md from the rules."""
    from policies.catalogue import CATALOGUE, render

    CATALOGUE.write_text(render(), encoding="utf-8")
    console.print(f"wrote {CATALOGUE}")


@app.command()
def config() -> None:
    """Regenerate policies/config/<env>.json (levels and context) from the stack files."""
    from kernel import load_stack_file, stack_file
    from policies.enforcement import config_path, render_pack_config
    from policies.registry import all_rules

    for environment in ("dev", "staging", "prod"):
        stack = load_stack_file(stack_file(environment, _root()))
        path = config_path(environment)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            render_pack_config(all_rules(), environment, list(stack.allowed_instance_types)), encoding="utf-8"
        )
        console.print(f"wrote {path}")
