"""Physical resource names: one scheme, checked against each AWS service's length and charset rules.

Names are explicit (not Pulumi auto-names) so a plan is deterministic and a reviewer can read
which bucket, role or key a change touches. Every name starts with `<prefix>-<environment>`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kernel.types import Environment

SAGEMAKER_JOB_LOG_GROUPS = {
    "training": "/aws/sagemaker/TrainingJobs",
    "processing": "/aws/sagemaker/ProcessingJobs",
    "transform": "/aws/sagemaker/TransformJobs",
}
"""Log groups whose names SageMaker fixes (one per account and region), not this scheme."""
ENDPOINT_LOG_GROUP_PREFIX = "/aws/sagemaker/Endpoints/"
"""SageMaker logs an endpoint to `<prefix><endpoint name>`."""


MODEL_NAME = "model"
"""A project's model: its package group, endpoint and model alarms are `<prefix>-<env>-<project>-model...`."""


class NamingError(ValueError):
    """A generated name breaks an AWS rule; the message says which and how to shorten it."""


_S3 = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")
_SAGEMAKER = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
_IAM = re.compile(r"^[\w+=,.@-]{1,64}$")
_GENERIC = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9._-]*$")


@dataclass(frozen=True)
class Naming:
    """Builds the names of one stack's resources."""

    prefix: str
    environment: Environment
    account_id: str
    region: str
    project: str | None = None
    """A project's names are `<prefix>-<environment>-<project>-...`: inside the environment's, apart from
    every other project's (project names have no hyphen, so `...-churn-*` never matches `...-churnx-...`)."""

    @property
    def base(self) -> str:
        """`<prefix>-<environment>[-<project>]`, the start of every name."""
        scope = f"{self.prefix}-{self.environment}"
        return f"{scope}-{self.project}" if self.project else scope

    @property
    def platform(self) -> Naming:
        """The names of the environment's platform (this naming without its project)."""
        return Naming(self.prefix, self.environment, self.account_id, self.region)

    def for_project(self, project: str) -> Naming:
        """The names of one project of this environment."""
        return Naming(self.prefix, self.environment, self.account_id, self.region, project)

    def resource(self, purpose: str, max_length: int = 255) -> str:
        """A general name (security groups, log groups, topics, trails...)."""
        return self._check(f"{self.base}-{purpose}", _GENERIC, max_length, "a resource name")

    def bucket(self, purpose: str) -> str:
        """A globally unique S3 bucket name: account and region make it unique across forks."""
        name = f"{self.base}-{purpose}-{self.account_id}-{self.region}"
        return self._check(name, _S3, 63, "an S3 bucket name")

    def sagemaker(self, purpose: str) -> str:
        """A SageMaker resource name (pipelines, endpoints, model package groups, feature groups)."""
        return self._check(f"{self.base}-{purpose}", _SAGEMAKER, 63, "a SageMaker name")

    def iam(self, purpose: str) -> str:
        """An IAM role or policy name."""
        return self._check(f"{self.base}-{purpose}", _IAM, 64, "an IAM role or policy name")

    def glue_database(self, purpose: str) -> str:
        """A Glue database name: lower case with underscores, as Athena requires (`*` for patterns)."""
        name = f"{self.base.replace('-', '_')}_{purpose.replace('-', '_')}"
        return self._check(name, re.compile(r"^[a-z0-9_*]+$"), 255, "a Glue database name")

    def kms_alias(self, purpose: str) -> str:
        """A KMS alias, `alias/<prefix>/<environment>/<purpose>`."""
        return self._check(
            f"alias/{self.base.replace('-', '/', 2 if self.project else 1)}/{purpose}",
            re.compile(r"^alias/[\w/-]+$"),
            256,
            "a KMS alias",
        )

    def _check(self, name: str, pattern: re.Pattern[str], max_length: int, what: str) -> str:
        if len(name) > max_length:
            raise NamingError(
                f"{name!r} is {len(name)} characters, over the {max_length} allowed for {what}; "
                f"shorten `mlops:namePrefix` ({self.prefix!r})"
            )
        if not pattern.match(name):
            raise NamingError(f"{name!r} is not valid as {what}; use lower-case letters, digits and hyphens")
        return name
