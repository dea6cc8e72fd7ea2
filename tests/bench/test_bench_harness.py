"""`make bench` keeps working: the harness at its smallest size, as a process, writes every figure it reports.

A smoke run, not a benchmark: it asserts what the report holds and that the figures are measurements
(positive, consistent with each other), never a threshold on them.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.__main__ import growth

pytestmark = pytest.mark.bench_smoke
"""Left out of `make test` (about 40 s of benchmarks at their smallest size); `.ci/run` runs it: `make bench-smoke`."""

ROOT = Path(__file__).resolve().parents[2]


def test_the_harness_runs_at_its_smallest_size_and_reports_every_figure(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--smallest", "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    figures = json.loads(out.read_text())
    assert figures["machine"]["nproc"] >= 1 and figures["machine"]["cpu"]
    runs = figures["ingestion"]["runs"]
    assert [run["workers"] for run in runs] == [1, 8, 32]
    assert all(run["records"] == 2 * run["workers"] and run["records_per_s"] > 0 for run in runs)
    assert runs[0]["speedup"] == 1.0 and figures["ingestion"]["latency_ms"] == 20
    (size,) = figures["drift"]["sizes"]
    assert size["rows"] == 1000 and figures["drift"]["python"].startswith(".venv-parity/")
    for mode in ("job", "whole"):
        assert size[mode]["seconds"] > 0 and size[mode]["peak_rss_mb"] >= figures["drift"]["imports"]["peak_rss_mb"]
    (judged,) = figures["quality"]["sizes"]
    assert judged["rows"] == 1000 and figures["quality"]["python"].startswith(".venv-parity/")
    for mode in ("job", "whole"):
        assert judged[mode]["seconds"] > 0
        assert judged[mode]["peak_rss_mb"] >= figures["quality"]["imports"]["peak_rss_mb"]
    planned = figures["plan"]
    assert planned["floor"]["modules"][:4] == ["pulumi", "pulumi_aws", "boto3", "pydantic"]
    assert "pulumi_aws.sagemaker" in planned["floor"]["modules"], "the plan's resource classes are in its floor"
    assert abs(planned["ratio"]["wall"] - planned["plan"]["wall_s"] / planned["floor"]["wall_s"]) < 0.05
    alike = planned["floor_collector_as_plan"]
    assert alike["cpu_s"] > 0
    assert abs(planned["ratio_to_floor_collector_as_plan"]["wall"] - planned["plan"]["wall_s"] / alike["wall_s"]) < 0.05
    beyond = {entry["package"] for entry in planned["largest_imports_beyond_floor"]}
    assert {"infra", "mlops"} <= beyond and "pulumi_aws" not in beyond, "the floor loads the plan's pulumi_aws packages"
    assert "make bench on" in done.stdout and "records/s" in done.stdout


def test_growth_is_each_figure_over_the_one_before() -> None:
    assert growth([10.0, 20.0, 30.0]) == [2.0, 1.5]
    assert growth([5.0]) == []
