"""`mlops project new NAME`: a new project folder from the template, valid the moment it is written.

The template (`templates/project/`) is a project folder whose file names and contents say `__NAME__`
and `__TEAM__`; scaffolding copies it to `projects/<name>/` with both replaced, then loads the result
with the kernel's own validation, so a scaffold that would not load is never left behind. An existing
project is never overwritten.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path

from kernel.errors import ConfigError, Problem
from kernel.projects import PROJECT_NAME, RESERVED_NAMES, Project, load_project, projects_dir

TEMPLATE_DIR = Path(__file__).resolve().parents[1] / "templates" / "project"
PLACEHOLDERS = ("__NAME__", "__TEAM__")


def scaffold(root: Path, name: str, team: str | None = None, template: Path = TEMPLATE_DIR) -> Project:
    """Write `projects/<name>/` under `root` from `template` and return it loaded (ConfigError naming the fix)."""
    source = f"mlops project new {name}"
    if not re.fullmatch(PROJECT_NAME, name):
        raise ConfigError(source, [Problem("NAME", "must be a-z then a-z or 0-9, 2-12 characters (no hyphen)")])
    if name in RESERVED_NAMES:
        raise ConfigError(source, [Problem("NAME", f"{name!r} is a platform resource name; choose another")])
    target = projects_dir(root) / name
    if target.exists():
        raise ConfigError(source, [Problem("NAME", f"projects/{name}/ exists already; choose another name")])
    values = {"__NAME__": name, "__TEAM__": team or f"{name}-team"}
    with tempfile.TemporaryDirectory() as work:
        staging = Path(work) / "projects" / name
        for path in sorted(template.rglob("*")):
            if path.is_dir():
                continue
            relative = _fill(str(path.relative_to(template)), values)
            written = staging / relative
            written.parent.mkdir(parents=True, exist_ok=True)
            written.write_text(_fill(path.read_text(encoding="utf-8"), values), encoding="utf-8")
        load_project(Path(work), name)  # the template's own mistakes surface here, before anything is written
        projects_dir(root).mkdir(parents=True, exist_ok=True)
        shutil.copytree(staging, target)
    return load_project(root, name)


def _fill(text: str, values: dict[str, str]) -> str:
    for placeholder in PLACEHOLDERS:
        text = text.replace(placeholder, values[placeholder])
    return text
