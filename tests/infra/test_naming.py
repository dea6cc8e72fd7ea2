"""Resource names respect each AWS service's rules, or fail with the fix."""

from __future__ import annotations

import pytest

from kernel.naming import Naming, NamingError


def naming(prefix: str = "mlops", environment: str = "staging") -> Naming:
    return Naming(prefix, environment, "222222222222", "ap-southeast-2")  # type: ignore[arg-type]


def test_bucket_names_are_unique_per_account_and_region() -> None:
    assert naming().bucket("monitoring") == "mlops-staging-monitoring-222222222222-ap-southeast-2"


def test_longest_shipped_bucket_name_fits_in_the_longest_region() -> None:
    name = naming("abcdefghijkl").bucket("access-logs")
    assert len(name) <= 63


def test_too_long_name_says_what_to_shorten() -> None:
    with pytest.raises(NamingError, match=r"over the 63 allowed for an S3 bucket name; shorten `mlops:namePrefix`"):
        naming("abcdefghijkl").bucket("a-much-longer-purpose")


def test_sagemaker_and_iam_limits() -> None:
    assert naming().sagemaker("training") == "mlops-staging-training"
    with pytest.raises(NamingError, match="SageMaker name"):
        naming().sagemaker("x" * 60)
    with pytest.raises(NamingError, match="IAM role or policy name"):
        naming().iam("r" * 60)
    with pytest.raises(NamingError, match="not valid"):
        naming().sagemaker("under_score")


def test_kms_alias_is_scoped_by_prefix_and_environment() -> None:
    assert naming().kms_alias("data") == "alias/mlops/staging/data"
