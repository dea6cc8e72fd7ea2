"""The lifecycle end to end, as the real `mlops` console script, through a proxy that injects AWS faults.

The faulty run runs each command as a subprocess through the fault proxy, in front of a
`moto_server` process of its own, and re-runs it while it fails. After every attempt: a failure is
one line saying a retry may help (exit 75), and no stack file is half-written. After each success
the emulator's and the stack files' state is recorded. Beside it, a fault-free run of the same
commands (in-process, through the same Typer app, against the session's emulator) records its
state after each command; the two must be equal step by step, so nothing is duplicated
(executions, packages, jobs, records) and a faulty run plus its re-runs ends where a fault-free run
ends. The figures the issue asks for are printed (pytest -s shows them).
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from typer.testing import CliRunner

from kernel import ConfigError, load_stack_file
from kernel.plan import Plan
from kernel.projects import load_project
from pipelines.parity import PROJECT_ROOT
from tests.cli.helpers import MLOPS
from tests.faults.helpers import FaultProxy, RecordSink
from tests.helpers import LINEAGE, load_view, outputs_of, run_main

SEED = 20
RATE, BURST, ATTEMPTS = 0.25, 0.15, 3
"""Share of requests that meet a fault, share of faults that start a burst, botocore's attempts per call."""
MAX_RUNS = 10
RECORDS = 20
DEV_GROUP, STAGING_GROUP = "mlops-dev-churn-model", "mlops-staging-churn-model"
FIGURES: dict[str, int] = {}


@functools.cache
def sagemaker(endpoint: str) -> Any:
    """One client per endpoint: building one costs more than the calls a snapshot makes."""
    return boto3.client("sagemaker", region_name="eu-west-1", endpoint_url=endpoint)


def seed_emulator(endpoint: str) -> dict[str, list[str]]:
    """What the training pipelines and a deploy left: packages in dev's and staging's groups, prod's model."""
    requests.post(f"{endpoint}/moto-api/reset", timeout=10)
    client = sagemaker(endpoint)
    spec = {"Containers": [{"Image": "i"}], "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"]}  # fmt: skip
    arns: dict[str, list[str]] = {}
    for group, count in ((DEV_GROUP, 4), (STAGING_GROUP, 1)):
        client.create_model_package_group(ModelPackageGroupName=group)
        arns[group] = [
            client.create_model_package(
                ModelPackageGroupName=group, ModelApprovalStatus="PendingManualApproval",
                InferenceSpecification=spec, **({"CustomerMetadataProperties": LINEAGE} if n < 3 else {}),
            )["ModelPackageArn"]
            for n in range(count)
        ]  # fmt: skip
    client.create_model(
        ModelName="mlops-prod-churn-model-primary-v2",
        ExecutionRoleArn="arn:aws:iam::123456789012:role/mlops-prod-churn-model",
        PrimaryContainer={"ModelPackageName": arns[DEV_GROUP][1]},
    )
    return arns


def new_project(root: Path, plans: dict[str, Plan], project_root: Path) -> Path:
    root.mkdir()
    for name in ("Pulumi.yaml", "Pulumi.dev.yaml", "Pulumi.staging.yaml", "Pulumi.prod.yaml"):
        shutil.copy(project_root / name, root / name)
    shutil.copytree(project_root / "projects", root / "projects")
    for stack in ("dev", "prod"):
        (root / f"{stack}-outputs.json").write_text(json.dumps(outputs_of(plans[stack])))
    with (
        load_project(PROJECT_ROOT, "churn").sample_data.open(encoding="utf-8") as source,
        (root / "customers.csv").open("w", encoding="utf-8") as out,
    ):
        out.writelines(line for _, line in zip(range(RECORDS + 1), source, strict=False))
    return root


