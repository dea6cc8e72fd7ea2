"""The base of every config section and the schedule pattern sections share (kernel/models.py, kernel/quality.py)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

SCHEDULE = r"^(rate\(\d+ (minute|minutes|hour|hours|day|days)\)|cron\([^)]+\))$"
"""EventBridge Scheduler expressions: rate(1 day), cron(0 6 * * ? *)."""


class Section(BaseModel):
    """Base of every config section: camelCase keys, unknown keys rejected, immutable once loaded."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        alias_generator=to_camel,
        populate_by_name=True,
        str_strip_whitespace=True,
    )
