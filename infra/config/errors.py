"""The one exception a bad stack file raises, carrying every problem found in it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a stack file: the key path (as written in the file) and what to do."""

    key: str
    message: str


class ConfigError(Exception):
    """A stack file failed validation; `str()` gives one line per problem, naming file and key."""

    def __init__(self, source: str, problems: list[Problem]) -> None:
        self.source = source
        self.problems = problems
        super().__init__("\n".join(self.lines()))

    def lines(self) -> list[str]:
        """One `file: key: message` line per problem."""
        return [
            f"{self.source}: {problem.key}: {problem.message}" if problem.key else f"{self.source}: {problem.message}"
            for problem in self.problems
        ]
