"""`mlops project new NAME`: a project folder from templates/project/ that the kernel loads as written."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from kernel import ConfigError
from kernel.projects import load_project
from mlops.scaffold import TEMPLATE_DIR, scaffold
from tests.cli.helpers import run


def test_a_new_project_loads_as_written(tmp_path: Path) -> None:
    project = scaffold(tmp_path, "fraud", "risk-ds")
    assert project.folder == tmp_path / "projects" / "fraud"
    assert load_project(tmp_path, "fraud").file == project.file
    assert (project.file.team, project.file.model.kind, project.schema.name) == (
        "risk-ds",
        "classifier",
        "fraud-features",
    )
    spec = project.spec()
    assert spec.label == "label" and spec.sensitive == "segment" and "segment" not in spec.features
    written = sorted(str(p.relative_to(project.folder)) for p in project.folder.rglob("*") if p.is_file())
    assert written == ["data/README.md", "features/fraud-features.yaml", "project.yaml"]
    assert not [p for p in project.folder.rglob("*") if p.is_file() and "__" in p.read_text() + p.name]


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("Fraud", "NAME: must be a-z then a-z or 0-9, 2-12 characters (no hyphen)"),
        ("fraud-ds", "NAME: must be a-z then a-z or 0-9, 2-12 characters (no hyphen)"),
        ("raw", "NAME: 'raw' is a platform resource name; choose another"),
    ],
)
def test_a_bad_name_is_refused_and_nothing_is_written(tmp_path: Path, name: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        scaffold(tmp_path, name)
    assert caught.value.lines() == [f"mlops project new {name}: {message}"]
    assert not (tmp_path / "projects").exists()


def test_a_template_that_would_not_load_leaves_nothing_behind(tmp_path: Path) -> None:
    template = tmp_path / "template"
    shutil.copytree(TEMPLATE_DIR, template)
    path = template / "project.yaml"
    path.write_text(path.read_text().replace("label: label", "label: outcome"))
    with pytest.raises(ConfigError, match=r"model.label: 'outcome' is not a feature of fraud-features"):
        scaffold(tmp_path / "repo", "fraud", template=template)
    assert not (tmp_path / "repo" / "projects" / "fraud").exists()


def test_the_command_creates_once_and_never_overwrites(tmp_path: Path) -> None:
    (tmp_path / "Pulumi.yaml").write_text("name: mlops\nruntime: python\n")  # the CLI's root is this folder
    created = run("project", "new", "fraud", "--team", "risk-ds", cwd=tmp_path)
    assert created.returncode == 0, created.stderr
    assert "created projects/fraud/ (classifier, team risk-ds)" in created.stdout
    before = (tmp_path / "projects" / "fraud" / "project.yaml").read_bytes()
    again = run("project", "new", "fraud", cwd=tmp_path)
    assert again.returncode == 1 and "Traceback" not in again.stderr
    assert "mlops project new fraud: NAME: projects/fraud/ exists already; choose another name" in again.stderr
    assert (tmp_path / "projects" / "fraud" / "project.yaml").read_bytes() == before
