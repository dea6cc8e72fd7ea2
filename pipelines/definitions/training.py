"""The training pipeline, built with the SageMaker SDK v3 and compiled to its definition JSON offline.

preprocess -> (train, baseline, Clarify data bias) -> (Clarify model bias and SHAP on a model of the
trained artifact, evaluate) -> condition on the evaluation's decision -> register (PendingManualApproval,
with metrics, bias and explainability reports and drift baselines) or fail with the reason; with
tracking on, a TrackExperiment step logs every execution to MLflow.

Every job runs in the VPC's private subnets with KMS-encrypted volumes and outputs, under the jobs
execution role, with retries for throttling and capacity errors and step caching. The training job
also runs network-isolated: its code arrives as an input channel, not from S3 at run time.

Compiling makes no AWS call and uploads nothing: step code is staged by Pulumi as content-addressed
S3 objects (`code_uri`), processing steps use the SDK's `Processor.run` (which only records its
request under a `PipelineSession`), and the training and registration requests are built here,
because `ModelTrainer.train()` uploads its drivers even inside a pipeline.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pipelines.definitions.checks import ClarifySteps, clarify_steps
from pipelines.definitions.jobs import CACHE_EXPIRY, PROCESSING_SPEC, JobBuilder, inference_container

TRACK_STEP = "TrackExperiment"
"""Logs each execution's settings, metrics, bias, attribution and lineage to MLflow (when tracking is on)."""
LINEAGE_KEYS = ("lineage.data-version", "lineage.git-commit", "lineage.pipeline-execution", "lineage.config-hash")
"""Metadata every registered package carries; the lifecycle refuses packages without it."""
APPROVAL = "PendingManualApproval"
CONTENT_TYPE = "text/csv"
TUNING_OBJECTIVES = {"classifier": ("validation-auc", "Maximize"), "regressor": ("validation-rmse", "Minimize")}
"""Per model kind: what train.py prints for the tuner to read from the job log, and which way is better."""
TRAINING_SPEC = "/opt/ml/input/data/code/project.json"
"""The project spec, staged with the step code, where the training job mounts that code (its `code` channel)."""
CHECKPOINTS = "/opt/ml/checkpoints"
"""Where a spot training job writes its checkpoints (and finds those SageMaker restored)."""
OUTPUT_PREFIX = "pipelines/training"
"""Key prefix (in the artifacts bucket) of every execution's outputs, model artifacts included."""
SKIP_CLARIFY = "SkipClarifyChecks"
REGISTER_CLARIFY = "RegisterClarifyBaselines"
"""Pipeline parameters of the Clarify checks: true on a registry's first run (`pipelines.clarify_baselines`)."""


