"""Deny statements that make insecure SageMaker resources impossible to create, whoever asks.

They sit in the permissions boundary of every role the blueprint creates and in each role's own
guardrail policy, so an allow added later by mistake cannot switch them off.

Note: SageMaker refuses a volume KMS key on instance types with local NVMe storage only (g4dn, p4d,
...); keep such types out of `allowedInstanceTypes` or they cannot pass `DenyUnencryptedVolumes`.
"""

from __future__ import annotations

from collections.abc import Sequence

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


def sagemaker_guardrails(allowed_instance_types: Sequence[str], require_network_isolation: bool) -> list[Statement]:
    """Deny SageMaker jobs and models outside the VPC, unencrypted, unisolated or of an unlisted size."""
    statements = [
        _deny("DenyJobsOutsideVpc", JOBS_IN_VPC, {"Null": {"sagemaker:VpcSubnets": "true"}}),
        _deny("DenyUnencryptedVolumes", ENCRYPTED_JOBS, {"Null": {VOLUME_KEY: "true"}}),
        _deny("DenyUnencryptedOutput", ENCRYPTED_JOBS, {"Null": {OUTPUT_KEY: "true"}}),
        _deny(
            "DenyUnapprovedInstanceTypes",
            SIZED,
            {"ForAnyValue:StringNotLike": {"sagemaker:InstanceTypes": list(allowed_instance_types)}},
        ),
    ]
    if require_network_isolation:
        statements += [
            _deny("DenyDisabledNetworkIsolation", ISOLATED, {"Bool": {"sagemaker:NetworkIsolation": "false"}}),
            _deny("DenyMissingNetworkIsolation", ISOLATED, {"Null": {"sagemaker:NetworkIsolation": "true"}}),
        ]
    return statements


def _deny(sid: str, actions: list[str], conditions: dict[str, dict[str, object]]) -> Statement:
    return Statement(sid=sid, effect="Deny", actions=actions, resources=["*"], conditions=conditions)
