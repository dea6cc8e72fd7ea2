"""Evaluate the real Pulumi programs offline under Pulumi's mock runtime: an environment's plan.

No Pulumi CLI, no credentials, no network: the engine is replaced by a recording mock monitor that
keeps what the engine would receive (type, name, parent, inputs, dependencies) for every resource.
An environment's plan holds the platform program's stack (`infra/platform/`, stack `<env>`) and every
project program's stack (`infra/project/`, stack `<project>-<env>`); each resource says which. A project
program reads the platform's outputs through its `StackReference`, answered from the platform's plan.
"""

from __future__ import annotations

import asyncio
import runpy
import threading
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime import mocks, rpc, settings
from pulumi.runtime import resource as runtime_resource
from pulumi.runtime.config import set_all_config
from pulumi.runtime.stack import run_in_stack
from pulumi.runtime.sync_await import _ensure_event_loop, _sync_await

from infra.plan.collector import collector_paused
from infra.plan.mocks import OfflineMocks
from infra.plan.parallel import PlannedProject, ProjectJob, ProjectWorker
from kernel import stack_file, yaml_text
from kernel.loader import parse_settings, read_stack_file
from kernel.plan import SECRET, Plan, PlannedResource
from kernel.program_stacks import (
    PLATFORM_PROGRAM,
    PLATFORM_PROJECT,
    PROJECT_PROGRAM,
    PROJECTS_PROJECT,
    platform_stack_reference,
    project_stack,
)
from kernel.projects import PROJECTS_DIR, load_project, project_names
from kernel.stack_set import check_project
from pipelines.definitions.clarify import check_training_data

PROJECT_ROOT = Path(__file__).resolve().parents[2]
PROGRAM_DIRS = {
    PLATFORM_PROGRAM: PROJECT_ROOT / "infra" / "platform",
    PROJECT_PROGRAM: PROJECT_ROOT / "infra" / "project",
}

_lock = threading.Lock()


def _without_stack_traces() -> None:
    """Offline plans send the mock engine no stack traces: the mocks never read them.

    Pulumi 3.272's `_get_stack_trace` sends one with each resource registration, for the engine's diagnostics.
    Capturing one walks the Python stack and turns every frame's file into a URI, about a tenth of a plan's
    time. The SDK builds an empty trace itself when it finds no user frame, so this is a state it knows.
    """
    runtime_resource._get_stack_trace = runtime_resource.source_pb2.StackTrace  # type: ignore[attr-defined]


_without_stack_traces()


class RecordingMonitor(mocks.MockMonitor):
    """A mock monitor that also records what `Mocks.new_resource` cannot see: parent and dependencies."""

    def __init__(self, offline_mocks: OfflineMocks, program: str, stack: str, ml_project: str | None) -> None:
        super().__init__(offline_mocks)
        self.program, self.stack, self.ml_project = program, stack, ml_project
        self.records: list[PlannedResource] = []
        self.outputs: dict[str, Any] = {}
        self.stack_urn = ""

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 - gRPC method name
        """Register as the mock engine does, and keep the request's view of the resource."""
        response = super().RegisterResource(request)  # type: ignore[no-untyped-call]
        if request.type == "pulumi:pulumi:Stack":
            self.stack_urn = response.urn
            return response
        self.records.append(
            PlannedResource(
                urn=response.urn,
                type=request.type,
                name=request.name,
                parent=request.parent or None,
                inputs=_plain(rpc.deserialize_properties(request.object)),
                dependencies=sorted(set(request.dependencies)),
                options=_options(request),
                program=self.program,
                stack=self.stack,
                ml_project=self.ml_project,
            )
        )
        return response

    def RegisterResourceOutputs(self, request: Any) -> Any:  # noqa: N802 - gRPC method name
        """Keep the stack's exported outputs."""
        if request.urn == self.stack_urn:
            self.outputs = _plain(rpc.deserialize_properties(request.outputs))
        return super().RegisterResourceOutputs(request)  # type: ignore[no-untyped-call]


def evaluate_stack(
    stack: str, root: Path = PROJECT_ROOT, projects: Sequence[str] | None = None, platform: bool = True
) -> Plan:
    """Validate, then plan an environment: its platform stack and its projects' stacks, under mocks.

    `projects` limits the projects planned (all of `projects/` when None); `platform=False` leaves the platform's
    resources out of the plan (a project's plan still reads the platform's outputs, so it is still evaluated).
    Raises `ConfigError` for a bad stack or project file before any resource is registered.
    """
    with collector_paused():
        return _evaluate_stack(stack, root, projects, platform)


def _evaluate_stack(stack: str, root: Path, projects: Sequence[str] | None, platform: bool) -> Plan:
    config = check_project(stack, root)
    names = list(project_names(root)) if projects is None else list(projects)
    loaded = [load_project(root, name) for name in names]
    values = read_stack_file(stack_file(stack, root))
    for project in loaded:
        check_training_data(parse_settings(values, stack_file(stack, root).name, project), project)
    job = ProjectJob(root, stack, config.environment, config.account_id, config.region)
    with ProjectWorker.for_projects(evaluate_project, job, [project.name for project in loaded]) as worker:
        platform_plan = _evaluate(root, PLATFORM_PROGRAM, stack, values, config.account_id, config.region, None, {})
        planned = worker.evaluate(platform_plan.outputs)
    resources = list(platform_plan.records) if platform else []
    outputs: dict[str, Any] = dict(platform_plan.outputs)
    project_outputs: dict[str, Any] = {}
    for project in loaded:  # in the projects' order, whichever process planned them
        records, project_outputs[project.name] = planned[project.name]
        resources += records
    if project_outputs:
        outputs["projects"] = project_outputs
    return Plan(
        stack=stack,
        project=_project_name(root),
        resources=sorted(resources, key=lambda resource: resource.urn),
        outputs=outputs,
    )


