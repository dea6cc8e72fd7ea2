"""`mlops review ...`: what the review-stack workflows need, computed offline (kernel/review.py).

`stack-name` names a pull request's review stack of a project; `config` validates its cheap profile and writes its
Pulumi stack file; `report` plans it offline and writes the policy check and cost estimate as the pull request's
comment; `cost` prints its idle cost per day; `sweep` selects the review stacks to destroy.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from mlops.console import UserError, console
from mlops.project_context import ProjectOption, project_name

if TYPE_CHECKING:
    from kernel.plan import Plan
    from kernel.review import ReviewStack

app = typer.Typer(help="Review stacks: one per pull request and project, in dev, on a cheap profile.")

PrOption = Annotated[int, typer.Option("--pr", help="The pull request's number.")]
COMMENT_MARKER = "<!-- mlops-review-stack -->"
"""The first line of the review comment: the workflow finds and updates its own comment by it."""
PROJECT_BUCKETS = ("raw", "features", "artifacts", "capture", "monitoring")
"""The buckets of a project stack (infra/project/__main__.py): S3's 63 characters bind review names first."""


def _root() -> Path:
    from mlops.workspace import root

    return root()


def _review(pr: int, project: str | None) -> ReviewStack:
    from kernel.review import review_stack

    return review_stack(project_name(_root(), project), pr)


def check_names(root: Path, review: ReviewStack) -> None:
    """Refuse a review whose names would break an AWS length rule (`NamingError` says which and by how much)."""
    from infra.components.endpoint import DIGEST_LENGTH, SERVERLESS_MODEL
    from kernel import load_stack_file, stack_file
    from kernel.naming import MODEL_NAME, Naming, NamingError
    from kernel.review import REVIEW_ENVIRONMENT

    config = load_stack_file(stack_file(REVIEW_ENVIRONMENT, root))
    naming = Naming(config.name_prefix, config.environment, config.account_id, config.region, review.scope)
    try:
        for purpose in PROJECT_BUCKETS:
            naming.bucket(purpose)
        naming.sagemaker(f"{MODEL_NAME}-{SERVERLESS_MODEL}-{'0' * DIGEST_LENGTH}")  # the serving model's, digested
        naming.iam("feature-store")
    except NamingError as error:
        raise UserError(
            f"review stack {review.stack}: {str(error).split(';')[0]}; a review adds `{review.scope}-` in place of "
            f"`{review.project}-` to every name: review this change in a project with a shorter name, or shorten "
            "`mlops:namePrefix`"
        ) from None


@app.command("stack-name")
def stack_name(pr: PrOption, project: ProjectOption = None) -> None:
    """Print the review stack of the pull request and project: `<project>-dev-pr<N>`."""
    review = _review(pr, project)
    check_names(_root(), review)
    console.print(review.stack, soft_wrap=True)


@app.command("role-arn")
def role_arn() -> None:
    """Print dev's review deploy role (`<prefix>-dev-github-review`): pull request jobs and the sweep assume it."""
    from infra.components.identity import REVIEW_ROLE
    from kernel import load_stack_file, stack_file
    from kernel.naming import Naming
    from kernel.review import REVIEW_ENVIRONMENT

    dev = load_stack_file(stack_file(REVIEW_ENVIRONMENT, _root()))
    naming = Naming(dev.name_prefix, dev.environment, dev.account_id, dev.region)
    console.print(f"arn:aws:iam::{dev.account_id}:role/{naming.iam(REVIEW_ROLE)}", soft_wrap=True)


@app.command("secrets-provider")
def secrets_provider() -> None:
    """Print the secrets provider a new review stack is created with: dev's KMS key, or an empty passphrase.

    A review stack holds no secret (the promotion hook's token is never read there); `awskms://` when dev's stack
    file names `mlops:identity.secretsKeyArn`, so its stacks share one provider.
    """
    from kernel import load_stack_file, stack_file
    from kernel.review import REVIEW_ENVIRONMENT

    dev = load_stack_file(stack_file(REVIEW_ENVIRONMENT, _root()))
    key = dev.identity.secrets_key_arn
    console.print(f"awskms://{key}?region={dev.region}" if key else "passphrase", soft_wrap=True)


@app.command()
def config(pr: PrOption, project: ProjectOption = None) -> None:
    """Validate the review's cheap profile, write its stack file (`projects/Pulumi.<stack>.yaml`), print the profile.

    The profile is the project's dev settings with serverless serving at its smallest, no online store, no
    scheduled retraining and a small budget, on dev's platform (its network and keys by StackReference).
    """
    import yaml

    from kernel.projects import PROJECTS_DIR
    from kernel.review import review_view

    review = _review(pr, project)
    check_names(_root(), review)
    view, _ = review_view(_root(), review)
    path = _root() / PROJECTS_DIR / f"Pulumi.{review.stack}.yaml"
    header = (
        f"# Written by `mlops review config`: the review stack of {review.project} for pull request #{review.pr}.\n"
        "# Its settings: dev's stack file, the project's dev sections and the review profile (kernel/review.py).\n"
    )
    path.write_text(header + yaml.safe_dump({"config": {"aws:region": view.region}}), encoding="utf-8")
    serving = view.serving
    console.print(f"stack: {review.stack} (stack file {PROJECTS_DIR}/{path.name})", soft_wrap=True)
    console.print(
        f"serving: {serving.mode}, {serving.serverless.memory_size_mb} MB, concurrency "
        f"{serving.serverless.max_concurrency}; online store: {view.feature_store.online_store}; "
        f"retrain schedule: {view.monitoring.retrain_schedule or 'none'}; retrain on drift: "
        f"{view.monitoring.retrain_on_drift}; budget: {view.cost.monthly_budget_usd:.0f} USD/month; "
        f"teardown: {view.teardown}",
        soft_wrap=True,
    )


