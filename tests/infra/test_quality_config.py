"""The `QualityConfig` section (kernel/quality.py): defaults that run, mistakes refused with the fix."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from kernel.quality import QualityConfig, QualityTolerances
from pipelines.local_run import load_step_module


def test_defaults_are_valid_and_daily() -> None:
    config = QualityConfig()
    assert (config.enabled, config.schedule, config.window_hours, config.delay_hours) == (True, "rate(1 day)", 24, 48)
    assert config.min_samples == 200 and config.retrain_on_violation


def test_camel_case_keys_as_in_the_stack_files() -> None:
    config = QualityConfig.model_validate({"delayHours": 96, "minSamples": 1000, "tolerances": {"labelPsi": 0.3}})
    assert config.delay_hours == 96 and config.min_samples == 1000 and config.tolerances.label_psi == 0.3
    with pytest.raises(ValidationError, match="delayHour\n  Extra inputs are not permitted"):
        QualityConfig.model_validate({"delayHour": 96})


def test_a_window_shorter_than_the_schedule_is_refused_with_the_fix() -> None:
    with pytest.raises(ValidationError, match=r"windowHours 24 is shorter than the schedule 'rate\(2 days\)' \(48 h\)"):
        QualityConfig.model_validate({"schedule": "rate(2 days)"})
    assert QualityConfig.model_validate({"schedule": "rate(2 days)", "windowHours": 48}).window_hours == 48
    assert QualityConfig.model_validate({"schedule": "rate(30 minutes)", "windowHours": 1}).window_hours == 1


@pytest.mark.parametrize(
    "bad",
    [{"minSamples": 5}, {"threshold": 1.0}, {"schedule": "every day"}, {"problem": "ranker"}, {"delayHours": -1}],
)
def test_out_of_range_values_are_refused(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        QualityConfig.model_validate(bad)


def test_every_tolerance_is_one_the_job_knows() -> None:
    """The section's tolerances are exactly the quality step's (pipelines/steps/quality.py DEFAULT_TOLERANCES)."""
    step = load_step_module("quality")
    assert set(QualityTolerances.model_fields) == set(step.DEFAULT_TOLERANCES)
    assert QualityTolerances().model_dump() == step.DEFAULT_TOLERANCES
    assert step._tolerances(QualityTolerances().arguments()[1::2]) == step.DEFAULT_TOLERANCES
