"""Read and pin the served model version in a stack file, keeping its comments and layout."""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path

from ruamel.yaml import YAML

from infra.config import load_stack_file, parse_settings, stack_file
from infra.config.loader import read_stack_file

SERVING_KEY = "mlops:serving"
PACKAGE_KEY = "modelPackageArn"


def pinned_package(root: Path, stack: str) -> str | None:
    """The model package ARN `stack` serves, or None before its first promotion."""
    return load_stack_file(stack_file(stack, root)).serving.model_package_arn


def pin_package(root: Path, stack: str, arn: str) -> bool:
    """Pin `arn` in the stack file; False when it was already pinned.

    The new file is validated before it replaces the old one, atomically: a pin the config would
    reject (another region, say) leaves the stack file untouched.
    """
    path = stack_file(stack, root)
    if pinned_package(root, stack) == arn:
        return False
    yaml = YAML()
    yaml.preserve_quotes = True
    document = yaml.load(path.read_text(encoding="utf-8"))
    config = document.setdefault("config", {})
    serving = config.get(SERVING_KEY)
    if serving is None:
        config[SERVING_KEY] = serving = {}
    serving[PACKAGE_KEY] = arn
    buffer = io.StringIO()
    yaml.dump(document, buffer)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(buffer.getvalue())
        parse_settings(read_stack_file(Path(temporary)), source=path.name)  # raises ConfigError, file untouched
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)
    return True
