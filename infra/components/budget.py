"""Monthly budgets, the environment's and each project's: actual and forecast alerts to the alerts topic.

Cost allocation tags are activated once, by the platform: a project's spend is allocated by its `project` tag.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from kernel.naming import Naming


@dataclass(frozen=True)
class BudgetArgs:
    """Inputs of `Budget`."""

    naming: Naming
    tags: Mapping[str, str]
    monthly_usd: float
    alert_percents: Sequence[int]
    alerts_topic_arn: pulumi.Input[str]
    cost_allocation_tags: Sequence[str]
    """Tag keys to activate for cost allocation (empty in member accounts of an organisation)."""


def budget_filter(naming: Naming) -> str:
    """What a budget counts, as an AWS Budgets `TagKeyValue` filter (`user:<tag key>$<value>`).

    The platform's budget counts the environment's spend (its account's whole environment), a project's its own.
    """
    if naming.project:
        return f"user:project${naming.project}"
    return f"user:environment${naming.environment}"


class Budget(pulumi.ComponentResource):
    """A cost budget of the environment (the platform's) or of one project, alerting on actual and forecast spend."""

    def __init__(self, name: str, args: BudgetArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:cost:Budget", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        activated = [
            aws.costexplorer.CostAllocationTag(f"{name}-tag-{key}", tag_key=key, status="Active", opts=child)
            for key in args.cost_allocation_tags
        ]
        aws.budgets.Budget(
            f"{name}-monthly",
            name=args.naming.resource("monthly"),
            budget_type="COST",
            limit_amount=f"{args.monthly_usd:.2f}",
            limit_unit="USD",
            time_unit="MONTHLY",
            cost_filters=[{"name": "TagKeyValue", "values": [budget_filter(args.naming)]}],
            notifications=[
                {
                    "comparison_operator": "GREATER_THAN",
                    "threshold": percent,
                    "threshold_type": "PERCENTAGE",
                    "notification_type": kind,
                    "subscriber_sns_topic_arns": [args.alerts_topic_arn],
                }
                for percent in args.alert_percents
                for kind in ("ACTUAL", "FORECASTED")
            ],
            tags=dict(args.tags),
            opts=pulumi.ResourceOptions(parent=self, depends_on=activated),
        )
        self.register_outputs({})
