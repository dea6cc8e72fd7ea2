"""`mlops ci ...`: the small facts the GitHub workflows need, computed from the stack files."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path
from typing import Annotated, Literal

import typer

from mlops.console import UserError, console

app = typer.Typer(help="Helpers the GitHub workflows call.", no_args_is_help=True)


def _root() -> Path:
    from mlops.workspace import root

    return root()


def role_arn(root: Path, stack: str, kind: Literal["deploy", "preview"]) -> str:
    """The GitHub OIDC role the workflow assumes for `stack` (created by the stack's Identity component)."""
    from kernel import load_stack_file, stack_file
    from kernel.naming import Naming

    config = load_stack_file(stack_file(stack, root))
    naming = Naming(config.name_prefix, config.environment, config.account_id, config.region)
    return f"arn:aws:iam::{config.account_id}:role/{naming.iam(f'github-{kind}')}"


@app.command("role-arn")
def role_arn_command(
    stack: Annotated[str, typer.Option("--stack", "-s")],
    kind: Annotated[str, typer.Option(help="deploy or preview")] = "deploy",
) -> None:
    """Print the role ARN a workflow assumes for the stack."""
    if kind not in ("deploy", "preview"):
        raise typer.BadParameter("deploy or preview", param_hint="--kind")
    console.print(role_arn(_root(), stack, kind), soft_wrap=True)  # type: ignore[arg-type]


@app.command()
def region(stack: Annotated[str, typer.Option("--stack", "-s")]) -> None:
    """Print the stack's AWS region."""
    from kernel import load_stack_file, stack_file

    console.print(load_stack_file(stack_file(stack, _root())).region, soft_wrap=True)


@app.command()
def backend(stack: Annotated[str, typer.Option("--stack", "-s")]) -> None:
    """Print the Pulumi state backend URL of the stack (its S3 state bucket in the stack's region)."""
    from kernel import load_stack_file, stack_file
    from mlops.console import UserError

    config = load_stack_file(stack_file(stack, _root()))
    if not config.identity.state_bucket:
        raise UserError(f"Pulumi.{stack}.yaml sets no mlops:identity.stateBucket; add the state bucket's name")
    console.print(f"s3://{config.identity.state_bucket}?region={config.region}", soft_wrap=True)


@app.command()
def pinned(stack: Annotated[str, typer.Option("--stack", "-s")]) -> None:
    """Print the model package the stack pins (nothing before its first promotion)."""
    from pipelines.lifecycle.stack_files import pinned_package

    console.print(pinned_package(_root(), stack) or "", soft_wrap=True)


@app.command("next-promotion")
def next_promotion(
    source: Annotated[str, typer.Option("--from", help="The stage whose pin moves on (staging).")],
    target: Annotated[str, typer.Option("--to", help="The stage it moves to (prod).")],
) -> None:
    """Print the package `--from` serves when `--to` serves another one; print nothing when they agree."""
    from kernel.types import ENVIRONMENTS
    from pipelines.lifecycle.stack_files import pinned_package

    steps = list(pairwise(ENVIRONMENTS))
    if (source, target) not in steps:
        allowed = " or ".join(f"--from {a} --to {b}" for a, b in steps)
        raise UserError(
            f"--from {source} --to {target}: a package moves {' -> '.join(ENVIRONMENTS)}, one stage at a time; "
            f"pass {allowed}"
        )
    package = pinned_package(_root(), source)
    if package and package != pinned_package(_root(), target):
        console.print(package, soft_wrap=True)
