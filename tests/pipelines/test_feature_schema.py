"""Feature group schemas: the shipped one is valid and fits the shipped data; mistakes are named."""

from __future__ import annotations

import csv
import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from kernel import ConfigError
from kernel.feature_schema import FeatureGroupSchema, load_schema
from kernel.projects import Project, load_project
from pipelines.parity import PROJECT_ROOT

SHIPPED_ROWS = {"churn": 3000, "claims": 2500}


@pytest.fixture(scope="module")
def schema() -> FeatureGroupSchema:
    return load_project(PROJECT_ROOT, "churn").schema


def generator(project: Project) -> ModuleType:
    """`projects/<name>/data/generate.py`, loaded by path as `python projects/<name>/data/generate.py` runs it."""
    path = project.folder / "data" / "generate.py"
    spec = importlib.util.spec_from_file_location(f"generate_{project.name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", ["churn", "claims"])
def test_shipped_data_is_regenerated_byte_for_byte(name: str, tmp_path: Path) -> None:
    project = load_project(PROJECT_ROOT, name)
    module = generator(project)
    regenerated = tmp_path / f"{name}.csv"
    module.write(regenerated, module.generate())
    assert regenerated.read_bytes() == project.sample_data.read_bytes()
    assert len(regenerated.read_text().splitlines()) == SHIPPED_ROWS[name] + 1
    assert project.sample_data == module.CSV_PATH, "running the script rewrites the shipped file"


def test_a_generator_runs_as_a_script_with_no_repository_imports(tmp_path: Path) -> None:
    """`python projects/claims/data/generate.py` (its documented command) needs only numpy and writes beside itself."""
    folder = tmp_path / "projects" / "claims" / "data"
    folder.mkdir(parents=True)
    shipped = PROJECT_ROOT / "projects" / "claims" / "data"
    (folder / "generate.py").write_bytes((shipped / "generate.py").read_bytes())
    subprocess.run(
        [sys.executable, "-I", "projects/claims/data/generate.py"], cwd=tmp_path, check=True, capture_output=True
    )
    assert (folder / "claims.csv").read_bytes() == (shipped / "claims.csv").read_bytes()


@pytest.mark.parametrize("name", ["churn", "claims"])
def test_every_shipped_record_fits_the_schema(name: str) -> None:
    project = load_project(PROJECT_ROOT, name)
    schema = project.schema
    assert [f.name for f in schema.features] == generator(project).COLUMNS
    with project.sample_data.open(encoding="utf-8") as handle:
        for index, row in enumerate(csv.DictReader(handle)):
            assert schema.record_problems(index, schema.parse_row(row)) == []


def write_schema(tmp_path: Path, change: dict[str, Any]) -> Path:
    document = yaml.safe_load((PROJECT_ROOT / "projects" / "churn" / "features" / "customer-churn.yaml").read_text())
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
