"""`python -m infra.sufficiency`: plan every environment and variant, prove sufficiency and isolation, print both.

Then the review deploy role (infra/sufficiency/review.py): a review stack's needs, and dev's projects' resources.

Sufficiency: allowed / not evaluated / required per plan, program and principal, then every row that is not
allowed (what `tests/sufficiency` asserts against known_gaps.yaml). Isolation: per environment and principal
kind, the cross-project requests allowed and denied (every one must be denied), then every one not denied.
"""

from __future__ import annotations

from infra.plan.evaluate import PROJECT_ROOT
from infra.sufficiency.hand_rows import StackFacts
from infra.sufficiency.review import review_proof
from infra.sufficiency.simulate import summary
from infra.sufficiency.suite import run_suite
from infra.sufficiency.variants import VARIANTS, all_plans


def main() -> None:
    """Run the suite and print its two tallies."""
    planned = all_plans()
    suite = run_suite(
        {name: plan for name, (plan, _) in planned.items()},
        {name: {p: StackFacts.of(view) for p, view in views.items()} for name, (_, views) in planned.items()},
    )
    covers = {variant.name: f" ({variant.covers})" for variant in VARIANTS}
    print("Sufficiency: every principal can do its work")
    for result in suite.sufficiency:
        print(f"{result.label}{covers.get(result.name, '')}")
        for principal, (allowed, skipped, required) in summary(result.outcomes).items():
            print(f"  {principal:32} {allowed:5} allowed {skipped:3} not evaluated {required:5} required")
    for result in suite.sufficiency:
        for outcome in result.outcomes:
            if not outcome.allowed:
                print(f"{result.label}: {outcome.describe()}")
    print("Isolation: no project's principal can do what another project needs")
    for proof in suite.isolation:
        total = len(proof.crossings)
        denied = sum(crossing.denied for crossing in proof.crossings)
        print(f"{proof.environment}: {denied} of {total} denied ({proof.shared} rows on shared resources not asked)")
        for kind, (leaked, refused) in proof.tally().items():
            print(f"  {kind:32} {leaked:5} allowed {refused:5} denied")
    for proof in suite.isolation:
        for crossing in proof.crossings:
            if not crossing.denied:
                print(crossing.describe())
    _review()


def _review() -> None:
    """The review deploy role: what a review stack needs (all allowed), what dev's projects hold (all denied)."""
    from kernel.projects import project_names
    from kernel.review import review_stack

    review = review_stack(project_names(PROJECT_ROOT)[0], 1)
    proof = review_proof(review)
    print(f"Review stacks: dev's github-review role on {review.stack}")
    print(f"  needed  {len(proof.sufficiency) - len(proof.refused):5} allowed of {len(proof.sufficiency)}")
    print(f"  foreign {len(proof.denials) - len(proof.leaked):5} denied of {len(proof.denials)}")
    for outcome in [*proof.refused, *proof.leaked]:
        print(f"  {outcome.describe()}")


if __name__ == "__main__":
    main()
