"""What a SageMaker job's execution role needs inside the job, from the job's own arguments.

Source: the SageMaker developer guide's execution-role pages ("CreateProcessingJob API: Execution Role
Permissions", "CreateTrainingJob API: Execution Role Permissions"): read the S3 inputs and write the S3
outputs (with the keys that encrypt them), pull the image from ECR, write CloudWatch Logs, and create
network interfaces in the VPC; Clarify's model checks also serve the model from a shadow endpoint
("Configure a SageMaker Clarify processing job": sagemaker:CreateEndpoint and friends on sm-clarify-*).
"""

from __future__ import annotations

import re
from typing import Any

from infra.sufficiency.documents import Documents
from infra.sufficiency.requirements import Requirement, base_context, bucket_key
from kernel.plan import Plan

SOURCE = "SageMaker developer guide, '{verb} API: Execution Role Permissions'"
CLARIFY_SOURCE = (
    "SageMaker developer guide, 'Configure a SageMaker Clarify processing job' (shadow endpoint sm-clarify-*)"
)
_IMAGE = re.compile(r"^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com/([^:@]+)")
_STEP_OUTPUT = re.compile(r"^Steps\.([^.]+)\.ProcessingOutputConfig\.Outputs\['([^']+)'\]\.S3Output\.S3Uri$")
_PROPERTY_FILE = re.compile(r"Steps\.([^.]+)\.PropertyFiles\.")
ECR_PULL = ("ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability")
VPC_READ = (
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeVpcs",
    "ec2:DescribeSubnets",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeDhcpOptions",
)
ATHENA_SOURCE = "Athena user guide, 'UNLOAD' and 'Access to Amazon S3' (a query runs with its caller's permissions)"
CLARIFY_ENDPOINT = (
    "sagemaker:CreateEndpointConfig",
    "sagemaker:CreateEndpoint",
    "sagemaker:DescribeEndpoint",
    "sagemaker:InvokeEndpoint",
    "sagemaker:DeleteEndpoint",
    "sagemaker:DeleteEndpointConfig",
)


def job_requirements(
    plan: Plan, docs: Documents, step: dict[str, Any], steps: dict[str, dict[str, Any]], needed_by: str
) -> list[Requirement]:
    """The job role's rows for one processing, training or tuning step."""
    arguments = steps.get(step["Name"], {})
    job = arguments.get("TrainingJobDefinition", arguments)
    role = job.get("RoleArn")
    principal = next((key for key, p in docs.principals.items() if p.arn == role), None)
    if principal is None or step["Type"] not in ("Processing", "ClarifyCheck", "QualityCheck", "Training", "Tuning"):
        return []
    training = step["Type"] in ("Training", "Tuning")
    verb = "CreateTrainingJob" if training else "CreateProcessingJob"
    rows = _Rows(docs, principal, needed_by, SOURCE.format(verb=verb))
    for uri in _inputs(job):
        _read(rows, plan, _render(uri, steps))
    outputs = _outputs(job)
    output_key = (job.get("OutputDataConfig") or job.get("ProcessingOutputConfig") or {}).get("KmsKeyId")
    for uri in outputs:
        _write(rows, plan, _render(uri, steps), output_key)
    image = (job.get("AlgorithmSpecification") or {}).get("TrainingImage") or (job.get("AppSpecification") or {}).get(
        "ImageUri"
    )
    match = _IMAGE.match(str(image or ""))
    if match:
        # The image repositories belong to AWS's image accounts; their repository policies are not documents
        # of this plan, so the identity side is evaluated (as in the role's own account) and said so.
        repository = f"arn:aws:ecr:{match.group(2)}:{match.group(1)}:repository/{match.group(3)}"
        pull = _Rows(docs, principal, f"{needed_by}: pull {match.group(3)} (identity side only)", rows.source)
        for action in ECR_PULL:
            pull.add(action, repository, {})
        pull.add("ecr:GetAuthorizationToken", "*", {})
        rows.rows += pull.rows
    group = "TrainingJobs" if training else "ProcessingJobs"
    log_group = f"arn:aws:logs:{docs.region}:{docs.account}:log-group:/aws/sagemaker/{group}"
    stream = f"{log_group}:log-stream:planned-{step['Name'].lower()}"
    for action in ("logs:CreateLogStream", "logs:PutLogEvents"):
        rows.add(action, stream, {})
    vpc = job.get("VpcConfig") or (job.get("NetworkConfig") or {}).get("VpcConfig") or {}
    if vpc.get("Subnets"):
        eni = f"arn:aws:ec2:{docs.region}:{docs.account}:network-interface/eni-0planned"
        for action in (
            "ec2:CreateNetworkInterface",
            "ec2:CreateNetworkInterfacePermission",
            "ec2:DeleteNetworkInterface",
        ):
            rows.add(action, eni, {})
        rows.add(
            "ec2:CreateNetworkInterface", f"arn:aws:ec2:{docs.region}:{docs.account}:subnet/{vpc['Subnets'][0]}", {}
        )
        for action in VPC_READ:
            rows.add(action, "*", {})
    export = _Rows(docs, principal, f"{needed_by}: the latest-record UNLOAD (Athena, as the job's role)", ATHENA_SOURCE)
    _export_rows(plan, export, job, steps)
    rows.rows += export.rows
    if step["Type"] == "ClarifyCheck" and _serves_a_model(plan, job):
        clarify = _Rows(docs, principal, f"{needed_by}: Clarify's shadow endpoint", CLARIFY_SOURCE)
        for action in CLARIFY_ENDPOINT:
            kind = "endpoint-config" if "EndpointConfig" in action else "endpoint"
            clarify.add(action, f"arn:aws:sagemaker:{docs.region}:{docs.account}:{kind}/sm-clarify-planned", {})
        rows.rows += clarify.rows
    return rows.rows


