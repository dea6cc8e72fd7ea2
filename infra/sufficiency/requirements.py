"""The required operations of one plan: one row per principal, action and resource, each citing its source.

Three sources feed the rows:
- `pulumi up` and `pulumi preview --refresh`: every resource of the plan, through the CloudFormation handler
  permissions of its type (cfn_types.yaml -> cfn_permissions.json), plus the rows written by hand there;
- the pipelines: every step of every pipeline definition in the plan (pipeline_steps.py);
- required.yaml: runtime roles, GitHub Actions jobs (trust and the AWS calls of their commands) and personas.
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from infra.sufficiency.cfn_extract import PERMISSIONS_FILE, cfn_types
from infra.sufficiency.documents import BOOTSTRAP_ADMIN, Documents
from kernel import yaml_text
from kernel.plan import Plan, PlannedResource

HERE = Path(__file__).resolve().parent
REQUIRED_FILE = HERE / "required.yaml"
DEPLOYERS = ("github-deploy", "platform-admin", BOOTSTRAP_ADMIN)
"""Who runs `pulumi up` on the platform: its deploy role, the platform admin (break-glass), the bootstrap admin."""
PREVIEWER = "github-preview"
GLOBAL_REGION = "us-east-1"
"""Where IAM, STS's global endpoint, Budgets and Cost Explorer serve requests (aws:RequestedRegion)."""
GLOBAL_SERVICES = {"iam", "budgets", "ce", "billing"}
_PLACEHOLDER = re.compile(r"\{([^{}]+)\}")
_ROLE_ARN = re.compile(r"^arn:aws:iam::\d{12}:role/[\w+=,.@/-]+$")
_KEY_ARN = re.compile(r"^arn:aws:kms:[a-z0-9-]+:\d{12}:key/[\w-]+$")
_CREATING = ("Create", "Put", "Register", "AddTags", "TagResource", "Tag")


@dataclass(frozen=True)
class Requirement:
    """One operation a principal must be able to perform, why, and where that requirement comes from."""

    principal: str
    action: str
    resource: str
    needed_by: str
    source: str
    context: tuple[tuple[str, Any], ...] = ()
    resource_account: str | None = None
    resource_policy: str | None = None
    """Name of the resource policy in the batch; None looks it up by the resource ARN in the plan."""
    trust: bool = False
    core: bool = False
    """Evaluate on the simulator's core engine, without its request validation (see tools/iam-simulate)."""
    resource_side_only: bool = False
    """Evaluate the resource's policy alone (the identity side is proved by another row)."""
    unresolved: str | None = None
    """Why the row cannot be evaluated (a template the plan cannot fill); None when it can."""

    @property
    def key(self) -> tuple[str, str, str, str]:
        """Rows with the same key are the same request: the first one's reasons are kept."""
        return (self.principal, self.action, self.resource, json.dumps(self.context, sort_keys=True))


@dataclass
class UnresolvableError(Exception):
    """A template names a value the plan does not have."""

    path: str
    where: str = field(default="")

    def __str__(self) -> str:
        return f"{self.where}: no value for {{{self.path}}}"


@cache
def cfn_permissions() -> dict[str, Any]:
    """The checked-in extract of CloudFormation handler permissions."""
    document: dict[str, Any] = json.loads(PERMISSIONS_FILE.read_text(encoding="utf-8"))
    return document


def cfn_source() -> str:
    """How a CloudFormation-derived row cites its source."""
    source = cfn_permissions()["source"]
    return f"{source['package']} {source['version']} schemas (schema_date {source['schema_date']})"


def lookup(data: Any, path: str) -> Any:
    """The value at a dotted path (`a.b.0.c`) of nested inputs; UnresolvableError when absent."""
    value = data
    for part in path.split("."):
        if isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        elif isinstance(value, dict) and part in value:
            value = value[part]
        else:
            raise UnresolvableError(path)
    if value is None or isinstance(value, dict | list):
        raise UnresolvableError(path)
    return value