def scenario(v: list[str]) -> list[tuple[str, ...]]:
    """The lifecycle CI and people run, in order; v: the dev group's packages (v4 has no lineage)."""
    dev, prod = ("--outputs", "dev-outputs.json"), ("--outputs", "prod-outputs.json")
    return [
        ("pipeline", "upsert", "--stack", "dev", *dev),
        ("pipeline", "start", "--stack", "dev", *dev, "-p", "DataSource=feature-store"),
        ("pipeline", "start", "--stack", "dev", *dev, "-p", "DataSource=feature-store"),
        ("model", "approve", v[0], "--reason", "auc 0.80 on holdout"),
        ("model", "approve", v[1], "--reason", "auc 0.82 on holdout"),
        ("model", "reject", v[2], "--reason", "bias gap 0.12"),
        ("model", "promote", "--to", "staging", "--arn", v[1]),
        ("model", "promote", "--to", "prod"),
        ("model", "rollback", "--stack", "staging"),
        ("model", "rollback", "--stack", "staging"),
        ("model", "list", "--stack", "dev"),
        ("lineage", "--stack", "prod", "--format", "json"),
        ("model", "batch-score", "--stack", "prod", "--input", "s3://in/rows/", "--output", "s3://out/", *prod),
        ("model", "baseline", "--stack", "prod", "--train-data", "s3://in/train/", *prod),
        ("features", "ingest", "customers.csv", "--stack", "dev", "--group", "customer-churn"),
    ]


def snapshot(endpoint: str, project: Path, sink: RecordSink) -> dict[str, Any]:
    """Everything the lifecycle changes: the registry, pipelines and executions, jobs, stack files, records."""
    client = sagemaker(endpoint)
    packages = [
        (group, p["ModelPackageVersion"], p["ModelApprovalStatus"],
         client.describe_model_package(ModelPackageName=p["ModelPackageArn"]).get("ApprovalDescription"))
        for group in (DEV_GROUP, STAGING_GROUP)
        for p in client.list_model_packages(ModelPackageGroupName=group)["ModelPackageSummaryList"]
    ]  # fmt: skip
    pipelines = [p["PipelineName"] for p in client.list_pipelines()["PipelineSummaries"]]
    executions = sorted(
        e.get("PipelineExecutionDisplayName", "")
        for name in pipelines
        for e in client.list_pipeline_executions(PipelineName=name)["PipelineExecutionSummaries"]
    )
    return {
        "packages": sorted(packages),
        "pipelines": sorted(pipelines),
        "executions": executions,
        "transform_jobs": sorted(j["TransformJobName"] for j in client.list_transform_jobs()["TransformJobSummaries"]),
        "processing_jobs": sorted(
            j["ProcessingJobName"] for j in client.list_processing_jobs()["ProcessingJobSummaries"]
        ),
        "stack_files": {
            str(path.relative_to(project)): path.read_text()
            for path in sorted([*project.glob("Pulumi.*.yaml"), *project.glob("projects/*/project.yaml")])
        },
        "records": dict(sink.records),
    }


def assert_stack_files_whole(project: Path) -> None:
    """Every stack file and project view is complete and valid, and no lock or temporary file is left behind."""
    for path in project.glob("Pulumi.*.yaml"):
        load_view(path)
    leftovers = [*project.glob(".Pulumi*"), *project.glob("projects/*/.project*")]
    assert not leftovers, leftovers


