"""What the steps know about the churn dataset: columns, label, and how to read a split."""

from __future__ import annotations

import glob
import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

IDENTIFIER = "customer_id"
EVENT_TIME = "event_time"
LABEL = "churned"
SENSITIVE = "gender"
"""Kept out of the model's features; used only to report bias."""
CATEGORICAL = ["contract", "payment_method", "region"]
NUMERIC = ["tenure_months", "monthly_charges", "total_charges", "support_calls_90d", "data_usage_gb", "senior"]
FEATURES = NUMERIC + CATEGORICAL
FEATURE_STORE_COLUMNS = {"write_time", "api_invocation_time", "is_deleted"}
"""Columns the offline store adds to every record."""


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
