"""A new ML project from the template (`templates/project/`): one folder, validated before it is kept.

The template is data, not code: `{{name}}` and `{{team}}` in file contents and `__name__` in file names are
replaced; each environment's `personas` is filled with the roles given, each in the environment whose stack
file names its account. The folder is created atomically (a second `project new` of the same name is refused),
then validated as `mlops validate --project NAME` would; a project that does not validate is removed again.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from kernel import ConfigError, load_stack_file, stack_file, stack_names
from kernel.projects import PROJECT_NAME, RESERVED_NAMES, projects_dir
from kernel.types import ENVIRONMENTS
from mlops.console import UserError
from mlops.workspace import CHECKOUT

TEMPLATE = CHECKOUT / "templates" / "project"
PERSONA_KEYS = {"data-scientist": "dataScientists", "data-engineer": "dataEngineers", "ml-engineer": "mlEngineers"}
PERSONA_KEYS |= {"model-approver": "modelApprovers"}
"""`--role KIND=ARN` kinds and the project.yaml persona keys they fill."""


@dataclass(frozen=True)
class Role:
    """A team's SSO role for one persona: `model-approver=arn:aws:iam::<account>:role/...`."""

    persona: str
    arn: str

    @classmethod
    def parse(cls, text: str) -> Role:
        """`KIND=ARN`, refused with the kinds it may be."""
        kind, _, arn = text.partition("=")
        if kind not in PERSONA_KEYS or not arn.startswith("arn:aws") or len(arn.split(":")) < 6:
            raise UserError(f"--role {text!r}: expected KIND=ROLE_ARN with KIND one of {', '.join(PERSONA_KEYS)}")
        return cls(PERSONA_KEYS[kind], arn)


def name_problem(root: Path, name: str) -> str | None:
    """Why `name` cannot be a new project here, or None."""
    if not re.fullmatch(PROJECT_NAME, name):
        return (
            "is not a project name: 2-12 lower-case letters and digits, starting with a letter, no hyphen "
            "(every resource is named <prefix>-<env>-<project>-..., and a hyphen would let one project's name "
            "pattern match another's)"
        )
    if name in RESERVED_NAMES:
        return f"is a platform resource name ({', '.join(sorted(RESERVED_NAMES))}); choose another"
    if (projects_dir(root) / name).exists():
        return f"exists already (projects/{name}/); choose another name, or edit that project"
    return None


def new_project(root: Path, name: str, team: str, roles: Sequence[Role] = ()) -> Path:
    """Create `projects/<name>/` from the template and validate it; its folder.

    Raises `UserError` for a name that cannot be a project's, a role in no environment's account, or a project
    that does not validate (then nothing is left behind: the problems say which file and key to fix).
    """
    problem = name_problem(root, name)
    if problem:
        raise UserError(f"project {name!r} {problem}")
    personas = _personas(root, roles)
    folder = projects_dir(root) / name
    projects_dir(root).mkdir(exist_ok=True)
    try:
        folder.mkdir()  # atomic: of two concurrent `project new` of one name, one is refused here
    except FileExistsError:
        raise UserError(f"project {name!r} exists already (projects/{name}/); choose another name") from None
    try:
        _copy(TEMPLATE, folder, {"{{name}}": name, "{{team}}": team} | personas, name)
        _validate(root, name)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return folder


def _personas(root: Path, roles: Sequence[Role]) -> dict[str, str]:
    """Each environment's `personas` mapping (YAML flow style), from the roles in its account."""
    accounts: dict[str, str] = {}
    for stack in stack_names(root):
        try:
            config = load_stack_file(stack_file(stack, root))
        except ConfigError:
            continue  # its problems are reported by the validation below
        accounts.setdefault(config.account_id, config.environment)
    by_environment: dict[str, dict[str, list[str]]] = {environment: {} for environment in ENVIRONMENTS}
    for role in roles:
        account = role.arn.split(":")[4]
        if account not in accounts:
            known = ", ".join(f"{environment} {account}" for account, environment in accounts.items())
            raise UserError(f"--role {role.arn}: account {account} is no environment's ({known})")
        by_environment[accounts[account]].setdefault(role.persona, []).append(role.arn)
    return {f"{{{{personas.{env}}}}}": json.dumps(found) for env, found in by_environment.items()}


def _copy(template: Path, folder: Path, values: dict[str, str], name: str) -> None:
    for source in sorted(template.rglob("*")):
        if source.is_dir():
            continue
        target = folder / source.relative_to(template).as_posix().replace("__name__", name)
        target.parent.mkdir(parents=True, exist_ok=True)
        text = source.read_text(encoding="utf-8")
        for placeholder, value in values.items():
            text = text.replace(placeholder, value)
        target.write_text(text, encoding="utf-8")


def _validate(root: Path, name: str) -> None:
    """The new project as every environment's project program reads it; `ConfigError` names file and key."""
    from kernel.loader import parse_settings, read_stack_file
    from kernel.projects import load_project

    project = load_project(root, name)
    problems: list[str] = []
    for stack in stack_names(root):
        path = stack_file(stack, root)
        try:
            parse_settings(read_stack_file(path), path.name, project)
        except ConfigError as error:
            problems += [line for line in error.lines() if line not in problems]
    if problems:
        raise UserError(
            f"projects/{name} was not created: it does not validate ({len(problems)} problem(s)):\n"
            + "\n".join(problems)
        )
