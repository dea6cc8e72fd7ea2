"""Preprocess on several instances: Athena's latest records, a hash split per shard, part files, one lineage.

The latest-record query is checked against the one-instance step's pandas `latest_records` by running
it in SQLite (the standard library's; it has window functions). The split run as n shards must give
the one-instance split, and the pipeline must carry the request shape botocore's model accepts.
"""

from __future__ import annotations

import copy
import csv
import gzip
import json
import math
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import boto3
import botocore.session
import pandas as pd
import pytest
from botocore.validate import ParamValidator
from moto import mock_aws

from kernel import StackConfig
from kernel.plan import Plan
from kernel.projects import Project
from pipelines.definitions.settings import settings_for_stack
from pipelines.definitions.templates import render_definition
from pipelines.definitions.training import compile_definition
from pipelines.images import STEP_IMAGES
from pipelines.local_run import STEPS_DIR, load_step_module, run_step, write_spec
from pipelines.parity import interpreter
from pipelines.pipeline_ops import PipelineError, start_pipeline, upsert_pipeline
from tests.helpers import outputs_of, shipped_settings, where
from tests.infra.test_config import problems_of
from tests.pipelines.conftest import refusing_aws

SPLITS = ("train", "validation", "test")
EXTRA = {"write_time": "2026-11-01 00:00:00", "api_invocation_time": "2026-11-01 00:00:00", "is_deleted": "false"}


@pytest.fixture(scope="module")
def churn_records(shipped: dict[str, Project]) -> list[dict[str, str]]:
    with shipped["churn"].sample_data.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _offline_table(records: list[dict[str, str]]) -> list[dict[str, str]]:
    """The sample as the offline store holds it: every record, plus older versions, deletes and rewrites."""
    rows = [{**record, **EXTRA} for record in records]
    for record in records[:40]:  # an older version of each: the newer one wins
        rows.append({**record, "event_time": "2020-01-01T00:00:00Z", "tenure_months": "999", **EXTRA})
    for record in records[40:60]:  # a newer delete: the record is gone
        deleted = {**EXTRA, "write_time": "2026-12-01 00:00:00", "is_deleted": "true"}
        rows.append({**record, "event_time": "2026-12-01T00:00:00Z", **deleted})
    for record in records[60:80]:  # deleted, then written again later: the record is back
        rows.append({**record, "event_time": "2020-06-01T00:00:00Z", **EXTRA, "is_deleted": "true"})
    for record in records[80:90]:  # the same event time written twice: the later write wins
        later = {**EXTRA, "write_time": "2026-11-02 00:00:00", "api_invocation_time": "2026-11-02 00:00:00"}
        rows.append({**record, "monthly_charges": "1.5", **later})
    return rows


def _spec(shipped: dict[str, Project], tmp_path: Path) -> Any:
    path = write_spec(shipped["churn"].spec(), tmp_path)
    return path, load_step_module("dataset").load_spec(str(path))


def test_the_athena_query_keeps_what_the_one_instance_step_keeps(
    shipped: dict[str, Project], churn_records: list[dict[str, str]], tmp_path: Path
) -> None:
    """The same latest, undeleted version per identifier as `latest_records`, run by SQLite's window functions."""
    _, spec = _spec(shipped, tmp_path)
    preprocess, offline_query = load_step_module("preprocess"), load_step_module("offline_query")
    rows = _offline_table(churn_records)
    columns = list(rows[0])
    query = offline_query.latest_records_query(
        "mlops_dev_features", "customer_churn", spec.identifier, spec.event_time, preprocess.columns_of(spec)
    )
    database = sqlite3.connect(":memory:")
    database.execute("ATTACH DATABASE ':memory:' AS mlops_dev_features")
    database.execute(f"CREATE TABLE mlops_dev_features.customer_churn ({', '.join(map(repr, columns))})")
    database.executemany(
        f"INSERT INTO mlops_dev_features.customer_churn VALUES ({', '.join('?' * len(columns))})",
        [[row[c] == "true" if c == "is_deleted" else row[c] for c in columns] for row in rows],
    )
    cursor = database.execute(query)
    header = [item[0] for item in cursor.description]
    queried = pd.DataFrame(cursor.fetchall(), columns=header).astype(str)
    # The one-instance step, on the same rows in the order Athena's results arrive (no particular one):
    expected = preprocess.latest_records(pd.DataFrame(rows).sample(frac=1.0, random_state=7), spec)
    expected = expected[[spec.identifier, *preprocess.columns_of(spec)]].astype(str)
    assert header == [spec.identifier, *preprocess.columns_of(spec)]
    assert len(queried) == len(churn_records) - 20, "the 20 deleted records are dropped, older versions collapsed"
    key = spec.identifier
    pd.testing.assert_frame_equal(
        queried.sort_values(key).reset_index(drop=True), expected.sort_values(key).reset_index(drop=True)
    )
    assert set(queried[queried[key].isin([r[key] for r in churn_records[80:90]])]["monthly_charges"]) == {"1.5"}


