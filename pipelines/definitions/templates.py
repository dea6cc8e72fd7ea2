"""Compiled pipeline templates: the SDK's output with every environment value left as a placeholder.

Importing and running the SageMaker SDK takes several seconds, too slow for every `mlops plan` and
`pulumi preview`. So the SDK compiles the definition once per structural variant with sentinel
values (`sentinel/<name>` strings, shaped so the SDK takes them for ARNs and S3 paths without
calling AWS, and distinctive numbers), the result is committed under `compiled/`, and a
plan fills the sentinels in. Tests prove that filling a template gives exactly what the SDK compiles
for each shipped stack, and `mlops pipeline templates` regenerates them after a builder change.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from pipelines.definitions.training import TrainingPipelineSettings, compile_definition, sklearn_image

TEMPLATE_DIR = Path(__file__).parent / "compiled"
SESSION_REGION = "us-east-1"
"""Region of the SDK session that compiles templates; the definition carries the stack's region."""
SENTINEL = "sentinel/"
"""Prefix of a placeholder string; the `/` makes the SDK accept a placeholder role without GetRole."""
NUMBER_SENTINELS: dict[str, float] = {"metric_threshold": 0.123456789, "max_runtime_seconds": 987651}
"""Numbers that stand for a setting in a template; no real setting takes these values."""


class TemplateError(RuntimeError):
    """A template is missing, stale or could not be filled in; regenerate with `mlops pipeline templates`."""


def variant(settings: TrainingPipelineSettings) -> str:
    """Which structural variant a stack needs: managed spot training changes the request's shape."""
    return "spot" if settings.use_spot else "on-demand"


def sentinel_settings(use_spot: bool) -> TrainingPipelineSettings:
    """Settings whose every value is a placeholder, for compiling a template."""
    values: dict[str, Any] = {}
    for field in dataclasses.fields(TrainingPipelineSettings):
        if field.name == "use_spot":
            values[field.name] = use_spot
        elif field.name in NUMBER_SENTINELS:
            values[field.name] = type(NUMBER_SENTINELS[field.name])(NUMBER_SENTINELS[field.name])
        elif field.name in ("subnet_ids", "security_group_ids"):
            values[field.name] = [_sentinel(field.name)]
        else:
            values[field.name] = _sentinel(field.name)
    values["max_runtime_seconds"] = int(NUMBER_SENTINELS["max_runtime_seconds"])
    return TrainingPipelineSettings(**values)


def compile_template(use_spot: bool) -> dict[str, Any]:
    """Compile one variant with the SDK."""
    return compile_definition(sentinel_settings(use_spot), session_region=SESSION_REGION)


def image_table(regions: list[str]) -> dict[str, str]:
    """The scikit-learn image of every region the SDK knows it for (SDK's bundled table, offline)."""
    table = {}
    for region in regions:
        try:
            table[region] = sklearn_image(region)
        except ValueError:
            continue  # the SDK has no image for this region
    return table


def image_for(region: str, directory: Path = TEMPLATE_DIR) -> str:
    """The scikit-learn image of `region`, from the committed table."""
    table = json.loads((directory / "images.json").read_text(encoding="utf-8"))
    if region not in table:
        raise TemplateError(f"no scikit-learn image known for {region}; the SDK does not offer one there")
    return str(table[region])


def write_templates(directory: Path = TEMPLATE_DIR) -> list[Path]:
    """Regenerate every committed template and the image table; returns the files written."""
    from infra.config.types import sagemaker_regions

    directory.mkdir(parents=True, exist_ok=True)
    images = directory / "images.json"
    images.write_text(json.dumps(image_table(sorted(sagemaker_regions())), indent=1, sort_keys=True) + "\n")
    written = [images]
    for use_spot in (True, False):
        path = directory / f"training-{'spot' if use_spot else 'on-demand'}.json"
        path.write_text(json.dumps(compile_template(use_spot), indent=1, sort_keys=True) + "\n", encoding="utf-8")
        written.append(path)
    return written


def render_definition(settings: TrainingPipelineSettings, directory: Path = TEMPLATE_DIR) -> dict[str, Any]:
    """The definition the SDK would compile for `settings`, filled in from the committed template."""
    path = directory / f"training-{variant(settings)}.json"
    if not path.is_file():
        raise TemplateError(f"{path} is missing; run `mlops pipeline templates`")
    template = json.loads(path.read_text(encoding="utf-8"))
    values = dataclasses.asdict(settings)
    values["max_wait_seconds"] = 2 * settings.max_runtime_seconds
    rendered = _fill(template, values)
    text = json.dumps(rendered)
    leftover = [token for token in (SENTINEL, *map(str, NUMBER_SENTINELS.values())) if token in text]
    if leftover:
        raise TemplateError(f"{path} has placeholders no setting fills ({leftover}); run `mlops pipeline templates`")
    return dict(rendered)


def _fill(node: Any, values: dict[str, Any]) -> Any:
    numbers = {value: name for name, value in NUMBER_SENTINELS.items()}
    numbers[2 * NUMBER_SENTINELS["max_runtime_seconds"]] = "max_wait_seconds"
    if isinstance(node, dict):
        return {key: _fill(item, values) for key, item in node.items()}
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
