"""The fork's own stack files: each validates, plans, passes the policy pack and is fully priced.

Parameterised over whatever `Pulumi.*.yaml` the repository holds, with no example value in any
assertion: a fork that edits its accounts, region, org and personas keeps these green, and a fork
whose edit is wrong sees which file and key. The blueprint's own tests use tests/fixtures/stacks/.
"""

from __future__ import annotations

import pytest

from infra.cost.environment import estimate_environment
from infra.plan.evaluate import PROJECT_ROOT, evaluate_stack
from kernel import StackConfig, stack_names
from kernel.plan import Plan
from kernel.views import platform_view, project_view
from mlops.validation import validate_stacks
from policies.check import check_plan

FORK_STACKS = stack_names(PROJECT_ROOT)


@pytest.fixture(scope="module")
def fork_plans() -> dict[str, Plan]:
    return {stack: evaluate_stack(stack, PROJECT_ROOT) for stack in FORK_STACKS}


def test_the_fork_has_a_stack_file_per_environment() -> None:
    assert FORK_STACKS[:3] == ["dev", "staging", "prod"], FORK_STACKS


def test_every_stack_file_validates() -> None:
    assert validate_stacks(PROJECT_ROOT) is not None, "run `mlops validate`: it names each file, key and fix"


def _views(plan: Plan, stack: str) -> dict[str, StackConfig]:
    return {name: project_view(PROJECT_ROOT, stack, name) for name in plan.projects}


@pytest.mark.parametrize("stack", FORK_STACKS)
def test_every_stack_passes_the_policy_pack(fork_plans: dict[str, Plan], stack: str) -> None:
    """The platform's stack and every project's, each with its own view."""
    plan = fork_plans[stack]
    violations = check_plan(plan, platform_view(PROJECT_ROOT, stack), _views(plan, stack))
    mandatory = [v for v in violations if v.level == "mandatory"]
    assert not mandatory, [f"{v.rule.id}: {v.message}" for v in mandatory]


@pytest.mark.parametrize("stack", FORK_STACKS)
def test_every_stack_is_fully_priced(fork_plans: dict[str, Plan], stack: str) -> None:
    plan = fork_plans[stack]
    report = estimate_environment(plan, platform_view(PROJECT_ROOT, stack), _views(plan, stack))
    assert report.unpriced == [], report.unpriced
    assert set(report.projects) == set(plan.projects) and report.platform is not None