def test_names_that_cannot_be_quoted_are_refused() -> None:
    offline_query = load_step_module("offline_query")
    with pytest.raises(ValueError, match="is not a Glue name"):
        offline_query.latest_records_query('db"; DROP', "t", "id", "ts", ["a"])
    with pytest.raises(ValueError, match="is not a feature name"):
        offline_query.latest_records_query("db", "t", "id", "ts", ['a" , "b'])
    with pytest.raises(ValueError, match="is not an S3 folder"):
        offline_query.unload_statement("SELECT 1", "s3://bucket/x') --/")


def _export(records: list[dict[str, str]], folder: Path, files: int) -> list[Path]:
    """The latest records as an UNLOAD writes them: several gzip JSON-lines files, lower-case keys."""
    folder.mkdir(parents=True)
    paths = []
    for index in range(files):
        path = folder / f"20261129_{index:03d}_0a1b2c3d"
        with gzip.open(path, "wt", encoding="utf-8") as handle:
            for record in records[index::files]:
                typed = {key.lower(): _typed(value) for key, value in record.items()}
                handle.write(json.dumps(typed) + "\n")
        paths.append(path)
    return paths


def _typed(value: str) -> Any:
    try:
        return int(value)
    except ValueError:
        try:
            return float(value)
        except ValueError:
            return value


def _run_shards(
    records: list[dict[str, str]], root: Path, spec_path: Path, instances: int, files: int = 12
) -> tuple[Path, dict[str, Any]]:
    """Every instance on its `ShardedByS3Key` share (file i to instance i mod n), all writing to one output."""
    exported = _export(records, root / "export", files)
    output = root / "output"
    for host in range(1, instances + 1):
        share = root / f"share-{host}"
        share.mkdir()
        for path in exported[host - 1 :: instances]:
            (share / path.name).write_bytes(path.read_bytes())
        run_step(
            "preprocess", "--split", "hash", "--source", "feature-store", "--input", str(share),
            "--output", str(output), "--host", f"algo-{host}", "--project-spec", str(spec_path),
        )  # fmt: skip
    run_step("preprocess", "--merge-lineage", str(output / "lineage"), "--output", str(root / "merged"))
    return output, json.loads((root / "merged" / "lineage" / "lineage.json").read_text())


def _read(folder: Path, header: bool = True) -> pd.DataFrame:
    files = sorted(folder.glob("*.csv"))
    return pd.concat([pd.read_csv(f, header=0 if header else None) for f in files], ignore_index=True)


