"""The fork's own stack files: each validates, plans, passes the policy pack and is fully priced.

Parameterised over whatever `Pulumi.*.yaml` the repository holds, with no example value in any
assertion: a fork that edits its accounts, region, org and personas keeps these green, and a fork
whose edit is wrong sees which file and key. The blueprint's own tests use tests/fixtures/stacks/.
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pytest

from infra.cost.estimate import estimate
from infra.plan.evaluate import PROJECT_ROOT, evaluate_stack
from kernel import stack_names
from kernel.plan import Plan
from kernel.stack_set import check_project
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


@pytest.mark.parametrize("stack", FORK_STACKS)
def test_every_stack_passes_the_policy_pack(fork_plans: dict[str, Plan], stack: str) -> None:
    config = check_project(stack, PROJECT_ROOT)
    mandatory = [v for v in check_plan(fork_plans[stack], config) if v.level == "mandatory"]
    assert not mandatory, [f"{v.rule.id}: {v.message}" for v in mandatory]


@pytest.mark.parametrize("stack", FORK_STACKS)
def test_every_stack_is_fully_priced(fork_plans: dict[str, Plan], stack: str) -> None:
    config = check_project(stack, PROJECT_ROOT)
    report = estimate(stack, fork_plans[stack].resources, config)
    assert report.unpriced == [], report.unpriced


def test_an_adapted_fork_validates(tmp_path: Path) -> None:
    """The edits README step 2 asks for (tools/adapted_fork.py makes them) leave every stack file valid."""
    spec = importlib.util.spec_from_file_location("adapted_fork", PROJECT_ROOT / "tools" / "adapted_fork.py")
    assert spec is not None and spec.loader is not None
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    for path in [PROJECT_ROOT / "Pulumi.yaml", *PROJECT_ROOT.glob("Pulumi.*.yaml")]:
        shutil.copy(path, tmp_path / path.name)
    tool.adapt_stack_files(tmp_path)
    configs = validate_stacks(tmp_path)
    assert configs is not None
    assert {config.region for config in configs.values()} == {tool.REGION}
    assert all(config.network.availability_zones == tool.ZONES for config in configs.values())
