"""The review deploy role: deploys and destroys review stacks (kernel/review.py), and nothing else.

It is the project deployer (infra/iam/project_scope.py) of the pseudo-project `pr`: every statement is built by
the same functions, from `Arns` of the naming `<prefix>-dev-pr`, so its ARN patterns are `<prefix>-dev-pr-*`:
every review stack's names, and no project's (no project may be named `pr`; project names have no hyphen) nor
the platform's. Where a statement is scoped by the `project` tag, the review stacks' tags (`pr-<N>-<project>`)
are matched by `StringLike pr-*`, which no project's tag matches; the fence denies everything on a resource or
request tagged with any other project (the platform's stay usable: review jobs run in its subnets).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from infra.iam.arns import Arns
from infra.iam.deployer import state_backend_statements
from infra.iam.project_scope import project_deployer_statements, tag_fence
from infra.policy_document import Statement
from kernel.naming import Naming
from kernel.program_stacks import PLATFORM_PROJECT, PROJECTS_PROJECT
from kernel.review import REVIEW_ENVIRONMENT, REVIEW_TENANT
from kernel.tags import PLATFORM

REVIEW_TAGS = f"{REVIEW_TENANT}-*"
"""The `project` tag of every review stack (`pr-<N>-<project>`)."""
REVIEW_STACKS = f"*-{REVIEW_ENVIRONMENT}-{REVIEW_TENANT}*"
"""Every review stack's name (`<project>-dev-pr<N>`) in the Pulumi state; no project's stack (`<project>-<env>`)."""


def review_naming(platform: Naming) -> Naming:
    """The names every review stack's lie under: `<prefix>-dev-pr-*` (the pseudo-project `pr`)."""
    return platform.platform.for_project(REVIEW_TENANT)


def review_fence() -> list[Statement]:
    """Deny everything on resources, and requests, tagged with a project that is not a review (nor the platform)."""
    return tag_fence("FenceNonReview", "StringNotLike", [REVIEW_TAGS, PLATFORM], [REVIEW_TAGS])


def review_deployer_statements(platform: Naming, boundary_arn: str) -> list[Statement]:
    """Create, update and destroy every review stack's resources: the project deployer of `pr`, tags by pattern."""
    arns = Arns(review_naming(platform))
    aliases = arns.regional("kms", f"alias/{platform.prefix}/{platform.environment}/{REVIEW_TENANT}-*")
    # The pseudo-project's bucket (`<prefix>-dev-pr-artifacts-...`) stands for every review's (`-pr-*-artifacts-`).
    own_artifacts = arns.bucket("artifacts")
    artifacts = own_artifacts.replace(f"{arns.naming.base}-", f"{arns.naming.base}-*-", 1)
    statements = []
    for statement in project_deployer_statements(arns, boundary_arn):
        resources = [
            resource.replace(own_artifacts, artifacts, 1) if isinstance(resource, str) else resource
            for resource in statement.resources or []
        ]
        if statement.sid == "KeyAliases":  # `alias/<prefix>/dev/pr-<N>-<project>/...`, not `.../pr/...`
            resources = [aliases, arns.regional("kms", "key/*")]
        statements.append(
            replace(statement, resources=resources or None, conditions=_tags_by_pattern(statement.conditions))
        )
    return statements


def review_state_statements(bucket: str) -> list[Statement]:
    """The review stacks' own state (any `<project>-dev-pr<N>`), and reads of dev's platform state."""
    return state_backend_statements(
        bucket, True, (PROJECTS_PROJECT, REVIEW_STACKS), ((PLATFORM_PROJECT, REVIEW_ENVIRONMENT),)
    )


def _tags_by_pattern(conditions: Mapping[str, Mapping[str, Any]] | None) -> dict[str, dict[str, Any]] | None:
    """`StringEquals aws:*Tag/project: pr` -> `StringLike aws:*Tag/project: pr-*` (every review's tag)."""
    if conditions is None:
        return None
    rewritten: dict[str, dict[str, Any]] = {operator: dict(values) for operator, values in conditions.items()}
    equals = rewritten.get("StringEquals", {})
    for key in [key for key in equals if key.endswith("Tag/project")]:
        del equals[key]
        rewritten.setdefault("StringLike", {})[key] = REVIEW_TAGS
    if "StringEquals" in rewritten and not rewritten["StringEquals"]:
        del rewritten["StringEquals"]
    return rewritten
