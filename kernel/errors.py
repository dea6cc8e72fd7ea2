"""The one exception a bad stack file raises, carrying every problem found in it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a stack file: the key path (as written in the file) and what to do."""

    key: str
    message: str
    source: str | None = None
    """The file the key is written in, when not the error's own (a project's key in a stack's view)."""


class ConfigError(Exception):
    """A stack file failed validation; `str()` gives one line per problem, naming file and key."""

    def __init__(self, source: str, problems: list[Problem]) -> None:
        self.source = source
        self.problems = problems
        super().__init__("\n".join(self.lines()))

    def lines(self) -> list[str]:
        """One `file: key: message` line per problem."""
        return [
            f"{problem.source or self.source}: {problem.key}: {problem.message}"
            if problem.key
            else f"{problem.source or self.source}: {problem.message}"
            for problem in self.problems
        ]


def problems_from(
    error: ValidationError, model: type[BaseModel], key: Callable[[Loc], str], where: str
) -> list[Problem]:
    """One `Problem` per pydantic error: the key as written in the file, and what to do about it.

    `where` names the file kind in the fix of a missing key ("the stack file", "the schema file").
    """
    problems = []
    for detail in error.errors():
        loc: Loc = tuple(detail["loc"])
        kind = detail["type"]
        if kind == "missing":
            problems.append(Problem(key(loc), f"is required: add it to {where}"))
        elif kind == "extra_forbidden":
            known = ", ".join(known_keys(model, loc[:-1]))
            fix = f"is not a known setting; remove it or fix the spelling (known here: {known})"
            problems.append(Problem(key(loc), fix))
        else:
            message = str(detail["msg"]).removeprefix("Value error, ")
            if kind not in ("cross_field", "value_error") and not isinstance(detail.get("input"), dict | type(None)):
                message = f"{message} (got {detail['input']!r})"
            problems.append(Problem(key(loc), message))
    return problems


def known_keys(model: type[BaseModel], loc: Loc) -> list[str]:
    """The keys (aliases) a model accepts at `loc`, for "did you mean" messages."""
    for part in loc:
        if isinstance(part, int):
            continue
        field = next((f for n, f in model.model_fields.items() if part in (n, f.alias)), None)
        annotation = getattr(field, "annotation", None)
        nested = next((arg for arg in (annotation, *getattr(annotation, "__args__", ())) if _is_model(arg)), None)
        if nested is None:
            return []
        model = nested
    return [field.alias or name for name, field in model.model_fields.items()]


def _is_model(candidate: Any) -> bool:
    return isinstance(candidate, type) and issubclass(candidate, BaseModel)
