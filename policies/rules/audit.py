"""An audit trail that cannot be quietly turned off or rewritten."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from policies.model import Context, Resource, Rule
from policies.registry import register

TRAIL = "aws:cloudtrail/trail:Trail"


def _trail(resources: Sequence[Resource], context: Context) -> Iterable[tuple[Resource | None, str]]:
    trails = [r for r in resources if r.type == TRAIL]
    if not trails:
        yield None, "the stack has no CloudTrail trail"
    for trail in trails:
        props = trail.props
        missing = [
            what
            for what, ok in (
                ("multi-region", props.get("isMultiRegionTrail") is True),
                ("log file validation", props.get("enableLogFileValidation") is True),
                ("KMS encryption", bool(props.get("kmsKeyId"))),
                ("logging", props.get("enableLogging", True) is not False),
            )
            if not ok
        ]
        if missing:
            yield trail, f"trail lacks {', '.join(missing)}"


register(
    Rule(
        id="cloudtrail-validated-encrypted",
        family="audit",
        description="A multi-region CloudTrail trail logs, validates its files and encrypts them with KMS.",
        why="Who approved, deployed or read what must be provable after the fact.",
        fix="Keep the audit component; do not disable validation, encryption or logging.",
        control="Security Hub CloudTrail.1, CloudTrail.2, CloudTrail.4",
        stack_check=_trail,
    )
)
