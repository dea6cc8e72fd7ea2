"""`mlops report`: write one self-contained HTML page people read about a stack's model."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mlops.console import console
from mlops.project_context import ProjectOption


def report(
    stack: Annotated[str, typer.Option("--stack", "-s", help="Stack name: dev, staging or prod.")],
    project: ProjectOption = None,
    out: Annotated[Path, typer.Option(help="The HTML file to write.")] = Path("report.html"),
    artefacts: Annotated[
        Path | None,
        typer.Option(help="Folder of the project's run artefacts (default: the demo's, out/demo/<project>)."),
    ] = None,
) -> None:
    """Evaluation (ROC or residuals), bias by group, feature attribution, data drift, and quality over time.

    One HTML file with plotly.js inlined: it opens offline, from a file, in any browser.
    """
    from kernel.loader import parse_settings, read_stack_file, stack_file
    from mlops.project_context import current_project
    from mlops.report.artefacts import load_artefacts
    from mlops.report.page import render
    from mlops.workspace import root

    chosen = current_project(root(), project)
    path = stack_file(stack, root())
    config = parse_settings(read_stack_file(path), path.name, chosen)
    loaded = load_artefacts(artefacts or root() / "out" / "demo" / chosen.name)
    title = f"{chosen.name} in {stack} ({config.environment}, {config.region})"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render(loaded, title), encoding="utf-8")
    console.print(f"report: {out} ({out.stat().st_size // 1024} KiB, self-contained)")
