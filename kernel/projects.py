"""ML projects: what a team declares in `projects/<name>/project.yaml`, validated like the stack files.

A project is a folder. Its `project.yaml` names the team and the model, and holds the project's settings per
environment (feature store, training, serving, monitoring, quality, budget and the team's SSO roles); `features/*.yaml`
are its feature groups; `data/` a small sample dataset; `steps/` optional step code (the blueprint's steps
otherwise). Adding or removing a project touches no platform code: the project program and every command find
projects by listing this folder.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Self

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic.alias_generators import to_camel

from kernel import yaml_text
from kernel.errors import ConfigError, Loc, Problem, problems_from
from kernel.feature_schema import FeatureGroupSchema, load_schemas
from kernel.types import ENVIRONMENTS, Environment

PROJECTS_DIR = "projects"
PROJECT_FILE = "project.yaml"
PROJECT_NAME = r"^[a-z][a-z0-9]{1,11}$"
"""Lower-case letters and digits, 2-12 characters, no hyphen: a project's names are `<prefix>-<env>-<project>-...`,
so with no hyphen in it no project's name pattern (`...-churn-*`) can match another project's resources."""
PROJECT_SECTIONS = ("personas", "featureStore", "training", "serving", "monitoring", "quality", "cost")
"""The settings a project owns per environment; everything else is the platform's (its stack file)."""
RESERVED_NAMES = frozenset(
    {"access", "alerts", "artifacts", "audit", "boundary", "bootstrap", "capture", "data", "flow", "github",
     "guardrails", "logs", "mlflow", "models", "monitoring", "platform", "pr", "raw", "trail", "vpc", "sagemaker"}
)  # fmt: skip
"""First segments of the platform's own resource names, and `pr`, the first of every review stack's
(kernel/review.py): a project so named would fall inside their patterns."""

ModelKind = Literal["classifier", "regressor"]
KIND_METRICS: dict[str, tuple[str, ...]] = {"classifier": ("auc", "accuracy", "f1"), "regressor": ("rmse", "mae", "r2")}
"""The gate metrics (`training.objectiveMetric`) that score each kind of model."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, alias_generator=to_camel, populate_by_name=True)


class ModelSettings(_Model):
    """What the project's model learns: its kind, the feature group it reads, its label."""

    kind: ModelKind = Field(description="classifier (a probability, AUC-gated) or regressor (a value, RMSE-gated).")
    feature_group: str = Field(description="The feature group (a file in features/) the model trains on.")
    label: str = Field(description="The feature the model predicts; never an input.")
    sensitive_attribute: str | None = Field(
        default=None, description="A feature kept out of the inputs and used only for bias reports."
    )
    label_threshold: float | None = Field(
        default=None,
        description="Regressor only: a label or prediction above this is the favourable outcome the bias reports "
        "count (SageMaker Clarify's label_values_or_threshold for a continuous label: its exclusive lower bound).",
    )
    description: str = Field(min_length=1, max_length=128, description="Model package group description.")


class ProjectFile(_Model):
    """A project's `project.yaml`."""

    name: str = Field(pattern=PROJECT_NAME, description="The folder's name; part of every resource name.")
    team: str = Field(min_length=2, max_length=64, pattern=r"^[A-Za-z0-9_.:/=+@-]+$", description="Tag `team`.")
    model: ModelSettings
    environments: dict[Environment, dict[str, Any]] = Field(
        description="Per environment: personas, featureStore, training, serving, monitoring, quality, cost."
    )

    @model_validator(mode="after")
    def _sections(self) -> Self:
        problems = [
            f"environments.{environment}.{key} is not a project setting (a project sets {', '.join(PROJECT_SECTIONS)};"
            " the rest is the platform's stack file)"
            for environment, sections in self.environments.items()
            for key in sections
            if key not in PROJECT_SECTIONS
        ]
        if self.name in RESERVED_NAMES:
            problems.append(f"name {self.name!r} is a platform resource name; choose another")
        if problems:
            raise ValueError("; ".join(problems))
        return self


