"""Baseline step: the training data's per-feature distribution, the reference for drift detection.

Numeric features keep decile edges with their shares (for PSI) and a fixed-size sorted sample (for
the KS test); categorical features keep category shares (for PSI and chi-square). Written as
`baseline.json`, attached to the model package as its data-quality drift baseline.
"""

from __future__ import annotations

import argparse
import json
import os
from typing import Any

import numpy as np
import pandas as pd
from dataset import Spec, default_spec_path, load_spec, read_csvs, require_columns

BINS = 10
SAMPLE = 1000


def numeric_profile(values: pd.Series) -> dict[str, Any]:
    """Decile edges, the share of values in each bin, summary statistics and a sorted sample."""
    clean = values.dropna().astype(float)
    edges = np.unique(np.quantile(clean, np.linspace(0, 1, BINS + 1)))
    counts, _ = np.histogram(clean, bins=edges)
    sample = np.sort(clean.sample(n=min(SAMPLE, len(clean)), random_state=0).to_numpy())
    return {
        "type": "numeric",
        "count": len(values),
        "missing": float(values.isna().mean()),
        "mean": float(clean.mean()),
        "std": float(clean.std()),
        "edges": [float(edge) for edge in edges],
        "shares": [float(count) / len(clean) for count in counts],
        "sample": [float(value) for value in sample],
    }


def categorical_profile(values: pd.Series) -> dict[str, Any]:
    """The share of each category (missing values as their own category)."""
    shares = values.fillna("<missing>").astype(str).value_counts(normalize=True).sort_index()
    return {
        "type": "categorical",
        "count": len(values),
        "missing": float(values.isna().mean()),
        "shares": {str(key): float(share) for key, share in shares.items()},
    }


def profile(frame: pd.DataFrame, spec: Spec) -> dict[str, Any]:
    """The baseline document of a training frame: one profile per model input."""
    require_columns(frame, spec.features, "the training data")
    features = {column: numeric_profile(frame[column]) for column in spec.numeric}
    features.update({column: categorical_profile(frame[column]) for column in spec.categorical})
    return {"rows": len(frame), "features": features}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the step and write `<output>/baseline.json`."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--train", default="/opt/ml/processing/train")
    parser.add_argument("--output", default="/opt/ml/processing/baseline")
    parser.add_argument("--project-spec", default=default_spec_path(), help="the project's project.json")
    args = parser.parse_args(argv)
    document = profile(read_csvs(args.train), load_spec(args.project_spec))
    os.makedirs(args.output, exist_ok=True)
    with open(os.path.join(args.output, "baseline.json"), "w", encoding="utf-8") as handle:
        json.dump(document, handle, indent=2, sort_keys=True)
    print(f"baseline: {len(document['features'])} features from {document['rows']} rows")
    return document


if __name__ == "__main__":
    main()
