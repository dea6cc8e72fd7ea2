"""What a fork owns and what the blueprint owns, as copier.yml tells copier and mlops/ownership.py the tools."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from infra.plan.evaluate import PROJECT_ROOT
from mlops.ownership import ANSWERS_FILE, FORK_OWNED, fork_owns, split, tracked_files

COPIER = yaml.safe_load((PROJECT_ROOT / "copier.yml").read_text(encoding="utf-8"))


def test_copier_skips_exactly_the_fork_owned_paths_once_they_exist() -> None:
    assert COPIER["_skip_if_exists"] == list(FORK_OWNED)


def test_an_update_neither_renders_nor_patches_a_fork_owned_path() -> None:
    """Excluded only while updating: `copier copy` writes them, `copier update` never touches them."""
    during_update = [
        pattern.removeprefix("{% if _copier_operation == 'update' %}").removesuffix("{% endif %}")
        for pattern in COPIER["_exclude"]
        if "_copier_operation" in pattern
    ]
    assert during_update == list(FORK_OWNED)


def test_copiers_default_exclusions_are_kept() -> None:
    """A template that sets `_exclude` replaces copier's defaults (copier 9.19.1 `DEFAULT_EXCLUDE`)."""
    from copier._template import DEFAULT_EXCLUDE

    assert set(DEFAULT_EXCLUDE) <= set(COPIER["_exclude"])


@pytest.mark.parametrize(
    ("path", "owner"),
    [
        ("Pulumi.dev.yaml", "fork"),
        ("Pulumi.sandbox.yaml", "fork"),
        ("Pulumi.yaml", "blueprint"),
        ("projects/churn/project.yaml", "fork"),
        ("projects/fraud/features/fraud-features.yaml", "fork"),
        ("projects/Pulumi.churn-prod.yaml", "fork"),
        ("projects/Pulumi.yaml", "blueprint"),
        ("policies/config/prod.json", "fork"),
        ("policies/rules/encryption.py", "blueprint"),
        ("templates/project/project.yaml", "blueprint"),
        ("tests/fixtures/stacks/Pulumi.dev.yaml", "blueprint"),
        ("infra/platform/__main__.py", "blueprint"),
    ],
)
def test_each_path_has_one_owner(path: str, owner: str) -> None:
    assert ("fork" if fork_owns(path) else "blueprint") == owner


def test_a_fork_owns_its_stacks_projects_and_policy_configuration(seeded_fork: Path) -> None:
    files = sorted(str(p.relative_to(seeded_fork)) for p in seeded_fork.rglob("*") if p.is_file())
    owned = split(files)
    assert ANSWERS_FILE in files and ANSWERS_FILE not in owned.fork + owned.blueprint
    assert {"Pulumi.dev.yaml", "Pulumi.staging.yaml", "Pulumi.prod.yaml"} <= set(owned.fork)
    assert {"projects/fraud/project.yaml", "policies/config/dev.json"} <= set(owned.fork)
    assert set(owned.blueprint) == {"Pulumi.yaml", "projects/Pulumi.yaml"}


def test_the_blueprints_tracked_files_split_in_two() -> None:
    files = tracked_files(PROJECT_ROOT)
    owned = split(files)
    assert len(owned.fork) + len(owned.blueprint) == len(files)
    assert "pyproject.toml" in owned.blueprint and "policies/config/dev.json" in owned.fork


def test_each_rename_migration_moves_a_file_the_template_no_longer_has_into_one_it_has() -> None:
    """A rename without its migration would delete the fork's edited file at the upgrade (copier drops what a release removes)."""
    renames = [migration["command"] for migration in COPIER["_migrations"] if migration["command"][:2] == ["git", "mv"]]
    assert renames, "copier.yml has no rename migration: the upgrade proof's rename step has nothing to check"
    for command in renames:
        source, target = command[-2:]
        assert command[:3] == ["git", "mv", "-k"], command  # -k: a fork without the file upgrades all the same
        assert not (PROJECT_ROOT / source).exists() and (PROJECT_ROOT / target).is_file(), command


def test_the_version_is_the_newest_release_in_the_changelog() -> None:
    import re
    import tomllib

    version = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
    releases = re.findall(r"^## \[(\d+\.\d+\.\d+)\]", (PROJECT_ROOT / "CHANGELOG.md").read_text(encoding="utf-8"), re.M)
    assert releases[0] == version and len(releases) >= 2, (version, releases)
    assert all(f"[{release}]: " in (PROJECT_ROOT / "CHANGELOG.md").read_text(encoding="utf-8") for release in releases)
