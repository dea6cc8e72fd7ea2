"""`mlops policy check --format table|json|sarif|github`: results that CI logs, code scanning and people can use.

Sources: the SARIF 2.1.0 schema (oasis-tcs/sarif-spec `sarif-2.1/schema/sarif-schema-2.1.0.json` at
e0583813964ec43cea53b6b531b402866095ed1f, vendored next to this file), and GitHub's workflow command
syntax (`::error file={name},title={title}::{message}`, data escaping `%`, CR, LF; properties also `:` and `,`).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import jsonschema
import pytest

from infra.plan.evaluate import PROJECT_ROOT
from kernel.plan import Plan
from policies.model import Resource, Rule, Violation
from policies.report import as_github
from tests.cli import helpers as cli

SCHEMA = Path(__file__).with_name("sarif-schema-2.1.0.json")
LONG_NAME = "feature-store-customer-churn-with-a-name-longer-than-any-eighty-column-terminal-line"


CI_TERMINAL: dict[str, str | None] = {"COLUMNS": "80", "TERM": "dumb"}
"""The CLI as CI runs it: not a terminal, 80 columns (GitHub's runners), no colour."""


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The console script under CI's terminal settings, in-process (`tests.cli.helpers.run`)."""
    return cli.run(*args, cwd=cwd, env=CI_TERMINAL)


@pytest.fixture(scope="module")
def broken(plans: dict[str, Plan], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Prod's plan with one feature group's online store unencrypted, under a long resource name."""
    path = tmp_path_factory.mktemp("report") / "broken.json"
    plans["prod"].write(path)
    document = json.loads(path.read_text())
    for resource in document["resources"]:
        if resource["type"] == "aws:sagemaker/featureGroup:FeatureGroup":
            resource["inputs"]["onlineStoreConfig"]["securityConfig"] = {}
            resource["name"] = LONG_NAME
    path.write_text(json.dumps(document))
    return path


def test_table_never_wraps_identifiers_off_a_terminal(broken: Path, project_root: Path) -> None:
    """In a process of its own: the width comes from the environment the console script starts in."""
    result = cli.run_process("policy", "check", "--plan", str(broken), cwd=project_root, env=CI_TERMINAL)
    assert result.returncode == 1
    line = next(line for line in result.stdout.splitlines() if "feature-store-kms" in line)
    assert LONG_NAME in line, result.stdout


def test_json_lists_every_violation_whole(broken: Path, project_root: Path) -> None:
    result = run("policy", "check", "--plan", str(broken), "--format", "json", cwd=project_root)
    assert result.returncode == 1
    document = json.loads(result.stdout)
    (violation,) = [v for v in document["violations"] if v["rule"] == "feature-store-kms"]
    assert violation["resource"] == LONG_NAME and violation["level"] == "mandatory"
    assert violation["type"] == "aws:sagemaker/featureGroup:FeatureGroup" and violation["fix"]


def test_sarif_is_valid_sarif_2_1_0_for_code_scanning(broken: Path, project_root: Path, tmp_path: Path) -> None:
    out = tmp_path / "policy.sarif"
    result = run("policy", "check", "--plan", str(broken), "--format", "sarif", "--output", str(out), cwd=project_root)
    assert result.returncode == 1, "a mandatory violation still fails the step"
    log = json.loads(out.read_text())
    jsonschema.Draft4Validator(json.loads(SCHEMA.read_text())).validate(log)
    (run_,) = log["runs"]
    rules = {rule["id"] for rule in run_["tool"]["driver"]["rules"]}
    (result_,) = [r for r in run_["results"] if r["ruleId"] == "feature-store-kms"]
    assert result_["ruleId"] in rules and result_["level"] == "error"
    (location,) = result_["locations"]
    assert location["physicalLocation"]["artifactLocation"]["uri"] == "Pulumi.prod.yaml"
    assert location["logicalLocations"][0]["name"] == LONG_NAME
    assert result_["partialFingerprints"], "code scanning tracks a result across runs by its fingerprint"


def test_github_format_prints_one_annotation_per_violation(broken: Path, project_root: Path) -> None:
    result = run("policy", "check", "--plan", str(broken), "--format", "github", cwd=project_root)
    assert result.returncode == 1
    (line,) = [line for line in result.stdout.splitlines() if "feature-store-kms" in line]
    assert line.startswith(f"::error file=Pulumi.prod.yaml,title=feature-store-kms ({LONG_NAME})::{LONG_NAME}: ")


def test_github_annotations_escape_what_the_command_syntax_reserves() -> None:
    rule = Rule(id="r", family="sagemaker", description="d", why="w", fix="a: b, c", control="x")
    resource = Resource("t", "name:with,commas", "urn", {})
    (line,) = as_github("Pulumi.dev.yaml", [Violation(rule, resource, "50% of\nit", "advisory")]).splitlines()
    assert line == (
        "::warning file=Pulumi.dev.yaml,title=r (name%3Awith%2Ccommas)::name:with,commas: 50%25 of%0Ait. Fix: a: b, c"
    )


def test_ci_annotates_and_uploads_the_policy_results() -> None:
    import yaml

    workflow = yaml.safe_load((PROJECT_ROOT / ".github/workflows/ci.yml").read_text(encoding="utf-8"))
    steps = workflow["jobs"]["plan"]["steps"]
    checks = [step["run"] for step in steps if "policy check" in step.get("run", "")]
    assert any("--format github" in run for run in checks) and any("--format sarif" in run for run in checks)
    assert all("--format" in run for run in checks), "a bare table in a CI log is for people, not the runner"
    upload = next(step for step in steps if step.get("uses", "").startswith("github/codeql-action/upload-sarif@"))
    assert upload["with"]["sarif_file"] == "out/policy-${{ matrix.stack }}.sarif"
    assert workflow["jobs"]["plan"]["permissions"]["security-events"] == "write"
