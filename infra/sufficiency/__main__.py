"""`python -m infra.sufficiency`: plan every stack and variant, evaluate every required row, print the tally.

Prints allowed / not evaluated / required per plan and principal, then every row that is not allowed,
one line each (what `tests/sufficiency` asserts against known_gaps.yaml).
"""

from __future__ import annotations

from infra.sufficiency.hand_rows import StackFacts
from infra.sufficiency.simulate import summary
from infra.sufficiency.suite import run
from infra.sufficiency.variants import VARIANTS, all_plans


def main() -> None:
    """Run the suite and print its tally."""
    planned = all_plans()
    results = run(
        {name: plan for name, (plan, _) in planned.items()},
        {name: StackFacts.of(config) for name, (_, config) in planned.items()},
    )
    covers = {variant.name: f" ({variant.covers})" for variant in VARIANTS}
    for result in results:
        print(f"{result.name}{covers.get(result.name, '')}")
        for principal, (allowed, skipped, required) in summary(result.outcomes).items():
            print(f"  {principal:32} {allowed:5} allowed {skipped:3} not evaluated {required:5} required")
    for result in results:
        for outcome in result.outcomes:
            if not outcome.allowed:
                print(f"{result.name}: {outcome.describe()}")


if __name__ == "__main__":
    main()
