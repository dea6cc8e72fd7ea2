"""Concept drift, locally: the inputs keep their distribution, the outcome's relationship changes.

`run_concept_drift` scores fresh customers of the churn project's training population with its trained model, writes
the requests as SageMaker data-capture files and the outcomes (drawn under a changed concept) as
late-arriving labels, then runs the real step scripts on them: the drift job (which must stay quiet:
the inputs did not move) and the quality job (which must flag the model). It also finds after how
many labelled rows, in their order of arrival, the quality job first flags it. `mlops demo` calls it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from mlops.scenarios.traffic import Concept, Traffic, customers, outcomes, write_traffic
from pipelines.local_run import LocalTrainingRun, load_model_handlers, load_step_module, run_step

WINDOW_HOURS = 24.0
DELAY_HOURS = 72.0
DETECTION_STEPS = (25, 50, 100, 150, 200, 250, 300, 400, 500, 750, 1000, 1500, 2000)
EMULATOR_LIMITS = (
    "moto runs no endpoint, no data capture and no processing job: the requests were scored locally by the "
    "model's own inference handlers and written as data-capture files, and the drift and quality step scripts "
    "ran on this machine instead of in SageMaker; moto neither evaluates CloudWatch alarms nor delivers their "
    "events to EventBridge"
)


@dataclass(frozen=True)
class Detection:
    """When the quality job first flagged the shift, and what moved."""

    labelled_rows: int
    violations: list[str]
    moved: dict[str, dict[str, float]]
    """metric -> baseline, value, change."""

    def summary(self) -> str:
        """One sentence: which metric, by how much, after how many labelled rows."""
        changes = ", ".join(
            f"{name} {m['baseline']:.3f} -> {m['value']:.3f} ({m['change']:+.3f})" for name, m in self.moved.items()
        )
        return f"flagged after {self.labelled_rows} labelled rows: {changes}"


@dataclass(frozen=True)
class ScenarioResult:
    """What the scenario's drift and quality jobs reported."""

    traffic: Traffic
    drift: dict[str, Any]
    quality: dict[str, Any]
    detection: Detection | None
    root: Path


def detection_point(
    predictions: pd.DataFrame,
    labels: pd.DataFrame,
    baseline: dict[str, Any],
    *,
    spec: Any,
    min_samples: int,
    steps: tuple[int, ...] = DETECTION_STEPS,
    **measure: Any,
) -> Detection | None:
    """The first count of labels (in their order of arrival) at which the quality job violates."""
    quality = load_step_module("quality")
    arrived = labels.sort_values("event_time").reset_index(drop=True)
    for count in steps:
        report = quality.measure(
            predictions, arrived.head(count), baseline, spec=spec, min_samples=min_samples, **measure
        )
        if report["violations"]:
            moved = {
                name: {"baseline": report["baseline"][name], "value": value, "change": value - report["baseline"][name]}
                for name, value in report["metrics"].items()
                if name in report["baseline"]
            }
            return Detection(report["labelled"], report["violations"], moved)
        if count >= len(arrived):
            break
    return None


def run_concept_drift(
    root: Path,
    training: LocalTrainingRun,
    *,
    rows: int = 2000,
    concept: Concept = "shifted",
    data_drift: bool = False,
    now: datetime = datetime(2026, 11, 29, tzinfo=UTC),
    min_samples: int = 200,
) -> ScenarioResult:
    """Write the scenario's traffic under `root` and run the drift and quality steps on it."""
    dataset, quality = load_step_module("dataset"), load_step_module("quality")
    handlers = load_model_handlers(training.model_dir)
    spec = dataset.load_spec(str(training.spec))
    model = handlers.model_fn(str(training.model_dir))
    frame = customers(rows, data_drift=data_drift)
    labels = outcomes(frame, concept)
    start = now - timedelta(hours=DELAY_HOURS + WINDOW_HOURS)

    def score(features: pd.DataFrame) -> list[float]:
        return list(handlers.predict_fn(handlers.input_fn(features.to_csv(index=False)), model))

    traffic = write_traffic(
        root, frame, labels, score, features=spec.features, sensitive=spec.sensitive,
        start=start, hours=WINDOW_HOURS,
    )  # fmt: skip
    run_step(
        "drift", "--capture", str(traffic.capture), "--baseline", str(training.baseline),
        "--output", str(root / "drift"), "--project-spec", str(training.spec),
    )  # fmt: skip
    run_step(
        "quality", "--capture", str(traffic.capture), "--labels", str(traffic.labels),
        "--baseline", str(training.evaluation), "--output", str(root / "quality"), "--now", now.isoformat(),
        "--window-hours", str(WINDOW_HOURS), "--delay-hours", str(DELAY_HOURS), "--min-samples", str(min_samples),
        "--endpoint", "local", "--project-spec", str(training.spec),
    )  # fmt: skip
    baseline = json.loads(training.evaluation.read_text(encoding="utf-8"))
    window = quality.Window.ending(now, WINDOW_HOURS, DELAY_HOURS)
    predictions, _ = quality.read_predictions(str(traffic.capture), window, spec)
    arrived = quality.read_labels(str(traffic.labels), window.labels_until)
    return ScenarioResult(
        traffic=traffic,
        drift=json.loads((root / "drift" / "drift.json").read_text(encoding="utf-8")),
        quality=json.loads((root / "quality" / "quality.json").read_text(encoding="utf-8")),
        detection=detection_point(predictions, arrived, baseline, spec=spec, min_samples=min_samples),
        root=root,
    )


def quality_history(
    training: LocalTrainingRun,
    *,
    days: int = 8,
    drift_from: int = 4,
    rows_per_day: int = 400,
    min_samples: int = 200,
    now: datetime = datetime(2026, 11, 29, tzinfo=UTC),
) -> list[dict[str, Any]]:
    """What the daily quality job reports over `days` windows; the concept shifts from day `drift_from` on.

    Each day's customers are fresh draws of the training population; a tenth of them gets no label.
    Every window is judged by the quality step's own `measure`, as the scheduled job would judge it.
    """
    quality, handlers = load_step_module("quality"), load_model_handlers(training.model_dir)
    spec = load_step_module("dataset").load_spec(str(training.spec))
    model = handlers.model_fn(str(training.model_dir))
    baseline = json.loads(training.evaluation.read_text(encoding="utf-8"))
    history = []
    for day in range(days):
        frame = customers(rows_per_day, seed=20261200 + day)
        concept: Concept = "shifted" if day >= drift_from else "original"
        labels = outcomes(frame, concept, seed=20261200 + day)
        scores = handlers.predict_fn(handlers.input_fn(frame[spec.features].to_csv(index=False)), model)
        ids = [f"day{day}-{i}" for i in range(len(frame))]
        predictions = pd.DataFrame({"inference_id": ids, "prediction": list(scores), "group": frame[spec.sensitive]})
        kept = [i for i in range(len(frame)) if i % 10 != 0]
        arrived = pd.DataFrame(
            {"inference_id": [ids[i] for i in kept], "label": labels[kept], "event_time": now.isoformat()}
        )
        report = quality.measure(predictions, arrived, baseline, spec=spec, min_samples=min_samples)
        window_end = now - timedelta(hours=DELAY_HOURS) - timedelta(days=days - 1 - day)
        history.append(
            {
                "window_end": window_end.isoformat(),
                "concept": concept,
                "labelled": report["labelled"],
                "status": report["status"],
                "metrics": report["metrics"],
                "baseline": report["baseline"],
                "tolerances": report["tolerances"],
                "violations": report["violations"],
            }
        )
    return history
