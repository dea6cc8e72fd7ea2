"""Inference handlers for the scikit-learn serving container (and the local smoke test).

The model artifact carries this file under `code/`, with `dataset.py` and the project's `project.json`,
so an endpoint with network isolation needs nothing from S3 beyond the artifact itself. Requests are
CSV rows of the model's features, in the order of the spec's `features`, with or without a header; the
response is one value per row: a classifier's probability of the positive class, a regressor's prediction.

Every row gets an inference id, so that a label arriving days later can be joined with the
prediction it judges. The ids come from, in order: an `inference_id` column of the request (with a
header); the caller's `InvokeEndpoint` `InferenceId`, which SageMaker passes to the container as the
`X-Amzn-SageMaker-Inference-Id` header and records in data capture as `eventMetadata.inferenceId`
(botocore 1.44.5, sagemaker-runtime `InvokeEndpointInput.InferenceId`); or a fresh uuid4. A request of
one row takes the id itself, a request of n rows `<id>-0` ... `<id>-<n-1>` (`row_ids`). Ask for
`text/csv;inference-ids=true` to get `inference_id,<value>` per line (batch scoring does, so its
output carries an id column); plain `text/csv` keeps the one-value-per-line answer Clarify and
the smoke test read.

The sklearn image serves with sagemaker-containers' Flask worker (aws/deep-learning-containers
`docker/sklearn/1.9-0/Dockerfile`: `SAGEMAKER_SERVING_MODULE=sagemaker_sklearn_container.serving:main`;
aws/sagemaker-containers `_worker.py`, `_transformer.py` at 913aa80), which calls these handlers inside
the Flask request, so the header is read from `flask.request` (Flask 3.1.3 in the image's pyproject).
"""

from __future__ import annotations

import io
import os
import sys
import uuid
from functools import lru_cache
from typing import Any

import joblib
import pandas as pd
from dataset import SPEC_FILE, Spec, load_spec

CSV = "text/csv"
CSV_WITH_IDS = "text/csv;inference-ids=true"
ID_COLUMN = "inference_id"
ID_HEADER = "X-Amzn-SageMaker-Inference-Id"
HERE = os.path.dirname(os.path.abspath(__file__))
"""The artifact's `code/` folder: this file, `dataset.py` and the `project.json` the model was trained on."""


class Scores(list[float]):
    """The value predicted for each row (probability or regression value), with the inference id of each."""

    def __init__(self, scores: list[float], inference_ids: list[str]) -> None:
        super().__init__(scores)
        self.inference_ids = inference_ids


@lru_cache(maxsize=8)
def _spec(path: str) -> Spec:
    return load_spec(path)


def spec_of(path: str = "") -> Spec:
    """The project spec the model was trained on (the `project.json` beside this file by default)."""
    return _spec(path or os.path.join(HERE, SPEC_FILE))


def model_fn(model_dir: str) -> Any:
    """Load the fitted pipeline."""
    return joblib.load(os.path.join(model_dir, "model.joblib"))


def caller_inference_id() -> str | None:
    """The caller's InferenceId, when this runs inside the serving container's Flask request.

    The serving worker is a Flask app, so Flask is already loaded there; anywhere else (local runs,
    the parity environments, which do not list Flask) there is no request and no id.
    """
    flask: Any = sys.modules.get("flask")
    if flask is None or not flask.has_request_context():
        return None
    value = flask.request.headers.get(ID_HEADER)
    return str(value) if value else None


def row_ids(base: str | None, rows: int) -> list[str]:
    """The inference id of each row of a request: the request's own id for one row, `<id>-<i>` for many."""
    root = base or str(uuid.uuid4())
    return [root] if rows == 1 else [f"{root}-{i}" for i in range(rows)]


def input_fn(body: str | bytes, content_type: str = CSV, inference_id: str | None = None) -> pd.DataFrame:
    """Parse CSV rows into the feature frame the model expects, with the rows' ids in `attrs`."""
    if content_type.split(";", maxsplit=1)[0].strip() != CSV:
        raise ValueError(f"unsupported content type {content_type!r}; send {CSV}")
    features = spec_of().features
    text = body.decode("utf-8") if isinstance(body, bytes) else body
    first = [name.strip() for name in text.lstrip().split("\n", 1)[0].split(",")]
    has_header = features[0] in first
    frame = pd.read_csv(io.StringIO(text), header=0 if has_header else None)
    if not has_header:
        if frame.shape[1] != len(features):
            raise ValueError(f"expected {len(features)} values per row ({', '.join(features)}), got {frame.shape[1]}")
        frame.columns = features
    if ID_COLUMN in frame.columns:
        ids = frame[ID_COLUMN].astype(str).tolist()
    else:
        ids = row_ids(inference_id or caller_inference_id(), len(frame))
    inputs = frame[features].copy()
    inputs.attrs["inference_ids"] = ids
    return inputs


def predict_fn(frame: pd.DataFrame, model: Any) -> Scores:
    """A classifier's positive-class probability, or a regressor's predicted value, of each row, with its id."""
    ids = frame.attrs.get("inference_ids") or row_ids(None, len(frame))
    features = frame[spec_of().features]
    if spec_of().is_classifier:
        return Scores([float(p) for p in model.predict_proba(features)[:, 1]], list(ids))
    return Scores([float(value) for value in model.predict(features)], list(ids))


def output_fn(prediction: list[float], accept: str = CSV) -> str:
    """One value per line; with `CSV_WITH_IDS`, `inference_id,<value>` per line."""
    media, _, parameters = accept.replace(" ", "").partition(";")
    if media not in (CSV, "*/*"):
        raise ValueError(f"unsupported accept type {accept!r}; use {CSV} or {CSV_WITH_IDS}")
    if "inference-ids=true" in parameters.split(";"):
        ids = getattr(prediction, "inference_ids", None) or row_ids(None, len(prediction))
        return "\n".join(f"{i},{p:.6f}" for i, p in zip(ids, prediction, strict=True))
    return "\n".join(f"{p:.6f}" for p in prediction)