def fill(template: str, values: dict[str, Any]) -> str:
    """Fill `{path}` placeholders of a template from `values` (nested); UnresolvableError when one is absent."""
    return _PLACEHOLDER.sub(lambda match: str(lookup(values, match.group(1))), template)


def base_context(principal_arn: str, account: str, region: str, action: str) -> dict[str, Any]:
    """The global condition keys every signed request carries."""
    service = action.split(":", 1)[0]
    return {
        "aws:PrincipalArn": principal_arn,
        "aws:PrincipalAccount": account,
        "aws:PrincipalType": "AssumedRole",
        "aws:RequestedRegion": GLOBAL_REGION if service in GLOBAL_SERVICES else region,
        "aws:SecureTransport": "true",
        "aws:ViaAWSService": "false",
    }


def principal_context(docs: Documents, principal: str, action: str) -> dict[str, Any]:
    """`base_context` for one of the plan's principals, by key.

    A principal the plan lacks gets the role ARN it would have, so that its rows are evaluated (and refused
    as missing) rather than dropped.
    """
    known = docs.principals.get(principal)
    arn = known.arn if known else f"arn:aws:iam::{docs.account}:role/{principal}"
    return base_context(arn, docs.account, docs.region, action)


def tag_context(action: str, tags: dict[str, str], *, creates: bool = False) -> dict[str, Any]:
    """Tag condition keys: request tags on calls that create or tag, resource tags on an existing resource.

    `creates` says the call creates the very resource it names (no resource tags exist yet); a
    `Create*` call on an existing resource (a grant on a key, a presigned URL of an app) has them.
    """
    verb = action.split(":", 1)[1]
    context: dict[str, Any] = {}
    if verb.startswith(_CREATING) and tags:
        context |= {f"aws:RequestTag/{key}": value for key, value in tags.items()}
        context["aws:TagKeys"] = sorted(tags)
    if not creates and tags:
        context |= {f"aws:ResourceTag/{key}": value for key, value in tags.items()}
    return context


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _matches(action: str, patterns: dict[str, str]) -> bool:
    return any(fnmatch.fnmatchcase(action.lower(), pattern.lower()) for pattern in patterns)


def _normalise(action: str) -> str:
    service, name = action.split(":", 1)
    return f"{service.lower()}:{name}"


def bucket_key(plan: Plan, bucket: str) -> str | None:
    """The KMS key a bucket encrypts new objects with by default (None for SSE-S3)."""
    for config in plan.of_type(
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
    ):
        if config.inputs.get("bucket") == bucket:
            for rule in config.inputs.get("rules", []):
                key = rule.get("applyServerSideEncryptionByDefault", {}).get("kmsMasterKeyId")
                if key:
                    return str(key)
    return None


def resource_values(plan: Plan, docs: Documents, resource: PlannedResource) -> dict[str, Any]:
    """What an ARN template of `resource` may name: its inputs, and region, account, name, key_arn."""
    values: dict[str, Any] = {**resource.inputs, "region": docs.region, "account": docs.account}
    values["name"] = resource.inputs.get("name", resource.name)
    purpose = resource.inputs.get("tags", {}).get("purpose") if isinstance(resource.inputs.get("tags"), dict) else None
    if resource.type == "aws:kms/key:Key" and purpose:
        values["key_arn"] = plan.outputs.get("key_arns", {}).get(purpose)
    return values


def deployers(docs: Documents) -> tuple[str, ...]:
    """Who runs `pulumi up` on a program: its own deploy role and the bootstrap admin (and the platform's admin).

    A project deploys with its own deploy role (issue 21: only that project's resources); the platform admin's
    break-glass statements are scoped to the platform's names, so it is not a project's deployer.
    """
    if docs.project is None:
        return DEPLOYERS
    return ("github-deploy", BOOTSTRAP_ADMIN)


