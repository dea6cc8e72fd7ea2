"""Network isolation for SageMaker jobs and endpoints: private subnets that cannot reach the internet."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Network
from typing import Any

import pulumi
import pulumi_aws as aws

from kernel.models import ExistingVpc, InterfaceEndpoint, private_subnet_prefix
from kernel.naming import Naming

HTTPS = 443


@dataclass(frozen=True)
class NetworkArgs:
    """Inputs of `Network`."""

    naming: Naming
    tags: Mapping[str, str]
    vpc_cidr: IPv4Network
    availability_zones: Sequence[str]
    interface_endpoints: Sequence[InterfaceEndpoint]
    flow_log_bucket_arn: pulumi.Input[str]
    existing_vpc: ExistingVpc | None = None
    interface_endpoint_azs: int | None = None
    """Put interface endpoints in the first N subnets only (cheaper; unset: every subnet)."""


class Network(pulumi.ComponentResource):
    """A VPC whose subnets have no internet gateway, NAT or public route.

    Jobs and endpoints reach AWS through an S3 gateway endpoint and the interface endpoints listed in
    config, over security groups that allow only HTTPS to those endpoints and traffic between the
    workload's own instances (distributed training). The VPC's default security group is emptied and
    every flow is logged to the audit bucket. With `existing_vpc`, the subnets given are used and
    only the security groups and endpoints are created, the S3 gateway on the route tables given (or,
    when the VPC has one already, only the workloads' egress to its prefix list).
    """

    vpc_id: pulumi.Output[str]
    subnet_ids: list[pulumi.Output[str]]
    workload_security_group_id: pulumi.Output[str]
    endpoint_security_group_id: pulumi.Output[str]

    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:network:Network", name, None, opts)
        self._name = name
        self._args = args
        route_table_ids: list[pulumi.Input[str]] = []
        if args.existing_vpc is None:
            vpc = self._vpc()
            self.vpc_id = vpc.id
            self.subnet_ids, tables = self._private_subnets(vpc)
            route_table_ids = list(tables)
        else:
            self.vpc_id = pulumi.Output.from_input(args.existing_vpc.vpc_id)
            self.subnet_ids = [pulumi.Output.from_input(subnet) for subnet in args.existing_vpc.private_subnet_ids]
            route_table_ids = list(args.existing_vpc.route_table_ids)
        workload, endpoints = self._security_groups()
        self.workload_security_group_id = workload.id
        self.endpoint_security_group_id = endpoints.id
        if route_table_ids:
            self._s3_gateway(route_table_ids, workload)
        elif args.existing_vpc is not None and args.existing_vpc.s3_prefix_list_id:
            self._s3_egress(args.existing_vpc.s3_prefix_list_id, workload)
        for service in args.interface_endpoints:
            self._interface_endpoint(service, endpoints)
        self.register_outputs(
            {
                "vpc_id": self.vpc_id,
                "subnet_ids": self.subnet_ids,
                "workload_security_group_id": self.workload_security_group_id,
            }
        )

    def _child(self) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self)

    def _vpc(self) -> aws.ec2.Vpc:
        args = self._args
        vpc = aws.ec2.Vpc(
            f"{self._name}-vpc",
            cidr_block=str(args.vpc_cidr),
            enable_dns_hostnames=True,
            enable_dns_support=True,
            tags={**args.tags, "Name": args.naming.resource("vpc")},
            opts=self._child(),
        )
        aws.ec2.DefaultSecurityGroup(
            f"{self._name}-default-sg-closed",
            vpc_id=vpc.id,
            tags={**args.tags, "Name": args.naming.resource("default-closed")},
            opts=self._child(),
        )
        aws.ec2.FlowLog(
            f"{self._name}-flow-log",
            vpc_id=vpc.id,
            traffic_type="ALL",
            log_destination_type="s3",
            log_destination=args.flow_log_bucket_arn,
            max_aggregation_interval=600,
            tags={**args.tags, "Name": args.naming.resource("flow-log")},
            opts=self._child(),
        )
        return vpc

    def _private_subnets(self, vpc: aws.ec2.Vpc) -> tuple[list[pulumi.Output[str]], list[pulumi.Output[str]]]:
        args = self._args
        new_prefix = private_subnet_prefix(args.vpc_cidr.prefixlen)
        ranges = list(args.vpc_cidr.subnets(new_prefix=new_prefix))
        subnet_ids, route_table_ids = [], []
        for index, zone in enumerate(args.availability_zones):
            subnet = aws.ec2.Subnet(
                f"{self._name}-private-{zone}",
                vpc_id=vpc.id,
                cidr_block=str(ranges[index]),
                availability_zone=zone,
                map_public_ip_on_launch=False,
                tags={**args.tags, "Name": args.naming.resource(f"private-{zone}"), "tier": "private"},
                opts=self._child(),
            )
            table = aws.ec2.RouteTable(
                f"{self._name}-private-{zone}-routes",
                vpc_id=vpc.id,
                tags={**args.tags, "Name": args.naming.resource(f"private-{zone}")},
                opts=self._child(),
            )
            aws.ec2.RouteTableAssociation(
                f"{self._name}-private-{zone}-routes",
                subnet_id=subnet.id,
                route_table_id=table.id,
                opts=self._child(),
            )
            subnet_ids.append(subnet.id)
            route_table_ids.append(table.id)
        return subnet_ids, route_table_ids

    def _security_groups(self) -> tuple[aws.ec2.SecurityGroup, aws.ec2.SecurityGroup]:
        args = self._args
        workload = aws.ec2.SecurityGroup(
            f"{self._name}-workload",
            name=args.naming.resource("workload"),
            description="SageMaker jobs and endpoints: HTTPS to VPC endpoints and traffic between own instances",
            vpc_id=self.vpc_id,
            tags={**args.tags, "Name": args.naming.resource("workload")},
            opts=self._child(),
        )
        endpoints = aws.ec2.SecurityGroup(
            f"{self._name}-endpoints",
            name=args.naming.resource("vpc-endpoints"),
            description="VPC interface endpoints: HTTPS from the workload security group only",
            vpc_id=self.vpc_id,
            tags={**args.tags, "Name": args.naming.resource("vpc-endpoints")},
            opts=self._child(),
        )
        ingress, egress = aws.vpc.SecurityGroupIngressRule, aws.vpc.SecurityGroupEgressRule
        rules = [
            ("workload-from-self", ingress, workload, workload, {"ip_protocol": "-1"}),
            ("workload-to-self", egress, workload, workload, {"ip_protocol": "-1"}),
            ("workload-to-endpoints", egress, workload, endpoints, _https()),
            ("endpoints-from-workload", ingress, endpoints, workload, _https()),
        ]
        for suffix, rule_type, group, peer, settings in rules:
            rule_type(
                f"{self._name}-{suffix}",
                security_group_id=group.id,
                referenced_security_group_id=peer.id,
                description=suffix.replace("-", " "),
                tags=dict(args.tags),
                opts=self._child(),
                **settings,
            )
        return workload, endpoints

    def _s3_gateway(self, route_table_ids: list[pulumi.Input[str]], workload: aws.ec2.SecurityGroup) -> None:
        """Jobs without internet reach S3 only through a gateway endpoint on their subnets' route tables."""
        args = self._args
        gateway = aws.ec2.VpcEndpoint(
            f"{self._name}-s3",
            vpc_id=self.vpc_id,
            service_name=f"com.amazonaws.{args.naming.region}.s3",
            vpc_endpoint_type="Gateway",
            route_table_ids=route_table_ids,
            tags={**args.tags, "Name": args.naming.resource("s3")},
            opts=self._child(),
        )
        self._s3_egress(gateway.prefix_list_id, workload)

    def _s3_egress(self, prefix_list_id: pulumi.Input[str], workload: aws.ec2.SecurityGroup) -> None:
        args = self._args
        aws.vpc.SecurityGroupEgressRule(
            f"{self._name}-workload-to-s3",
            security_group_id=workload.id,
            prefix_list_id=prefix_list_id,
            description="workload to s3 gateway endpoint",
            tags=dict(args.tags),
            opts=self._child(),
            **_https(),
        )

    def _interface_endpoint(self, service: InterfaceEndpoint, group: aws.ec2.SecurityGroup) -> None:
        args = self._args
        aws.ec2.VpcEndpoint(
            f"{self._name}-{service.replace('.', '-')}",
            vpc_id=self.vpc_id,
            service_name=endpoint_service_name(service, args.naming.region),
            vpc_endpoint_type="Interface",
            private_dns_enabled=True,
            subnet_ids=self.subnet_ids[: args.interface_endpoint_azs or len(self.subnet_ids)],
            security_group_ids=[group.id],
            tags={**args.tags, "Name": args.naming.resource(service.replace(".", "-"))},
            opts=self._child(),
        )


def endpoint_service_name(service: InterfaceEndpoint, region: str) -> str:
    """The PrivateLink service name of an interface endpoint (managed MLflow has its own namespace)."""
    if service == "sagemaker.experiments":
        return f"aws.sagemaker.{region}.experiments"
    return f"com.amazonaws.{region}.{service}"


def _https() -> dict[str, Any]:
    return {"ip_protocol": "tcp", "from_port": HTTPS, "to_port": HTTPS}