def run_cli(args: tuple[str, ...], project: Path, endpoint: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1", "AWS_RETRY_MODE": "standard",
           "AWS_MAX_ATTEMPTS": str(ATTEMPTS), "AWS_EC2_METADATA_DISABLED": "true"}  # fmt: skip
    return subprocess.run(
        [MLOPS, *args, "--endpoint-url", endpoint], cwd=project, env=env,
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


@pytest.fixture(scope="module")
def moto_process() -> Iterator[str]:
    """A `moto_server` process of its own for the faulty run: its state is apart from the session's emulator."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [str(Path(MLOPS).with_name("moto_server")), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                requests.get(f"{endpoint}/moto-api/", timeout=1)
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline and server.poll() is None, "moto_server did not start"
                time.sleep(0.1)
        yield endpoint
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.fixture
def sinks() -> Iterator[tuple[RecordSink, RecordSink]]:
    with RecordSink(identifier="customer_id") as clean, RecordSink(identifier="customer_id") as faulty:
        yield clean, faulty


def reference_run(
    steps: list[tuple[str, ...]], project: Path, emulator: str, sink: RecordSink, monkeypatch: pytest.MonkeyPatch
) -> list[dict[str, Any]]:
    """The scenario without faults, in-process through the same Typer app; the state after each step."""
    import mlops.cli
    import mlops.workspace

    monkeypatch.setattr(mlops.workspace, "ROOT", project)
    monkeypatch.chdir(project)
    states = []
    with FaultProxy(emulator, seed=SEED, rate=0.0, burst=0.0, burst_length=1) as clean:
        clean.routes["/FeatureGroup/"] = sink.url
        for step in steps:
            result = CliRunner().invoke(mlops.cli.app, [*step, "--endpoint-url", clean.url])
            assert result.exit_code == 0, (step, result.output, result.exception)
            states.append(snapshot(emulator, project, sink))
    return states


def test_a_faulty_run_and_its_reruns_end_where_a_fault_free_run_ends(
    tmp_path: Path,
    moto_endpoint: str,
    moto_process: str,
    sinks: tuple[RecordSink, RecordSink],
    plans: dict[str, Plan],
    project_root: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clean_sink, sink = sinks
    steps = scenario(seed_emulator(moto_endpoint)[DEV_GROUP])
    assert scenario(seed_emulator(moto_process)[DEV_GROUP]) == steps
    clean, project = (new_project(tmp_path / name, plans, project_root) for name in ("clean", "faulty"))
    with ThreadPoolExecutor(1) as pool:  # the fault-free run goes on beside the faulty one
        reference = pool.submit(reference_run, steps, clean, moto_endpoint, clean_sink, monkeypatch)
        with FaultProxy(moto_process, seed=SEED, rate=RATE, burst=BURST, burst_length=ATTEMPTS) as proxy:
            proxy.routes["/FeatureGroup/"] = sink.url
            states, runs, failures = run_with_reruns(steps, project, proxy, sink, moto_process)
        expected = reference.result()
    assert len(expected[-1]["executions"]) == 1 and expected[8] == expected[9], "re-runs change nothing"
    assert expected[-1]["transform_jobs"] and expected[-1]["processing_jobs"]
    assert len(expected[-1]["records"]) == RECORDS
    for step, state, want in zip(steps, states, expected, strict=True):
        assert state == want, step
    FIGURES.update(
        commands=len(steps), runs=runs, failed_runs=failures, states_compared=len(steps), requests=proxy.requests,
        faults=sum(proxy.injected.values()),
        **{f"faults_{kind}": count for kind, count in sorted(proxy.injected.items())},
    )  # fmt: skip
    print(f"\nfault injection: {FIGURES}")
    assert failures > 0 and sum(proxy.injected.values()) > 20, "the seed must make commands fail and re-run"


def run_with_reruns(
    steps: list[tuple[str, ...]], project: Path, proxy: FaultProxy, sink: RecordSink, emulator: str
) -> tuple[list[dict[str, Any]], int, int]:
    """Each step as a subprocess through the proxy, re-run while it fails; the state after each success."""
    states, runs, failures = [], 0, 0
    for step in steps:
        for _ in range(MAX_RUNS):
            result = run_cli(step, project, proxy.url)
            runs += 1
            assert_stack_files_whole(project)
            if result.returncode == 0:
                break
            failures += 1
            assert "Traceback" not in result.stderr, (step, result.stderr)
            assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: "), (step, result.stderr)
            assert result.returncode == 75 and "retrying may help" in result.stderr, (step, result.stderr)
        else:
            pytest.fail(f"{step} still failing after {MAX_RUNS} runs: {result.stderr}")
        states.append(snapshot(emulator, project, sink))
    return states, runs, failures


def test_concurrent_promotions_keep_one_pin_and_fail_the_others_in_one_line(
    tmp_path: Path, moto_endpoint: str, plans: dict[str, Plan], project_root: Path
) -> None:
    v = seed_emulator(moto_endpoint)[DEV_GROUP]
    client = sagemaker(moto_endpoint)
    for arn in v[:2]:
        client.update_model_package(
            ModelPackageArn=arn, ModelApprovalStatus="Approved", CustomerMetadataProperties=LINEAGE
        )
    project = new_project(tmp_path / "project", plans, project_root)
    commands = [("model", "promote", "--to", "staging", "--arn", arn) for arn in (*v[:2], v[0])]
    with ThreadPoolExecutor(len(commands)) as pool:
        results = list(pool.map(lambda command: run_cli(command, project, moto_endpoint), commands))
    assert_stack_files_whole(project)
    pinned = load_view(project / "Pulumi.staging.yaml").serving.model_package_arn
    pins = [re.search(r" pinned (\S+) \(was (\S+)\)", r.stdout) for r in results if r.returncode == 0]
    chain = dict(match.group(2, 1) for match in pins if match)  # each pin replaced a distinct state
    assert len(chain) == len([match for match in pins if match]), "two promotions overwrote the same pin"
    ever_pinned = set(chain.values())
    state = "nothing"
    while state in chain:
        state = chain.pop(state)
    assert state == pinned and not chain, "every successful pin built on the one before it"
    for command, result in zip(commands, results, strict=True):
        if result.returncode == 0:
            assert " pinned " in result.stdout or ("already pins" in result.stdout and command[-1] in ever_pinned)
            continue
        assert result.returncode == 1 and result.stderr.count("\n") == 1, result.stderr
        assert "is locked by another promotion" in result.stderr or "changed while this command ran" in result.stderr
    FIGURES["concurrent_promotions"] = len(commands)


def test_bad_input_is_refused_in_one_line_and_changes_nothing(
    tmp_path: Path,
    moto_endpoint: str,
    plans: dict[str, Plan],
    project_root: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Through the console script's entry point in-process (its error boundary), to spare a process per case."""
    arns = seed_emulator(moto_endpoint)
    v, other = arns[DEV_GROUP], arns[STAGING_GROUP][0]
    client = sagemaker(moto_endpoint)
    client.update_model_package(
        ModelPackageArn=v[0], ModelApprovalStatus="Rejected", CustomerMetadataProperties=LINEAGE
    )
    project = new_project(tmp_path / "project", plans, project_root)
    corrupt = new_project(tmp_path / "corrupt", plans, project_root)
    (corrupt / "Pulumi.staging.yaml").write_text("config:\n  mlops:serving: [unclosed\n")
    partial = project / "partial-outputs.json"
    partial.write_text(json.dumps({"training_pipeline_name": "mlops-dev-churn-training"}))
    cases: list[tuple[Path, tuple[str, ...], str]] = [
        (project, ("model", "approve", "arn:aws:sagemaker:eu-west-1:1:model-package/x", "-r", "ok"), "not a versioned"),
        (project, ("model", "approve", f"{v[0].rsplit('/', 1)[0]}/99", "-r", "ok"), "does not exist"),
        (project, ("model", "approve", other, "-r", "ok"), "not to the stack's model package group"),
        (project, ("model", "promote", "--to", "staging", "--arn", v[1]), "is PendingManualApproval"),
        (project, ("model", "promote", "--to", "staging", "--arn", v[0]), "is Rejected"),
        (project, ("model", "approve", v[3], "-r", "ok"), "lacks lineage"),
        (project, ("model", "list", "--stack", "qa"), "Pulumi.qa.yaml: there is no stack 'qa' and there cannot be one"),
        (corrupt, ("model", "promote", "--to", "staging", "--arn", v[1]), "Pulumi.staging.yaml: is not valid YAML"),
        (project, ("pipeline", "upsert", "--outputs", str(partial)), "the stack outputs lack"),
        (project, ("model", "approve", v[1], "-r", " "), "give a reason"),
        (project, ("model", "rollback", "--stack", "prod"), "prod serves no model"),
    ]
    before = [snapshot(moto_endpoint, root, RecordSink("customer_id")) for root in (project, corrupt)]
    for root, command, message in cases:
        code, _, stderr = run_main(command, root, moto_endpoint, monkeypatch, capsys)
        assert code == 1 and stderr.count("\n") == 1, (command, stderr)
        assert message in stderr and "Traceback" not in stderr, (command, stderr)
    assert [snapshot(moto_endpoint, root, RecordSink("customer_id")) for root in (project, corrupt)] == before
    with pytest.raises(ConfigError):
        load_stack_file(corrupt / "Pulumi.staging.yaml")
    FIGURES["bad_inputs_refused"] = len(cases)
    print(f"\nfigures: {FIGURES}")
