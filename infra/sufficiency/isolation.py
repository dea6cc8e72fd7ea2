"""The isolation proof (issue 21 §3): no project's principal can do what another project's principals need.

For every ordered pair of projects A != B of an environment, every required row of B (what B's execution
roles, personas and deploy and preview roles must be able to do) that acts on one of B's own resources is
asked again by A's principal of the same kind, and by every other role of A on each distinct operation: all
must be DENIED. B's deploy role's trust is asked with A's GitHub environment (`<env>-A`): it must refuse it.

A row belongs to B when its resource carries B's names (`<prefix>-<env>-B-...`), is one of B's keys, or is B's
Pulumi state (`.pulumi/.../mlops-projects/B-<env>...`). Requests keep their resource tags
(`aws:ResourceTag/project`), so the ABAC fence (infra/iam/project_scope.py) is exercised where AWS evaluates
tags. Rows on `*` (actions without resource-level permissions) and on shared resources (the platform's subnets,
its logs key, the secrets key) cannot be told apart by project: they are counted, not asked.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from typing import Any

from infra.sufficiency.cfn_extract import cfn_types
from infra.sufficiency.documents import BOOTSTRAP_ADMIN, PLATFORM, Documents
from infra.sufficiency.hand_rows import OIDC_PROVIDER, StackFacts
from infra.sufficiency.programs import program_plan
from infra.sufficiency.requirements import (
    Requirement,
    UnresolvableError,
    fill,
    principal_context,
    resource_values,
)
from infra.sufficiency.simulate import ALLOWED, NOT_EVALUATED, Outcome, Verdicts, evaluate_many
from kernel.plan import Plan

PRINCIPAL_KEYS = ("aws:PrincipalArn", "aws:PrincipalAccount", "aws:PrincipalType")


@dataclass(frozen=True)
class Crossing:
    """One request of project `actor`'s principal on a resource of project `owner`, and its verdict."""

    environment: str
    actor: str
    owner: str
    outcome: Outcome
    same_kind: bool
    """The actor's principal is of the kind whose row this was (B's jobs row, asked by A's jobs role)."""

    @property
    def denied(self) -> bool:
        """True when the simulator evaluated the request and refused it."""
        return self.outcome.decision not in (ALLOWED, NOT_EVALUATED)

    def describe(self) -> str:
        """One line: who, what, on which of the owner's resources, and what allowed it."""
        row = self.outcome.requirement
        verdict = (
            f"ALLOWED by {self.outcome.allowed_by or 'the simulator'}"
            if self.outcome.allowed
            else (
                f"not evaluated ({self.outcome.detail})" if not self.denied else f"denied ({self.outcome.refused_by})"
            )
        )
        return (
            f"{self.environment}: {self.actor}'s {row.principal} -> {row.action} on {self.owner}'s {row.resource}: "
            f"{verdict}; {self.owner} needs it for {row.needed_by}"
        )


@dataclass(frozen=True)
class IsolationResult:
    """Every crossing of one environment, and the rows that could not be asked (shared or unscoped)."""

    environment: str
    crossings: list[Crossing]
    shared: int
    """Rows of a project on resources no name or tag sets apart (`*`, the platform's): not askable."""

    def tally(self) -> dict[str, tuple[int, int]]:
        """Per principal kind of the actor: (allowed or not evaluated, denied)."""
        leaked: Counter[str] = Counter()
        denied: Counter[str] = Counter()
        for crossing in self.crossings:
            kind = crossing.outcome.requirement.principal.removeprefix("github-oidc -> ")
            denied[kind] += crossing.denied
            leaked[kind] += not crossing.denied
        return {kind: (leaked[kind], denied[kind]) for kind in sorted(set(leaked) | set(denied))}


def resource_tags(plan: Plan, docs: Documents, part: Plan) -> dict[str, dict[str, str]]:
    """ARN -> tags of every tagged resource of one program's part (`part`: its resources, completed outputs).

    The ARNs are those of `cfn_types.yaml`'s templates (the same ones the deployer's rows name), so a request
    on the resource carries the tags AWS would evaluate as `aws:ResourceTag/<key>`.
    """
    table = cfn_types()
    found: dict[str, dict[str, str]] = {}
    for resource in part.resources:
        tags = resource.inputs.get("tags")
        entry = table.get(resource.type)
        if not isinstance(tags, dict) or not tags or entry is None:
            continue
        values = resource_values(part, docs, resource)
        for template in entry["arn"]:
            try:
                arn = fill(template, values)
            except UnresolvableError:
                continue
            if arn != "*":
                found.setdefault(arn, {str(k): str(v) for k, v in tags.items()})
    return found


def _tags_of(resource: str, tags: dict[str, dict[str, str]], base: str) -> dict[str, str]:
    """The tags of a resource, of the log group a log stream belongs to, or of the planned resources of its kind.

    A row may name an instance the plan names differently (`<endpoint>-planned` for the endpoint config a
    deployment creates): it carries the tags the program gives every resource of that kind and project.
    """
    found = tags.get(resource) or tags.get(resource.split(":log-stream:", 1)[0])
    if found or f"{base}-" not in resource:
        return found or {}
    kind = resource[: resource.index(f"{base}-") + len(base) + 1]
    return next((tagged for arn, tagged in sorted(tags.items()) if arn.startswith(kind)), {})


def owned_by(resource: str, facts: StackFacts, owner_keys: set[str]) -> bool:
    """Whether a resource is one of the project's own: its names, ids (`owner_keys`: keys, MLflow App), state."""
    base = facts.name_base
    return (
        f"{base}-" in resource
        or resource.endswith((f"/{base}", f":{base}"))
        or resource in owner_keys
        or f"{facts.pulumi_project}/{facts.stack}" in resource
    )


