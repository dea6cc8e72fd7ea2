"""What survives `pulumi destroy` and replacements: the resources that hold data or keys.

Data buckets, KMS keys, the model registry and feature groups are protected (Pulumi refuses to delete
or replace them: `pulumi destroy` stops before touching anything) and retained on delete (when they do
leave the stack, AWS keeps them). The CloudTrail trail is retained on delete: the permissions boundary
denies `cloudtrail:DeleteTrail` to every role but the break-glass admin, so a destroy or a trail
replacement leaves the trail logging for that admin to delete. `mlops:teardown: true` lifts the
protection (never the retention) for the documented teardown in the README.
"""

from __future__ import annotations

import pulumi

KEPT_TYPES = frozenset(
    {
        "aws:s3/bucket:Bucket",
        "aws:kms/key:Key",
        "aws:sagemaker/modelPackageGroup:ModelPackageGroup",
        "aws:sagemaker/featureGroup:FeatureGroup",
    }
)
"""Resources that hold data, keys or the record of what was trained: protected and retained on delete."""
RETAINED_TYPES = frozenset({"aws:cloudtrail/trail:Trail"})
"""Retained on delete only: deleting them is the break-glass admin's job."""


def keep_data(protect: bool) -> pulumi.ResourceTransformation:
    """A stack transformation that protects and retains what `KEPT_TYPES` lists (and retains the trail)."""

    def transform(args: pulumi.ResourceTransformationArgs) -> pulumi.ResourceTransformationResult | None:
        if args.type_ in KEPT_TYPES:
            options = pulumi.ResourceOptions(protect=protect, retain_on_delete=True)
        elif args.type_ in RETAINED_TYPES:
            options = pulumi.ResourceOptions(retain_on_delete=True)
        else:
            return None
        return pulumi.ResourceTransformationResult(args.props, pulumi.ResourceOptions.merge(args.opts, options))

    return transform
