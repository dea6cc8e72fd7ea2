"""`mlops report`: write one self-contained HTML page people read about a stack's model."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mlops.console import console


def report(
    stack: Annotated[str, typer.Option("--stack", "-s", help="Stack name: dev, staging or prod.")],
    project: Annotated[str | None, typer.Option("--project", "-p", help="Project (model) the report is about.")] = None,
    out: Annotated[Path, typer.Option(help="The HTML file to write.")] = Path("report.html"),
    artefacts: Annotated[
        Path | None, typer.Option(help="Folder of a run's artefacts (default: the demo's, out/demo).")
    ] = None,
) -> None:
    """Evaluation (ROC or residuals), bias by group, feature attribution, data drift, and quality over time.

    One HTML file with plotly.js inlined: it opens offline, from a file, in any browser.
    """
    from kernel import load_stack_file, stack_file
    from mlops.cli import ROOT
    from mlops.report.artefacts import load_artefacts
    from mlops.report.page import render

    config = load_stack_file(stack_file(stack, ROOT))
    loaded = load_artefacts(artefacts or ROOT / "out" / "demo")
    title = f"{project or 'model'} in {stack} ({config.environment}, {config.region})"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render(loaded, title), encoding="utf-8")
    console.print(f"report: {out} ({out.stat().st_size // 1024} KiB, self-contained)")
