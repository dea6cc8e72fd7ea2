"""Compiled pipeline templates: the SDK's output with every environment value left as a placeholder.

Importing and running the SageMaker SDK takes several seconds, too slow for every `mlops plan` and
`pulumi preview`. So the SDK compiles each definition once per structural variant with sentinel
values (`sentinel/<name>` strings, shaped so the SDK takes them for ARNs and S3 paths without
calling AWS, and distinctive numbers), the result is committed under `compiled/`, and a plan fills
the sentinels in. Tests prove that filling a template gives exactly what the SDK compiles for each
shipped stack, and `mlops pipeline templates` regenerates them after a builder change.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipelines.definitions.drift import DriftPipelineSettings, compile_drift_definition
from pipelines.definitions.ingestion import IngestionPipelineSettings, compile_ingestion_definition
from pipelines.definitions.training import TrainingPipelineSettings, compile_definition
from pipelines.images import SKLEARN_IMAGE, SPARK_IMAGE, TRACKING_IMAGE, image

TEMPLATE_DIR = Path(__file__).parent / "compiled"
SESSION_REGION = "us-east-1"
"""Region of the SDK session that compiles templates; the definition carries the stack's region."""
SENTINEL = "sentinel/"
"""Prefix of a placeholder string; the `/` makes the SDK accept a placeholder role without GetRole."""
NUMBER_SENTINELS: dict[str, float] = {
    "metric_threshold": 0.123456789,
    "max_runtime_seconds": 987651,
    "drift_psi_threshold": 0.987654321,
    "drift_p_value": 0.0123456789,
    "max_bias_gap": 0.0234567891,
    "tuning_max_jobs": 987652,
    "tuning_max_parallel": 987653,
    "processing_instance_count": 987655,
    "instance_count": 987656,
    "preprocess_instance_count": 987657,
}
"""Numbers that stand for a setting in a template; no real setting takes these values."""
DERIVED_NUMBERS = {2 * NUMBER_SENTINELS["max_runtime_seconds"]: "max_wait_seconds"}
"""Numbers the builder computes from a setting (a spot job waits twice its runtime)."""
LIST_FIELDS = (
    "subnet_ids",
    "security_group_ids",
    "feature_names",
    "label_values",
    "feature_arguments",
    "target_stores",
)


class TemplateError(RuntimeError):
    """A template is missing, stale or could not be filled in; regenerate with `mlops pipeline templates`."""


@dataclass(frozen=True)
class TemplateKind:
    """One pipeline: its settings type, its SDK compiler and its structural variants."""

    name: str
    settings_type: type[Any]
    compile: Callable[[Any, str | None], dict[str, Any]]
    variants: dict[str, dict[str, Any]]
    """Variant name -> the settings fields that make it (fields that change the request's shape)."""

    def variant_of(self, settings: Any) -> str:
        """The variant `settings` needs."""
        for name, fields in self.variants.items():
            if all(getattr(settings, key) == value for key, value in fields.items()):
                return name
        raise TemplateError(f"no {self.name} template variant fits these settings")

    def path(self, variant: str, directory: Path = TEMPLATE_DIR) -> Path:
        """Where the variant's template is committed."""
        return directory / (f"{self.name}-{variant}.json" if variant else f"{self.name}.json")


def training_variants() -> dict[str, dict[str, Any]]:
    """Spot or on-demand, each optionally tuned, tracked and sharded: `spot`, `on-demand-tuned-tracked-sharded`..."""
    variants = {}
    for spot, tuned, tracked, sharded in itertools.product((True, False), (False, True), (False, True), (False, True)):
        name = "-".join(
            [
                "spot" if spot else "on-demand",
                *(["tuned"] if tuned else []),
                *(["tracked"] if tracked else []),
                *(["sharded"] if sharded else []),
            ]
        )
        variants[name] = {"use_spot": spot, "tuning": tuned, "tracking": tracked, "sharded_preprocess": sharded}
    return variants


KINDS = (
    TemplateKind(
        "training",
        TrainingPipelineSettings,
        compile_definition,
        training_variants(),
    ),
    TemplateKind(
        "drift", DriftPipelineSettings, compile_drift_definition, {"": {"sharded": False}, "sharded": {"sharded": True}}
    ),
    TemplateKind("ingestion", IngestionPipelineSettings, compile_ingestion_definition, {"": {}}),
)


def kind_of(settings: Any) -> TemplateKind:
    """The template kind of a settings object."""
    for kind in KINDS:
        if isinstance(settings, kind.settings_type):
            return kind
    raise TemplateError(f"no template for {type(settings).__name__}")


def sentinel_settings(kind: TemplateKind, variant: str) -> Any:
    """Settings whose every value is a placeholder, except the fields that fix the variant."""
    values: dict[str, Any] = {}
    for field in dataclasses.fields(kind.settings_type):
        if field.name in kind.variants[variant]:
            values[field.name] = kind.variants[variant][field.name]
        elif field.name in NUMBER_SENTINELS:
            number = NUMBER_SENTINELS[field.name]
            values[field.name] = int(number) if field.type in ("int", int) else number
        elif field.name in LIST_FIELDS:
            values[field.name] = [_sentinel(field.name)]
        else:
            values[field.name] = _sentinel(field.name)
    return kind.settings_type(**values)


