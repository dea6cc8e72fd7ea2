"""Enforcement levels per environment (policies/config/enforcement.yaml), for CrossGuard and the offline check.

The levels are the fork's to set (mlops/ownership.py): they live with the generated pack configs in
policies/config/, which an upgrade never touches.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any, cast

from kernel import yaml_text
from policies.model import Level, Rule

CONFIG_DIR = Path(__file__).with_name("config")
ENFORCEMENT_FILE = CONFIG_DIR / "enforcement.yaml"


@cache
def _settings() -> dict[str, Any]:
    return dict(yaml_text.load(ENFORCEMENT_FILE.read_text(encoding="utf-8")))


def level(rule: Rule, environment: str) -> Level:
    """The level of `rule` in `environment`: rule override, then family override, then the default."""
    settings = _settings()
    for section, key in (("rules", rule.id), ("families", rule.family)):
        value = (settings.get(section, {}).get(environment) or {}).get(key)
        if value:
            return cast(Level, value)
    return cast(Level, settings["defaults"].get(environment, "mandatory"))


def pack_config(rules: list[Rule], environment: str, allowed_instance_types: list[str]) -> dict[str, Any]:
    """The `--policy-pack-config` document for one environment: level and context of every policy."""
    return {
        rule.id: {
            "enforcementLevel": level(rule, environment),
            "environment": environment,
            "allowedInstanceTypes": allowed_instance_types,
        }
        for rule in rules
    }


def config_path(environment: str) -> Path:
    """Where the pack config of an environment is committed."""
    return CONFIG_DIR / f"{environment}.json"


def render_pack_config(rules: list[Rule], environment: str, allowed_instance_types: list[str]) -> str:
    """The pack config as the committed file's text."""
    return json.dumps(pack_config(rules, environment, allowed_instance_types), indent=2, sort_keys=True) + "\n"
