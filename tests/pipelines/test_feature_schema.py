"""Feature group schemas: the shipped one is valid and fits the shipped data; mistakes are named."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest
import yaml
from pipelines.data import CHURN_CSV
from pipelines.data.generate_churn import COLUMNS, generate

from kernel import ConfigError
from kernel.feature_schema import FeatureGroupSchema, load_schema, load_schemas


@pytest.fixture(scope="module")
def schema() -> FeatureGroupSchema:
    (only,) = load_schemas()
    return only


def test_shipped_data_is_reproducible_from_its_generator() -> None:
    with CHURN_CSV.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    regenerated = generate()
    assert len(rows) == len(regenerated) == 3000
    assert rows[0] == {key: str(value) for key, value in regenerated[0].items()}
    assert rows[-1] == {key: str(value) for key, value in regenerated[-1].items()}


def test_every_shipped_record_fits_the_schema(schema: FeatureGroupSchema) -> None:
    assert [f.name for f in schema.features] == COLUMNS
    with CHURN_CSV.open(encoding="utf-8") as handle:
        for index, row in enumerate(csv.DictReader(handle)):
            assert schema.record_problems(index, schema.parse_row(row)) == []


def write_schema(tmp_path: Path, change: dict[str, Any]) -> Path:
    document = yaml.safe_load((Path(load_schemas.__code__.co_filename).parent / "customer-churn.yaml").read_text())
    document.update(change)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_schema(path)
    return caught.value.lines()


def features(*pairs: tuple[str, str]) -> list[dict[str, str]]:
    return [{"name": name, "type": kind, "description": "d"} for name, kind in pairs]


def test_unknown_feature_type(tmp_path: Path) -> None:
    path = write_schema(tmp_path, {"features": features(("customer_id", "String"), ("event_time", "Timestamp"))})
    (line,) = problems(path)
    assert line.startswith("bad.yaml: features[1].type: Input should be 'Integral', 'Fractional' or 'String'")


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"recordIdentifier": "id"}, "recordIdentifier 'id' is not one of the features"),
        ({"eventTime": "ts"}, "eventTime 'ts' is not one of the features"),
        (
            {"features": features(("customer_id", "String"), ("Customer_ID", "String"), ("event_time", "String"))},
            "feature 'customer_id' is declared more than once",
        ),
        (
            {"features": features(("customer_id", "String"), ("event_time", "String"), ("write_time", "String"))},
            "'write_time' is reserved",
        ),
        ({"features": features(("customer_id", "Fractional"), ("event_time", "String"))}, "recordIdentifier must be"),
        ({"features": features(("customer_id", "String"), ("event_time", "Integral"))}, "eventTime must be"),
    ],
)
def test_schema_rules(tmp_path: Path, change: dict[str, Any], expected: str) -> None:
    (line,) = problems(write_schema(tmp_path, change))
    assert line.startswith("bad.yaml: ") and expected in line


def test_missing_and_unknown_keys(tmp_path: Path) -> None:
    path = write_schema(tmp_path, {"ownr": "x"})
    document = yaml.safe_load(path.read_text())
    del document["eventTime"]
    path.write_text(yaml.safe_dump(document))
    assert problems(path) == [
        "bad.yaml: eventTime: is required: add it to the schema file",
        "bad.yaml: ownr: is not a known setting; remove it or fix the spelling "
        "(known here: name, description, owner, recordIdentifier, eventTime, features)",
    ]


def test_record_problems_name_field_and_value(schema: FeatureGroupSchema) -> None:
    record = {"customer_id": "", "event_time": "2026-13-01T00:00:00Z", "tenure_months": 1.5, "monthly_charges": True,
              "total_charges": float("nan"), "colour": "red"}  # fmt: skip
    found = {(p.field, p.message) for p in schema.record_problems(7, record)}
    assert found == {
        ("customer_id", "is required"),
        ("event_time", "is not ISO-8601 UTC (2026-01-31T12:00:00Z)"),
        ("tenure_months", "must be an integer"),
        ("monthly_charges", "must be a number"),
        ("total_charges", "must be finite"),
        ("colour", "is not a feature of customer-churn"),
    }
    assert str(schema.record_problems(7, record)[0]).startswith("record 7: customer_id=''")
