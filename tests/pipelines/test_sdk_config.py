"""The SDK's defaults config is validated on every lookup, as the SDK does, without re-checking its schema each time.

Source: sagemaker-core 2.27.0 `sagemaker/core/config/config_manager.py` (`validate_sagemaker_config` calls
`jsonschema.validate`, which checks the schema against its metaschema before validating; jsonschema 4.26.0
`jsonschema/validators.py`). `pipelines.definitions.sdk` checks the schema once per process instead.
"""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest

from kernel import StackConfig
from kernel.plan import Plan
from kernel.projects import Project
from pipelines.definitions.sdk import SDK_DEFAULTS, load_sdk
from pipelines.definitions.settings import settings_for_stack
from pipelines.definitions.training import build_pipeline
from tests.helpers import outputs_of

BAD_CONFIGS: list[dict[str, Any]] = [
    {"SchemaVersion": "2.0"},
    {"SchemaVersion": "1.0", "SageMaker": {"PythonSDK": {"Modules": {"TelemetryOptOut": "yes"}}}},
    {"SchemaVersion": "1.0", "SageMaker": {"NoSuchService": {}}},
]


def _schema() -> dict[str, Any]:
    load_sdk("eu-west-1")
    from sagemaker.core.config.config_schema import SAGEMAKER_PYTHON_SDK_CONFIG_SCHEMA

    schema: dict[str, Any] = SAGEMAKER_PYTHON_SDK_CONFIG_SCHEMA
    return schema


@pytest.mark.parametrize("config", BAD_CONFIGS)
def test_a_bad_config_is_refused_with_the_error_jsonschema_gives(config: dict[str, Any]) -> None:
    schema = _schema()
    from sagemaker.core.config.config_manager import SageMakerConfig

    with pytest.raises(jsonschema.ValidationError) as expected:
        jsonschema.validate(config, schema)
    with pytest.raises(jsonschema.ValidationError) as refused:
        SageMakerConfig().validate_sagemaker_config(config)
    assert (refused.value.message, list(refused.value.path)) == (expected.value.message, list(expected.value.path))


def test_the_blueprints_defaults_are_valid() -> None:
    jsonschema.validate(SDK_DEFAULTS, _schema())
    from sagemaker.core.config.config_manager import SageMakerConfig

    SageMakerConfig().validate_sagemaker_config(SDK_DEFAULTS)


def test_compiling_a_pipeline_checks_the_schema_once_not_per_lookup(
    plans: dict[str, Plan],
    training_configs: dict[str, StackConfig],
    shipped: dict[str, Project],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The SDK looks its defaults up about 150 times per pipeline; checking the schema each time was 4/5 of a compile."""
    kind = jsonschema.validators.validator_for(_schema())
    load_sdk(training_configs["dev"].region)  # loading the SDK for a region checks the schema, once
    checks: list[int] = []
    original = kind.check_schema

    def counted(schema: Any, *args: Any, **kwargs: Any) -> None:
        checks.append(1)
        original(schema, *args, **kwargs)

    monkeypatch.setattr(kind, "check_schema", counted)
    settings = settings_for_stack(training_configs["dev"], outputs_of(plans["dev"]), shipped["churn"].spec())
    pipeline = build_pipeline(settings)
    assert pipeline.steps, "a pipeline was compiled"
    assert len(checks) <= 1, "the session checks its config once when it is created, no lookup checks it again"
