"""Assemble the report: one HTML page with every plot, plotly.js inlined once, so it opens offline."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import plotly.graph_objects as go

from mlops.report.artefacts import Artefacts
from mlops.report.figures import attribution_figure, bias_figure, drift_figure, evaluation_figure, quality_figure

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1100px; color: #222; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.2rem; margin-top: 2rem; border-bottom: 1px solid #ddd; }
.note { color: #555; } .missing { color: #a15c00; } table { border-collapse: collapse; }
td, th { padding: 0.2rem 0.8rem; border-bottom: 1px solid #eee; text-align: left; }
"""


def _section(title: str, text: str, figure: go.Figure | None, div_id: str, first: list[bool]) -> str:
    body = f"<h2>{html.escape(title)}</h2><p class='note'>{html.escape(text)}</p>"
    if figure is None:
        return body.replace("class='note'", "class='note missing'")
    plot = figure.to_html(
        full_html=False, include_plotlyjs=first[0], div_id=div_id, config={"displaylogo": False, "responsive": True}
    )
    first[0] = False  # plotly.js goes into the page once, with the first plot
    return f"<section class='plot' id='{div_id}-section'>{body}{plot}</section>"


def _summary(evaluation: dict[str, Any]) -> str:
    decision = evaluation["decision"]
    rows = "".join(
        f"<tr><th>{html.escape(name)}</th><td>{entry['value']:.4f}</td></tr>"
        for name, entry in sorted(evaluation["metrics"].items())
    )
    verdict = "passed" if decision["passed"] else "failed"
    return (
        f"<p>Promotion gate: {html.escape(decision['metric'])} {decision['value']:.4f} against "
        f"{decision['threshold']}: <strong>{verdict}</strong> ({html.escape(decision['reason'])}); "
        f"{evaluation['test_rows']} test rows.</p><table>{rows}</table>"
    )


def _shown(path: Path) -> str:
    """The folder as the reader knows it: relative to the working directory when it is below it."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def render(artefacts: Artefacts, title: str) -> str:
    """The report page."""
    evaluation, first = artefacts.evaluation, [True]
    sections = [
        _section(
            "Evaluation",
            "How well the model separates the classes on the held-out split (or how far off it is, for a regressor).",
            evaluation_figure(artefacts.curve, evaluation) if artefacts.curve else None,
            "evaluation",
            first,
        ),
        _section(
            "Bias by group",
            "Positive rates per group of the sensitive attribute, in the outcomes and in the model's predictions.",
            bias_figure(evaluation["bias"]) if evaluation.get("bias") else None,
            "bias",
            first,
        ),
        _section(
            "Feature attribution",
            "What the model relies on: the score lost when a feature's values are shuffled.",
            attribution_figure(evaluation["attribution"], evaluation.get("kind", "classifier"))
            if evaluation.get("attribution")
            else None,
            "attribution",
            first,
        ),
        _section(
            "Data drift per feature",
            "Captured traffic against the training baseline: population stability index per feature."
            if artefacts.drift
            else "No drift report (drift/drift.json): the drift job writes it.",
            drift_figure(artefacts.drift) if artefacts.drift else None,
            "drift",
            first,
        ),
        _section(
            "Quality over time",
            "Predictions joined with the labels that came back, per window, against the evaluation baseline."
            if artefacts.quality
            else "No quality history (quality/history.json): the quality job's reports fill it.",
            quality_figure(artefacts.quality, "auc" if evaluation.get("kind", "classifier") == "classifier" else "mae")
            if artefacts.quality
            else None,
            "quality",
            first,
        ),
    ]
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>"
        f"<h1>{html.escape(title)}</h1><p class='note'>From {html.escape(_shown(artefacts.root))}.</p>"
        f"{_summary(evaluation)}{''.join(sections)}</body></html>\n"
    )
