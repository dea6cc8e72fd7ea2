"""Readable summaries of plans: resources by type and by stack, and each stack's outputs."""

from __future__ import annotations

from collections import Counter
from typing import Any

from rich.table import Table

from kernel.plan import Plan


def plan_table(plan: Plan) -> Table:
    """Resources by type, components first, for the plan summary."""
    stacks = len({resource.stack for resource in plan.resources})
    title = f"{plan.project}/{plan.stack}: {len(plan.resources)} resources in {stacks} stack(s)"
    table = Table(title=title, title_justify="left")
    table.add_column("type")
    table.add_column("count", justify="right")
    counts = plan.count_by_type()
    for token in sorted(counts, key=lambda token: (not token.startswith("mlops:"), token)):
        table.add_row(token, str(counts[token]))
    return table


def stacks_table(plan: Plan) -> Table:
    """Resources per stack: the platform's, then each project's, as `pulumi up` deploys them."""
    table = Table(title="stacks", title_justify="left")
    for column in ("stack", "program", "project"):
        table.add_column(column)
    table.add_column("resources", justify="right")
    counts = Counter((resource.stack, resource.program, resource.ml_project or "") for resource in plan.resources)
    for (stack, program, project), count in sorted(counts.items(), key=lambda item: (bool(item[0][2]), item[0])):
        table.add_row(stack, program, project or "-", str(count))
    return table


def outputs_table(outputs: dict[str, Any], title: str = "outputs") -> Table:
    """A stack's exported outputs, one row each (mappings shown as `key=value` lines)."""
    table = Table(title=title, title_justify="left")
    table.add_column("name")
    table.add_column("value", overflow="fold")
    for name in sorted(outputs):
        value = outputs[name]
        if isinstance(value, dict):
            text = "\n".join(f"{key}={item}" for key, item in sorted(value.items()))
        elif isinstance(value, list):
            text = "\n".join(str(item) for item in value)
        else:
            text = str(value)
        table.add_row(name, text)
    return table
