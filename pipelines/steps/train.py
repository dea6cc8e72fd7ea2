"""Train step: a gradient-boosted churn classifier, checkpointed so spot interruptions resume.

Runs as a SageMaker script-mode training job (scikit-learn container) or locally. Trees are added in
stages with warm start; after each stage the model is saved to the checkpoint folder, which
SageMaker syncs to S3 and restores after a spot interruption, so training resumes where it stopped.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil

import joblib
from dataset import CATEGORICAL, FEATURES, LABEL, NUMERIC, read_csvs, require_columns
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder

CHECKPOINT = "model-checkpoint.joblib"
TRAINING_RECORD = "training.json"
"""What the job trained with and its validation score, saved next to the model."""


def build_model(learning_rate: float, max_depth: int, seed: int) -> Pipeline:
    """One-hot categoricals, pass numerics through, boosted trees with warm start."""
    encode = ColumnTransformer(
        [("categorical", OneHotEncoder(handle_unknown="ignore"), CATEGORICAL), ("numeric", "passthrough", NUMERIC)]
    )
    trees = GradientBoostingClassifier(
        n_estimators=0, learning_rate=learning_rate, max_depth=max_depth, warm_start=True, random_state=seed
    )
    return Pipeline([("encode", encode), ("trees", trees)])


def train(
    train_dir: str,
    model_dir: str,
    checkpoint_dir: str,
    *,
    n_estimators: int,
    stage: int = 50,
    learning_rate: float = 0.05,
    max_depth: int = 3,
    seed: int = 42,
    validation_dir: str = "",
) -> Pipeline:
    """Fit, resuming from the checkpoint if one exists; save the model and its inference code."""
    frame = read_csvs(train_dir)
    require_columns(frame, [LABEL, *FEATURES], "the training data")
    features, label = frame[FEATURES], frame[LABEL]
    checkpoint = os.path.join(checkpoint_dir, CHECKPOINT) if checkpoint_dir else ""
    if checkpoint and os.path.exists(checkpoint):
        model = joblib.load(checkpoint)
        print(f"train: resuming from {checkpoint} at {model.named_steps['trees'].n_estimators} trees")
    else:
        model = build_model(learning_rate, max_depth, seed)
    while model.named_steps["trees"].n_estimators < n_estimators:
        trees = model.named_steps["trees"]
        trees.set_params(n_estimators=min(trees.n_estimators + stage, n_estimators))
        model.fit(features, label)
        if checkpoint:
            os.makedirs(checkpoint_dir, exist_ok=True)
            joblib.dump(model, checkpoint)
    os.makedirs(os.path.join(model_dir, "code"), exist_ok=True)
    joblib.dump(model, os.path.join(model_dir, "model.joblib"))
    here = os.path.dirname(os.path.abspath(__file__))
    for name in ("inference.py", "dataset.py"):
        shutil.copy(os.path.join(here, name), os.path.join(model_dir, "code", name))
    with open(os.path.join(model_dir, "features.json"), "w", encoding="utf-8") as handle:
        json.dump({"features": FEATURES, "label": LABEL}, handle)
    print(f"train: {model.named_steps['trees'].n_estimators} trees on {len(frame)} rows")
    record: dict[str, object] = {
        "hyperparameters": {
            "n_estimators": n_estimators, "learning_rate": learning_rate, "max_depth": max_depth, "seed": seed,
        },
        "rows": len(frame),
        "validation_auc": None,
    }  # fmt: skip
    if validation_dir and os.path.isdir(validation_dir):
        held_out = read_csvs(validation_dir)
        auc = roc_auc_score(held_out[LABEL], model.predict_proba(held_out[FEATURES])[:, 1])
        print(f"validation-auc={auc:.6f}")  # the tuning job's objective, read from this log line
        record["validation_auc"] = float(auc)
    with open(os.path.join(model_dir, TRAINING_RECORD), "w", encoding="utf-8") as handle:
        json.dump(record, handle, indent=2)  # travels in model.tar.gz; evaluate and track report it
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
    args = parser.parse_args(argv)
    train(
        args.train,
        args.model_dir,
        args.checkpoint_dir,
        n_estimators=args.n_estimators,
        stage=args.stage,
        learning_rate=args.learning_rate,
        max_depth=args.max_depth,
        seed=args.seed,
        validation_dir=args.validation,
    )


if __name__ == "__main__":
    main()
