"""Promote an approved model package one environment forward, or roll an environment back.

Promotion pins the package ARN for the next environment in the project's file (`projects/<name>/project.yaml`,
`environments.<env>.serving.modelPackageArn`; the deploy workflow then runs `pulumi up` of the project's stack);
it never deploys by itself. Order is dev -> staging -> prod, and prod only receives
what staging runs. Every step is safe to repeat: promoting what is already pinned changes nothing,
and a rollback leaves a note on the pin line so that repeating it does not roll back twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kernel import load_stack_file, stack_file
from kernel.naming import MODEL_NAME, Naming
from kernel.types import ENVIRONMENTS
from pipelines.lifecycle import LifecycleError
from pipelines.lifecycle.registry import describe, list_packages, parse_arn, require_group
from pipelines.lifecycle.stack_files import ROLLBACK_NOTE, pin_package, pinned_package, read_pin


@dataclass(frozen=True)
class Change:
    """What a promotion or rollback did to a stack file."""

    stack: str
    previous: str | None
    current: str
    changed: bool
    rolled_back_from: int | None = None
    """For a rollback that did nothing: the version the pin was already rolled back from."""


def registry_groups(root: Path, project: str) -> dict[str, str]:
    """The model package group of `project` in every stack of this fork (environment -> group name)."""
    groups: dict[str, str] = {}
    for environment in ENVIRONMENTS:
        path = stack_file(environment, root)
        if path.is_file():
            groups[environment] = stack_group(root, environment, project)
    return groups


def stack_group(root: Path, stack: str, project: str) -> str:
    """The model package group of `project` in `stack` (ConfigError without a stack file)."""
    config = load_stack_file(stack_file(stack, root))
    naming = Naming(config.name_prefix, config.environment, config.account_id, config.region, project)
    return naming.sagemaker(MODEL_NAME)


def promote(client: Any, root: Path, arn: str, to: str, project: str) -> Change:
    """Pin approved package `arn` of `project` in stack `to`; prod accepts only what staging runs.

    The package must come from `project`'s own registries upstream: one team's model never reaches another's.
    """
    if to not in ENVIRONMENTS or to == ENVIRONMENTS[0]:
        raise LifecycleError(f"promote to staging or prod, not {to!r}: dev runs what its own pipeline registers")
    source = ENVIRONMENTS[ENVIRONMENTS.index(to) - 1]
    groups = registry_groups(root, project)
    upstream = {groups[env] for env in ENVIRONMENTS[: ENVIRONMENTS.index(to)] if env in groups}
    require_group(arn, upstream, f"the registries {to} receives from")
    previous = pinned_package(root, to, project)
    package = describe(client, arn)
    package.require_lineage()
    if package.status != "Approved":
        raise LifecycleError(
            f"{arn} is {package.status}; a model approver must approve it first (`mlops model approve`)"
        )
    served = pinned_package(root, source, project) if source != ENVIRONMENTS[0] else arn
    if served != arn:
        raise LifecycleError(
            f"{to} only receives what {source} runs; {project} serves {served or 'nothing'} in {source}. "
            f"Promote to {source} first"
        )
    changed = pin_package(root, to, project, arn, expected=previous)
    return Change(stack=to, previous=previous, current=arn, changed=changed)


def rollback(
    client: Any, root: Path, stack: str, project: str, *, to_version: int | None = None, again: bool = False
) -> Change:
    """Pin version `to_version`, or else the newest approved version older than the one `stack` serves.

    Without `to_version`, a pin that an earlier rollback wrote is not rolled back further unless
    `again` says so: a re-run of a rollback that succeeded changes nothing (`changed` is False).
    """
    pin = read_pin(root, stack, project)
    if pin.arn is None:
        raise LifecycleError(f"{stack} serves no model; there is nothing to roll back")
    group, version = parse_arn(pin.arn)
    if to_version is not None:
        target = f"{pin.arn.rsplit('/', 1)[0]}/{to_version}"
        if target == pin.arn:
            return Change(stack=stack, previous=pin.arn, current=pin.arn, changed=False)
        chosen = describe(client, target)
        if chosen.status != "Approved":
            raise LifecycleError(f"{target} is {chosen.status}; roll back only to an approved version")
    else:
        if pin.rolled_back_from is not None and not again:
            return Change(stack, pin.arn, pin.arn, changed=False, rolled_back_from=pin.rolled_back_from)
        earlier = [p for p in list_packages(client, group, status="Approved") if p.version < version]
        if not earlier:
            raise LifecycleError(f"{stack} serves version {version}, and no earlier version of {group} is approved")
        target = earlier[0].arn
    changed = pin_package(root, stack, project, target, expected=pin.arn, note=ROLLBACK_NOTE.format(version=version))
    return Change(stack=stack, previous=pin.arn, current=target, changed=changed)
