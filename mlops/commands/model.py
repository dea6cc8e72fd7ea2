"""`mlops model ...`: review, approve, promote, roll back and smoke-test model versions.

These are what the promote-model workflow runs; each is safe to repeat and refuses an unsafe step
(an unapproved package, a skipped stage, a package of another group, an unknown stack) with the reason.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from mlops.console import UserError, console
from mlops.project_context import ProjectOption, project_name

if TYPE_CHECKING:
    from kernel import StackConfig

app = typer.Typer(help="Review, approve, promote, roll back and smoke-test model versions.", no_args_is_help=True)

StackOption = Annotated[str, typer.Option("--stack", "-s", help="Stack name: dev, staging or prod.")]
EndpointOption = Annotated[
    str | None, typer.Option("--endpoint-url", help="AWS endpoint override (an emulator such as moto_server).")
]
ReasonOption = Annotated[str, typer.Option("--reason", "-r", help="Why: recorded on the package.")]


def _root() -> Path:
    from mlops.workspace import root

    return root()


def _config(stack: str) -> StackConfig:
    """The stack's validated config; an unknown stack or a broken file is a clean error."""
    from kernel import load_stack_file, stack_file

    return load_stack_file(stack_file(stack, _root()))


def _client(service: str, stack: str, endpoint_url: str | None) -> Any:
    from mlops.aws import aws_client

    return aws_client(service, _config(stack).region, endpoint_url)


@app.command("list")
def list_(
    stack: StackOption = "dev",
    project: ProjectOption = None,
    status: Annotated[str | None, typer.Option(help="Approved, Rejected or PendingManualApproval.")] = None,
    endpoint_url: EndpointOption = None,
) -> None:
    """List the versions in the stack's model package group, newest first."""
    from pipelines.lifecycle.promotion import stack_group
    from pipelines.lifecycle.registry import list_packages

    group = stack_group(_root(), stack, project_name(_root(), project))
    table = Table(title=f"{group}", title_justify="left")
    for column in ("version", "status", "created", "arn"):
        table.add_column(column)
    for package in list_packages(_client("sagemaker", stack, endpoint_url), group, status):
        created = package.created.isoformat(timespec="seconds") if package.created else ""
        table.add_row(str(package.version), package.status, created, package.arn)
    console.print(table)


def _decide(arn: str, decision: str, reason: str, *, stack: str, project: str | None, endpoint_url: str | None) -> None:
    from pipelines.lifecycle.promotion import stack_group
    from pipelines.lifecycle.registry import decide

    group = stack_group(_root(), stack, project_name(_root(), project))
    result = decide(_client("sagemaker", stack, endpoint_url), arn, decision, reason, [group])  # type: ignore[arg-type]
    console.print(f"{arn}: {decision} ({result})")


@app.command()
def approve(
    arn: str,
    reason: ReasonOption,
    stack: StackOption = "dev",
    project: ProjectOption = None,
    endpoint_url: EndpointOption = None,
) -> None:
    """Approve a package version of the stack's group for promotion."""
    _decide(arn, "Approved", reason, stack=stack, project=project, endpoint_url=endpoint_url)


@app.command()
def reject(
    arn: str,
    reason: ReasonOption,
    stack: StackOption = "dev",
    project: ProjectOption = None,
    endpoint_url: EndpointOption = None,
) -> None:
    """Reject a package version of the stack's group."""
    _decide(arn, "Rejected", reason, stack=stack, project=project, endpoint_url=endpoint_url)


@app.command()
def promote(
    to: Annotated[str, typer.Option("--to", help="staging or prod.")],
    arn: Annotated[str | None, typer.Option(help="Package to promote; default: what the previous stage runs.")] = None,
    project: ProjectOption = None,
    endpoint_url: EndpointOption = None,
) -> None:
    """Pin an approved package for the next stage in the project's file (deploy it with `pulumi up`)."""
    from kernel.types import ENVIRONMENTS
    from pipelines.lifecycle.promotion import promote as run
    from pipelines.lifecycle.stack_files import pinned_package

    if to not in ENVIRONMENTS[1:]:
        raise UserError(f"--to {to!r}: promote to staging or prod")
    name = project_name(_root(), project)
    source = ENVIRONMENTS[ENVIRONMENTS.index(to) - 1]
    package = arn or pinned_package(_root(), source, name)
    if package is None:
        raise UserError(f"{name} serves no model in {source}; pass --arn with an approved package")
    change = run(_client("sagemaker", to, endpoint_url), _root(), package, to, name)
    verb = "pinned" if change.changed else "already pins"
    where = f"projects/{name}/project.yaml ({to})"
    console.print(f"{where} {verb} {change.current} (was {change.previous or 'nothing'})", soft_wrap=True)