def test_n_shards_split_exactly_as_one_instance_and_each_record_lands_once(
    shipped: dict[str, Project], churn_records: list[dict[str, str]], tmp_path: Path
) -> None:
    spec_path, spec = _spec(shipped, tmp_path)
    one, one_lineage = _run_shards(churn_records, tmp_path / "one", spec_path, instances=1)
    three, three_lineage = _run_shards(churn_records, tmp_path / "three", spec_path, instances=3)
    assert sorted(p.name for p in (three / "train").iterdir()) == [f"train-algo-{h}.csv" for h in (1, 2, 3)]
    seen: dict[str, str] = {}
    for name in SPLITS:
        single, sharded = _read(one / name), _read(three / name)
        by_row = [spec.label, *spec.features, spec.sensitive]
        assert list(sharded.columns) == by_row, "the columns every later step reads, in their order"
        pd.testing.assert_frame_equal(
            single.sort_values(by_row).reset_index(drop=True), sharded.sort_values(by_row).reset_index(drop=True)
        )
    ids = {record[spec.identifier] for record in churn_records}
    position = load_step_module("preprocess").hash_position
    for record_id in ids:
        at = position(record_id, 42)
        seen[record_id] = "test" if at < 0.2 else "validation" if at < 0.3 else "train"
    assert {n: one_lineage[n] for n in SPLITS} == {n: list(seen.values()).count(n) for n in SPLITS}
    assert sum(one_lineage[n] for n in SPLITS) == one_lineage["rows"] == len(ids), "each record in exactly one split"
    assert three_lineage["instances"] == 3 and one_lineage["instances"] == 1
    assert {k: v for k, v in three_lineage.items() if k != "instances"} == {
        k: v for k, v in one_lineage.items() if k != "instances"
    }, "the same data gives the same version, whatever the number of instances"
    assert one_lineage["data_version"].startswith("sha256-rowsum:")
    clarify = _read(three / "clarify" / "train", header=False)
    assert len(clarify) == one_lineage["train"], "Clarify's headerless parts hold the same rows"


def test_an_instance_without_files_writes_an_empty_share(
    shipped: dict[str, Project], churn_records: list[dict[str, str]], tmp_path: Path
) -> None:
    """More instances than UNLOAD files: `ShardedByS3Key` gives the last one nothing, and the whole is still right."""
    spec_path, _ = _spec(shipped, tmp_path)
    _, one = _run_shards(churn_records, tmp_path / "one", spec_path, instances=1, files=3)
    output, four = _run_shards(churn_records, tmp_path / "four", spec_path, instances=4, files=3)
    empty = json.loads((output / "lineage" / "lineage-algo-4.json").read_text())
    assert empty["rows"] == 0 and not (output / "train" / "train-algo-4.csv").exists()
    assert {k: v for k, v in four.items() if k != "instances"} == {k: v for k, v in one.items() if k != "instances"}


def test_the_sharded_steps_run_on_the_image_and_agree(
    shipped: dict[str, Project], churn_records: list[dict[str, str]], tmp_path: Path
) -> None:
    """Two instances and the lineage merge on the scikit-learn image's Python and pins (the parity environment)."""
    spec_path, _ = _spec(shipped, tmp_path)
    _, here = _run_shards(churn_records, tmp_path / "here", spec_path, instances=2)
    python = str(interpreter(STEP_IMAGES["preprocess.py"]))
    exported = _export(churn_records, tmp_path / "image" / "export", files=12)
    output = tmp_path / "image" / "output"
    script = str(STEPS_DIR / "preprocess.py")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "LANG": "C.UTF-8"}
    for host in (1, 2):
        share = tmp_path / "image" / f"share-{host}"
        share.mkdir()
        for path in exported[host - 1 :: 2]:
            (share / path.name).write_bytes(path.read_bytes())
        subprocess.run(
            [python, "-E", "-s", script, "--split", "hash", "--source", "feature-store", "--input", str(share),
             "--output", str(output), "--host", f"algo-{host}", "--project-spec", str(spec_path)],
            check=True, capture_output=True, env=env, timeout=300,
        )  # fmt: skip
    subprocess.run(
        [python, "-E", "-s", script, "--merge-lineage", str(output / "lineage"), "--output", str(output)],
        check=True, capture_output=True, env=env, timeout=300,
    )  # fmt: skip
    assert json.loads((output / "lineage" / "lineage.json").read_text()) == here


