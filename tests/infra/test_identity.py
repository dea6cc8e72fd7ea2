"""Issue 4 guarantees on every stack: bounded roles, pinned trust, scoped grants, a clean IAM lint."""

from __future__ import annotations

import fnmatch
import json
import re
import warnings
from typing import Any

import pytest

from infra.iam import actions
from infra.iam.arns import Arns
from infra.iam.deployer import UNSCOPED_DEPLOY, deployer_statements
from infra.iam.guardrails import sagemaker_guardrails
from infra.iam.personas import persona_statements
from infra.iam.roles import PERSONAS, WORKLOADS
from kernel import StackConfig
from kernel.naming import Naming
from kernel.plan import Plan, PlannedResource
from tests.helpers import as_list, document, outputs_of, statements
from tests.infra.helpers import reference

ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
MANAGED = "aws:iam/policy:Policy"

READ_PREFIXES = ("Describe", "List", "Get", "Search", "BatchDescribe", "BatchGet", "Lookup", "View", "Filter")
UNSCOPED_WRITES = {
    *actions.UNSCOPED_CONTAINER,
    *actions.UNSCOPED_METRICS,
    *actions.UNSCOPED_MLFLOW_UI,
    *UNSCOPED_DEPLOY,
}
"""Writes AWS cannot scope to a resource; each list documents why (infra/iam/actions.py, deployer.py)."""


QUERIES = {"athena:StartQueryExecution", "sagemaker-mlflow:AccessUI", *actions.MLFLOW_UI}
"""Running a query reads data (Athena names it Start*); opening the MLflow UI reads runs."""


def is_read(action: str) -> bool:
    return action in QUERIES or action.split(":", 1)[1].startswith(READ_PREFIXES)


def roles(plan: Plan) -> dict[str, PlannedResource]:
    return {r.inputs["tags"]["role-kind"]: r for r in plan.of_type(ROLE)}


def access_policies(plan: Plan, role: PlannedResource) -> list[PlannedResource]:
    """The managed access policies attached to a role (its guardrails left out)."""
    attached = {
        a.inputs["policyArn"].rsplit("/", 1)[1]
        for a in plan.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
        if a.inputs["role"] == role.inputs["name"]
    }
    return [p for p in plan.of_type(MANAGED) if p.inputs["name"] in attached and "-access-" in p.inputs["name"]]


def grants(plan: Plan) -> list[tuple[str, dict[str, Any]]]:
    """Every Allow statement of every role's access policies, with the role kind."""
    result = []
    for kind, role in roles(plan).items():
        policies = access_policies(plan, role)
        assert policies, f"{kind} has no access policy"
        for policy in policies:
            result += [(kind, s) for s in statements(policy) if s["Effect"] == "Allow"]
    return result


def test_every_role_has_the_boundary_and_the_guardrails(plan: Plan) -> None:
    """Every role of the environment, the platform's and each project's, carries the platform's boundary and
    its own program's guardrails (a project's exempt only its own serverless model from the VPC)."""
    boundary = outputs_of(plan)["boundary_arn"]
    account = outputs_of(plan)["role_arns"]["jobs"].split(":")[4]
    assert len(plan.of_type(ROLE)) >= len(WORKLOADS) + 2
    for role in plan.of_type(ROLE):
        assert role.inputs["permissionsBoundary"] == boundary, role.name
        scope = f"mlops-{plan.stack}-{role.ml_project}" if role.ml_project else f"mlops-{plan.stack}"
        attached = [
            a.inputs["policyArn"]
            for a in plan.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
            if a.inputs["role"] == role.inputs["name"]
        ]
        assert f"arn:aws:iam::{account}:policy/{scope}-guardrails" in attached, role.name
        assert len(attached) <= 10, "IAM attaches at most 10 managed policies to a role by default"


def test_no_aws_managed_policy_is_attached(plan: Plan) -> None:
    for attachment in plan.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment"):
        assert ":aws:policy/" not in attachment.inputs["policyArn"]
    for role in plan.of_type(ROLE):
        assert not role.inputs.get("managedPolicyArns")


