"""Idle cost: dev serves serverless, and no environment runs more endpoint instances than it needs."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from policies.model import Context, Resource, Rule
from policies.registry import register
from policies.rules.common import ENDPOINT_CONFIG

MAX_INSTANCES = {"dev": 0, "staging": 2, "prod": 10}
"""Initial instances an endpoint may start with per environment (0: serverless only)."""


def _instance_counts(resource: Resource, context: Context) -> Iterable[str]:
    limit = MAX_INSTANCES.get(context.environment)
    if limit is None:
        return
    for variant in resource.props.get("productionVariants") or []:
        count = int(variant.get("initialInstanceCount", 0))
        if count > limit:
            kind = "serverless only" if limit == 0 else f"at most {limit}"
            yield f"variant {variant.get('variantName')} starts {count} instance(s); {context.environment} runs {kind}"


register(
    Rule(
        id="cost-endpoint-instances",
        family="cost",
        description="Dev endpoints are serverless; staging starts at most 2 instances, prod at most 10.",
        why="Always-on instances are the largest idle cost of an ML platform.",
        fix="Serve dev serverless; scale with autoscaling instead of a large initial count.",
        control="AWS cost optimisation: right-size and scale inference",
        types=(ENDPOINT_CONFIG,),
        check=_instance_counts,
    )
)


def _idle_within_budget(resources: Sequence[Resource], context: Context) -> Iterable[tuple[Resource | None, str]]:
    config = context.config
    if config is None:
        return
    from infra.cost.estimate import estimate

    report = estimate(context.environment, resources, config)
    if report.unpriced:
        yield None, f"the estimate cannot be checked against the budget: {'; '.join(report.unpriced)}"
        return
    idle, budget = report.total("idle"), config.cost.monthly_budget_usd
    if idle > budget:
        yield None, f"idle cost ${idle:.2f}/month exceeds the {context.environment} budget of ${budget:.2f}"


register(
    Rule(
        id="cost-idle-within-budget",
        family="cost",
        description="The estimated always-on cost (`mlops cost`) stays within the environment's monthly budget.",
        why="An environment that costs its budget doing nothing has no room left for training or traffic.",
        fix="Serve serverless or fewer instances, fewer interface endpoint AZs, or raise mlops:cost.monthlyBudgetUsd.",
        control="AWS Budgets best practice; FinOps: forecast before deploy",
        stack_check=_idle_within_budget,
    )
)
