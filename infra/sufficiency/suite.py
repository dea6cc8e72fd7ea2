"""The sufficiency suite: every required row of every plan, evaluated by the simulator (one process per plan)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from infra.sufficiency.documents import BOOTSTRAP_ADMIN, Documents, documents
from infra.sufficiency.hand_rows import StackFacts, hand_requirements
from infra.sufficiency.job_needs import monitoring_job_requirements
from infra.sufficiency.pipeline_steps import pipeline_requirements
from infra.sufficiency.requirements import Requirement, dedupe, deployer_requirements
from infra.sufficiency.serving import serving_requirements
from infra.sufficiency.simulate import Outcome, Verdicts, evaluate
from infra.sufficiency.variants import SHIPPED
from kernel.plan import Plan

REGISTRY_STACK = "dev"
"""The stack whose model package group every environment deploys from (promotion crosses accounts)."""


@dataclass(frozen=True)
class PlanResult:
    """The outcomes of one plan's required rows."""

    name: str
    outcomes: list[Outcome]


def registry_documents(registry: Plan) -> Documents:
    """The registry stack's documents, named apart from the evaluated plan's (both may share an account)."""
    return documents(registry, namespace="registry")


def requirements(plan: Plan, docs: Documents, registry: Plan, facts: StackFacts) -> list[Requirement]:
    """Every required row of a plan, one per distinct request.

    The bootstrap admin holds AdministratorAccess without a boundary, so only a resource policy can refuse
    it: its rows are kept where the resource has one (keys, buckets and their objects, topics, groups).
    """
    registry_docs = registry_documents(registry)
    rows = dedupe(
        deployer_requirements(plan, docs)
        + pipeline_requirements(plan, docs)
        + monitoring_job_requirements(plan, docs)
        + serving_requirements(plan, docs, registry, registry_docs)
        + hand_requirements(plan, docs, registry, registry_docs, facts)
    )
    guarded = set(docs.resource_policies)
    return [
        row
        for row in rows
        if row.principal != BOOTSTRAP_ADMIN
        or row.resource in guarded
        or any(row.resource.startswith(f"{arn}/") for arn in guarded)
    ]


def run(plans: dict[str, Plan], facts: dict[str, StackFacts]) -> list[PlanResult]:
    """Evaluate every plan (facts by plan name), the simulator processes side by side."""
    registry = plans[REGISTRY_STACK]
    registry_docs = registry_documents(registry)
    verdicts = Verdicts()

    def one(name: str) -> PlanResult:
        plan = plans[name]
        docs = documents(plan, namespace=name)
        rows = requirements(plan, docs, registry, facts[name])
        return PlanResult(name, evaluate(docs, rows, registry_docs.policies, verdicts))

    shipped = [name for name in plans if name in SHIPPED]
    with ThreadPoolExecutor(max_workers=len(shipped) or 1) as pool:
        results = dict(zip(shipped, pool.map(one, shipped), strict=True))
    variants = [name for name in plans if name not in SHIPPED]
    with ThreadPoolExecutor(max_workers=len(variants) or 1) as pool:
        results |= dict(zip(variants, pool.map(one, variants), strict=True))
    return [results[name] for name in sorted(results)]
