"""Endpoint traffic and late labels for the churn project's quality scenarios: clean, data drift, concept drift.

Fresh customers come from the churn project's own generator (`projects/churn/data/generate.py`, loaded
by path as `python projects/churn/data/generate.py` runs it, another seed), so the inputs follow the
training population. Their outcomes then follow one of two concepts:

- `original`: the generator's own churn relationship (its logit, coefficients copied below);
- `shifted`: the same inputs, a different relationship (month-to-month customers now stay rather
  than leave, support calls no longer matter and tenure no longer protects): concept drift, which
  the inputs alone cannot reveal.

Data drift moves the inputs (higher charges, more month-to-month contracts) and keeps the original
concept, so a model that learnt the concept stays right. Captured requests are written as SageMaker
data-capture JSON lines (see `pipelines/steps/quality.py` for the format and its source); labels as
the JSON lines `mlops labels upload` accepts.
"""

from __future__ import annotations

import importlib.util
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

GENERATOR = Path(__file__).resolve().parents[2] / "projects" / "churn" / "data" / "generate.py"
"""The churn project's sample generator: its `logit` is the concept `original` copies."""
Concept = Literal["original", "shifted"]
TRAFFIC_SEED = 20261129
REQUEST_ROWS = 10
"""Rows per captured request."""


def generate(rows: int, seed: int) -> list[dict[str, object]]:
    """`rows` customers of the churn project's population (its generator, loaded by path)."""
    loader = importlib.util.spec_from_file_location("churn_generate", GENERATOR)
    if loader is None or loader.loader is None:
        raise FileNotFoundError(f"{GENERATOR}: the churn project's generator is missing")
    module = importlib.util.module_from_spec(loader)
    loader.loader.exec_module(module)
    records: list[dict[str, object]] = module.generate(rows, seed)
    return records


def churn_probability(frame: pd.DataFrame, concept: Concept) -> np.ndarray:
    """The probability of churn of each customer under `concept` (without the generator's noise term)."""
    month = (frame["contract"] == "month-to-month").to_numpy(dtype=float)
    two_year = (frame["contract"] == "two-year").to_numpy(dtype=float)
    tenure = frame["tenure_months"].to_numpy(dtype=float)
    charges = frame["monthly_charges"].to_numpy(dtype=float) - 68
    calls = frame["support_calls_90d"].to_numpy(dtype=float)
    check = (frame["payment_method"] == "electronic-check").to_numpy(dtype=float)
    senior = frame["senior"].to_numpy(dtype=float)
    if concept == "original":  # projects/churn/data/generate.py, `logit`
        logit = (
            -1.9 + 1.5 * month - 1.0 * two_year - 0.035 * tenure + 0.022 * charges
            + 0.42 * calls + 0.55 * check + 0.35 * senior
        )  # fmt: skip
    else:
        logit = -1.4 - 0.5 * month - 1.0 * two_year + 0.01 * tenure + 0.022 * charges + 0.55 * check + 0.35 * senior
    probability: np.ndarray = 1 / (1 + np.exp(-logit))
    return probability


def customers(rows: int, seed: int = TRAFFIC_SEED, *, data_drift: bool = False) -> pd.DataFrame:
    """Fresh customers from the training population, or (with `data_drift`) with shifted inputs."""
    frame = pd.DataFrame(generate(rows, seed))
    if data_drift:
        rng = np.random.default_rng(seed + 1)
        frame["monthly_charges"] = (frame["monthly_charges"] * 1.3).round(2)
        frame.loc[rng.random(len(frame)) < 0.5, "contract"] = "month-to-month"
    return frame


def outcomes(frame: pd.DataFrame, concept: Concept, seed: int = TRAFFIC_SEED) -> np.ndarray:
    """Churn outcomes drawn under `concept` (the generator's noise included)."""
    rng = np.random.default_rng(seed + 2)
    noisy = np.log(churn_probability(frame, concept) / (1 - churn_probability(frame, concept)))
    noisy = noisy + rng.normal(0, 0.35, len(frame))
    drawn: np.ndarray = (rng.random(len(frame)) < 1 / (1 + np.exp(-noisy))).astype(int)
    return drawn


@dataclass(frozen=True)
class Traffic:
    """Captured requests and the labels that came back for them."""

    capture: Path
    labels: Path
    rows: int
    labelled: int


def write_traffic(
    root: Path,
    frame: pd.DataFrame,
    labels: np.ndarray,
    score: Callable[[pd.DataFrame], list[float]],
    *,
    features: list[str],
    sensitive: str,
    start: datetime,
    hours: float,
    label_delay_hours: tuple[float, float] = (1.0, 72.0),
    missing: float = 0.1,
    seed: int = TRAFFIC_SEED,
) -> Traffic:
    """Capture files of `frame` scored by `score`, spread over `hours` from `start`, and the labels.

    Half the requests carry the caller's InferenceId (in `eventMetadata.inferenceId`, answers are
    scores only), half ask for ids in the answer (`inference_id,probability`), as inference.py serves
    both. A share `missing` of rows never gets a label; the others arrive after a random delay.
    """
    rng = np.random.default_rng(seed + 3)
    capture, label_dir = root / "capture", root / "labels"
    capture.mkdir(parents=True, exist_ok=True)
    label_dir.mkdir(parents=True, exist_ok=True)
    requests = math.ceil(len(frame) / REQUEST_ROWS)
    records, label_rows = [], []
    for r in range(requests):
        part = frame.iloc[r * REQUEST_ROWS : (r + 1) * REQUEST_ROWS]
        when = start + timedelta(hours=hours * r / requests)
        scores = score(part[features])
        caller_id = f"req-{r:06d}" if r % 2 == 0 else None
        ids = (
            [caller_id]
            if caller_id and len(part) == 1
            else [f"{caller_id or f'srv-{r:06d}'}-{i}" for i in range(len(part))]
        )
        answer = "\n".join(
            f"{s:.6f}" if caller_id else f"{inference_id},{s:.6f}" for inference_id, s in zip(ids, scores, strict=True)
        )
        metadata: dict[str, Any] = {"eventId": f"event-{r:06d}", "inferenceTime": when.strftime("%Y-%m-%dT%H:%M:%SZ")}
        if caller_id:
            metadata["inferenceId"] = caller_id
        records.append(
            {
                "captureData": {
                    "endpointInput": {
                        "observedContentType": "text/csv",
                        "mode": "INPUT",
                        "data": part[[*features, sensitive]].to_csv(index=False),
                        "encoding": "CSV",
                    },
                    "endpointOutput": {
                        "observedContentType": "text/csv; charset=utf-8",
                        "mode": "OUTPUT",
                        "data": answer,
                        "encoding": "CSV",
                    },
                },
                "eventMetadata": metadata,
                "eventVersion": "0",
            }
        )
        for inference_id, label in zip(ids, labels[r * REQUEST_ROWS : (r + 1) * REQUEST_ROWS], strict=True):
            if rng.random() < missing:
                continue
            arrived = when + timedelta(hours=float(rng.uniform(*label_delay_hours)))
            label_rows.append(
                {
                    "inference_id": inference_id,
                    "label": int(label),
                    "event_time": arrived.strftime("%Y-%m-%dT%H:%M:%SZ"),
                }
            )
    (capture / "capture.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    (label_dir / "labels.jsonl").write_text("".join(json.dumps(r) + "\n" for r in label_rows), encoding="utf-8")
    return Traffic(capture=capture, labels=label_dir, rows=len(frame), labelled=len(label_rows))
