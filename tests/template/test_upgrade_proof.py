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


IDENTITY = ["-c", "user.name=t", "-c", "user.email=t@example.invalid"]


def _git(root: Path, *command: str) -> str:
    return subprocess.run(["git", *IDENTITY, *command], cwd=root, check=True, capture_output=True, text=True).stdout


def _repository(root: Path, tags: list[str]) -> Path:
    (root / "CHANGELOG.md").write_text(CHANGELOG, encoding="utf-8")
    for command in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-qm", "c"]):
        _git(root, *command)
    for tag in tags:
        _git(root, "tag", "-a", tag, "-m", tag)
    return root


def _released(root: Path, record: dict[str, str] | None = None) -> dict[str, str]:
    """A history of two releases, untagged, then a commit whose CHANGELOG.md records them (or `record`)."""
    _git(root, "init", "-q", "-b", "main")
    commits: dict[str, str] = {}
    text = "# Changelog\n\n## [Unreleased]\n"
    for version in ("1.0.0", "1.1.0"):
        text = text.replace("## [Unreleased]\n", f"## [Unreleased]\n\n## [{version}] - 2026-11-29\n")
        (root / "CHANGELOG.md").write_text(text, encoding="utf-8")
        _git(root, "add", "-A")
        _git(root, "commit", "-qm", f"Release {version}")
        commits[version] = _git(root, "rev-parse", "HEAD").strip()
    recorded = "".join(
        f"## [{version}] - 2026-11-29\n\nRelease commit: `{commit}`\n\n"
        for version, commit in sorted((record or commits).items(), reverse=True)
    )
    (root / "CHANGELOG.md").write_text(f"# Changelog\n\n## [Unreleased]\n\n{recorded}", encoding="utf-8")
    _git(root, "commit", "-qam", "Record the release commits")
    return commits


def test_the_previous_release_is_the_second_newest_in_the_changelog(tmp_path: Path) -> None:
    assert _proof().previous_release(_repository(tmp_path, ["v1.0.0", "v1.1.0"])) == "v1.0.0"


def test_a_clone_without_tags_or_records_fails_and_says_how_to_fetch_them(tmp_path: Path) -> None:
    proof = _proof()
    with pytest.raises(proof.ProofError, match=r"no git tag v1\.1\.0, .*git fetch --tags.*fetch-depth: 0"):
        proof.previous_release(_repository(tmp_path, []))


def test_a_clone_without_tags_tags_the_recorded_release_commits(tmp_path: Path) -> None:
    commits = _released(tmp_path)
    assert _proof().previous_release(tmp_path) == "v1.0.0"
    for version, commit in commits.items():
        assert _git(tmp_path, "rev-parse", f"v{version}^{{commit}}").strip() == commit


def test_a_record_on_a_commit_that_is_not_the_release_is_refused(tmp_path: Path) -> None:
    proof = _proof()
    (tmp_path / "first").mkdir()
    first = _released(tmp_path / "first")["1.0.0"]
    wrong = {"1.1.0": first, "1.0.0": first}  # 1.1.0 recorded on 1.0.0's commit
    root = tmp_path / "second"
    root.mkdir()
    _released(root, wrong)
    _git(root, "fetch", "-q", str(tmp_path / "first"), "main")  # the commit exists here, but it is not 1.1.0
    with pytest.raises(proof.ProofError, match=r"records commit \w{12} for 1\.1\.0, but that commit's CHANGELOG"):
        proof.previous_release(root)


def test_a_tag_that_disagrees_with_the_record_is_refused(tmp_path: Path) -> None:
    proof = _proof()
    commits = _released(tmp_path)
    _git(tmp_path, "tag", "-a", "v1.1.0", "-m", "v1.1.0", commits["1.0.0"])
    with pytest.raises(proof.ProofError, match=r"tag v1\.1\.0 is on commit .* CHANGELOG\.md records"):
        proof.previous_release(tmp_path)


def test_a_shallow_clone_without_the_release_commit_says_it_needs_the_history(tmp_path: Path) -> None:
    proof = _proof()
    (tmp_path / "origin").mkdir()
    _released(tmp_path / "origin")
    subprocess.run(
        ["git", "clone", "-q", "--depth", "1", f"file://{tmp_path / 'origin'}", str(tmp_path / "shallow")],
        check=True,
        capture_output=True,
    )
    with pytest.raises(proof.ProofError, match=r"not in this clone \(1 commits, shallow\).*fetch-depth: 0"):
        proof.previous_release(tmp_path / "shallow")


