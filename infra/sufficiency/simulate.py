"""Evaluate required operations with @cloud-copilot/iam-simulate: one node process per plan, one batch of requests.

Each request carries the principal's identity policies and permissions boundary (the boundary holds the
guardrail denies too) and the resource's own policy (key, bucket, topic, package group), with the
condition keys the request would carry. The simulator's verdicts are taken as they are; whatever it
refuses to evaluate is reported as not evaluated, never as allowed.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import threading
from collections import Counter
from dataclasses import dataclass
from typing import Any

from infra.plan.evaluate import PROJECT_ROOT
from infra.sufficiency.documents import Documents
from infra.sufficiency.requirements import Requirement

TOOL = PROJECT_ROOT / "tools" / "iam-simulate"
SCRIPT = TOOL / "simulate.cjs"
ALLOWED = "Allowed"
_ONLY_THIS = "resource-side-only"
"""An identity policy allowing everything, for rows that evaluate a resource's own policy alone."""
NOT_EVALUATED = "NotEvaluated"


class SimulatorUnavailableError(RuntimeError):
    """node or the simulator package is missing: `npm ci --prefix tools/iam-simulate` installs it."""


@dataclass(frozen=True)
class Outcome:
    """The simulator's verdict on one requirement, and what refused it."""

    requirement: Requirement
    decision: str
    refused_by: str = ""
    detail: str = ""
    allowed_by: str = ""
    """The statements that allowed the request (`<document>#<sid>`), when it was allowed."""
    ignored: tuple[str, ...] = ()
    """Condition keys of the request the action does not carry (the simulator's IAM data), lower case."""

    @property
    def allowed(self) -> bool:
        """True only when the simulator evaluated the request and allowed it."""
        return self.decision == ALLOWED

    def describe(self) -> str:
        """One line naming principal, action, resource, who needs it, and what refuses it."""
        row = self.requirement
        verdict = "not evaluated" if self.decision == NOT_EVALUATED else f"refused by {self.refused_by}"
        return (
            f"{row.principal} cannot {row.action} on {row.resource}: {verdict}"
            f"{' (' + self.detail + ')' if self.detail else ''}; needed by {row.needed_by} [source: {row.source}]"
        )


class Verdicts:
    """Simulator results by request and by the content of the documents it names, shared between plans.

    The simulator is deterministic: the same request against byte-identical documents gets the same
    verdict, so a variant plan only sends what differs from the plans already evaluated.
    """

    def __init__(self) -> None:
        self._results: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> dict[str, Any] | None:
        """The result of an identical request, if one was evaluated."""
        with self._lock:
            return self._results.get(key)

    def put(self, key: str, result: dict[str, Any]) -> None:
        """Remember a result."""
        with self._lock:
            self._results[key] = result


def evaluate(
    docs: Documents,
    rows: list[Requirement],
    extra_policies: dict[str, Any] | None = None,
    verdicts: Verdicts | None = None,
) -> list[Outcome]:
    """Evaluate every row against the plan's documents in one simulator process."""
    return evaluate_many([(docs, rows)], extra_policies, verdicts)[0]


def evaluate_many(
    parts: list[tuple[Documents, list[Requirement]]],
    extra_policies: dict[str, Any] | None = None,
    verdicts: Verdicts | None = None,
) -> list[list[Outcome]]:
    """Evaluate several lists of rows, each against its own view of the documents, in one simulator process."""
    allow_all = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    policies: dict[str, Any] = {}
    for docs, _ in parts:
        policies |= docs.policies
    policies |= {**(extra_policies or {}), _ONLY_THIS: allow_all}
    digests = {
        name: hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest() for name, doc in policies.items()
    }
    verdicts = verdicts or Verdicts()
    flat = [(docs, row) for docs, rows in parts for row in rows]
    requests, outcomes, keys = [], {}, {}
    for index, (docs, row) in enumerate(flat):
        request = _request(index, row, docs, policies)
        if isinstance(request, Outcome):
            outcomes[index] = request
            continue
        keys[index] = _cache_key(request, digests)
        known = verdicts.get(keys[index])
        if known is None:
            requests.append(request)
        else:
            outcomes[index] = _outcome(row, known, docs)
    for result in _run({"policies": policies, "requests": requests}) if requests else []:
        index = int(result["id"])
        verdicts.put(keys[index], result)
        outcomes[index] = _outcome(flat[index][1], result, flat[index][0])
    results, start = [], 0
    for _, rows in parts:
        results.append([outcomes[index] for index in range(start, start + len(rows))])
        start += len(rows)
    return results


def _cache_key(request: dict[str, Any], digests: dict[str, str]) -> str:
    named = {
        "identity": [digests[n] for n in request["identity"]],
        "boundary": [digests[n] for n in request["boundary"] or []],
        "resourcePolicy": digests.get(request["resourcePolicy"] or "", ""),
    }
    return json.dumps({**request, **named, "id": None}, sort_keys=True)


