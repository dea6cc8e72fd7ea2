"""The AWS clients of the lifecycle commands: one place that creates them, so every error names its call."""

from __future__ import annotations

from typing import Any


def aws_client(service: str, region: str, endpoint_url: str | None = None, *, attempts: int | None = None) -> Any:
    """A boto3 client for `region` whose failed calls the CLI's error boundary can name.

    `attempts` bounds botocore's own tries (`total_max_attempts`, the first try included); without
    it botocore's configured default applies.
    """
    import boto3
    from botocore.config import Config

    from pipelines.aws_errors import watch

    config = Config(retries={"total_max_attempts": attempts}) if attempts else None
    return watch(boto3.client(service, region_name=region, endpoint_url=endpoint_url, config=config))
