"""Read a stack's settings (from its stack file or from the running Pulumi engine) into `StackConfig`.

Both paths normalise values the way the Pulumi engine hands them to a program (top-level scalars
as strings, objects as JSON), so `mlops validate` accepts exactly what `pulumi up` accepts.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

import yaml
from pydantic import ValidationError

from kernel import yaml_text
from kernel.errors import ConfigError, Loc, Problem, problems_from
from kernel.models import NAMESPACE, StackConfig
from kernel.types import ENVIRONMENTS, Environment

PROJECT_KEYS = ("featureStore", "training", "serving", "monitoring", "quality")
"""Stack-level sections a project owns; `cost` is both the platform's and each project's own."""
PROJECT_PERSONAS = ("dataScientists", "dataEngineers", "mlEngineers", "modelApprovers")
"""Persona keys a project team maps to its SSO roles; platform admins and auditors are the platform's."""

REGION_KEY = "aws:region"
STACK_NAME = re.compile(r"[A-Za-z0-9_.-]{1,100}")
"""What Pulumi accepts as a stack name (pulumi/pulumi `validateStackName`: "stack names may only contain
alphanumeric, hyphens, underscores, or periods", at most 100 characters)."""


def stack_file(stack: str, root: Path) -> Path:
    """Path of the stack file Pulumi uses for `stack` in the project at `root`.

    A name Pulumi would refuse (`../etc`, `a/b`) is refused before it becomes part of a path.
    """
    if not STACK_NAME.fullmatch(stack):
        raise ConfigError(
            f"--stack {stack!r}",
            [
                Problem(
                    "",
                    "is not a stack name: Pulumi's have only letters, digits, '-', '_' and '.' (at most 100); "
                    f"each environment's stack is named after it ({', '.join(ENVIRONMENTS)})",
                )
            ],
        )
    return root / f"Pulumi.{stack}.yaml"


def stack_names(root: Path) -> list[str]:
    """Names of the stacks that have a stack file in `root`: dev, staging, prod first, then the rest."""
    names = [path.name[len("Pulumi.") : -len(".yaml")] for path in root.glob("Pulumi.*.yaml")]
    return sorted(names, key=lambda name: (ENVIRONMENTS.index(name) if name in ENVIRONMENTS else 3, name))


def missing_stack_file(path: Path) -> ConfigError:
    """The error for a stack file that does not exist: create it, or, for a name no stack can have, say why."""
    stack = path.name[len("Pulumi.") : -len(".yaml")]
    if stack in ENVIRONMENTS:
        return ConfigError(path.name, [Problem("", f"no such stack file; create {path.name} next to Pulumi.yaml")])
    existing = ", ".join(stack_names(path.parent)) or "none yet"
    return ConfigError(
        path.name,
        [
            Problem(
                "",
                f"there is no stack {stack!r} and there cannot be one: each environment "
                f"({', '.join(ENVIRONMENTS)}) has one stack named after it (stack files here: {existing})",
            )
        ],
    )


def load_stack_file(path: Path) -> StackConfig:
    """Validate one stack file; raises `ConfigError` listing every problem in it."""
    return parse_settings(read_stack_file(path), source=path.name)


def read_stack_file(path: Path) -> dict[str, Any]:
    """The `config:` mapping of a stack file, with values normalised as the engine passes them."""
    if not path.is_file():
        raise missing_stack_file(path)
    try:
        document = yaml_text.load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(path.name, [Problem("", f"is not valid YAML{where}: {error}")]) from None
    config = document.get("config", {}) if isinstance(document, dict) else None
    if not isinstance(config, dict):
        raise ConfigError(path.name, [Problem("config", "must be a mapping of `namespace:key: value` entries")])
    octal = _octal_numbers(yaml_text.compose(path.read_text(encoding="utf-8")))
    if octal:
        raise ConfigError(path.name, octal)
    secrets = [key for key, value in config.items() if isinstance(value, dict) and set(value) == {"secure"}]
    if any(key.startswith(f"{NAMESPACE}:") for key in secrets):
        raise ConfigError(
            path.name,
            [Problem(key, "no blueprint setting is a secret; store it in plain text") for key in secrets],
        )
    return {str(key): _as_engine_value(value) for key, value in config.items()}


