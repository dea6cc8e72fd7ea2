"""Inference handlers for the scikit-learn serving container (and the local smoke test).

The model artifact carries this file under `code/`, with `dataset.py` and the project's `project.json`,
so an endpoint with network isolation needs nothing from S3 beyond the artifact itself. Requests are
CSV rows of the model's features, in the order of the spec's `features`, with or without a header; the
response is one value per row: a classifier's probability of the positive class, a regressor's prediction.
"""

from __future__ import annotations

import io
import os
from functools import lru_cache
from typing import Any

import joblib
import pandas as pd
from dataset import SPEC_FILE, Spec, load_spec

CSV = "text/csv"
HERE = os.path.dirname(os.path.abspath(__file__))
"""The artifact's `code/` folder: this file, `dataset.py` and the `project.json` the model was trained on."""


@lru_cache(maxsize=8)
def _spec(path: str) -> Spec:
    return load_spec(path)


def spec_of(path: str = "") -> Spec:
    """The project spec the model was trained on (the `project.json` beside this file by default)."""
    return _spec(path or os.path.join(HERE, SPEC_FILE))


def model_fn(model_dir: str) -> Any:
    """Load the fitted pipeline."""
    return joblib.load(os.path.join(model_dir, "model.joblib"))


def input_fn(body: str | bytes, content_type: str = CSV) -> pd.DataFrame:
    """Parse CSV rows into the feature frame the model expects."""
    if content_type != CSV:
        raise ValueError(f"unsupported content type {content_type!r}; send {CSV}")
    features = spec_of().features
    text = body.decode("utf-8") if isinstance(body, bytes) else body
    first = text.lstrip().split("\n", 1)[0]
    has_header = first.split(",")[0].strip() == features[0]
    frame = pd.read_csv(io.StringIO(text), header=0 if has_header else None)
    if not has_header:
        if frame.shape[1] != len(features):
            raise ValueError(f"expected {len(features)} values per row ({', '.join(features)}), got {frame.shape[1]}")
        frame.columns = features
    return frame[features]


def predict_fn(frame: pd.DataFrame, model: Any) -> list[float]:
    """A classifier's positive-class probability, or a regressor's predicted value, of each row."""
    if spec_of().is_classifier:
        return [float(p) for p in model.predict_proba(frame)[:, 1]]
    return [float(value) for value in model.predict(frame)]


def output_fn(prediction: list[float], accept: str = CSV) -> str:
    """One value per line."""
    if accept not in (CSV, "*/*"):
        raise ValueError(f"unsupported accept type {accept!r}; use {CSV}")
    return "\n".join(f"{p:.6f}" for p in prediction)
