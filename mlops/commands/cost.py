"""`mlops cost`: the monthly estimate of a stack's plan, by component, idle and usage apart."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from mlops.console import console


def cost(
    stack: Annotated[
        str | None, typer.Option("--stack", "-s", help="Stack to estimate: dev by default, or the plan's stack.")
    ] = None,
    plan: Annotated[Path | None, typer.Option("--plan", help="A plan JSON; default: plan the stack now.")] = None,
    json_path: Annotated[Path | None, typer.Option("--json", help="Write the JSON report here.")] = None,
) -> None:
    """Estimate the stack's monthly cost from its plan and the price table (kernel/prices.yaml)."""
    from infra.cost.estimate import estimate
    from mlops.cli import ROOT
    from mlops.plan_input import load_plan

    loaded, config = load_plan(plan, stack or ("dev" if plan is None else None), ROOT)
    report = estimate(loaded.stack, loaded.resources, config)
    table = Table(
        title=f"{loaded.stack} ({report.region}): monthly estimate, prices of {report.price_date}", title_justify="left"
    )
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
    console.print(table)
    budget = config.cost.monthly_budget_usd
    console.print(
        f"idle (always on): ${report.total('idle'):.2f}   usage (expected work): ${report.total('usage'):.2f}   "
        f"budget: ${budget:.2f}"
    )
    for item in report.unpriced:
        console.print(f"[yellow]unpriced:[/] {item} - not in the price table, not counted")
    console.print(f"prices: {report.price_source}")
    if json_path is not None:
        report.write(json_path)
        console.print(f"cost JSON: {json_path}")
