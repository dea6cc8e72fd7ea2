"""What serving a model needs: the model role behind each endpoint, and the deployer creating it from dev's registry.

Sources: the SageMaker developer guide's "CreateModel API: Execution Role Permissions" (the model's
artifact and the VPC), "Capture data from real-time endpoint" (the capture location and its key),
"Auto-Rollback Configuration and Monitoring" (the alarms deployment guardrails read), and the IAM user
guide's cross-account policy evaluation for a model trained in dev and served in staging or prod.
"""

from __future__ import annotations

from typing import Any

from infra.sufficiency.documents import BOOTSTRAP_ADMIN, Documents
from infra.sufficiency.requirements import (
    Requirement,
    bucket_key,
    deployers,
    principal_context,
    sagemaker_context,
)
from kernel.plan import Plan

MODEL_ARTIFACT = "pipelines/training/planned-execution/Train/model/planned-job/output/model.tar.gz"
"""Where the training pipeline writes a model (its S3OutputPath), under dev's artifacts bucket."""
MODEL_SOURCE = "SageMaker developer guide, 'CreateModel API: Execution Role Permissions'"
CAPTURE_SOURCE = "SageMaker developer guide, 'Capture data from real-time endpoint' (S3 destination and KmsKeyId)"
ROLLBACK_SOURCE = "SageMaker developer guide, 'Auto-Rollback Configuration and Monitoring' (cloudwatch:DescribeAlarms)"
CROSS_SOURCE = "IAM user guide, 'Cross-account policy evaluation logic' (identity allow and resource policy)"
CORE_SOURCE = (
    "SageMaker developer guide, cross-account model registry: the package group's policy grants CreateModel. "
    "CreateModel's only resource type is model (Service Authorization Reference), which the deployer's own "
    "CreateModel row proves; this row evaluates dev's group policy on its own, on the simulator's core engine "
    "(its IAM data has no model-package resource for the action)"
)


def serving_requirements(plan: Plan, docs: Documents, registry: Plan, registry_docs: Documents) -> list[Requirement]:
    """Rows of the model role(s) and of the deployer for the endpoints this plan serves."""
    rows: list[Requirement] = []
    models = plan.of_type("aws:sagemaker/model:Model")
    roles = {model.inputs["name"]: _key(docs, model.inputs.get("executionRoleArn")) for model in models}
    for model in models:
        role = roles[model.inputs["name"]]
        package = str(model.inputs.get("primaryContainer", {}).get("modelPackageName", ""))
        if role is None or not package:
            continue
        add = _Adder(docs, rows)
        needed_by = f"endpoint model {model.inputs['name']} (package {package})"
        artifacts = registry.outputs["bucket_names"]["artifacts"]
        owner = registry_docs if package.split(":")[4] != docs.account else docs
        add(role, "s3:GetObject", f"arn:aws:s3:::{artifacts}/{MODEL_ARTIFACT}", needed_by, MODEL_SOURCE, owner=owner)
        key = bucket_key(registry, artifacts)
        if key:
            via = {"kms:ViaService": f"s3.{docs.region}.amazonaws.com", "kms:CallerAccount": docs.account}
            add(role, "kms:Decrypt", key, needed_by, f"{MODEL_SOURCE}; {CROSS_SOURCE}", via, owner=owner)
        keys = sagemaker_context(model.inputs)
        for deployer in [d for d in deployers(docs) if d != BOOTSTRAP_ADMIN] if owner is not docs else ():
            add(deployer, "sagemaker:CreateModel", package, f"pulumi up: create {needed_by}", CORE_SOURCE, keys, owner)
    for config in plan.of_type("aws:sagemaker/endpointConfiguration:EndpointConfiguration"):
        capture = config.inputs.get("dataCaptureConfig") or {}
        variants = config.inputs.get("productionVariants", []) + (config.inputs.get("shadowProductionVariants") or [])
        capturing = {roles.get(v.get("modelName")) for v in variants} - {None}
        for role in sorted(r for r in capturing if r):
            _capture_rows(_Adder(docs, rows), role, capture, name=config.inputs["name"], plan=plan, docs=docs)
    for endpoint in plan.of_type("aws:sagemaker/endpoint:Endpoint"):
        alarms = (endpoint.inputs.get("deploymentConfig") or {}).get("autoRollbackConfiguration", {}).get("alarms", [])
        for role in sorted({r for r in roles.values() if r}):
            for alarm in alarms:
                arn = f"arn:aws:cloudwatch:{docs.region}:{docs.account}:alarm:{alarm['alarmName']}"
                needed_by = f"endpoint {endpoint.inputs['name']}: deployment guardrails read rollback alarms"
                _Adder(docs, rows)(role, "cloudwatch:DescribeAlarms", arn, needed_by, ROLLBACK_SOURCE)
    return rows


def _capture_rows(add: _Adder, role: str, capture: dict[str, Any], *, name: str, plan: Plan, docs: Documents) -> None:
    destination = str(capture.get("destinationS3Uri", ""))
    if not capture.get("enableCapture") or not destination.startswith("s3://"):
        return
    bucket, _, prefix = destination.removeprefix("s3://").partition("/")
    needed_by = f"endpoint config {name}: data capture to {destination}"
    add(
        role,
        "s3:PutObject",
        f"arn:aws:s3:::{bucket}/{prefix.rstrip('/')}/planned-capture.jsonl",
        needed_by,
        CAPTURE_SOURCE,
    )
    key = capture.get("kmsKeyId") or bucket_key(plan, bucket)
    if key:
        via = {"kms:ViaService": f"s3.{docs.region}.amazonaws.com", "kms:CallerAccount": docs.account}
        add(role, "kms:GenerateDataKey", str(key), needed_by, CAPTURE_SOURCE, via)


def _key(docs: Documents, arn: Any) -> str | None:
    return next((key for key, principal in docs.principals.items() if principal.arn == arn), None)


class _Adder:
    """Appends rows of this plan's principals, with the resource's owner for cross-account requests."""

    def __init__(self, docs: Documents, rows: list[Requirement]) -> None:
        self.docs, self.rows = docs, rows

    def __call__(  # noqa: PLR0917 - the row's fields, in the order a row reads
        self,
        principal: str,
        action: str,
        resource: str,
        needed_by: str,
        source: str,
        context: dict[str, Any] | None = None,
        owner: Documents | None = None,
    ) -> None:
        full = {**principal_context(self.docs, principal, action), **(context or {})}
        cross = owner is not None and owner.account != self.docs.account
        policy = _policy_of(resource, owner) if cross and owner else None
        self.rows.append(
            Requirement(
                principal=principal,
                action=action,
                resource=resource,
                needed_by=needed_by,
                source=source,
                context=tuple(sorted(full.items())),
                resource_account=owner.account if cross and owner else None,
                resource_policy=policy,
                core=action == "sagemaker:CreateModel",
                resource_side_only=action == "sagemaker:CreateModel",
            )
        )


def _policy_of(resource: str, owner: Documents) -> str | None:
    if resource in owner.resource_policies:
        return owner.resource_policies[resource]
    if resource.startswith("arn:aws:s3:::"):
        return owner.resource_policies.get("arn:aws:s3:::" + resource.removeprefix("arn:aws:s3:::").split("/", 1)[0])
    if ":model-package/" in resource:
        return owner.resource_policies.get(
            resource.replace(":model-package/", ":model-package-group/").rsplit("/", 1)[0]
        )
    return None
