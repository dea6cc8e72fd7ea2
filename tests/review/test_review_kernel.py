"""Review stack names, their scope and the sweep's selection (kernel/review.py), without the Pulumi runtime."""

from __future__ import annotations

import fnmatch
from datetime import UTC, datetime, timedelta

import pytest

from kernel.errors import ConfigError
from kernel.loader import STACK_NAME
from kernel.program_stacks import parse_project_stack, project_stack
from kernel.projects import RESERVED_NAMES
from kernel.review import parse_review_stack, review_stack, sweep
from kernel.types import ENVIRONMENTS

NOW = datetime(2026, 11, 29, 3, 0, tzinfo=UTC)
TTL = timedelta(hours=72)


def test_a_review_stack_name_is_deterministic_valid_for_pulumi_and_parses_back() -> None:
    review = review_stack("churn", 12)
    assert review.stack == "churn-dev-pr12" == review_stack("churn", 12).stack
    assert review.scope == "pr-12-churn"
    assert STACK_NAME.fullmatch(review.stack)
    assert parse_review_stack(review.stack) == review


@pytest.mark.parametrize("stack", ["churn-dev", "churn-staging", "churn-prod", "dev", "prod", "churn-dev-pr0",
                                   "churn-dev-pr012", "churn-prod-pr12", "Churn-dev-pr1", "churn-dev-pr1-x", "pr-dev-pr1x"])  # fmt: skip
def test_no_other_stack_parses_as_a_review(stack: str) -> None:
    assert parse_review_stack(stack) is None


def test_no_project_stack_is_a_review_and_no_review_is_a_project_stack() -> None:
    for project in ("churn", "claims", "pr2", "dev"):
        for environment in ENVIRONMENTS:
            assert parse_review_stack(project_stack(project, environment)) is None
    with pytest.raises(ConfigError):
        parse_project_stack("churn-dev-pr12")


def test_pr_is_reserved_so_no_project_names_fall_inside_the_review_fence() -> None:
    """The review role's patterns (`mlops-dev-pr-*`, tag `pr-*`) match every review's names and no project's."""
    assert "pr" in RESERVED_NAMES
    review = f"mlops-dev-{review_stack('churn', 7).scope}-jobs"
    assert fnmatch.fnmatchcase(review, "mlops-dev-pr-*")
    for project in ("prices", "prx", "pro", "churn"):
        assert not fnmatch.fnmatchcase(f"mlops-dev-{project}-jobs", "mlops-dev-pr-*")
        assert not fnmatch.fnmatchcase(project, "pr-*")
        assert not fnmatch.fnmatchcase(review, f"mlops-dev-{project}-*")


@pytest.mark.parametrize(("project", "pr"), [("Churn", 1), ("churn", 0), ("churn", 1_000_000), ("a", 3)])
def test_bad_review_input_names_the_option(project: str, pr: int) -> None:
    with pytest.raises(ConfigError) as raised:
        review_stack(project, pr)
    assert "--project" in str(raised.value) or "--pr" in str(raised.value)


def _stack(name: str, hours_ago: float | None = 1, in_progress: bool = False) -> dict[str, object]:
    entry: dict[str, object] = {"name": name, "current": False, "updateInProgress": in_progress, "resourceCount": 90}
    if hours_ago is not None:
        entry["lastUpdate"] = (NOW - timedelta(hours=hours_ago)).isoformat().replace("+00:00", "Z")
    return entry


def test_the_sweep_selects_reviews_of_closed_pull_requests_and_stale_ones() -> None:
    stacks = [
        _stack("churn-dev-pr1"),  # open, fresh: kept
        _stack("churn-dev-pr2"),  # closed: destroyed
        _stack("claims-dev-pr3", hours_ago=100),  # open but stale: destroyed
        _stack("organization/mlops-projects/claims-dev-pr4", hours_ago=None),  # closed, never updated: destroyed
        _stack("claims-dev-pr5", in_progress=True),  # closed, but its update holds the lock: next sweep
    ]
    selected = sweep(stacks, [1, 3], NOW, TTL)
    assert [(c.stack, c.pr) for c in selected] == [("churn-dev-pr2", 2), ("claims-dev-pr3", 3), ("claims-dev-pr4", 4)]
    assert "not open" in selected[0].reason and "TTL" in selected[1].reason


def test_the_sweep_never_selects_a_stack_that_is_not_a_review() -> None:
    """Project and platform stacks, whatever their age and whichever pull requests are open, are left alone."""
    others = [
        *(project_stack(project, env) for project in ("churn", "claims", "pr1") for env in ENVIRONMENTS),
        *ENVIRONMENTS,
        "organization/mlops/dev",
        "organization/mlops/churn-dev-pr1",  # a review's name, but in the platform's Pulumi project
        "organization/other/churn-dev-pr1",
        "churn-dev-pr",
        "churn-dev-pr1.bak",
    ]
    assert sweep([_stack(name, hours_ago=10_000) for name in others], [], NOW, TTL) == []
