"""`mlops cost`: the monthly estimate of an environment's plan: in total, for the platform and per project."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from mlops.console import UserError, console
from mlops.workspace import ProjectOption, root, selected_project

if TYPE_CHECKING:
    from infra.cost.estimate import CostReport


def cost(
    stack: Annotated[
        str | None, typer.Option("--stack", "-s", help="Stack to estimate: dev by default, or the plan's stack.")
    ] = None,
    project: ProjectOption = None,
    platform: Annotated[bool, typer.Option("--platform", help="Estimate only the platform's stack.")] = False,
    plan: Annotated[Path | None, typer.Option("--plan", help="A plan JSON; default: plan the stack now.")] = None,
    json_path: Annotated[Path | None, typer.Option("--json", help="Write the JSON report here.")] = None,
) -> None:
    """Estimate the monthly cost from the plan and the price table (kernel/prices.yaml).

    The environment's plan by default: its total, the platform's part and each project's, each priced with
    its own settings and judged against its own budget. `--project P` or `--platform` estimate one part.
    """
    from infra.cost.environment import estimate_environment
    from mlops.plan_input import load_plan

    if platform and project:
        raise UserError(f"--platform and --project {project}: estimate one of them, or neither for the environment")
    chosen = None if platform else selected_project(project)
    loaded = load_plan(plan, stack or ("dev" if plan is None else None), root(), chosen, platform)
    report = estimate_environment(loaded.plan, loaded.platform, loaded.projects)
    parts = report.parts()
    if plan is not None and (chosen or platform):
        wanted = "platform" if platform else chosen
        if wanted not in parts:
            raise UserError(f"--plan {plan} holds no {wanted} resources: its parts are {', '.join(parts)}")
        parts = {wanted: parts[wanted]}
    first = next(iter(parts.values()), None)
    region, date = (first.region, first.price_date) if first else (loaded.platform.region, "-")
    for name, part in parts.items():
        console.print(_lines_table(f"{loaded.plan.stack} {name} ({region}): monthly estimate, prices of {date}", part))
    summary = Table(title=f"{loaded.plan.stack}: monthly estimate by stack", title_justify="left")
    for column, justify in (("part", "left"), ("idle USD", "right"), ("usage USD", "right"), ("budget USD", "right")):
        summary.add_column(column, justify=justify)  # type: ignore[arg-type]
    for name, part in parts.items():
        budget = loaded.view(None if name == "platform" else name).cost.monthly_budget_usd
        summary.add_row(name, f"{part.total('idle'):.2f}", f"{part.total('usage'):.2f}", f"{budget:.2f}")
    idle = round(sum(part.total("idle") for part in parts.values()), 2)
    usage = round(sum(part.total("usage") for part in parts.values()), 2)
    summary.add_row("total", f"{idle:.2f}", f"{usage:.2f}", "")
    console.print(summary)
    for name, part in parts.items():
        for item in part.unpriced:
            console.print(f"[yellow]unpriced:[/] {name}: {item} - not in the price table, not counted")
    if first:
        console.print(f"prices: {first.price_source}")
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        import json

        json_path.write_text(json.dumps(report.to_dict(), indent=2, sort_keys=True) + "\n", encoding="utf-8")
        console.print(f"cost JSON: {json_path}")


def _lines_table(title: str, report: CostReport) -> Table:
    """One part's priced lines, idle before usage."""
    table = Table(title=title, title_justify="left")
    for column, justify in (
        ("component", "left"),
        ("item", "left"),
        ("kind", "left"),
        ("quantity", "right"),
        ("USD/month", "right"),
    ):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for line in sorted(report.lines, key=lambda line: (line.kind, line.component, line.item)):
        table.add_row(line.component, line.item, line.kind, f"{line.quantity:g} {line.unit}", f"{line.monthly_usd:.2f}")
    return table
