"""The review deploy role's proofs: it can deploy and destroy a review stack, and nothing of any project's.

Sufficiency: a review stack's plan (infra/plan/review.py) is evaluated beside dev's platform, and every row
`pulumi up`, `pulumi destroy` and the refresh of the review's resources need (the CloudFormation handler
permissions, as for every deploy role: requirements.py) is asked of dev's `github-review` role, with its trust for
the pull request subject. The rows of the review's own execution roles (its pipeline's steps) are asked too.

Denial: every row a project's deploy role needs on that project's own resources in dev (its names, keys, tags and
state: the isolation proof's notion of ownership) is asked of `github-review`: all must be denied. So are its
trust for the subjects of a push to main and of a deploy environment.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from infra.components.identity import REVIEW_ROLE
from infra.plan.evaluate import PROJECT_ROOT, evaluate_stack
from infra.plan.review import evaluate_review
from infra.sufficiency.documents import BOOTSTRAP_ADMIN, PLATFORM, Documents, documents
from infra.sufficiency.hand_rows import OIDC_PROVIDER, StackFacts
from infra.sufficiency.isolation import _as, _with_tags, owned_by, resource_tags
from infra.sufficiency.pipeline_steps import pipeline_requirements
from infra.sufficiency.programs import program_plan
from infra.sufficiency.requirements import Requirement, dedupe, deployer_requirements
from infra.sufficiency.simulate import ALLOWED, NOT_EVALUATED, Outcome, evaluate_many
from kernel.models import StackConfig
from kernel.plan import Plan
from kernel.review import REVIEW_ENVIRONMENT, SWEEP_ENVIRONMENT, ReviewStack, review_view
from kernel.views import project_view

PROJECT_DEPLOYERS = ("github-deploy", "github-preview")
"""The principals a project stack's deploy rows name; a review's are all dev's review role."""
REVIEWER = f"{PLATFORM}/{REVIEW_ROLE}"


@dataclass(frozen=True)
class ReviewProof:
    """What the review role was asked, and the verdicts."""

    sufficiency: list[Outcome]
    """Rows a review stack needs: each must be allowed."""
    denials: list[Outcome]
    """Rows of the projects' own stacks, and foreign trust subjects, asked of the review role: each must be denied."""

    @property
    def refused(self) -> list[Outcome]:
        """Needed rows the review role (or a review's own role) cannot do."""
        return [outcome for outcome in self.sufficiency if not outcome.allowed]

    @property
    def leaked(self) -> list[Outcome]:
        """Project rows (or foreign subjects) the review role is not denied."""
        return [outcome for outcome in self.denials if outcome.decision in (ALLOWED, NOT_EVALUATED)]


def _trust(docs: Documents, subject: str, needed_by: str) -> Requirement:
    context = {
        "_principal": f"arn:aws:iam::{docs.account}:oidc-provider/{OIDC_PROVIDER}",
        f"{OIDC_PROVIDER}:sub": subject,
        f"{OIDC_PROVIDER}:aud": "sts.amazonaws.com",
    }
    return Requirement(
        principal=f"github-oidc -> {REVIEW_ROLE}",
        action="sts:AssumeRoleWithWebIdentity",
        resource=REVIEW_ROLE,
        needed_by=f"{needed_by} [sub {subject}]",
        source="GitHub docs, 'About security hardening with OpenID Connect', example subject claims",
        context=tuple(sorted(context.items())),
        trust=True,
    )


def review_rows(plan: Plan, review: ReviewStack, docs: Documents, repo: str) -> tuple[Documents, list[Requirement]]:
    """The review's view (its deploy rows signed by the review role) and every row its stack needs."""
    view = docs.program(review.scope)
    reviewer = view.principals[REVIEWER]
    view = replace(view, principals={**view.principals, REVIEW_ROLE: reviewer})
    part = program_plan(plan, review.scope)
    rows = [
        replace(row, principal=REVIEW_ROLE) if row.principal in PROJECT_DEPLOYERS else row
        for row in deployer_requirements(part, _signed_by_reviewer(view)) + pipeline_requirements(part, view)
        if row.principal != BOOTSTRAP_ADMIN
    ]
    platform = docs.program(None)
    trust = [
        _trust(platform, f"{repo}:pull_request", "review-stack.yml (pull_request): pulumi up and destroy"),
        _trust(platform, f"{repo}:environment:{SWEEP_ENVIRONMENT}", "review-sweep.yml (schedule): pulumi destroy"),
    ]
    return view, [*dedupe(rows), *trust]


def _signed_by_reviewer(view: Documents) -> Documents:
    """The review's view in which the deploy and preview roles a project's rows name are the review role."""
    reviewer = view.principals[REVIEW_ROLE]
    return replace(view, principals={**view.principals, **dict.fromkeys(PROJECT_DEPLOYERS, reviewer)})


def review_proof(review: ReviewStack, root: Path = PROJECT_ROOT, environment: Plan | None = None) -> ReviewProof:
    """Evaluate both proofs for one review stack of dev, beside dev's own project stacks, in one simulator batch.

    `environment` is dev's plan (platform and projects) when the caller has it already; planned here otherwise.
    """
    config, _ = review_view(root, review)
    repo = f"repo:{config.identity.github.org}/{config.identity.github.repo}"
    review_plan = evaluate_review(review, root, with_platform=True)
    docs = documents(review_plan, namespace=review.stack)
    view, needed = review_rows(review_plan, review, docs, repo)
    environment = environment or evaluate_stack(REVIEW_ENVIRONMENT, root)
    env_docs = documents(environment, namespace=REVIEW_ENVIRONMENT)
    parts: list[tuple[Documents, list[Requirement]]] = [(view, needed)]
    for project in environment.projects:
        parts.append(_project_denials(environment, env_docs, project, project_view(root, REVIEW_ENVIRONMENT, project)))
    platform = env_docs.program(None)
    parts.append(
        (
            platform,
            [
                _trust(platform, f"{repo}:ref:refs/heads/main", "a push or schedule on main"),
                _trust(platform, f"{repo}:environment:{REVIEW_ENVIRONMENT}", "a job of the dev environment"),
            ],
        )
    )
    outcomes = evaluate_many(parts)
    return ReviewProof(sufficiency=outcomes[0], denials=[o for found in outcomes[1:] for o in found])


def _project_denials(
    plan: Plan, docs: Documents, project: str, config: StackConfig
) -> tuple[Documents, list[Requirement]]:
    """A project's deploy rows on its own resources, asked of the review role (as the isolation proof asks)."""
    facts = StackFacts.of(config)
    part = program_plan(plan, project)
    view = docs.program(project)
    outputs = plan.outputs.get("projects", {}).get(project, {})
    keys = {str(arn) for arn in outputs.get("key_arns", {}).values()} | {str(outputs.get("tracking_arn") or "")}
    keys.discard("")
    tags = resource_tags(plan, docs, part)
    rows = []
    for row in deployer_requirements(part, view):
        if row.principal not in PROJECT_DEPLOYERS or row.unresolved or row.resource_side_only:
            continue
        if owned_by(row.resource, facts, keys):
            rows.append(_as(_with_tags(row, tags, facts.name_base), REVIEWER, view))
    return view, dedupe(rows)
