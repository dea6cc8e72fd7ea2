"""`mlops pipeline ...`: compile, upsert and start the training pipeline of a stack."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from mlops.console import UserError, console

app = typer.Typer(help="Compile, upsert and start the training pipeline.", no_args_is_help=True)

StackOption = Annotated[str, typer.Option("--stack", "-s", help="Stack name: dev, staging or prod.")]
OutputsOption = Annotated[
    Path | None, typer.Option("--outputs", help="`pulumi stack output --json` of the deployed stack.")
]
EndpointOption = Annotated[
    str | None, typer.Option("--endpoint-url", help="AWS endpoint override (an emulator such as moto_server).")
]


def _root() -> Path:
    from mlops.cli import ROOT

    return ROOT


def _trains(stack: str, environment: str) -> None:
    """UserError unless the stack is the one that trains (staging and prod serve dev's packages)."""
    from infra.config.models import TRAINING_ENVIRONMENT

    if environment != TRAINING_ENVIRONMENT:
        raise UserError(
            f"stack {stack} has no training pipeline: models are trained in {TRAINING_ENVIRONMENT} only "
            f"(drift in {environment} starts {TRAINING_ENVIRONMENT}'s pipeline); use --stack {TRAINING_ENVIRONMENT}"
        )


@app.command()
def compile(
    stack: StackOption = "dev",
    out: Annotated[Path | None, typer.Option(help="Write the definition JSON here.")] = None,
    outputs: OutputsOption = None,
) -> None:
    """Compile the stack's definition with the SageMaker SDK (offline) and check the committed template."""
    from mlops.stack_context import load_context
    from pipelines.definitions.settings import settings_for_stack
    from pipelines.definitions.templates import render_definition
    from pipelines.definitions.training import compile_definition

    context = load_context(_root(), stack, outputs)
    settings = settings_for_stack(context.config, context.outputs)
    with console.status("compiling with the SageMaker SDK..."):
        definition = compile_definition(settings)
    if render_definition(settings) != definition:
        raise UserError("the committed pipeline template is stale; run `mlops pipeline templates` and commit it")
    steps = [step["Name"] for step in definition["Steps"]]
    console.print(f"{len(steps)} top-level steps: {', '.join(steps)} (template up to date)")
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(definition, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        console.print(f"definition: {out}")


@app.command()
def templates() -> None:
    """Regenerate the committed templates after changing the pipeline builder."""
    from pipelines.definitions.templates import write_templates

    with console.status("compiling templates with the SageMaker SDK..."):
        for path in write_templates():
            console.print(f"wrote {path}")


@app.command()
def upsert(stack: StackOption = "dev", outputs: OutputsOption = None, endpoint_url: EndpointOption = None) -> None:
    """Create or update the pipeline with the stack's definition; a no-op when it already matches."""
    import boto3

    from infra.tags import mandatory_tags
    from mlops.stack_context import load_context
    from pipelines.definitions.settings import required_output, settings_for_stack
    from pipelines.definitions.templates import render_definition
    from pipelines.pipeline_ops import upsert_pipeline

    context = load_context(_root(), stack, outputs)
    _trains(stack, context.config.environment)
    client = boto3.client("sagemaker", region_name=context.config.region, endpoint_url=endpoint_url)
    name = required_output(context.outputs, "training_pipeline_name")
    result = upsert_pipeline(
        client,
        name,
        render_definition(settings_for_stack(context.config, context.outputs)),
        required_output(context.outputs, "role_arns", "pipeline"),
        mandatory_tags(context.config, "mlops"),
    )
    console.print(f"pipeline {name}: {result} (values from {context.source})")


@app.command()
def start(
    stack: StackOption = "dev",
    param: Annotated[list[str] | None, typer.Option("--param", "-p", help="NAME=VALUE, repeatable.")] = None,
    token: Annotated[str | None, typer.Option(help="Idempotency token, e.g. the CI run id.")] = None,
    outputs: OutputsOption = None,
    endpoint_url: EndpointOption = None,
) -> None:
    """Start an execution of the stack's training pipeline."""
    import boto3

    from mlops.stack_context import load_context
    from pipelines.definitions.settings import required_output
    from pipelines.pipeline_ops import PipelineError, start_pipeline

    parameters = {}
    for item in param or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UserError(f"--param {item!r}: write NAME=VALUE")
        parameters[key] = value
    context = load_context(_root(), stack, outputs)
    _trains(stack, context.config.environment)
    client = boto3.client("sagemaker", region_name=context.config.region, endpoint_url=endpoint_url)
    try:
        arn = start_pipeline(
            client, required_output(context.outputs, "training_pipeline_name"), parameters, token, notify=console.print
        )
    except PipelineError as error:
        raise UserError(str(error)) from None
    console.print(f"started {arn}")
