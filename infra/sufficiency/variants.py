"""The plans the sufficiency suite evaluates: every shipped environment and every variant of churn's settings.

A shipped environment's plan holds the platform and every project of the repository (churn and claims); each
program's rows are computed with its own config view (`program_views`).

A variant is a shipped stack file with a few settings changed, the way a user changes them: a model
pinned (each serving mode), an A/B challenger, a shadow variant, the Model Monitor backend, an MLflow
tracking server instead of an App, and the promotion hook (a dispatch token set). Each variant turns
on resources and roles the shipped stacks do not plan, so their permissions are proved too.
"""

from __future__ import annotations

import copy
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from infra.plan.evaluate import PROJECT_ROOT, evaluate_stack
from kernel import StackConfig, load_stack_file, stack_file
from kernel.loader import parse_settings, read_stack_file
from kernel.plan import Plan
from kernel.projects import load_project
from kernel.scratch import combined_view, write_view

SHIPPED = ("dev", "staging", "prod")
PACKAGE = "arn:aws:sagemaker:eu-west-1:111111111111:model-package/mlops-dev-churn-model/7"
"""A package of dev's registry, as a promotion pins it in every environment."""
VARIANT_PROJECT = "churn"
"""The project whose settings the variants change."""
SECRETS_KEY = "arn:aws:kms:eu-west-1:111111111111:key/0b5e1c2d-3e4f-4a5b-8c6d-7e8f9a0b1c2d"
"""The bootstrap admin's key of the awskms:// secrets provider (README, bootstrap step)."""


@dataclass(frozen=True)
class Variant:
    """A shipped stack with some settings replaced (top-level keys merged one level deep)."""

    name: str
    stack: str
    settings: dict[str, Any] = field(default_factory=dict)
    covers: str = ""


VARIANTS = (
    Variant(
        "dev-pinned-hook",
        "dev",
        {
            "mlops:serving": {"modelPackageArn": PACKAGE},
            "github:dispatchToken": "ghp_not-a-real-token",
            "mlops:identity": {"secretsKeyArn": SECRETS_KEY},
            "mlops:training": {
                "tracking": {"enabled": True, "kind": "server", "serverSize": "Small"},
                "preprocessInstanceCount": 3,
            },
        },
        "serverless serving with a pinned model; the promotion hook (EventBridge connection, API destination) "
        "and the awskms secrets provider that holds its token; an MLflow tracking server (tracking is dev's only); "
        "preprocess on 3 instances (Athena's latest-record UNLOAD, the sharded job, the lineage merge)",
    ),
    Variant(
        "staging-ab",
        "staging",
        {
            "mlops:serving": {
                "modelPackageArn": PACKAGE,
                "challengerModelPackageArn": PACKAGE[:-1] + "9",
                "challengerPercent": 25,
            },
            "mlops:monitoring": {"processingInstanceCount": 3},
            "mlops:featureStore": {"ingestion": {"engine": "spark", "instanceType": "ml.m5.large", "instanceCount": 2}},
        },
        "realtime serving with an A/B challenger; the sharded drift pipeline (tallies on 3 instances, one merge); "
        "Spark ingestion into both stores (the connector's PutRecord path)",
    ),
    Variant(
        "prod-shadow-model-monitor",
        "prod",
        {
            "mlops:serving": {
                "modelPackageArn": PACKAGE,
                "shadowModelPackageArn": PACKAGE[:-1] + "8",
                "shadowPercent": 20,
            },
            "mlops:monitoring": {"backend": "model-monitor"},
            "mlops:featureStore": {
                "ingestion": {"engine": "spark", "instanceType": "ml.m5.xlarge", "targetStores": ["OfflineStore"]}
            },
        },
        "realtime serving with a shadow variant; the Model Monitor backend; Spark ingestion writing the offline "
        "store's Iceberg table directly",
    ),
)


def variant_settings(variant: Variant, root: Path = PROJECT_ROOT) -> dict[str, Any]:
    """The variant's combined view: the shipped stack completed by churn's sections, with the variant's replaced."""
    settings = copy.deepcopy(combined_view(root, variant.stack, VARIANT_PROJECT))
    for key, value in variant.settings.items():
        if isinstance(value, dict) and isinstance(settings.get(key), dict):
            settings[key] = {**settings[key], **value}
        else:
            settings[key] = value
    return settings


Views = dict[str | None, StackConfig]
"""A plan's config views by program: the platform's (None) and each project's."""


def variant_plan(variant: Variant, root: Path = PROJECT_ROOT) -> tuple[Plan, Views]:
    """Plan the variant offline (the shipped files with its settings replaced, in a scratch repository)."""
    with tempfile.TemporaryDirectory(prefix=f"mlops-{variant.name}-") as scratch:
        project = Path(scratch)
        path = write_view(project, variant.stack, variant_settings(variant, root), VARIANT_PROJECT, root)
        plan = evaluate_stack(variant.stack, project)
        return plan, program_views(path, plan)


def project_view(path: Path, project: str) -> StackConfig:
    """One project's view of the stack file at `path` (its repository's project completes it)."""
    return parse_settings(read_stack_file(path), path.name, load_project(path.parent, project))


def program_views(path: Path, plan: Plan) -> Views:
    """Every program's view of the stack file at `path`: the platform's, and each project's the plan holds."""
    return {None: load_stack_file(path)} | {project: project_view(path, project) for project in plan.projects}


def shipped_plan(stack: str, root: Path = PROJECT_ROOT) -> tuple[Plan, Views]:
    """A shipped environment's plan (the platform and every project of `root`) and its programs' views."""
    plan = evaluate_stack(stack, root)
    return plan, program_views(stack_file(stack, root), plan)


def all_plans(root: Path = PROJECT_ROOT) -> dict[str, tuple[Plan, Views]]:
    """Every shipped environment and every variant, by name, with its programs' config views."""
    plans = {stack: shipped_plan(stack, root) for stack in SHIPPED}
    plans |= {variant.name: variant_plan(variant, root) for variant in VARIANTS}
    return plans
