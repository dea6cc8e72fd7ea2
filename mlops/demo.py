"""`mlops demo`: the blueprint's main job, offline. Each stage prints its real result."""

from __future__ import annotations

import time
from pathlib import Path

from rich.table import Table

from mlops.console import UserError, console


def run_demo(root: Path, out: Path) -> None:
    """Validate every stack and plan dev, writing artefacts under `out`; raise on the first failure."""
    from infra.plan.evaluate import evaluate_stack
    from mlops.reports import plan_table
    from mlops.validation import validate_stacks

    out.mkdir(parents=True, exist_ok=True)
    summary = Table(title="demo summary", title_justify="left")
    for column in ("stage", "result", "seconds"):
        summary.add_column(column)

    console.rule("1. validate every stack file")
    started = time.perf_counter()
    stacks = validate_stacks(root)
    if stacks is None:
        raise UserError("stack validation failed; fix the problems above")
    summary.add_row("validate", f"{len(stacks)} stacks valid: {', '.join(stacks)}", _since(started))

    console.rule("2. plan dev offline (Pulumi mock runtime)")
    started = time.perf_counter()
    plan = evaluate_stack("dev", root)
    plan_path = out / "plan-dev.json"
    plan.write(plan_path)
    console.print(plan_table(plan))
    summary.add_row("plan dev", f"{len(plan.resources)} resources -> {plan_path}", _since(started))

    console.rule("done")
    console.print(summary)
    console.print(f"artefacts: {out}")


def _since(started: float) -> str:
    return f"{time.perf_counter() - started:.1f}"
