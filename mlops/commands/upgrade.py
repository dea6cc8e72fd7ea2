"""`mlops upgrade`: take this fork to a newer release of the blueprint (copier update, three-way merge)."""

from __future__ import annotations

import shlex
from typing import Annotated, Literal

import typer

from mlops.console import UserError, console


def upgrade(
    to: Annotated[
        str | None, typer.Option(help="Release tag (or commit) to upgrade to; default: the newest release.")
    ] = None,
    conflict: Annotated[
        str, typer.Option(help="How colliding local edits are left: inline (<<<<<<< blocks) or rej (<file>.rej).")
    ] = "inline",
) -> None:
    """Upgrade this fork to a blueprint release; fork-owned files stay as they are, conflicts are named.

    Refuses a work tree with uncommitted changes. Runs the same as
    `copier update --trust --defaults --skip-answered --conflict inline [--vcs-ref TAG]`.
    Exit status 1 when a local edit conflicted: resolve the files it names, then `make test`.
    """
    from mlops.upgrade import copier_command, current_release, require_clean
    from mlops.upgrade import upgrade as run_upgrade
    from mlops.workspace import root

    if conflict not in ("inline", "rej"):
        raise UserError(f"--conflict {conflict}: must be inline or rej")
    mode: Literal["inline", "rej"] = "inline" if conflict == "inline" else "rej"
    fork = root()
    current_release(fork)
    require_clean(fork)
    console.print(f"running: {shlex.join(copier_command(to, mode))}")
    outcome = run_upgrade(fork, to, mode)
    console.print(
        f"upgraded from {outcome.before.ref} to {outcome.after.ref} ({outcome.after.source}): "
        f"{len(outcome.changed)} files changed; fork-owned files untouched"
    )
    if outcome.conflicts:
        raise UserError(
            f"{len(outcome.conflicts)} files conflicted with your local edits: {', '.join(outcome.conflicts)}; "
            "keep one side of each <<<<<<< block (or apply the .rej hunks), then "
            "`mlops policy config && mlops policy docs`, `make test` and commit"
        )
    console.print(
        "next: review `git diff`, read CHANGELOG.md's upgrade notes, regenerate the policy files from the merged "
        "rules and your levels (`mlops policy config && mlops policy docs`), `make test`, then commit"
    )
