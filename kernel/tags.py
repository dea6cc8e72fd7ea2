"""The mandatory tags every taggable resource carries, for ownership, cost allocation and policy."""

from __future__ import annotations

from kernel.models import StackConfig

MANDATORY_TAG_KEYS: tuple[str, ...] = ("owner", "environment", "cost-center", "project", "managed-by")
"""Keys the policy pack and the tests require on every taggable resource."""


def mandatory_tags(config: StackConfig, project: str) -> dict[str, str]:
    """The tags of every resource of this stack, in a stable order."""
    return {
        "owner": config.owner,
        "environment": config.environment,
        "cost-center": config.cost_center,
        "project": project,
        "managed-by": "pulumi",
    }
