"""The training pipeline's SageMaker Clarify checks: what they analyse, as data.

Three checks run on every execution: pre-training data bias (on the training split), post-training
model bias and SHAP feature attribution (on the held-out test split, served by a shadow endpoint of
the trained model). Their results are attached to the registered package as model metrics and
drift-check baselines; each check also fails the execution when bias or attribution drifted past the
baseline of the latest approved package (Clarify's own drift check). The absolute bias limit
(`training.maxBiasGap`) is enforced by the evaluation gate.

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
from pipelines.local_run import load_step_module

CHECKS = ("data-bias", "model-bias", "explainability")
CONTENT_TYPE = "text/csv"
LABEL_VALUES = [1]
PROBABILITY_THRESHOLD = 0.5
"""A score at or above this is a predicted churn (as in evaluate.py)."""
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


def dataset_columns() -> tuple[str, list[str], str]:
    """The Clarify dataset's label, columns (label first, then the features, then the sensitive column)."""
    dataset = load_step_module("dataset")
    return dataset.LABEL, [dataset.LABEL, *dataset.FEATURES, dataset.SENSITIVE], dataset.SENSITIVE


def analysis_configs(sensitive_attribute: str, instance_type: str) -> dict[str, dict[str, Any]]:
    """The analysis config of each check, for a facet (the sensitive attribute) and shadow endpoint size."""
    label, headers, kept_out = dataset_columns()
    if sensitive_attribute not in headers:
        raise ValueError(
            f"training.sensitiveAttribute {sensitive_attribute!r} is not a column of the training data "
            f"({', '.join(headers[1:])})"
        )
    data = {"dataset_type": CONTENT_TYPE, "headers": headers, "label": label, "excluded_columns": [kept_out]}
    bias = {"label_values_or_threshold": LABEL_VALUES, "facet": [{"name_or_index": sensitive_attribute}]}
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
            "probability_threshold": PROBABILITY_THRESHOLD,
        },
        "explainability": {**data, "methods": {"shap": SHAP, "report": REPORT}, "predictor": predictor},
    }


def check_training_data(config: StackConfig, source: str) -> None:
    """ConfigError (naming the file and key) when the stack asks the data for a column it lacks."""
    training = config.training
    if training is None:
        return
    try:
        analysis_configs(training.sensitive_attribute, training.processing_instance_type)
    except ValueError as error:
        key, _, message = str(error).partition(" ")
        raise ConfigError(source, [Problem(f"mlops:{key}", message)]) from None


def config_text(config: dict[str, Any]) -> str:
    """The staged file's content (stable key order)."""
    return json.dumps(config, indent=1, sort_keys=True) + "\n"


def config_prefix(configs: dict[str, dict[str, Any]]) -> str:
    """Content-addressed key prefix of the staged configs: it changes exactly when one does."""
    digest = hashlib.sha256("".join(config_text(configs[name]) for name in CHECKS).encode()).hexdigest()
    return f"clarify/{digest[:16]}/"
