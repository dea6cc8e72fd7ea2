"""Rules across a project's stack files: what no single file can know on its own.

Promotion, CI and the deploy workflows find an environment's stack by its file name
(`Pulumi.<environment>.yaml`), and resource names derive from the environment: two files of one
environment would collide, and a file named after another environment would be deployed as it.
The registry's reader accounts are the accounts that deploy its models, i.e. those of the other stacks.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

from kernel.errors import ConfigError, Problem
from kernel.loader import load_stack_file, missing_stack_file, parse_settings, read_stack_file, stack_file, stack_names
from kernel.models import NAMESPACE, StackConfig
from kernel.projects import load_project, project_names
from kernel.types import ENVIRONMENTS


def check_stack_name(stack: str, root: Path) -> None:
    """Refuse a stack that has no file, saying which names can exist (one per environment)."""
    path = stack_file(stack, root)
    if not path.is_file():
        raise missing_stack_file(path)


def project_problems(configs: dict[str, StackConfig], unreadable: Collection[str] = ()) -> dict[str, list[Problem]]:
    """Problems of each stack file (by stack name) that only the project's other stack files reveal.

    `configs` holds the stack files that validated; `unreadable` names those that did not, which are left to
    their own errors. A reader account may be the account of an unreadable file, so readers are not judged
    while any file is unreadable: a typo in staging's file must not make dev's readers look wrong.
    """
    problems: dict[str, list[Problem]] = {name: [] for name in configs}
    by_environment: dict[str, list[str]] = {}
    for name, config in configs.items():
        by_environment.setdefault(config.environment, []).append(name)
        if name != config.environment and name not in ENVIRONMENTS:
            problems[name].append(
                Problem(
                    f"{NAMESPACE}:environment",
                    f"the {config.environment} stack must be Pulumi.{config.environment}.yaml: promotion and CI find "
                    "an environment's stack by its file name; rename the file",
                )
            )
        elif name != config.environment:
            problems[name].append(
                Problem(
                    f"{NAMESPACE}:environment",
                    f"is {config.environment} in Pulumi.{name}.yaml: set {name}, or promotion and CI deploy this "
                    f"file as {name}",
                )
            )
    for environment, names in by_environment.items():
        if len(names) > 1:
            ordered = sorted(names, key=lambda name: (name != environment, name))
            files = ", ".join(f"Pulumi.{name}.yaml" for name in ordered)
            for name in names:
                problems[name].append(
                    Problem(
                        f"{NAMESPACE}:environment",
                        f"{files} are all {environment}: they would create resources with the same names; keep one "
                        "stack file per environment",
                    )
                )
    order: dict[str, int] = {name: index for index, name in enumerate(ENVIRONMENTS)}
    accounts = {name: configs[name].account_id for name in sorted(configs, key=lambda n: (order.get(n, 3), n))}
    for name, config in configs.items():
        others = {other: account for other, account in accounts.items() if other != name}
        if not others or unreadable:
            continue  # a single stack file, or one whose account is unknown: nothing sound to compare with
        known = ", ".join(f"{other} {account}" for other, account in others.items())
        for index, reader in enumerate(config.registry.reader_accounts):
            if reader not in others.values():
                problems[name].append(
                    Problem(
                        f"{NAMESPACE}:registry.readerAccounts[{index}]",
                        f"{reader} is not the account of any other stack ({known}): list the accounts of the "
                        "stacks that deploy this registry's models",
                    )
                )
    return {name: found for name, found in problems.items() if found}


def check_project(stack: str, root: Path) -> StackConfig:
    """Validate `stack`'s file, its place in the repository and every project's view of it.

    Raises `ConfigError` naming the file (the stack's or a project's) and the key; returns the platform's view.
    """
    check_stack_name(stack, root)
    config = load_stack_file(stack_file(stack, root))
    configs = {stack: config}
    unreadable: list[str] = []
    for other in stack_names(root):
        if other != stack:
            try:
                configs[other] = load_stack_file(stack_file(other, root))
            except ConfigError:
                unreadable.append(other)  # its own problems are reported when it is validated or planned
    found = project_problems(configs, unreadable).get(stack)
    if found:
        raise ConfigError(stack_file(stack, root).name, found)
    values = read_stack_file(stack_file(stack, root))
    for name in project_names(root):  # each project's view of this stack: what its program runs on
        parse_settings(values, stack_file(stack, root).name, load_project(root, name))
    return config
