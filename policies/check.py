"""Run every rule over a stack's resources, at each rule's enforcement level for that environment."""

from __future__ import annotations

from collections.abc import Sequence

from kernel import StackConfig
from kernel.plan import Plan
from policies.enforcement import level
from policies.model import Context, Resource, Violation
from policies.registry import all_rules


def check(resources: Sequence[Resource], context: Context) -> list[Violation]:
    """Every violation, with its level; disabled rules are skipped."""
    found: list[Violation] = []
    for rule in all_rules():
        rule_level = level(rule, context.environment)
        if rule_level == "disabled":
            continue
        found += [Violation(v.rule, v.resource, v.message, rule_level) for v in rule.run(resources, context)]
    return found


def check_plan(plan: Plan, config: StackConfig) -> list[Violation]:
    """Check a plan (the JSON `mlops plan` writes) against the stack's environment."""
    resources = [Resource(r.type, r.name, r.urn, r.inputs) for r in plan.resources]
    context = Context(
        environment=config.environment, allowed_instance_types=tuple(config.allowed_instance_types), config=config
    )
    return check(resources, context)
