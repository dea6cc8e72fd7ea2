"""The sample dataset that ships with the repo, and the script that generated it."""

from pathlib import Path

CHURN_CSV = Path(__file__).resolve().parents[2] / "projects" / "churn" / "data" / "churn.csv"
"""3,000 customers of a subscription business: features, a churn label and a sensitive attribute."""
