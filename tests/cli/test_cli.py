"""The `mlops` console script as a user runs it: clean errors, exit codes, the plan file."""

from __future__ import annotations

import copy
import json
from pathlib import Path

from kernel.plan import Plan
from tests.cli.helpers import run, run_process
from tests.helpers import shipped_settings, write_stack


def test_validate_all_shipped_stacks(project_root: Path) -> None:
    """The installed console script, in a process of its own (the other tests call its entry point in-process)."""
    result = run_process("validate", cwd=project_root)
    assert result.returncode == 0, result.stderr
    for stack in ("dev", "staging", "prod"):
        assert f"✓ Pulumi.{stack}.yaml" in result.stdout


def test_bad_stack_file_fails_with_file_and_key_and_no_traceback(tmp_path: Path, project_root: Path) -> None:
    settings = copy.deepcopy(shipped_settings(project_root, "prod"))
    settings["mlops:serving"]["minInstances"] = 1
    settings["mlops:serving"]["instanceCount"] = 3
    write_stack(tmp_path, "prod", settings)
    result = run("validate", cwd=tmp_path)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr + result.stdout
    assert (
        "projects/churn/project.yaml: environments.prod.serving.instanceCount: is not a known setting" in result.stderr
    )
    plan = run("plan", "--stack", "prod", cwd=tmp_path)
    assert plan.returncode == 1 and "Traceback" not in plan.stderr
    assert "error: projects/churn/project.yaml: environments.prod.serving.instanceCount" in plan.stderr


def test_plan_writes_the_json_and_summarises(tmp_path: Path, project_root: Path) -> None:
    settings = copy.deepcopy(shipped_settings(project_root, "dev"))
    write_stack(tmp_path, "dev", settings)
    out = tmp_path / "plan.json"
    result = run("plan", "--stack", "dev", "--json", str(out), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    document = json.loads(out.read_text())
    assert document["stack"] == "dev" and len(document["resources"]) > 50
    assert f"mlops/dev: {len(document['resources'])} resources in 2 stack(s)" in result.stdout
    assert "mlops:storage:Storage" in result.stdout
    stacks = {(resource["program"], resource["stack"], resource["ml_project"]) for resource in document["resources"]}
    assert stacks == {("platform", "dev", None), ("project", "churn-dev", "churn")}


def test_a_plan_is_judged_only_by_its_own_stack(plans: dict[str, Plan], tmp_path: Path, project_root: Path) -> None:
    """dev's plan checked or priced under prod's settings would report on something never deployed."""
    plan_file = tmp_path / "plan-dev.json"
    plans["dev"].write(plan_file)
    for command in (("policy", "check"), ("cost",)):
        result = run(*command, "--stack", "prod", "--plan", str(plan_file), cwd=project_root)
        assert result.returncode == 1 and "Traceback" not in result.stderr, (command, result.stderr)
        assert result.stderr == (
            f"error: --plan {plan_file} is the dev stack's plan, not prod's: pass --stack dev, "
            "or plan prod with `mlops plan --stack prod --json FILE`\n"
        ), command
    priced = run("cost", "--plan", str(plan_file), cwd=project_root)
    assert priced.returncode == 0, priced.stderr
    assert priced.stdout.startswith("dev platform (")


def test_a_stack_name_pulumi_would_refuse_never_becomes_a_path(project_root: Path) -> None:
    """Pulumi's stack names match [A-Za-z0-9_.-]{1,100} (pulumi/pulumi validateStackName)."""
    for command in (("validate", "--stack", "../etc"), ("cost", "--stack", "a/b"), ("ci", "region", "--stack", "../x")):
        result = run(*command, cwd=project_root)
        assert result.returncode == 1 and "Traceback" not in result.stderr, (command, result.stderr)
        assert result.stderr.startswith(f"error: --stack {command[-1]!r}: is not a stack name: "), result.stderr
        assert result.stderr.count("\n") == 1, result.stderr


def test_pipeline_compile_refuses_a_stack_that_does_not_train(project_root: Path) -> None:
    """Only dev trains (staging and prod serve dev's packages): compile says so, as upsert and start do."""
    for stack in ("staging", "prod"):
        result = run("pipeline", "compile", "--stack", stack, cwd=project_root)
        assert result.returncode == 1, result.stdout + result.stderr
        assert result.stderr.startswith(f"error: stack {stack} has no training pipeline: models are trained in dev")


def test_next_promotion_moves_only_one_stage_forward(project_root: Path) -> None:
    for source, target in (("prod", "dev"), ("staging", "dev"), ("dev", "prod"), ("prod", "prod")):
        result = run("ci", "next-promotion", "--from", source, "--to", target, "--project", "churn", cwd=project_root)
        assert result.returncode == 1 and result.stdout == "", (source, target)
        assert result.stderr == (
            f"error: --from {source} --to {target}: a package moves dev -> staging -> prod, one stage at a time; "
            "pass --from dev --to staging or --from staging --to prod\n"
        )


def test_demo_help_names_what_the_demo_does(project_root: Path) -> None:
    """Every stage of `mlops.demo.run_demo` is named, not only the first two."""
    stages = ("validate", "plan dev", "policy", "cost", "train", "provision", "ingest", "pipeline", "register")
    stages += ("approve", "promote", "deploy", "smoke-test", "lineage", "drift", "retrain")
    text = " ".join(run("demo", "--help", cwd=project_root).stdout.lower().split())
    assert [stage for stage in stages if stage not in text] == [], text


def test_every_exit_status_is_documented(tmp_path: Path, project_root: Path) -> None:
    """README's exit-status list names each code the CLI exits with, click's usage error (2) included."""
    import re

    import click

    from mlops.boundary import ExitCode

    usage = run_process("plan", "--stak", "dev", cwd=project_root)  # the status a shell sees
    assert usage.returncode == click.UsageError.exit_code == ExitCode.USAGE
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    paragraph = readme[readme.index("**Failures are one line") :].split("\n\n")[0]
    assert {int(code) for code in re.findall(r"`(\d+)` ", paragraph)} == {int(code) for code in ExitCode}
