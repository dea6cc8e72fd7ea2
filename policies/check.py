"""Run every rule over each stack's resources, at each rule's enforcement level for that environment."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from kernel import StackConfig
from kernel.plan import Plan
from kernel.program_stacks import PLATFORM_PROGRAM, PROJECT_PROGRAM
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


def check_plan(plan: Plan, platform: StackConfig, projects: Mapping[str, StackConfig] | None = None) -> list[Violation]:
    """Check a plan (the JSON `mlops plan` writes) stack by stack, as CrossGuard checks each `pulumi up`.

    The platform's resources are judged with `platform` (its stack file's view), each project's with its own
    view in `projects` (the stack file completed by the project's settings): the budget, serving and allowlist
    that program runs on. A project missing from `projects` is judged with `platform`. Without `projects`, the
    whole plan is judged as one stack with `platform` (a single combined view, as callers before the split did).
    """
    if projects is None:
        return check([Resource(r.type, r.name, r.urn, r.inputs) for r in plan.resources], _context(platform, None))
    found: list[Violation] = []
    for name in [None, *plan.projects]:
        part = plan.of_project(name)
        if not part.resources:
            continue
        context = _context(platform if name is None else projects.get(name, platform), name)
        found += check([Resource(r.type, r.name, r.urn, r.inputs) for r in part.resources], context)
    return found


def _context(config: StackConfig, project: str | None) -> Context:
    return Context(
        environment=config.environment,
        allowed_instance_types=tuple(config.allowed_instance_types),
        config=config,
        program=PLATFORM_PROGRAM if project is None else PROJECT_PROGRAM,
    )
