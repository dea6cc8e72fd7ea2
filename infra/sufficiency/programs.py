"""One program's part of an environment's plan, as the suite and the isolation proof read it."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from kernel.plan import Plan


def program_plan(plan: Plan, project: str | None) -> Plan:
    """One program's part of an environment's plan; a project's outputs completed by the platform's (maps merged).

    A project reads the platform's outputs (subnets, alerts topic, logs key) by StackReference, so its rows may
    name them; its resources are its own.
    """
    part = plan.of_project(project)
    if project is None:
        return part
    platform = {key: value for key, value in plan.outputs.items() if key != "projects"}
    merged: dict[str, Any] = {**platform, **part.outputs}
    for key in set(platform) & set(part.outputs):
        if isinstance(platform[key], dict) and isinstance(part.outputs[key], dict):
            merged[key] = {**platform[key], **part.outputs[key]}
    return replace(part, outputs=merged)
