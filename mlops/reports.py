"""Readable summaries of validated stacks and plans."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from kernel.plan import Plan


def plan_table(plan: Plan) -> Table:
    """Resources by type, components first, for the plan summary."""
    table = Table(title=f"{plan.project}/{plan.stack}: {len(plan.resources)} resources", title_justify="left")
    table.add_column("type")
    table.add_column("count", justify="right")
    counts = plan.count_by_type()
    for token in sorted(counts, key=lambda token: (not token.startswith("mlops:"), token)):
        table.add_row(token, str(counts[token]))
    return table


def outputs_table(outputs: dict[str, Any]) -> Table:
    """The stack's exported outputs, one row each (mappings shown as `key=value` lines)."""
    table = Table(title="outputs", title_justify="left")
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
