"""Nothing reachable from the internet: no public buckets, no open security groups, no internet routes."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from policies.model import Context, Resource, Rule
from policies.registry import register
from policies.rules.common import BUCKET

PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
FLAGS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
WORLD = ("0.0.0.0/0", "::/0")


def _public_access(resources: Sequence[Resource], context: Context) -> Iterable[tuple[Resource | None, str]]:
    blocks = {str(r.props.get("bucket")): r for r in resources if r.type == PUBLIC_ACCESS_BLOCK}
    for bucket in (r for r in resources if r.type == BUCKET):
        name = str(bucket.props.get("bucket"))
        block = blocks.get(name)
        if block is None:
            yield bucket, f"bucket {name} has no public access block"
            continue
        off = [flag for flag in FLAGS if block.props.get(flag) is not True]
        if off:
            yield block, f"bucket {name} leaves {', '.join(off)} off"


register(
    Rule(
        id="s3-public-access-blocked",
        family="exposure",
        description="Every bucket blocks public ACLs and policies with all four public access block settings.",
        why="One public bucket is the most common cloud data breach.",
        fix="Add a BucketPublicAccessBlock with all four settings true.",
        control="Security Hub S3.8, S3.1",
        stack_check=_public_access,
    )
)


def _open_ingress(resource: Resource, context: Context) -> Iterable[str]:
    rules = resource.props.get("ingress") or [resource.props]
    for rule in rules:
        cidrs = [
            rule.get("cidrIpv4"),
            rule.get("cidrIpv6"),
            *(rule.get("cidrBlocks") or []),
            *(rule.get("ipv6CidrBlocks") or []),
        ]
        if any(cidr in WORLD for cidr in cidrs):
            yield f"ingress open to the internet ({rule.get('fromPort', 'all')}-{rule.get('toPort', 'all')})"


register(
    Rule(
        id="security-group-no-world-ingress",
        family="exposure",
        description="No security group admits traffic from 0.0.0.0/0 or ::/0.",
        why="ML jobs and endpoints are reached through VPC endpoints and SageMaker, never directly.",
        fix="Reference a security group or a private CIDR instead of the whole internet.",
        control="Security Hub EC2.18, EC2.19",
        types=(
            "aws:ec2/securityGroup:SecurityGroup",
            "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
            "aws:ec2/securityGroupRule:SecurityGroupRule",
        ),
        check=_open_ingress,
    )
)


def _internet_paths(resource: Resource, context: Context) -> Iterable[str]:
    if resource.type == "aws:ec2/subnet:Subnet":
        if resource.props.get("mapPublicIpOnLaunch"):
            yield "the subnet gives instances public IP addresses"
        return
    if resource.type == "aws:ec2/route:Route":
        if resource.props.get("gatewayId") or resource.props.get("natGatewayId"):
            yield "a route to an internet or NAT gateway"
        return
    yield f"{resource.type.rsplit(':', 1)[1]} gives the VPC a path to the internet"


register(
    Rule(
        id="no-internet-paths",
        family="exposure",
        description="ML subnets have no internet gateway, NAT gateway, internet route or public IPs.",
        why="Training data and models must not be able to leave except through audited AWS APIs.",
        fix="Remove the gateway or route; reach AWS services through VPC endpoints.",
        control="Security Hub EC2.15; SageMaker network isolation best practice",
        types=(
            "aws:ec2/internetGateway:InternetGateway",
            "aws:ec2/natGateway:NatGateway",
            "aws:ec2/egressOnlyInternetGateway:EgressOnlyInternetGateway",
            "aws:ec2/route:Route",
            "aws:ec2/subnet:Subnet",
        ),
        check=_internet_paths,
    )
)
