"""`make bench` (python -m bench): run every benchmark, write `out/bench.json`, print a short table.

Benchmarks, not timed tests: nothing here passes or fails on a figure. `--smallest` runs each at its
smallest size, the plan once (timed by its `-X importtime` run): a smoke run, which `make test` makes
so that the harness itself stays working.
"""

from __future__ import annotations

import argparse
import itertools
import json
import platform
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bench import drift, ingestion, plan, projects, quality


def machine() -> dict[str, Any]:
    """Where the figures were measured: cores, CPU model, Python."""
    import os

    model = next(
        (line.split(":", 1)[1].strip() for line in _cpuinfo().splitlines() if line.startswith("model name")),
        platform.processor() or "unknown",
    )
    return {"nproc": os.cpu_count(), "cpu": model, "python": platform.python_version(), "system": platform.system()}


def _cpuinfo() -> str:
    try:
        return Path("/proc/cpuinfo").read_text(encoding="utf-8")
    except OSError:
        return ""


def growth(values: list[float]) -> list[float]:
    """Each figure divided by the one before it."""
    return [round(after / before, 2) if before else 0.0 for before, after in itertools.pairwise(values)]


def collect(smallest: bool) -> dict[str, Any]:
    """Every benchmark's figures, and the growth of each between sizes."""
    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    ingest = ingestion.run(per_worker=2) if smallest else ingestion.run()
    jobs = drift.run(sizes=(1_000,)) if smallest else drift.run()
    judged = quality.run(sizes=(1_000,)) if smallest else quality.run()
    planned = plan.run(smoke=True) if smallest else plan.run()
    many = projects.run(counts=(1, 2), repeats=1) if smallest else projects.run()
    sizes = jobs["sizes"]
    return {
        "measured": started,
        "smallest": smallest,
        "machine": machine(),
        "ingestion": ingest,
        "drift": jobs,
        "quality": judged,
        "plan": planned,
        "projects": many,
        "growth": {
            "ingestion_speedup_per_worker_step": growth([run["records_per_s"] for run in ingest["runs"]]),
            "drift_job_seconds": growth([size["job"]["seconds"] for size in sizes]),
            "drift_job_peak_rss": growth([size["job"]["peak_rss_mb"] for size in sizes]),
            "drift_whole_seconds": growth([size["whole"]["seconds"] for size in sizes]),
            "drift_whole_peak_rss": growth([size["whole"]["peak_rss_mb"] for size in sizes]),
            "quality_job_seconds": growth([size["job"]["seconds"] for size in judged["sizes"]]),
            "quality_job_peak_rss": growth([size["job"]["peak_rss_mb"] for size in judged["sizes"]]),
            "quality_whole_peak_rss": growth([size["whole"]["peak_rss_mb"] for size in judged["sizes"]]),
            "plan_over_floor": planned["ratio"]["wall"],
            "plan_projects": many["ratio"]["wall"],
        },
    }


def table(figures: dict[str, Any]) -> Table:
    """The short table `make bench` prints."""
    out = Table(title=f"make bench on {figures['machine']['nproc']} x {figures['machine']['cpu']}")
    out.add_column("benchmark")
    out.add_column("size")
    out.add_column("figure", justify="right")
    out.add_column("vs", justify="right")
    ingest = figures["ingestion"]
    for run in ingest["runs"]:
        label = "sequential" if run["workers"] == 1 else f"{run['workers']} workers"
        out.add_row(
            f"ingestion at {ingest['latency_ms']:.0f} ms/call",
            label,
            f"{run['records_per_s']:.0f} records/s",
            f"{run['speedup']:.1f}x",
        )
    floor = figures["drift"]["imports"]["peak_rss_mb"]
    for size in figures["drift"]["sizes"]:
        job, whole = size["job"], size["whole"]
        out.add_row("drift job (chunked)", f"{size['rows']:,} rows",
                    f"{job['seconds']:.1f} s, {job['peak_rss_mb']:.0f} MB",
                    f"{job['peak_rss_mb'] - floor:+.0f} MB over imports")  # fmt: skip
        out.add_row("drift, whole frame", f"{size['rows']:,} rows",
                    f"{whole['seconds']:.1f} s, {whole['peak_rss_mb']:.0f} MB",
                    f"{whole['peak_rss_mb'] - floor:+.0f} MB over imports")  # fmt: skip
    floor = figures["quality"]["imports"]["peak_rss_mb"]
    for size in figures["quality"]["sizes"]:
        job, whole = size["job"], size["whole"]
        out.add_row("quality job (sharded)", f"{size['rows']:,} rows",
                    f"{job['seconds']:.1f} s, {job['peak_rss_mb']:.0f} MB",
                    f"{job['peak_rss_mb'] - floor:+.0f} MB over imports")  # fmt: skip
        out.add_row("quality, whole frame", f"{size['rows']:,} rows",
                    f"{whole['seconds']:.1f} s, {whole['peak_rss_mb']:.0f} MB",
                    f"{whole['peak_rss_mb'] - floor:+.0f} MB over imports")  # fmt: skip
    planned = figures["plan"]
    out.add_row(f"mlops plan --stack {planned['stack']}", f"median of {planned['repeats']}",
                f"{planned['plan']['wall_s']:.2f} s (floor {planned['floor']['wall_s']:.2f} s)",
                f"{planned['ratio']['wall']:.2f}x (cpu {planned['ratio']['cpu']:.2f}x)")  # fmt: skip
    many = figures["projects"]
    for run in many["runs"]:
        out.add_row(f"mlops plan --stack {many['stack']}", f"{run['projects']} project(s)",
                    f"{run['wall_s']:.2f} s (cpu {run['cpu_s']:.2f} s)", "")  # fmt: skip
    out.add_row("", "", f"{many['marginal_per_project_s']:.2f} s a project", f"{many['ratio']['wall']:.2f}x")
    return out


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the benchmarks; write the JSON report and print the table."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--smallest", action="store_true", help="each benchmark at its smallest size (smoke run)")
    parser.add_argument("--out", type=Path, default=Path("out/bench.json"), help="where the JSON report goes")
    args = parser.parse_args(argv)
    figures = collect(args.smallest)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    console = Console(width=160)
    console.print(table(figures))
    console.print(f"growth: {json.dumps(figures['growth'])}")
    console.print(f"written to {args.out}")
    return figures


if __name__ == "__main__":
    main()
