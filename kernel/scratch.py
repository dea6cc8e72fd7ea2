"""A scratch copy of a repository's configuration, with one environment's settings replaced.

Variants (the sufficiency suite's) and tests of bad input edit a *combined view*: a stack file's `config:` keys
completed by one project's sections for that environment, written as `mlops:<section>` keys (and the team's
personas under `mlops:identity.personas`). `write_view` splits such a view back into the stack file and the
project's `project.yaml`, as a user would have written them.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import yaml

from kernel import yaml_text
from kernel.loader import PROJECT_KEYS, PROJECT_PERSONAS
from kernel.projects import PROJECT_FILE, PROJECTS_DIR

PROJECT_STACK_NAMESPACES = ("github:",)
"""Keys a view may hold that belong to the project's own stack file (`projects/Pulumi.<project>-<env>.yaml`):
its secrets, such as `github:dispatchToken`."""


def combined_view(root: Path, stack: str, project: str) -> dict[str, Any]:
    """Stack `stack`'s `config:` mapping completed by `project`'s sections for its environment (YAML data)."""
    document = yaml_text.load((root / f"Pulumi.{stack}.yaml").read_text(encoding="utf-8"))
    settings: dict[str, Any] = document["config"]
    project_document = yaml_text.load((root / PROJECTS_DIR / project / PROJECT_FILE).read_text(encoding="utf-8"))
    sections = dict(project_document["environments"][settings["mlops:environment"]])
    personas = sections.pop("personas", {})
    settings.update({f"mlops:{key}": value for key, value in sections.items()})
    if personas:
        identity = settings["mlops:identity"]
        identity["personas"] = {**identity.get("personas", {}), **personas}
    return settings


def write_view(root: Path, stack: str, view: dict[str, Any], project: str, source: Path) -> Path:
    """Write `view` under `root` as `Pulumi.<stack>.yaml` plus `projects/<project>/`; the stack file's path.

    The project's folder is copied from `source` (the repository the view came from), with the environment's
    sections replaced.
    `cost` stays in the stack file (the platform's budget); the project's own sections are those of `PROJECT_KEYS`.
    """
    pulumi_file = source / "Pulumi.yaml"
    if pulumi_file.is_file() and not (root / "Pulumi.yaml").exists():
        shutil.copy(pulumi_file, root / "Pulumi.yaml")
    platform = {key: value for key, value in view.items() if key.removeprefix("mlops:") not in PROJECT_KEYS}
    sections = {key.removeprefix("mlops:"): value for key, value in view.items() if key not in platform}
    identity = platform.get("mlops:identity")
    if isinstance(identity, dict) and isinstance(identity.get("personas"), dict):
        personas = identity["personas"]
        team = {key: personas[key] for key in PROJECT_PERSONAS if key in personas}
        if team:
            sections["personas"] = team
        platform["mlops:identity"] = {
            **identity,
            "personas": {key: value for key, value in personas.items() if key not in PROJECT_PERSONAS},
        }
    own = {key: platform.pop(key) for key in list(platform) if key.startswith(PROJECT_STACK_NAMESPACES)}
    path = root / f"Pulumi.{stack}.yaml"
    path.write_text(yaml.safe_dump({"config": platform}, sort_keys=False), encoding="utf-8")
    if own:
        (root / PROJECTS_DIR).mkdir(exist_ok=True)
        project_stack_file = root / PROJECTS_DIR / f"Pulumi.{project}-{stack}.yaml"
        project_stack_file.write_text(yaml.safe_dump({"config": own}, sort_keys=False), encoding="utf-8")
    folder = root / PROJECTS_DIR / project
    if not folder.is_dir():
        shutil.copytree(source / PROJECTS_DIR / project, folder)
        for extra in ("Pulumi.yaml",):
            if (source / PROJECTS_DIR / extra).is_file():
                shutil.copy(source / PROJECTS_DIR / extra, root / PROJECTS_DIR / extra)
    project_file = folder / PROJECT_FILE
    document = yaml_text.load(project_file.read_text(encoding="utf-8"))
    document["environments"][str(view.get("mlops:environment", stack))] = sections
    project_file.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path
