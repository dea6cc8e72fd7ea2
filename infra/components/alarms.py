"""CloudWatch alarm settings the serving and monitoring components share."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi

PERIOD = 300
"""Seconds per alarm period, unless a caller needs faster reactions (rollback alarms)."""


def metric_settings(
    namespace: str, metric: str, dimensions: Mapping[str, pulumi.Input[str]], *, period: int = PERIOD, **stat: str
) -> dict[str, Any]:
    """MetricAlarm settings for one metric: 2 of 3 periods above the threshold alarm."""
    return {
        "namespace": namespace,
        "metric_name": metric,
        "dimensions": dict(dimensions),
        "period": period,
        "evaluation_periods": 3,
        "datapoints_to_alarm": 2,
        "comparison_operator": "GreaterThanThreshold",
        **stat,
    }


def rate_settings(
    metric: str, dimensions: Mapping[str, pulumi.Input[str]], percent: float, *, period: int = PERIOD
) -> dict[str, Any]:
    """MetricAlarm settings for `metric` as a share (%) of invocations, with metric math."""

    def query(query_id: str, name: str) -> dict[str, Any]:
        return {
            "id": query_id,
            "metric": {
                "namespace": "AWS/SageMaker",
                "metric_name": name,
                "dimensions": dict(dimensions),
                "period": period,
                "stat": "Sum",
            },
        }

    return {
        "metric_queries": [
            query("errors", metric),
            query("invocations", "Invocations"),
            {"id": "rate", "expression": "IF(invocations > 0, 100 * errors / invocations, 0)", "return_data": True},
        ],
        "threshold": percent,
        "comparison_operator": "GreaterThanThreshold",
        "evaluation_periods": 3,
        "datapoints_to_alarm": 2,
    }