def _export_rows(plan: Plan, rows: _Rows, job: dict[str, Any], steps: dict[str, dict[str, Any]]) -> None:
    """A job that UNLOADs the offline store's latest records (`preprocess.py --export-to`): Athena acts as its role.

    Athena runs the query with the caller's permissions: it reads the table from the Glue catalog and its
    files from the offline store, and writes the UNLOAD's files to the TO location, encrypted as the
    workgroup's results are (Athena user guide, "UNLOAD": "UNLOAD output files are encrypted according to
    the encryption configuration used for Amazon S3"; "Access to Amazon S3" and "Fine-grained access to
    databases and tables in the AWS Glue Data Catalog").
    """
    arguments = (job.get("AppSpecification") or {}).get("ContainerArguments") or []
    given = dict(zip(arguments[::2], arguments[1::2], strict=False))
    if "--export-to" not in given:
        return
    docs = rows.docs
    workgroup, database, table = given.get("--workgroup"), given.get("--database"), given.get("--table")
    for action in ("athena:StartQueryExecution", "athena:GetQueryExecution"):
        rows.add(action, f"arn:aws:athena:{docs.region}:{docs.account}:workgroup/{workgroup}", {})
    for action, resource in (
        ("glue:GetDatabase", f"database/{database}"),
        ("glue:GetTable", f"table/{database}/{table}"),
        ("glue:GetTable", "catalog"),
    ):
        rows.add(action, f"arn:aws:glue:{docs.region}:{docs.account}:{resource}", {})
    for group in plan.of_type("aws:sagemaker/featureGroup:FeatureGroup"):
        offline = group.inputs.get("offlineStoreConfig") or {}
        if (offline.get("dataCatalogConfig") or {}).get("tableName") == table:
            storage = offline.get("s3StorageConfig") or {}
            _read(rows, plan, f"{str(storage.get('s3Uri', '')).rstrip('/')}/planned.parquet")
            if storage.get("kmsKeyId"):
                rows.add("kms:Decrypt", str(storage["kmsKeyId"]), _via_s3(docs))
    results_key, results_location = None, None
    for group in plan.of_type("aws:athena/workgroup:Workgroup"):
        if group.inputs.get("name") == workgroup:
            results = (group.inputs.get("configuration") or {}).get("resultConfiguration") or {}
            results_key = (results.get("encryptionConfiguration") or {}).get("kmsKeyArn")
            results_location = results.get("outputLocation")
    export = _render(given["--export-to"], steps)
    _write(rows, plan, export, results_key)
    if export and export.startswith("s3://"):  # UNLOAD checks that its TO location is empty, in the bucket's region
        bucket, _ = _split(export)
        for action in ("s3:ListBucket", "s3:GetBucketLocation"):
            rows.add(action, f"arn:aws:s3:::{bucket}", {})
    if isinstance(results_location, str):  # the query's manifest and metadata go to the workgroup's results
        _write(rows, plan, f"{results_location.rstrip('/')}/planned-query.csv.metadata", results_key)