def evaluate_project(job: ProjectJob, name: str, platform_outputs: Mapping[str, Any]) -> PlannedProject:
    """One project's stack of the environment `job` describes: its resources and outputs.

    `platform_outputs` answers the project's `StackReference`, read only when the program reaches it.
    """
    stack = project_stack(name, job.stack)
    run = _evaluate(
        job.root,
        PROJECT_PROGRAM,
        stack,
        _project_stack_values(job.root, stack),
        job.account_id,
        job.region,
        name,
        {platform_stack_reference(job.environment): platform_outputs},
    )
    return run.records, run.outputs


def _evaluate(  # noqa: PLR0917 - one call site per program, all arguments by position
    root: Path,
    program: str,
    stack: str,
    values: dict[str, Any],
    account_id: str,
    region: str,
    ml_project: str | None,
    references: Mapping[str, Mapping[str, Any]],
) -> RecordingMonitor:
    offline_mocks = OfflineMocks(
        account_id=account_id, region=region, stack_references=references, scope=ml_project or ""
    )
    monitor = RecordingMonitor(offline_mocks, program, stack, ml_project)
    pulumi_project = PLATFORM_PROJECT if program == PLATFORM_PROGRAM else PROJECTS_PROJECT
    with _lock, collector_paused():  # paused already in `evaluate_stack`; this is for the helper process
        mocks.set_mocks(offline_mocks, project=pulumi_project, stack=stack, preview=False, monitor=monitor)
        settings.ROOT.set(None)  # set_mocks made a root stack; run_in_stack makes the one exports go to
        settings.SETTINGS.root_directory = str(root if program == PLATFORM_PROGRAM else root / PROJECTS_DIR)
        set_all_config({key: value for key, value in values.items() if value is not None})
        with _executor():
            _sync_await(run_in_stack(lambda: _run_program(PROGRAM_DIRS[program])))
    return monitor


@contextmanager
def _executor() -> Iterator[None]:
    """The runtime's threads (it calls the mock monitor in its event loop's executor) ended once a program ran.

    A plan leaves no thread behind, so the next plan may fork its helper (infra/plan/parallel.py). The loop
    keeps an executor, one that has started no thread yet, for whatever else runs on it.
    """
    loop: asyncio.AbstractEventLoop = _ensure_event_loop()  # type: ignore[no-untyped-call]
    executor = ThreadPoolExecutor(thread_name_prefix="mlops-plan")
    loop.set_default_executor(executor)
    try:
        yield
    finally:
        executor.shutdown(wait=True)
        loop.set_default_executor(ThreadPoolExecutor())


def _run_program(program_dir: Path) -> None:
    """Run a program's `__main__.py` as Pulumi would (its module globals are discarded)."""
    runpy.run_path(str(program_dir), run_name="__main__")


def _project_stack_values(root: Path, stack: str) -> dict[str, Any]:
    """A project stack's own settings, such as its secret `github:dispatchToken`; none when it has no file.

    Pulumi reads them from `projects/Pulumi.<project>-<env>.yaml`, beside `projects/Pulumi.yaml`.
    """
    path = root / PROJECTS_DIR / f"Pulumi.{stack}.yaml"
    return read_stack_file(path) if path.is_file() else {}


def _options(request: Any) -> dict[str, Any]:
    """The options that decide deletes and replacements, only those that are set."""
    options: dict[str, Any] = {
        "protect": bool(request.protect),
        "retainOnDelete": bool(request.retainOnDelete),
        "deleteBeforeReplace": bool(request.deleteBeforeReplace),
    }
    if request.HasField("replacement_trigger"):
        trigger = request.replacement_trigger  # a protobuf Value: scalar triggers are all the program uses
        options["replacementTrigger"] = getattr(trigger, trigger.WhichOneof("kind"))
    return {key: value for key, value in options.items() if value}


def _project_name(root: Path) -> str:

    document = yaml_text.load((root / "Pulumi.yaml").read_text(encoding="utf-8"))
    return str(document["name"])


def _plain(value: Any) -> Any:
    """Inputs as JSON data: secrets redacted, assets described, whole numbers as ints."""
    if rpc.is_rpc_secret(value):
        return SECRET
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in sorted(value.items())}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, pulumi.FileAsset | pulumi.FileArchive):
        return {"asset": str(Path(str(value.path)).resolve().relative_to(PROJECT_ROOT))}
    if isinstance(value, pulumi.StringAsset):
        return {"asset": "text", "text": value.text}
    if isinstance(value, pulumi.Resource):
        return {"resource": str(type(value).__name__)}
    if isinstance(value, float) and value.is_integer():
        return int(value)  # the wire carries every number as a double; the provider's schema has ints
    return value