@app.command()
def cost(pr: PrOption, project: ProjectOption = None) -> None:
    """Plan the review stack offline and print its idle cost per day and per month (`mlops cost`'s price table)."""
    review = _review(pr, project)
    idle, usage, date = _estimate(review)
    console.print(
        f"{review.stack}: idle {idle / 30:.2f} USD/day ({idle:.2f} USD/month), usage at the profile's expected "
        f"volume {usage:.2f} USD/month; prices of {date}",
        soft_wrap=True,
    )


@app.command()
def report(
    pr: PrOption,
    out: Annotated[Path, typer.Option(help="Write the pull request comment (Markdown) here.")],
    project: ProjectOption = None,
) -> None:
    """Plan the review stack offline, check it with the policy pack and price it: the pull request's comment.

    Exits 1 when a mandatory rule is broken (the comment is written first, so the workflow can post it).
    """
    from infra.plan.review import evaluate_review
    from kernel.review import review_view
    from policies.check import check_plan

    review = _review(pr, project)
    plan = evaluate_review(review, _root())
    view, _ = review_view(_root(), review)
    violations = check_plan(plan, view, {review.scope: view})
    idle, usage, date = _estimate(review, plan)
    mandatory = [v for v in violations if v.level == "mandatory"]
    lines = [
        COMMENT_MARKER,
        f"### Review stack `{review.stack}`",
        "",
        f"- resources: {len(plan.resources)}, in dev, named `{view.name_prefix}-dev-{review.scope}-*`",
        f"- policy pack: {len(mandatory)} mandatory, {len(violations) - len(mandatory)} advisory violations",
        *[f"  - {v.level} `{v.rule.id}`: {v.message}" for v in violations],
        f"- idle cost: {idle / 30:.2f} USD/day ({idle:.2f} USD/month); usage at the profile's volume "
        f"{usage:.2f} USD/month (prices of {date})",
        "- destroyed when this pull request closes, merged or not; a daily sweep removes any left behind",
    ]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    console.print(f"review comment: {out}", soft_wrap=True)
    if mandatory:
        raise UserError(f"{review.stack}: {len(mandatory)} mandatory policy violation(s); see {out}")


def _estimate(review: ReviewStack, plan: Plan | None = None) -> tuple[float, float, str]:
    """The review plan's monthly idle and usage totals, and the price table's date."""
    from infra.cost.environment import estimate_environment
    from infra.plan.review import evaluate_review
    from kernel.review import review_view

    view, _ = review_view(_root(), review)
    planned = plan if plan is not None else evaluate_review(review, _root())
    part = estimate_environment(planned, view, {review.scope: view}).projects[review.scope]
    return part.total("idle"), part.total("usage"), part.price_date


@app.command("sweep")
def sweep_command(
    stacks: Annotated[Path, typer.Option(help="`pulumi stack ls --json` of projects/ (the review stacks' project).")],
    open_prs: Annotated[Path, typer.Option("--open-prs", help="`gh pr list --state open --json number`.")],
    now: Annotated[str, typer.Option(help="The time to judge ages by (RFC 3339, UTC), e.g. 2026-11-29T03:00:00Z.")],
    ttl_hours: Annotated[float, typer.Option(help="Destroy a review stack not updated for this long.")] = 72,
    pr: Annotated[int | None, typer.Option("--pr", help="Only this pull request's review stacks.")] = None,
) -> None:
    """Print, as a JSON list, the review stacks to destroy: their pull request is not open, or they outlived the TTL.

    Only stacks named as review stacks (`<project>-dev-pr<N>`) are ever listed; every other stack is left alone.
    """
    from kernel.review import sweep

    if ttl_hours <= 0:
        raise UserError(f"--ttl-hours {ttl_hours}: give a positive number of hours")
    try:
        moment = datetime.fromisoformat(now.replace("Z", "+00:00"))
    except ValueError:
        raise UserError(f"--now {now!r} is not an RFC 3339 time; pass e.g. 2026-11-29T03:00:00Z") from None
    listed = _json_list(
        stacks, "--stacks", "pulumi stack ls --json", lambda item: isinstance(item, dict) and "name" in item
    )
    prs = _json_list(
        open_prs,
        "--open-prs",
        "gh pr list --state open --json number",
        lambda item: isinstance(item, int) or (isinstance(item, dict) and isinstance(item.get("number"), int)),
    )
    numbers = [item["number"] if isinstance(item, dict) else item for item in prs]
    when = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    try:
        selected = sweep(listed, numbers, when, timedelta(hours=ttl_hours))
    except ValueError as error:
        raise UserError(f"--stacks {stacks}: a lastUpdate is not an RFC 3339 time ({error})") from None
    chosen = [c for c in selected if pr is None or c.pr == pr]
    console.print(json.dumps([{"stack": c.stack, "pr": c.pr, "reason": c.reason} for c in chosen]), soft_wrap=True)


def _json_list(path: Path, option: str, producer: str, valid: Callable[[Any], bool]) -> list[Any]:
    """A JSON list of `valid` items from `path`, or a `UserError` naming the option and the command that writes it."""
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise UserError(f"{option} {path}: not readable JSON ({error}); write it with `{producer}`") from None
    if not isinstance(value, list) or not all(valid(item) for item in value):
        raise UserError(f"{option} {path}: not the JSON list `{producer}` writes")
    return value