def deployer_requirements(plan: Plan, docs: Documents) -> list[Requirement]:
    """`pulumi up` (deploy role, platform admin, bootstrap admin) and `pulumi preview --refresh` (preview role)."""
    table = cfn_types()
    rows: list[Requirement] = []
    for resource in plan.resources:
        if resource.type.startswith("mlops:"):
            continue
        entry = table.get(resource.type)
        if entry is None:
            rows.append(_unmapped(resource))
            continue
        rows += _resource_rows(plan, docs, resource, entry)
    return rows


def _unmapped(resource: PlannedResource) -> Requirement:
    return Requirement(
        principal="github-deploy",
        action="*:*",
        resource=resource.urn,
        needed_by=f"pulumi up: {resource.type} {resource.name}",
        source="infra/sufficiency/cfn_types.yaml",
        unresolved=f"{resource.type} is not in infra/sufficiency/cfn_types.yaml: map it to its CloudFormation type",
    )


def _handlers(entry: dict[str, Any]) -> tuple[dict[str, list[str]], str]:
    cfn = entry.get("cfn")
    if cfn:
        handlers = {h: list(a) for h, a in cfn_permissions()["types"][cfn].items()}
        source = f"CloudFormation {cfn} handlers.<h>.permissions, {cfn_source()}"
    else:
        handlers = {h: list(a) for h, a in entry["handlers"].items()}
        source = entry["source"]
    tagging = handlers.pop("tagging", [])
    if tagging:
        for handler in ("create", "update"):
            handlers.setdefault(handler, []).extend(a for a in tagging if a not in handlers.get(handler, []))
        handlers.setdefault("read", []).extend(
            a for a in tagging if a.split(":")[1].startswith(("List", "Get", "Describe"))
        )
    return handlers, source


def _resource_rows(plan: Plan, docs: Documents, resource: PlannedResource, entry: dict[str, Any]) -> list[Requirement]:
    handlers, source = _handlers(entry)
    extra = entry.get("extra", {})
    values = resource_values(plan, docs, resource)
    raw_tags = resource.inputs.get("tags")
    tags: dict[str, str] = raw_tags if isinstance(raw_tags, dict) else {}
    not_called = entry.get("not_called") or {}
    rows: list[Requirement] = []
    own: list[str] = []
    problem = None
    for template in entry["arn"]:
        try:
            own.append(fill(template, values))
        except UnresolvableError as error:
            problem = f"{resource.type} {resource.name}: {error}"
    for handler in _handlers_called(resource):
        actions = [(a, source) for a in handlers.get(handler, [])]
        actions += [(a, extra["source"]) for a in extra.get(handler, [])]
        for raw, cited in actions:
            action = _normalise(raw)
            if _matches(action, not_called) or _matches(f"{handler}:{action}", not_called):
                continue
            needed_by = f"pulumi up: {handler} {resource.type} {resource.name}"
            for target, context in _targets(plan, docs, resource, entry, action, own, values):
                # Tag keys describe the resource acted on: this resource's own tags, or a key's own tags.
                own_target = target in own
                creates = own_target and handler == "create" and action.split(":", 1)[1].startswith("Create")
                target_tags = tags if own_target else tags_of(plan, target)
                full = {**context, **tag_context(action, target_tags, creates=creates)}
                if entry.get("requested_region"):
                    full["aws:RequestedRegion"] = entry["requested_region"]
                cite = cited.replace("<h>", handler)
                rows += _for_principals(deployers(docs), docs, action, target, needed_by, cite, full, problem)
                if handler == "read":
                    preview = f"pulumi preview --refresh: read {resource.type} {resource.name}"
                    rows += _for_principals((PREVIEWER,), docs, action, target, preview, cite, full, problem)
    if entry.get("s3_object"):
        rows += _object_key_rows(plan, docs, resource, own, source)
    return rows


def _handlers_called(resource: PlannedResource) -> tuple[str, ...]:
    """The handlers `pulumi up` and `destroy` can call for `resource`.

    Pulumi's `retainOnDelete` option (Pulumi docs, "Resource options: retainOnDelete") leaves the
    resource in the cloud when it leaves the stack or is replaced: its delete handler is never called.
    """
    if resource.options.get("retainOnDelete"):
        return ("create", "read", "update")
    return ("create", "read", "update", "delete")


