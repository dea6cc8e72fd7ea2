"""What the report is drawn from: the artefacts a training run, the drift job and the quality job wrote.

The layout is the demo's per project (`mlops demo --out DIR` leaves it in `DIR/<project>/`): `training/`
(evaluation report, model, test split, the `project.json` the steps ran with), `drift/drift.json`,
`quality/history.json`. Only the evaluation report is required; a missing optional artefact leaves its
section saying what would fill it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlops.console import UserError


@dataclass(frozen=True)
class Curve:
    """The model's ROC curve (classifier) or residuals (regressor) on the held-out test split."""

    kind: str
    x: list[float]
    y: list[float]


@dataclass(frozen=True)
class Artefacts:
    """Everything the report shows, read from one folder."""

    root: Path
    evaluation: dict[str, Any]
    curve: Curve | None
    drift: dict[str, Any] | None
    quality: list[dict[str, Any]] | None


def _json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise UserError(
            f"{path}: not JSON ({error.msg} at line {error.lineno}); re-run the job that wrote it"
        ) from None


def _optional(path: Path) -> Any:
    return _json(path) if path.is_file() else None


def _curve(training: Path) -> Curve | None:
    """ROC (or residuals) of the trained model on its test split, when both are there."""
    test, model_dir = training / "data" / "test", training / "model"
    if not (test.is_dir() and (model_dir / "model.joblib").is_file()):
        return None
    from pipelines.local_run import SPEC_FILE, load_step_module

    dataset, evaluate = load_step_module("dataset"), load_step_module("evaluate")
    spec = dataset.load_spec(str(training / SPEC_FILE))
    frame = dataset.read_csvs(str(test))
    model = evaluate.load_model(str(model_dir))
    labels = frame[spec.label]
    if spec.is_classifier:
        from sklearn.metrics import roc_curve

        fpr, tpr, _ = roc_curve(labels.astype(int), model.predict_proba(frame[spec.features])[:, 1])
        return Curve("roc", [float(v) for v in fpr], [float(v) for v in tpr])
    predicted = model.predict(frame[spec.features])
    return Curve("residuals", [float(v) for v in predicted], [float(v) for v in labels - predicted])


def load_artefacts(root: Path) -> Artefacts:
    """The artefacts under `root`; UserError naming the file and the fix when the evaluation is missing."""
    evaluation = root / "training" / "evaluation" / "evaluation.json"
    if not evaluation.is_file():
        raise UserError(
            f"{evaluation}: no evaluation report; run `make demo` (it leaves each project's run in "
            "out/demo/<project>) first, or pass --artefacts with the folder a run wrote"
        )
    return Artefacts(
        root=root,
        evaluation=_json(evaluation),
        curve=_curve(root / "training"),
        drift=_optional(root / "drift" / "drift.json"),
        quality=_optional(root / "quality" / "history.json"),
    )