def _octal_numbers(document: yaml.Node | None) -> list[Problem]:
    """Unquoted numbers with a leading zero, which YAML 1.1 reads as octal (an account id like 061356675650)."""
    config = _mapping_value(document, "config")
    problems: list[Problem] = []

    def walk(node: yaml.Node, key: str) -> None:
        if isinstance(node, yaml.MappingNode):
            for name, value in node.value:
                walk(value, f"{key}.{name.value}" if key else str(name.value))
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                walk(item, f"{key}[{index}]")
        elif (
            isinstance(node, yaml.ScalarNode)
            and node.tag == "tag:yaml.org,2002:int"
            and not node.style  # plain: None from PyYAML's parser, "" from libyaml's
            and re.fullmatch(r"0[0-7]+", node.value)
        ):
            number = int(node.value, 8)
            problems.append(
                Problem(
                    key,
                    f"YAML reads the unquoted {node.value} as the octal number {number}: quote it, '{node.value}'",
                )
            )

    if isinstance(config, yaml.MappingNode):
        for name, value in config.value:
            walk(value, str(name.value))
    return problems


def _mapping_value(node: yaml.Node | None, key: str) -> yaml.Node | None:
    if not isinstance(node, yaml.MappingNode):
        return None
    return next((value for name, value in node.value if name.value == key), None)


def runtime_settings() -> dict[str, Any]:
    """The config the Pulumi engine gave this program (`pulumi up`, or the offline plan's mocks)."""
    from pulumi.runtime import config as runtime_config

    values: dict[str, Any] = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    return {key.replace(":config:", ":"): value for key, value in values.items()}


def parse_settings(values: Mapping[str, Any], source: str, project: ProjectSettings | None = None) -> StackConfig:
    """Validate engine-shaped `namespace:key` values; raises `ConfigError` naming `source` and each key.

    Without `project` these are the platform's settings, and a project's section in them is refused. With it,
    the project's settings for the stack's environment complete them: the view the project program runs on,
    with every problem in the project's part named by the project's file and key.
    """
    settings: dict[str, Any] = {}
    misplaced: list[Problem] = []
    for key, value in values.items():
        namespace, _, name = key.partition(":")
        problem = namespace_problem(namespace, name)
        if problem:
            misplaced.append(Problem(key, problem))
        elif key == REGION_KEY:
            settings["region"] = value
        elif namespace == NAMESPACE:
            settings[name] = _decode(value)
    misplaced += _project_keys_in_stack_file(settings)
    if "project" in settings:
        misplaced.append(Problem(f"{NAMESPACE}:project", "is not a setting: projects are folders under projects/"))
        del settings["project"]
    environment = str(settings.get("environment", ""))
    if project is not None:
        _overlay(settings, project.settings(environment))  # type: ignore[arg-type]
        settings["project"] = project.name
    try:
        config = StackConfig.model_validate(settings)
    except ValidationError as error:
        problems = problems_from(error, StackConfig, _key, "the stack file")
        if project is None:
            raise ConfigError(source, [*misplaced, *problems]) from None
        raise _split_problems(source, [*misplaced, *problems], project, environment) from None
    if misplaced:
        raise ConfigError(source, misplaced)
    return config


class ProjectSettings(Protocol):
    """What the loader needs of a project: its file's name and its sections per environment."""

    @property
    def name(self) -> str:
        """The project's name."""

    @property
    def source(self) -> str:
        """Its file, as errors name it."""

    def settings(self, environment: Environment) -> dict[str, Any]:
        """Its sections for one environment."""


