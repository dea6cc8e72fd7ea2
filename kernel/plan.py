"""The plan JSON contract (shared/DESIGN.md): what the policy checks, cost and tests read."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

SECRET = "[secret]"


@dataclass(frozen=True)
class PlannedResource:
    """One resource the program registers: Pulumi type token, logical name and provider inputs (camelCase)."""

    urn: str
    type: str
    name: str
    parent: str | None
    inputs: dict[str, Any]
    dependencies: list[str]
    options: dict[str, Any] = field(default_factory=dict)
    """Resource options that decide deletes and replacements, only when set: `protect`, `retainOnDelete`,
    `deleteBeforeReplace`, `replacementTrigger`."""
    program: str = "platform"
    """The program that registers it: `platform`, or `project` (one stack per project and environment)."""
    stack: str = ""
    """The stack it belongs to: the environment's (`dev`) or a project's (`churn-dev`)."""
    ml_project: str | None = None
    """The ML project a project program's resource belongs to; None for the platform's."""


@dataclass(frozen=True)
class Plan:
    """Every resource one stack registers, sorted by URN, plus the stack outputs."""

    stack: str
    project: str
    resources: list[PlannedResource]
    outputs: dict[str, Any] = field(default_factory=dict)

    def of_project(self, project: str | None) -> Plan:
        """The part of this environment's plan one program registered: a project's, or the platform's (None)."""
        return Plan(
            stack=self.stack,
            project=self.project,
            resources=[resource for resource in self.resources if resource.ml_project == project],
            outputs=self.outputs.get("projects", {}).get(project, {}) if project else self.outputs,
        )

    @property
    def projects(self) -> list[str]:
        """The ML projects this plan holds."""
        return sorted({resource.ml_project for resource in self.resources if resource.ml_project})

    def of_type(self, token: str) -> list[PlannedResource]:
        """Resources with Pulumi type token `token`, e.g. `aws:s3/bucket:Bucket`."""
        return [resource for resource in self.resources if resource.type == token]

    def one(self, token: str, name: str) -> PlannedResource:
        """The resource of type `token` whose logical name is `name`; KeyError when absent."""
        for resource in self.of_type(token):
            if resource.name == name:
                return resource
        raise KeyError(f"no {token} named {name!r} in the {self.stack} plan")

    def by_urn(self, urn: str) -> PlannedResource:
        """The resource with this URN; KeyError when absent."""
        for resource in self.resources:
            if resource.urn == urn:
                return resource
        raise KeyError(urn)

    def children(self, parent_urn: str) -> list[PlannedResource]:
        """Direct children of a component."""
        return [resource for resource in self.resources if resource.parent == parent_urn]

    def count_by_type(self) -> Counter[str]:
        """How many resources of each type the plan registers."""
        return Counter(resource.type for resource in self.resources)

    def to_dict(self) -> dict[str, Any]:
        """The JSON document of the contract."""
        return {
            "stack": self.stack,
            "project": self.project,
            "resources": [asdict(resource) for resource in self.resources],
            "outputs": self.outputs,
        }

    def write(self, path: Path) -> None:
        """Write the plan JSON (stable key order, so two plans of one stack diff cleanly)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n", encoding="utf-8")

    @classmethod
    def read(cls, path: Path) -> Plan:
        """Load a plan JSON written by `write` (or by `mlops plan --json`)."""
        document = json.loads(path.read_text(encoding="utf-8"))
        return cls(
            stack=document["stack"],
            project=document["project"],
            resources=[PlannedResource(**resource) for resource in document["resources"]],
            outputs=document.get("outputs", {}),
        )
