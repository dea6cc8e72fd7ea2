"""A new fork's own files: its answers, its stack files, its first project and its policy configuration."""

from __future__ import annotations

import filecmp
import importlib.util
import shutil
import subprocess
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from infra.plan.evaluate import PROJECT_ROOT
from mlops.scaffold import scaffold
from mlops.validation import validate_stacks
from tests.template.conftest import ANSWERS

ENVIRONMENTS = ("dev", "staging", "prod")


def _proof() -> ModuleType:
    """tools/upgrade_proof.py, whose first-day edits (the fork's SSO roles) these tests reuse."""
    spec = importlib.util.spec_from_file_location("upgrade_proof", PROJECT_ROOT / "tools" / "upgrade_proof.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_answers_file_records_the_template_its_release_and_every_answer(seeded_fork: Path, template: Path) -> None:
    recorded = yaml.safe_load((seeded_fork / ".copier-answers.yml").read_text(encoding="utf-8"))
    head = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=template, capture_output=True, text=True, check=True
    )
    assert recorded["_src_path"] == str(template) and recorded["_commit"] == head.stdout.strip()
    assert {key: recorded[key] for key in ANSWERS} == ANSWERS


def _as_the_fork_answered(shipped: dict[str, Any], environment: str) -> dict[str, Any]:
    """A shipped example stack file with the answered settings replaced: what the fork's file must hold."""
    config = dict(shipped["config"])
    account = ANSWERS[f"{environment}_account"]
    zones = ANSWERS["zones"][: len(config["mlops:network"]["availabilityZones"])]
    config["aws:region"] = ANSWERS["region"]
    config["mlops:accountId"] = account
    config["mlops:network"] = {**config["mlops:network"], "availabilityZones": zones}
    config["mlops:audit"] = {**config["mlops:audit"], "alertEmails": [ANSWERS["alert_email"]]}
    github = {"org": ANSWERS["organisation"], "repo": ANSWERS["repository"]}
    bucket = f"{ANSWERS['organisation'].lower()}-pulumi-state-{account}"
    personas = {"platformAdmins": [], "auditors": []}  # the fork's SSO roles: set by the fork, never guessed
    config["mlops:identity"] = {
        **config["mlops:identity"],
        "github": github,
        "stateBucket": bucket,
        "personas": personas,
    }
    if "mlops:registry" in config:
        readers = [ANSWERS["staging_account"], ANSWERS["prod_account"]]
        config["mlops:registry"] = {**config["mlops:registry"], "readerAccounts": readers}
    return {**shipped, "config": config}


def test_each_stack_file_is_the_shipped_example_with_the_forks_answers(seeded_fork: Path) -> None:
    for environment in ENVIRONMENTS:
        name = f"Pulumi.{environment}.yaml"
        shipped = yaml.safe_load((PROJECT_ROOT / name).read_text(encoding="utf-8"))
        forked = yaml.safe_load((seeded_fork / name).read_text(encoding="utf-8"))
        assert forked == _as_the_fork_answered(shipped, environment), name


def test_a_new_fork_names_each_persona_it_must_map(seeded_fork: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Fresh from copier, the examples' SSO roles are in the blueprint's accounts and prod has no approver."""
    assert validate_stacks(seeded_fork) is None
    errors = capsys.readouterr().err
    assert (
        "projects/churn/project.yaml: environments.dev.personas.dataScientists[0]: is in account 111111111111" in errors
    )
    assert "projects/fraud/project.yaml: environments.prod.personas.modelApprovers: prod needs at least one" in errors


def test_once_its_personas_are_mapped_the_fork_validates(seeded_fork: Path, tmp_path: Path) -> None:
    fork = tmp_path / "fork"
    shutil.copytree(seeded_fork, fork)
    _proof().map_personas(fork)
    configs = validate_stacks(fork)
    assert configs is not None, "see the problems printed above"
    assert {config.region for config in configs.values()} == {ANSWERS["region"]}
    assert configs["prod"].network.availability_zones == ANSWERS["zones"]


def test_the_first_project_is_what_mlops_project_new_writes(seeded_fork: Path, tmp_path: Path) -> None:
    scaffold(tmp_path, ANSWERS["first_project"], ANSWERS["first_team"])
    first = f"projects/{ANSWERS['first_project']}"
    comparison = filecmp.dircmp(seeded_fork / first, tmp_path / first)
    assert _differences(comparison) == []
    assert sorted(p.name for p in (seeded_fork / first).rglob("*") if p.is_file()) == [
        "README.md",
        "fraud-features.yaml",
        "project.yaml",
    ]


def _differences(comparison: filecmp.dircmp[str]) -> list[str]:
    found = comparison.left_only + comparison.right_only + comparison.diff_files + comparison.funny_files
    for sub in comparison.subdirs.values():
        found += _differences(sub)
    return found


def test_the_example_projects_and_policy_configuration_come_as_shipped(seeded_fork: Path) -> None:
    for folder in ("projects/churn", "projects/claims", "policies/config"):
        comparison = filecmp.dircmp(PROJECT_ROOT / folder, seeded_fork / folder, ignore=["__pycache__"])
        assert _differences(comparison) == [], folder
