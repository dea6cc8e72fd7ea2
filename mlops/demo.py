"""`mlops demo`: the whole model lifecycle offline, for every project on one platform, with the real code.

Plans run under Pulumi's mock runtime; the step scripts run locally on each project's shipped data; every AWS
call goes to an AWS emulator (moto server) started on 127.0.0.1 for the demo and stopped after it. Stack files
and project folders are copied into the output folder first, so promotions never touch the repository. The last
stage asks the IAM simulator whether one team may touch the other's model (it may not).
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.table import Table

from kernel.projects import Project
from mlops.console import UserError, console

EMULATOR_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "demo",
    "AWS_SECRET_ACCESS_KEY": "demo",
    "AWS_SESSION_TOKEN": "demo",
}
SAMPLE_RECORDS = 200
CONCEPT_DRIFT_PROJECT = "churn"
"""The project whose concept drift the demo plays (mlops/scenarios/traffic.py draws churn's customers)."""


@dataclass
class DemoState:
    """What one stage hands to the next."""

    root: Path
    out: Path
    workspace: Path
    endpoint_url: str = ""
    region: str = ""
    accounts: dict[str, str] = field(default_factory=dict)
    """The account of each stack, from its stack file: the emulator keeps one account per environment."""
    credentials: dict[str, tuple[str, str]] = field(default_factory=dict)
    """Emulator access keys per stack, each created in that stack's account (moto maps a key to its account)."""
    execution_arn: str = ""
    plans: dict[str, Any] = field(default_factory=dict)
    package_arn: str = ""
    summary: list[tuple[str, str, str]] = field(default_factory=list)
    project: Project | None = None
    """The project the per-project stages act on."""

    @property
    def current(self) -> Project:
        """The project the per-project stages act on (set before they run)."""
        if self.project is None:
            raise RuntimeError("no project is selected")
        return self.project

    @property
    def work(self) -> Path:
        """The current project's artefact folder."""
        return self.out / self.current.name

    def outputs(self, stack: str = "dev") -> dict[str, Any]:
        """The current project's outputs in `stack`'s plan."""
        return dict(self.plans[stack].outputs["projects"][self.current.name])

    def view(self, stack: str = "dev") -> Any:
        """The current project's view of `stack` (the platform's settings completed by the project's)."""
        from kernel import stack_file
        from kernel.loader import parse_settings, read_stack_file

        path = stack_file(stack, self.workspace)
        return parse_settings(read_stack_file(path), path.name, self.current)

    @property
    def execution_id(self) -> str:
        """The id of the training pipeline execution the demo started (the last part of its ARN)."""
        return self.execution_arn.rsplit("/", 1)[1]


def run_demo(root: Path, out: Path) -> None:
    """Run every stage; raise `UserError` naming the stage that failed."""
    if out.exists():
        shutil.rmtree(out)  # safe to run twice: every run starts from an empty folder
    workspace = out / "workspace"
    workspace.mkdir(parents=True)
    for name in ("Pulumi.yaml", *(p.name for p in root.glob("Pulumi.*.yaml"))):
        shutil.copy(root / name, workspace / name)
    shutil.copytree(root / "projects", workspace / "projects", ignore=shutil.ignore_patterns("__pycache__"))
    state = DemoState(root=root, out=out, workspace=workspace)
    _stacks(state)
    common: list[tuple[str, Callable[[DemoState], str]]] = [
        ("validate", _validate),
        ("plan dev + policy + cost", _plan),
    ]
    for name, stage in common:
        _run_stage(state, name, stage)
    per_project: list[tuple[str, Callable[[DemoState], str]]] = [
        ("train locally", _train),
        ("provision from plan", _provision),
        ("ingest features", _ingest),
        ("pipeline", _pipeline),
        ("register", _register),
        ("approve + promote", _promote),
        ("deploy + smoke test", _smoke),
        ("lineage", _lineage),
        ("drift + retrain", _drift),
    ]
    with _emulator(state):
        _run_stage(state, "plan staging", _plan_staging)
        for project in _projects(state):
            state.project = project
            for name, stage in per_project:
                _run_stage(state, f"{project.name}: {name}", stage)
        state.project = next(p for p in _projects(state) if p.name == CONCEPT_DRIFT_PROJECT)
        _run_stage(state, f"{CONCEPT_DRIFT_PROJECT}: concept drift: quality + report", _quality)
        _run_stage(state, "isolation", _isolation)
    table = Table(title="demo summary", title_justify="left")
    for column in ("stage", "result", "seconds"):
        table.add_column(column, overflow="fold")
    for row in state.summary:
        table.add_row(*row)
    console.rule("done")
    console.print(table)
    console.print(f"artefacts: {out}")


def _run_stage(state: DemoState, name: str, stage: Callable[[DemoState], str]) -> None:
    console.rule(name)
    started = time.perf_counter()
    try:
        result = stage(state)
    except UserError:
        raise
    except Exception as error:
        raise UserError(f"demo stage '{name}' failed: {type(error).__name__}: {error}") from error
    state.summary.append((name, result, f"{time.perf_counter() - started:.1f}"))
    console.print(f"[green]✓[/] {result}")


def _projects(state: DemoState) -> list[Project]:
    from kernel.projects import load_project, project_names

    return [load_project(state.workspace, name) for name in project_names(state.workspace)]


@contextmanager
def _emulator(state: DemoState) -> Iterator[None]:
    """A moto server on 127.0.0.1 that every AWS client of this process talks to, stopped afterwards."""
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # the emulator's request log would drown the demo
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    state.endpoint_url = f"http://{host}:{port}"
    saved = {key: os.environ.get(key) for key in [*EMULATOR_CREDENTIALS, "AWS_ENDPOINT_URL", "AWS_PROFILE"]}
    os.environ.update(EMULATOR_CREDENTIALS | {"AWS_ENDPOINT_URL": state.endpoint_url})
    os.environ.pop("AWS_PROFILE", None)
    try:
        _emulator_accounts(state)
        yield
    finally:
        server.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _stacks(state: DemoState) -> None:
    """The region and accounts the demo runs in: those of the fork's own stack files (dev's region)."""
    from kernel import ConfigError, load_stack_file, stack_file, stack_names

    for name in stack_names(state.workspace):
        try:
            config = load_stack_file(stack_file(name, state.workspace))
        except ConfigError:
            continue  # the validate stage reports it
        state.accounts[name] = config.account_id
        if name == "dev":
            state.region = config.region
    if not state.region:
        state.region = "eu-west-1"  # the validate stage fails first and names the problem


def _emulator_accounts(state: DemoState) -> None:
    """Give each stack's account an access key in the emulator, and make dev's this process's default."""
    import boto3

    for stack, account in state.accounts.items():
        iam = boto3.client("iam", region_name=state.region)
        iam.meta.events.register("before-send.iam.*", _in_account(account))
        user = f"demo-{stack}"
        iam.create_user(UserName=user)
        key = iam.create_access_key(UserName=user)["AccessKey"]
        state.credentials[stack] = (key["AccessKeyId"], key["SecretAccessKey"])
    if "dev" in state.credentials:
        os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"] = state.credentials["dev"]
        os.environ.pop("AWS_SESSION_TOKEN", None)
        boto3.setup_default_session()  # the step scripts' clients: a fresh session reads the new key


def _in_account(account: str) -> Callable[..., None]:
    """A botocore hook that asks the emulator to serve a request in `account` (moto's x-moto-account-id)."""

    def hook(request: Any, **_: Any) -> None:
        request.headers["x-moto-account-id"] = account

    return hook


def _client(service: str, state: DemoState, stack: str = "dev") -> Any:
    """A client of the emulator, signed with `stack`'s key so that it acts in that stack's account."""
    import boto3

    key, secret = state.credentials[stack]
    return boto3.client(service, region_name=state.region, aws_access_key_id=key, aws_secret_access_key=secret)


def _validate(state: DemoState) -> str:
    from mlops.validation import validate_stacks

    stacks = validate_stacks(state.workspace)
    if stacks is None:
        raise UserError("stack validation failed; fix the problems above")
    return f"{len(stacks)} stacks valid: {', '.join(stacks)}"


def _plan(state: DemoState) -> str:
    from infra.plan.evaluate import evaluate_stack
    from kernel import load_stack_file
    from mlops.reports import plan_table
    from policies.check import check_plan

    plan = evaluate_stack("dev", state.workspace)
    state.plans["dev"] = plan
    path = state.out / "plan-dev.json"
    plan.write(path)
    console.print(plan_table(plan))
    violations = check_plan(plan, load_stack_file(state.workspace / "Pulumi.dev.yaml"))  # policy pack, offline
    for violation in violations:
        console.print(f"  {violation.level}: {violation.rule.id}: {violation.message}")
    mandatory = [v for v in violations if v.level == "mandatory"]
    if mandatory:
        raise UserError(f"{len(mandatory)} mandatory policy violation(s) in the dev plan")
    from infra.cost.estimate import estimate

    config = load_stack_file(state.workspace / "Pulumi.dev.yaml")
    cost = estimate("dev", plan.resources, config)
    cost.write(state.out / "cost-dev.json")
    return (
        f"{len(plan.resources)} resources, {len(violations)} policy violation(s) -> {path}; "
        f"estimate ${cost.total('idle'):.2f}/month idle + ${cost.total('usage'):.2f} usage "
        f"(budget ${config.cost.monthly_budget_usd:.2f})"
    )


def _plan_staging(state: DemoState) -> str:
    from infra.plan.evaluate import evaluate_stack

    staging = evaluate_stack("staging", state.workspace)
    state.plans["staging"] = staging
    return f"{len(staging.resources)} resources in staging: the platform and {', '.join(staging.projects)}"


def _train(state: DemoState) -> str:
    from pipelines.local_run import run_training

    training = state.view().trained()
    run = run_training(
        state.work / "training",
        state.current,
        training.objective_metric,
        training.metric_threshold,
        max_bias=training.max_bias_gap,
        track=False,  # the TrackExperiment step runs once the pipeline execution exists (register)
    )
    decision = json.loads(run.evaluation.read_text())["decision"]
    verdict = "PASS: registers" if decision["passed"] else "FAIL: the pipeline would stop here"
    if not decision["passed"]:
        raise UserError(f"the model's {decision['metric']} {decision['value']:.3f} is below {decision['threshold']}")
    report = json.loads(run.evaluation.read_text())
    bias = report["bias"]["post_training"]
    top = ", ".join(list(report["attribution"])[:3])
    gaps = ", ".join(f"{key} {value:.3f}" for key, value in bias.items() if isinstance(value, int | float))
    console.print(
        f"bias on {report['bias']['attribute']}: {gaps} (max gap {training.max_bias_gap}); top features: {top}"
    )
    score = f"{decision['metric']} = {decision['value']:.3f}, threshold {decision['threshold']}"
    return f"{score} -> {verdict}; report {run.evaluation}"


def _provision(state: DemoState) -> str:
    from infra.plan.evaluate import PROJECT_ROOT
    from pipelines.plan_requests import api_request

    plan = state.plans["dev"].of_project(state.current.name)
    s3, sagemaker = _client("s3", state), _client("sagemaker", state)
    buckets = state.outputs()["bucket_names"]
    location = (
        {} if state.region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": state.region}}
    )
    for name in buckets.values():
        s3.create_bucket(Bucket=name, **location)
    (group,) = plan.of_type("aws:sagemaker/modelPackageGroup:ModelPackageGroup")
    sagemaker.create_model_package_group(**api_request(group.inputs))
    (features,) = plan.of_type("aws:sagemaker/featureGroup:FeatureGroup")
    sagemaker.create_feature_group(**api_request(features.inputs))
    for code in plan.of_type("aws:s3/bucketObjectv2:BucketObjectv2"):  # step scripts and Clarify configs
        inputs = code.inputs
        body = (
            inputs["content"].encode()
            if "content" in inputs
            else (PROJECT_ROOT / inputs["source"]["asset"]).read_bytes()
        )
        s3.put_object(Bucket=inputs["bucket"], Key=inputs["key"], Body=body,
                      ServerSideEncryption="aws:kms", SSEKMSKeyId=inputs["kmsKeyId"])  # fmt: skip
    return (
        f"{len(buckets)} buckets, model package group {group.inputs['modelPackageGroupName']}, "
        f"feature group {features.inputs['featureGroupName']} and the staged step code, all from the plan"
    )


def _ingest(state: DemoState) -> str:
    import csv

    from botocore.stub import Stubber

    from pipelines.features.ingest import feature_store_client, ingest

    schema = state.current.schema
    group = state.outputs()["feature_group_names"][schema.name]
    with state.current.sample_data.open(encoding="utf-8") as handle:
        rows = [schema.parse_row(row) for _, row in zip(range(SAMPLE_RECORDS), csv.DictReader(handle), strict=False)]
    client = feature_store_client(state.region, endpoint_url="https://featurestore-runtime.invalid")
    with Stubber(client) as stubber:
        for _ in rows:
            stubber.add_response("put_record", {})
        report = ingest(client, group, schema, rows)
        stubber.assert_no_pending_responses()
    return (
        f"{report.written} records validated against {schema.name} and written in {report.batches} batches "
        "(moto has no featurestore runtime: each PutRecord request was checked against the AWS API model)"
    )


def _pipeline(state: DemoState) -> str:
    from pipelines.pipeline_ops import start_pipeline, upsert_pipeline

    plan = state.plans["dev"].of_project(state.current.name)
    resource = _training_pipeline(plan)
    sagemaker = _client("sagemaker", state)
    definition = json.loads(resource.inputs["pipelineDefinition"])
    created = upsert_pipeline(sagemaker, resource.inputs["pipelineName"], definition, resource.inputs["roleArn"], {})
    again = upsert_pipeline(sagemaker, resource.inputs["pipelineName"], definition, resource.inputs["roleArn"], {})
    token = f"demo-run-{state.current.name}"  # an idempotency token, not a secret
    parameters = {"DataSource": "feature-store", "GitCommit": _git_commit(state.root)}
    execution = start_pipeline(sagemaker, resource.inputs["pipelineName"], parameters, token).arn
    state.execution_arn = execution
    steps = ", ".join(step["Name"] for step in definition["Steps"])
    name = resource.inputs["pipelineName"]
    return (
        f"{name} {created} then {again} ({steps}); started {state.execution_id} (moto records the execution and runs "
        "no step: the stages below do the steps' work)"
    )


def _training_pipeline(plan: Any) -> Any:
    """The planned training pipeline resource."""
    pipelines = plan.of_type("aws:sagemaker/pipeline:Pipeline")
    return next(p for p in pipelines if p.inputs["pipelineName"].endswith("-training"))


def _register(state: DemoState) -> str:
    import tarfile

    plan = state.plans["dev"].of_project(state.current.name)
    s3, sagemaker = _client("s3", state), _client("sagemaker", state)
    artifacts = state.outputs()["bucket_names"]["artifacts"]
    prefix = f"pipelines/training/{state.execution_id}"
    training = state.work / "training"
    archive = training / "model.tar.gz"
    with tarfile.open(archive, "w:gz") as bundle:
        for path in (training / "model").rglob("*"):
            bundle.add(path, arcname=str(path.relative_to(training / "model")))
    uploads = {
        f"{prefix}/Train/model/model.tar.gz": archive,
        f"{prefix}/Train/model/best-job/output/model.tar.gz": archive,  # where a tuned run's best model lands
        f"{prefix}/Evaluate/evaluation/evaluation.json": training / "evaluation" / "evaluation.json",
        f"{prefix}/Baseline/baseline/baseline.json": training / "baseline" / "baseline.json",
    }
    for key, path in uploads.items():
        s3.put_object(Bucket=artifacts, Key=key, Body=path.read_bytes())
    request = _register_request(plan, f"s3://{artifacts}/{prefix}", state)
    state.package_arn = sagemaker.create_model_package(**request)["ModelPackageArn"]
    _track(state)
    return (
        f"{state.package_arn} (PendingManualApproval, with its evaluation report, drift baseline and lineage; "
        "simulated: the demo sends the pipeline's own RegisterModel request, and its Clarify report links point "
        "where the AWS run writes them, since moto runs no Clarify job)"
    )


def _track(state: DemoState) -> None:
    """What the pipeline's TrackExperiment step does for this execution, into the local MLflow store."""
    from pipelines.definitions.settings import config_hash, experiment_name
    from pipelines.local_run import LocalTrainingRun

    config = state.view()
    run = LocalTrainingRun(state.work / "training")
    tracked = run.track(
        experiment=experiment_name(config.trained(), state.current.name),
        run_key=state.execution_id,
        git_commit=_git_commit(state.root),
        config_hash=config_hash(config),
        execution=state.execution_arn,
    )
    console.print(
        f"MLflow run {tracked['run_id']} ({state.execution_id}) in experiment {tracked['experiment']!r}, local store "
        f"{run.tracking_store}; in AWS the TrackExperiment step logs it to the stack's MLflow App"
    )


def _git_commit(root: Path) -> str:
    """The commit the demo runs (the lineage the pipeline records), or a marker outside a checkout."""
    import subprocess

    git = shutil.which("git")
    if git is None:
        return "not-a-git-checkout"
    result = subprocess.run(  # noqa: S603 - a fixed git command, no user input
        [git, "rev-parse", "HEAD"],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    return result.stdout.strip() if result.returncode == 0 else "not-a-git-checkout"


def _register_request(plan: Any, run_uri: str, state: DemoState) -> dict[str, Any]:
    """The pipeline's own RegisterModel request, its step references resolved to this run's outputs."""
    from pipelines.definitions.checks import DATA_BIAS_STEP, EXPLAINABILITY_STEP, MODEL_BIAS_STEP

    (resource,) = [
        p for p in plan.of_type("aws:sagemaker/pipeline:Pipeline") if p.inputs["pipelineName"].endswith("-training")
    ]
    definition = json.loads(resource.inputs["pipelineDefinition"])
    condition = next(step for step in definition["Steps"] if step["Type"] == "Condition")
    arguments = condition["Arguments"]["IfSteps"][0]["Arguments"]
    references = {
        "Steps.Train.ModelArtifacts.S3ModelArtifacts": f"{run_uri}/Train/model/model.tar.gz",
        "Steps.Evaluate.ProcessingOutputConfig.Outputs['evaluation'].S3Output.S3Uri": f"{run_uri}/Evaluate/evaluation",
        "Steps.Baseline.ProcessingOutputConfig.Outputs['baseline'].S3Output.S3Uri": f"{run_uri}/Baseline/baseline",
        "Parameters.ModelApprovalStatus": "PendingManualApproval",
        "Parameters.GitCommit": _git_commit(state.root),
        "Execution.PipelineExecutionArn": state.execution_arn,
        "Execution.PipelineExecutionId": state.execution_id,
        "Steps.Train.BestTrainingJob.TrainingJobName": "best-job",
    }
    for check in (DATA_BIAS_STEP, MODEL_BIAS_STEP, EXPLAINABILITY_STEP):  # Clarify's report of this run
        for result in ("CalculatedBaselineConstraints", "BaselineUsedForDriftCheckConstraints"):
            references[f"Steps.{check}.{result}"] = f"{run_uri}/{check}/report/analysis.json"
    property_files = {
        "Steps.Preprocess.PropertyFiles.DataLineage": state.work / "training" / "data" / "lineage" / "lineage.json",
        "Steps.Evaluate.PropertyFiles.EvaluationReport": state.work / "training" / "evaluation" / "evaluation.json",
    }

    def resolve(node: Any) -> Any:
        if isinstance(node, dict) and set(node) == {"Std:JsonGet"}:
            document: Any = json.loads(property_files[node["Std:JsonGet"]["PropertyFile"]["Get"]].read_text())
            for key in node["Std:JsonGet"]["Path"].split("."):
                document = document[key]
            return document
        if isinstance(node, dict) and set(node) == {"Get"}:
            return references[node["Get"]]
        if isinstance(node, dict) and set(node) == {"Std:Join"}:
            return node["Std:Join"]["On"].join(str(resolve(value)) for value in node["Std:Join"]["Values"])
        if isinstance(node, dict):
            return {key: resolve(value) for key, value in node.items()}
        if isinstance(node, list):
            return [resolve(value) for value in node]
        return node

    return dict(resolve(arguments))


def _promote(state: DemoState) -> str:
    from pipelines.lifecycle.promotion import promote
    from pipelines.lifecycle.registry import decide

    sagemaker = _client("sagemaker", state)
    metric = state.view().trained().objective_metric
    decide(sagemaker, state.package_arn, "Approved", f"demo: {metric} passes the dev gate on the held-out split")
    name = state.current.name
    to_staging = promote(sagemaker, state.workspace, state.package_arn, "staging", name)
    to_prod = promote(sagemaker, state.workspace, state.package_arn, "prod", name)
    state.plans["staging"] = _replan_project(state, "staging")
    return (
        f"approved; pinned in {to_staging.stack} and {to_prod.stack} "
        f"({state.workspace / 'projects' / name / 'project.yaml'}); `pulumi up` of {name}-staging would deploy it"
    )


def _replan_project(state: DemoState, stack: str) -> Any:
    """`stack`'s plan with the current project's part planned again (after a pin), the rest kept."""
    from infra.plan.evaluate import evaluate_stack
    from kernel.plan import Plan

    before = state.plans[stack]
    fresh = evaluate_stack(stack, state.workspace, projects=[state.current.name], platform=False)
    others = [r for r in before.resources if r.ml_project != state.current.name]
    outputs = {**before.outputs, "projects": {**before.outputs.get("projects", {}), **fresh.outputs["projects"]}}
    return Plan(
        stack=before.stack,
        project=before.project,
        resources=sorted(others + fresh.resources, key=lambda r: r.urn),
        outputs=outputs,
    )


def _smoke(state: DemoState) -> str:
    import requests

    from pipelines.lifecycle.smoke import sample_payload, smoke_test
    from pipelines.local_run import load_model_handlers

    staging = state.plans["staging"].of_project(state.current.name)
    endpoint = state.outputs("staging")["endpoint_name"]
    _deploy_endpoint(_client("sagemaker", state, "staging"), staging)
    project = state.current
    handlers = load_model_handlers(state.work / "training" / "model")
    model = handlers.model_fn(str(state.work / "training" / "model"))
    payload = sample_payload(project, rows=5)
    answer = handlers.output_fn(handlers.predict_fn(handlers.input_fn(payload), model))
    # moto cannot run a model: it answers with what the real inference handler computes for this payload.
    requests.post(
        f"{state.endpoint_url}/moto-api/static/sagemaker/endpoint-results",
        json={"region": state.region, "account_id": state.accounts["staging"],
              "results": [{"Body": answer, "ContentType": "text/csv", "InvokedProductionVariant": "primary"}]},
        timeout=10,
    )  # fmt: skip
    result = smoke_test(_client("sagemaker-runtime", state, "staging"), endpoint, payload, project.file.model.kind)
    return (
        f"{endpoint} created from the staging plan in account {state.accounts['staging']}; {result.rows} rows scored: "
        f"{result.scores} (simulated: moto cannot run a model, so the emulator answers with what the real inference "
        "handler computed for this payload locally)"
    )


def _deploy_endpoint(sagemaker: Any, plan: Any) -> None:
    """Create the plan's models, endpoint configuration and endpoint in the emulator, from their inputs."""
    from pipelines.plan_requests import api_request

    for model in plan.of_type("aws:sagemaker/model:Model"):
        sagemaker.create_model(ModelName=model.inputs["name"], **api_request(model.inputs, drop=("name",)))
    for config in plan.of_type("aws:sagemaker/endpointConfiguration:EndpointConfiguration"):
        request = api_request(config.inputs, drop=("name", "kmsKeyArn"))
        sagemaker.create_endpoint_config(
            EndpointConfigName=config.inputs["name"], KmsKeyId=config.inputs["kmsKeyArn"], **request
        )
    (endpoint,) = plan.of_type("aws:sagemaker/endpoint:Endpoint")
    sagemaker.create_endpoint(EndpointName=endpoint.inputs["name"], **api_request(endpoint.inputs, drop=("name",)))


def _lineage(state: DemoState) -> str:
    from mlops.commands.lineage import lineage_table
    from pipelines.lifecycle.lineage import endpoint_packages, lineage

    endpoint = state.outputs("staging")["endpoint_name"]
    serving = endpoint_packages(_client("sagemaker", state, "staging"), endpoint)[0]
    # the package lives in dev's registry; staging reads it across accounts (the group policy allows it)
    chain = lineage(_client("sagemaker", state), state.workspace, serving.package_arn, state.current.name, serving)
    chain = dataclasses.replace(chain, tracking_run_id=_mlflow_run_id(state, chain.tracking_run))
    (state.work / "lineage.json").write_text(json.dumps(chain.to_dict(), indent=2, sort_keys=True) + "\n")
    console.print(lineage_table(chain, f"what {endpoint} serves (`mlops lineage --endpoint {endpoint}`)"))
    return (
        f"{endpoint} -> {chain.package_arn} -> MLflow run {chain.tracking_run_id or chain.tracking_run} -> "
        f"data {chain.data_version[:19]}...; "
        f"{state.work / 'lineage.json'}"
    )


def _mlflow_run_id(state: DemoState, run_name: str) -> str:
    """The id of the MLflow run named `run_name`, looked up in the local store as one would in the stack's MLflow."""
    import logging

    from mlflow.tracking import MlflowClient

    from pipelines.definitions.settings import experiment_name
    from pipelines.local_run import LocalTrainingRun

    logging.getLogger("mlflow").setLevel(logging.WARNING)
    store = LocalTrainingRun(state.work / "training").tracking_store
    client = MlflowClient(tracking_uri=f"sqlite:///{store / 'mlflow.db'}")
    experiment = client.get_experiment_by_name(experiment_name(state.view().trained(), state.current.name))
    if experiment is None:
        return ""
    runs = client.search_runs([experiment.experiment_id], filter_string=f"attributes.run_name = '{run_name}'")
    return str(runs[0].info.run_id) if runs else ""


def _drift(state: DemoState) -> str:
    import numpy as np
    import pandas as pd

    from pipelines.local_run import LocalTrainingRun, run_step
    from pipelines.pipeline_ops import start_pipeline, upsert_pipeline

    staging = state.plans["staging"].of_project(state.current.name)
    endpoint = state.outputs("staging")["endpoint_name"]
    spec = state.current.spec()
    test = pd.read_csv(state.work / "training" / "data" / "test" / "test.csv")
    shifted = test.copy()  # a shift in the project's first numeric input, and in its first categorical one
    shifted[spec.numeric[0]] *= 1.3
    if spec.categorical:
        rare = shifted[spec.categorical[0]].value_counts().index[-1]
        shifted.loc[np.random.default_rng(0).random(len(shifted)) < 0.5, spec.categorical[0]] = rare
    capture = state.work / "capture" / endpoint
    capture.mkdir(parents=True)
    features = spec.features
    lines = [
        json.dumps(
            {
                "captureData": {
                    "endpointInput": {
                        "data": shifted.iloc[i : i + 100][features].to_csv(index=False),
                        "encoding": "CSV",
                    }
                }
            }
        )
        for i in range(0, len(shifted), 100)
    ]
    (capture / "capture.jsonl").write_text("\n".join(lines) + "\n")
    drift_dir = state.work / "drift"
    monitoring = state.outputs("staging").get("drift_pipeline_name")
    run_step(
        "drift", "--capture", str(capture), "--model-package-arn", state.package_arn, "--region", state.region,
        "--endpoint", endpoint, "--output", str(drift_dir), "--publish",
        "--project-spec", str(LocalTrainingRun(state.work / "training").spec),
    )  # fmt: skip
    report = json.loads((drift_dir / "drift.json").read_text())
    cloudwatch = _client("cloudwatch", state)
    published = [
        metric
        for metric in cloudwatch.list_metrics(Namespace="mlops/drift", MetricName="DriftedFeatures")["Metrics"]
        if {"Name": "Endpoint", "Value": endpoint} in metric["Dimensions"]
    ]
    (alarm,) = [
        a for a in staging.of_type("aws:cloudwatch/metricAlarm:MetricAlarm") if a.inputs["name"].endswith("-drift")
    ]
    firing = len(report["drifted_features"]) >= alarm.inputs["threshold"]
    if not firing:
        raise UserError("the injected shift was not detected")
    # Staging trains nothing: its drift rule sends the alarm to dev's event bus, where the rule that
    # accepts the serving accounts' drift starts dev's training pipeline.
    targets = staging.of_type("aws:cloudwatch/eventTarget:EventTarget")
    (forward,) = [t for t in targets if ":event-bus/" in t.inputs["arn"] and "drift" in t.inputs["rule"]]
    dev = state.plans["dev"].of_project(state.current.name)
    (target,) = [
        t
        for t in dev.of_type("aws:cloudwatch/eventTarget:EventTarget")
        if t.inputs.get("sagemakerPipelineTarget") and "forwarded-drift" in t.inputs["rule"]
    ]
    parameters = {p["name"]: p["value"] for p in target.inputs["sagemakerPipelineTarget"]["pipelineParameterLists"]}
    training = _training_pipeline(dev)
    sagemaker = _client("sagemaker", state)
    upsert_pipeline(
        sagemaker,
        training.inputs["pipelineName"],
        json.loads(training.inputs["pipelineDefinition"]),
        training.inputs["roleArn"],
        {},
    )
    # moto does not deliver CloudWatch alarm events to EventBridge targets, nor across accounts, so the
    # demo performs the planned targets' action itself: start dev's training pipeline with the rule's parameters.
    token = f"drift-demo-{state.current.name}"  # an idempotency token, not a secret
    execution = start_pipeline(sagemaker, training.inputs["pipelineName"], parameters, token).arn
    return (
        f"drifted: {', '.join(report['drifted_features'])} (metrics published: {len(published)} series; "
        f"drift pipeline {monitoring}); alarm {alarm.inputs['name']} fires -> {forward.inputs['arn']} -> "
        f"{training.inputs['pipelineName']} {execution.rsplit('/', 1)[1]} started with {parameters}; report "
        f"{drift_dir / 'drift.json'} (simulated: moto neither evaluates alarms nor delivers their events, so the "
        "demo compared the drifted count with the alarm's threshold and started the target of dev's forwarded-drift "
        "rule itself; the drift job ran with dev's key, since moto shares no package across accounts)"
    )


def _quality(state: DemoState) -> str:
    """Concept drift the inputs cannot show: data drift stays quiet, the quality job flags it, retraining starts."""
    from mlops.report.artefacts import load_artefacts
    from mlops.report.page import render
    from mlops.scenarios.concept_drift import EMULATOR_LIMITS, quality_history, run_concept_drift
    from pipelines.local_run import LocalTrainingRun, load_step_module
    from pipelines.pipeline_ops import start_pipeline

    training = LocalTrainingRun(state.work / "training")
    result = run_concept_drift(state.work / "quality" / "concept", training)
    history = quality_history(training)
    (state.work / "quality" / "history.json").write_text(json.dumps(history, indent=2, sort_keys=True) + "\n")
    if result.drift["drifted_features"] or result.quality["status"] != "violated" or result.detection is None:
        raise UserError("the concept-drift scenario was not told apart: data drift must be quiet, quality must flag")
    staging = state.plans["staging"].of_project(state.current.name)
    endpoint = state.outputs("staging")["endpoint_name"]
    document = json.loads((result.root / "quality" / "metric-data.json").read_text())
    quality = load_step_module("quality")
    data = [
        {**d, "Dimensions": [{"Name": "Endpoint", "Value": endpoint}], "Timestamp": quality.parse_time(d["Timestamp"])}
        for d in document["MetricData"]
    ]
    cloudwatch = _client("cloudwatch", state, "staging")  # the job runs where the endpoint serves
    cloudwatch.put_metric_data(Namespace=quality.NAMESPACE, MetricData=data)
    series = cloudwatch.list_metrics(Namespace=quality.NAMESPACE)["Metrics"]
    (alarm,) = [
        a for a in staging.of_type("aws:cloudwatch/metricAlarm:MetricAlarm") if a.inputs["name"].endswith("-quality")
    ]
    violations = next(d["Value"] for d in data if d["MetricName"] == alarm.inputs["metricName"])
    if violations < alarm.inputs["threshold"]:
        raise UserError(f"the quality alarm {alarm.inputs['name']} would not fire on {violations} violation(s)")
    # Staging trains nothing: its quality rule sends the alarm to dev's bus, where the rule accepting the serving
    # accounts' quality alarms starts dev's training pipeline (the model then waits for the same approval).
    (forward,) = [
        t
        for t in staging.of_type("aws:cloudwatch/eventTarget:EventTarget")
        if "quality" in t.inputs["rule"] and ":event-bus/" in t.inputs["arn"]
    ]
    dev = state.plans["dev"].of_project(state.current.name)
    (target,) = [
        t
        for t in dev.of_type("aws:cloudwatch/eventTarget:EventTarget")
        if t.inputs.get("sagemakerPipelineTarget") and "forwarded-quality" in t.inputs["rule"]
    ]
    parameters = {p["name"]: p["value"] for p in target.inputs["sagemakerPipelineTarget"]["pipelineParameterLists"]}
    training_pipeline = _training_pipeline(dev)
    token = f"quality-demo-{state.current.name}"  # an idempotency token, not a secret
    execution = start_pipeline(_client("sagemaker", state), training_pipeline.inputs["pipelineName"], parameters, token)
    report = state.work / "report.html"
    title = f"{state.current.name} in staging ({endpoint})"
    report.write_text(render(load_artefacts(state.work), title), encoding="utf-8")
    return (
        f"inputs unchanged (drift job: no drifted feature); quality job: {result.detection.summary()}; "
        f"{int(violations)} violation(s) published to {quality.NAMESPACE} ({len(series)} series in staging's "
        f"account); alarm {alarm.inputs['name']} fires -> {forward.inputs['arn']} -> "
        f"{training_pipeline.inputs['pipelineName']} {execution.arn.rsplit('/', 1)[1]} started with {parameters}; "
        f"report {report} (`mlops report --project {state.current.name} --stack staging`) "
        f"(simulated: {EMULATOR_LIMITS}; the demo compared the violations with the alarm's threshold and started "
        "the target of dev's forwarded-quality rule itself)"
    )


def _isolation(state: DemoState) -> str:
    """Ask the IAM simulator whether each team may touch the other team's model in dev (it may not)."""
    from infra.sufficiency.demo_isolation import cross_project_decisions

    plan = state.plans["dev"]
    rows = cross_project_decisions(plan, state.workspace)
    table = Table(title="one team on the other's model (dev, IAM simulator)", title_justify="left")
    for column in ("principal", "action", "resource", "decision"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(row.principal, row.action, row.resource, row.decision)
    console.print(table)
    leaks = [row for row in rows if not row.own and row.decision == "Allowed"]
    stuck = [row for row in rows if row.own and row.decision != "Allowed"]
    if leaks or stuck:
        raise UserError(f"isolation failed: {(leaks or stuck)[0]}")
    own = [row for row in rows if row.own]
    return (
        f"{len(rows) - len(own)} cross-project requests denied, {len(own)} same-project requests allowed "
        "(the planned policies evaluated by @cloud-copilot/iam-simulate; moto enforces no IAM)"
    )
