"""Shared fixtures: each shipped stack is planned once per session under Pulumi mocks."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.config import StackConfig, load_stack_file, stack_file
from infra.plan.evaluate import PROJECT_ROOT, evaluate_stack
from infra.plan.model import Plan

STACKS = ("dev", "staging", "prod")


@pytest.fixture(scope="session")
def project_root() -> Path:
    return PROJECT_ROOT


@pytest.fixture(scope="session")
def plans() -> dict[str, Plan]:
    """The plan of every shipped stack, evaluated once: the program is deterministic."""
    return {stack: evaluate_stack(stack) for stack in STACKS}


@pytest.fixture(scope="session")
def configs() -> dict[str, StackConfig]:
    return {stack: load_stack_file(stack_file(stack, PROJECT_ROOT)) for stack in STACKS}


@pytest.fixture(params=STACKS)
def stack(request: pytest.FixtureRequest) -> str:
    """Parametrises a test over the three shipped stacks."""
    return str(request.param)


@pytest.fixture
def plan(plans: dict[str, Plan], stack: str) -> Plan:
    return plans[stack]


@pytest.fixture
def config(configs: dict[str, StackConfig], stack: str) -> StackConfig:
    return configs[stack]
