"""`mlops project ...`: start a new ML project as a folder under `projects/`."""

from __future__ import annotations

from typing import Annotated

import typer

from mlops.console import console

app = typer.Typer(help="Create ML projects (one folder each under projects/).", no_args_is_help=True)


@app.command()
def new(
    name: Annotated[str, typer.Argument(help="The project's name: a-z then a-z or 0-9, 2-12 characters.")],
    team: Annotated[str | None, typer.Option(help="The owning team (tag `team`); default: <name>-team.")] = None,
) -> None:
    """Scaffold projects/NAME/ from templates/project/; it validates as written (nothing is overwritten)."""
    from mlops.scaffold import scaffold
    from mlops.workspace import root

    repository = root()
    project = scaffold(repository, name, team)
    console.print(
        f"created {project.folder.relative_to(repository)}/ ({project.file.model.kind}, team {project.file.team})"
    )
    for path in sorted(p for p in project.folder.rglob("*") if p.is_file()):
        console.print(f"  {path.relative_to(repository)}")
    console.print("next: describe your data in its features/, add a sample to data/, map your SSO roles (personas)")
