"""`mlops plan`: an environment's plan offline (the platform and every project), one project's, or the platform's."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mlops.console import UserError, console
from mlops.workspace import ProjectOption, root, selected_project

StackOption = Annotated[str, typer.Option("--stack", "-s", help="Environment's stack: dev, staging or prod.")]


def plan(
    stack: StackOption = "dev",
    project: ProjectOption = None,
    platform: Annotated[
        bool, typer.Option("--platform", help="Plan only the platform's stack (not the projects').")
    ] = False,
    json_path: Annotated[Path | None, typer.Option("--json", help="Write the plan JSON here.")] = None,
) -> None:
    """Evaluate the programs of one environment under Pulumi's mocks (offline) and summarise them.

    By default the environment's plan: the platform's stack and every project's (`<project>-<env>`), each
    resource saying which program and stack it belongs to. `--project P` plans one project's stack (run inside
    projects/P/, it is the default), `--platform` the platform's.
    """
    if platform and project:
        raise UserError(f"--platform and --project {project}: plan one of them, or neither for the whole environment")
    from mlops.plan_input import plan_scope

    result = plan_scope(root(), stack, None if platform else selected_project(project), platform)
    from mlops.reports import outputs_table, plan_table, stacks_table

    console.print(plan_table(result))
    console.print(stacks_table(result))
    platform_outputs = {key: value for key, value in result.outputs.items() if key != "projects"}
    if platform_outputs and any(resource.ml_project is None for resource in result.resources):
        console.print(outputs_table(platform_outputs, "outputs of the platform"))
    for name in result.projects:
        outputs = result.of_project(name).outputs
        console.print(outputs_table(outputs, f"outputs of {name}"))
        if outputs.get("endpoint_name") is None:
            console.print(
                f"note: {name} pins no model in {stack} (projects/{name}/project.yaml: "
                f"environments.{stack}.serving.modelPackageArn), so no endpoint is planned"
            )
    if json_path is not None:
        result.write(json_path)
        console.print(f"plan JSON: {json_path}")
