"""The retries we own: clients that make exactly one request per call, and the backoff's bounds.

botocore's `max_attempts: 1` means one retry (two requests); `total_max_attempts: 1` means one request
(botocore/config.py, botocore 1.44.5): a failing server must see exactly one request per call.
"""

from __future__ import annotations

import random

import boto3
import pytest
from botocore.exceptions import ClientError

from pipelines.aws_retry import RetryPolicy, single_attempt_client, single_attempt_twin


def test_the_twin_of_a_client_makes_one_request_with_the_clients_own_credentials(
    failing: tuple[str, list[str]],
) -> None:
    endpoint, requests = failing
    client = boto3.client(
        "sagemaker",
        region_name="eu-west-1",
        endpoint_url=endpoint,
        aws_access_key_id="AKIAPROFILEKEY000000",
        aws_secret_access_key="profile-secret",
        aws_session_token="profile-token",
    )
    twin = single_attempt_twin(client)
    with pytest.raises(ClientError, match="InternalFailure"):
        twin.start_pipeline_execution(PipelineName="p", ClientRequestToken="t" * 32)
    assert requests == ["SageMaker.StartPipelineExecution"]
    frozen = twin._get_credentials().get_frozen_credentials()
    assert (frozen.access_key, frozen.secret_key, frozen.token) == (
        "AKIAPROFILEKEY000000",
        "profile-secret",
        "profile-token",
    )
    assert (twin.meta.region_name, twin.meta.endpoint_url) == ("eu-west-1", endpoint)
    requests.clear()
    with pytest.raises(ClientError, match="InternalFailure"):
        client.start_pipeline_execution(PipelineName="p", ClientRequestToken="t" * 32)
    assert len(requests) > 1, "the original client keeps botocore's own retries"


def test_a_single_attempt_client_makes_one_request(failing: tuple[str, list[str]]) -> None:
    endpoint, requests = failing
    client = single_attempt_client("sagemaker", "eu-west-1", endpoint)
    with pytest.raises(ClientError, match="InternalFailure"):
        client.describe_pipeline(PipelineName="p")
    assert requests == ["SageMaker.DescribePipeline"]


def test_backoff_is_jittered_and_bounded() -> None:
    policy = RetryPolicy()
    rng = random.Random(7)
    for attempt in range(12):
        ceiling = min(policy.max_delay, policy.base_delay * 2**attempt)
        delays = [policy.delay(attempt, rng) for _ in range(50)]
        assert all(0 <= delay <= ceiling for delay in delays)
        assert len(set(delays)) > 1, "full jitter spreads the retries of concurrent callers"
