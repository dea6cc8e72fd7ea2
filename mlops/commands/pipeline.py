"""`mlops pipeline ...`: compile, upsert and start a project's training pipeline in a stack."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from mlops.console import UserError, console
from mlops.project_context import ProjectOption, project_name

app = typer.Typer(help="Compile, upsert and start the training pipeline.", no_args_is_help=True)

StackOption = Annotated[str, typer.Option("--stack", "-s", help="Stack name: dev, staging or prod.")]
OutputsOption = Annotated[
    Path | None, typer.Option("--outputs", help="`pulumi stack output --json` of the deployed stack.")
]
EndpointOption = Annotated[
    str | None, typer.Option("--endpoint-url", help="AWS endpoint override (an emulator such as moto_server).")
]


def _root() -> Path:
    from mlops.workspace import root

    return root()


def _trains(stack: str, environment: str) -> None:
    """UserError unless the stack is the one that trains (staging and prod serve dev's packages)."""
    from kernel.models import TRAINING_ENVIRONMENT

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
    project: ProjectOption = None,
) -> None:
    """Compile the stack's definition with the SageMaker SDK (offline) and check the committed template."""
    from kernel import load_stack_file, stack_file
    from mlops.project_context import current_project
    from mlops.stack_context import load_context
    from pipelines.definitions.settings import settings_for_stack
    from pipelines.definitions.templates import render_definition
    from pipelines.definitions.training import compile_definition

    _trains(stack, load_stack_file(stack_file(stack, _root())).environment)
    chosen = current_project(_root(), project)
    context = load_context(_root(), stack, outputs, chosen.name)
    settings = settings_for_stack(context.config, context.outputs, chosen.spec())
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
def upsert(
    stack: StackOption = "dev",
    outputs: OutputsOption = None,
    project: ProjectOption = None,
    endpoint_url: EndpointOption = None,
) -> None:
    """Create or update the project's pipeline with its definition; a no-op when it already matches."""
    from kernel.tags import mandatory_tags
    from mlops.aws import aws_client
    from mlops.project_context import current_project
    from mlops.stack_context import load_context
    from pipelines.definitions.settings import required_output, settings_for_stack
    from pipelines.definitions.templates import render_definition
    from pipelines.pipeline_ops import upsert_pipeline

    chosen = current_project(_root(), project)
    context = load_context(_root(), stack, outputs, chosen.name)
    _trains(stack, context.config.environment)
    client = aws_client("sagemaker", context.config.region, endpoint_url)
    name = required_output(context.outputs, "training_pipeline_name")
    result = upsert_pipeline(
        client,
        name,
        render_definition(settings_for_stack(context.config, context.outputs, chosen.spec())),
        required_output(context.outputs, "role_arns", "pipeline"),
        mandatory_tags(context.config, team=chosen.file.team),
    )
    console.print(f"pipeline {name}: {result} (values from {context.source})")


@app.command()
def start(
    stack: StackOption = "dev",
    *,
    param: Annotated[list[str] | None, typer.Option("--param", "-p", help="NAME=VALUE, repeatable.")] = None,
    token: Annotated[
        str | None,
        typer.Option(help="Idempotency token; default: derived from the commit, the parameters and the CI run."),
    ] = None,
    outputs: OutputsOption = None,
    project: ProjectOption = None,
    endpoint_url: EndpointOption = None,
) -> None:
    """Start an execution of the project's training pipeline, once per commit, data, settings and trigger."""
    from mlops.aws import aws_client
    from mlops.stack_context import load_context
    from pipelines.definitions.settings import required_output
    from pipelines.pipeline_ops import execution_token, start_pipeline

    parameters = {}
    for item in param or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UserError(f"--param {item!r}: write NAME=VALUE")
        parameters[key] = value
    context = load_context(_root(), stack, outputs, project_name(_root(), project))
    _trains(stack, context.config.environment)
    client = aws_client("sagemaker", context.config.region, endpoint_url)
    name = required_output(context.outputs, "training_pipeline_name")
    if token is None:
        commit, trigger = parameters.get("GitCommit") or _commit(), _trigger()
        token = execution_token(name, parameters, commit, trigger)
        console.print(f"token {token}: commit {commit[:12]}, the parameters given, trigger {trigger}")
    run = start_pipeline(client, name, parameters, token, notify=console.print)
    if run.started:
        console.print(f"started {run.arn}", soft_wrap=True)
    else:
        console.print(
            f"already started for this token: {run.arn} (nothing new started; pass --token to start another)",
            soft_wrap=True,
        )


def _commit() -> str:
    """The commit being run: GitHub's GITHUB_SHA in CI, else the checkout's HEAD, else "unknown"."""
    import os
    import shutil
    import subprocess

    git = shutil.which("git")
    if os.environ.get("GITHUB_SHA") or git is None:
        return os.environ.get("GITHUB_SHA") or "unknown"
    try:
        head = subprocess.run(  # noqa: S603 - a fixed git command, no user input
            [git, "rev-parse", "HEAD"], cwd=_root(), capture_output=True, text=True, timeout=10, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return head.stdout.strip() or "unknown"


def _trigger() -> str:
    """What started this command: a GitHub Actions run (its re-runs keep the run id), else "manual"."""
    import os

    run_id = os.environ.get("GITHUB_RUN_ID")
    return f"{os.environ.get('GITHUB_EVENT_NAME', 'ci')}:{run_id}" if run_id else "manual"
