"""What the steps know about a project's data: its spec (`project.json`), and how to read a split.

The spec is the project's data contract (kernel's `ProjectSpec.to_json()`): the model's kind, the
identifier, event time, label, sensitive attribute and the model's inputs. Whoever stages the step
code writes it as `project.json` next to the scripts; each step takes its path as `--project-spec`
(default: the file beside the script), so the same scripts serve every project.
"""

from __future__ import annotations

import glob
import json
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

SPEC_FILE = "project.json"
KINDS = ("classifier", "regressor")
FEATURE_STORE_COLUMNS = {"write_time", "api_invocation_time", "is_deleted"}
"""Columns the offline store adds to every record."""


@dataclass(frozen=True)
class Spec:
    """A project's data contract, as the steps read it from `project.json`."""

    name: str
    kind: str
    """classifier (label 0/1, scored by a probability) or regressor (a numeric label, predicted as a value)."""
    feature_group: str
    identifier: str
    event_time: str
    label: str
    sensitive: str | None
    """Kept out of the model's inputs; used only to report bias."""
    numeric: tuple[str, ...]
    categorical: tuple[str, ...]
    label_threshold: float | None = None
    """Regressor: a label (or prediction) above this is the favourable outcome bias reports count."""

    @property
    def features(self) -> list[str]:
        """The model's inputs, in the order the model sees them."""
        return [*self.numeric, *self.categorical]

    @property
    def is_classifier(self) -> bool:
        """True for a classifier, False for a regressor."""
        return self.kind == "classifier"


def default_spec_path() -> str:
    """`project.json` beside the step scripts (where the staged code carries it)."""
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), SPEC_FILE)


def load_spec(path: str) -> Spec:
    """The spec in `path`; ValueError naming the file and the key when it is missing or malformed."""
    if not os.path.isfile(path):
        raise ValueError(
            f"{path}: no project spec; pass --project-spec (the project's {SPEC_FILE}, staged with the step code)"
        )
    with open(path, encoding="utf-8") as handle:
        try:
            document: Any = json.load(handle)
        except json.JSONDecodeError as error:
            raise ValueError(f"{path}: not JSON ({error})") from None
    if not isinstance(document, dict):
        raise ValueError(f"{path}: expected a JSON object")
    for key in ("name", "kind", "feature_group", "identifier", "event_time", "label"):
        if not isinstance(document.get(key), str) or not document[key]:
            raise ValueError(f"{path}: {key} must be a non-empty string")
    if document["kind"] not in KINDS:
        raise ValueError(f"{path}: kind {document['kind']!r} is not one of {', '.join(KINDS)}")
    for key in ("numeric", "categorical"):
        values = document.get(key)
        if not isinstance(values, list) or not all(isinstance(value, str) for value in values):
            raise ValueError(f"{path}: {key} must be a list of column names")
    sensitive = document.get("sensitive")
    if sensitive is not None and not isinstance(sensitive, str):
        raise ValueError(f"{path}: sensitive must be a column name or null")
    threshold = document.get("label_threshold")
    if threshold is not None and (isinstance(threshold, bool) or not isinstance(threshold, int | float)):
        raise ValueError(f"{path}: label_threshold must be a number or null")
    spec = Spec(
        name=document["name"],
        kind=document["kind"],
        feature_group=document["feature_group"],
        identifier=document["identifier"],
        event_time=document["event_time"],
        label=document["label"],
        sensitive=sensitive,
        numeric=tuple(document["numeric"]),
        categorical=tuple(document["categorical"]),
        label_threshold=None if threshold is None else float(threshold),
    )
    if not spec.features:
        raise ValueError(f"{path}: the model has no inputs (numeric and categorical are both empty)")
    return spec


def read_csvs(path: str) -> pd.DataFrame:
    """Every CSV file under `path` (a file or a folder), concatenated."""
    import pandas as pd  # here, so the plan can read the column names without loading pandas

    files = [path] if os.path.isfile(path) else sorted(glob.glob(os.path.join(path, "**", "*.csv"), recursive=True))
    if not files:
        raise FileNotFoundError(f"no CSV files under {path}")
    return pd.concat([pd.read_csv(file) for file in files], ignore_index=True)


def require_columns(frame: pd.DataFrame, columns: list[str], where: str) -> None:
    """Fail with the missing column names, not a KeyError deep inside pandas."""
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise ValueError(f"{where} lacks column(s) {', '.join(missing)}; it has {', '.join(frame.columns)}")
