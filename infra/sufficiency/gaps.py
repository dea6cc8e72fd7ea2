"""Known gaps: required rows the plans refuse today, grouped by principal and action, each with a reason.

The test asserts the found gaps EXACTLY against known_gaps.yaml: a new refusal fails, and so does a gap
fixed without being removed, so the file always says what is not yet proven, and why.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from infra.sufficiency.simulate import NOT_EVALUATED
from infra.sufficiency.suite import PlanResult
from kernel import yaml_text

GAPS_FILE = Path(__file__).resolve().parent / "known_gaps.yaml"


@dataclass
class Gap:
    """A principal and action refused in some plans: in which, why, and one failing row as an example."""

    plans: set[str] = field(default_factory=set)
    reason: str = ""
    example: str = ""


def known_gaps(path: Path = GAPS_FILE) -> dict[str, Gap]:
    """The gaps recorded in known_gaps.yaml, keyed `<principal> | <action>`."""
    document: dict[str, Any] = yaml_text.load(path.read_text(encoding="utf-8")) or {}
    return {
        key: Gap(plans=set(entry["plans"]), reason=str(entry.get("reason", "")))
        for key, entry in (document.get("gaps") or {}).items()
    }


def found_gaps(results: list[PlanResult]) -> dict[str, Gap]:
    """The refused rows of a run (evaluated and not allowed), keyed like known_gaps.yaml, by `<plan>/<program>`."""
    found: dict[str, Gap] = {}
    for result in results:
        for outcome in result.outcomes:
            if outcome.allowed or outcome.decision == NOT_EVALUATED:
                continue
            key = f"{outcome.requirement.principal} | {outcome.requirement.action}"
            gap = found.setdefault(key, Gap(example=outcome.describe()))
            gap.plans.add(result.label)
    return found
