"""The training pipeline's SageMaker Clarify checks: what they analyse, as data.

Three checks run on every execution: pre-training data bias (on the training split), post-training
model bias and SHAP feature attribution (on the held-out test split, served by a shadow endpoint of
the trained model). Their results are attached to the registered package as model metrics and
drift-check baselines; each check also fails the execution when bias or attribution drifted past the
baseline of the latest approved package (Clarify's own drift check). The absolute bias limit
(`training.maxBiasGap`) is enforced by the evaluation gate.

What the checks analyse comes from the project's spec: its label, inputs and sensitive attribute (the
facet). For a classifier the favourable outcome is label 1 and a prediction is positive from a
probability of 0.5; for a regressor both the label and the prediction are continuous, and Clarify takes
one threshold as the exclusive lower bound of the favourable outcome (`label_values_or_threshold`,
sagemaker 3.27.0 `sagemaker/core/clarify/__init__.py`, BiasConfig: "Regression: The list should include
one threshold that defines the exclusive lower bound of positive values"): the project's
`model.labelThreshold`, with no probability threshold. SHAP attribution needs no label setting and runs
the same for both kinds.

Each check reads an analysis config from S3. The SDK would upload it while the pipeline is built;
the blueprint stages it with Pulumi instead, content-addressed like the step code, from
`analysis_configs` below. A test proves these are exactly the configs the SDK generates.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from kernel.errors import ConfigError, Problem
from kernel.models import StackConfig
from kernel.projects import Project, ProjectSpec

CHECKS = ("data-bias", "model-bias", "explainability")
CONTENT_TYPE = "text/csv"
CLASSIFIER_LABEL_VALUES: list[float] = [1]
PROBABILITY_THRESHOLD = 0.5
"""A classifier's score at or above this is a positive prediction (as in evaluate.py)."""
SHAP: dict[str, Any] = {
    "num_samples": 100,
    "agg_method": "mean_abs",
    "use_logit": False,
    "save_local_shap_values": False,
    "seed": 0,
    "num_clusters": 1,
}
"""Kernel SHAP settings: a one-cluster baseline of the data, 100 samples per record, fixed seed."""
REPORT = {"name": "report", "title": "Analysis Report"}


def dataset_columns(spec: ProjectSpec) -> tuple[str, list[str], str]:
    """The Clarify dataset's label, columns (label, the model's inputs, the sensitive column) and that column.

    The order is the preprocess step's (`columns_of`): its headerless `clarify/` splits are what Clarify reads.
    """
    sensitive = require_sensitive(spec)
    return spec.label, [spec.label, *spec.features, sensitive], sensitive


def require_sensitive(spec: ProjectSpec) -> str:
    """The facet of the bias checks; ConfigError naming the project file when the project declares none."""
    if spec.sensitive is None:
        raise ConfigError(
            f"projects/{spec.name}/project.yaml",
            [Problem("model.sensitiveAttribute", "is required: the training pipeline's bias checks group by it")],
        )
    return spec.sensitive


def label_values(spec: ProjectSpec) -> list[float]:
    """Clarify's `label_values_or_threshold`: label 1 of a classifier, or a regressor's threshold."""
    if spec.kind == "classifier":
        return CLASSIFIER_LABEL_VALUES
    if spec.label_threshold is None:
        raise ConfigError(
            f"projects/{spec.name}/project.yaml",
            [Problem("model.labelThreshold", "is required: a regressor's bias checks count labels above it")],
        )
    return [spec.label_threshold]


def analysis_configs(spec: ProjectSpec, instance_type: str) -> dict[str, dict[str, Any]]:
    """The analysis config of each check: the project's columns and facet, and the shadow endpoint's size."""
    label, headers, kept_out = dataset_columns(spec)
    data = {"dataset_type": CONTENT_TYPE, "headers": headers, "label": label, "excluded_columns": [kept_out]}
    bias = {"label_values_or_threshold": label_values(spec), "facet": [{"name_or_index": kept_out}]}
    predictor = {
        "instance_type": instance_type,
        "initial_instance_count": 1,
        "accept_type": CONTENT_TYPE,
        "content_type": CONTENT_TYPE,
    }
    return {
        "data-bias": {**data, **bias, "methods": {"pre_training_bias": {"methods": "all"}, "report": REPORT}},
        "model-bias": {
            **data,
            **bias,
            "methods": {"post_training_bias": {"methods": "all"}, "report": REPORT},
            "predictor": predictor,
            **({"probability_threshold": PROBABILITY_THRESHOLD} if spec.kind == "classifier" else {}),
        },
        "explainability": {**data, "methods": {"shap": SHAP, "report": REPORT}, "predictor": predictor},
    }


def check_training_data(config: StackConfig, project: Project) -> None:
    """ConfigError (naming the project's file and key) when the training pipeline cannot check its bias.

    Where the project trains, its bias checks need a sensitive attribute (and a regressor its label threshold).
    """
    if config.training is None:
        return
    analysis_configs(project.spec(), config.training.processing_instance_type)


def config_text(config: dict[str, Any]) -> str:
    """The staged file's content (stable key order)."""
    return json.dumps(config, indent=1, sort_keys=True) + "\n"


def config_prefix(configs: dict[str, dict[str, Any]]) -> str:
    """Content-addressed key prefix of the staged configs: it changes exactly when one does."""
    digest = hashlib.sha256("".join(config_text(configs[name]) for name in CHECKS).encode()).hexdigest()
    return f"clarify/{digest[:16]}/"
