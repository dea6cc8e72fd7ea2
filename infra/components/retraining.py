"""What starts retraining: EventBridge rules whose events start the training pipeline, or go to dev's bus.

Models are trained in one account (dev). A drift or model-quality event there starts its training pipeline;
in staging and prod the same event is sent to dev's event bus, where a rule per kind of forwarded event starts
the pipeline. Both `Monitoring` (data drift) and `ModelQuality` (ground truth) retrain through here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import pulumi
import pulumi_aws as aws

from kernel.naming import Naming


def alarm_pattern(arn: str) -> dict[str, Any]:
    """The alarm `arn` entering ALARM, as EventBridge delivers it."""
    return {
        "source": ["aws.cloudwatch"],
        "detail-type": ["CloudWatch Alarm State Change"],
        "resources": [arn],
        "detail": {"state": {"value": ["ALARM"]}},
    }


class RetrainingArgs(Protocol):
    """What a component's args say about retraining (`MonitoringArgs`, `ModelQualityArgs`)."""

    @property
    def naming(self) -> Naming:
        """The stack's names."""

    @property
    def tags(self) -> Mapping[str, str]:
        """The component's tags."""

    @property
    def automation_role_arn(self) -> pulumi.Input[str]:
        """The role EventBridge assumes to start the pipeline or to put events on dev's bus."""

    @property
    def training_pipeline_arn(self) -> pulumi.Input[str] | None:
        """The training pipeline of this account, where models are trained."""

    @property
    def training_bus_arn(self) -> pulumi.Input[str] | None:
        """Dev's event bus, from an account that serves but does not train."""


@dataclass(frozen=True)
class Retraining:
    """One component's retraining rules: names, tags and targets, created as the component's children."""

    parent: pulumi.Resource
    name: str
    """The component's logical name: each rule's is `<name>-<purpose>`."""
    naming: Naming
    tags: Mapping[str, str]
    automation_role_arn: pulumi.Input[str]
    training_pipeline_arn: pulumi.Input[str] | None
    """This account's training pipeline (where models are trained), else None."""
    training_bus_arn: pulumi.Input[str] | None
    """Dev's event bus, from an account that serves but does not train; else None."""

    @classmethod
    def of(cls, parent: pulumi.Resource, name: str, args: RetrainingArgs) -> Retraining:
        """The retraining rules of component `parent` (logical name `name`), from its args."""
        return cls(
            parent,
            name,
            args.naming,
            args.tags,
            args.automation_role_arn,
            args.training_pipeline_arn,
            args.training_bus_arn,
        )

    def on(self, purpose: str, what: str, event_pattern: pulumi.Input[str]) -> None:
        """`what` (the events of `event_pattern`) starts the training pipeline here, or goes to dev's bus."""
        if self.training_pipeline_arn is None and self.training_bus_arn is None:
            return
        here = self.training_pipeline_arn is not None
        rule = self._rule(
            purpose,
            f"{what} starts the training pipeline" if here else f"{what} is sent to the training account's event bus",
            event_pattern,
        )
        if self.training_pipeline_arn is not None:
            self._start_training(purpose, rule, self.training_pipeline_arn)
            return
        aws.cloudwatch.EventTarget(
            f"{self.name}-{purpose}",
            rule=rule.name,
            arn=self.training_bus_arn,
            role_arn=self.automation_role_arn,
            opts=self._child(),
        )

    def on_forwarded(self, purpose: str, what: str, pattern: dict[str, Any]) -> None:
        """Dev: `what`, forwarded by the serving accounts (`pattern` on dev's bus), starts the training pipeline."""
        if self.training_pipeline_arn is None:
            return
        rule = self._rule(
            purpose,
            f"{what} forwarded by the serving accounts start the training pipeline",
            json.dumps(pattern, sort_keys=True),
        )
        self._start_training(purpose, rule, self.training_pipeline_arn)

    def _rule(self, purpose: str, description: str, event_pattern: pulumi.Input[str]) -> aws.cloudwatch.EventRule:
        return aws.cloudwatch.EventRule(
            f"{self.name}-{purpose}",
            name=self.naming.resource(purpose),
            description=description,
            event_pattern=event_pattern,
            tags=dict(self.tags),
            opts=self._child(),
        )

    def _start_training(self, purpose: str, rule: aws.cloudwatch.EventRule, pipeline_arn: pulumi.Input[str]) -> None:
        aws.cloudwatch.EventTarget(
            f"{self.name}-{purpose}",
            rule=rule.name,
            arn=pipeline_arn,
            role_arn=self.automation_role_arn,
            # retrain on the feature store's data
            sagemaker_pipeline_target={"pipeline_parameter_lists": [{"name": "DataSource", "value": "feature-store"}]},
            opts=self._child(),
        )

    def _child(self) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self.parent)
