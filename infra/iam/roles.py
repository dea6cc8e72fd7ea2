"""The roles one environment has, and their names."""

from __future__ import annotations

from typing import Literal

Workload = Literal["pipeline", "jobs", "model", "monitoring", "feature-store", "tracking"]
WORKLOADS: tuple[Workload, ...] = ("pipeline", "jobs", "model", "monitoring", "feature-store", "tracking")
"""Execution roles SageMaker assumes: the pipeline itself, its processing/training jobs, the model
behind an endpoint, monitoring jobs, the feature store's offline-store writer, and the MLflow
tracking service's access to its artifact store."""

Persona = Literal["data-scientist", "data-engineer", "ml-engineer", "model-approver", "platform-admin", "auditor"]
PERSONAS: tuple[Persona, ...] = (
    "data-scientist",
    "data-engineer",
    "ml-engineer",
    "model-approver",
    "platform-admin",
    "auditor",
)

Automation = Literal["automation"]
"""EventBridge and Scheduler: start the drift and training pipelines on schedules and alarms."""

CiRole = Literal["github-deploy", "github-preview"]
CI_ROLES: tuple[CiRole, ...] = ("github-deploy", "github-preview")

TrailLogs = Literal["trail-logs"]
"""CloudTrail: deliver the trail's events to its CloudWatch Logs group (Security Hub CloudTrail.5)."""

ReviewRole = Literal["github-review"]
"""GitHub Actions on pull requests: deploys and destroys review stacks (dev's platform only)."""

RoleKey = Workload | Persona | CiRole | Automation | TrailLogs | ReviewRole
