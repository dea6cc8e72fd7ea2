"""`mlops ci ...`: the small facts the GitHub workflows need, computed from the stack files."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path
from typing import Annotated, Literal

import typer

from mlops.console import UserError, console
from mlops.project_context import ProjectOption, project_name

app = typer.Typer(help="Helpers the GitHub workflows call.", no_args_is_help=True)


def _root() -> Path:
    from mlops.workspace import root

    return root()


def role_arn(root: Path, stack: str, kind: Literal["deploy", "preview"], project: str | None = None) -> str:
    """The GitHub OIDC role the workflow assumes for the platform's `stack`, or for `project`'s stack there.

    The platform's roles are created by its Identity component, a project's (`<prefix>-<env>-<project>-github-*`)
    by the project program; a project's deploy role changes only that project's resources.
    """
    from kernel import load_stack_file, stack_file
    from kernel.naming import Naming
    from kernel.projects import load_project

    config = load_stack_file(stack_file(stack, root))
    naming = Naming(config.name_prefix, config.environment, config.account_id, config.region)
    if project is not None:
        naming = naming.for_project(load_project(root, project).name)
    return f"arn:aws:iam::{config.account_id}:role/{naming.iam(f'github-{kind}')}"


@app.command("role-arn")
def role_arn_command(
    stack: Annotated[str, typer.Option("--stack", "-s")],
    kind: Annotated[str, typer.Option(help="deploy or preview")] = "deploy",
    project: Annotated[str | None, typer.Option(help="A project's role; the platform's without it.")] = None,
) -> None:
    """Print the role ARN a workflow assumes for the platform's stack, or for a project's (`--project`)."""
    if kind not in ("deploy", "preview"):
        raise typer.BadParameter("deploy or preview", param_hint="--kind")
    console.print(role_arn(_root(), stack, kind, project), soft_wrap=True)  # type: ignore[arg-type]


@app.command()
def changed(
    base: Annotated[str, typer.Option(help="The git revision to compare with (the pull request's base, HEAD^).")],
) -> None:
    """Print what a change touches as JSON: {"platform": bool, "projects": [...]} (workflow matrices read it).

    A project is touched when a file under projects/<name>/ changes; the platform when anything else does
    (its program, components, kernel, stack files, pipelines' code): every project reads it, so all are listed.
    """
    import json

    from mlops.changes import changed_files, touched

    scope = touched(_root(), changed_files(_root(), base))
    console.print(json.dumps({"platform": scope.platform, "projects": scope.projects}), soft_wrap=True)


@app.command("project-stack")
def project_stack_command(
    stack: Annotated[str, typer.Option("--stack", "-s", help="The environment's stack.")],
    project: Annotated[str, typer.Option(help="The project.")],
) -> None:
    """Write the project's stack file (`projects/Pulumi.<project>-<env>.yaml`) and print the stack's name.

    The project program reads its settings from project.yaml and the environment's stack file; its Pulumi stack
    needs only the AWS provider's region, which is the platform's (`aws:region` of Pulumi.<env>.yaml).
    """
    import yaml

    from kernel import load_stack_file, stack_file
    from kernel.program_stacks import project_stack
    from kernel.projects import PROJECTS_DIR, load_project

    load_project(_root(), project)
    region = load_stack_file(stack_file(stack, _root())).region
    name = project_stack(project, stack)
    path = _root() / PROJECTS_DIR / f"Pulumi.{name}.yaml"
    header = f"# Written by `mlops ci project-stack`: {project}'s stack in {stack} runs in the platform's region.\n"
    path.write_text(header + yaml.safe_dump({"config": {"aws:region": region}}), encoding="utf-8")
    console.print(name, soft_wrap=True)


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
def pinned(stack: Annotated[str, typer.Option("--stack", "-s")], project: ProjectOption = None) -> None:
    """Print the model package the project pins in the stack (nothing before its first promotion)."""
    from pipelines.lifecycle.stack_files import pinned_package

    console.print(pinned_package(_root(), stack, project_name(_root(), project)) or "", soft_wrap=True)


@app.command()
def projects() -> None:
    """Print every project (a folder under projects/) as a JSON list, for workflow matrices."""
    import json

    from kernel.projects import project_names

    console.print(json.dumps(project_names(_root())), soft_wrap=True)


@app.command("next-promotion")
def next_promotion(
    source: Annotated[str, typer.Option("--from", help="The stage whose pin moves on (staging).")],
    target: Annotated[str, typer.Option("--to", help="The stage it moves to (prod).")],
    project: ProjectOption = None,
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
    name = project_name(_root(), project)
    package = pinned_package(_root(), source, name)
    if package and package != pinned_package(_root(), target, name):
        console.print(package, soft_wrap=True)