def _targets(  # noqa: PLR0917 - one call site; the arguments are the resource's whole context
    plan: Plan,
    docs: Documents,
    resource: PlannedResource,
    entry: dict[str, Any],
    action: str,
    own: list[str],
    values: dict[str, Any],
) -> list[tuple[str, dict[str, Any]]]:
    """The resources (and extra condition keys) an action of this resource's handlers acts on."""
    service = action.split(":", 1)[0]
    matching = [arn for arn in own if arn == "*" or arn.split(":")[2] == service]
    if matching:
        return [(arn, _iam_context(action, resource, docs)) for arn in matching]
    if action == "iam:PassRole":
        roles = sorted({s for s in _strings(resource.inputs) if _ROLE_ARN.match(s)})
        passed = {"iam:PassedToService": entry.get("pass_to", "")}
        return [(role, passed) for role in roles]
    related = (entry.get("related_by_action") or {}).get(action) or (entry.get("related") or {}).get(service)
    if related:
        targets: list[tuple[str, dict[str, Any]]] = []
        for template in related:
            try:
                targets.append((fill(template, values), {}))
            except UnresolvableError:
                continue
        return targets
    if service == "kms":
        keys = sorted({s for s in _strings(resource.inputs) if _KEY_ARN.match(s)})
        via: dict[str, Any] = {
            "kms:ViaService": f"{_service_of(own)}.{docs.region}.amazonaws.com",
            "kms:CallerAccount": docs.account,
        }
        if action == "kms:CreateGrant":
            via["kms:GrantIsForAWSResource"] = "true"  # the service creates the grant for its own resource
        return [(key, via) for key in keys]
    return [("*", {})]


SAGEMAKER_NAMES = {
    "feature-group": ("aws:sagemaker/featureGroup:FeatureGroup", "featureGroupName"),
    "pipeline": ("aws:sagemaker/pipeline:Pipeline", "pipelineName"),
    "endpoint": ("aws:sagemaker/endpoint:Endpoint", "name"),
    "model-package-group": ("aws:sagemaker/modelPackageGroup:ModelPackageGroup", "modelPackageGroupName"),
    "mlflow-tracking-server": ("aws:sagemaker/mlflowTrackingServer:MlflowTrackingServer", "trackingServerName"),
}


def tags_of(plan: Plan, arn: str) -> dict[str, str]:
    """The tags of the plan's resource with this ARN: keys, MLflow Apps and named SageMaker resources."""
    for purpose, key_arn in plan.outputs.get("key_arns", {}).items():
        if key_arn == arn:
            for key in plan.of_type("aws:kms/key:Key"):
                if key.inputs.get("tags", {}).get("purpose") == purpose:
                    return dict(key.inputs["tags"])
    if arn and arn == plan.outputs.get("tracking_arn"):
        for app in plan.of_type("aws:sagemaker/mlflowApp:MlflowApp"):
            return dict(app.inputs.get("tags", {}))
    kind, _, name = arn.partition(":sagemaker:")[2].split(":", 2)[-1].partition("/")
    token, field = SAGEMAKER_NAMES.get(kind, ("", ""))
    for resource in plan.of_type(token) if token else []:
        if resource.inputs.get(field) == name:
            return dict(resource.inputs.get("tags", {}))
    return {}


def _service_of(arns: list[str]) -> str:
    for arn in arns:
        if arn.startswith("arn:"):
            return arn.split(":")[2]
    return "unknown"


