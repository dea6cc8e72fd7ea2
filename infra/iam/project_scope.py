"""What sets a project's roles apart from every other project's: its names, and a fence on its tag.

Every permission a project role gets is built by the same functions as before, from `Arns` of the project's
naming (`<prefix>-<env>-<project>-*`), so its resource ARNs name only that project's resources. Where AWS offers
no name to scope (resources with generated ids, tag-scoped statements), the statements require the project's
tag, and the fence denies every action on a resource, or a request, tagged with another project. Platform
resources (tagged `project: platform`) stay usable: project jobs run in the platform's subnets.
"""

from __future__ import annotations

from infra.iam.arns import Arns
from infra.iam.deployer import deployer_statements, preview_statements
from infra.policy_document import Statement
from kernel.tags import PLATFORM

PLATFORM_ONLY_DEPLOY = frozenset({"GithubOidcProvider", "Network", "Trail", "Topics", "DescribeDefaultBus"})
"""Deployer statements for what only the platform creates: the OIDC provider, the VPC, the trail, the topics."""


def tag_fence(sid: str, operator: str, resource_tags: list[str], request_tags: list[str]) -> list[Statement]:
    """The ABAC fence: deny all on resources, and requests, tagged with a project outside the allowed tags.

    A resource whose `project` tag is not one of `resource_tags`, or a request tagging with a project not one of
    `request_tags` (`operator`: `StringNotEquals`, or `StringNotLike` for patterns). Untagged resources and requests
    are left to the name-scoped statements.
    """
    return [
        Statement(
            sid=f"{sid}Resources",
            effect="Deny",
            actions=["*"],
            resources=["*"],
            conditions={
                operator: {"aws:ResourceTag/project": resource_tags},
                "Null": {"aws:ResourceTag/project": "false"},
            },
        ),
        Statement(
            sid=f"{sid}Tags",
            effect="Deny",
            actions=["*"],
            resources=["*"],
            conditions={
                operator: {"aws:RequestTag/project": request_tags},
                "Null": {"aws:RequestTag/project": "false"},
            },
        ),
    ]


def project_fence(project: str) -> list[Statement]:
    """Deny everything on resources, and requests, tagged with another project (ABAC)."""
    return tag_fence("FenceOtherProjects", "StringNotEquals", [project, PLATFORM], [project])


def project_deployer_statements(arns: Arns, boundary_arn: str) -> list[Statement]:
    """The deploy role of one project: the environment deployer's statements, on the project's names only."""
    return [
        statement for statement in deployer_statements(arns, boundary_arn) if statement.sid not in PLATFORM_ONLY_DEPLOY
    ]


def project_preview_statements(arns: Arns) -> list[Statement]:
    """The preview role of one project: reads of the project's names (and the unscoped describes)."""
    return preview_statements(arns)
