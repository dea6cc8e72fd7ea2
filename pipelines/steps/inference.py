"""Inference handlers for the scikit-learn serving container (and the local smoke test).

The model artifact carries this file under `code/`, so an endpoint with network isolation needs
nothing from S3 beyond the artifact itself. Requests are CSV rows of the model's features, in the
order of `dataset.FEATURES`, with or without a header; the response is one churn probability per row.
"""

from __future__ import annotations

import io
import os
from typing import Any

import joblib
import pandas as pd
from dataset import FEATURES

CSV = "text/csv"


def model_fn(model_dir: str) -> Any:
    """Load the fitted pipeline."""
    return joblib.load(os.path.join(model_dir, "model.joblib"))


def input_fn(body: str | bytes, content_type: str = CSV) -> pd.DataFrame:
    """Parse CSV rows into the feature frame the model expects."""
    if content_type != CSV:
        raise ValueError(f"unsupported content type {content_type!r}; send {CSV}")
    text = body.decode("utf-8") if isinstance(body, bytes) else body
    first = text.lstrip().split("\n", 1)[0]
    has_header = first.split(",")[0].strip() == FEATURES[0]
    frame = pd.read_csv(io.StringIO(text), header=0 if has_header else None)
    if not has_header:
        if frame.shape[1] != len(FEATURES):
            raise ValueError(f"expected {len(FEATURES)} values per row ({', '.join(FEATURES)}), got {frame.shape[1]}")
        frame.columns = FEATURES
    return frame[FEATURES]


def predict_fn(frame: pd.DataFrame, model: Any) -> list[float]:
    """Churn probability of each row."""
    return [float(p) for p in model.predict_proba(frame)[:, 1]]


def output_fn(prediction: list[float], accept: str = CSV) -> str:
    """One probability per line."""
    if accept not in (CSV, "*/*"):
        raise ValueError(f"unsupported accept type {accept!r}; use {CSV}")
    return "\n".join(f"{p:.6f}" for p in prediction)