def test_deploy_role_trusts_exactly_one_repo_and_environment(plan: Plan, config: StackConfig, stack: str) -> None:
    repo = f"repo:{config.identity.github.org}/{config.identity.github.repo}"
    expected = {
        "github-deploy": f"{repo}:environment:{stack}",
        "github-preview": [f"{repo}:pull_request", f"{repo}:ref:refs/heads/main"],
    }
    for kind, subject in expected.items():
        (trust,) = statements(roles(plan)[kind], "assumeRolePolicy")
        assert trust["Action"] == ["sts:AssumeRoleWithWebIdentity"]
        assert trust["Principal"]["Federated"].endswith(":oidc-provider/token.actions.githubusercontent.com")
        assert set(trust["Condition"]) == {"StringEquals"}, "a StringLike sub would admit other refs"
        assert trust["Condition"]["StringEquals"] == {
            "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
            "token.actions.githubusercontent.com:sub": subject,
        }
    (provider,) = plan.of_type("aws:iam/openIdConnectProvider:OpenIdConnectProvider")
    assert provider.inputs["clientIdLists"] == ["sts.amazonaws.com"]


def test_execution_roles_trust_only_sagemaker_in_this_account(plan: Plan, config: StackConfig) -> None:
    for kind in WORKLOADS:
        (trust,) = statements(roles(plan)[kind], "assumeRolePolicy")
        assert trust["Principal"] == {"Service": "sagemaker.amazonaws.com"}
        assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": config.account_id}}


def test_personas_exist_only_for_configured_principals(plan: Plan, config: StackConfig) -> None:
    fields = {
        "data-scientist": config.identity.personas.data_scientists,
        "data-engineer": config.identity.personas.data_engineers,
        "ml-engineer": config.identity.personas.ml_engineers,
        "model-approver": config.identity.personas.model_approvers,
        "platform-admin": config.identity.personas.platform_admins,
        "auditor": config.identity.personas.auditors,
    }
    planned = roles(plan)
    for persona, principals in fields.items():
        if not principals:
            assert persona not in planned
            continue
        (trust,) = statements(planned[persona], "assumeRolePolicy")
        assert trust["Principal"] == {"AWS": principals}


def test_no_policy_grants_star_actions(plan: Plan) -> None:
    assert not plan.of_type(ROLE_POLICY), "access is granted by managed policies only"
    documents = [document(p) for p in plan.of_type(MANAGED)]
    for doc in documents:
        for statement in doc["Statement"]:
            if statement["Effect"] == "Allow":
                assert "NotAction" not in statement
                assert "*" not in as_list(statement["Action"]), statement["Sid"]
                assert "*:*" not in as_list(statement["Action"])


def test_writes_on_star_resources_only_where_aws_has_no_resource_level(plan: Plan) -> None:
    for kind, statement in grants(plan):
        if "*" not in as_list(statement["Resource"]):
            continue
        writes = [a for a in as_list(statement["Action"]) if not is_read(a) and a not in UNSCOPED_WRITES]
        assert not writes, f"{kind}/{statement['Sid']} grants {writes} on Resource '*'"


CROSS_ENVIRONMENT_READS = {"PromotedModelArtifacts", "PromotedModelKeys", "ServedModelPackages", "ReadPromotedPackages"}
"""A model trained in dev is served in staging and prod: these read it across accounts, read-only."""


def test_grants_stay_inside_this_environment(plan: Plan, config: StackConfig, stack: str) -> None:
    base = f"{config.name_prefix}-{stack}"
    other_envs = [f"{config.name_prefix}-{env}" for env in ("dev", "staging", "prod") if env != stack]
    for kind, statement in grants(plan):
        if statement["Sid"] in CROSS_ENVIRONMENT_READS:
            assert all(is_read(a) or a == "kms:Decrypt" for a in as_list(statement["Action"])), statement
            assert kind in ("model", "monitoring", "github-deploy", "github-review", "platform-admin")
            continue
        for resource in as_list(statement["Resource"]):
            assert not any(other in resource for other in other_envs), (kind, resource)
            if resource == "*" or resource.startswith(f"arn:aws:ecr:{config.region}:*:repository/"):
                continue  # unscoped reads and AWS-owned images (their accounts differ per region)
            if resource.startswith("arn:aws:s3:::"):
                assert resource.startswith((f"arn:aws:s3:::{base}-", f"arn:aws:s3:::{config.identity.state_bucket}"))
            else:
                assert f":{config.account_id}:" in resource, (kind, resource)