def sagemaker_context(inputs: dict[str, Any]) -> dict[str, Any]:
    """SageMaker's condition keys of a create request, from the resource's inputs (camelCase, any depth).

    VPC subnets and security groups, network isolation, instance types and the volume and output keys:
    the keys the guardrails test. The simulator keeps those its IAM data lists for the action.
    """
    found: dict[str, Any] = {}
    types: list[str] = []
    for key, value in walk_items(inputs):
        if key == "subnets" and isinstance(value, list):
            found["sagemaker:VpcSubnets"] = value
        elif key == "securityGroupIds" and isinstance(value, list):
            found["sagemaker:VpcSecurityGroupIds"] = value
        elif key == "enableNetworkIsolation" and isinstance(value, bool):
            found["sagemaker:NetworkIsolation"] = str(value).lower()
        elif key == "instanceType" and isinstance(value, str):
            types.append(value)
        elif key in ("volumeKmsKeyId", "kmsKeyArn") and isinstance(value, str):
            found["sagemaker:VolumeKmsKey"] = found["sagemaker:VolumeKmsKeyArn"] = value
    if types:
        found["sagemaker:InstanceTypes"] = sorted(set(types))
    return found


def walk_items(value: Any) -> Iterator[tuple[str, Any]]:
    """Every (key, value) pair in a nested document of mappings and lists, depth first."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield key, item
            yield from walk_items(item)
    elif isinstance(value, list):
        for item in value:
            yield from walk_items(item)


def _iam_context(action: str, resource: PlannedResource, docs: Documents) -> dict[str, Any]:
    """IAM's and SageMaker's own condition keys, from the resource's inputs."""
    if action.startswith("sagemaker:Create"):
        return sagemaker_context(resource.inputs)
    if action in ("iam:CreateRole", "iam:PutRolePermissionsBoundary") and resource.inputs.get("permissionsBoundary"):
        return {"iam:PermissionsBoundary": resource.inputs["permissionsBoundary"]}
    if action in ("iam:AttachRolePolicy", "iam:DetachRolePolicy") and resource.inputs.get("policyArn"):
        return {"iam:PolicyARN": resource.inputs["policyArn"]}
    return {}


def _object_key_rows(
    plan: Plan, docs: Documents, resource: PlannedResource, own: list[str], source: str
) -> list[Requirement]:
    """Uploading into (or reading from) an SSE-KMS bucket uses its default key through S3."""
    key = bucket_key(plan, resource.inputs["bucket"])
    if key is None or not own:
        return []
    via = {"kms:ViaService": f"s3.{docs.region}.amazonaws.com", "kms:CallerAccount": docs.account}
    cited = (
        "Amazon S3 user guide, 'Using server-side encryption with AWS KMS keys' (PutObject needs "
        f"kms:GenerateDataKey); {source}"
    )
    rows = []
    # Reads are HeadObject and GetObjectTagging, which need no key: only writes use it.
    for action, verb in (("kms:GenerateDataKey", "create"),):
        rows += _for_principals(
            deployers(docs),
            docs,
            action,
            key,
            f"pulumi up: {verb} {resource.type} {resource.name} ({own[0]})",
            cited,
            via,
            None,
        )
    return rows


def _for_principals(  # noqa: PLR0917 - the row's fields, in the order a row reads
    principals: tuple[str, ...],
    docs: Documents,
    action: str,
    target: str,
    needed_by: str,
    source: str,
    context: dict[str, Any],
    problem: str | None,
) -> list[Requirement]:
    rows = []
    for key in principals:
        full = {**principal_context(docs, key, action), **context}
        rows.append(
            Requirement(
                principal=key,
                action=action,
                resource=target,
                needed_by=needed_by,
                source=source,
                context=tuple(sorted(full.items())),
                unresolved=problem,
            )
        )
    return rows


def load_required() -> list[dict[str, Any]]:
    """The hand-written rows of required.yaml."""
    document: dict[str, Any] = yaml_text.load(REQUIRED_FILE.read_text(encoding="utf-8"))
    rows: list[dict[str, Any]] = document["rows"]
    return rows


def dedupe(rows: list[Requirement]) -> list[Requirement]:
    """One row per distinct request (principal, action, resource, context), the first reasons kept."""
    seen: dict[tuple[str, str, str, str], Requirement] = {}
    for row in rows:
        seen.setdefault(row.key, row)
    return list(seen.values())
