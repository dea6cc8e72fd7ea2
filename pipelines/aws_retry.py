"""Retries we own: one backoff policy, and clients that make one attempt per call so it is the only bound.

Writes that must not be duplicated (`PutRecord` by record key, `StartPipelineExecution` by token and
display name) check or key each attempt themselves, so they retry in their own loop with `RetryPolicy`
over a client whose botocore retries are off. botocore's `total_max_attempts` counts every attempt, the
first included, so 1 means "never retry"; its `max_attempts` counts retries only (botocore/config.py,
botocore 1.44.5 in uv.lock).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from pipelines.aws_errors import watch


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded exponential backoff with full jitter."""

    max_attempts: int = 6
    base_delay: float = 0.2
    max_delay: float = 5.0

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Seconds to wait before attempt number `attempt + 1`."""
        return rng.uniform(0, min(self.max_delay, self.base_delay * 2**attempt))


SINGLE_ATTEMPT = {"total_max_attempts": 1, "mode": "standard"}
"""botocore's retry settings of a client whose caller owns the retries."""


def single_attempt_client(
    service: str, region: str, endpoint_url: str | None = None, *, connections: int | None = None
) -> Any:
    """A watched boto3 client of `service` in `region` that makes one attempt per call.

    `connections` sizes its connection pool (botocore's default is 10) for that many threads sharing it.
    """
    import boto3
    from botocore.config import Config

    config = Config(retries=SINGLE_ATTEMPT, **({"max_pool_connections": connections} if connections else {}))
    client = boto3.client(service, region_name=region, endpoint_url=endpoint_url, config=config)
    return watch(client)


def single_attempt_twin(client: Any) -> Any:
    """A twin of `client` (same service, region, endpoint, config and credentials) that makes one attempt per call.

    The credentials are the client's own (a profile, an assumed role), not the default chain's.
    """
    import boto3
    from botocore.config import Config

    credentials = client._get_credentials()
    frozen = credentials.get_frozen_credentials() if credentials is not None else None
    twin = boto3.client(
        client.meta.service_model.service_name,
        region_name=client.meta.region_name,
        endpoint_url=client.meta.endpoint_url,
        config=client.meta.config.merge(Config(retries=SINGLE_ATTEMPT)),
        aws_access_key_id=frozen.access_key if frozen else None,
        aws_secret_access_key=frozen.secret_key if frozen else None,
        aws_session_token=frozen.token if frozen else None,
    )
    return watch(twin)