def _project_keys_in_stack_file(settings: dict[str, Any]) -> list[Problem]:
    """A project's section left in a stack file: it moved to the project's file (one stack, many projects)."""
    problems = [
        Problem(
            f"{NAMESPACE}:{key}",
            f"is a project's setting: move it to projects/<name>/project.yaml under "
            f"environments.{settings.get('environment', '<env>')}.{key}",
        )
        for key in PROJECT_KEYS
        if key in settings
    ]
    personas = settings.get("identity", {}).get("personas", {}) if isinstance(settings.get("identity"), dict) else {}
    problems += [
        Problem(
            f"{NAMESPACE}:identity.personas.{key}",
            "is a project team's role: move it to "
            f"projects/<name>/project.yaml under environments.{settings.get('environment', '<env>')}.personas.{key}",
        )
        for key in PROJECT_PERSONAS
        if isinstance(personas, dict) and key in personas
    ]
    return problems


def _overlay(settings: dict[str, Any], project: Mapping[str, Any]) -> None:
    for key, value in project.items():
        if key == "personas":
            identity = settings.setdefault("identity", {})
            if isinstance(identity, dict) and isinstance(value, dict):
                identity["personas"] = {**(identity.get("personas") or {}), **value}
        else:
            settings[key] = value


def _split_problems(source: str, problems: list[Problem], project: ProjectSettings, environment: str) -> ConfigError:
    """Problems of the combined view, each named by the file (stack or project) where its key is written."""
    mine: list[Problem] = []
    theirs: list[Problem] = []
    for problem in problems:
        key = problem.key.removeprefix(f"{NAMESPACE}:")
        persona = key.removeprefix("identity.personas.")
        head = key.split(".")[0].split("[")[0]
        if head in PROJECT_KEYS:
            message = problem.message.replace("add it to the stack file", "add it to the project file")
            mine.append(Problem(f"environments.{environment}.{key}", message))
        elif persona != key and persona.split("[")[0] in PROJECT_PERSONAS:
            mine.append(Problem(f"environments.{environment}.personas.{persona}", problem.message))
        else:
            theirs.append(problem)
    if not theirs:
        return ConfigError(project.source, mine)
    return ConfigError(source, theirs + [Problem(p.key, p.message, project.source) for p in mine])


def namespace_problem(namespace: str, name: str) -> str | None:
    """Why `namespace:name` is not a setting, saying where it belongs; None when it is one.

    `aws:` keys are checked against the AWS provider's own schema (see kernel/provider.py),
    `mlops:` keys by the typed model, except the provider's keys written under `mlops:`.
    """
    blueprint = {field.alias or field_name for field_name, field in StackConfig.model_fields.items()} - {"region"}
    if namespace == "aws":
        from kernel.provider import provider_keys, provider_version

        if name in provider_keys():
            return None
        if name in blueprint:
            return f"is a blueprint setting, not the AWS provider's: write it as {NAMESPACE}:{name}"
        close = difflib.get_close_matches(name, sorted(provider_keys()), n=1)
        hint = f" (did you mean {', '.join(f'aws:{key}' for key in close)}?)" if close else ""
        return (
            f"is not a setting of the AWS provider (pulumi-aws {provider_version()}), which would refuse it at "
            f"`pulumi up`: remove it or fix the spelling{hint}"
        )
    if namespace == NAMESPACE and name not in blueprint:
        from kernel.provider import provider_keys

        if name in provider_keys():
            return f"is the AWS provider's setting, not the blueprint's: write it as aws:{name}"
    return None


def _as_engine_value(value: Any) -> Any:
    """A stack file value as the engine passes it: scalars as strings, structures as JSON."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value)
    return value if value is None else str(value)


def _decode(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def _key(loc: Loc) -> str:
    if not loc:
        return f"{NAMESPACE}:"
    if loc[0] == "region":
        return REGION_KEY
    path = f"{NAMESPACE}:{loc[0]}"
    for part in loc[1:]:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path
