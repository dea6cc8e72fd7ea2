"""The CloudWatch log groups SageMaker writes to, declared so they are KMS-encrypted and expire.

SageMaker writes job and endpoint logs to fixed groups (`/aws/sagemaker/TrainingJobs`,
`ProcessingJobs`, `TransformJobs`, `Endpoints/<endpoint>`; SageMaker developer guide, "Log Amazon
SageMaker AI events by using Amazon CloudWatch"). Left to SageMaker, it creates them on first use,
unencrypted by our key and never expiring. Declared here first, they carry the logs key and the
environment's retention.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from kernel.naming import ENDPOINT_LOG_GROUP_PREFIX, SAGEMAKER_JOB_LOG_GROUPS, Naming


@dataclass(frozen=True)
class SageMakerLogsArgs:
    """Inputs of `SageMakerLogs`."""

    naming: Naming
    tags: Mapping[str, str]
    logs_key_arn: pulumi.Input[str]
    retention_days: int
    endpoint_names: Sequence[pulumi.Input[str]] = ()
    """Endpoints of this stack (none before the first promotion)."""
    job_groups: bool = True
    """The account's job log groups (the platform's); a project's stack has only its endpoints'."""


class SageMakerLogs(pulumi.ComponentResource):
    """The job log groups of the account's region, and one log group per endpoint of this stack."""

    log_group_names: list[pulumi.Output[str]]

    def __init__(self, name: str, args: SageMakerLogsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:audit:SageMakerLogs", name, None, opts)
        jobs = SAGEMAKER_JOB_LOG_GROUPS.items() if args.job_groups else ()
        groups = [self._group(f"{name}-{kind}", path, args) for kind, path in jobs]
        groups += [
            self._group(f"{name}-endpoint-{index}", pulumi.Output.concat(ENDPOINT_LOG_GROUP_PREFIX, endpoint), args)
            for index, endpoint in enumerate(args.endpoint_names)
        ]
        self.log_group_names = [group.name for group in groups]
        self.register_outputs({"log_group_names": self.log_group_names})

    def _group(self, resource_name: str, path: pulumi.Input[str], args: SageMakerLogsArgs) -> aws.cloudwatch.LogGroup:
        return aws.cloudwatch.LogGroup(
            resource_name,
            name=path,
            kms_key_id=args.logs_key_arn,
            retention_in_days=args.retention_days,
            tags=dict(args.tags),
            opts=pulumi.ResourceOptions(parent=self),
        )
