"""Which regions a stack may use, and the availability zones each has: data shipped with the blueprint.

A region must offer SageMaker (botocore's endpoint data), have its zones listed in `zones.json`
(DescribeAvailabilityZones as moto's EC2 backend records it; the source and version are in the file)
and have prices in `kernel/prices.yaml`, so that no budget ever passes on an unpriced estimate.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from kernel import yaml_text

ZONES = Path(__file__).with_name("zones.json")
PRICES = Path(__file__).with_name("prices.yaml")


@cache
def sagemaker_regions() -> frozenset[str]:
    """Regions where SageMaker is offered, from botocore's bundled endpoint data (no network)."""
    import botocore.session

    return frozenset(botocore.session.get_session().get_available_regions("sagemaker"))


@cache
def region_zones() -> dict[str, tuple[str, ...]]:
    """The availability zone names of every SageMaker region (zones.json)."""
    document = json.loads(ZONES.read_text(encoding="utf-8"))
    return {region: tuple(zones) for region, zones in document["regions"].items()}


@cache
def priced_regions() -> tuple[str, ...]:
    """Regions the cost estimate has prices for (kernel/prices.yaml)."""
    document = yaml_text.load(PRICES.read_text(encoding="utf-8"))
    return tuple(sorted(document["regions"]))


def region_problem(region: str) -> str | None:
    """Why a stack cannot use `region`, with the fix; None when it can."""
    if region not in sagemaker_regions():
        return f"{region!r} is not a region where SageMaker is offered (e.g. eu-west-1, us-east-1)"
    if region not in priced_regions():
        return (
            f"{region!r} has no prices in kernel/prices.yaml, so no budget could be checked: add the region's "
            f"prices there (with their source and date) or use a priced region ({', '.join(priced_regions())})"
        )
    return None


def zone_problem(zone: str, region: str) -> str | None:
    """Why `zone` cannot hold a subnet of a stack in `region`; None when it can."""
    zones = region_zones().get(region, ())
    if zone in zones:
        return None
    return f"{zone!r} is not an availability zone of {region} (it has {', '.join(zones)})"
