"""The offline plan of one review stack (kernel/review.py): the project program on dev's platform, cheap profile.

The dev platform's program is evaluated for its outputs (the review stack reads them by StackReference, as in
AWS); the plan holds the review stack's resources alone, so that policy checks and `mlops cost` judge exactly what
a pull request deploys (`with_platform` adds the platform's, for the IAM proofs). The review's resources belong to
the plan's project `pr-<N>-<project>` (its scope), apart from the project's own dev stack.
"""

from __future__ import annotations

from pathlib import Path

from infra.plan.evaluate import PROJECT_ROOT, _evaluate, _project_name
from kernel.loader import read_stack_file, stack_file
from kernel.plan import Plan
from kernel.program_stacks import PLATFORM_PROGRAM, PROJECT_PROGRAM, platform_stack_reference
from kernel.review import REVIEW_ENVIRONMENT, ReviewStack, review_view
from kernel.stack_set import check_project


def evaluate_review(review: ReviewStack, root: Path = PROJECT_ROOT, with_platform: bool = False) -> Plan:
    """Validate the review's settings, then plan its stack under mocks (`ConfigError` names file and key)."""
    config = check_project(REVIEW_ENVIRONMENT, root)
    review_view(root, review)  # the profile must validate before anything is registered
    values = read_stack_file(stack_file(REVIEW_ENVIRONMENT, root))
    platform = _evaluate(root, PLATFORM_PROGRAM, REVIEW_ENVIRONMENT, values, config.account_id, config.region, None, {})
    references = {platform_stack_reference(REVIEW_ENVIRONMENT): platform.outputs}
    run = _evaluate(root, PROJECT_PROGRAM, review.stack, {}, config.account_id, config.region, review.scope, references)
    outputs = {
        **{key: value for key, value in platform.outputs.items() if key != "projects"},
        "projects": {review.scope: run.outputs},
    }
    resources = [*run.records, *(platform.records if with_platform else [])]
    return Plan(
        stack=review.stack,
        project=_project_name(root),
        resources=sorted(resources, key=lambda resource: resource.urn),
        outputs=outputs,
    )