def test_each_class_is_split_in_the_requested_proportions(tmp_path: Path, shipped: dict[str, Project]) -> None:
    """Stratified in expectation: per label class, each split's share within 4 standard deviations."""
    _, spec = _spec(shipped, tmp_path)
    preprocess = load_step_module("preprocess")
    rows = 20_000
    frame = pd.DataFrame(
        {
            spec.identifier: [f"C{i:06d}" for i in range(rows)],
            spec.label: [1 if i % 5 == 0 else 0 for i in range(rows)],  # a 20 % minority class
            **{column: [0] * rows for column in [*spec.features, spec.sensitive]},
        }
    )
    splits = preprocess.hash_split(frame, spec, test_size=0.2, validation_size=0.1, seed=42)
    for label in (0, 1):
        total = int((frame[spec.label] == label).sum())
        for name, wanted in (("test", 0.2), ("validation", 0.1), ("train", 0.7)):
            share = int((splits[name][spec.label] == label).sum()) / total
            assert abs(share - wanted) < 4 * math.sqrt(wanted * (1 - wanted) / total), (label, name, share)
    reseeded = preprocess.hash_split(frame, spec, test_size=0.2, validation_size=0.1, seed=7)
    assert not reseeded["test"].index.equals(splits["test"].index), "the seed chooses another split"


def test_later_steps_read_every_part(
    shipped: dict[str, Project], churn_records: list[dict[str, str]], tmp_path: Path
) -> None:
    """Train and baseline (evaluate reads its channel with the same `read_csvs`) take the whole folder of parts."""
    spec_path, _ = _spec(shipped, tmp_path)
    output, lineage = _run_shards(churn_records, tmp_path, spec_path, instances=4)
    spec = ["--project-spec", str(spec_path)]
    run_step("baseline", "--train", str(output / "train"), "--output", str(tmp_path / "baseline"), *spec)
    assert json.loads((tmp_path / "baseline" / "baseline.json").read_text())["rows"] == lineage["train"]
    run_step(
        "train", "--train", str(output / "train"), "--validation", str(output / "validation"),
        "--model-dir", str(tmp_path / "model"), "--checkpoint-dir", "", "--n-estimators", "20", *spec,
    )  # fmt: skip
    record = json.loads((tmp_path / "model" / "training.json").read_text())
    assert record["rows"] == lineage["train"] and record["validation"]["value"] > 0.5
    dataset = load_step_module("dataset")
    assert len(dataset.read_csvs(str(output / "test"))) == lineage["test"]


def test_a_csv_source_and_a_duplicate_record_are_refused(
    shipped: dict[str, Project], churn_records: list[dict[str, str]], tmp_path: Path
) -> None:
    spec_path, _ = _spec(shipped, tmp_path)
    _export(churn_records[:50] + churn_records[:1], tmp_path / "export", files=1)
    common = ["--input", str(tmp_path / "export"), "--output", str(tmp_path / "out"), "--project-spec", str(spec_path)]
    with pytest.raises(ValueError, match="the source must be feature-store, not csv"):
        run_step("preprocess", "--split", "hash", "--source", "csv", *common)
    with pytest.raises(ValueError, match="appear twice in this share"):
        run_step("preprocess", "--split", "hash", "--source", "feature-store", *common)


@pytest.mark.parametrize(
    ("count", "expected"),
    [
        (0, "preprocessInstanceCount: Input should be greater than or equal to 1"),
        (101, "preprocessInstanceCount: Input should be less than or equal to 100"),
    ],
)
def test_the_instance_count_is_bounded_as_sagemaker_bounds_it(
    tmp_path: Path, project_root: Path, count: int, expected: str
) -> None:
    """1 to 100: `ProcessingResources.ClusterConfig.InstanceCount` in botocore's SageMaker model."""
    dev = copy.deepcopy(shipped_settings(project_root, "dev"))
    dev["mlops:training"]["preprocessInstanceCount"] = count
    lines = problems_of(tmp_path, dev, "dev")
    assert any(line.startswith(where("dev", "mlops:training")) and expected in line for line in lines), lines