def test_every_release_records_its_commit_and_that_commit_is_the_release() -> None:
    proof = _proof()
    changelog = PROJECT_ROOT / "CHANGELOG.md"
    recorded = proof.recorded_commits(changelog)
    assert sorted(recorded) == sorted(proof.releases(changelog))
    for version, commit in recorded.items():
        kind = subprocess.run(
            ["git", "cat-file", "-t", commit], cwd=PROJECT_ROOT, capture_output=True, text=True, check=False
        )
        if kind.returncode == 0:  # this checkout has the history (CI's clone does; a shallow one would not)
            assert kind.stdout.strip() == "commit", f"{version}: {commit} is a {kind.stdout.strip()}, not a commit"
            newest = proof.releases_of(_git(PROJECT_ROOT, "show", f"{commit}:CHANGELOG.md"))
            assert newest[0] == version, (version, commit)
        tagged = subprocess.run(
            ["git", "rev-parse", "-q", "--verify", f"refs/tags/v{version}^{{commit}}"],
            check=False,
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
        )
        if tagged.returncode == 0:  # a checkout with the tags: each is on the recorded commit
            assert tagged.stdout.strip() == commit, f"v{version} is on {tagged.stdout.strip()}, not {commit}"


def test_the_readme_counts_the_files_a_new_fork_holds(template: Path, tmp_path: Path) -> None:
    """README's "N files the fork owns and M files the blueprint owns" is what `copier copy` of this checkout writes.

    `make fork-check` holds README to it too, but only in CI and after a whole upgrade; here a new blueprint file
    is caught by `make test`.
    """
    from copier import run_copy

    from tests.template.conftest import ANSWERS

    run_copy(str(template), tmp_path / "fork", data=ANSWERS, defaults=True, unsafe=True, quiet=True)
    proof = _proof()
    assert proof.readme_count_error(PROJECT_ROOT / "README.md", proof.owners(tmp_path / "fork")) == ""


def test_the_kept_edit_goes_to_markdown_the_release_leaves_alone_docs_first(tmp_path: Path) -> None:
    proof = _proof()
    for name in ("docs/a.md", "docs/b.md", "policies/RULES.md", "templates/x/README.md", "Pulumi.dev.yaml"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("v1\n", encoding="utf-8")
    _git(tmp_path, "init", "-q", "-b", "main")
    _git(tmp_path, "add", "-A")
    _git(tmp_path, "commit", "-qm", "release")
    before = _git(tmp_path, "rev-parse", "HEAD").strip()
    assert proof.untouched_file(tmp_path, before, "HEAD") == "docs/a.md"
    for name in ("docs/a.md", "docs/b.md"):
        (tmp_path / name).write_text("v2\n", encoding="utf-8")
    _git(tmp_path, "commit", "-qam", "every page of docs/ changes")
    assert proof.untouched_file(tmp_path, before, "HEAD") == "templates/x/README.md", "not the generated RULES.md"
    (tmp_path / "templates/x/README.md").write_text("v2\n", encoding="utf-8")
    _git(tmp_path, "commit", "-qam", "and the last one")
    with pytest.raises(proof.ProofError, match="every blueprint Markdown file changes"):
        proof.untouched_file(tmp_path, before, "HEAD")


def test_a_shallow_clone_fetches_the_history_and_tags_from_its_origin(tmp_path: Path) -> None:
    origin = tmp_path / "origin"
    origin.mkdir()
    commits = _released(origin)
    for version, commit in commits.items():
        _git(origin, "tag", "-a", f"v{version}", "-m", f"v{version}", commit)
    shallow = tmp_path / "shallow"
    subprocess.run(["git", "clone", "-q", "--depth", "1", f"file://{origin}", str(shallow)], check=True)
    assert _proof().previous_release(shallow, f"file://{origin}") == "v1.0.0"
    assert _git(shallow, "rev-parse", "v1.1.0^{commit}").strip() == commits["1.1.0"]


def test_a_record_of_a_tag_object_instead_of_its_commit_is_refused(tmp_path: Path) -> None:
    proof = _proof()
    (tmp_path / "first").mkdir()
    commits = _released(tmp_path / "first")
    _git(tmp_path / "first", "tag", "-a", "v1.1.0", "-m", "v1.1.0", commits["1.1.0"])
    tag_object = _git(tmp_path / "first", "rev-parse", "v1.1.0").strip()
    root = tmp_path / "second"
    root.mkdir()
    _released(root, {"1.1.0": tag_object, "1.0.0": commits["1.0.0"]})
    _git(root, "fetch", "-q", "--no-tags", str(tmp_path / "first"), "refs/tags/v1.1.0:refs/upstream/v1.1.0")
    with pytest.raises(proof.ProofError, match=r"annotated tag object, not a commit"):
        proof.previous_release(root)
