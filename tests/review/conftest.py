"""A review stack's plan, with a pinned model so that its endpoint is planned too (the longest SageMaker names)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from infra.plan.review import evaluate_review
from kernel.plan import Plan
from kernel.review import ReviewStack, review_stack
from tests.helpers import FIXTURE_STACKS

PACKAGE = "arn:aws:sagemaker:eu-west-1:111111111111:model-package/mlops-dev-churn-model/3"
LONGEST_PR = 99_999
"""Five digits: the review names at this number must fit every AWS limit."""


LONG_PROJECT = "churnabcde"
"""Ten characters: the longest project name README promises a review stack for (with prefix `mlops`, eu-west-1)."""


def pinned_root(tmp: Path, name: str = "churn") -> Path:
    """A copy of the fixture root whose churn project (renamed `name`) serves PACKAGE in dev."""
    shutil.copytree(FIXTURE_STACKS, tmp, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__"))
    if name != "churn":
        shutil.move(tmp / "projects" / "churn", tmp / "projects" / name)
    path = tmp / "projects" / name / "project.yaml"
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    document["name"] = name
    document["environments"]["dev"]["serving"]["modelPackageArn"] = PACKAGE
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return tmp


@pytest.fixture(scope="session")
def review() -> ReviewStack:
    """The longest project name's review stack at the longest pull request number README promises."""
    return review_stack(LONG_PROJECT, LONGEST_PR)


@pytest.fixture(scope="session")
def review_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture root with a model pinned in dev."""
    return pinned_root(tmp_path_factory.mktemp("review-root"), LONG_PROJECT)


@pytest.fixture(scope="session")
def review_plan(review: ReviewStack, review_root: Path) -> Plan:
    """The review stack's offline plan (its resources only)."""
    return evaluate_review(review, review_root)
