"""`mlops demo`: the whole model lifecycle offline, with the real code at every stage.

Plans run under Pulumi's mock runtime; the step scripts run locally on the shipped data; every AWS
call goes to an AWS emulator (moto server) started on 127.0.0.1 for the demo and stopped after it.
Stack files are copied into the output folder first, so promotions never touch the repository.
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

from mlops.console import UserError, console

EMULATOR_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "demo",
    "AWS_SECRET_ACCESS_KEY": "demo",
    "AWS_SESSION_TOKEN": "demo",
}
SAMPLE_RECORDS = 200


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
    state = DemoState(root=root, out=out, workspace=workspace)
    _stacks(state)
    stages: list[tuple[str, Callable[[DemoState], str]]] = [
        ("validate", _validate),
        ("plan dev + policy + cost", _plan),
        ("train locally", _train),
    ]
    with _emulator(state):
        stages += [
            ("provision from plan", _provision),
            ("ingest features", _ingest),
            ("pipeline", _pipeline),
            ("register", _register),
            ("approve + promote", _promote),
            ("deploy + smoke test", _smoke),
            ("lineage", _lineage),
            ("drift + retrain", _drift),
            ("concept drift: quality + report", _quality),  # issue 22: see the section at the end of this file
        ]
        for name, stage in stages:
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
    table = Table(title="demo summary", title_justify="left")
    for column in ("stage", "result", "seconds"):
        table.add_column(column, overflow="fold")
    for row in state.summary:
        table.add_row(*row)
    console.rule("done")
    console.print(table)
    console.print(f"artefacts: {out}")


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


def _train(state: DemoState) -> str:
    from kernel import load_stack_file
    from pipelines.local_run import run_training

    training = load_stack_file(state.workspace / "Pulumi.dev.yaml").trained()
    run = run_training(
        state.out / "training",
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
    console.print(
        f"bias on {report['bias']['attribute']}: demographic parity gap {bias['demographic_parity_gap']:.3f} "
        f"(max {training.max_bias_gap}), disparate impact {bias['disparate_impact']:.2f}; top features: {top}"
    )
    score = f"{decision['metric']} = {decision['value']:.3f}, threshold {decision['threshold']}"
    return f"{score} -> {verdict}; report {run.evaluation}"


def _provision(state: DemoState) -> str:
    from infra.plan.evaluate import PROJECT_ROOT
    from pipelines.plan_requests import api_request

    plan = state.plans["dev"]
    s3, sagemaker = _client("s3", state), _client("sagemaker", state)
    buckets = plan.outputs["bucket_names"]
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

    from pipelines.data import CHURN_CSV
    from pipelines.features.ingest import feature_store_client, ingest
    from pipelines.features.schema import load_schemas

    schema = load_schemas()[0]
    group = state.plans["dev"].outputs["feature_group_names"][schema.name]
    with CHURN_CSV.open(encoding="utf-8") as handle:
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

    plan = state.plans["dev"]
    resource = _training_pipeline(plan)
    sagemaker = _client("sagemaker", state)
    definition = json.loads(resource.inputs["pipelineDefinition"])
    created = upsert_pipeline(sagemaker, resource.inputs["pipelineName"], definition, resource.inputs["roleArn"], {})
    again = upsert_pipeline(sagemaker, resource.inputs["pipelineName"], definition, resource.inputs["roleArn"], {})
    token = "demo-run"  # an idempotency token, not a secret
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

    plan = state.plans["dev"]
    s3, sagemaker = _client("s3", state), _client("sagemaker", state)
    artifacts = plan.outputs["bucket_names"]["artifacts"]
    prefix = f"pipelines/training/{state.execution_id}"
    training = state.out / "training"
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
    from kernel import load_stack_file
    from pipelines.definitions.settings import config_hash
    from pipelines.local_run import LocalTrainingRun

    config = load_stack_file(state.workspace / "Pulumi.dev.yaml")
    run = LocalTrainingRun(state.out / "training")
    tracked = run.track(
        experiment=config.trained().tracking.experiment,
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
        "Steps.Preprocess.PropertyFiles.DataLineage": state.out / "training" / "data" / "lineage" / "lineage.json",
        "Steps.Evaluate.PropertyFiles.EvaluationReport": state.out / "training" / "evaluation" / "evaluation.json",
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
    decide(sagemaker, state.package_arn, "Approved", "demo: auc above the dev threshold on the held-out split")
    to_staging = promote(sagemaker, state.workspace, state.package_arn, "staging")
    to_prod = promote(sagemaker, state.workspace, state.package_arn, "prod")
    return (
        f"approved; pinned in {to_staging.stack} and {to_prod.stack} "
        f"({state.workspace / 'Pulumi.prod.yaml'}); `pulumi up` would now deploy it"
    )


def _smoke(state: DemoState) -> str:
    import requests

    from infra.plan.evaluate import evaluate_stack
    from pipelines.lifecycle.smoke import sample_payload, smoke_test
    from pipelines.local_run import load_step_module

    staging = evaluate_stack("staging", state.workspace)
    state.plans["staging"] = staging
    endpoint = staging.outputs["endpoint_name"]
    _deploy_endpoint(_client("sagemaker", state, "staging"), staging)
    handlers = load_step_module("inference")
    model = handlers.model_fn(str(state.out / "training" / "model"))
    payload = sample_payload(rows=5)
    answer = handlers.output_fn(handlers.predict_fn(handlers.input_fn(payload), model))
    # moto cannot run a model: it answers with what the real inference handler computes for this payload.
    requests.post(
        f"{state.endpoint_url}/moto-api/static/sagemaker/endpoint-results",
        json={"region": state.region, "account_id": state.accounts["staging"],
              "results": [{"Body": answer, "ContentType": "text/csv", "InvokedProductionVariant": "primary"}]},
        timeout=10,
    )  # fmt: skip
    result = smoke_test(_client("sagemaker-runtime", state, "staging"), endpoint, payload)
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

    endpoint = state.plans["staging"].outputs["endpoint_name"]
    serving = endpoint_packages(_client("sagemaker", state, "staging"), endpoint)[0]
    # the package lives in dev's registry; staging reads it across accounts (the group policy allows it)
    chain = lineage(_client("sagemaker", state), state.workspace, serving.package_arn, serving)
    chain = dataclasses.replace(chain, tracking_run_id=_mlflow_run_id(state, chain.tracking_run))
    (state.out / "lineage.json").write_text(json.dumps(chain.to_dict(), indent=2, sort_keys=True) + "\n")
    console.print(lineage_table(chain, f"what {endpoint} serves (`mlops lineage --endpoint {endpoint}`)"))
    return (
        f"{endpoint} -> {chain.package_arn} -> MLflow run {chain.tracking_run_id or chain.tracking_run} -> "
        f"data {chain.data_version[:19]}...; "
        f"{state.out / 'lineage.json'}"
    )


def _mlflow_run_id(state: DemoState, run_name: str) -> str:
    """The id of the MLflow run named `run_name`, looked up in the local store as one would in the stack's MLflow."""
    import logging

    from mlflow.tracking import MlflowClient

    from kernel import load_stack_file
    from pipelines.local_run import LocalTrainingRun

    logging.getLogger("mlflow").setLevel(logging.WARNING)
    store = LocalTrainingRun(state.out / "training").tracking_store
    client = MlflowClient(tracking_uri=f"sqlite:///{store / 'mlflow.db'}")
    experiment = client.get_experiment_by_name(
        load_stack_file(state.workspace / "Pulumi.dev.yaml").trained().tracking.experiment
    )
    if experiment is None:
        return ""
    runs = client.search_runs([experiment.experiment_id], filter_string=f"attributes.run_name = '{run_name}'")
    return str(runs[0].info.run_id) if runs else ""