@app.command()
def rollback(
    stack: StackOption,
    to_version: Annotated[
        int | None, typer.Option("--to-version", min=1, help="Version to pin; default: the previous approved one.")
    ] = None,
    again: Annotated[
        bool, typer.Option("--again", help="Roll back further although the pin is itself a rollback.")
    ] = False,
    project: ProjectOption = None,
    endpoint_url: EndpointOption = None,
) -> None:
    """Pin an earlier approved version in the project's file (deploy it with `pulumi up`); safe to re-run."""
    from pipelines.lifecycle.promotion import rollback as run

    name = project_name(_root(), project)
    client = _client("sagemaker", stack, endpoint_url)
    change = run(client, _root(), stack, name, to_version=to_version, again=again)
    where = f"projects/{name}/project.yaml ({stack})"
    if change.changed:
        console.print(f"{where} rolled back from {change.previous} to {change.current}", soft_wrap=True)
    elif change.rolled_back_from is not None:
        console.print(
            f"{where} was already rolled back from version {change.rolled_back_from} to "
            f"{change.current}: nothing to do (pass --again to roll back further, or --to-version N)",
            soft_wrap=True,
        )
    else:
        console.print(f"{where} already pins {change.current}: nothing to do", soft_wrap=True)


@app.command()
def smoke(
    stack: StackOption,
    endpoint: Annotated[str | None, typer.Option(help="Endpoint name; default: the project's.")] = None,
    project_option: ProjectOption = None,
    endpoint_url: EndpointOption = None,
) -> None:
    """Invoke the project's endpoint with sample rows and check every answer fits the model's kind."""
    from kernel.naming import MODEL_NAME, Naming
    from mlops.project_context import current_project
    from pipelines.lifecycle.smoke import sample_payload, smoke_test

    config = _config(stack)
    project = current_project(_root(), project_option)
    naming = Naming(config.name_prefix, config.environment, config.account_id, config.region, project.name)
    name = endpoint or naming.sagemaker(MODEL_NAME)
    runtime = _client("sagemaker-runtime", stack, endpoint_url)
    result = smoke_test(runtime, name, sample_payload(project), project.file.model.kind)
    console.print(f"{name}: {result.rows} rows scored by {result.variant or 'the endpoint'}: {result.scores}")


@app.command("batch-score")
def batch_score(
    stack: StackOption,
    *,
    input_uri: Annotated[str, typer.Option("--input", help="S3 prefix of CSV rows to score.")],
    output_uri: Annotated[str, typer.Option("--output", help="S3 prefix for the scores.")],
    outputs: Annotated[Path | None, typer.Option("--outputs", help="`pulumi stack output --json`.")] = None,
    project: ProjectOption = None,
    endpoint_url: EndpointOption = None,
) -> None:
    """Score an S3 prefix with the model the project serves (a KMS-encrypted batch transform job)."""
    from kernel.naming import MODEL_NAME, Naming
    from mlops.stack_context import load_context
    from pipelines.definitions.settings import required_output
    from pipelines.lifecycle.batch import batch_score as run

    context = load_context(_root(), stack, outputs, project_name(_root(), project))
    config = context.config
    package = config.serving.model_package_arn
    if package is None:
        raise UserError(f"{config.project} serves no model in {stack}; promote one first")
    naming = Naming(config.name_prefix, config.environment, config.account_id, config.region, config.project)
    model_name = naming.sagemaker(f"{MODEL_NAME}-primary-v{package.rsplit('/', 1)[1]}")
    job = run(
        _client("sagemaker", stack, endpoint_url),
        model_name=model_name,
        input_uri=input_uri,
        output_uri=output_uri,
        instance_type=config.monitoring.processing_instance_type,
        kms_key_arn=required_output(context.outputs, "key_arns", "models"),
        prefix=naming.base,
    )
    verb = "started" if job.started else "already exists"
    console.print(f"{job.name} {verb} ({job.status}): {job.arn}", soft_wrap=True)


@app.command()
def baseline(
    stack: StackOption,
    train_data: Annotated[str, typer.Option("--train-data", help="S3 prefix of the served model's training split.")],
    outputs: Annotated[Path | None, typer.Option("--outputs", help="`pulumi stack output --json`.")] = None,
    project: ProjectOption = None,
    endpoint_url: EndpointOption = None,
) -> None:
    """Start the Model Monitor baselining job the model-monitor backend compares traffic against."""
    from kernel.naming import MODEL_NAME, Naming
    from mlops.stack_context import load_context
    from pipelines.definitions.settings import required_output
    from pipelines.definitions.templates import model_monitor_image
    from pipelines.lifecycle.model_monitor import suggest_baseline

    context = load_context(_root(), stack, outputs, project_name(_root(), project))
    config = context.config
    naming = Naming(config.name_prefix, config.environment, config.account_id, config.region, config.project)
    endpoint = naming.sagemaker(MODEL_NAME)
    bucket = required_output(context.outputs, "bucket_names", "monitoring")
    name, started = suggest_baseline(
        _client("sagemaker", stack, endpoint_url),
        prefix=naming.base,
        image_uri=model_monitor_image(config.region),
        role_arn=required_output(context.outputs, "role_arns", "monitoring"),
        train_uri=train_data,
        output_uri=f"s3://{bucket}/model-monitor/{endpoint}/baseline",
        kms_key_arn=required_output(context.outputs, "key_arns", "models"),
        subnet_ids=required_output(context.outputs, "subnet_ids"),
        security_group_ids=[required_output(context.outputs, "workload_security_group_id")],
        instance_type=config.monitoring.processing_instance_type,
    )
    console.print(f"{name} {'started' if started else 'already exists'}")