def _request(index: int, row: Requirement, docs: Documents, policies: dict[str, Any]) -> dict[str, Any] | Outcome:
    if row.unresolved:
        return Outcome(row, NOT_EVALUATED, detail=row.unresolved)
    principal = docs.principals.get(row.principal)
    if row.trust:
        target = docs.principals.get(row.resource)
        if target is None or target.trust is None:
            return Outcome(row, "ImplicitlyDenied", refused_by=f"trust (the plan has no role {row.resource})")
        return {
            "id": index,
            "principal": dict(row.context)["_principal"],
            "action": row.action,
            "resource": target.arn,
            "account": target.account,
            "context": {k: v for k, v in row.context if not k.startswith("_")},
            "identity": [],
            "boundary": None,
            "resourcePolicy": target.trust,
            "core": True,
        }
    if principal is None:
        return Outcome(row, "ImplicitlyDenied", refused_by=f"no identity (the plan has no role {row.principal})")
    resource_policy = row.resource_policy or _resource_policy(row.resource, docs)
    if row.resource_side_only:
        identity, boundary = [_ONLY_THIS], None  # the caller's identity side is proved by another row
    else:
        identity = list(principal.identity)
        boundary = list(principal.boundary) if principal.boundary else None
    return {
        "id": index,
        "principal": principal.arn,
        "action": row.action,
        "resource": row.resource,
        "account": row.resource_account or principal.account,
        "context": dict(row.context),
        "identity": identity,
        "boundary": boundary,
        "resourcePolicy": resource_policy if resource_policy in policies else None,
        "core": row.core,
    }


def _resource_policy(resource: str, docs: Documents) -> str | None:
    """The policy guarding a resource: its own (key, topic, group) or its bucket's (objects)."""
    if resource in docs.resource_policies:
        return docs.resource_policies[resource]
    if resource.startswith("arn:aws:s3:::"):
        bucket = "arn:aws:s3:::" + resource.removeprefix("arn:aws:s3:::").split("/", 1)[0]
        return docs.resource_policies.get(bucket)
    if ":model-package/" in resource:
        group = resource.replace(":model-package/", ":model-package-group/").rsplit("/", 1)[0]
        return docs.resource_policies.get(group)
    return None


def _outcome(row: Requirement, result: dict[str, Any], docs: Documents) -> Outcome:
    decision = str(result["decision"])
    ignored = tuple(sorted(str(key).lower() for key in result.get("ignoredContextKeys", [])))
    if decision == ALLOWED:
        names = [str(name).rsplit("|", 1)[-1] for name in result.get("allowedBy", [])]
        return Outcome(row, decision, allowed_by=", ".join(dict.fromkeys(names)), ignored=ignored)
    if decision == NOT_EVALUATED:
        return Outcome(row, decision, detail=str(result.get("reason", "")))
    return Outcome(row, decision, refused_by=_refusal(result.get("denials", []), row, docs), ignored=ignored)


def _refusal(denials: list[dict[str, Any]], row: Requirement, docs: Documents) -> str:
    """Name what refused: a guardrail or boundary deny, no identity statement, the boundary, the resource policy."""
    if row.trust:
        return "trust (the role's trust policy does not admit this subject)"
    names = []
    for denial in denials:
        kind, sid = str(denial.get("policyType")), denial.get("sid")
        if denial.get("explicit"):
            where = {"pb": "boundary", "identity": "identity policy", "resource": "resource policy"}.get(kind, kind)
            label = "guardrail" if sid and str(sid).startswith("Deny") and kind in ("pb", "identity") else where
            policy = str(denial.get("policy") or where).split("|", 1)[-1]
            names.append(f"{label} {sid or ''} ({policy})".replace("  ", " "))
        elif kind == "identity":
            names.append("no identity statement")
        elif kind == "pb":
            names.append("the permissions boundary")
        elif kind == "resource":
            names.append(f"the resource policy of {row.resource}")
        else:
            names.append(str(kind))
    return ", ".join(dict.fromkeys(names)) or f"the simulator ({json.dumps(denials)})"


def _run(batch: dict[str, Any]) -> list[dict[str, Any]]:
    node = shutil.which("node")
    if node is None or not (TOOL / "node_modules" / "@cloud-copilot" / "iam-simulate").is_dir():
        raise SimulatorUnavailableError("the IAM simulator is not installed: run `npm ci --prefix tools/iam-simulate`")
    completed = subprocess.run(  # noqa: S603 - node on the project's own script, the batch on stdin
        [node, str(SCRIPT)], input=json.dumps(batch), capture_output=True, text=True, check=False, cwd=TOOL
    )
    if completed.returncode != 0:
        raise SimulatorUnavailableError(f"the IAM simulator failed: {completed.stderr.strip()[-2000:]}")
    results: list[dict[str, Any]] = json.loads(completed.stdout)
    return results


def summary(outcomes: list[Outcome]) -> dict[str, tuple[int, int, int]]:
    """Per principal: (allowed, not evaluated, required)."""
    allowed: Counter[str] = Counter()
    skipped: Counter[str] = Counter()
    total: Counter[str] = Counter()
    for outcome in outcomes:
        principal = outcome.requirement.principal
        total[principal] += 1
        allowed[principal] += outcome.allowed
        skipped[principal] += outcome.decision == NOT_EVALUATED
    return {p: (allowed[p], skipped[p], total[p]) for p in sorted(total)}
