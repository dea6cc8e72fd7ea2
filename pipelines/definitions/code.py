"""The step code a project's jobs run: the blueprint's step scripts and the project's `project.json`.

Whoever stages the code (the project program, with Pulumi) uploads exactly these files under one
content-addressed prefix, `code/<hash>/`: the hash covers every script and the project's spec, so the
prefix changes exactly when one of them does, and two projects never share a prefix (their specs differ).
Every step reads the spec through `--project-spec` (the pipeline definitions pass the mounted path).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from kernel.projects import ProjectSpec

STEPS_DIR = Path(__file__).resolve().parents[1] / "steps"
SPEC_FILE = "project.json"
"""The spec's name beside the scripts (the steps' `dataset.SPEC_FILE`)."""


def step_scripts(steps_dir: Path = STEPS_DIR) -> list[Path]:
    """The step scripts, sorted by name."""
    return sorted(steps_dir.glob("*.py"))


def code_hash(spec: ProjectSpec, steps_dir: Path = STEPS_DIR) -> str:
    """Content hash of the scripts and the project's spec (names and bytes)."""
    digest = hashlib.sha256()
    files = [(path.name, path.read_bytes()) for path in step_scripts(steps_dir)]
    for name, content in [*files, (SPEC_FILE, spec.to_json().encode("utf-8"))]:
        digest.update(name.encode() + b"\0" + content + b"\0")
    return digest.hexdigest()[:16]


def code_prefix(spec: ProjectSpec, steps_dir: Path = STEPS_DIR) -> str:
    """The key prefix (ending in `/`, in the artifacts bucket) of the project's staged step code."""
    return f"code/{code_hash(spec, steps_dir)}/"