@dataclass(frozen=True)
class TrainingPipelineSettings:
    """Everything environment-specific the definition contains; plain values, no Pulumi Outputs."""

    image_uri: str
    """scikit-learn container of the region (`templates.image_for(region)`)."""
    region: str
    artifacts_bucket: str
    raw_data_uri: str
    code_prefix: str
    """Key prefix in the artifacts bucket (ending in `/`) holding the step scripts, content-addressed."""
    jobs_role_arn: str
    kms_key_arn: str
    subnet_ids: Sequence[str]
    security_group_ids: Sequence[str]
    model_package_group: str
    processing_instance_type: str
    training_instance_type: str
    objective_metric: str
    metric_threshold: float
    use_spot: bool
    max_runtime_seconds: int
    feature_database: str
    feature_table: str
    feature_workgroup: str
    config_hash: str
    """Digest of the stack config the pipeline was deployed with (lineage)."""
    sensitive_attribute: str
    """The project's sensitive attribute: the facet of the bias checks, never a model input."""
    max_bias_gap: float
    project: str
    """The project's name: its raw data prefix and, by default, its MLflow experiment."""
    model_kind: str
    """classifier or regressor (the project's `model.kind`)."""
    label: str
    feature_names: Sequence[str]
    """The model's inputs, in the order the preprocess step writes them (the Clarify datasets' columns)."""
    label_values: Sequence[float]
    """Clarify's `label_values_or_threshold`: [1] for a classifier, [label threshold] for a regressor."""
    tuning: bool = False
    """Replace the training step by a hyperparameter tuning job whose best model flows on."""
    tuning_max_jobs: int = 8
    tuning_max_parallel: int = 2
    tuning_early_stopping: str = "Auto"
    learning_rate_min: str = "0.01"
    learning_rate_max: str = "0.3"
    max_depth_min: str = "2"
    max_depth_max: str = "6"
    n_estimators_min: str = "100"
    n_estimators_max: str = "400"
    tuning_metric: str = "validation-auc"
    """The metric the tuner reads from the training log (per kind: `TUNING_OBJECTIVES`)."""
    tuning_objective: str = "Maximize"
    model_role_arn: str = ""
    """Role of the model Clarify's shadow endpoints serve (the endpoint model role)."""
    clarify_prefix: str = ""
    """Key prefix (in the artifacts bucket, ending in `/`) of the staged Clarify analysis configs."""
    clarify_image_uri: str = ""
    """SageMaker Clarify processing image of the region (`templates.clarify_image(region)`)."""
    tracking: bool = False
    """Track executions in MLflow: the pipeline and its training job natively, plus a Track step."""
    tracking_arn: str = ""
    """The environment's MLflow App or tracking server."""
    tracking_image_uri: str = ""
    """Image of the Track step (SageMaker Distribution: it ships mlflow and sagemaker-mlflow)."""
    experiment_name: str = ""
    """The MLflow experiment (set from the project: its `training.tracking.experiment`, or its name)."""
    preprocess_instance_count: int = 1
    """Instances of the preprocess job (`training.preprocessInstanceCount`); above 1 it is `sharded_preprocess`."""
    sharded_preprocess: bool = False
    """Athena exports the latest records as files and each preprocess instance splits its share of them."""

    @property
    def code_uri(self) -> str:
        """Where the step scripts are staged."""
        return f"s3://{self.artifacts_bucket}/{self.code_prefix}"


def compile_definition(settings: TrainingPipelineSettings, session_region: str | None = None) -> dict[str, Any]:
    """The pipeline definition as data, with stable key order.

    `session_region` is the region of the SDK session that records the requests; it defaults to the
    stack's and matters only when `settings.region` is a template placeholder.
    """
    return definition_of(build_pipeline(settings, session_region))


def definition_of(pipeline: Any) -> dict[str, Any]:
    """The definition of a built SDK `Pipeline`, as data with stable key order."""
    normalized: dict[str, Any] = json.loads(json.dumps(json.loads(pipeline.definition()), sort_keys=True))
    return normalized


def build_pipeline(settings: TrainingPipelineSettings, session_region: str | None = None) -> Any:
    """The SDK `Pipeline` object (for `definition()`, `upsert()` and `start()`)."""
    return _Builder(settings, session_region or settings.region).pipeline()


