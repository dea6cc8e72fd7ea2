"""Track step: record one training run in MLflow.

Logs what the run used and what it produced: the training settings and validation score (from the
model's `training.json`), the evaluation metrics, bias and attribution, the gate's decision, the
lineage (data version, git commit, pipeline execution, config hash), and the evaluation report as
an artifact.

One code path for both places it runs. In the pipeline `--tracking-uri` is the environment's
SageMaker MLflow App or tracking server ARN (the SageMaker Distribution image ships `mlflow` and
the `sagemaker-mlflow` plugin that signs requests to it); on a laptop, in tests and in the demo it
is empty and the run goes to a local store: an SQLite database and an artifact folder. A retried
step logs into the run it started before (found by its run key), so a retry never duplicates it.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

RUN_KEY_TAG = "mlops.run-key"
"""Tag that identifies a run across retries of the step that logs it."""
LINEAGE_TAGS = ("data_version", "git_commit", "pipeline_execution", "config_hash")


def local_store(directory: str) -> tuple[str, str]:
    """The tracking URI and artifact location of a local store in `directory`."""
    root = Path(directory).resolve()
    root.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{root / 'mlflow.db'}", (root / "artifacts").as_uri()


def run_metrics(report: dict[str, Any]) -> dict[str, float]:
    """The numbers of an evaluation report, flattened to MLflow metric names."""
    metrics = {f"test.{name}": float(entry["value"]) for name, entry in report["metrics"].items()}
    validation = (report.get("training") or {}).get("validation")
    if validation:
        metrics[f"validation.{validation['metric']}"] = float(validation["value"])
    bias = report.get("bias")
    if bias:
        metrics["bias.demographic_parity_gap"] = float(bias["post_training"]["demographic_parity_gap"])
        metrics["bias.disparate_impact"] = float(bias["post_training"]["disparate_impact"])
        metrics["bias.difference_in_label_proportions"] = float(bias["pre_training"]["difference_in_label_proportions"])
    for feature, score in (report.get("attribution") or {}).items():
        metrics[f"attribution.{feature}"] = float(score)
    metrics["gate.passed"] = 1.0 if report["decision"]["passed"] else 0.0
    return metrics


def run_params(report: dict[str, Any]) -> dict[str, str]:
    """The settings of a run: training hyperparameters and the gate's thresholds."""
    decision = report["decision"]
    params = {f"train.{k}": str(v) for k, v in (report.get("training") or {}).get("hyperparameters", {}).items()}
    params |= {"gate.metric": str(decision["metric"]), "gate.threshold": str(decision["threshold"])}
    if report.get("kind"):
        params["model.kind"] = str(report["kind"])
    if decision.get("max_bias") is not None:
        params["gate.max_bias"] = str(decision["max_bias"])
    if report.get("bias"):
        params["bias.attribute"] = str(report["bias"]["attribute"])
    return params


def log_run(
    report: dict[str, Any],
    lineage: dict[str, str],
    *,
    tracking_uri: str,
    experiment: str,
    run_key: str,
    artifact_location: str | None = None,
) -> dict[str, str]:
    """Log the run (or complete it, if a retry finds it already started); returns its ids."""
    import logging

    import mlflow

    logging.getLogger("mlflow").setLevel(logging.WARNING)  # not the local store's table creation
    mlflow.set_tracking_uri(tracking_uri)
    client = mlflow.MlflowClient()
    found = client.get_experiment_by_name(experiment)
    experiment_id = (
        found.experiment_id if found else client.create_experiment(experiment, artifact_location=artifact_location)
    )
    existing = client.search_runs([experiment_id], filter_string=f"tags.`{RUN_KEY_TAG}` = '{run_key}'", max_results=1)
    run_id = existing[0].info.run_id if existing else None
    with mlflow.start_run(run_id=run_id, experiment_id=experiment_id, run_name=None if run_id else run_key) as run:
        mlflow.set_tags(
            {
                RUN_KEY_TAG: run_key,
                "gate.decision": report["decision"]["reason"],
                **{f"lineage.{key.replace('_', '-')}": str(lineage[key]) for key in LINEAGE_TAGS if key in lineage},
            }
        )
        mlflow.log_params(run_params(report))
        mlflow.log_metrics(run_metrics(report))
        mlflow.log_dict(report, "evaluation.json")
        if lineage:
            mlflow.log_dict(lineage, "lineage.json")
    return {"experiment_id": experiment_id, "run_id": run.info.run_id, "run_name": run_key}


def main(argv: list[str] | None = None) -> dict[str, str]:
    """Log the run described by `--evaluation` (and `--lineage`) and write `<output>/tracking.json`."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--evaluation", default="/opt/ml/processing/input/evaluation")
    parser.add_argument("--lineage", default="", help="folder holding the preprocess step's lineage.json")
    parser.add_argument("--output", default="/opt/ml/processing/tracking")
    parser.add_argument("--tracking-uri", default="", help="MLflow App/server ARN; empty: a local store")
    parser.add_argument("--local-store", default="", help="folder of the local store (default: <output>/mlruns)")
    parser.add_argument("--experiment", required=True, help="the project's MLflow experiment")
    parser.add_argument("--run-key", required=True, help="names the run; the pipeline passes its execution id")
    parser.add_argument("--git-commit", default="")
    parser.add_argument("--pipeline-execution", default="")
    parser.add_argument("--config-hash", default="")
    args = parser.parse_args(argv)
    report = json.loads(Path(args.evaluation, "evaluation.json").read_text(encoding="utf-8"))
    lineage: dict[str, str] = {}
    if args.lineage:
        lineage = json.loads(Path(args.lineage, "lineage.json").read_text(encoding="utf-8"))
    given = {
        "git_commit": args.git_commit,
        "pipeline_execution": args.pipeline_execution,
        "config_hash": args.config_hash,
    }
    lineage |= {key: value for key, value in given.items() if value}
    artifact_location = None
    uri = args.tracking_uri
    if not uri:
        uri, artifact_location = local_store(args.local_store or os.path.join(args.output, "mlruns"))
    ids = log_run(
        report, lineage, tracking_uri=uri, experiment=args.experiment, run_key=args.run_key,
        artifact_location=artifact_location,
    )  # fmt: skip
    os.makedirs(args.output, exist_ok=True)
    Path(args.output, "tracking.json").write_text(json.dumps(ids | {"experiment": args.experiment}, indent=2))
    print(f"track: run {ids['run_id']} ({args.run_key}) in experiment {args.experiment!r}")
    return ids


if __name__ == "__main__":
    main()
