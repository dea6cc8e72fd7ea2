"""The two programs' stacks: the platform's is named after its environment, a project's `<project>-<env>`.

Both programs live in this repository: the platform's Pulumi project at its root (`Pulumi.yaml`, `infra/platform/`),
the projects' in `projects/Pulumi.yaml` (`infra/project/`). A project stack reads the platform stack of its
environment through a `StackReference`; with Pulumi's self-managed (S3) backend its name is
`organization/<platform project>/<environment>` (Pulumi docs, "Stack references": DIY backends use the literal
organization `organization`).
"""

from __future__ import annotations

from kernel.errors import ConfigError, Problem
from kernel.types import ENVIRONMENTS, Environment

PLATFORM_PROJECT = "mlops"
"""The platform's Pulumi project name (root `Pulumi.yaml`)."""
PROJECTS_PROJECT = "mlops-projects"
"""The Pulumi project every ML project's stacks belong to (`projects/Pulumi.yaml`)."""
PLATFORM_PROGRAM = "platform"
PROJECT_PROGRAM = "project"


def project_stack(project: str, environment: str) -> str:
    """The stack of one project in one environment."""
    return f"{project}-{environment}"


def parse_project_stack(stack: str) -> tuple[str, Environment]:
    """`churn-dev` -> (`churn`, `dev`); anything else is refused, naming the expected shape."""
    project, _, environment = stack.rpartition("-")
    for known in ENVIRONMENTS:
        if environment == known and project:
            return project, known
    raise ConfigError(
        f"stack {stack!r}",
        [
            Problem(
                "", f"a project's stack is named <project>-<environment> ({', '.join(ENVIRONMENTS)}), e.g. churn-dev"
            )
        ],
    )


def platform_stack_reference(environment: str, project: str = PLATFORM_PROJECT) -> str:
    """The fully qualified name a project stack reads its platform's outputs by."""
    return f"organization/{project}/{environment}"