class _Rows:
    def __init__(self, docs: Documents, principal: str, needed_by: str, source: str) -> None:
        self.docs, self.principal, self.needed_by, self.source = docs, principal, needed_by, source
        self.rows: list[Requirement] = []

    def add(self, action: str, resource: str, context: dict[str, Any]) -> None:
        arn = self.docs.principals[self.principal].arn
        full = {**base_context(arn, self.docs.account, self.docs.region, action), **context}
        self.rows.append(
            Requirement(
                principal=self.principal,
                action=action,
                resource=resource,
                needed_by=self.needed_by,
                source=self.source,
                context=tuple(sorted(full.items())),
            )
        )


def _via_s3(docs: Documents) -> dict[str, Any]:
    return {"kms:ViaService": f"s3.{docs.region}.amazonaws.com", "kms:CallerAccount": docs.account}


def _read(rows: _Rows, plan: Plan, uri: str | None) -> None:
    if not uri or not uri.startswith("s3://"):
        return  # a runtime value (another step's job name...) the plan cannot know
    bucket, key = _split(uri)
    rows.add("s3:GetObject", f"arn:aws:s3:::{bucket}/{key}", {})
    rows.add("s3:ListBucket", f"arn:aws:s3:::{bucket}", {})
    kms = bucket_key(plan, bucket)
    if kms:
        rows.add("kms:Decrypt", kms, _via_s3(rows.docs))


def _write(rows: _Rows, plan: Plan, uri: str | None, key_arn: str | None) -> None:
    if not uri or not uri.startswith("s3://"):
        return
    bucket, key = _split(uri)
    rows.add("s3:PutObject", f"arn:aws:s3:::{bucket}/{key}", {})
    kms = key_arn or bucket_key(plan, bucket)
    if kms:
        rows.add("kms:GenerateDataKey", kms, _via_s3(rows.docs))


def _split(uri: str) -> tuple[str, str]:
    """Bucket and an object key under the URI (a prefix gets a planned object name)."""
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    last = key.rsplit("/", 1)[-1]
    if not key or key.endswith("/") or "." not in last:
        key = f"{key.rstrip('/')}/planned-object" if key else "planned-object"
    return bucket, key


def _inputs(job: dict[str, Any]) -> list[Any]:
    uris = [item.get("S3Input", {}).get("S3Uri") for item in job.get("ProcessingInputs", [])]
    for channel in job.get("InputDataConfig", []):
        uris.append(channel.get("DataSource", {}).get("S3DataSource", {}).get("S3Uri"))
    return [uri for uri in uris if uri]


def _outputs(job: dict[str, Any]) -> list[Any]:
    uris = [o.get("S3Output", {}).get("S3Uri") for o in (job.get("ProcessingOutputConfig") or {}).get("Outputs", [])]
    uris.append((job.get("OutputDataConfig") or {}).get("S3OutputPath"))
    return [uri for uri in uris if uri]


