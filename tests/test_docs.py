"""What README and docs/ show is what the code does: the validate example is a real run, named workflows exist."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
WORKFLOWS = REPO / ".github" / "workflows"
MLOPS = str(Path(sys.executable).with_name("mlops"))
COPIER_FILES = {"copier.yml", "copier-answers.yml"}
"""Files named `*.yml` that are not workflows: the template's questions and a fork's answers (`.copier-answers.yml`)."""
EXAMPLE_COMMAND = "$ mlops validate --stack prod"
BROKEN = {
    "Pulumi.prod.yaml": ("eu-west-1c]", "eu-west-1d]"),
    "projects/churn/project.yaml": ("minInstances: 2", "minInstances: 1"),
}
"""The mistakes README's validate example makes: a zone the region lacks in the prod stack file, one instance in
churn's prod settings (a project's, in its project file)."""


def _readme_example() -> list[str]:
    lines = README.read_text(encoding="utf-8").splitlines()
    start = lines.index(EXAMPLE_COMMAND) + 1
    return lines[start : lines.index("```", start)]


def test_readme_validate_example_is_a_real_run(project: Path) -> None:
    for name, (shipped, broken) in BROKEN.items():
        path = project / name
        text = path.read_text(encoding="utf-8")
        assert text.count(shipped) == 1, f"the fixture {name} no longer has {shipped!r} once"
        path.write_text(text.replace(shipped, broken), encoding="utf-8")
    environment = {**os.environ, "NO_COLOR": "1"}
    environment.pop("COLUMNS", None)
    result = subprocess.run(
        [MLOPS, *EXAMPLE_COMMAND.split()[2:]],
        cwd=project,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1
    assert result.stdout.splitlines() == _readme_example(), "regenerate README's validate example from this run"


def test_workflow_files_the_docs_name_exist() -> None:
    texts = [README, *sorted((REPO / "docs").glob("*.md")), REPO / "infra" / "sufficiency" / "required.yaml"]
    existing = {path.name for path in WORKFLOWS.glob("*.yml")}
    for path in texts:
        named = set(re.findall(r"[\w-]+\.yml\b", path.read_text(encoding="utf-8"))) - COPIER_FILES
        assert named <= existing, f"{path.relative_to(REPO)} names workflows that do not exist: {named - existing}"


def test_readme_layout_lists_every_workflow() -> None:
    text = README.read_text(encoding="utf-8")
    block = text[text.index("## Layout") :].split("```")[1]
    layout = block[block.index(".github/") :]
    missing = [path.stem for path in sorted(WORKFLOWS.glob("*.yml")) if not re.search(rf"\b{path.stem}\b", layout)]
    assert not missing, f"README's Layout omits workflows: {missing}"
