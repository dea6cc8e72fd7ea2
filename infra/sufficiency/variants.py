"""The plans the sufficiency suite evaluates: every shipped stack and every variant of the program.

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

import yaml

from infra.plan.evaluate import PROJECT_ROOT, evaluate_stack
from kernel import StackConfig, load_stack_file, stack_file
from kernel.plan import Plan

SHIPPED = ("dev", "staging", "prod")
PACKAGE = "arn:aws:sagemaker:eu-west-1:111111111111:model-package/mlops-dev-churn/7"
"""A package of dev's registry, as a promotion pins it in every environment."""
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
            "mlops:training": {"tracking": {"enabled": True, "kind": "server", "serverSize": "Small"}},
        },
        "serverless serving with a pinned model; the promotion hook (EventBridge connection, API destination) "
        "and the awskms secrets provider that holds its token; an MLflow tracking server (tracking is dev's only)",
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
        },
        "realtime serving with an A/B challenger; the sharded drift pipeline (tallies on 3 instances, one merge)",
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
        },
        "realtime serving with a shadow variant; the Model Monitor backend",
    ),
)


def variant_settings(variant: Variant, root: Path = PROJECT_ROOT) -> dict[str, Any]:
    """The variant's stack file settings: the shipped ones, with the variant's replaced."""
    document = yaml.safe_load((root / f"Pulumi.{variant.stack}.yaml").read_text(encoding="utf-8"))
    settings: dict[str, Any] = copy.deepcopy(document["config"])
    for key, value in variant.settings.items():
        if isinstance(value, dict) and isinstance(settings.get(key), dict):
            settings[key] = {**settings[key], **value}
        else:
            settings[key] = value
    return settings


def variant_plan(variant: Variant, root: Path = PROJECT_ROOT) -> tuple[Plan, StackConfig]:
    """Plan the variant offline (the shipped stack file with its settings replaced, in a scratch project)."""
    with tempfile.TemporaryDirectory(prefix=f"mlops-{variant.name}-") as scratch:
        project = Path(scratch)
        (project / "Pulumi.yaml").write_text((root / "Pulumi.yaml").read_text(encoding="utf-8"), encoding="utf-8")
        path = project / f"Pulumi.{variant.stack}.yaml"
        path.write_text(yaml.safe_dump({"config": variant_settings(variant, root)}, sort_keys=False), encoding="utf-8")
        return evaluate_stack(variant.stack, project), load_stack_file(path)


def all_plans(root: Path = PROJECT_ROOT) -> dict[str, tuple[Plan, StackConfig]]:
    """Every shipped stack and every variant, by name, with its validated stack file."""
    plans = {stack: (evaluate_stack(stack, root), load_stack_file(stack_file(stack, root))) for stack in SHIPPED}
    plans |= {variant.name: variant_plan(variant, root) for variant in VARIANTS}
    return plans