def _render(value: Any, steps: dict[str, dict[str, Any]], depth: int = 0) -> str | None:
    """An S3 URI of a step argument: pipeline expressions rendered with planned names (None if unknowable)."""
    if isinstance(value, str):
        return value
    if not isinstance(value, dict) or depth > 5:
        return None
    if "Std:Join" in value:
        parts = [_render(part, steps, depth + 1) for part in value["Std:Join"]["Values"]]
        return None if None in parts else value["Std:Join"]["On"].join(str(p) for p in parts)
    if "Std:JsonGet" in value:  # the latest-record export's folder, which LatestRecords writes to its property file
        source = _PROPERTY_FILE.match(str((value["Std:JsonGet"].get("PropertyFile") or {}).get("Get", "")))
        specification = (steps.get(source.group(1), {}) if source else {}).get("AppSpecification") or {}
        arguments = specification.get("ContainerArguments") or []
        given = dict(zip(arguments[::2], arguments[1::2], strict=False))
        export = _render(given["--export-to"], steps, depth + 1) if "--export-to" in given else None
        return None if export is None else f"{export.rstrip('/')}/planned-attempt/"
    reference = str(value.get("Get", ""))
    if reference.startswith("Execution."):
        return "planned-execution"
    match = _STEP_OUTPUT.match(reference)
    if match:
        outputs = (steps.get(match.group(1), {}).get("ProcessingOutputConfig") or {}).get("Outputs", [])
        for output in outputs:
            if output.get("OutputName") == match.group(2):
                return _render(output.get("S3Output", {}).get("S3Uri"), steps, depth + 1)
        return None
    if reference.startswith("Steps."):
        return "planned-job"
    return None


def _serves_a_model(plan: Plan, job: dict[str, Any]) -> bool:
    """A Clarify check whose analysis config names a predictor serves the model from a shadow endpoint."""
    configs = {
        f"s3://{o.inputs['bucket']}/{o.inputs['key']}": str(o.inputs.get("content", ""))
        for o in plan.of_type("aws:s3/bucketObjectv2:BucketObjectv2")
    }
    return any('"predictor"' in configs.get(str(uri), "") for uri in _inputs(job))


MONITOR_SOURCE = (
    "SageMaker developer guide, 'CreateProcessingJob API: Execution Role Permissions' (Model Monitor runs its "
    "data-quality job as a processing job: the captured data and baseline in, the report out)"
)


def monitoring_job_requirements(plan: Plan, docs: Documents) -> list[Requirement]:
    """The role of each Model Monitor data-quality job: captured data and baseline in, reports out."""
    rows: list[Requirement] = []
    captures = _capture_locations(plan)
    for definition in plan.of_type("aws:sagemaker/dataQualityJobDefinition:DataQualityJobDefinition"):
        inputs = definition.inputs
        principal = next((k for k, p in docs.principals.items() if p.arn == inputs.get("roleArn")), None)
        if principal is None:
            continue
        add = _Rows(docs, principal, f"Model Monitor job {inputs['name']}", MONITOR_SOURCE)
        baseline = inputs.get("dataQualityBaselineConfig") or {}
        for resource in ("constraintsResource", "statisticsResource"):
            _read(add, plan, (baseline.get(resource) or {}).get("s3Uri"))
        endpoint = ((inputs.get("dataQualityJobInput") or {}).get("endpointInput") or {}).get("endpointName")
        if endpoint in captures:
            _read(add, plan, f"{captures[endpoint].rstrip('/')}/planned-capture.jsonl")
        output = inputs.get("dataQualityJobOutputConfig") or {}
        report = ((output.get("monitoringOutputs") or {}).get("s3Output") or {}).get("s3Uri")
        _write(add, plan, report, output.get("kmsKeyId"))
        match = _IMAGE.match(str((inputs.get("dataQualityAppSpecification") or {}).get("imageUri", "")))
        if match:
            repository = f"arn:aws:ecr:{match.group(2)}:{match.group(1)}:repository/{match.group(3)}"
            for action in ECR_PULL:
                add.add(action, repository, {})
        log_group = f"arn:aws:logs:{docs.region}:{docs.account}:log-group:/aws/sagemaker/ProcessingJobs"
        for action in ("logs:CreateLogStream", "logs:PutLogEvents"):
            add.add(action, f"{log_group}:log-stream:planned-{inputs['name']}", {})
        rows += add.rows
    return rows


def _capture_locations(plan: Plan) -> dict[str, str]:
    """Endpoint name -> where its data capture writes."""
    configs = {
        c.inputs["name"]: (c.inputs.get("dataCaptureConfig") or {}).get("destinationS3Uri", "")
        for c in plan.of_type("aws:sagemaker/endpointConfiguration:EndpointConfiguration")
    }
    return {
        e.inputs["name"]: configs[e.inputs["endpointConfigName"]]
        for e in plan.of_type("aws:sagemaker/endpoint:Endpoint")
        if configs.get(e.inputs.get("endpointConfigName", ""))
    }
