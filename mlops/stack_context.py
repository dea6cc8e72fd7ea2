"""What a lifecycle command knows about a stack: its validated config and its outputs.

Outputs come from `pulumi stack output --json` for a deployed stack (`--outputs FILE`), or from the
offline plan, whose ids and ARNs are stand-ins: good for the demo's emulator, never for a real account.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kernel import StackConfig, load_stack_file, stack_file
from mlops.console import UserError


@dataclass(frozen=True)
class StackContext:
    """A stack's config and outputs, and where the outputs came from."""

    name: str
    config: StackConfig
    outputs: dict[str, Any]
    source: str


def load_context(root: Path, stack: str, outputs_file: Path | None) -> StackContext:
    """Config from the stack file; outputs from `outputs_file` or, without one, the offline plan."""
    config = load_stack_file(stack_file(stack, root))
    if outputs_file is None:
        from infra.plan.evaluate import evaluate_stack

        return StackContext(stack, config, evaluate_stack(stack, root).outputs, "offline plan (stand-in ARNs)")
    try:
        outputs = json.loads(outputs_file.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise UserError(
            f"{outputs_file}: cannot read stack outputs ({error}); create it with `pulumi stack output --json`"
        ) from None
    if not isinstance(outputs, dict):
        raise UserError(f"{outputs_file}: expected the JSON object `pulumi stack output --json` prints")
    return StackContext(stack, config, outputs, str(outputs_file))
