"""The cost of an environment: the platform's stack and each project's, each priced with its own config view.

A project's resources are priced with the project's view (its serving shape, jobs, expected usage and budget),
the platform's with the stack file's own settings: `mlops cost` shows the total, the platform and each project,
and each program's idle cost is judged against its own budget (`cost-idle-within-budget`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from infra.cost.estimate import CostReport, Kind, estimate
from kernel.models import StackConfig
from kernel.plan import Plan


@dataclass(frozen=True)
class EnvironmentCost:
    """The estimate of every program of one environment."""

    stack: str
    platform: CostReport | None
    """None for a plan of projects only."""
    projects: dict[str, CostReport]

    def parts(self) -> dict[str, CostReport]:
        """`platform` (when planned) then each project by name."""
        return {**({"platform": self.platform} if self.platform else {}), **dict(sorted(self.projects.items()))}

    def total(self, kind: Kind) -> float:
        """The environment's monthly total of idle or usage lines."""
        return round(sum(report.total(kind) for report in self.parts().values()), 2)

    @property
    def unpriced(self) -> list[str]:
        """What no part could price, named by its part."""
        return [f"{name}: {item}" for name, report in self.parts().items() for item in report.unpriced]

    def to_dict(self) -> dict[str, Any]:
        """The JSON report: totals, then each part's own report."""
        return {
            "stack": self.stack,
            "idle_usd": self.total("idle"),
            "usage_usd": self.total("usage"),
            "platform": self.platform.to_dict() if self.platform else None,
            "projects": {name: report.to_dict() for name, report in sorted(self.projects.items())},
        }


def estimate_environment(plan: Plan, platform: StackConfig, projects: Mapping[str, StackConfig]) -> EnvironmentCost:
    """Price an environment's plan: the platform's resources with `platform`, each project's with its view.

    `projects` maps each project in the plan to its view of the stack (raises KeyError for one missing). A plan
    without the platform's resources (one project's) has no platform part.
    """
    own = plan.of_project(None).resources
    return EnvironmentCost(
        stack=plan.stack,
        platform=estimate(plan.stack, own, platform) if own else None,
        projects={
            name: estimate(plan.stack, plan.of_project(name).resources, projects[name]) for name in plan.projects
        },
    )
