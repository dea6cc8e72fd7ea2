"""What a rule sees (a resource's type and provider inputs), what it knows (the environment), what it says."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

Level = Literal["advisory", "mandatory", "disabled"]
Family = Literal["encryption", "exposure", "identity", "sagemaker", "audit", "tagging", "cost"]


@dataclass(frozen=True)
class Resource:
    """A resource as a policy sees it: Pulumi type token, logical name, URN and camelCase inputs."""

    type: str
    name: str
    urn: str
    props: Mapping[str, Any]

    @property
    def inputs(self) -> Mapping[str, Any]:
        """The inputs under the plan JSON's name for them, so cost estimates read policy resources too."""
        return self.props

    def json(self, key: str) -> Any:
        """An input that holds a JSON document (policies, pipeline definitions), parsed; None when absent."""
        value = self.props.get(key)
        if isinstance(value, str):
            try:
                return json.loads(value)
            except json.JSONDecodeError:
                return None
        return value


@dataclass(frozen=True)
class Context:
    """What rules need to know about the stack under check."""

    environment: str
    allowed_instance_types: Sequence[str] = ()
    config: Any = None
    """The program's validated config view (`kernel.StackConfig`), for rules that price or size the stack."""
    program: str = "platform"
    """The program whose stack is checked: `platform`, or `project` (which reads the platform's trail, network
    and job log groups by StackReference instead of declaring them)."""


ResourceCheck = Callable[[Resource, Context], Iterable[str]]
StackCheck = Callable[[Sequence[Resource], Context], Iterable[tuple[Resource | None, str]]]


@dataclass(frozen=True)
class Rule:
    """One guardrail: what it checks, why it exists, how to fix a violation, and what it maps to."""

    id: str
    family: Family
    description: str
    why: str
    fix: str
    control: str
    """AWS Security Hub control or best practice this rule enforces."""
    types: tuple[str, ...] = ()
    check: ResourceCheck | None = None
    stack_check: StackCheck | None = None

    def run(self, resources: Sequence[Resource], context: Context) -> list[Violation]:
        """Every violation of this rule in `resources`."""
        found = []
        if self.check is not None:
            for resource in resources:
                if resource.type in self.types:
                    found += [Violation(self, resource, message) for message in self.check(resource, context)]
        if self.stack_check is not None:
            found += [Violation(self, resource, message) for resource, message in self.stack_check(resources, context)]
        return found


@dataclass(frozen=True)
class Violation:
    """A rule broken by a resource (or by the stack as a whole when `resource` is None)."""

    rule: Rule
    resource: Resource | None
    message: str
    level: Level = field(default="mandatory")
