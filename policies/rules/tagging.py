"""Mandatory tags on every taggable resource: owner, environment, cost centre, project, managed-by."""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from functools import cache

from kernel.tags import MANDATORY_TAG_KEYS
from policies.model import Context, Resource, Rule
from policies.registry import register


@cache
def taggable(token: str) -> bool:
    """Whether the AWS provider's resource type accepts tags (read from pulumi_aws itself)."""
    package, rest = token.split(":", 1)
    if package != "aws" or "/" not in rest:
        return False
    module, class_name = rest.split("/")[0], rest.split(":")[-1]
    try:
        resource_class = getattr(importlib.import_module(f"pulumi_aws.{module}"), class_name)
    except (ImportError, AttributeError):
        return False
    return "tags" in resource_class._internal_init.__code__.co_varnames


def _tags(resource: Resource, context: Context) -> Iterable[str]:
    if not taggable(resource.type):
        return
    tags = resource.props.get("tags") or {}
    missing = [key for key in MANDATORY_TAG_KEYS if not tags.get(key)]
    if missing:
        yield f"missing tag(s) {', '.join(missing)}"
    elif tags.get("environment") != context.environment:
        yield f"tagged environment={tags.get('environment')} in the {context.environment} stack"


class _AnyAws(tuple[str, ...]):
    def __contains__(self, token: object) -> bool:
        return isinstance(token, str) and token.startswith("aws:")


register(
    Rule(
        id="mandatory-tags",
        family="tagging",
        description="Every taggable AWS resource carries owner, environment, cost-center, project and managed-by.",
        why="Cost allocation, ownership and environment-aware policies all read these tags.",
        fix="Pass the stack's mandatory tags (kernel/tags.py) to the resource.",
        control="AWS tagging best practice; Security Hub Config.1 tagging rules",
        types=_AnyAws(),
        check=_tags,
    )
)
