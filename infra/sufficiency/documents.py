"""The policy documents of one plan, as AWS would hold them: who has which identity, boundary and resource policy.

Everything is read from the plan JSON (the contract in shared/DESIGN.md), never from the builders in
infra/iam: the proof is about the documents AWS receives. An environment's plan holds several programs (the
platform and every project), all in one account: every policy document of the environment is collected, and
each role belongs to the program that created it (`Documents.program` is one program's view, its roles by key).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any

from kernel.plan import Plan, PlannedResource

ADMINISTRATOR_ACCESS = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
}
"""The AWS managed policy `AdministratorAccess` (arn:aws:iam::aws:policy/AdministratorAccess, version v1):
what the bootstrap admin who runs the first `pulumi up` in a fresh account holds."""
BOOTSTRAP_ADMIN = "bootstrap-admin"
PLATFORM = "platform"
"""How a project's view names the platform's roles: `platform/<role>`."""
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
    program: str | None = None
    """The ML project whose program created the role; None for the platform's (and the bootstrap admin)."""


@dataclass
class Documents:
    """Every policy document of a plan, by a name the simulator batch refers to."""

    stack: str
    account: str
    region: str
    policies: dict[str, Any] = field(default_factory=dict)
    principals: dict[str, Principal] = field(default_factory=dict)
    """Roles by key: `<role>` for the platform's, `<project>/<role>` for a project's (see `program`)."""
    resource_policies: dict[str, str] = field(default_factory=dict)
    """Resource ARN (key, bucket, topic, package group) -> name of its policy in `policies`."""
    namespace: str = ""
    project: str | None = None
    """The program whose view this is (`program`): None for the platform's, or for the environment's whole."""

    def name(self, arn: str) -> str:
        """The batch name of a document of this plan."""
        return f"{self.namespace}|{arn}"

    def program(self, project: str | None) -> Documents:
        """One program's view: its roles (and the bootstrap admin) by their plain keys, every document kept.

        The environment's documents stay: a project's role may act on the platform's resources (subnets, the
        logs key), and the isolation proof asks it to act on another project's, whose policies must be there.
        """
        own = {
            principal.key: principal
            for principal in self.principals.values()
            if principal.program == project or principal.key == BOOTSTRAP_ADMIN
        }
        if project is not None:  # the platform's roles a project's rows may name (its auditor reads runs)
            own |= {
                f"{PLATFORM}/{principal.key}": principal
                for principal in self.principals.values()
                if principal.program is None and principal.key != BOOTSTRAP_ADMIN
            }
        return replace(self, principals=own, project=project)


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
    role_keys = _role_keys(plan)
    for role in plan.of_type("aws:iam/role:Role"):
        arn = f"arn:aws:iam::{account}:role/{role.inputs['name']}"
        trust = docs.name(f"{arn}#trust")
        docs.policies[trust] = json.loads(role.inputs["assumeRolePolicy"])
        boundary = role.inputs.get("permissionsBoundary")
        environment = str(plan.outputs.get("environment", ""))
        own = role.inputs["name"].partition(f"-{environment}-")[2] or role.inputs["name"]
        if role.ml_project:
            own = own.removeprefix(f"{role.ml_project}-")
        key = role_keys.get(arn) or own
        docs.principals[f"{role.ml_project}/{key}" if role.ml_project else key] = Principal(
            key=key,
            arn=arn,
            account=account,
            identity=tuple(sorted(managed[p] for p in attached.get(role.inputs["name"], []) if p in managed)),
            boundary=(managed.get(boundary, docs.name(boundary)),) if boundary else None,
            trust=trust,
            program=role.ml_project,
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


def _role_keys(plan: Plan) -> dict[str, str]:
    """Role ARN -> key, from the `role_arns` output of every program of the plan."""
    programs = [plan.outputs, *plan.outputs.get("projects", {}).values()]
    return {arn: key for outputs in programs for key, arn in outputs.get("role_arns", {}).items()}


def key_arn(plan: Plan, key: PlannedResource) -> str | None:
    """The ARN of a planned KMS key: its program's `key_arns` output for the key's `purpose` tag."""
    outputs = plan.outputs.get("projects", {}).get(key.ml_project, {}) if key.ml_project else plan.outputs
    purpose = key.inputs.get("tags", {}).get("purpose", "")
    arn = outputs.get("key_arns", {}).get(purpose) or plan.outputs.get("key_arns", {}).get(purpose)
    return str(arn) if arn else None


def _resource_policies(plan: Plan, docs: Documents) -> None:
    for key in plan.of_type("aws:kms/key:Key"):
        arn = key_arn(plan, key)
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
