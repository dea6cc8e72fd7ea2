"""The policy documents of one plan, as AWS would hold them: who has which identity, boundary and resource policy.

Everything is read from the plan JSON (the contract in shared/DESIGN.md), never from the builders in
infra/iam: the proof is about the documents AWS receives.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from kernel.plan import Plan

ADMINISTRATOR_ACCESS = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
}
"""The AWS managed policy `AdministratorAccess` (arn:aws:iam::aws:policy/AdministratorAccess, version v1):
what the bootstrap admin who runs the first `pulumi up` in a fresh account holds."""
BOOTSTRAP_ADMIN = "bootstrap-admin"
DEFAULT_KEY_POLICY = "kms-default-key-policy"
"""KMS's default key policy (AWS KMS developer guide, "Default key policy"): the account may use IAM policies
to allow access to the key. Assumed for a key the plan does not hold (the bootstrap secrets-provider key)."""


@dataclass(frozen=True)
class Principal:
    """A role of the plan (or the bootstrap admin): its ARN and the names of its policies in `Documents.policies`."""

    key: str
    arn: str
    account: str
    identity: tuple[str, ...]
    boundary: tuple[str, ...] | None
    trust: str | None


@dataclass
class Documents:
    """Every policy document of a plan, by a name the simulator batch refers to."""

    stack: str
    account: str
    region: str
    policies: dict[str, Any] = field(default_factory=dict)
    principals: dict[str, Principal] = field(default_factory=dict)
    resource_policies: dict[str, str] = field(default_factory=dict)
    """Resource ARN (key, bucket, topic, package group) -> name of its policy in `policies`."""
    namespace: str = ""

    def name(self, arn: str) -> str:
        """The batch name of a document of this plan."""
        return f"{self.namespace}|{arn}"


def documents(plan: Plan, namespace: str = "") -> Documents:
    """Collect roles (trust, attached managed policies, boundary) and resource policies from a plan.

    Policies are named `<namespace>|<ARN>`: two plans of one account (a stack and its variant, or the
    registry stack beside the plan that promotes from it) share ARNs but not documents.
    """
    account, region = _account_region(plan)
    docs = Documents(stack=plan.stack, account=account, region=region, namespace=namespace or plan.stack)
    managed = {}
    for policy in plan.of_type("aws:iam/policy:Policy"):
        arn = f"arn:aws:iam::{account}:policy/{policy.inputs['name']}"
        managed[arn] = docs.name(arn)
        docs.policies[docs.name(arn)] = json.loads(policy.inputs["policy"])
    attached: dict[str, list[str]] = {}
    for attachment in plan.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment"):
        attached.setdefault(attachment.inputs["role"], []).append(attachment.inputs["policyArn"])
    role_keys = {arn: key for key, arn in plan.outputs.get("role_arns", {}).items()}
    for role in plan.of_type("aws:iam/role:Role"):
        arn = f"arn:aws:iam::{account}:role/{role.inputs['name']}"
        trust = docs.name(f"{arn}#trust")
        docs.policies[trust] = json.loads(role.inputs["assumeRolePolicy"])
        boundary = role.inputs.get("permissionsBoundary")
        environment = str(plan.outputs.get("environment", ""))
        key = role_keys.get(arn) or role.inputs["name"].partition(f"-{environment}-")[2] or role.inputs["name"]
        docs.principals[key] = Principal(
            key=key,
            arn=arn,
            account=account,
            identity=tuple(sorted(managed[p] for p in attached.get(role.inputs["name"], []) if p in managed)),
            boundary=(managed.get(boundary, docs.name(boundary)),) if boundary else None,
            trust=trust,
        )
    docs.policies[docs.name(BOOTSTRAP_ADMIN)] = ADMINISTRATOR_ACCESS
    docs.policies[docs.name(DEFAULT_KEY_POLICY)] = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "Enable IAM User Permissions",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                "Action": "kms:*",
                "Resource": "*",
            }
        ],
    }
    docs.principals[BOOTSTRAP_ADMIN] = Principal(
        key=BOOTSTRAP_ADMIN,
        arn=f"arn:aws:iam::{account}:role/AWSReservedSSO_AdministratorAccess_bootstrap",
        account=account,
        identity=(docs.name(BOOTSTRAP_ADMIN),),
        boundary=None,
        trust=None,
    )
    _resource_policies(plan, docs)
    return docs


def _resource_policies(plan: Plan, docs: Documents) -> None:
    keys = plan.outputs.get("key_arns", {})
    for key in plan.of_type("aws:kms/key:Key"):
        arn = keys.get(key.inputs.get("tags", {}).get("purpose", ""))
        if arn:
            _add(docs, arn, key.inputs["policy"])
    for policy in plan.of_type("aws:s3/bucketPolicy:BucketPolicy"):
        _add(docs, f"arn:aws:s3:::{policy.inputs['bucket']}", policy.inputs["policy"])
    for policy in plan.of_type("aws:sns/topicPolicy:TopicPolicy"):
        _add(docs, policy.inputs["arn"], policy.inputs["policy"])
    for policy in plan.of_type("aws:sagemaker/modelPackageGroupPolicy:ModelPackageGroupPolicy"):
        group = policy.inputs["modelPackageGroupName"]
        arn = f"arn:aws:sagemaker:{docs.region}:{docs.account}:model-package-group/{group}"
        _add(docs, arn, policy.inputs["resourcePolicy"])


def _add(docs: Documents, arn: str, document: str) -> None:
    name = docs.name(f"{arn}#policy")
    docs.policies[name] = json.loads(document)
    docs.resource_policies[arn] = name


def _account_region(plan: Plan) -> tuple[str, str]:
    arn = str(plan.outputs["alerts_topic_arn"])  # arn:aws:sns:<region>:<account>:<name>
    _, _, _, region, account, _ = arn.split(":", 5)
    return account, region
