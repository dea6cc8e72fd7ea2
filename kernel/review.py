"""Review stacks: one short-lived stack of a project per pull request, in dev, on a cheap profile.

A review stack is the project program run on stack `<project>-dev-pr<N>`. It reads the dev platform's network,
keys and alerts topic by `StackReference` like the project's own dev stack, but its resources are named
`<prefix>-dev-pr-<N>-<project>-...` and tagged `project: pr-<N>-<project>`:
- no project can be named `pr` (kernel/projects.py RESERVED_NAMES) and project names have no hyphen, so no
  project's names (`<prefix>-dev-<project>-*`) or tag fall inside a review's, nor a review's inside a project's;
- every review's names share the prefix `<prefix>-dev-pr-`, and its `project` tag the prefix `pr-`: the review
  deploy role (infra/iam/review_scope.py) is fenced to those, and to nothing else.

The cheap profile (`review_sections`) overrides the project's dev settings: serverless serving at the smallest
memory, no online store, no scheduled retraining, no retraining on drift, MLflow only as the serverless App, no
persona roles, a small budget, and `teardown` so `pulumi destroy` deletes everything (nothing is retained).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from kernel.errors import ConfigError, Problem
from kernel.loader import parse_settings, read_stack_file, stack_file
from kernel.models import NAMESPACE, StackConfig
from kernel.program_stacks import PROJECTS_PROJECT
from kernel.projects import PROJECT_NAME, Project, load_project
from kernel.types import Environment

REVIEW_ENVIRONMENT: Environment = "dev"
"""Review stacks run in dev's account, on dev's platform (its network and keys)."""
SWEEP_ENVIRONMENT = "review-sweep"
"""The GitHub environment of the scheduled sweep's job: its OIDC subject `environment:review-sweep` is trusted by the
review deploy role (a schedule's own subject, `ref:refs/heads/main`, is not). No project's deploy environment
(`<env>-<project>`, no hyphen in a project) and no platform's (`dev`, `staging`, `prod`) is named so."""
REVIEW_TENANT = "pr"
"""The first name segment of every review resource, and of its `project` tag: reserved as a project name."""
MAX_PR = 999_999
"""Pull request numbers a review stack accepts; the names' length budget is checked per stack anyway."""
_REVIEW_STACK = re.compile(rf"^(?P<project>{PROJECT_NAME[1:-1]})-{REVIEW_ENVIRONMENT}-pr(?P<pr>[1-9][0-9]{{0,5}})$")

REVIEW_BUDGET_USD = 25.0
"""A review stack's monthly budget: it idles at cents a day, so an alert means something runs that should not."""


@dataclass(frozen=True)
class ReviewStack:
    """One pull request's review stack of one project."""

    project: str
    pr: int

    @property
    def stack(self) -> str:
        """The Pulumi stack: `<project>-dev-pr<N>` (letters, digits and hyphens, as Pulumi accepts)."""
        return f"{self.project}-{REVIEW_ENVIRONMENT}-pr{self.pr}"

    @property
    def scope(self) -> str:
        """What stands for the project in its resource names and `project` tag: `pr-<N>-<project>`."""
        return f"{REVIEW_TENANT}-{self.pr}-{self.project}"


def review_stack(project: str, pr: int) -> ReviewStack:
    """The review stack of `project` for pull request `pr`; `ConfigError` for a bad project name or number."""
    problems = []
    if not re.fullmatch(PROJECT_NAME, project):
        problems.append(Problem("--project", f"{project!r} is not a project name (a-z and 0-9, 2-12 characters)"))
    if not 1 <= pr <= MAX_PR:
        problems.append(Problem("--pr", f"{pr} is not a pull request number (1 to {MAX_PR})"))
    if problems:
        raise ConfigError("mlops review", problems)
    return ReviewStack(project, pr)


def parse_review_stack(stack: str) -> ReviewStack | None:
    """`churn-dev-pr12` -> ReviewStack("churn", 12); None for any other name (a project's or the platform's)."""
    match = _REVIEW_STACK.fullmatch(stack)
    return ReviewStack(match["project"], int(match["pr"])) if match else None


def review_sections(dev: Mapping[str, Any]) -> dict[str, Any]:
    """A project's settings for its review stack: its dev sections (camelCase) with the cheap profile applied.

    What the pull request changes in training (instance types, tuning, metrics) is kept, so the review shows it;
    what costs money while idle, or runs on a schedule, is switched off or made the smallest.
    """
    sections = {key: dict(value) if isinstance(value, Mapping) else value for key, value in dev.items()}
    sections["personas"] = {}  # no persona roles: reviewers read the stack's outputs, CI deploys it
    sections["featureStore"] = {**sections.get("featureStore", {}), "onlineStore": False}
    sections["featureStore"].pop("onlineTtlDays", None)
    serving = sections.get("serving", {})
    sections["serving"] = {
        key: value
        for key, value in {
            "mode": "serverless",
            "modelPackageArn": serving.get("modelPackageArn"),
            "serverless": {"memorySizeMb": 1024, "maxConcurrency": 1, "outsideVpc": True},
            "dataCapturePercentage": 0,
        }.items()
        if value is not None
    }
    training = sections.get("training")
    if isinstance(training, dict):
        tracking = dict(training.get("tracking", {}))
        if tracking.get("enabled", False):
            tracking["kind"] = "app"  # serverless MLflow, billed by use: no always-on tracking server
            tracking.pop("serverSize", None)
        training["tracking"] = tracking
    monitoring = {**sections.get("monitoring", {}), "retrainOnDrift": False}
    monitoring.pop("retrainSchedule", None)
    sections["monitoring"] = monitoring
    sections["cost"] = {
        **sections.get("cost", {}),
        "monthlyBudgetUsd": REVIEW_BUDGET_USD,
        "expected": {
            "trainingHours": 0,
            "processingHours": 0,
            "serverlessRequests": 0,
            "storageGb": 1,
            "onlineStoreGb": 0,
            "logsIngestGb": 0,
            "s3DataEvents": 0,
        },
    }
    return sections


@dataclass(frozen=True)
class ReviewProject:
    """A project as its review stack sees it: its dev settings with the cheap profile (for `parse_settings`)."""

    project: Project

    @property
    def name(self) -> str:
        """The project's name: the review runs the project's code and data contract."""
        return self.project.name

    @property
    def source(self) -> str:
        """The project's file, as errors name it."""
        return self.project.source

    def settings(self, environment: Environment) -> dict[str, Any]:
        """The project's sections for `environment` with the review profile applied."""
        return review_sections(self.project.settings(environment))


def review_values(values: Mapping[str, Any]) -> dict[str, Any]:
    """The dev stack file's settings for a review stack: `teardown`, so `pulumi destroy` may delete everything."""
    return {**values, f"{NAMESPACE}:teardown": "true"}


def review_view(root: Path, review: ReviewStack) -> tuple[StackConfig, Project]:
    """The settings a review stack runs on (dev's stack file, the project's dev sections, the cheap profile).

    Raises `ConfigError` naming the file and key when the profile does not validate (the kernel's rules apply).
    """
    project = load_project(root, review.project)
    path = stack_file(REVIEW_ENVIRONMENT, root)
    return parse_settings(review_values(read_stack_file(path)), path.name, ReviewProject(project)), project


@dataclass(frozen=True)
class SweepCandidate:
    """A review stack the sweep destroys, and why."""

    stack: str
    pr: int
    reason: str


def sweep(
    stacks: Iterable[Mapping[str, Any]], open_prs: Iterable[int], now: datetime, ttl: timedelta
) -> list[SweepCandidate]:
    """The review stacks to destroy: their pull request is not open, or their last update is older than `ttl`.

    `stacks` is `pulumi stack ls --json` of the projects' Pulumi project (entries with `name`, `lastUpdate`,
    `updateInProgress`); a name may be qualified (`organization/mlops-projects/churn-dev-pr12`). Only names that
    parse as review stacks of that project are considered: a project's or the platform's stack is never selected.
    A stack whose update is in progress is left to the next sweep (its lock would refuse the destroy).
    """
    open_set = set(open_prs)
    selected = []
    for entry in stacks:
        name = str(entry.get("name", ""))
        organization, _, rest = name.rpartition("/")
        if organization and organization.rpartition("/")[2] != PROJECTS_PROJECT:
            continue
        review = parse_review_stack(rest)
        if review is None or entry.get("updateInProgress"):
            continue
        updated = _timestamp(entry.get("lastUpdate"))
        if review.pr not in open_set:
            selected.append(SweepCandidate(rest, review.pr, f"pull request #{review.pr} is not open"))
        elif updated is not None and now - updated > ttl:
            hours = (now - updated) / timedelta(hours=1)
            selected.append(SweepCandidate(rest, review.pr, f"last updated {hours:.0f} h ago, over the TTL"))
    return sorted(selected, key=lambda candidate: candidate.stack)


def _timestamp(value: Any) -> datetime | None:
    """An RFC 3339 time as `pulumi stack ls --json` writes it; None when absent (never updated)."""
    if not value:
        return None
    parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
