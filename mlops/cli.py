"""`mlops`: validate and plan stacks offline, and run the model lifecycle against AWS.

Every failure is printed as one line per problem, never as a traceback (`--debug` adds it), with an
exit status that says whether to fix the input (1), fix permissions (77) or retry (75).
"""

from __future__ import annotations

import sys
import traceback
from pathlib import Path
from typing import Annotated

import typer

from mlops import workspace
from mlops.console import errors
from mlops.process_exit import skip_final_collection

app = typer.Typer(
    name="mlops",
    help="MLOps platform blueprint: plan stacks offline, run the model lifecycle (--debug: tracebacks).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.command()
def demo(
    out: Annotated[Path, typer.Option(help="Folder for the demo's artefacts.")] = workspace.ROOT / "out" / "demo",
) -> None:
    """Run the whole lifecycle offline against a local AWS emulator, every stage checked.

    Validate the stacks; plan dev with its policy check and cost; train locally; provision dev from its
    plan; ingest features; run the pipeline; register, approve and promote the model; deploy and smoke-test
    it; trace its lineage; detect drift and retrain. Artefacts go to --out.
    """
    from mlops.demo import run_demo

    run_demo(workspace.root(), out)


def _register_groups() -> None:
    from mlops.commands import (
        ci,
        cost,
        features,
        labels,
        lineage,
        model,
        pipeline,
        plan,
        policy,
        project,
        report,
        review,
        upgrade,
        validate,
    )

    app.command("validate")(validate.validate)
    app.command("plan")(plan.plan)

    app.add_typer(pipeline.app, name="pipeline")
    app.add_typer(features.app, name="features")
    app.add_typer(labels.app, name="labels")
    app.add_typer(model.app, name="model")
    app.add_typer(policy.app, name="policy")
    app.add_typer(ci.app, name="ci")
    app.add_typer(project.app, name="project")
    app.add_typer(review.app, name="review")
    app.command("cost")(cost.cost)
    app.command("report")(report.report)
    app.command("upgrade")(upgrade.upgrade)
    app.command("lineage")(lineage.lineage_command)
    model.app.command("lineage", hidden=True)(lineage.lineage_command)  # the name earlier releases used


_register_groups()


def main() -> None:
    """Console-script entry point: the one error boundary (see `mlops.boundary` for the exit codes).

    `--debug` anywhere on the command line prints the traceback of a failure as well.
    """
    skip_final_collection()
    arguments = sys.argv[1:]
    debug = "--debug" in arguments
    try:
        app(args=[argument for argument in arguments if argument != "--debug"])
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as error:
        from rich.text import Text

        from mlops.boundary import explain

        if debug:
            traceback.print_exc()
        code, lines = explain(error)
        for line in lines:
            errors.print(Text.assemble(("error:", "red"), " ", line), soft_wrap=True)
        sys.exit(int(code))
