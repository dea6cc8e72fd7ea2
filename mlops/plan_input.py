"""The plan a report command works on (`cost`, `policy check`) and the config views it is judged against.

A plan JSON says whose plan it is; judging it by another stack's settings (dev's plan against prod's
budget and rules) would report on something that is never deployed, so the two must agree. Each program's
resources are judged by that program's view: the platform's by its stack file, a project's by the stack
file completed by the project's settings for the environment.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mlops.console import UserError

if TYPE_CHECKING:
    from kernel import StackConfig
    from kernel.plan import Plan


@dataclass(frozen=True)
class PlanInput:
    """A plan and the config view of each program in it."""

    plan: Plan
    platform: StackConfig
    projects: dict[str, StackConfig]
    """Each project's view of the plan's stack, for every project the plan holds."""

    def view(self, project: str | None) -> StackConfig:
        """The view a program's resources are judged by: a project's, or the platform's (None)."""
        return self.platform if project is None else self.projects[project]


def load_plan(
    plan: Path | None, stack: str | None, root: Path, project: str | None = None, platform: bool = False
) -> PlanInput:
    """`plan`'s JSON (or, without one, `stack` planned now: the environment, one project, or the platform).

    Raises `UserError` for an unreadable plan or one of another stack than `--stack`, and `ConfigError`
    for a stack or project file with a problem.
    """
    from kernel.plan import Plan
    from kernel.views import platform_view, project_view

    if plan is None:
        if stack is None:
            raise UserError("pass --stack NAME, --plan FILE, or both")
        loaded = plan_scope(root, stack, project, platform)
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
    views = {name: project_view(root, loaded.stack, name) for name in loaded.projects}
    return PlanInput(loaded, platform_view(root, loaded.stack), views)


def plan_scope(root: Path, stack: str, project: str | None, platform: bool) -> Plan:
    """The plan of the environment (neither given), one project's stack, or the platform's stack."""
    from infra.plan.evaluate import evaluate_stack

    if platform:
        return evaluate_stack(stack, root, projects=[], platform=True)
    if project is not None:
        return evaluate_stack(stack, root, projects=[project], platform=False)
    return evaluate_stack(stack, root)
