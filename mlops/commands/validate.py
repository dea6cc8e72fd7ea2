"""`mlops validate`: every stack file as the platform reads it, every project as its program reads each stack."""

from __future__ import annotations

from typing import Annotated

import typer

from mlops.workspace import ProjectOption, root, selected_project


def validate(
    stack: Annotated[list[str] | None, typer.Option("--stack", "-s", help="Stack(s) to check; all by default.")] = None,
    project: ProjectOption = None,
) -> None:
    """Validate stack files and projects against the typed config; one line per problem, naming file and key.

    Each stack file is checked as the platform's settings; each project (all of projects/ by default) in every
    environment, as its program reads them: the stack file's settings completed by the project's.
    """
    from mlops.validation import validate_stacks

    chosen = selected_project(project)
    if not validate_stacks(root(), stack or None, [chosen] if chosen else None):
        raise typer.Exit(1)
