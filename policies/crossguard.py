"""CrossGuard policies built from the blueprint's rules: the same functions the offline check runs.

Each rule becomes a Pulumi policy with the same id; the pack config (`policies/config/<env>.json`)
gives it its enforcement level and the environment's context. One config serves the platform's stack and every
project's stack of the environment: the program and its config view follow from the resources' `project` tag.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from functools import cache
from typing import Any

from pulumi_policy import (
    Policy,
    PolicyConfigSchema,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from kernel.tags import PLATFORM
from policies.model import Context, Resource, Rule
from policies.registry import all_rules

SCHEMA = PolicyConfigSchema(
    properties={
        "environment": {"type": "string"},
        "allowedInstanceTypes": {"type": "array", "items": {"type": "string"}},
    }
)


def _context(config: Mapping[str, Any] | None, project: str | None = None) -> Context:
    """The context of the stack under check: its environment (pack config) and its program's config view."""
    config = config or {}
    environment = str(config.get("environment", "prod"))
    return Context(
        environment,
        tuple(config.get("allowedInstanceTypes", ())),
        _stack_config(environment, project),
        program="platform" if project is None else "project",
    )


def ml_project(props: Iterable[Mapping[str, Any]]) -> str | None:
    """The ML project whose stack these resources are, from their `project` tag (None: the platform's).

    Every taggable resource carries the tag (`tagging-mandatory` sees to it): a project's name, or `platform`.
    CrossGuard tells a policy neither the stack nor the program, so the pack reads it off the resources.
    """
    names = {
        str(tags["project"])
        for resource in props
        if isinstance(tags := resource.get("tags"), Mapping) and tags.get("project") not in (None, PLATFORM)
    }
    return names.pop() if len(names) == 1 else None


@cache  # one `pulumi up` asks for every resource: read the files once per program
def _stack_config(environment: str, project: str | None = None) -> Any:
    """The program's view of the environment's stack file (stacks are named after their environment), or None."""
    from infra.plan.evaluate import PROJECT_ROOT
    from kernel import ConfigError
    from kernel.views import platform_view, project_view

    try:
        if project is None:
            return platform_view(PROJECT_ROOT, environment)
        return project_view(PROJECT_ROOT, environment, project)
    except ConfigError:
        return None


def _resource_policy(rule: Rule) -> ResourceValidationPolicy:
    check = rule.check
    assert check is not None

    def validate(args: ResourceValidationArgs, report: Callable[[str, str | None], None]) -> None:
        if args.resource_type in rule.types:
            resource = Resource(args.resource_type, args.name, args.urn, args.props)
            for message in check(resource, _context(args.get_config(), ml_project([args.props]))):
                report(f"{message}. Fix: {rule.fix}", args.urn)

    return ResourceValidationPolicy(
        name=rule.id, description=rule.description, validate=validate, config_schema=SCHEMA, remediation_steps=rule.fix
    )


def _stack_policy(rule: Rule) -> StackValidationPolicy:
    check = rule.stack_check
    assert check is not None

    def validate(args: StackValidationArgs, report: Callable[[str, str | None], None]) -> None:
        resources = [Resource(r.resource_type, r.name, r.urn, r.props) for r in args.resources]
        context = _context(args.get_config(), ml_project(r.props for r in args.resources))
        for resource, message in check(resources, context):
            report(f"{message}. Fix: {rule.fix}", resource.urn if resource else None)

    return StackValidationPolicy(
        name=rule.id, description=rule.description, validate=validate, config_schema=SCHEMA, remediation_steps=rule.fix
    )


def policies() -> list[Policy]:
    """One CrossGuard policy per rule."""
    return [_stack_policy(rule) if rule.stack_check else _resource_policy(rule) for rule in all_rules()]
