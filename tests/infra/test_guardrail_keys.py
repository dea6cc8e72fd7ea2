"""Issue 18: every guardrail deny tests a condition key AWS sends with each action it names.

A `Null` deny on a key the request never carries matches every request: a deprecated or misspelled
key would refuse every job. Source: the Service Authorization Reference (tests/infra/aws_reference.json).
"""

from __future__ import annotations

import pytest

from infra.iam.guardrails import sagemaker_guardrails
from tests.infra.helpers import condition_keys, reference


@pytest.mark.parametrize("isolation", [True, False])
def test_every_guardrail_key_is_one_aws_lists_for_its_actions(isolation: bool) -> None:
    for statement in sagemaker_guardrails(["ml.m5.large"], require_network_isolation=isolation):
        keys = {key for operator in (statement.conditions or {}).values() for key in operator}
        for action in statement.actions:
            missing = keys - set(condition_keys(action))
            assert not missing, f"{statement.sid}: AWS does not send {sorted(missing)} with {action}"


def test_the_deprecated_kms_keys_are_gone() -> None:
    deprecated = [k for k, text in reference()["conditionKeys"].items() if "deprecated" in text]
    assert {"sagemaker:VolumeKmsKey", "sagemaker:OutputKmsKey"} <= set(deprecated)
    used = {
        key
        for statement in sagemaker_guardrails(["ml.m5.large"], require_network_isolation=True)
        for operator in (statement.conditions or {}).values()
        for key in operator
    }
    assert not used & set(deprecated)
