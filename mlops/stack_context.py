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
from kernel.loader import parse_settings, read_stack_file
from kernel.projects import load_project
from mlops.console import UserError


@dataclass(frozen=True)
class StackContext:
    """A stack's config and outputs, and where the outputs came from."""

    name: str
    config: StackConfig
    outputs: dict[str, Any]
    source: str


def load_context(root: Path, stack: str, outputs_file: Path | None, project: str | None = None) -> StackContext:
    """Config and outputs of the platform's stack, or of `project`'s in this environment.

    Config is the platform's view of the stack file, or the project's view. Outputs come from `outputs_file`
    (`pulumi stack output --json` of that stack) or, without one, from the offline plan.
    """
    path = stack_file(stack, root)
    config = (
        load_stack_file(path)
        if project is None
        else parse_settings(read_stack_file(path), path.name, load_project(root, project))
    )
    if outputs_file is None:
        from infra.plan.evaluate import evaluate_stack

        plan = evaluate_stack(stack, root, projects=[] if project is None else [project])
        outputs = plan.outputs if project is None else plan.outputs["projects"][project]
        return StackContext(stack, config, outputs, "offline plan (stand-in ARNs)")
    try:
        outputs = json.loads(outputs_file.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise UserError(
            f"{outputs_file}: cannot read stack outputs ({error}); create it with `pulumi stack output --json`"
        ) from None
    if not isinstance(outputs, dict):
        raise UserError(f"{outputs_file}: expected the JSON object `pulumi stack output --json` prints")
    return StackContext(stack, config, outputs, str(outputs_file))