def _drift(state: DemoState) -> str:
    import numpy as np
    import pandas as pd

    from pipelines.local_run import load_step_module, run_step
    from pipelines.pipeline_ops import start_pipeline, upsert_pipeline

    staging = state.plans["staging"]
    endpoint = staging.outputs["endpoint_name"]
    test = pd.read_csv(state.out / "training" / "data" / "test" / "test.csv")
    shifted = test.copy()
    shifted["monthly_charges"] *= 1.3
    shifted.loc[np.random.default_rng(0).random(len(shifted)) < 0.5, "contract"] = "month-to-month"
    capture = state.out / "capture" / endpoint
    capture.mkdir(parents=True)
    features = load_step_module("dataset").FEATURES
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
    drift_dir = state.out / "drift"
    monitoring = staging.outputs.get("drift_pipeline_name")
    run_step(
        "drift", "--capture", str(capture), "--model-package-arn", state.package_arn, "--region", state.region,
        "--endpoint", endpoint, "--output", str(drift_dir), "--publish",
    )  # fmt: skip
    report = json.loads((drift_dir / "drift.json").read_text())
    cloudwatch = _client("cloudwatch", state)
    published = cloudwatch.list_metrics(Namespace="mlops/drift", MetricName="DriftedFeatures")["Metrics"]
    (alarm,) = [
        a for a in staging.of_type("aws:cloudwatch/metricAlarm:MetricAlarm") if a.inputs["name"].endswith("-drift")
    ]
    firing = len(report["drifted_features"]) >= alarm.inputs["threshold"]
    if not firing:
        raise UserError("the injected shift was not detected")
    # Staging trains nothing: its drift rule sends the alarm to dev's event bus, where the rule that
    # accepts the serving accounts' drift starts dev's training pipeline.
    targets = staging.of_type("aws:cloudwatch/eventTarget:EventTarget")
    (forward,) = [t for t in targets if ":event-bus/" in t.inputs["arn"]]
    dev = state.plans["dev"]
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
    execution = start_pipeline(sagemaker, training.inputs["pipelineName"], parameters, token="drift-demo").arn  # noqa: S106 - an idempotency token
    return (
        f"drifted: {', '.join(report['drifted_features'])} (metrics published: {len(published)} series; "
        f"drift pipeline {monitoring}); alarm {alarm.inputs['name']} fires -> {forward.inputs['arn']} -> "
        f"{training.inputs['pipelineName']} {execution.rsplit('/', 1)[1]} started with {parameters}; report "
        f"{drift_dir / 'drift.json'} (simulated: moto neither evaluates alarms nor delivers their events, so the "
        "demo compared the drifted count with the alarm's threshold and started the target of dev's forwarded-drift "
        "rule itself; the drift job ran with dev's key, since moto shares no package across accounts)"
    )


