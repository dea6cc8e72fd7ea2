"""CrossGuard policies built from the blueprint's rules: the same functions the offline check runs.

Each rule becomes a Pulumi policy with the same id; the pack config (`policies/config/<env>.json`)
gives it its enforcement level and the environment's context.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pulumi_policy import (
    Policy,
    PolicyConfigSchema,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from policies.model import Context, Resource, Rule
from policies.registry import all_rules

SCHEMA = PolicyConfigSchema(
    properties={
        "environment": {"type": "string"},
        "allowedInstanceTypes": {"type": "array", "items": {"type": "string"}},
    }
)


def _context(config: Mapping[str, Any] | None) -> Context:
    config = config or {}
    environment = str(config.get("environment", "prod"))
    return Context(environment, tuple(config.get("allowedInstanceTypes", ())), _stack_config(environment))


def _stack_config(environment: str) -> Any:
    """The stack file of the environment (stacks are named after their environment), or None."""
    from infra.plan.evaluate import PROJECT_ROOT
    from kernel import ConfigError, load_stack_file, stack_file

    try:
        return load_stack_file(stack_file(environment, PROJECT_ROOT))
    except ConfigError:
        return None


def _resource_policy(rule: Rule) -> ResourceValidationPolicy:
    check = rule.check
    assert check is not None

    def validate(args: ResourceValidationArgs, report: Callable[[str, str | None], None]) -> None:
        if args.resource_type in rule.types:
            resource = Resource(args.resource_type, args.name, args.urn, args.props)
            for message in check(resource, _context(args.get_config())):
                report(f"{message}. Fix: {rule.fix}", args.urn)

    return ResourceValidationPolicy(
        name=rule.id, description=rule.description, validate=validate, config_schema=SCHEMA, remediation_steps=rule.fix
    )


def _stack_policy(rule: Rule) -> StackValidationPolicy:
    check = rule.stack_check
    assert check is not None

    def validate(args: StackValidationArgs, report: Callable[[str, str | None], None]) -> None:
        resources = [Resource(r.resource_type, r.name, r.urn, r.props) for r in args.resources]
        for resource, message in check(resources, _context(args.get_config())):
            report(f"{message}. Fix: {rule.fix}", resource.urn if resource else None)

    return StackValidationPolicy(
        name=rule.id, description=rule.description, validate=validate, config_schema=SCHEMA, remediation_steps=rule.fix
    )


def policies() -> list[Policy]:
    """One CrossGuard policy per rule."""
    return [_stack_policy(rule) if rule.stack_check else _resource_policy(rule) for rule in all_rules()]
