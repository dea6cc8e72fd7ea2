"""Train step: a gradient-boosted classifier or regressor (the project's kind), checkpointed for spot.

Runs as a SageMaker script-mode training job (scikit-learn container) or locally. Trees are added in
stages with warm start; after each stage the model is saved to the checkpoint folder, which
SageMaker syncs to S3 and restores after a spot interruption, so training resumes where it stopped.

SageMaker copies whatever the checkpoint prefix holds into the container at start, so a checkpoint
records what it was fitted on: the content hash of the training data and the hyperparameters. The
job resumes only a checkpoint of the same data and hyperparameters (each such pair has its own file,
so the training jobs of a tuning job never share one) and trains from scratch otherwise.
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import json
import os
import shutil
from typing import Any

import joblib
from dataset import SPEC_FILE, Spec, default_spec_path, load_spec, read_csvs, require_columns
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import GradientBoostingClassifier, GradientBoostingRegressor
from sklearn.metrics import mean_squared_error, roc_auc_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder

CHECKPOINT = "model-checkpoint-{digest}.joblib"
"""One file per (data version, hyperparameters); it holds the model and that record."""
RESUMABLE = ("learning_rate", "max_depth", "seed")
"""The hyperparameters that shape every tree: a checkpoint resumes only with all of them equal."""
TRAINING_RECORD = "training.json"
"""What the job trained with and its validation score, saved next to the model."""
VALIDATION_METRIC = {"classifier": "auc", "regressor": "rmse"}
"""The validation score of each kind, printed as `validation-<metric>=` for the tuning job to read."""


def build_model(spec: Spec, learning_rate: float, max_depth: int, seed: int) -> Pipeline:
    """One-hot categoricals, pass numerics through, boosted trees with warm start (classifier or regressor).

    scikit-learn's GradientBoostingRegressor (squared error) is the classifier's counterpart: both add trees
    with `warm_start`, which is what lets a spot job resume from a checkpoint.
    """
    encode = ColumnTransformer(
        [
            ("categorical", OneHotEncoder(handle_unknown="ignore"), list(spec.categorical)),
            ("numeric", "passthrough", list(spec.numeric)),
        ]
    )
    booster = GradientBoostingClassifier if spec.is_classifier else GradientBoostingRegressor
    trees = booster(
        n_estimators=0, learning_rate=learning_rate, max_depth=max_depth, warm_start=True, random_state=seed
    )
    return Pipeline([("encode", encode), ("trees", trees)])


def validation_score(model: Pipeline, spec: Spec, frame: Any) -> float:
    """AUC of a classifier, RMSE of a regressor, on held-out `frame`."""
    if spec.is_classifier:
        return float(roc_auc_score(frame[spec.label], model.predict_proba(frame[spec.features])[:, 1]))
    return float(mean_squared_error(frame[spec.label], model.predict(frame[spec.features])) ** 0.5)


def data_version(train_dir: str) -> str:
    """Content hash of the training files (names and bytes): the same data gives the same version."""
    digest = hashlib.sha256()
    files = (
        [train_dir] if os.path.isfile(train_dir) else glob.glob(os.path.join(train_dir, "**", "*.csv"), recursive=True)
    )
    for path in sorted(files):
        with open(path, "rb") as handle:
            digest.update(os.path.relpath(path, train_dir).encode() + b"\0" + handle.read() + b"\0")
    return "sha256:" + digest.hexdigest()


def checkpoint_record(version: str, hyperparameters: dict[str, Any]) -> dict[str, Any]:
    """What a checkpoint must match to be resumed."""
    return {"data_version": version, "hyperparameters": {key: hyperparameters[key] for key in RESUMABLE}}


def checkpoint_path(checkpoint_dir: str, record: dict[str, Any]) -> str:
    """The checkpoint file of `record` in `checkpoint_dir`."""
    digest = hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest()[:16]
    return os.path.join(checkpoint_dir, CHECKPOINT.format(digest=digest))


def resume(checkpoint_dir: str, record: dict[str, Any], n_estimators: int) -> Pipeline | None:
    """The checkpointed model of exactly this data and these hyperparameters, or None (refused or absent)."""
    if not checkpoint_dir:
        return None
    path = checkpoint_path(checkpoint_dir, record)
    others = [p for p in glob.glob(os.path.join(checkpoint_dir, CHECKPOINT.format(digest="*"))) if p != path]
    if others:
        print(f"train: not resuming {len(others)} checkpoint(s) of other data or hyperparameters")
    if not os.path.exists(path):
        return None
    saved = joblib.load(path)
    if not isinstance(saved, dict) or saved.get("record") != record:
        print(f"train: refusing {path}: it was fitted on other data or hyperparameters")
        return None
    model: Pipeline = saved["model"]
    if model.named_steps["trees"].n_estimators > n_estimators:
        print(f"train: refusing {path}: it has more trees than the {n_estimators} asked for")
        return None
    return model


def save_checkpoint(checkpoint_dir: str, record: dict[str, Any], model: Pipeline) -> None:
    """Write the checkpoint and its record as one file, atomically (a spot interruption leaves no half file)."""
    os.makedirs(checkpoint_dir, exist_ok=True)
    path = checkpoint_path(checkpoint_dir, record)
    joblib.dump({"record": record, "model": model}, path + ".partial")
    os.replace(path + ".partial", path)


def train(
    train_dir: str,
    model_dir: str,
    checkpoint_dir: str,
    *,
    spec_path: str,
    n_estimators: int,
    stage: int = 50,
    learning_rate: float = 0.05,
    max_depth: int = 3,
    seed: int = 42,
    validation_dir: str = "",
) -> Pipeline:
    """Fit, resuming a checkpoint of the same data and hyperparameters; save the model and its inference code."""
    spec = load_spec(spec_path)
    frame = read_csvs(train_dir)
    require_columns(frame, [spec.label, *spec.features], "the training data")
    features, label = frame[spec.features], frame[spec.label]
    hyperparameters = {
        "n_estimators": n_estimators,
        "learning_rate": learning_rate,
        "max_depth": max_depth,
        "seed": seed,
    }
    version = data_version(train_dir)
    record = checkpoint_record(version, hyperparameters)
    model = resume(checkpoint_dir, record, n_estimators)
    if model is not None:
        print(f"train: resuming at {model.named_steps['trees'].n_estimators} trees ({version[:15]}...)")
    else:
        model = build_model(spec, learning_rate, max_depth, seed)
    while model.named_steps["trees"].n_estimators < n_estimators:
        trees = model.named_steps["trees"]
        trees.set_params(n_estimators=min(trees.n_estimators + stage, n_estimators))
        model.fit(features, label)
        if checkpoint_dir:
            save_checkpoint(checkpoint_dir, record, model)
    os.makedirs(os.path.join(model_dir, "code"), exist_ok=True)
    joblib.dump(model, os.path.join(model_dir, "model.joblib"))
    here = os.path.dirname(os.path.abspath(__file__))
    for name in ("inference.py", "dataset.py"):
        shutil.copy(os.path.join(here, name), os.path.join(model_dir, "code", name))
    shutil.copy(spec_path, os.path.join(model_dir, "code", SPEC_FILE))  # the handlers read the inputs' order here
    with open(os.path.join(model_dir, "features.json"), "w", encoding="utf-8") as handle:
        json.dump({"features": spec.features, "label": spec.label, "kind": spec.kind}, handle)
    print(f"train: {model.named_steps['trees'].n_estimators} trees ({spec.kind}) on {len(frame)} rows")
    metric = VALIDATION_METRIC[spec.kind]
    summary: dict[str, object] = {
        "hyperparameters": hyperparameters,
        "data_version": version,
        "rows": len(frame),
        "kind": spec.kind,
        "validation": None,
    }
    if validation_dir and os.path.isdir(validation_dir):
        score = validation_score(model, spec, read_csvs(validation_dir))
        print(f"validation-{metric}={score:.6f}")  # the tuning job's objective, read from this log line
        summary["validation"] = {"metric": metric, "value": score}
    with open(os.path.join(model_dir, TRAINING_RECORD), "w", encoding="utf-8") as handle:
        json.dump(summary, handle, indent=2)  # travels in model.tar.gz; evaluate and track report it
    return model


def main(argv: list[str] | None = None) -> None:
    """Parse SageMaker's script-mode arguments and environment, then train."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--train", default=os.environ.get("SM_CHANNEL_TRAIN", "/opt/ml/input/data/train"))
    parser.add_argument("--model-dir", default=os.environ.get("SM_MODEL_DIR", "/opt/ml/model"))
    parser.add_argument("--checkpoint-dir", default="/opt/ml/checkpoints" if os.path.isdir("/opt/ml") else "")
    parser.add_argument("--n-estimators", type=int, default=200)
    parser.add_argument("--stage", type=int, default=50, help="trees added between checkpoints")
    parser.add_argument("--learning-rate", type=float, default=0.05)
    parser.add_argument("--max-depth", type=int, default=3)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--validation", default=os.environ.get("SM_CHANNEL_VALIDATION", ""))
    parser.add_argument("--project-spec", default=default_spec_path(), help="the project's project.json")
    args = parser.parse_args(argv)
    train(
        args.train,
        args.model_dir,
        args.checkpoint_dir,
        spec_path=args.project_spec,
        n_estimators=args.n_estimators,
        stage=args.stage,
        learning_rate=args.learning_rate,
        max_depth=args.max_depth,
        seed=args.seed,
        validation_dir=args.validation,
    )


if __name__ == "__main__":
    main()
