"""The mandatory tags every taggable resource carries, for ownership, cost allocation and policy."""

from __future__ import annotations

from kernel.models import StackConfig

MANDATORY_TAG_KEYS: tuple[str, ...] = ("owner", "environment", "cost-center", "project", "managed-by")
"""Keys the policy pack and the tests require on every taggable resource."""


PLATFORM = "platform"
"""The `project` tag of the platform's own resources (a project's carry its name: cost allocation and ABAC)."""


def mandatory_tags(config: StackConfig, team: str | None = None) -> dict[str, str]:
    """The tags of every resource of this stack, in a stable order.

    `project` is the ML project's name (`platform` for the platform's resources) and `owner` its team: the
    cost allocation tags that split the bill per project, and the tag project roles are fenced by.
    """
    return {
        "owner": team or config.owner,
        "environment": config.environment,
        "cost-center": config.cost_center,
        "project": config.project or PLATFORM,
        "managed-by": "pulumi",
    }
