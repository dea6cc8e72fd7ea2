"""IAM, key, bucket and topic policies built as data, serialised with `Output.json_dumps`.

`aws.iam.get_policy_document` is an invoke that the offline plan cannot evaluate; building the
document as data means the plan shows exactly the JSON that AWS receives, and tests can parse it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import pulumi

PolicyValue = pulumi.Input[str] | Sequence[pulumi.Input[str]]


@dataclass(frozen=True)
class Statement:
    """One policy statement. Omit `resources` for resource policies (S3, KMS, SNS) that imply them."""

    sid: str
    actions: Sequence[str] = ()
    resources: Sequence[pulumi.Input[str]] | None = None
    effect: Literal["Allow", "Deny"] = "Allow"
    principals: Mapping[str, PolicyValue] | None = None
    conditions: Mapping[str, Mapping[str, Any]] | None = None
    not_actions: Sequence[str] = ()
    """Set instead of `actions` for "everything but" statements (e.g. a region lock)."""
    not_resources: Sequence[pulumi.Input[str]] = ()
    """Set instead of `resources` for "everything but" statements (e.g. a deny with one named exemption)."""

    def to_dict(self) -> dict[str, Any]:
        """The statement as AWS expects it (PascalCase keys, only the keys that are set)."""
        statement: dict[str, Any] = {"Sid": self.sid, "Effect": self.effect}
        if self.not_actions:
            statement["NotAction"] = list(self.not_actions)
        else:
            statement["Action"] = list(self.actions)
        if self.principals is not None:
            statement["Principal"] = dict(self.principals)
        if self.not_resources:
            statement["NotResource"] = list(self.not_resources)
        elif self.resources is not None:
            statement["Resource"] = list(self.resources)
        if self.conditions:
            statement["Condition"] = {operator: dict(values) for operator, values in self.conditions.items()}
        return statement


def policy_json(*statements: Statement) -> pulumi.Output[str]:
    """A policy document (version 2012-10-17) as JSON, resolving any Output inside the statements."""
    return pulumi.Output.json_dumps(
        {"Version": "2012-10-17", "Statement": [statement.to_dict() for statement in statements]}
    )


def deny_insecure_transport(actions: Sequence[str], resources: Sequence[pulumi.Input[str]] | None = None) -> Statement:
    """Deny every request not made over TLS: the standard `aws:SecureTransport` guard (S3.5, SNS)."""
    return Statement(
        sid="DenyInsecureTransport",
        effect="Deny",
        principals={"AWS": "*"},
        actions=actions,
        resources=resources,
        conditions={"Bool": {"aws:SecureTransport": "false"}},
    )


def chunk_statements(statements: Sequence[Statement], limit: int) -> list[list[Statement]]:
    """Split statements into documents of at most `limit` characters, the way IAM counts them.

    IAM counts a policy's size without whitespace (6,144 for a managed policy). Statements must be
    plain data here (no Outputs), which every identity policy is: its ARNs are derived from names.
    """
    envelope = len('{"Version":"2012-10-17","Statement":[]}')
    chunks: list[list[Statement]] = [[]]
    size = envelope
    for statement in statements:
        text = json.dumps(statement.to_dict(), separators=(",", ":"))
        cost = len("".join(text.split())) + 1
        if envelope + cost > limit:
            raise ValueError(f"statement {statement.sid} alone exceeds the {limit}-character policy limit")
        if size + cost > limit:
            chunks.append([])
            size = envelope
        chunks[-1].append(statement)
        size += cost
    return chunks
