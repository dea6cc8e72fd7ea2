"""The report's plots, one plotly figure each, drawn from the artefacts (no plot drawn by hand)."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go

from mlops.report.artefacts import Curve

LAYOUT: dict[str, Any] = {"template": "plotly_white", "height": 420, "margin": {"l": 60, "r": 20, "t": 50, "b": 50}}


def evaluation_figure(curve: Curve, evaluation: dict[str, Any]) -> go.Figure:
    """ROC curve with its AUC (classifier), or residuals against predictions (regressor)."""
    figure = go.Figure(layout=LAYOUT)
    if curve.kind == "roc":
        auc = evaluation["metrics"]["auc"]["value"]
        figure.add_trace(go.Scatter(x=curve.x, y=curve.y, mode="lines", name=f"model (AUC {auc:.3f})"))
        figure.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="chance", line={"dash": "dot"}))
        figure.update_layout(
            title="ROC on the held-out test split", xaxis_title="false positive rate", yaxis_title="true positive rate"
        )
    else:
        figure.add_trace(go.Scatter(x=curve.x, y=curve.y, mode="markers", name="test rows", opacity=0.6))
        figure.add_hline(y=0, line_dash="dot")
        figure.update_layout(title="Residuals on the held-out test split", xaxis_title="prediction",
                             yaxis_title="label - prediction")  # fmt: skip
    return figure


def bias_figure(bias: dict[str, Any]) -> go.Figure:
    """Positive rates per group of the sensitive attribute: outcomes in the data and the model's predictions."""
    groups = sorted(bias["groups"])
    labels = bias["pre_training"]["label_positive_rate"]
    predictions = bias["post_training"]["prediction_positive_rate"]
    figure = go.Figure(layout=LAYOUT)
    figure.add_trace(go.Bar(x=groups, y=[labels[g] for g in groups], name="label positive rate"))
    figure.add_trace(go.Bar(x=groups, y=[predictions[g] for g in groups], name="predicted positive rate"))
    gap = bias["post_training"]["demographic_parity_gap"]
    figure.update_layout(
        title=f"Bias by {bias['attribute']}: demographic parity gap {gap:.3f}", barmode="group",
        yaxis_title="share positive",
    )  # fmt: skip
    return figure


def attribution_figure(attribution: dict[str, float], kind: str = "classifier") -> go.Figure:
    """Permutation importance per feature (the score lost when the feature is shuffled), largest on top."""
    ranked = sorted(attribution.items(), key=lambda item: item[1])
    score = "AUC" if kind == "classifier" else "RMSE"
    figure = go.Figure(go.Bar(x=[v for _, v in ranked], y=[k for k, _ in ranked], orientation="h"), layout=LAYOUT)
    figure.update_layout(
        title="Feature attribution (permutation importance)", xaxis_title=f"{score} lost when shuffled"
    )
    return figure


def drift_figure(drift: dict[str, Any]) -> go.Figure:
    """PSI per feature against the threshold; drifted features (material and significant) stand out."""
    names = sorted(drift["features"], key=lambda n: -drift["features"][n]["psi"])
    colours = ["#d62728" if drift["features"][n]["drifted"] else "#1f77b4" for n in names]
    figure = go.Figure(go.Bar(x=names, y=[drift["features"][n]["psi"] for n in names], marker_color=colours),
                       layout=LAYOUT)  # fmt: skip
    figure.add_hline(y=drift["thresholds"]["psi"], line_dash="dash", annotation_text="PSI threshold")
    drifted = ", ".join(drift["drifted_features"]) or "none"
    figure.update_layout(title=f"Data drift per feature ({drift['rows']} rows; drifted: {drifted})", yaxis_title="PSI")
    return figure


def quality_figure(history: list[dict[str, Any]], metric: str = "auc") -> go.Figure:
    """The quality job's metric per window against the evaluation baseline and its tolerance.

    AUC may fall by its tolerance; MAE may rise by its tolerance, relative to the baseline (quality.py).
    """
    judged = [h for h in history if metric in h["metrics"]]
    when = [h["window_end"][:10] for h in judged]
    baseline = judged[0]["baseline"][metric] if judged else 0.0
    tolerance = judged[0]["tolerances"][metric] if judged else 0.0
    floor = baseline - tolerance if metric == "auc" else baseline * (1 + tolerance)
    figure = go.Figure(layout=LAYOUT)
    figure.add_trace(go.Scatter(x=when, y=[h["metrics"][metric] for h in judged], mode="lines+markers",
                                name=f"{metric} on labelled traffic",
                                marker={"color": ["#d62728" if h["violations"] else "#2ca02c" for h in judged],
                                        "size": 10}))  # fmt: skip
    figure.add_hline(y=baseline, line_dash="dot", annotation_text="evaluation baseline")
    figure.add_hline(y=floor, line_dash="dash", line_color="#d62728", annotation_text="tolerance")
    figure.update_layout(title=f"Quality over time: {metric} per window (red: violation)", yaxis_title=metric,
                         xaxis_title="window end")  # fmt: skip
    return figure
