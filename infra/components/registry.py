"""The model registry: one model package group per model, where the pipeline registers candidates."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.naming import Naming


@dataclass(frozen=True)
class RegistryArgs:
    """Inputs of `Registry`."""

    naming: Naming
    tags: Mapping[str, str]
    model_name: str
    """Short model name; the group is `<prefix>-<env>-<model_name>`."""
    description: str


class Registry(pulumi.ComponentResource):
    """A model package group. Packages enter it as PendingManualApproval and are approved by a person."""

    group_name: pulumi.Output[str]
    group_arn: pulumi.Output[str]

    def __init__(self, name: str, args: RegistryArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:registry:Registry", name, None, opts)
        group = aws.sagemaker.ModelPackageGroup(
            f"{name}-{args.model_name}",
            model_package_group_name=args.naming.sagemaker(args.model_name),
            model_package_group_description=args.description,
            tags=dict(args.tags),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.group_name = group.model_package_group_name
        self.group_arn = group.arn
        self.register_outputs({"group_name": self.group_name, "group_arn": self.group_arn})
