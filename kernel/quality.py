"""The model-quality section of a project's config: when the quality job runs and what it tolerates.

The quality job (pipelines/steps/quality.py) joins captured predictions with the labels that came back
and compares the model's quality with its evaluation baseline. It is a project's setting, per environment
in `projects/<name>/project.yaml` (`environments.<env>.quality`); the model's kind (classifier or
regressor) is the project's `model.kind`. These settings reach the job as arguments of its pipeline
(infra/components/quality.py); the names of the tolerances are the job's own.
"""

from __future__ import annotations

import re

from pydantic import Field, model_validator

from kernel.section import SCHEDULE, Section
from kernel.types import InstanceType

_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
_UNIT_HOURS = {"minute": 1 / 60, "hour": 1.0, "day": 24.0}


class QualityTolerances(Section):
    """How far the model may fall from its evaluation baseline before the job reports a violation."""

    auc: float = Field(default=0.05, ge=0, le=1, description="Largest allowed drop of AUC (classifier).")
    precision: float = Field(default=0.10, ge=0, le=1, description="Largest allowed drop of precision (classifier).")
    recall: float = Field(default=0.10, ge=0, le=1, description="Largest allowed drop of recall (classifier).")
    mae: float = Field(default=0.10, ge=0, le=10, description="Largest allowed relative rise of MAE (regressor).")
    rmse: float = Field(default=0.10, ge=0, le=10, description="Largest allowed relative rise of RMSE (regressor).")
    calibration_error: float = Field(
        default=0.10, gt=0, le=1, description="Largest expected calibration error (classifier, 10 bins)."
    )
    label_psi: float = Field(default=0.20, gt=0, le=10, description="Label drift: PSI above this is material.")
    label_p_value: float = Field(default=0.01, gt=0, lt=1, description="Label drift: significance level.")
    group_gap: float = Field(
        default=0.25,
        gt=0,
        le=1,
        description="Largest gap of recall (or MAE) between groups of the sensitive attribute.",
    )

    def arguments(self) -> list[str]:
        """The job's `--tolerance NAME=VALUE` arguments."""
        return [part for name, value in self.model_dump().items() for part in ("--tolerance", f"{name}={value}")]


class QualityConfig(Section):
    """The scheduled quality job, its window for late labels, its floor and its tolerances."""

    enabled: bool = Field(default=True, description="Run the quality job where the endpoint captures traffic.")
    schedule: str = Field(default="rate(1 day)", pattern=SCHEDULE, description="How often the quality job runs.")
    window_hours: int = Field(
        default=24, ge=1, le=24 * 30, description="Hours of predictions each run judges (one window per run)."
    )
    delay_hours: int = Field(
        default=48,
        ge=0,
        le=24 * 90,
        description="How long labels may take to arrive: each run judges the window that ended this long ago.",
    )
    min_samples: int = Field(
        default=200,
        ge=10,
        le=10_000_000,
        description="Labelled predictions below which the job reports 'insufficient labels' and never violates.",
    )
    threshold: float = Field(default=0.5, gt=0, lt=1, description="The serving threshold of a classifier's score.")
    tolerances: QualityTolerances = Field(default_factory=QualityTolerances, description="See QualityTolerances.")
    retrain_on_violation: bool = Field(
        default=True,
        description="A quality alarm starts dev's training pipeline (staging and prod forward it to dev); the new "
        "model registers as PendingManualApproval and deploys only through the same approval.",
    )
    processing_instance_type: InstanceType = Field(default="ml.m5.large", description="Instance of the quality job.")
    max_runtime_seconds: int = Field(default=3600, ge=60, le=86_400, description="Hard stop of a quality job.")

    @model_validator(mode="after")
    def _window_covers_the_schedule(self) -> QualityConfig:
        """A window shorter than the time between runs leaves predictions no run ever judges."""
        match = _RATE.match(self.schedule)
        if match is None:
            return self  # a cron expression: its spacing is not a single number, so it is not checked here
        interval = int(match.group(1)) * _UNIT_HOURS[match.group(2).removesuffix("s")]
        if self.window_hours < interval:
            raise ValueError(
                f"windowHours {self.window_hours} is shorter than the schedule {self.schedule!r} "
                f"({interval:g} h): predictions between windows would never be judged; "
                f"set windowHours to at least {interval:g}"
            )
        return self