@dataclass(frozen=True)
class Project:
    """A loaded project: its file, folder and feature groups, with what the steps need to know."""

    file: ProjectFile
    folder: Path
    schemas: tuple[FeatureGroupSchema, ...]

    @property
    def name(self) -> str:
        """The project's name (its folder's)."""
        return self.file.name

    @property
    def source(self) -> str:
        """`projects/<name>/project.yaml`, as errors name it."""
        return f"{PROJECTS_DIR}/{self.name}/{PROJECT_FILE}"

    @property
    def schema(self) -> FeatureGroupSchema:
        """The feature group the model trains on."""
        return next(schema for schema in self.schemas if schema.name == self.file.model.feature_group)

    def settings(self, environment: Environment) -> dict[str, Any]:
        """The project's sections for one environment (camelCase, as written)."""
        return dict(self.file.environments.get(environment, {}))

    def spec(self) -> ProjectSpec:
        """What the step code needs to know about the data, as plain values."""
        model = self.file.model
        schema = self.schema
        skip = {schema.record_identifier, schema.event_time, model.label, model.sensitive_attribute}
        inputs = [feature for feature in schema.features if feature.name not in skip]
        return ProjectSpec(
            name=self.name,
            kind=model.kind,
            feature_group=schema.name,
            identifier=schema.record_identifier,
            event_time=schema.event_time,
            label=model.label,
            sensitive=model.sensitive_attribute,
            numeric=tuple(feature.name for feature in inputs if feature.type != "String"),
            categorical=tuple(feature.name for feature in inputs if feature.type == "String"),
            label_threshold=model.label_threshold,
        )

    @property
    def sample_data(self) -> Path:
        """The project's sample dataset (`data/<name>.csv`)."""
        return self.folder / "data" / f"{self.name}.csv"


@dataclass(frozen=True)
class ProjectSpec:
    """A project's data contract for the step code: staged with the code as `project.json`."""

    name: str
    kind: ModelKind
    feature_group: str
    identifier: str
    event_time: str
    label: str
    sensitive: str | None
    numeric: tuple[str, ...]
    categorical: tuple[str, ...]
    label_threshold: float | None = None
    """Regressor: a label or prediction above this is the favourable outcome of the bias reports."""

    @property
    def features(self) -> list[str]:
        """The model's inputs, in the order the model sees them."""
        return [*self.numeric, *self.categorical]

    def to_json(self) -> str:
        """Deterministic JSON (the content hash of the staged code depends on it)."""
        return json.dumps(
            {
                "name": self.name,
                "kind": self.kind,
                "feature_group": self.feature_group,
                "identifier": self.identifier,
                "event_time": self.event_time,
                "label": self.label,
                "sensitive": self.sensitive,
                "numeric": list(self.numeric),
                "categorical": list(self.categorical),
                "label_threshold": self.label_threshold,
            },
            indent=2,
            sort_keys=True,
        )


def projects_dir(root: Path) -> Path:
    """The folder that holds the projects of the repository at `root`."""
    return root / PROJECTS_DIR


def project_names(root: Path) -> list[str]:
    """Every project folder (one with a project.yaml), sorted."""
    folder = projects_dir(root)
    return sorted(path.parent.name for path in folder.glob(f"*/{PROJECT_FILE}")) if folder.is_dir() else []


def load_project(root: Path, name: str, file: Path | None = None) -> Project:
    """Load and validate `projects/<name>/`; `ConfigError` names the file and each key at fault.

    `file` reads the project file from elsewhere (a pin's new text, checked before it replaces the file).
    """
    source = f"{PROJECTS_DIR}/{name}/{PROJECT_FILE}"
    if not re.fullmatch(PROJECT_NAME, name):
        raise ConfigError(f"--project {name!r}", [Problem("", "is not a project name (a-z and 0-9, 2-12 characters)")])
    folder = projects_dir(root) / name
    path = file or folder / PROJECT_FILE
    if not path.is_file():
        known = ", ".join(project_names(root)) or "none yet"
        fix = f"no such project (projects here: {known}); `mlops project new {name}` creates one"
        raise ConfigError(source, [Problem("", fix)])
    try:
        document = yaml_text.load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as error:
        raise ConfigError(source, [Problem("", f"is not valid YAML: {error}")]) from None
    try:
        project = ProjectFile.model_validate(document)
    except ValidationError as error:
        raise ConfigError(source, problems_from(error, ProjectFile, _key, "the project file")) from None
    if project.name != name:
        raise ConfigError(source, [Problem("name", f"is {project.name!r} but the folder is {name!r}; make them equal")])
    missing = [environment for environment in ENVIRONMENTS if environment not in project.environments]
    if missing:
        raise ConfigError(
            source, [Problem("environments", f"has no {', '.join(missing)}: every environment needs its settings")]
        )
    schemas = tuple(load_schemas(folder / "features", prefix=f"{PROJECTS_DIR}/{name}/features/"))
    loaded = Project(file=project, folder=folder, schemas=schemas)
    problems = _model_problems(loaded)
    if problems:
        raise ConfigError(source, problems)
    return loaded


