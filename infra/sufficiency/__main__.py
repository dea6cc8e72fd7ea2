"""`python -m infra.sufficiency`: plan every environment and variant, prove sufficiency and isolation, print both.

Sufficiency: allowed / not evaluated / required per plan, program and principal, then every row that is not
allowed (what `tests/sufficiency` asserts against known_gaps.yaml). Isolation: per environment and principal
kind, the cross-project requests allowed and denied (every one must be denied), then every one not denied.
"""

from __future__ import annotations

from infra.sufficiency.hand_rows import StackFacts
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


if __name__ == "__main__":
    main()
