"""`mlops upgrade`: what it refuses, the copier command it runs, and the conflicts it names."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from mlops.console import UserError
from mlops.upgrade import copier_command, current_release, require_clean, upgrade
from tests.cli.helpers import run

ANSWERS = "_commit: v1.0.0\n_src_path: gh:example-org/mlops-platform\nfirst_project: fraud\n"


def _git(cwd: Path, *args: str) -> None:
    identity = ["-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    subprocess.run(["git", *identity, *args], cwd=cwd, check=True, capture_output=True)


def _fork(root: Path) -> Path:
    (root / ".copier-answers.yml").write_text(ANSWERS, encoding="utf-8")
    (root / "Pulumi.yaml").write_text("name: mlops\n", encoding="utf-8")
    _git(root, "init", "-q", "-b", "main")
    _git(root, "add", "-A")
    _git(root, "commit", "-qm", "fork")
    return root


def test_the_plain_copier_command_trusts_the_migrations_and_keeps_the_answers() -> None:
    assert copier_command("v1.1.0") == [
        "copier",
        "update",
        "--trust",
        "--defaults",
        "--skip-answered",
        "--conflict",
        "inline",
        "--vcs-ref",
        "v1.1.0",
    ]
    assert copier_command(None, "rej")[-2:] == ["--conflict", "rej"]


def test_the_blueprint_itself_is_not_upgraded(tmp_path: Path) -> None:
    (tmp_path / "copier.yml").write_text("_answers_file: .copier-answers.yml\n", encoding="utf-8")
    with pytest.raises(UserError, match=r"\.copier-answers\.yml: missing: this is the blueprint itself"):
        current_release(tmp_path)


def test_a_checkout_copier_did_not_make_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"not made by `copier copy`.*copier copy --trust gh:<org>/mlops-platform"):
        current_release(tmp_path)


def test_an_answers_file_without_its_release_names_the_key(tmp_path: Path) -> None:
    (tmp_path / ".copier-answers.yml").write_text("_src_path: gh:example-org/mlops-platform\n", encoding="utf-8")
    with pytest.raises(UserError, match=r"\.copier-answers\.yml: _commit: missing"):
        current_release(tmp_path)


def test_the_release_comes_from_the_answers_file(tmp_path: Path) -> None:
    release = current_release(_fork(tmp_path))
    assert (release.source, release.ref) == ("gh:example-org/mlops-platform", "v1.0.0")


def test_a_folder_outside_git_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="must be a git repository with at least one commit"):
        require_clean(tmp_path)


def test_uncommitted_changes_are_refused_and_named(tmp_path: Path) -> None:
    fork = _fork(tmp_path)
    (fork / "Pulumi.yaml").write_text("name: changed\n", encoding="utf-8")
    (fork / "notes.txt").write_text("draft\n", encoding="utf-8")
    with pytest.raises(UserError, match=r"uncommitted changes \(Pulumi\.yaml, notes\.txt\): commit or stash them"):
        require_clean(fork)


def test_the_cli_refuses_a_dirty_fork_in_one_line(tmp_path: Path) -> None:
    fork = _fork(tmp_path)
    (fork / "Pulumi.yaml").write_text("name: changed\n", encoding="utf-8")
    result = run("upgrade", cwd=fork)
    assert result.returncode == 1
    assert result.stderr.startswith("error: ") and "uncommitted changes (Pulumi.yaml)" in result.stderr
    assert "Traceback" not in result.stderr and "running: copier update" not in result.stdout
    unknown = run("upgrade", "--conflict", "both", cwd=fork)
    assert (unknown.returncode, unknown.stderr.strip()) == (1, "error: --conflict both: must be inline or rej")


TEMPLATE = {
    "copier.yml": "_answers_file: .copier-answers.yml\n_skip_if_exists: [/Pulumi.*.yaml]\n"
    "_exclude: [copier.yml, .git, \"{% if _copier_operation == 'update' %}/Pulumi.*.yaml{% endif %}\"]\n",
    "{{ _copier_conf.answers_file }}.jinja": "{{ _copier_answers|to_nice_yaml -}}\n",
    "Pulumi.dev.yaml": "region: eu-west-1\n",
    "rules.py": "LIMIT = 1\nNAME = 'a'\n",
    "notes.md": "one\n",
    "guide.md": "A conflict opens with `<<<<<<< before updating`.\n",
}


def _release(template: Path, tag: str, files: dict[str, str]) -> None:
    for name, text in files.items():
        (template / name).write_text(text, encoding="utf-8")
    _git(template, "add", "-A")
    _git(template, "commit", "-qm", tag)
    _git(template, "tag", "-a", tag, "-m", tag)


def test_an_upgrade_keeps_fork_files_merges_local_edits_and_names_the_conflict(tmp_path: Path) -> None:
    """A real `copier update` on a two-release template: the three-way merge as a fork meets it."""
    from copier import run_copy

    template, fork = tmp_path / "template", tmp_path / "fork"
    template.mkdir()
    _git(template, "init", "-q", "-b", "main")
    _release(template, "v1.0.0", TEMPLATE)
    run_copy(str(template), fork, defaults=True, quiet=True, vcs_ref="v1.0.0")
    _git(fork, "init", "-q", "-b", "main")
    (fork / "Pulumi.dev.yaml").write_text("region: us-east-1\n", encoding="utf-8")
    (fork / "rules.py").write_text("LIMIT = 5  # ours\nNAME = 'a'\n", encoding="utf-8")
    (fork / "notes.md").write_text("one\nour note\n", encoding="utf-8")
    _git(fork, "add", "-A")
    _git(fork, "commit", "-qm", "ours")
    release = {"Pulumi.dev.yaml": "region: eu-central-1\n", "rules.py": "LIMIT = 2\nNAME = 'a'\n"}
    _release(template, "v1.1.0", {**release, "guide.md": TEMPLATE["guide.md"] + "It closes with `>>>>>>>`.\n"})

    outcome = upgrade(fork, "v1.1.0")

    assert (outcome.before.ref, outcome.after.ref) == ("v1.0.0", "v1.1.0")
    assert outcome.conflicts == ("rules.py",)  # not guide.md, which quotes a marker and changed cleanly
    assert (fork / "Pulumi.dev.yaml").read_text() == "region: us-east-1\n"
    assert (fork / "notes.md").read_text() == "one\nour note\n"
    merged = (fork / "rules.py").read_text()
    assert "<<<<<<< before updating" in merged and "LIMIT = 5  # ours" in merged and "LIMIT = 2" in merged