def test_pass_role_is_pinned_to_a_service(plan: Plan) -> None:
    for kind, statement in grants(plan):
        if "iam:PassRole" in as_list(statement["Action"]):
            assert "iam:PassedToService" in statement["Condition"]["StringEquals"], kind
            assert "*" not in as_list(statement["Resource"])


@pytest.mark.parametrize("environment", ["dev", "staging", "prod"])
def test_prod_writes_belong_to_deployers_and_the_approval_gate(environment: str) -> None:
    naming = Naming("mlops", environment, "333333333333", "eu-west-1")  # type: ignore[arg-type]
    names = {key: naming.iam(key) for key in (*WORKLOADS, *PERSONAS, "github-deploy")}
    writes = {
        persona: sorted(
            action
            for statement in persona_statements(persona, environment, Arns(naming), names, "arn:boundary")  # type: ignore[arg-type]
            for action in statement.actions
            if not is_read(action) and statement.sid != "QueryResults"  # Athena writes a query's result set
        )
        for persona in PERSONAS
    }
    assert writes["auditor"] == []
    assert writes["model-approver"] == ["sagemaker:UpdateModelPackage"]
    spark = [a for a in actions.SAGEMAKER_PIPELINE_RUN if not is_read(a)]  # a bulk load: the Spark ingestion
    loads = [a for a in actions.S3_WRITE if not is_read(a)] + ["sagemaker:PutRecord", *spark]
    assert writes["data-engineer"] == sorted(loads), "loads data, nothing else"
    runs = [
        statement
        for statement in persona_statements("data-engineer", environment, Arns(naming), names, "arn:boundary")  # type: ignore[arg-type]
        if set(spark) & set(statement.actions)
    ]
    assert [r for s in runs for r in s.resources] == [Arns(naming).sagemaker("pipeline", f"{naming.base}-ingest-*")]
    assert "sagemaker:CreateEndpoint" in writes["platform-admin"]
    if environment == "prod":
        assert writes["data-scientist"] == [] and writes["ml-engineer"] == []
    if environment == "staging":
        assert writes["data-scientist"] == []
        assert "sagemaker:CreateEndpoint" in writes["ml-engineer"]
    if environment == "dev":
        assert "sagemaker:CreateTrainingJob" in writes["data-scientist"]
        assert "sagemaker:CreateEndpoint" not in writes["data-scientist"]
    reads_runs = {
        persona
        for persona in PERSONAS
        for statement in persona_statements(persona, environment, Arns(naming), names, "arn:boundary")  # type: ignore[arg-type]
        if "sagemaker-mlflow:SearchRuns" in statement.actions
    }
    assert reads_runs >= {"auditor", "data-scientist", "ml-engineer", "model-approver"}
    logs_runs = {p for p, w in writes.items() if "sagemaker-mlflow:LogMetric" in w}
    assert logs_runs == ({"data-scientist", "ml-engineer"} if environment == "dev" else set())


def test_guardrails_deny_insecure_sagemaker_resources(plan: Plan, config: StackConfig) -> None:
    guardrails = next(p for p in plan.of_type(MANAGED) if p.inputs["name"].endswith("-guardrails"))
    by_sid = {s["Sid"]: s for s in statements(guardrails)}
    assert all(s["Effect"] == "Deny" for s in by_sid.values())
    assert by_sid["DenyJobsOutsideVpc"]["Condition"] == {"Null": {"sagemaker:VpcSubnets": "true"}}
    assert by_sid["DenyUnencryptedVolumes"]["Condition"] == {"Null": {"sagemaker:VolumeKmsKeyArn": "true"}}
    assert by_sid["DenyUnencryptedOutput"]["Condition"] == {"Null": {"sagemaker:OutputKmsKeyArn": "true"}}
    sizes = by_sid["DenyUnapprovedInstanceTypes"]["Condition"]["ForAnyValue:StringNotLike"]
    assert sizes == {"sagemaker:InstanceTypes": config.allowed_instance_types}
    assert "sagemaker:CreateTrainingJob" in by_sid["DenyDisabledNetworkIsolation"]["Action"]
    boundary = next(p for p in plan.of_type(MANAGED) if p.inputs["name"].endswith("-boundary"))
    boundary_sids = {s["Sid"] for s in statements(boundary)}
    assert set(by_sid) <= boundary_sids
    assert {
        "DenyUnboundedRoles",
        "DenyLongLivedCredentials",
        "DenyAuditTampering",
        "DenyInternetPaths",
    } <= boundary_sids


