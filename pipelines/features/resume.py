"""Which records of an input an earlier ingestion wrote, as `--skip` takes it and a failed run prints it.

A sequential run writes records in order, so what it wrote is always a prefix: `--skip 120` (rows 1 to
120). Parallel lanes run ahead of each other, so a run that stops may also have written some rows
after the first one missing: `--skip 120+126,131` adds rows 126 and 131. Rows count from 1 (the first
line after the header), as every message of `mlops features ingest` counts them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

_SPEC = re.compile(r"(\d+)(?:\+(\d+(?:,\d+)*))?")


@dataclass(frozen=True)
class ResumePoint:
    """The records already written: the first `prefix`, and the 0-based indices `extra` beyond them."""

    prefix: int = 0
    extra: frozenset[int] = frozenset()

    @classmethod
    def of(cls, written: Iterable[int]) -> ResumePoint:
        """The resume point of the 0-based indices `written`."""
        indices = set(written)
        prefix = 0
        while prefix in indices:
            prefix += 1
        return cls(prefix, frozenset(index for index in indices if index > prefix))

    @classmethod
    def parse(cls, text: str) -> ResumePoint:
        """`N` or `N+ROW,ROW...` (rows from 1); ValueError says what is expected."""
        match = _SPEC.fullmatch(text.strip())
        if match is None:
            raise ValueError(
                f"{text!r} is not a resume point: expected N (the first N rows) or N+ROW,ROW,... "
                "(also those rows, counted from 1), as a failed run prints it"
            )
        prefix = int(match.group(1))
        rows = [int(row) for row in match.group(2).split(",")] if match.group(2) else []
        if any(row == 0 for row in rows):
            raise ValueError(f"{text!r}: rows count from 1")
        return cls.of([*range(prefix), *(row - 1 for row in rows)])

    def covers(self, index: int) -> bool:
        """Whether record `index` (0-based) is written."""
        return index < self.prefix or index in self.extra

    @property
    def count(self) -> int:
        """How many records are written."""
        return self.prefix + len(self.extra)

    @property
    def last(self) -> int:
        """One past the highest written index (0 when none is)."""
        return max(self.extra, default=self.prefix - 1) + 1

    def option(self) -> str:
        """The `--skip` value that resumes after these records."""
        if not self.extra:
            return str(self.prefix)
        return f"{self.prefix}+{','.join(str(index + 1) for index in sorted(self.extra))}"