# --- issue 22: model quality with ground truth (concept drift), and the report -------------------------


def _quality(state: DemoState) -> str:
    """Concept drift the inputs cannot show: data drift stays quiet, the quality job flags it; then the report."""
    from mlops.report.artefacts import load_artefacts
    from mlops.report.page import render
    from pipelines.local_run import LocalTrainingRun, load_step_module
    from pipelines.quality_scenario import EMULATOR_LIMITS, quality_history, run_concept_drift

    training = LocalTrainingRun(state.out / "training")
    result = run_concept_drift(state.out / "quality" / "concept", training)
    history = quality_history(training)
    (state.out / "quality" / "history.json").write_text(json.dumps(history, indent=2, sort_keys=True) + "\n")
    if result.drift["drifted_features"] or result.quality["status"] != "violated" or result.detection is None:
        raise UserError("the concept-drift scenario was not told apart: data drift must be quiet, quality must flag")
    endpoint = state.plans["staging"].outputs["endpoint_name"]
    document = json.loads((result.root / "quality" / "metric-data.json").read_text())
    quality = load_step_module("quality")
    data = [
        {**d, "Dimensions": [{"Name": "Endpoint", "Value": endpoint}], "Timestamp": quality.parse_time(d["Timestamp"])}
        for d in document["MetricData"]
    ]
    cloudwatch = _client("cloudwatch", state, "staging")  # the job runs where the endpoint serves
    cloudwatch.put_metric_data(Namespace=quality.NAMESPACE, MetricData=data)
    series = cloudwatch.list_metrics(Namespace=quality.NAMESPACE)["Metrics"]
    violations = next(d["Value"] for d in data if d["MetricName"] == "Violations")
    report = state.out / "report.html"
    report.write_text(render(load_artefacts(state.out), f"churn in staging ({endpoint})"), encoding="utf-8")
    return (
        f"inputs unchanged (drift job: no drifted feature); quality job: {result.detection.summary()}; "
        f"{int(violations)} violation(s) published to {quality.NAMESPACE} ({len(series)} series in staging's account), "
        "the quality alarm's threshold is 1; "
        f"report {report} (simulated: {EMULATOR_LIMITS})"
    )
