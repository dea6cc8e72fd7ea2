"""Deny statements that make insecure SageMaker resources impossible to create, whoever asks.

They sit in the permissions boundary of every role the blueprint creates and in each role's own
guardrail policy, so an allow added later by mistake cannot switch them off.

Note: SageMaker refuses a volume KMS key on instance types with local NVMe storage only (g4dn, p4d,
...); keep such types out of `allowedInstanceTypes` or they cannot pass `DenyUnencryptedVolumes`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from infra.policy_document import Statement

JOBS_IN_VPC = [
    "sagemaker:CreateTrainingJob",
    "sagemaker:CreateProcessingJob",
    "sagemaker:CreateHyperParameterTuningJob",
    "sagemaker:CreateModel",
]
ENCRYPTED_JOBS = [
    "sagemaker:CreateTrainingJob",
    "sagemaker:CreateProcessingJob",
    "sagemaker:CreateTransformJob",
    "sagemaker:CreateHyperParameterTuningJob",
]
ISOLATED = ["sagemaker:CreateTrainingJob", "sagemaker:CreateHyperParameterTuningJob", "sagemaker:CreateModel"]
"""Processing jobs are left out: they reach the feature store and Athena through VPC endpoints."""
SIZED = [*ENCRYPTED_JOBS, "sagemaker:CreateEndpointConfig"]

VOLUME_KEY = "sagemaker:VolumeKmsKeyArn"
OUTPUT_KEY = "sagemaker:OutputKmsKeyArn"
"""The keys these actions carry today (Service Authorization Reference). Their predecessors
`sagemaker:VolumeKmsKey` and `sagemaker:OutputKmsKey` are deprecated and no longer listed for job
creation: a request never carries them, so a `Null` deny on them would refuse every job."""


def sagemaker_guardrails(
    allowed_instance_types: Sequence[str], require_network_isolation: bool, models_outside_vpc: Sequence[str] = ()
) -> list[Statement]:
    """Deny SageMaker jobs and models outside the VPC, unencrypted, unisolated or of an unlisted size.

    `models_outside_vpc` (model ARN patterns) is dev's explicit relaxation for a serverless endpoint:
    SageMaker's serverless feature exclusions rule out VPC configuration and network isolation, so the
    VPC and isolation denies exempt exactly the serving model's names (`serving.serverless.outsideVpc`).
    """
    outside_vpc = {"Null": {"sagemaker:VpcSubnets": "true"}}
    statements = [
        *_deny_models_except("DenyJobsOutsideVpc", JOBS_IN_VPC, outside_vpc, models_outside_vpc),
        _deny("DenyUnencryptedVolumes", ENCRYPTED_JOBS, {"Null": {VOLUME_KEY: "true"}}),
        _deny("DenyUnencryptedOutput", ENCRYPTED_JOBS, {"Null": {OUTPUT_KEY: "true"}}),
        _deny(
            "DenyUnapprovedInstanceTypes",
            SIZED,
            {"ForAnyValue:StringNotLike": {"sagemaker:InstanceTypes": list(allowed_instance_types)}},
        ),
    ]
    if require_network_isolation:
        for sid, condition in (
            ("DenyDisabledNetworkIsolation", {"Bool": {"sagemaker:NetworkIsolation": "false"}}),
            ("DenyMissingNetworkIsolation", {"Null": {"sagemaker:NetworkIsolation": "true"}}),
        ):
            statements += _deny_models_except(sid, ISOLATED, condition, models_outside_vpc)
    return statements


def _deny_models_except(
    sid: str, actions: list[str], conditions: Mapping[str, Mapping[str, object]], exempt_models: Sequence[str]
) -> list[Statement]:
    """One deny; with exemptions, CreateModel moves to its own deny on every model but those."""
    if not exempt_models:
        return [_deny(sid, actions, conditions)]
    jobs = [action for action in actions if action != "sagemaker:CreateModel"]
    model = Statement(
        sid=f"{sid}Models",
        effect="Deny",
        actions=["sagemaker:CreateModel"],
        not_resources=list(exempt_models),
        conditions=conditions,
    )
    return [_deny(sid, jobs, conditions), model]


def _deny(sid: str, actions: list[str], conditions: Mapping[str, Mapping[str, object]]) -> Statement:
    return Statement(sid=sid, effect="Deny", actions=actions, resources=["*"], conditions=conditions)