def test_network_isolation_guardrail_follows_config() -> None:
    sids = {s.sid for s in sagemaker_guardrails(["ml.m5.large"], require_network_isolation=False)}
    assert "DenyDisabledNetworkIsolation" not in sids and "DenyJobsOutsideVpc" in sids


def test_keys_name_their_users(plan: Plan) -> None:
    arns = outputs_of(plan)["role_arns"]
    keys = {k.inputs["tags"]["purpose"]: k for k in plan.of_type("aws:kms/key:Key")}

    def users(purpose: str) -> set[str]:
        use = [s for s in statements(keys[purpose]) if s["Sid"] == "KeyUse"]
        return set(as_list(use[0]["Principal"]["AWS"])) if use else set()

    assert arns["jobs"] in users("data") and arns["feature-store"] in users("data")
    assert arns["model"] in users("models") and arns["model"] not in users("data")
    assert users("alerts") == set()
    assert users("logs") == ({arns["auditor"]} if "auditor" in arns else set())


def test_policies_fit_aws_size_limits(plan: Plan) -> None:
    for policy in plan.of_type(MANAGED):
        assert len(re.sub(r"\s", "", policy.inputs["policy"])) <= 6_144, policy.name


NEWER_THAN_PARLIAMENT = {
    f"sagemaker:{verb}MlflowApp{suffix}"
    for verb, suffix in (("Create", ""), ("Describe", ""), ("Update", ""), ("Delete", ""), ("CreatePresigned", "Url"))
} | {"sagemaker:CallMlflowAppApi"}
"""Real actions newer than parliament's bundled IAM database (it would call them unknown)."""

DEPLOYERS = ("github-deploy", "platform-admin", "github-review")
"""A role that manages bucket policies can always write one that grants it data access (parliament's
RESOURCE_POLICY_PRIVILEGE_ESCALATION). Only the deployers have that power: deploys run from the
protected GitHub environment or the break-glass role, and CloudTrail records every PutBucketPolicy. The review
role's reaches only review stacks' buckets (`<prefix>-dev-pr-*`), which hold nothing but a pull request's own."""


SCOPED_SINCE_PARLIAMENT = {"sns:Unsubscribe", "sns:GetSubscriptionAttributes", "sns:SetSubscriptionAttributes"}
"""Actions parliament's older database knows only on `*`; AWS's reference data lists a `topic`
resource for them today (tests/infra/aws_reference.json), so they stay scoped to this environment's topics."""


def _scopable_today(finding: Any, policy: str) -> bool:
    """A RESOURCE_MISMATCH that is a narrowing, never a grant on `*`: named actions AWS now scopes, or
    members of a read wildcard (`cloudtrail:Get*` on `trail/*`) whose resource kind the statement does
    not name (channels, event data stores, resource-less calls the blueprint never makes): the scoped
    statement simply does not grant them, which is the point of scoping it."""
    if finding.issue != "RESOURCE_MISMATCH":
        return False
    actions = {item["action"] for item in finding.detail}
    from_wildcards = {a for a in actions if f'"{a}"' not in policy}
    return actions - from_wildcards <= SCOPED_SINCE_PARLIAMENT


def test_actions_scoped_since_parliament_take_a_topic_today() -> None:
    for action in SCOPED_SINCE_PARLIAMENT:
        assert [r["name"] for r in reference()["actions"][action]["resourceTypes"]] == ["topic"]


