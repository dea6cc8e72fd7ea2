"""The upgrade proof's own preconditions (tools/upgrade_proof.py; `make fork-check` runs the proof itself)."""

from __future__ import annotations

import importlib.util
import subprocess
from pathlib import Path
from types import ModuleType

import pytest

from infra.plan.evaluate import PROJECT_ROOT

CHANGELOG = "# Changelog\n\n## [Unreleased]\n\n## [1.1.0] - 2026-11-29\n\n## [1.0.0] - 2026-11-29\n"


def _proof() -> ModuleType:
    spec = importlib.util.spec_from_file_location("upgrade_proof", PROJECT_ROOT / "tools" / "upgrade_proof.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _repository(root: Path, tags: list[str]) -> Path:
    (root / "CHANGELOG.md").write_text(CHANGELOG, encoding="utf-8")
    identity = ["-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    for command in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-qm", "c"]):
        subprocess.run(["git", *identity, *command], cwd=root, check=True, capture_output=True)
    for tag in tags:
        subprocess.run(["git", *identity, "tag", "-a", tag, "-m", tag], cwd=root, check=True, capture_output=True)
    return root


def test_the_previous_release_is_the_second_newest_in_the_changelog(tmp_path: Path) -> None:
    assert _proof().previous_release(_repository(tmp_path, ["v1.0.0", "v1.1.0"])) == "v1.0.0"


def test_a_clone_without_the_release_tags_fails_and_says_how_to_fetch_them(tmp_path: Path) -> None:
    proof = _proof()
    with pytest.raises(proof.ProofError, match=r"no git tag v1\.1\.0, v1\.0\.0 .*git fetch --tags.*fetch-depth: 0"):
        proof.previous_release(_repository(tmp_path, []))