def _model_problems(project: Project) -> list[Problem]:
    model = project.file.model
    groups = {schema.name: schema for schema in project.schemas}
    if model.feature_group not in groups:
        known = ", ".join(groups) or "none: add features/<group>.yaml"
        return [Problem("model.featureGroup", f"{model.feature_group!r} is not a feature group here (known: {known})")]
    types = groups[model.feature_group].types
    problems = [
        Problem(f"model.{key}", f"{value!r} is not a feature of {model.feature_group} (it has {', '.join(types)})")
        for key, value in (("label", model.label), ("sensitiveAttribute", model.sensitive_attribute))
        if value is not None and value not in types
    ]
    if not problems and model.kind == "classifier" and types[model.label] != "Integral":
        problems.append(
            Problem("model.label", f"a classifier's label must be Integral (0 or 1); it is {types[model.label]}")
        )
    if not problems and model.kind == "regressor" and types[model.label] == "String":
        problems.append(Problem("model.label", "a regressor's label must be numeric (Integral or Fractional)"))
    if model.kind == "classifier" and model.label_threshold is not None:
        problems.append(Problem("model.labelThreshold", "applies to a regressor only; a classifier's positive is 1"))
    if model.kind == "regressor" and model.sensitive_attribute and model.label_threshold is None:
        problems.append(
            Problem(
                "model.labelThreshold",
                "is required for a regressor with a sensitiveAttribute: bias reports count labels and predictions "
                "above it as the favourable outcome",
            )
        )
    return problems + _metric_problems(project) + _spark_ingestion_problems(project)


SPARK_RESERVED = frozenset({"year", "month", "day", "hour", "temp_event_time_col"})
"""Names the Feature Store Spark connector reserves beyond Feature Store's own (`feature_schema.RESERVED`):
its InputDataSchemaValidator.RESERVED_FEATURE_NAMES (aws/sagemaker-feature-store-spark, commit 81d099d)."""


def _spark_ingestion_problems(project: Project) -> list[Problem]:
    """A feature group the Spark connector cannot ingest: one of its features has a name the connector reserves."""
    problems = []
    for environment, sections in project.file.environments.items():
        store = sections.get("featureStore")
        ingestion = store.get("ingestion") if isinstance(store, dict) else None
        if not isinstance(ingestion, dict) or ingestion.get("engine") != "spark":
            continue
        for schema in project.schemas:
            clash = sorted(SPARK_RESERVED & {feature.name.lower() for feature in schema.features})
            if clash:
                problems.append(
                    Problem(
                        f"environments.{environment}.featureStore.ingestion.engine",
                        f"spark cannot ingest {schema.name}: the Feature Store Spark connector reserves the feature "
                        f"name(s) {', '.join(clash)} for the offline store's partitions; rename them in "
                        f"features/{schema.name}.yaml or keep engine: records",
                    )
                )
    return problems


def _metric_problems(project: Project) -> list[Problem]:
    """A gate metric that does not score the model's kind (an RMSE gate on a classifier, an AUC gate on a regressor)."""
    kind = project.file.model.kind
    fits = KIND_METRICS[kind]
    problems = []
    for environment, sections in project.file.environments.items():
        training = sections.get("training")
        if not isinstance(training, dict):
            continue
        metric = training.get("objectiveMetric", "auc")  # TrainingConfig's default
        if metric not in fits:
            written = "" if "objectiveMetric" in training else " (the default)"
            problems.append(
                Problem(
                    f"environments.{environment}.training.objectiveMetric",
                    f"{metric!r}{written} does not score a {kind}; set one of {', '.join(fits)}",
                )
            )
    return problems


def _key(loc: Loc) -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path
