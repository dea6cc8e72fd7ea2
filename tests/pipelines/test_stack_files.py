"""Pins in project files: one line changes and nothing else, under a lock, compare-and-swap, concurrently safe."""

from __future__ import annotations

import difflib
import shutil
import threading
from pathlib import Path

import pytest
import yaml

from infra.plan.evaluate import PROJECT_ROOT
from pipelines.lifecycle.stack_files import (
    PinChangedError,
    StackFileBusyError,
    pin_package,
    pinned_text,
    project_file,
    read_pin,
    stack_file_lock,
)
from tests.helpers import load_view

SHIPPED = sorted(PROJECT_ROOT.glob("projects/*/project.yaml"))
ENVIRONMENTS = ("dev", "staging", "prod")
ARN = "arn:aws:sagemaker:eu-west-1:111111111111:model-package/mlops-dev-churn-model/{}"


def changed_lines(before: str, after: str) -> list[str]:
    """The lines a unified diff adds or removes."""
    return [
        line
        for line in difflib.unified_diff(before.splitlines(True), after.splitlines(True), n=0)
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]


@pytest.mark.parametrize("environment", ENVIRONMENTS)
@pytest.mark.parametrize("path", SHIPPED, ids=lambda path: path.parent.name)
def test_a_pin_changes_the_pin_line_and_nothing_else(path: Path, environment: str) -> None:
    """Every shipped project file, in every environment: the first pin inserts one line, later ones replace it."""
    original = path.read_text(encoding="utf-8")
    first = pinned_text(original, ARN.format(7), environment=environment)
    (added,) = changed_lines(original, first)
    assert added.startswith("+") and added.strip().endswith(f"modelPackageArn: {ARN.format(7)}")
    indent = added[1:].index("modelPackageArn")
    second = pinned_text(first, ARN.format(8), environment=environment)
    assert changed_lines(first, second) == [
        f"-{' ' * indent}modelPackageArn: {ARN.format(7)}\n",
        f"+{' ' * indent}modelPackageArn: {ARN.format(8)}\n",
    ]
    noted = pinned_text(second, ARN.format(7), "rolled back from version 8", environment)
    expected = f"+{' ' * indent}modelPackageArn: {ARN.format(7)}  # rolled back from version 8\n"
    assert changed_lines(second, noted)[1] == expected
    assert pinned_text(noted, ARN.format(8), environment=environment) == second, "a promotion drops the note"
    others = [e for e in ENVIRONMENTS if e != environment]
    document, pinned = yaml.safe_load(original), yaml.safe_load(second)
    assert all(document["environments"][e] == pinned["environments"][e] for e in others), "one environment's pin"


@pytest.fixture
def staging(tmp_path: Path, project_root: Path) -> Path:
    """The tests' own staging stack file and churn project (the region the ARN names), whatever the fork's say."""
    for name in ("Pulumi.yaml", "Pulumi.staging.yaml"):
        shutil.copy(project_root / name, tmp_path / name)
    shutil.copytree(project_root / "projects", tmp_path / "projects")
    return tmp_path


def test_a_pin_fails_at_once_while_another_holds_the_lock(staging: Path) -> None:
    path = project_file(staging, "churn")
    before = path.read_bytes()
    with stack_file_lock(path), pytest.raises(StackFileBusyError, match=r"project.yaml is locked by another"):
        pin_package(staging, "staging", "churn", ARN.format(1), expected=None)
    assert path.read_bytes() == before
    assert pin_package(staging, "staging", "churn", ARN.format(1), expected=None) is True
    assert not list(path.parent.glob(".project*")), "no lock or temporary file is left behind"


def test_a_pin_that_changed_since_it_was_read_is_never_overwritten(staging: Path) -> None:
    pin_package(staging, "staging", "churn", ARN.format(1), expected=None)
    pinned = project_file(staging, "churn").read_bytes()
    with pytest.raises(PinChangedError, match=r"it now pins .*/1 in staging, not nothing; nothing was written"):
        pin_package(staging, "staging", "churn", ARN.format(2), expected=None)
    assert project_file(staging, "churn").read_bytes() == pinned
    assert pin_package(staging, "staging", "churn", ARN.format(1), expected=None) is False, "the same pin: no conflict"


def test_concurrent_pins_keep_exactly_one_and_fail_the_others_clearly(staging: Path) -> None:
    outcomes: dict[int, str] = {}
    start = threading.Barrier(8)

    def promote(version: int) -> None:
        start.wait()
        try:
            pin_package(staging, "staging", "churn", ARN.format(version), expected=None)
            outcomes[version] = "pinned"
        except (StackFileBusyError, PinChangedError) as error:
            outcomes[version] = type(error).__name__

    threads = [threading.Thread(target=promote, args=(version,)) for version in range(1, 9)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winners = [version for version, outcome in outcomes.items() if outcome == "pinned"]
    assert len(winners) == 1 and len(outcomes) == 8
    assert read_pin(staging, "staging", "churn").arn == ARN.format(winners[0])
    assert load_view(staging / "Pulumi.staging.yaml").serving.model_package_arn == ARN.format(winners[0])
