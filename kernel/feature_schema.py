"""Feature group schemas: declared once in YAML, validated here, used by infra and by ingestion.

A schema names the record identifier and event-time features and types every feature with one of
Feature Store's three types. Records are checked against it before anything is written.
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, Self

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic.alias_generators import to_camel

from kernel import yaml_text
from kernel.errors import ConfigError, Loc, Problem, problems_from

FeatureType = Literal["Integral", "Fractional", "String"]
RESERVED = {"is_deleted", "write_time", "api_invocation_time"}
"""Columns Feature Store adds to the offline store itself; a feature may not use these names."""

_FEATURE_NAME = r"^[a-zA-Z0-9]([-_]*[a-zA-Z0-9]){0,63}$"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, alias_generator=to_camel, populate_by_name=True)


class FeatureDefinition(_Model):
    """One feature: name, Feature Store type, and what it means."""

    name: str = Field(pattern=_FEATURE_NAME, description="Letters, digits, - and _; at most 64 characters.")
    type: FeatureType = Field(description="Integral, Fractional or String.")
    description: str = Field(min_length=1, max_length=255)


class RecordProblem(BaseModel):
    """A record that does not fit its schema: which record, which field, what value, why."""

    index: int
    field: str
    value: Any
    message: str

    def __str__(self) -> str:
        return f"record {self.index}: {self.field}={self.value!r}: {self.message}"


class FeatureGroupSchema(_Model):
    """A feature group as declared in `projects/<project>/features/<name>.yaml`."""

    name: str = Field(pattern=r"^[a-z][a-z0-9-]{1,38}$", description="Short name; environments prefix it.")
    description: str = Field(min_length=1, max_length=128)
    owner: str = Field(min_length=2, max_length=64)
    record_identifier: str
    event_time: str
    features: list[FeatureDefinition] = Field(min_length=2, max_length=2500)

    @model_validator(mode="after")
    def _keys_and_names(self) -> Self:
        problems = []
        names = [feature.name.lower() for feature in self.features]
        for duplicate in sorted({name for name in names if names.count(name) > 1}):
            problems.append(f"feature {duplicate!r} is declared more than once (names are case-insensitive)")
        for reserved in sorted(RESERVED & set(names)):
            problems.append(f"feature {reserved!r} is reserved by Feature Store's offline store; rename it")
        types = {feature.name: feature.type for feature in self.features}
        if self.record_identifier not in types:
            problems.append(f"recordIdentifier {self.record_identifier!r} is not one of the features")
        elif types[self.record_identifier] == "Fractional":
            problems.append("recordIdentifier must be a String or Integral feature")
        if self.event_time not in types:
            problems.append(f"eventTime {self.event_time!r} is not one of the features")
        elif types[self.event_time] == "Integral":
            problems.append("eventTime must be a String (ISO-8601) or Fractional (epoch seconds) feature")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def parse_row(self, row: Mapping[str, str]) -> dict[str, Any]:
        """A CSV row (all strings) typed per the schema; empty cells become None, bad numbers stay strings."""
        typed: dict[str, Any] = {}
        types = self.types
        for field, text in row.items():
            if text is None or text == "":
                typed[field] = None
            elif types.get(field) == "Integral" and re.fullmatch(r"-?\d+", text):
                typed[field] = int(text)
            elif types.get(field) == "Fractional" and _is_number(text):
                typed[field] = float(text)
            else:
                typed[field] = text
        return typed

    @property
    def offline_table(self) -> str:
        """The offline store's Glue table name."""
        return offline_table_name(self.name)

    @property
    def types(self) -> dict[str, FeatureType]:
        """Feature name -> type."""
        return {feature.name: feature.type for feature in self.features}

    def record_problems(self, index: int, record: Mapping[str, Any]) -> list[RecordProblem]:
        """Everything wrong with one record; empty when it can be written."""
        problems = []
        types = self.types
        for key in (self.record_identifier, self.event_time):
            if record.get(key) in (None, ""):
                problems.append(RecordProblem(index=index, field=key, value=record.get(key), message="is required"))
        for field, value in record.items():
            problem = f"is not a feature of {self.name}" if field not in types else None
            if problem is None and value is not None:
                problem = _type_problem(types[field], value)
            if problem:
                problems.append(RecordProblem(index=index, field=field, value=value, message=problem))
        event = record.get(self.event_time)
        if isinstance(event, str) and types.get(self.event_time) == "String" and not _is_iso_time(event):
            message = "is not ISO-8601 UTC (2026-01-31T12:00:00Z)"
            problems.append(RecordProblem(index=index, field=self.event_time, value=event, message=message))
        return problems


def offline_table_name(feature_group: str) -> str:
    """The Glue table of a feature group's offline store (Athena wants underscores, not hyphens)."""
    return feature_group.replace("-", "_")


def _type_problem(kind: FeatureType, value: Any) -> str | None:
    boolean = isinstance(value, bool) or type(value).__name__ == "bool_"
    if kind == "Integral" and (boolean or not isinstance(value, numbers.Integral)):
        return "must be an integer"
    if kind == "Fractional":
        if boolean or not isinstance(value, numbers.Real):
            return "must be a number"
        if not math.isfinite(float(value)):
            return "must be finite"
    if kind == "String" and not isinstance(value, str):
        return "must be a string"
    return None


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _is_iso_time(value: str) -> bool:
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z", value):
        return False
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def load_schema(path: Path, source: str | None = None) -> FeatureGroupSchema:
    """Load and validate one schema file; `ConfigError` names the file (`source`, or its name) and each key."""
    source = source or path.name
    try:
        document = yaml_text.load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise ConfigError(source, [Problem("", f"is not valid YAML: {error}")]) from None
    try:
        return FeatureGroupSchema.model_validate(document)
    except ValidationError as error:
        raise ConfigError(source, problems_from(error, FeatureGroupSchema, _key, "the schema file")) from None


def load_schemas(directory: Path, prefix: str = "") -> list[FeatureGroupSchema]:
    """Every schema file (`*.yaml`) in `directory`, sorted by name; names must be unique.

    `prefix` is how errors name the folder (`projects/churn/features/`).
    """
    schemas = [load_schema(path, f"{prefix}{path.name}") for path in sorted(directory.glob("*.yaml"))]
    names = [schema.name for schema in schemas]
    if len(set(names)) != len(names):
        raise ConfigError(directory.name, [Problem("name", "two schema files declare the same feature group name")])
    return schemas


def _key(loc: Loc) -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path
