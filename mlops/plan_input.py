"""The plan a report command works on (`cost`, `policy check`) and the stack config it is judged against.

A plan JSON says whose plan it is; judging it by another stack's settings (dev's plan against prod's
budget and rules) would report on something that is never deployed, so the two must agree.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from mlops.console import UserError

if TYPE_CHECKING:
    from kernel import StackConfig
    from kernel.plan import Plan


def load_plan(plan: Path | None, stack: str | None, root: Path) -> tuple[Plan, StackConfig]:
    """`plan`'s JSON (or, without one, `stack` planned now) and its stack's validated config.

    Raises `UserError` for an unreadable plan or one of another stack than `--stack`, and `ConfigError`
    for a stack file with a problem.
    """
    from kernel.plan import Plan
    from kernel.stack_set import check_project

    if plan is None:
        if stack is None:
            raise UserError("pass --stack NAME, --plan FILE, or both")
        from infra.plan.evaluate import evaluate_stack

        loaded = evaluate_stack(stack, root)
    else:
        try:
            loaded = Plan.read(plan)
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise UserError(
                f"--plan {plan}: not a plan JSON written by `mlops plan --stack S --json FILE` ({error})"
            ) from None
        if stack is not None and stack != loaded.stack:
            raise UserError(
                f"--plan {plan} is the {loaded.stack} stack's plan, not {stack}'s: pass --stack {loaded.stack}, "
                f"or plan {stack} with `mlops plan --stack {stack} --json FILE`"
            )
    return loaded, check_project(loaded.stack, root)