def crossing_rows(
    owner_rows: list[Requirement],
    owner: StackFacts,
    owner_keys: set[str],
    actor_view: Documents,
    tags: dict[str, dict[str, str]],
) -> tuple[list[tuple[Requirement, bool]], int]:
    """The owner's rows on its own resources, asked by the actor's principals; and how many rows were shared.

    Each request carries the owner's resource tags (`tags`, by ARN) where the row did not already.
    """
    asked: list[tuple[Requirement, bool]] = []
    shared = 0
    actor_roles = sorted(k for k, p in actor_view.principals.items() if k != BOOTSTRAP_ADMIN and "/" not in k)
    distinct: dict[tuple[str, str, str], Requirement] = {}
    for raw in owner_rows:
        if raw.trust or raw.principal == BOOTSTRAP_ADMIN or raw.principal.startswith(f"{PLATFORM}/"):
            continue
        if raw.resource_side_only or raw.unresolved:
            continue
        if not owned_by(raw.resource, owner, owner_keys):
            shared += 1
            continue
        row = _with_tags(raw, tags, owner.name_base)
        if row.principal in actor_view.principals:
            asked.append((_as(row, row.principal, actor_view), True))
        context = tuple((k, v) for k, v in row.context if k not in PRINCIPAL_KEYS)
        distinct.setdefault((row.action, row.resource, repr(context)), row)
    for row in distinct.values():
        asked += [(_as(row, role, actor_view), False) for role in actor_roles if role != row.principal]
    unique = {row.key: (row, same) for row, same in asked}
    return list(unique.values()), shared


def _with_tags(row: Requirement, tags: dict[str, dict[str, str]], base: str) -> Requirement:
    """The row with its resource's tags as `aws:ResourceTag/<key>`, unless it already names tags.

    A request that creates a tagged resource carries request tags (the resource has none yet): left as it is.
    """
    if any(key.startswith(("aws:ResourceTag/", "aws:RequestTag/")) for key, _ in row.context):
        return row
    context = dict(row.context) | {f"aws:ResourceTag/{k}": v for k, v in _tags_of(row.resource, tags, base).items()}
    return replace(row, context=tuple(sorted(context.items())))


def _as(row: Requirement, principal: str, view: Documents) -> Requirement:
    """The same request, signed by another principal."""
    context: dict[str, Any] = dict(row.context) | principal_context(view, principal, row.action)
    keep = {k: v for k, v in dict(row.context).items() if k not in PRINCIPAL_KEYS}
    return replace(row, principal=principal, context=tuple(sorted((context | keep).items())))


def trust_rows(owner_rows: list[Requirement], owner: StackFacts, actor: StackFacts) -> list[Requirement]:
    """The owner's deploy-role trust asked with the actor's GitHub environment."""
    rows = []
    for row in owner_rows:
        subject = dict(row.context).get(f"{OIDC_PROVIDER}:sub", "")
        if row.trust and str(subject).endswith(f":environment:{owner.deploy_environment}"):
            other = str(subject).removesuffix(owner.deploy_environment) + actor.deploy_environment
            context = dict(row.context) | {f"{OIDC_PROVIDER}:sub": other}
            rows.append(
                replace(row, context=tuple(sorted(context.items())), needed_by=f"{row.needed_by} [sub {other}]")
            )
    return rows


@dataclass
class IsolationBatch:
    """The crossing requests of one environment, as parts of its simulator batch, and what each one is."""

    environment: str
    parts: list[tuple[Documents, list[Requirement]]]
    labels: list[tuple[str, str, list[bool]]]
    shared: int

    def result(self, outcomes: list[list[Outcome]]) -> IsolationResult:
        """The verdicts of `parts` (in order), as crossings."""
        crossings = [
            Crossing(self.environment, actor, owner, outcome, same)
            for (actor, owner, same_kinds), found in zip(self.labels, outcomes, strict=True)
            for outcome, same in zip(found, same_kinds, strict=True)
        ]
        return IsolationResult(self.environment, crossings, self.shared)


def isolation_batch(
    plan: Plan, docs: Documents, rows: dict[str | None, list[Requirement]], facts: dict[str | None, StackFacts]
) -> IsolationBatch:
    """Every project's needs asked of every other project's principals (`rows` and `facts` by program)."""
    projects = [p for p in plan.projects if p in rows]
    batch = IsolationBatch(plan.stack, [], [], 0)
    for owner in projects:
        outputs = plan.outputs.get("projects", {}).get(owner, {})
        # ARNs that end in a generated id, not a name: the project's keys and its MLflow App
        keys = {str(arn) for arn in outputs.get("key_arns", {}).values()} | {str(outputs.get("tracking_arn") or "")}
        keys.discard("")
        for actor in (p for p in projects if p != owner):
            view = docs.program(actor)
            tags = resource_tags(plan, docs, program_plan(plan, owner))
            asked, unscoped = crossing_rows(rows[owner], facts[owner], keys, view, tags)
            batch.shared += unscoped
            batch.parts.append((view, [row for row, _ in asked]))
            batch.labels.append((actor, owner, [same for _, same in asked]))
            trust = trust_rows(rows[owner], facts[owner], facts[actor])
            batch.parts.append((docs.program(owner), trust))
            batch.labels.append((actor, owner, [True] * len(trust)))
    return batch


def isolation(
    plan: Plan,
    docs: Documents,
    rows: dict[str | None, list[Requirement]],
    facts: dict[str | None, StackFacts],
    verdicts: Verdicts | None = None,
) -> IsolationResult:
    """The isolation proof of one environment on its own simulator batch (the suite runs it with its rows)."""
    batch = isolation_batch(plan, docs, rows, facts)
    return batch.result(evaluate_many(batch.parts, verdicts=verdicts))