class _Builder(JobBuilder):
    def __init__(self, settings: TrainingPipelineSettings, session_region: str) -> None:
        super().__init__(settings, session_region, role_arn=settings.jobs_role_arn, output_prefix=OUTPUT_PREFIX)
        self.s = settings
        sdk = self.sdk
        self.input_data = sdk.ParameterString("InputData", default_value=settings.raw_data_uri)
        # A sharded preprocess reads the offline store only: raw CSV files hold every version of a record.
        sources = ["feature-store"] if settings.sharded_preprocess else ["csv", "feature-store"]
        self.data_source = sdk.ParameterString("DataSource", default_value=sources[0], enum_values=sources)
        self.processing_type = sdk.ParameterString(
            "ProcessingInstanceType", default_value=settings.processing_instance_type
        )
        self.job_instance_type = self.processing_type
        self.training_type = sdk.ParameterString("TrainingInstanceType", default_value=settings.training_instance_type)
        self.threshold = sdk.ParameterFloat("MetricThreshold", default_value=settings.metric_threshold)
        self.approval = sdk.ParameterString("ModelApprovalStatus", default_value=APPROVAL)
        # Scheduled and drift-triggered runs pass no commit: the content-addressed code prefix then
        # identifies exactly the step code that ran. CI and people pass the git commit instead.
        self.git_commit = sdk.ParameterString("GitCommit", default_value=f"code:{settings.code_prefix}")
        self.max_bias = sdk.ParameterFloat("MaxBiasGap", default_value=settings.max_bias_gap)
        # The Clarify checks compare with the baselines of the group's latest approved package; a fresh
        # registry has none, so its first run computes and registers them instead (`clarify_baselines`).
        self.skip_clarify = sdk.ParameterBoolean(SKIP_CLARIFY, default_value=False)
        self.register_clarify = sdk.ParameterBoolean(REGISTER_CLARIFY, default_value=False)
        self.lineage = sdk.PropertyFile(name="DataLineage", output_name="lineage", path="lineage.json")

    def pipeline(self) -> Any:
        if self.s.sharded_preprocess:
            prepared = self._sharded_preprocess()
            preprocess, lineage = prepared[1], prepared[2]
        else:
            prepared = [self._preprocess()]
            preprocess = lineage = prepared[0]
        baseline = self._baseline(preprocess)
        train = self._tune(preprocess) if self.s.tuning else self._train(preprocess)
        evaluate, report = self._evaluate(preprocess, train)
        checks = clarify_steps(
            self,
            self._model_artifact(train),
            self.sdk.Join(on="/", values=[_output_uri(preprocess, "clarify"), "train"]),
            self.sdk.Join(on="/", values=[_output_uri(preprocess, "clarify"), "test"]),
        )
        register = self._register(train, evaluate, baseline=baseline, lineage=lineage, report=report, checks=checks)
        tracked = [self._track(lineage, evaluate)] if self.s.tracking else []
        fail = self.sdk.FailStep(
            "MetricBelowThreshold",
            error_message=self.sdk.Join(
                on=" ",
                values=[
                    "The model was not registered:",
                    self.sdk.JsonGet(step_name=evaluate.name, property_file=report, json_path="decision.reason"),
                ],
            ),
        )
        check = self.sdk.ConditionStep(
            "CheckMetric",
            conditions=[
                self.sdk.ConditionEquals(
                    left=self.sdk.JsonGet(step_name=evaluate.name, property_file=report, json_path="decision.passed"),
                    right=True,
                )
            ],
            if_steps=[register],
            else_steps=[fail],
        )
        return self.sdk.Pipeline(
            name="training",
            parameters=[
                self.input_data,
                self.data_source,
                self.processing_type,
                self.training_type,
                self.threshold,
                self.approval,
                self.git_commit,
                self.max_bias,
                self.skip_clarify,
                self.register_clarify,
            ],
            steps=[*prepared, baseline, train, *checks.steps, evaluate, check, *tracked],
            mlflow_config=self._mlflow_config(),
            sagemaker_session=self.session,
        )

    def _mlflow_config(self) -> Any:
        """SageMaker's own tracking of each execution in the environment's MLflow (None: tracking off)."""
        if not self.s.tracking:
            return None
        return self.sdk.MlflowConfig(
            mlflow_resource_arn=self.s.tracking_arn, mlflow_experiment_name=self.s.experiment_name
        )

    def _track(self, lineage: Any, evaluate: Any) -> Any:
        """Log the execution to MLflow, passed or failed, from the SageMaker Distribution image."""
        s, sdk = self.s, self.sdk
        return self._processing_step(
            name=TRACK_STEP,
            script="track.py",
            inputs={"evaluation": _output_uri(evaluate, "evaluation"), "lineage": _output_uri(lineage, "lineage")},
            outputs=["tracking"],
            arguments=[
                "--evaluation", "/opt/ml/processing/input/evaluation", "--lineage", "/opt/ml/processing/input/lineage",
                "--output", "/opt/ml/processing/tracking", "--tracking-uri", s.tracking_arn,
                "--experiment", s.experiment_name, "--run-key", sdk.ExecutionVariables.PIPELINE_EXECUTION_ID,
                "--git-commit", self.git_commit, "--pipeline-execution", sdk.ExecutionVariables.PIPELINE_EXECUTION_ARN,
                "--config-hash", s.config_hash,
            ],
            image_uri=s.tracking_image_uri,
            cache=False,
        )  # fmt: skip

    def _preprocess(self) -> Any:
        s = self.s
        return self._processing_step(
            name="Preprocess",
            script="preprocess.py",
            inputs={"raw": self.input_data},
            outputs=["train", "validation", "test", "lineage", "clarify"],
            property_files=[self.lineage],
            arguments=[
                "--input", "/opt/ml/processing/input/raw", "--output", "/opt/ml/processing",
                "--source", self.data_source, "--region", s.region, "--database", s.feature_database,
                "--table", s.feature_table, "--workgroup", s.feature_workgroup, "--project-spec", PROCESSING_SPEC,
            ],
        )  # fmt: skip

    def _sharded_preprocess(self) -> list[Any]:
        """Preprocess on several instances, each on its share of the latest records; then one lineage.

        LatestRecords (one instance) has Athena UNLOAD every record's latest version as several files
        and names their folder; Preprocess reads that folder `ShardedByS3Key` (about 1/n of the files
        each) and writes part files, which every later step reads as one channel: train, baseline and
        evaluate read every CSV under their folder (`dataset.read_csvs`), and Clarify "recursively collects
        all S3 files located under the prefix" of its dataset (SageMaker developer guide, "Analysis
        Configuration Files", dataset_uri). DataLineage adds up the lineage parts.
        """
        s, sdk = self.s, self.sdk
        export = sdk.PropertyFile(name="LatestRecordsExport", output_name="export", path="export.json")
        latest = self._processing_step(
            name="LatestRecords",
            script="preprocess.py",
            inputs={},
            outputs=["export"],
            property_files=[export],
            arguments=[
                "--export-to", self._output("LatestRecords", "records"), "--output", "/opt/ml/processing",
                "--source", self.data_source, "--region", s.region, "--database", s.feature_database,
                "--table", s.feature_table, "--workgroup", s.feature_workgroup, "--project-spec", PROCESSING_SPEC,
            ],
            cache=False,  # the offline store grows while the query stays the same: never reuse a result
        )  # fmt: skip
        preprocess = self._processing_step(
            name="Preprocess",
            script="preprocess.py",
            inputs={"latest": sdk.JsonGet(step_name=latest.name, property_file=export, json_path="location")},
            outputs=["train", "validation", "test", "lineage", "clarify"],
            arguments=[
                "--input", "/opt/ml/processing/input/latest", "--output", "/opt/ml/processing",
                "--source", self.data_source, "--split", "hash", "--project-spec", PROCESSING_SPEC,
            ],
            instance_count=s.preprocess_instance_count,
            sharded=("latest",),
        )  # fmt: skip
        lineage = self._processing_step(
            name="DataLineage",
            script="preprocess.py",
            inputs={"lineage": _output_uri(preprocess, "lineage")},
            outputs=["lineage"],
            property_files=[self.lineage],
            arguments=["--merge-lineage", "/opt/ml/processing/input/lineage", "--output", "/opt/ml/processing"],
        )
        return [latest, preprocess, lineage]

    def _baseline(self, preprocess: Any) -> Any:
        return self._processing_step(
            name="Baseline",
            script="baseline.py",
            inputs={"train": _output_uri(preprocess, "train")},
            outputs=["baseline"],
            arguments=[
                "--train", "/opt/ml/processing/input/train", "--output", "/opt/ml/processing/baseline",
                "--project-spec", PROCESSING_SPEC,
            ],
        )  # fmt: skip

    def _evaluate(self, preprocess: Any, train: Any) -> tuple[Any, Any]:
        report = self.sdk.PropertyFile(name="EvaluationReport", output_name="evaluation", path="evaluation.json")
        step = self._processing_step(
            name="Evaluate",
            script="evaluate.py",
            inputs={"model": self._model_artifact(train), "test": _output_uri(preprocess, "test")},
            outputs=["evaluation"],
            arguments=[
                "--model", "/opt/ml/processing/input/model/model.tar.gz", "--test", "/opt/ml/processing/input/test",
                "--output", "/opt/ml/processing/evaluation", "--metric", self.s.objective_metric,
                "--threshold", self.threshold.to_string(), "--sensitive", self.s.sensitive_attribute,
                "--max-bias", self.max_bias.to_string(), "--project-spec", PROCESSING_SPEC,
            ],
            property_files=[report],
        )  # fmt: skip
        return step, report

    def _tune(self, preprocess: Any) -> Any:
        """A Bayesian search on the validation score (AUC up, RMSE down); the best job's model goes on to evaluation."""
        s, definition = self.s, self._training_request(preprocess)
        hyperparameters = definition.pop("HyperParameters")
        for tuned in ("n-estimators", "learning-rate", "max-depth"):
            hyperparameters.pop(tuned)
        definition["StaticHyperParameters"] = hyperparameters
        definition["AlgorithmSpecification"]["MetricDefinitions"] = [
            {"Name": s.tuning_metric, "Regex": f"{s.tuning_metric}=([0-9\\.]+)"}
        ]
        definition["InputDataConfig"].append(
            _channel("validation", _output_uri(preprocess, "validation"), CONTENT_TYPE)
        )

        def integer(name: str, low: str, high: str) -> dict[str, str]:
            return {"Name": name, "MinValue": low, "MaxValue": high, "ScalingType": "Auto"}

        request = {
            "HyperParameterTuningJobConfig": {
                "Strategy": "Bayesian",
                "HyperParameterTuningJobObjective": {"Type": s.tuning_objective, "MetricName": s.tuning_metric},
                "ResourceLimits": {
                    "MaxNumberOfTrainingJobs": s.tuning_max_jobs,
                    "MaxParallelTrainingJobs": s.tuning_max_parallel,
                },
                "ParameterRanges": {
                    "ContinuousParameterRanges": [
                        {
                            "Name": "learning-rate",
                            "MinValue": s.learning_rate_min,
                            "MaxValue": s.learning_rate_max,
                            "ScalingType": "Logarithmic",
                        }
                    ],
                    "IntegerParameterRanges": [
                        integer("max-depth", s.max_depth_min, s.max_depth_max),
                        integer("n-estimators", s.n_estimators_min, s.n_estimators_max),
                    ],
                    "CategoricalParameterRanges": [],
                },
                "TrainingJobEarlyStoppingType": s.tuning_early_stopping,
            },
            "TrainingJobDefinition": definition,
        }
        return self._cached_job_step(self.sdk.staged_tuning_step, request)

    def _model_artifact(self, train: Any) -> Any:
        """The model the evaluation and registration use: the training job's, or the best tuning job's."""
        if not self.s.tuning:
            return train.properties.ModelArtifacts.S3ModelArtifacts
        return self.sdk.Join(
            on="/",
            values=[
                f"s3://{self.s.artifacts_bucket}/{OUTPUT_PREFIX}",
                self.sdk.ExecutionVariables.PIPELINE_EXECUTION_ID,
                "Train",
                "model",
                train.properties.BestTrainingJob.TrainingJobName,
                "output",
                "model.tar.gz",
            ],
        )

    def _train(self, preprocess: Any) -> Any:
        return self._cached_job_step(self.sdk.staged_training_step, self._training_request(preprocess))

    def _cached_job_step(self, step_class: Any, request: dict[str, Any]) -> Any:
        """The Train step (a training or a tuning job), cached and retried like every job."""
        return step_class(
            "Train",
            request,
            cache_config=self.sdk.CacheConfig(enable_caching=True, expire_after=CACHE_EXPIRY),
            retry_policies=self._retries(),
        )

    def _training_request(self, preprocess: Any) -> dict[str, Any]:
        s = self.s
        stopping: dict[str, Any] = {"MaxRuntimeInSeconds": s.max_runtime_seconds}
        if s.use_spot:
            stopping["MaxWaitTimeInSeconds"] = 2 * s.max_runtime_seconds
        request: dict[str, Any] = {
            "AlgorithmSpecification": {"TrainingImage": s.image_uri, "TrainingInputMode": "File"},
            "HyperParameters": {
                "sagemaker_program": json.dumps("train.py"),
                "sagemaker_submit_directory": json.dumps("/opt/ml/input/data/code"),
                "sagemaker_region": json.dumps(s.region),
                "n-estimators": "200",
                "learning-rate": "0.05",
                "max-depth": "3",
                "project-spec": TRAINING_SPEC,
            },
            "InputDataConfig": [
                _channel("code", s.code_uri),
                _channel("train", _output_uri(preprocess, "train"), CONTENT_TYPE),
            ],
            "OutputDataConfig": {"S3OutputPath": self._output("Train", "model"), "KmsKeyId": s.kms_key_arn},
            "ResourceConfig": {
                "InstanceType": self.training_type,
                "InstanceCount": 1,
                "VolumeSizeInGB": 30,
                "VolumeKmsKeyId": s.kms_key_arn,
            },
            "RoleArn": s.jobs_role_arn,
            "StoppingCondition": stopping,
            "VpcConfig": self._vpc_config(),
            "EnableNetworkIsolation": True,
            "EnableInterContainerTrafficEncryption": True,
            "EnableManagedSpotTraining": s.use_spot,
        }
        if s.tracking and not s.tuning:  # a tuning job's training definition has no MLflow setting
            request["MlflowConfig"] = {"MlflowResourceArn": s.tracking_arn, "MlflowExperimentName": s.experiment_name}
        if s.use_spot:
            # One prefix per execution: SageMaker copies the prefix into every job it starts, so a shared
            # one would hand each retraining the previous model. train.py also resumes only a checkpoint
            # of its own data and hyperparameters (the jobs of one tuning job share this prefix).
            request["CheckpointConfig"] = {"S3Uri": self._output("Train", "checkpoints"), "LocalPath": CHECKPOINTS}
        return request

    def _register(
        self, train: Any, evaluate: Any, *, baseline: Any, lineage: Any, report: Any, checks: ClarifySteps
    ) -> Any:
        s, sdk = self.s, self.sdk
        evaluation_uri = self.sdk.Join(on="/", values=[_output_uri(evaluate, "evaluation"), "evaluation.json"])
        baseline_uri = self.sdk.Join(on="/", values=[_output_uri(baseline, "baseline"), "baseline.json"])
        request = {
            "ModelPackageGroupName": s.model_package_group,
            "ModelPackageDescription": f"{s.project} {s.model_kind} trained by the training pipeline",
            "ModelApprovalStatus": self.approval,
            "InferenceSpecification": {
                "Containers": [inference_container(s.image_uri, s.region, self._model_artifact(train))],
                "SupportedContentTypes": [CONTENT_TYPE],
                "SupportedResponseMIMETypes": [CONTENT_TYPE],
            },
            "ModelMetrics": {
                "ModelQuality": {"Statistics": _json(evaluation_uri)},
                "Bias": {
                    "Report": _json(evaluation_uri),
                    "PreTrainingReport": _json(checks.data_bias.properties.CalculatedBaselineConstraints),
                    "PostTrainingReport": _json(checks.model_bias.properties.CalculatedBaselineConstraints),
                },
                "Explainability": {"Report": _json(checks.explainability.properties.CalculatedBaselineConstraints)},
            },
            "DriftCheckBaselines": {
                "ModelDataQuality": {"Statistics": _json(baseline_uri)},
                "Bias": {
                    "PreTrainingConstraints": _json(checks.data_bias.properties.BaselineUsedForDriftCheckConstraints),
                    "PostTrainingConstraints": _json(checks.model_bias.properties.BaselineUsedForDriftCheckConstraints),
                },
                "Explainability": {
                    "Constraints": _json(checks.explainability.properties.BaselineUsedForDriftCheckConstraints)
                },
            },
            "CustomerMetadataProperties": {
                "lineage.data-version": sdk.JsonGet(
                    step_name=lineage.name, property_file=self.lineage, json_path="data_version"
                ),
                "lineage.git-commit": self.git_commit,
                "lineage.pipeline-execution": sdk.ExecutionVariables.PIPELINE_EXECUTION_ARN,
                "lineage.config-hash": s.config_hash,
                f"metric.{s.objective_metric}": sdk.Join(
                    on="",
                    values=[sdk.JsonGet(step_name=evaluate.name, property_file=report, json_path="decision.value")],
                ),
            },
        }
        return self.sdk.staged_register_step(
            "RegisterModel",
            request,
            retry_policies=[
                self.sdk.StepRetryPolicy(
                    exception_types=[self.sdk.StepExceptionTypeEnum.THROTTLING], interval_seconds=10, max_attempts=5
                )
            ],
        )


def _json(uri: Any) -> dict[str, Any]:
    return {"ContentType": "application/json", "S3Uri": uri}


def _output_uri(step: Any, name: str) -> Any:
    return step.properties.ProcessingOutputConfig.Outputs[name].S3Output.S3Uri


def _channel(name: str, uri: Any, content_type: str | None = None) -> dict[str, Any]:
    channel: dict[str, Any] = {
        "ChannelName": name,
        "DataSource": {
            "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": uri, "S3DataDistributionType": "FullyReplicated"}
        },
        "InputMode": "File",
    }
    if content_type:
        channel["ContentType"] = content_type
    return channel
