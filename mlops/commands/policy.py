"""`mlops policy ...`: check a plan against the policy pack offline; regenerate its docs and configs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from mlops.console import UserError, console

app = typer.Typer(
    help="Run the policy pack offline; regenerate its catalogue and per-environment configs.", no_args_is_help=True
)


def _root() -> Path:
    from mlops.cli import ROOT

    return ROOT


@app.command("check")
def check_command(
    stack: Annotated[
        str | None, typer.Option("--stack", "-s", help="Stack to plan and check (or the plan's stack).")
    ] = None,
    plan: Annotated[Path | None, typer.Option("--plan", help="A plan JSON written by `mlops plan --json`.")] = None,
) -> None:
    """Check a plan; exit 1 on any mandatory violation (advisory ones are listed, not fatal)."""
    from infra.config.project import check_project
    from infra.plan.model import Plan
    from policies.check import check_plan

    if plan is None and stack is None:
        raise UserError("pass --stack NAME, --plan FILE, or both")
    if plan is not None:
        try:
            loaded = Plan.read(plan)
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise UserError(f"{plan}: not a plan JSON written by `mlops plan --json` ({error})") from None
    else:
        from infra.plan.evaluate import evaluate_stack

        loaded = evaluate_stack(str(stack), _root())
    config = check_project(stack or loaded.stack, _root())
    violations = check_plan(loaded, config)
    if not violations:
        console.print(f"[green]✓[/] {loaded.stack}: {len(loaded.resources)} resources pass every rule")
        return
    table = Table(title=f"{loaded.stack}: {len(violations)} violation(s)", title_justify="left")
    for column in ("level", "rule", "resource", "message", "fix"):
        table.add_column(column, overflow="fold")
    for violation in violations:
        resource = violation.resource.name if violation.resource else "(stack)"
        table.add_row(violation.level, violation.rule.id, resource, violation.message, violation.rule.fix)
    console.print(table)
    if any(violation.level == "mandatory" for violation in violations):
        raise typer.Exit(1)


@app.command()
def docs() -> None:
    """Regenerate policies/RULES.md from the rules."""
    from policies.catalogue import CATALOGUE, render

    CATALOGUE.write_text(render(), encoding="utf-8")
    console.print(f"wrote {CATALOGUE}")


@app.command()
def config() -> None:
    """Regenerate policies/config/<env>.json (levels and context) from the stack files."""
    from infra.config import load_stack_file, stack_file
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
