"""`mlops lineage`: which data, code, settings and run produced a model, and where it is approved and served."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer
from rich.table import Table

from mlops.commands.model import EndpointOption, StackOption, _client, _root
from mlops.console import UserError, console
from mlops.project_context import ProjectOption, project_name

if TYPE_CHECKING:
    from pipelines.lifecycle.lineage import Lineage


def lineage_command(
    *,
    stack: StackOption = "prod",
    model_package: Annotated[
        str | None, typer.Option("--model-package", "--arn", help="Package ARN; default: the one the stack pins.")
    ] = None,
    endpoint: Annotated[
        str | None, typer.Option("--endpoint", help="Trace the package a live SageMaker endpoint serves.")
    ] = None,
    output: Annotated[Literal["table", "json"], typer.Option("--format", help="table, or JSON on stdout.")] = "table",
    json_path: Annotated[Path | None, typer.Option("--json", help="Also write the lineage JSON here.")] = None,
    project: ProjectOption = None,
    endpoint_url: EndpointOption = None,
) -> None:
    """Print data -> pipeline run -> model package -> approval -> endpoint, as a table or as JSON."""
    from pipelines.lifecycle.lineage import Serving, endpoint_packages, lineage
    from pipelines.lifecycle.stack_files import pinned_package

    if model_package and endpoint:
        raise UserError("pass --model-package or --endpoint, not both")
    client = _client("sagemaker", stack, endpoint_url)
    serving: Serving | None = None
    if endpoint:
        serving = endpoint_packages(client, endpoint)[0]
    name = project_name(_root(), project)
    package = serving.package_arn if serving else model_package or pinned_package(_root(), stack, name)
    if package is None:
        raise UserError(
            f"{name} pins no model in {stack} (projects/{name}/project.yaml: environments.{stack}.serving."
            "modelPackageArn); pass --model-package or --endpoint"
        )
    chain = lineage(client, _root(), package, name, serving)
    document = json.dumps(chain.to_dict(), indent=2, sort_keys=True) + "\n"
    if json_path is not None:
        json_path.write_text(document, encoding="utf-8")
    if output == "json":
        typer.echo(document, nl=False)
        return
    console.print(lineage_table(chain, f"lineage of {chain.group} v{chain.version}"))


def lineage_table(chain: Lineage, title: str) -> Table:
    """The chain as a two-column table, data first, endpoint last."""
    table = Table(title=title, title_justify="left")
    table.add_column("link")
    table.add_column("value", overflow="fold")
    for link, value in chain.rows():
        table.add_row(link, value)
    return table