def test_each_preprocess_instance_needs_an_address_in_every_subnet(tmp_path: Path, project_root: Path) -> None:
    """One ENI per instance in the private subnets: a /22 VPC's /26 subnets (59 usable) hold 1, not 60."""
    dev = copy.deepcopy(shipped_settings(project_root, "dev"))
    dev["mlops:network"]["vpcCidr"] = "10.20.0.0/22"
    dev["mlops:training"]["preprocessInstanceCount"] = 60
    lines = problems_of(tmp_path, dev, "dev")
    assert any(line.startswith("Pulumi.dev.yaml: mlops:network.vpcCidr") and "use a /21" in line for line in lines)


@pytest.fixture(scope="module")
def sharded(
    plans: dict[str, Plan], training_configs: dict[str, StackConfig], shipped: dict[str, Project]
) -> tuple[Any, dict[str, Any]]:
    """Dev's settings with four preprocess instances, and what the SDK compiles for them (offline)."""
    dev = training_configs["dev"]
    config = dev.model_copy(update={"training": dev.trained().model_copy(update={"preprocess_instance_count": 4})})
    settings = settings_for_stack(config, outputs_of(plans["dev"]), shipped["churn"].spec())
    with refusing_aws() as calls:
        definition = compile_definition(settings)
    assert calls == []
    return settings, definition


def test_the_pipeline_exports_then_shards_then_merges_the_lineage(sharded: tuple[Any, dict[str, Any]]) -> None:
    settings, definition = sharded
    steps = {step["Name"]: step for step in definition["Steps"]}
    latest, preprocess, lineage = steps["LatestRecords"], steps["Preprocess"], steps["DataLineage"]
    assert [s["Name"] for s in definition["Steps"]][:3] == ["LatestRecords", "Preprocess", "DataLineage"]
    count = {name: s["Arguments"]["ProcessingResources"]["ClusterConfig"]["InstanceCount"] for name, s in steps.items()
             if s["Type"] == "Processing"}  # fmt: skip
    assert count.pop("Preprocess") == 4 and set(count.values()) == {1}
    inputs = {i["InputName"]: i["S3Input"] for i in preprocess["Arguments"]["ProcessingInputs"]}
    assert {name: i["S3DataDistributionType"] for name, i in inputs.items()} == {
        "code": "FullyReplicated",
        "latest": "ShardedByS3Key",
    }
    assert inputs["latest"]["S3Uri"] == {
        "Std:JsonGet": {
            "Path": "location",
            "PropertyFile": {"Get": "Steps.LatestRecords.PropertyFiles.LatestRecordsExport"},
        }
    }
    assert "CacheConfig" not in latest, "the offline store grows under the same query: never reuse an export"
    (source,) = [p for p in definition["Parameters"] if p["Name"] == "DataSource"]
    assert source == {
        "Name": "DataSource",
        "Type": "String",
        "DefaultValue": "feature-store",
        "EnumValues": ["feature-store"],
    }
    assert lineage["PropertyFiles"] == [
        {"FilePath": "lineage.json", "OutputName": "lineage", "PropertyFileName": "DataLineage"}
    ]
    register = json.dumps(definition)
    assert (
        '"Steps.DataLineage.PropertyFiles.DataLineage"' in register and "Steps.Preprocess.PropertyFiles" not in register
    )
    for name in ("Baseline", "Evaluate"):  # a later step reads the whole prefix, every instance's parts
        (channel,) = [i for i in steps[name]["Arguments"]["ProcessingInputs"] if i["InputName"] in ("train", "test")]
        assert channel["S3Input"]["S3DataDistributionType"] == "FullyReplicated"
    assert render_definition(settings) == definition, "run `mlops pipeline templates`"


