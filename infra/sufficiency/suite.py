"""The sufficiency suite: every required row of every program of every plan, evaluated by the simulator.

An environment's plan holds the platform's program and every project's. Each program's rows are computed from
its own part of the plan (`Plan.of_project`) with its own config view and roles, against the documents of the
whole environment (one account): one simulator process per plan, every program's rows in its batch.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from infra.sufficiency.documents import BOOTSTRAP_ADMIN, PLATFORM, Documents, documents
from infra.sufficiency.hand_rows import StackFacts, hand_requirements
from infra.sufficiency.isolation import IsolationResult, isolation_batch
from infra.sufficiency.job_needs import monitoring_job_requirements
from infra.sufficiency.pipeline_steps import pipeline_requirements
from infra.sufficiency.programs import program_plan
from infra.sufficiency.requirements import Requirement, dedupe, deployer_requirements
from infra.sufficiency.serving import serving_requirements
from infra.sufficiency.simulate import Outcome, Verdicts, evaluate_many
from infra.sufficiency.variants import SHIPPED
from kernel.plan import Plan

REGISTRY_STACK = "dev"
"""The stack whose model package groups every environment deploys from (promotion crosses accounts)."""

Facts = dict[str | None, StackFacts]
"""One plan's facts by program: None for the platform's, the project's name for each project's."""


@dataclass(frozen=True)
class PlanResult:
    """The outcomes of one program's required rows in one plan."""

    name: str
    outcomes: list[Outcome]
    program: str | None = None

    @property
    def label(self) -> str:
        """`<plan>/<program>`: `dev/platform`, `dev/churn`."""
        return f"{self.name}/{self.program or PLATFORM}"


def registry_documents(registry: Plan) -> Documents:
    """The registry stack's documents, named apart from the evaluated plan's (both may share an account)."""
    return documents(registry, namespace="registry")


def requirements(plan: Plan, docs: Documents, registry: Plan, facts: StackFacts) -> list[Requirement]:
    """Every required row of one program: its part of `plan`, its view of the environment's documents.

    `plan` and `registry` are environment plans (or one program's part); `facts.program` picks the program.
    The bootstrap admin holds AdministratorAccess without a boundary, so only a resource policy can refuse
    it: its rows are kept where the resource has one (keys, buckets and their objects, topics, groups).
    """
    program = facts.program
    part = program_plan(plan, program) if program in plan.projects or program is None else plan
    view = docs.program(program) if docs.project != program or program is None else docs
    registry_part = program_plan(registry, program) if program in registry.projects else registry
    registry_docs = registry_documents(registry).program(program)
    rows = dedupe(
        deployer_requirements(part, view)
        + pipeline_requirements(part, view)
        + monitoring_job_requirements(part, view)
        + serving_requirements(part, view, registry_part, registry_docs)
        + hand_requirements(part, view, registry_part, registry_docs, facts)
    )
    guarded = set(view.resource_policies)
    return [
        row
        for row in rows
        if row.principal != BOOTSTRAP_ADMIN
        or row.resource in guarded
        or any(row.resource.startswith(f"{arn}/") for arn in guarded)
    ]


def plan_requirements(plan: Plan, docs: Documents, registry: Plan, facts: Facts) -> dict[str | None, list[Requirement]]:
    """Every program's rows, by program (None: the platform's)."""
    return {program: requirements(plan, docs, registry, facts[program]) for program in [None, *plan.projects]}


@dataclass(frozen=True)
class SuiteResult:
    """Sufficiency per plan and program, and isolation per environment plan that holds several projects."""

    sufficiency: list[PlanResult]
    isolation: list[IsolationResult]


def run(plans: dict[str, Plan], facts: dict[str, Facts]) -> list[PlanResult]:
    """The sufficiency outcomes of every program of every plan (see `run_suite`)."""
    return run_suite(plans, facts).sufficiency


def run_suite(plans: dict[str, Plan], facts: dict[str, Facts]) -> SuiteResult:
    """Evaluate every program of every plan (facts by plan name and program), and the isolation of its projects.

    One simulator process per plan, with the plan's sufficiency rows and its crossing requests in one batch;
    the plans' processes run side by side.
    """
    registry = plans[REGISTRY_STACK]
    registry_docs = registry_documents(registry)
    verdicts = Verdicts()

    def one(name: str) -> tuple[list[PlanResult], IsolationResult | None]:
        plan = plans[name]
        docs = documents(plan, namespace=name)
        by_program = plan_requirements(plan, docs, registry, facts[name])
        parts = [(docs.program(program), rows) for program, rows in by_program.items()]
        crossing = isolation_batch(plan, docs, by_program, facts[name]) if len(plan.projects) > 1 else None
        outcomes = evaluate_many(parts + (crossing.parts if crossing else []), registry_docs.policies, verdicts)
        own = [PlanResult(name, o, program) for program, o in zip(by_program, outcomes, strict=False)]
        return own, crossing.result(outcomes[len(parts) :]) if crossing else None

    found: dict[str, tuple[list[PlanResult], IsolationResult | None]] = {}
    for group in ([n for n in plans if n in SHIPPED], [n for n in plans if n not in SHIPPED]):
        with ThreadPoolExecutor(max_workers=len(group) or 1) as pool:
            found |= dict(zip(group, pool.map(one, group), strict=True))
    return SuiteResult(
        sufficiency=[result for name in sorted(found) for result in found[name][0]],
        isolation=[proof for name in sorted(found) if (proof := found[name][1]) is not None],
    )
