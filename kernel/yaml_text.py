"""YAML in, through libyaml's C parser where PyYAML was built with it (its wheels are), else the Python one.

The same YAML 1.1 safe subset either way (`CSafeLoader` is `SafeLoader` on libyaml): only the speed differs,
about ten times, and every plan parses the stack file, each project file, its feature schemas and the price
list.
"""

from __future__ import annotations

from typing import Any

import yaml

SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load(text: str) -> Any:
    """The document in `text`, safe types only (None for an empty document); raises `yaml.YAMLError`."""
    return yaml.load(text, Loader=SafeLoader)  # noqa: S506 - a safe loader, libyaml's when present


def compose(text: str) -> yaml.Node | None:
    """The representation tree of `text` (nodes with their marks), for checks on how values were written."""
    return yaml.compose(text, Loader=SafeLoader)
