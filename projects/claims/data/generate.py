"""Generate the claims project's sample dataset (`claims.csv`, beside this file) reproducibly.

A synthetic motor-insurance table: the yearly claims cost of a policy rises with mileage, prior claims,
vehicle value, an urban address and young or very old drivers, and falls with the vehicle's age and a
basic cover. Costs are skewed, as claims costs are: most policies cost little, a few a lot. `gender`
is drawn independently and plays no part in the cost: it is the sensitive attribute the bias reports
group by, never a model input. Seeded, so `python projects/claims/data/generate.py` rewrites the
identical file; a test checks it. Needs only the standard library and numpy.
"""

from __future__ import annotations

import csv
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

ROWS = 2500
SEED = 20261130
COLUMNS = [
    "policy_id",
    "event_time",
    "driver_age",
    "vehicle_age_years",
    "vehicle_value_k",
    "annual_mileage_k",
    "prior_claims_3y",
    "region",
    "vehicle_type",
    "coverage",
    "gender",
    "claims_cost",
]
REGIONS = ["urban", "suburban", "rural"]
VEHICLES = ["hatchback", "sedan", "suv", "van"]
COVERAGES = ["basic", "standard", "premium"]
SNAPSHOT = datetime(2026, 11, 1, tzinfo=UTC)
CSV_PATH = Path(__file__).resolve().parent / "claims.csv"


def generate(rows: int = ROWS, seed: int = SEED) -> list[dict[str, object]]:
    """The dataset as records, identical for the same `rows` and `seed`."""
    rng = np.random.default_rng(seed)
    records = []
    for index in range(rows):
        age = int(np.clip(rng.normal(45, 15), 18, 85))
        region = REGIONS[int(rng.choice(3, p=[0.45, 0.35, 0.20]))]
        vehicle = VEHICLES[int(rng.choice(4, p=[0.3, 0.35, 0.25, 0.1]))]
        coverage = COVERAGES[int(rng.choice(3, p=[0.3, 0.5, 0.2]))]
        vehicle_age = int(min(rng.poisson(6), 20))
        value = round(float(np.clip(rng.lognormal(3.1, 0.45) * (0.93**vehicle_age), 2.0, 120.0)), 2)
        mileage = round(float(np.clip(rng.gamma(4.0, 3.5), 1.0, 60.0)), 1)
        prior = int(min(rng.poisson(0.35 + 0.25 * (region == "urban")), 6))
        log_cost = (
            6.0
            + 0.028 * (mileage - 14)
            + 0.33 * prior
            + 0.012 * (value - 25)
            + 0.30 * (region == "urban")
            - 0.15 * (region == "rural")
            + 0.20 * (vehicle == "van")
            + 0.10 * (vehicle == "suv")
            - 0.25 * (coverage == "basic")
            + 0.20 * (coverage == "premium")
            - 0.02 * vehicle_age
            + 0.0007 * (age - 45) ** 2
            - 0.01 * (age - 45)
        )
        cost = math.exp(log_cost + float(rng.normal(0, 0.25)))
        event = SNAPSHOT - timedelta(minutes=int(rng.integers(0, 60 * 24 * 30)))
        records.append(
            {
                "policy_id": f"P{index + 1:05d}",
                "event_time": event.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "driver_age": age,
                "vehicle_age_years": vehicle_age,
                "vehicle_value_k": value,
                "annual_mileage_k": mileage,
                "prior_claims_3y": prior,
                "region": region,
                "vehicle_type": vehicle,
                "coverage": coverage,
                "gender": "female" if rng.random() < 0.5 else "male",
                "claims_cost": round(cost, 2),
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
