"""Promote an approved model package one environment forward, or roll an environment back.

Promotion pins the package ARN in the next environment's stack file (the deploy workflow then runs
`pulumi up`); it never deploys by itself. Order is dev -> staging -> prod, and prod only receives
what staging runs. Every step is idempotent: promoting what is already pinned changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra.config import load_stack_file, stack_file
from infra.config.types import ENVIRONMENTS
from infra.naming import Naming
from pipelines.lifecycle import LifecycleError
from pipelines.lifecycle.registry import describe, list_packages
from pipelines.lifecycle.stack_files import pin_package, pinned_package

MODEL_NAME = "churn"


@dataclass(frozen=True)
class Change:
    """What a promotion or rollback did to a stack file."""

    stack: str
    previous: str | None
    current: str
    changed: bool


def registry_groups(root: Path) -> dict[str, str]:
    """The model package group of every stack of this fork (environment -> group name)."""
    groups: dict[str, str] = {}
    for environment in ENVIRONMENTS:
        path = stack_file(environment, root)
        if path.is_file():
            config = load_stack_file(path)
            naming = Naming(config.name_prefix, config.environment, config.account_id, config.region)
            groups[environment] = naming.sagemaker(MODEL_NAME)
    return groups


def promote(client: Any, root: Path, arn: str, to: str) -> Change:
    """Pin approved package `arn` in stack `to`; prod accepts only what staging runs."""
    if to not in ENVIRONMENTS or to == ENVIRONMENTS[0]:
        raise LifecycleError(f"promote to staging or prod, not {to!r}: dev runs what its own pipeline registers")
    source = ENVIRONMENTS[ENVIRONMENTS.index(to) - 1]
    package = describe(client, arn)
    groups = registry_groups(root)
    if package.group not in groups.values():
        known = ", ".join(groups.values())
        raise LifecycleError(f"{arn} belongs to group {package.group!r}, not to this platform's registries ({known})")
    package.require_lineage()
    if package.status != "Approved":
        raise LifecycleError(
            f"{arn} is {package.status}; a model approver must approve it first (`mlops model approve`)"
        )
    if source != ENVIRONMENTS[0] and pinned_package(root, source) != arn:
        raise LifecycleError(
            f"{to} only receives what {source} runs; {source} serves {pinned_package(root, source) or 'nothing'}. "
            f"Promote to {source} first"
        )
    previous = pinned_package(root, to)
    changed = pin_package(root, to, arn)
    return Change(stack=to, previous=previous, current=arn, changed=changed)


def rollback(client: Any, root: Path, stack: str) -> Change:
    """Pin the newest approved version older than the one `stack` serves."""
    current = pinned_package(root, stack)
    if current is None:
        raise LifecycleError(f"{stack} serves no model; there is nothing to roll back")
    package = describe(client, current)
    earlier = [p for p in list_packages(client, package.group, status="Approved") if p.version < package.version]
    if not earlier:
        raise LifecycleError(
            f"{stack} serves version {package.version}, and no earlier version of {package.group} is approved"
        )
    target = earlier[0].arn
    pin_package(root, stack, target)
    return Change(stack=stack, previous=current, current=target, changed=True)
