"""The AWS clients of the lifecycle commands: one place that creates them, so every error names its call."""

from __future__ import annotations

from typing import Any


def aws_client(service: str, region: str, endpoint_url: str | None = None) -> Any:
    """A boto3 client for `region` whose failed calls the CLI's error boundary can name (operation, resource)."""
    import boto3

    from pipelines.aws_errors import watch

    return watch(boto3.client(service, region_name=region, endpoint_url=endpoint_url))
