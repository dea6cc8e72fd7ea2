"""Generate the churn project's sample dataset (`churn.csv`, beside this file) reproducibly.

A synthetic but realistic subscription-churn table: churn rises with month-to-month contracts,
support calls, electronic-check payments and high charges, and falls with tenure. The generator
is seeded, so `python projects/churn/data/generate.py` rewrites the identical file; a test checks it.
"""

from __future__ import annotations

import csv
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

ROWS = 3000
SEED = 20261123
COLUMNS = [
    "customer_id",
    "event_time",
    "tenure_months",
    "monthly_charges",
    "total_charges",
    "support_calls_90d",
    "data_usage_gb",
    "contract",
    "payment_method",
    "region",
    "gender",
    "senior",
    "churned",
]
CONTRACTS = ["month-to-month", "one-year", "two-year"]
PAYMENTS = ["card", "bank-transfer", "electronic-check", "mailed-check"]
REGIONS = ["north", "south", "east", "west"]
SNAPSHOT = datetime(2026, 10, 1, tzinfo=UTC)
CSV_PATH = Path(__file__).resolve().parent / "churn.csv"


def generate(rows: int = ROWS, seed: int = SEED) -> list[dict[str, object]]:
    """The dataset as records, identical for the same `rows` and `seed`."""
    rng = np.random.default_rng(seed)
    records = []
    for index in range(rows):
        contract = CONTRACTS[int(rng.choice(3, p=[0.55, 0.25, 0.20]))]
        payment = PAYMENTS[int(rng.choice(4, p=[0.3, 0.25, 0.3, 0.15]))]
        tenure = int(np.clip(rng.gamma(2.0, 14.0 if contract == "month-to-month" else 22.0), 1, 72))
        monthly = round(float(np.clip(rng.normal(68, 24), 18.0, 120.0)), 2)
        calls = int(min(rng.poisson(1.4), 10))
        senior = int(rng.random() < 0.16)
        logit = (
            -1.9
            + 1.5 * (contract == "month-to-month")
            - 1.0 * (contract == "two-year")
            - 0.035 * tenure
            + 0.022 * (monthly - 68)
            + 0.42 * calls
            + 0.55 * (payment == "electronic-check")
            + 0.35 * senior
            + rng.normal(0, 0.35)
        )
        churned = int(rng.random() < 1 / (1 + math.exp(-logit)))
        event = SNAPSHOT - timedelta(minutes=int(rng.integers(0, 60 * 24 * 30)))
        records.append(
            {
                "customer_id": f"C{index + 1:05d}",
                "event_time": event.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "tenure_months": tenure,
                "monthly_charges": monthly,
                "total_charges": round(max(monthly * tenure + float(rng.normal(0, 25)), monthly), 2),
                "support_calls_90d": calls,
                "data_usage_gb": round(float(rng.gamma(2.5, 8.0)), 2),
                "contract": contract,
                "payment_method": payment,
                "region": REGIONS[int(rng.integers(0, 4))],
                "gender": "female" if rng.random() < 0.5 else "male",
                "senior": senior,
                "churned": churned,
            }
        )
    return records


def write(path: Path, records: list[dict[str, object]]) -> None:
    """Write records as CSV with a header, in `COLUMNS` order."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(records)


if __name__ == "__main__":
    write(CSV_PATH, generate())
    print(f"wrote {CSV_PATH}")