IMAGE_TABLES: dict[str, tuple[str, dict[str, str]]] = {
    "images.json": ("sklearn", {"version": image(SKLEARN_IMAGE).version, "instance_type": "ml.m5.large"}),
    "model-monitor-images.json": ("model-monitor", {}),
    "distribution-images.json": (
        "sagemaker-distribution",
        {"version": image(TRACKING_IMAGE).version, "image_scope": "inference", "instance_type": "ml.m5.large"},
    ),
    "clarify-images.json": ("clarify", {}),
    "spark-images.json": (
        "spark",
        {"version": image(SPARK_IMAGE).version, "py_version": "py312", "instance_type": "ml.m5.xlarge"},
    ),
}
"""Committed image tables: file -> the SDK framework and arguments it is retrieved with.

The scikit-learn and SageMaker Distribution versions are the images `pipelines/images` chooses for
the steps (their Python and libraries are recorded in its catalog, and the parity run tests on them).
"""


def image_table(framework: str, regions: list[str], **arguments: str) -> dict[str, str]:
    """The image of `framework` in every region the SDK knows it for (SDK's bundled table, offline)."""
    from pipelines.definitions.sdk import load_sdk

    table = {}
    for region in regions:
        try:
            table[region] = str(load_sdk(region).image_uris.retrieve(framework, region, **arguments))
        except ValueError:
            continue  # the SDK has no such image in this region
    return table


def _committed_image(file: str, region: str, directory: Path, fix: str) -> str:
    table = json.loads((directory / file).read_text(encoding="utf-8"))
    if region not in table:
        raise TemplateError(f"no {IMAGE_TABLES[file][0]} image known for {region}; {fix}")
    return str(table[region])


def model_monitor_image(region: str, directory: Path = TEMPLATE_DIR) -> str:
    """The Model Monitor analyzer image of `region`, from the committed table."""
    return _committed_image("model-monitor-images.json", region, directory, "use monitoring.backend: custom there")


def image_for(region: str, directory: Path = TEMPLATE_DIR) -> str:
    """The scikit-learn image of `region`, from the committed table."""
    return _committed_image("images.json", region, directory, "the SDK does not offer one there")


def distribution_image(region: str, directory: Path = TEMPLATE_DIR) -> str:
    """The SageMaker Distribution image (it ships mlflow and sagemaker-mlflow) of `region`."""
    return _committed_image("distribution-images.json", region, directory, "turn training.tracking off there")


def spark_image(region: str, directory: Path = TEMPLATE_DIR) -> str:
    """SageMaker's Spark processing image (3.5, Python 3.12) of `region`: the Spark ingestion job's."""
    return _committed_image("spark-images.json", region, directory, "use featureStore.ingestion.engine: records there")


def clarify_image(region: str, directory: Path = TEMPLATE_DIR) -> str:
    """The SageMaker Clarify processing image of `region`."""
    return _committed_image("clarify-images.json", region, directory, "the SDK does not offer Clarify there")


def write_templates(directory: Path = TEMPLATE_DIR) -> list[Path]:
    """Regenerate every committed template and the image table; returns the files written."""
    from kernel.regions import sagemaker_regions

    directory.mkdir(parents=True, exist_ok=True)
    regions = sorted(sagemaker_regions())
    written = []
    for file, (framework, arguments) in IMAGE_TABLES.items():
        path = directory / file
        path.write_text(json.dumps(image_table(framework, regions, **arguments), indent=1, sort_keys=True) + "\n")
        written.append(path)
    for kind in KINDS:
        for variant in kind.variants:
            path = kind.path(variant, directory)
            definition = kind.compile(sentinel_settings(kind, variant), SESSION_REGION)
            path.write_text(json.dumps(definition, indent=1, sort_keys=True) + "\n", encoding="utf-8")
            written.append(path)
    return written


def render_definition(settings: Any, directory: Path = TEMPLATE_DIR) -> dict[str, Any]:
    """The definition the SDK would compile for `settings`, filled in from the committed template."""
    kind = kind_of(settings)
    path = kind.path(kind.variant_of(settings), directory)
    if not path.is_file():
        raise TemplateError(f"{path} is missing; run `mlops pipeline templates`")
    template = json.loads(path.read_text(encoding="utf-8"))
    values = dataclasses.asdict(settings)
    if "max_runtime_seconds" in values:
        values["max_wait_seconds"] = 2 * values["max_runtime_seconds"]
    rendered = _fill(template, values)
    text = json.dumps(rendered)
    leftover = [token for token in (SENTINEL, *map(str, NUMBER_SENTINELS.values())) if token in text]
    if leftover:
        raise TemplateError(f"{path} has placeholders no setting fills ({leftover}); run `mlops pipeline templates`")
    return dict(rendered)


def _fill(node: Any, values: dict[str, Any]) -> Any:
    numbers = {value: name for name, value in NUMBER_SENTINELS.items()} | DERIVED_NUMBERS
    if isinstance(node, dict):  # keys can carry settings too (metadata named after the metric)
        return {_fill(key, values): _fill(item, values) for key, item in node.items()}
    if isinstance(node, list):
        filled: list[Any] = []
        for item in node:
            name = _whole_placeholder(item)
            if name is not None and isinstance(values.get(name), list | tuple):
                filled.extend(values[name])
            else:
                filled.append(_fill(item, values))
        return filled
    if isinstance(node, str):
        name = _whole_placeholder(node)
        if name is not None:
            return values[name]
        for key in sorted(values, key=len, reverse=True):
            node = node.replace(_sentinel(key), str(values[key]))
        return node
    if isinstance(node, int | float) and not isinstance(node, bool) and node in numbers:
        return values[numbers[node]]
    return node


def _sentinel(name: str) -> str:
    return f"{SENTINEL}{name}"


def _whole_placeholder(node: Any) -> str | None:
    if isinstance(node, str) and node.startswith(SENTINEL) and node[len(SENTINEL) :].isidentifier():
        return node[len(SENTINEL) :]
    return None
