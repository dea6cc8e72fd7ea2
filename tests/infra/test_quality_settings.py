"""`quality` is a project's setting (issue 22 on two layers): per environment in `projects/<p>/project.yaml`.

A mistake in it is named by the project's file and key; the platform's stack file may not set it at all, as it may
not set featureStore, training, serving or monitoring.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from kernel import ConfigError, load_stack_file
from kernel.models import StackConfig
from tests.helpers import shipped_settings
from tests.infra.test_config import problems_of


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("minSamples", 5, "environments.staging.quality.minSamples: Input should be greater than or equal to 10"),
        ("delayHour", 48, "environments.staging.quality.delayHour: is not a known setting; remove it or fix the sp"),
        ("schedule", "rate(2 days)", "windowHours 24 is shorter than the schedule 'rate(2 days)' (48 h)"),
    ],
)
def test_a_mistake_is_named_by_the_project_file_and_key(
    tmp_path: Path, project_root: Path, key: str, value: object, expected: str
) -> None:
    staging = copy.deepcopy(shipped_settings(project_root, "staging"))
    staging["mlops:quality"][key] = value
    lines = problems_of(tmp_path, staging, "staging")
    assert any(line.startswith("projects/churn/project.yaml: environments.staging.quality") for line in lines), lines
    assert any(expected in line for line in lines), lines


def test_the_platform_stack_file_refuses_it(tmp_path: Path, project_root: Path) -> None:
    document = yaml.safe_load((project_root / "Pulumi.staging.yaml").read_text(encoding="utf-8"))
    document["config"]["mlops:quality"] = {"minSamples": 500}
    path = tmp_path / "Pulumi.staging.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    with pytest.raises(ConfigError) as refused:
        load_stack_file(path)
    assert (
        "Pulumi.staging.yaml: mlops:quality: is a project's setting: move it to projects/<name>/project.yaml under "
        "environments.staging.quality"
    ) in refused.value.lines()


def test_each_environment_takes_the_projects_own_settings(configs: dict[str, StackConfig]) -> None:
    """The shipped fixture's churn: staging judges daily after 48 h with a floor of 200, prod after 72 h with 500."""
    staging, prod = configs["staging"].quality, configs["prod"].quality
    assert (staging.delay_hours, staging.min_samples, staging.threshold) == (48, 200, 0.5)
    assert (prod.delay_hours, prod.min_samples) == (72, 500)
    assert configs["dev"].quality.enabled, "dev keeps the defaults: its rule retrains on the forwarded alarms"
