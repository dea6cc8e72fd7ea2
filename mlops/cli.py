"""`mlops`: validate stack files and plan stacks offline.

Errors a user can fix (a bad stack file, an unknown stack) are printed as one line per problem
and exit with status 1, never with a traceback.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from infra.config import ConfigError
from infra.naming import NamingError
from mlops.console import UserError, console, errors

app = typer.Typer(
    name="mlops",
    help="MLOps platform blueprint: validate and plan stacks offline.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

ROOT = Path.cwd() if (Path.cwd() / "Pulumi.yaml").is_file() else Path(__file__).resolve().parents[1]
"""The project whose stack files the commands read: the current folder when it is one, else this checkout."""
StackOption = Annotated[str, typer.Option("--stack", "-s", help="Stack name: dev, staging or prod.")]


@app.command()
def validate(
    stack: Annotated[list[str] | None, typer.Option("--stack", "-s", help="Stack(s) to check; all by default.")] = None,
) -> None:
    """Validate stack files against the typed config; report every problem, naming file and key."""
    from mlops.validation import validate_stacks

    if not validate_stacks(ROOT, stack or None):
        raise typer.Exit(1)


@app.command()
def plan(
    stack: StackOption = "dev",
    json_path: Annotated[Path | None, typer.Option("--json", help="Write the plan JSON here.")] = None,
) -> None:
    """Evaluate the Pulumi program for one stack under Pulumi's mocks (offline) and summarise it."""
    from infra.plan.evaluate import evaluate_stack
    from mlops.reports import outputs_table, plan_table

    result = evaluate_stack(stack, ROOT)
    console.print(plan_table(result))
    console.print(outputs_table(result.outputs))
    if result.outputs.get("endpoint_name") is None:
        console.print("note: no model is pinned (mlops:serving.modelPackageArn), so no endpoint is planned")
    if json_path is not None:
        result.write(json_path)
        console.print(f"plan JSON: {json_path}")


@app.command()
def demo(
    out: Annotated[Path, typer.Option(help="Folder for the demo's artefacts.")] = ROOT / "out" / "demo",
) -> None:
    """Run the blueprint offline: validate every stack, then plan dev."""
    from mlops.demo import run_demo

    run_demo(ROOT, out)


def _register_groups() -> None:
    from mlops.commands import ci, cost, lineage, model, pipeline, policy

    app.add_typer(pipeline.app, name="pipeline")
    app.add_typer(model.app, name="model")
    app.add_typer(policy.app, name="policy")
    app.add_typer(ci.app, name="ci")
    app.command("cost")(cost.cost)
    app.command("lineage")(lineage.lineage_command)
    model.app.command("lineage", hidden=True)(lineage.lineage_command)  # the name earlier releases used


_register_groups()


def _domain_errors() -> tuple[type[Exception], ...]:
    """Errors of the lifecycle code that carry a message for the user rather than a bug."""
    from pipelines.definitions.settings import StackOutputsError
    from pipelines.definitions.templates import TemplateError
    from pipelines.features.ingest import IngestionError, RecordValidationError
    from pipelines.pipeline_ops import PipelineError

    return (StackOutputsError, TemplateError, IngestionError, RecordValidationError, PipelineError)


def main() -> None:
    """Console-script entry point: run the app, turning user errors into clean messages."""
    try:
        app()
    except ConfigError as error:
        for line in error.lines():
            errors.print(f"[red]error:[/] {escape(line)}")
        sys.exit(1)
    except (UserError, NamingError) as error:
        errors.print(f"[red]error:[/] {escape(str(error))}")
        sys.exit(1)
    except Exception as error:
        if not isinstance(error, _domain_errors()):
            raise  # a bug: keep the traceback
        errors.print(f"[red]error:[/] {error}")
        sys.exit(1)
