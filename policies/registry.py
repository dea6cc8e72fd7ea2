"""Rules register themselves here as their family modules are imported."""

from __future__ import annotations

from policies.model import Rule

RULES: list[Rule] = []


def register(rule: Rule) -> Rule:
    """Add a rule to the pack; ids are unique."""
    if any(existing.id == rule.id for existing in RULES):
        raise ValueError(f"duplicate rule id {rule.id}")
    RULES.append(rule)
    return rule


def all_rules() -> list[Rule]:
    """Every rule, each family imported once."""
    from policies.rules import audit, cost, encryption, exposure, identity, sagemaker, tagging  # noqa: F401

    return list(RULES)
