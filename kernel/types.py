"""Constrained scalar types for the stack config, each with an error message a user can act on.

Everything here is checked offline, before a resource is registered, so that what AWS would
reject minutes into a deployment is rejected at once with the key that caused it.
"""

from __future__ import annotations

import re
from ipaddress import IPv4Network
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator

from kernel.regions import region_problem

Environment = Literal["dev", "staging", "prod"]
"""The three stages every fork deploys, in promotion order."""

ENVIRONMENTS: tuple[Environment, ...] = ("dev", "staging", "prod")

_ACCOUNT = re.compile(r"^\d{12}$")
_INSTANCE = re.compile(r"^ml\.[a-z][a-z0-9-]*\.(?:nano|micro|small|medium|large|[1-9]?[0-9]*xlarge|metal)$")
_PRINCIPAL = re.compile(r"^arn:aws(?:-cn|-us-gov)?:iam::\d{12}:(?:role|user)/[\w+=,.@/-]{1,512}$")
_GITHUB_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,98}[A-Za-z0-9])?$")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_IP_ADDRESS = re.compile(r"^\d+\.\d+\.\d+\.\d+$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
_MODEL_PACKAGE = re.compile(
    r"^arn:aws(?:-cn|-us-gov)?:sagemaker:[a-z0-9-]+:\d{12}:model-package/[A-Za-z0-9-]{1,63}/\d+$"
)


def _check_account(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        raise ValueError("write the account id as a quoted string, e.g. '012345678901' (YAML drops leading zeros)")
    if not isinstance(value, str) or not _ACCOUNT.match(value):
        raise ValueError(f"{value!r} is not an AWS account id: use exactly 12 digits, quoted")
    return value


def _check_instance_type(value: str) -> str:
    if not _INSTANCE.match(value):
        raise ValueError(
            f"{value!r} is not a SageMaker instance type: use the ml.<family>.<size> form, e.g. ml.m5.xlarge"
        )
    return value


SSO_ROLE_PATH = "aws-reserved/sso.amazonaws.com/"
"""IAM path of the roles IAM Identity Center creates for permission sets (IAM Identity Center user guide,
"Referencing permission sets in resource policies ..."): `aws-reserved/sso.amazonaws.com/` followed, for
instances created since 2023, by the Identity Center region."""


def _check_principal(value: str) -> str:
    if not _PRINCIPAL.match(value):
        raise ValueError(
            f"{value!r} is not an IAM role or user ARN: use arn:aws:iam::<12-digit account>:role/<name> "
            "(SSO permission sets: the role ARN AWS created for them)"
        )
    resource = value.split(":", 5)[5]
    if resource.startswith("role/AWSReservedSSO_"):
        account = value.split(":")[4]
        raise ValueError(
            f"{value!r} lacks the path of IAM Identity Center roles, so IAM refuses it as a principal: copy the "
            f"role's ARN from the IAM console, arn:aws:iam::{account}:role/{SSO_ROLE_PATH}<region>/"
            f"{resource.removeprefix('role/')} (<region>: your Identity Center region; older instances have none)"
        )
    return value


def _check_github_name(value: str) -> str:
    if not _GITHUB_NAME.match(value):
        raise ValueError(f"{value!r} is not a GitHub organisation or repository name")
    return value


def _check_bucket_name(value: str) -> str:
    if not _BUCKET.match(value) or ".." in value or _IP_ADDRESS.match(value):
        raise ValueError(
            f"{value!r} is not an S3 bucket name: 3 to 63 characters of lower-case letters, digits, dots and "
            "hyphens, starting and ending with a letter or digit"
        )
    return value


def _check_email(value: str) -> str:
    if not _EMAIL.match(value):
        raise ValueError(f"{value!r} is not an e-mail address")
    return value


def _check_model_package(value: str) -> str:
    if not _MODEL_PACKAGE.match(value):
        raise ValueError(
            f"{value!r} is not a versioned model package ARN: use "
            "arn:aws:sagemaker:<region>:<account>:model-package/<group>/<version>"
        )
    return value


def _check_cidr(value: IPv4Network) -> IPv4Network:
    if not 16 <= value.prefixlen <= 24:
        raise ValueError(f"{value} has a /{value.prefixlen} prefix: AWS allows VPC CIDRs from /16 to /24")
    if not value.is_private:
        raise ValueError(f"{value} is not a private (RFC 1918) range")
    return value


def _check_region(value: str) -> str:
    problem = region_problem(value)
    if problem:
        raise ValueError(problem)
    return value


AccountId = Annotated[str, BeforeValidator(_check_account)]
Region = Annotated[str, AfterValidator(_check_region)]
InstanceType = Annotated[str, AfterValidator(_check_instance_type)]
PrincipalArn = Annotated[str, AfterValidator(_check_principal)]
GithubName = Annotated[str, AfterValidator(_check_github_name)]
Email = Annotated[str, AfterValidator(_check_email)]
BucketName = Annotated[str, AfterValidator(_check_bucket_name)]
ModelPackageArn = Annotated[str, AfterValidator(_check_model_package)]
VpcCidr = Annotated[IPv4Network, AfterValidator(_check_cidr)]