def test_a_csv_start_is_refused_before_any_job_and_the_retraining_start_is_accepted(
    sharded: tuple[Any, dict[str, Any]],
) -> None:
    """`mlops pipeline start` checks parameters against the deployed definition; retraining passes feature-store."""
    _, definition = sharded
    with mock_aws():
        sagemaker = boto3.client("sagemaker", region_name="eu-west-1")
        role = "arn:aws:iam::111111111111:role/mlops-dev-churn-pipeline"
        upsert_pipeline(sagemaker, "mlops-dev-churn-training", definition, role, {})
        with pytest.raises(PipelineError, match="DataSource='csv' is not one of feature-store"):
            start_pipeline(sagemaker, "mlops-dev-churn-training", {"DataSource": "csv"})
        run = start_pipeline(sagemaker, "mlops-dev-churn-training", {"DataSource": "feature-store"})
        assert run.started


def test_each_job_of_the_sharded_preprocess_is_a_valid_create_processing_job_request(
    sharded: tuple[Any, dict[str, Any]],
) -> None:
    """Pipeline expressions replaced by run-time values, each request validated against botocore's model."""
    _, definition = sharded
    shape = (
        botocore.session.get_session().get_service_model("sagemaker").operation_model("CreateProcessingJob").input_shape
    )
    for step in definition["Steps"][:3]:
        request = json.loads(json.dumps(step["Arguments"]), object_hook=_resolved)
        request["ProcessingJobName"] = f"pipelines-0a1b2c3d-{step['Name']}"
        report = ParamValidator().validate(request, shape)
        assert not report.has_errors(), (step["Name"], report.generate_report())


def _resolved(node: dict[str, Any]) -> Any:
    """A pipeline expression as SageMaker resolves it at run time (a plausible value of its type)."""
    if "Get" in node and len(node) == 1:
        return "ml.m5.large" if node["Get"] == "Parameters.ProcessingInstanceType" else "feature-store"
    if "Std:Join" in node or "Std:JsonGet" in node:
        return "s3://mlops-dev-churn-artifacts/pipelines/training/x/LatestRecords/records/0a1b/"
    return node


def test_one_instance_keeps_the_one_job_preprocess(plans: dict[str, Plan]) -> None:
    (pipeline,) = plans["dev"].of_type("aws:sagemaker/pipeline:Pipeline")
    steps = {step["Name"]: step for step in json.loads(pipeline.inputs["pipelineDefinition"])["Steps"]}
    assert "LatestRecords" not in steps and "DataLineage" not in steps
    assert steps["Preprocess"]["Arguments"]["ProcessingResources"]["ClusterConfig"]["InstanceCount"] == 1


def test_a_record_hashes_the_same_whichever_shard_types_its_columns(
    shipped: dict[str, Project], tmp_path: Path
) -> None:
    """A whole-number feature with a null in one shard is read as float there: the data version must not change."""
    _, spec = _spec(shipped, tmp_path)
    preprocess = load_step_module("preprocess")
    feature = spec.features[0]
    records = [
        {spec.identifier: f"C{i}", spec.label: i % 2, **dict.fromkeys([*spec.features, spec.sensitive], 1), feature: i}
        for i in range(4)
    ]
    records[1][feature] = None  # an optional value left out

    def shards(*groups: list[int]) -> list[pd.DataFrame]:
        folders = []
        for index, group in enumerate(groups):
            folder = tmp_path / f"{'-'.join(map(str, group))}-{index}"
            folder.mkdir()
            lines = "".join(json.dumps(records[i]) + "\n" for i in group)
            (folder / "part.json").write_text(lines, encoding="utf-8")
            folders.append(preprocess.read_query_export(str(folder), spec))
        return folders

    one_way = shards([0, 1], [2, 3])  # the null shares a shard with 0: float there, integer in the other
    other_way = shards([0, 2], [1, 3])
    assert str(one_way[1][feature].dtype) != str(one_way[0][feature].dtype), "the shards did type it differently"

    def version(frames: list[pd.DataFrame]) -> int:
        return sum(preprocess.row_digest_sum(frame, spec) for frame in frames) % 2**256

    assert version(one_way) == version(other_way) == version(shards([0, 1, 2, 3]))
