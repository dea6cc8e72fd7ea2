"""Dev's review deploy role: it can deploy and destroy a review stack, and is denied every project's resources.

The verdicts are the IAM simulator's (@cloud-copilot/iam-simulate, tools/iam-simulate) over the documents of the
plans, as in the sufficiency and isolation proofs; the needed rows come from the CloudFormation handler permissions
(cfn-lint 1.58.0's schemas, infra/sufficiency/cfn_permissions.json) of every resource a review stack plans.
"""

from __future__ import annotations

import json

import pytest

from infra.sufficiency.review import ReviewProof, review_proof
from kernel.plan import Plan
from kernel.review import review_stack
from tests.helpers import FIXTURE_STACKS

REPO = "repo:example-org/mlops-platform"


@pytest.fixture(scope="module")
def proof(plans: dict[str, Plan]) -> ReviewProof:
    return review_proof(review_stack("churn", 12), FIXTURE_STACKS, plans["dev"])


def test_the_review_role_can_do_everything_a_review_stack_needs(proof: ReviewProof) -> None:
    assert [outcome.describe() for outcome in proof.refused] == []
    actions = {outcome.requirement.action for outcome in proof.sufficiency}
    # create, update and destroy: keys are deleted (no retention in a review), roles and buckets removed
    assert {"kms:ScheduleKeyDeletion", "iam:DeleteRole", "s3:DeleteBucket", "sagemaker:DeletePipeline"} <= actions
    assert "sts:AssumeRoleWithWebIdentity" in actions


def test_the_review_role_is_denied_every_projects_own_resources(proof: ReviewProof) -> None:
    """Churn-dev's deploy rows on churn's names, keys, tags and state, asked of the review role: all denied."""
    assert [outcome.describe() for outcome in proof.leaked] == []
    asked = {outcome.requirement.action.split(":")[0] for outcome in proof.denials}
    assert {"kms", "iam", "s3", "sagemaker", "sts"} <= asked
    assert len(proof.denials) > 500
    subjects = {dict(o.requirement.context).get("token.actions.githubusercontent.com:sub") for o in proof.denials}
    assert {f"{REPO}:ref:refs/heads/main", f"{REPO}:environment:dev"} <= subjects


def test_only_devs_platform_has_the_review_role_trusted_by_pull_requests_and_the_sweep(plans: dict[str, Plan]) -> None:
    for stack, plan in plans.items():
        roles = [r for r in plan.of_type("aws:iam/role:Role") if r.inputs["name"].endswith("-github-review")]
        assert len(roles) == (stack == "dev"), stack
    [role] = [r for r in plans["dev"].of_type("aws:iam/role:Role") if r.inputs["name"] == "mlops-dev-github-review"]
    [statement] = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert statement["Condition"]["StringEquals"]["token.actions.githubusercontent.com:sub"] == [
        f"{REPO}:pull_request",
        f"{REPO}:environment:review-sweep",
    ]
