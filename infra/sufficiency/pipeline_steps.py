"""What a pipeline's execution role must be able to do to start each step of each pipeline definition in a plan.

Each step becomes its SageMaker create call, with the condition keys the request carries (VPC subnets,
instance type, volume and output keys, network isolation) taken from the step's arguments, and the
iam:PassRole of the role the step runs as. The simulator keeps only the condition keys its IAM data lists
for the action: a guardrail on a key the action no longer carries is then seen as AWS sees it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from infra.sufficiency.documents import Documents
from infra.sufficiency.job_needs import job_requirements
from infra.sufficiency.requirements import Requirement, base_context, walk_items
from kernel.plan import Plan

SOURCE = (
    "SageMaker API reference (CreateProcessingJob, CreateHyperParameterTuningJob, CreateTrainingJob, CreateModel, "
    "CreateModelPackage, CreateTransformJob) and Service Authorization Reference, Amazon SageMaker condition keys"
)
ACTIONS = {
    "Processing": ("CreateProcessingJob", "processing-job"),
    "ClarifyCheck": ("CreateProcessingJob", "processing-job"),
    "QualityCheck": ("CreateProcessingJob", "processing-job"),
    "Training": ("CreateTrainingJob", "training-job"),
    "Tuning": ("CreateHyperParameterTuningJob", "hyper-parameter-tuning-job"),
    "Transform": ("CreateTransformJob", "transform-job"),
    "Model": ("CreateModel", "model"),
}


def pipeline_requirements(plan: Plan, docs: Documents) -> list[Requirement]:
    """For every step of every pipeline: the pipeline role's create call and pass-role, and the job role's needs."""
    rows: list[Requirement] = []
    for pipeline in plan.of_type("aws:sagemaker/pipeline:Pipeline"):
        definition = json.loads(pipeline.inputs["pipelineDefinition"])
        parameters = {p["Name"]: p.get("DefaultValue") for p in definition.get("Parameters", [])}
        runner = _role_key(docs, pipeline.inputs.get("roleArn"))
        if runner is None:
            continue
        name = pipeline.inputs["pipelineName"]
        steps = list(_steps(definition.get("Steps", [])))
        by_name = {step["Name"]: _resolve(step.get("Arguments", {}), parameters) for step in steps}
        for step in steps:
            rows += _step_rows(step, runner, name, parameters, docs)
            rows += job_requirements(plan, docs, step, by_name, f"pipeline {name} step {step['Name']}")
    return rows


def _role_key(docs: Documents, arn: Any) -> str | None:
    return next((key for key, principal in docs.principals.items() if principal.arn == arn), None)


def _steps(steps: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for step in steps:
        yield step
        arguments = step.get("Arguments", {})
        if step["Type"] == "Condition":
            yield from _steps(arguments.get("IfSteps", []) + arguments.get("ElseSteps", []))


def _step_rows(
    step: dict[str, Any], runner: str, pipeline: str, parameters: dict[str, Any], docs: Documents
) -> list[Requirement]:
    arguments = _resolve(step.get("Arguments", {}), parameters)
    needed_by = f"pipeline {pipeline} step {step['Name']} ({step['Type']})"
    principal = docs.principals[runner]
    region, account = docs.region, docs.account
    if step["Type"] == "RegisterModel":
        group = arguments.get("ModelPackageGroupName", "unknown")
        action, resource, context = "sagemaker:CreateModelPackage", f"model-package/{group}/1", {}
    elif step["Type"] in ACTIONS:
        verb, kind = ACTIONS[step["Type"]]
        action, resource = f"sagemaker:{verb}", f"{kind}/planned-{step['Name'].lower()}"
        context = _condition_keys(step["Type"], arguments)
    else:
        return []
    base = base_context(principal.arn, account, region, action)
    rows = [
        Requirement(
            principal=runner,
            action=action,
            resource=f"arn:aws:sagemaker:{region}:{account}:{resource}",
            needed_by=needed_by,
            source=SOURCE,
            context=tuple(sorted({**base, **context}.items())),
        )
    ]
    for role in sorted(_roles(arguments)):
        passed = {**base_context(principal.arn, account, region, "iam:PassRole")}
        passed["iam:PassedToService"] = "sagemaker.amazonaws.com"
        rows.append(
            Requirement(
                principal=runner,
                action="iam:PassRole",
                resource=role,
                needed_by=f"{needed_by}: the step runs as {role}",
                source="IAM user guide, 'Granting a user permissions to pass a role to an AWS service'",
                context=tuple(sorted(passed.items())),
            )
        )
    return rows


def _condition_keys(kind: str, arguments: dict[str, Any]) -> dict[str, Any]:
    """The SageMaker condition keys of a create request, from the step's arguments."""
    definition = arguments.get("TrainingJobDefinition", arguments)
    network = definition.get("NetworkConfig", {})
    vpc = definition.get("VpcConfig") or network.get("VpcConfig") or {}
    resources = definition.get("ResourceConfig") or definition.get("ProcessingResources", {}).get("ClusterConfig", {})
    output = definition.get("OutputDataConfig") or definition.get("ProcessingOutputConfig") or {}
    isolation = definition.get("EnableNetworkIsolation", network.get("EnableNetworkIsolation"))
    context: dict[str, Any] = {}
    if vpc.get("Subnets"):
        context["sagemaker:VpcSubnets"] = list(vpc["Subnets"])
        context["sagemaker:VpcSecurityGroupIds"] = list(vpc.get("SecurityGroupIds", []))
    if isinstance(resources.get("InstanceType"), str):
        context["sagemaker:InstanceTypes"] = [resources["InstanceType"]]
    for key in ("VolumeKmsKey", "VolumeKmsKeyArn"):
        if resources.get("VolumeKmsKeyId"):
            context[f"sagemaker:{key}"] = resources["VolumeKmsKeyId"]
    for key in ("OutputKmsKey", "OutputKmsKeyArn"):
        if output.get("KmsKeyId"):
            context[f"sagemaker:{key}"] = output["KmsKeyId"]
    if isolation is not None:
        context["sagemaker:NetworkIsolation"] = str(bool(isolation)).lower()
    if network.get("EnableInterContainerTrafficEncryption") is not None:
        context["sagemaker:InterContainerTrafficEncryption"] = str(
            network["EnableInterContainerTrafficEncryption"]
        ).lower()
    return context


def _roles(arguments: dict[str, Any]) -> set[str]:
    found = set()
    for key, value in walk_items(arguments):
        if key in ("RoleArn", "ExecutionRoleArn") and isinstance(value, str) and ":role/" in value:
            found.add(value)
    return found


def _resolve(value: Any, parameters: dict[str, Any]) -> Any:
    """Pipeline parameters replaced by their defaults; other runtime expressions left as they are."""
    if isinstance(value, dict):
        if set(value) == {"Get"} and str(value["Get"]).startswith("Parameters."):
            return parameters.get(str(value["Get"]).removeprefix("Parameters."), value)
        return {key: _resolve(item, parameters) for key, item in value.items()}
    if isinstance(value, list):
        return [_resolve(item, parameters) for item in value]
    return value
