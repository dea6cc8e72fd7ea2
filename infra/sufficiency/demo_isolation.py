"""A handful of cross-project requests for `make demo`: one team's roles on the other team's model.

The full proof (every row each project needs, denied to every other project) is the sufficiency suite's; the
demo shows the idea on a few requests a reader recognises, evaluated the same way: the planned policies, by the
maintained IAM simulator. Each request is paired with the same request on the principal's own project, which
must be allowed, so a denial is the fence at work rather than a role that can do nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from itertools import permutations
from pathlib import Path

from infra.sufficiency.documents import documents
from infra.sufficiency.requirements import Requirement, principal_context
from infra.sufficiency.simulate import evaluate
from kernel.naming import MODEL_NAME
from kernel.plan import Plan

SOURCE = "mlops demo: isolation"


@dataclass(frozen=True)
class Decision:
    """One request and the simulator's verdict."""

    principal: str
    """The role's key after its environment: `<project>-<role>` (`churn-data-scientist`)."""
    action: str
    resource: str
    decision: str
    own: bool
    """True for the control: the same request on the principal's own project."""


def _requests(plan: Plan, actor: str, owner: str) -> list[tuple[str, str, str, dict[str, str]]]:
    """(principal, action, resource, context) of `actor`'s roles on `owner`'s model, data and pipeline."""
    outputs = plan.outputs["projects"][owner]
    account, region = outputs["role_arns"]["jobs"].split(":")[4], _region(plan)
    group = outputs["model_package_group"]
    package = f"arn:aws:sagemaker:{region}:{account}:model-package/{group}/1"
    artifacts = f"arn:aws:s3:::{outputs['bucket_names']['artifacts']}/pipelines/training/model.tar.gz"
    pipeline = f"arn:aws:sagemaker:{region}:{account}:pipeline/{outputs['training_pipeline_name']}"
    tags = {"aws:ResourceTag/project": owner, "aws:ResourceTag/environment": plan.stack}
    assert group.endswith(f"-{MODEL_NAME}"), group
    return [
        (f"{actor}/data-scientist", "sagemaker:DescribeModelPackage", package, tags),
        (f"{actor}/ml-engineer", "sagemaker:StartPipelineExecution", pipeline, tags),
        (f"{actor}/jobs", "s3:GetObject", artifacts, {}),
    ]


def _region(plan: Plan) -> str:
    trail = str(plan.outputs["trail_arn"])
    return trail.split(":")[3]


def cross_project_decisions(plan: Plan, root: Path) -> list[Decision]:
    """Each project's roles on every other project's resources (denied) and on their own (allowed)."""
    del root  # the plan carries everything; kept for symmetry with the other demo stages
    projects = plan.projects
    pairs = [(a, b) for a, b in permutations(projects, 2)] + [(a, a) for a in projects]
    rows: list[Requirement] = []
    owners: list[bool] = []
    for actor, owner in pairs:
        for principal, action, resource, context in _requests(plan, actor, owner):
            rows.append(
                Requirement(
                    principal=principal,
                    action=action,
                    resource=resource,
                    needed_by=f"{owner}'s {action.split(':')[1]}",
                    source=SOURCE,
                    context=tuple(sorted(context.items())),
                )
            )
            owners.append(actor == owner)
    docs = documents(plan)
    rows = [
        replace(
            row,
            context=tuple(sorted({**principal_context(docs, row.principal, row.action), **dict(row.context)}.items())),
        )
        for row in rows
    ]
    outcomes = evaluate(docs, rows)
    return [
        Decision(row.principal.replace("/", "-"), row.action, row.resource, outcome.decision, own)
        for row, outcome, own in zip(rows, outcomes, owners, strict=True)
    ]
