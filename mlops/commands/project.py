"""`mlops project ...`: onboard an ML project (a folder under projects/) from the template."""

from __future__ import annotations

from typing import Annotated

import typer

from mlops.console import console

app = typer.Typer(help="ML projects: one folder each under projects/.", no_args_is_help=True)


@app.command("new")
def new(
    name: Annotated[str, typer.Argument(help="The project's name: 2-12 lower-case letters and digits.")],
    team: Annotated[str | None, typer.Option(help="The owning team (tag `owner`); default: <name>-team.")] = None,
    role: Annotated[
        list[str] | None,
        typer.Option(
            help="A team SSO role, KIND=ARN (data-scientist, data-engineer, ml-engineer, model-approver); repeat it. "
            "Each goes to the environment whose account it is in; prod needs a model approver.",
        ),
    ] = None,
) -> None:
    """Scaffold projects/NAME from templates/project/ and validate it in every environment."""
    from mlops.scaffold import Role, new_project
    from mlops.workspace import root

    folder = new_project(root(), name, team or f"{name}-team", [Role.parse(text) for text in role or ()])
    files = sorted(path.relative_to(folder).as_posix() for path in folder.rglob("*") if path.is_file())
    console.print(f"[green]✓[/] projects/{name}: {', '.join(files)}; valid in every environment")
    console.print(
        f"next: replace the sample feature group and data, then `mlops plan --project {name}` and open a pull request"
    )
