"""The AWS provider's own configuration keys (`aws:<key>` in a stack file), read from the installed provider.

The Pulumi AWS provider refuses a key its schema does not declare, but only at `pulumi up`. Its Python
SDK is generated from that schema: `pulumi_aws/config/vars.py` holds one `__config__.get*('<key>')` per
`config.variables` entry of the provider schema. Reading that file (without importing it, which would
read the engine's config) gives exactly the keys of the provider version this project pins in uv.lock.
"""

from __future__ import annotations

import ast
import importlib.util
import json
from functools import cache
from pathlib import Path


def _package_dir() -> Path:
    spec = importlib.util.find_spec("pulumi_aws")
    if spec is None or spec.origin is None:
        raise RuntimeError("pulumi_aws is not installed; run `make test` or `uv sync` to install the project")
    return Path(spec.origin).parent


@cache
def provider_version() -> str:
    """The pulumi-aws version whose schema the keys come from (its pulumi-plugin.json)."""
    document = json.loads((_package_dir() / "pulumi-plugin.json").read_text(encoding="utf-8"))
    return str(document["version"])


@cache
def provider_keys() -> frozenset[str]:
    """Every configuration key the AWS provider declares (camelCase, without the `aws:` namespace)."""
    tree = ast.parse((_package_dir() / "config" / "vars.py").read_text(encoding="utf-8"))
    return frozenset(
        node.args[0].value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr.startswith("get")
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "__config__"
        and node.args
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
    )
