"""Pulumi mocks that answer like AWS would: deterministic ids and ARNs derived from each resource's name.

Every value is a pure function of the resource's type, name and inputs, so planning the same stack
twice gives byte-identical output, and ARNs look like the real ones (policies reference them).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from typing import Any

import pulumi


class UnsupportedInvokeError(RuntimeError):
    """The program called a data source; offline its result would be empty, so the plan would lie."""


_ID_PREFIXES = {
    "aws:ec2/vpc:Vpc": "vpc-",
    "aws:ec2/subnet:Subnet": "subnet-",
    "aws:ec2/securityGroup:SecurityGroup": "sg-",
    "aws:ec2/routeTable:RouteTable": "rtb-",
    "aws:ec2/vpcEndpoint:VpcEndpoint": "vpce-",
    "aws:ec2/networkAcl:NetworkAcl": "acl-",
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": "sgr-",
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": "sgr-",
    "aws:ec2/flowLog:FlowLog": "fl-",
}

_NAME_INPUTS = (
    "name",
    "bucket",
    "groupName",
    "modelPackageGroupName",
    "featureGroupName",
    "pipelineName",
    "dashboardName",
)


class OfflineMocks(pulumi.runtime.Mocks):
    """Fabricates the outputs AWS would return, for one account and region."""

    def __init__(
        self,
        account_id: str,
        region: str,
        stack_references: Mapping[str, Mapping[str, Any]] | None = None,
        scope: str = "",
    ) -> None:
        self.account_id = account_id
        self.region = region
        self.stack_references = stack_references or {}
        """Outputs of the stacks a program references, by fully qualified name (the platform's, for a project)."""
        self.scope = scope
        """The ML project whose program runs (empty for the platform's): two projects' resources share logical
        names (`encryption-data`), but never ids, or one project's key ARN would be another's."""

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        """Return a deterministic id and the inputs completed with `arn` and friends."""
        token, inputs = args.typ, dict(args.inputs)
        if token == "pulumi:pulumi:StackReference":
            name = str(inputs.get("name") or args.name)
            if name not in self.stack_references:
                raise UnsupportedInvokeError(f"the plan has no outputs of stack {name!r} to answer its reference with")
            outputs = dict(self.stack_references[name])  # read only here: a helper process may wait for them
            return name, {"name": name, "outputs": outputs, "secretOutputNames": []}
        physical = next((str(inputs[key]) for key in _NAME_INPUTS if inputs.get(key)), args.name)
        scoped = f"|{self.scope}" if self.scope else ""
        digest = hashlib.sha256(f"{self.account_id}|{token}|{args.name}{scoped}".encode()).hexdigest()
        resource_id = self._id(token, physical, digest)
        state: dict[str, Any] = {**inputs, "id": resource_id}
        if token == "aws:iam/openIdConnectProvider:OpenIdConnectProvider":
            physical = str(inputs["url"]).removeprefix("https://")
            state["arn"] = f"arn:aws:iam::{self.account_id}:oidc-provider/{physical}"
        state.setdefault("arn", self._arn(token, physical, resource_id))
        state.update(self._extras(token, physical, resource_id, inputs))
        return resource_id, state

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        """Refuse data sources: the program must take accounts, regions and documents from config and data."""
        raise UnsupportedInvokeError(
            f"{args.token} is a data source, which the offline plan cannot evaluate; "
            "derive the value from the stack config or build it as data (see shared/DESIGN.md)"
        )

    def _id(self, token: str, physical: str, digest: str) -> str:
        if token in _ID_PREFIXES:
            return _ID_PREFIXES[token] + digest[:17]
        if token == "aws:kms/key:Key":
            return str(uuid.UUID(digest[:32]))
        return physical

    def _arn(self, token: str, physical: str, resource_id: str) -> str:
        module = token.split(":")[1].split("/", maxsplit=1)[0]
        kind = token.split("/")[1].split(":", maxsplit=1)[0] if "/" in token else module
        regional = f"arn:aws:{{service}}:{self.region}:{self.account_id}:"
        match module:
            case "s3":
                return f"arn:aws:s3:::{physical}"
            case "iam":
                return f"arn:aws:iam::{self.account_id}:{_kebab(kind)}/{physical}"
            case "kms":
                prefix = "alias/" if kind == "alias" else "key/"
                return regional.format(service="kms") + (physical if kind == "alias" else prefix + resource_id)
            case "sns":
                return regional.format(service="sns") + physical
            case "cloudwatch" if kind == "logGroup":
                return regional.format(service="logs") + f"log-group:{physical}"
            case "cloudwatch" if kind == "metricAlarm":
                return regional.format(service="cloudwatch") + f"alarm:{physical}"
            case "cloudwatch" if kind == "dashboard":
                return f"arn:aws:cloudwatch::{self.account_id}:dashboard/{physical}"
            case "cloudwatch" if kind == "eventRule":
                return regional.format(service="events") + f"rule/{physical}"
            case "cloudwatch":
                return regional.format(service="cloudwatch") + f"{_kebab(kind)}:{physical}"
            case _:
                return regional.format(service=module) + f"{_kebab(kind)}/{physical}"

    def _extras(self, token: str, physical: str, resource_id: str, inputs: dict[str, Any]) -> dict[str, Any]:
        if token == "aws:s3/bucket:Bucket":
            return {
                "bucket": physical,
                "bucketRegionalDomainName": f"{physical}.s3.{self.region}.amazonaws.com",
            }
        if token == "aws:kms/key:Key":
            return {"keyId": resource_id}
        if token == "aws:iam/role:Role":
            return {"name": physical, "uniqueId": "AROA" + resource_id.upper()[:17]}
        if token == "aws:ec2/vpcEndpoint:VpcEndpoint":
            return {"prefixListId": "pl-" + resource_id[5:13]}
        return {}


def _kebab(camel: str) -> str:
    return "".join(f"-{char.lower()}" if char.isupper() else char for char in camel).lstrip("-")
