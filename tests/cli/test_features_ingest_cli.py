"""`mlops features ingest` on parallel workers: the console script in-process, against the PutRecord endpoint."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.endpoint import PutRecordEndpoint
from tests.helpers import run_main

HEADER = "customer_id,event_time,tenure_months\n"


def rows(project: Path, count: int) -> Path:
    path = project / "rows.csv"
    path.write_text(HEADER + "".join(f"C{n:05d},2026-10-01T00:00:00Z,{n}\n" for n in range(count)))
    return path


def test_parallel_ingest_writes_every_row_and_shows_its_progress(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = rows(project, 250)
    with PutRecordEndpoint("customer_id", latency=0.002) as server:
        command = ("features", "ingest", str(path), "--stack", "dev", "--group", "customer-churn", "--workers", "8")
        code, out, err = run_main(command, project, server.url, monkeypatch, capsys)
        assert (code, err) == (0, "")
        assert server.stats["puts"] == 250 and server.stats["peak_in_flight"] > 1
    lines = out.splitlines()
    assert lines[0].startswith("100 of 250 records written, ") and lines[0].endswith(" records/s, 0 retried, 0 failed")
    assert lines[-1].startswith(
        "mlops-dev-churn-customer-churn: 250 record(s) written, 0 skipped, 0 retried write(s), "
    )
    assert lines[-1].endswith(" records/s on 8 worker(s)")


def test_a_failed_parallel_run_prints_the_skip_that_resumes_it(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = rows(project, 120)
    command = ("features", "ingest", str(path), "--stack", "dev", "--group", "customer-churn", "--workers", "4")
    with PutRecordEndpoint("customer_id", latency=0.002) as server:
        server.refuse.add("C00030")
        code, _, err = run_main(command, project, server.url, monkeypatch, capsys)
        assert code == 1 and err.count("\n") == 1 and "Traceback" not in err
        assert err.startswith("error: mlops-dev-churn-customer-churn: record 'C00030' was refused (ValidationError")
        skip = err.split("re-run with --skip ", 1)[1].split(" ", 1)[0]
        first = server.stats["puts"]
        server.refuse.clear()
        code, out, err = run_main((*command, "--skip", skip), project, server.url, monkeypatch, capsys)
        assert (code, err) == (0, "")
        written = sorted(values["customer_id"] for _, values in server.log)
    assert written == [f"C{n:05d}" for n in range(120)]  # every row once over both runs
    assert f"mlops-dev-churn-customer-churn: {120 - first} record(s) written, {first} skipped" in out


@pytest.mark.parametrize(
    ("option", "expected"),
    [
        (("--skip", "two"), "error: --skip 'two' is not a resume point: expected N (the first N rows) or N+ROW,ROW"),
        (("--skip", "2+9"), "error: --skip 2+9: "),
        (("--workers", "0"), "Invalid value for '--workers'"),
    ],
)
def test_bad_skip_and_worker_counts_are_refused_before_any_write(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    option: tuple[str, str], expected: str,
) -> None:  # fmt: skip
    path = rows(project, 3)
    command = ("features", "ingest", str(path), "--stack", "dev", "--group", "customer-churn", *option)
    code, _, err = run_main(command, project, "http://127.0.0.1:9", monkeypatch, capsys)
    assert code != 0 and expected in err and "Traceback" not in err
