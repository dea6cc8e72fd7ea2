"""ARNs of this environment's resources, derived from their names (see kernel/naming.py)."""

from __future__ import annotations

from dataclasses import dataclass

from kernel.naming import Naming


@dataclass(frozen=True)
class Arns:
    """Builds ARNs scoped to one environment's account, region and name prefix."""

    naming: Naming

    @property
    def account(self) -> str:
        """The environment's account id."""
        return self.naming.account_id

    @property
    def region(self) -> str:
        """The environment's region."""
        return self.naming.region

    def bucket(self, purpose: str) -> str:
        """A bucket of this environment."""
        return f"arn:aws:s3:::{self.naming.bucket(purpose)}"

    def env_buckets(self) -> str:
        """Every bucket of this environment (bucket level, not objects)."""
        return f"arn:aws:s3:::{self.naming.base}-*"

    def objects(self, purpose: str, prefix: str = "") -> str:
        """Objects of a bucket, optionally under a key prefix."""
        return f"{self.bucket(purpose)}/{prefix}*"

    def project_buckets(self, purpose: str) -> str:
        """The `purpose` bucket of every project of this environment (bucket level, not objects)."""
        naming = self.naming.platform
        return f"arn:aws:s3:::{naming.base}-*-{purpose}-{naming.account_id}-{naming.region}"

    def sagemaker(self, kind: str, name: str | None = None) -> str:
        """A SageMaker resource: `kind/<env prefix>-*` by default, or `kind/name` (name may be `*`)."""
        return f"arn:aws:sagemaker:{self.region}:{self.account}:{kind}/{name or self.naming.base + '-*'}"

    def role(self, name: str) -> str:
        """An IAM role of this account."""
        return f"arn:aws:iam::{self.account}:role/{name}"

    def env_roles(self) -> str:
        """Every role this environment's stack creates."""
        return self.role(f"{self.naming.base}-*")

    def policy(self, name: str) -> str:
        """A customer-managed IAM policy of this account."""
        return f"arn:aws:iam::{self.account}:policy/{name}"

    def log_group(self, pattern: str) -> str:
        """CloudWatch log groups matching `pattern` (and their streams)."""
        return f"arn:aws:logs:{self.region}:{self.account}:log-group:{pattern}"

    def tagged(self, kind: str = "ResourceTag") -> dict[str, str]:
        """The tag conditions (`aws:ResourceTag/...` or `aws:RequestTag/...`) of this scope's resources.

        The environment's, and the project's for a project (ABAC where an ARN has no name to scope).
        """
        conditions: dict[str, str] = {f"aws:{kind}/environment": self.naming.environment}
        if self.naming.project:
            conditions[f"aws:{kind}/project"] = self.naming.project
        return conditions

    def kms_aliases(self) -> str:
        """Every KMS alias of this scope."""
        return self.regional("kms", self.naming.kms_alias("x").removesuffix("/x") + "/*")

    def regional(self, service: str, resource: str) -> str:
        """Any regional ARN of this account: `arn:aws:<service>:<region>:<account>:<resource>`."""
        return f"arn:aws:{service}:{self.region}:{self.account}:{resource}"