def test_parliament_finds_nothing_above_low_and_no_unknown_action(plan: Plan) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from parliament import analyze_policy_string, enhance_finding

    documents = plan.of_type(MANAGED)
    assert documents
    for resource in documents:
        findings = [enhance_finding(f) for f in analyze_policy_string(resource.inputs["policy"]).findings]
        deployer = any(f"-{d}-access-" in resource.name for d in DEPLOYERS)
        accepted = {"RESOURCE_POLICY_PRIVILEGE_ESCALATION"} if deployer else set()
        serious = [
            (f.issue, f.detail)
            for f in findings
            if f.severity not in ("LOW", "INFO", "MUTE")
            and f.issue not in accepted
            and not _scopable_today(f, resource.inputs["policy"])
        ]
        unknown = [
            (f.issue, f.detail)
            for f in findings
            if f.issue in ("UNKNOWN_ACTION", "UNKNOWN_PREFIX", "INVALID_ARN")
            and str(f.detail).removeprefix("Unknown action ") not in NEWER_THAN_PARLIAMENT
        ]
        assert not serious + unknown, f"{resource.name}: {json.dumps(serious + unknown, default=str)[:2000]}"


def test_every_granted_action_is_inside_the_boundary_ceiling(plan: Plan) -> None:
    boundary = next(p for p in plan.of_type(MANAGED) if p.inputs["name"].endswith("-boundary"))
    (ceiling,) = [s for s in statements(boundary) if s["Sid"] == "PlatformServicesCeiling"]
    services = {action.split(":", 1)[0] for action in as_list(ceiling["Action"])}
    granted = {
        action.split(":", 1)[0]
        for policy in plan.of_type(MANAGED)
        if "-access-" in policy.inputs["name"]
        for statement in statements(policy)
        if statement["Effect"] == "Allow"
        for action in as_list(statement.get("Action", []))
    }
    assert granted <= services, f"granted but capped by the boundary: {sorted(granted - services)}"


def test_only_the_pipeline_may_register_a_model(plan: Plan) -> None:
    boundary = next(p for p in plan.of_type(MANAGED) if p.inputs["name"].endswith("-boundary"))
    (deny,) = [s for s in statements(boundary) if s["Sid"] == "DenyRegistrationOutsideThePipeline"]
    assert deny["Effect"] == "Deny" and as_list(deny["Action"]) == ["sagemaker:CreateModelPackage"]
    pattern = deny["Condition"]["ArnNotLike"]["aws:PrincipalArn"]
    assert deny["Condition"] == {"ArnNotLike": {"aws:PrincipalArn": pattern}}
    assert fnmatch.fnmatchcase(outputs_of(plan)["role_arns"]["pipeline"], pattern)  # every project's pipeline role
    assert not any(
        fnmatch.fnmatchcase(arn, pattern) for kind, arn in outputs_of(plan)["role_arns"].items() if kind != "pipeline"
    )
    attached = {
        a.inputs["policyArn"].rsplit("/", 1)[1]
        for a in plan.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    }
    registrars = {
        policy.inputs["name"].split("-access-")[0]
        for policy in plan.of_type(MANAGED)
        if policy.inputs["name"] in attached and "-access-" in policy.inputs["name"]
        for statement in statements(policy)
        if statement["Effect"] == "Allow" and "sagemaker:CreateModelPackage" in as_list(statement["Action"])
    }
    assert registrars <= {outputs_of(plan)["role_arns"]["pipeline"].rsplit("/", 1)[1]}


def test_the_deployer_manages_only_its_environments_mlflow_apps() -> None:
    naming = Naming("mlops", "staging", "222222222222", "eu-west-1")
    found = {s.sid: s for s in deployer_statements(Arns(naming), "arn:boundary")}
    create, manage = found["CreateMlflowApps"], found["ManageMlflowApps"]
    assert "sagemaker:CreateMlflowApp" in create.actions
    assert create.conditions == {"StringEquals": {"aws:RequestTag/environment": "staging"}}
    assert {"sagemaker:DeleteMlflowApp", "sagemaker:UpdateMlflowApp"} <= set(manage.actions)
    assert manage.conditions == {"StringEquals": {"aws:ResourceTag/environment": "staging"}}
