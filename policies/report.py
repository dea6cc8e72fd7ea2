"""Policy results for people and machines: JSON, SARIF 2.1.0 (code scanning) and GitHub workflow annotations.

Sources: SARIF 2.1.0 (OASIS, `sarif-2.1/schema/sarif-schema-2.1.0.json` of oasis-tcs/sarif-spec at
e0583813964ec43cea53b6b531b402866095ed1f; GitHub code scanning reads `physicalLocation` and
`partialFingerprints`), and GitHub's workflow commands (`::error file=F,title=T::message`; the message
escapes `%`, CR and LF, a property also `:` and `,`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

from policies.model import Rule, Violation

SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
TOOL = "mlops-policy"
_LEVELS = {"mandatory": "error", "advisory": "warning"}


def _resource(violation: Violation) -> str:
    return violation.resource.name if violation.resource else "(stack)"


def as_json(stack: str, resource_count: int, violations: Sequence[Violation]) -> str:
    """Every violation as one JSON document, identifiers whole."""
    document = {
        "stack": stack,
        "resources": resource_count,
        "violations": [
            {
                "level": violation.level,
                "rule": violation.rule.id,
                "family": violation.rule.family,
                "resource": _resource(violation),
                "type": violation.resource.type if violation.resource else None,
                "urn": violation.resource.urn if violation.resource else None,
                "message": violation.message,
                "fix": violation.rule.fix,
            }
            for violation in violations
        ],
    }
    return json.dumps(document, indent=2)


def as_sarif(stack: str, stack_file: str, rules: Sequence[Rule], violations: Sequence[Violation]) -> str:
    """A SARIF 2.1.0 log for code scanning: one rule per policy, one result per violation, located at the stack file."""
    run = {
        "tool": {
            "driver": {
                "name": TOOL,
                "informationUri": "https://github.com/pulumi/pulumi-policy",
                "rules": [
                    {
                        "id": rule.id,
                        "shortDescription": {"text": rule.description},
                        "fullDescription": {"text": rule.why},
                        "help": {"text": f"Fix: {rule.fix} Maps to: {rule.control}"},
                        "properties": {"tags": [rule.family]},
                    }
                    for rule in rules
                ],
            }
        },
        "automationDetails": {"id": f"{TOOL}/{stack}/"},
        "results": [_sarif_result(stack_file, violation) for violation in violations],
    }
    return json.dumps({"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}, indent=2)


def _sarif_result(stack_file: str, violation: Violation) -> dict[str, Any]:
    location: dict[str, Any] = {
        "physicalLocation": {"artifactLocation": {"uri": stack_file}, "region": {"startLine": 1}},
    }
    if violation.resource is not None:
        location["logicalLocations"] = [
            {"name": violation.resource.name, "fullyQualifiedName": violation.resource.urn, "kind": "resource"}
        ]
    identity = f"{violation.rule.id}|{violation.resource.urn if violation.resource else ''}|{violation.message}"
    return {
        "ruleId": violation.rule.id,
        "level": _LEVELS.get(violation.level, "note"),
        "message": {"text": f"{_resource(violation)}: {violation.message}. Fix: {violation.rule.fix}"},
        "locations": [location],
        "partialFingerprints": {"mlopsPolicy/v1": hashlib.sha256(identity.encode()).hexdigest()},
    }


def as_github(stack_file: str, violations: Sequence[Violation]) -> str:
    """GitHub workflow annotations, one `::error` or `::warning` line per violation."""
    lines = []
    for violation in violations:
        command = "error" if violation.level == "mandatory" else "warning"
        properties = f"file={_property(stack_file)},title={_property(f'{violation.rule.id} ({_resource(violation)})')}"
        message = _data(f"{_resource(violation)}: {violation.message}. Fix: {violation.rule.fix}")
        lines.append(f"::{command} {properties}::{message}")
    return "\n".join(lines)


def _data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")
