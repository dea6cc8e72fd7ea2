"""Evaluate the real Pulumi program (infra/__main__.py) offline under Pulumi's mock runtime.

No Pulumi CLI, no credentials, no network: the engine is replaced by a recording mock monitor that
keeps what the engine would receive (type, name, parent, inputs, dependencies) for every resource.
"""

from __future__ import annotations

import runpy
import threading
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime import mocks, rpc, settings
from pulumi.runtime.config import set_all_config
from pulumi.runtime.stack import run_in_stack
from pulumi.runtime.sync_await import _sync_await

from infra.plan.mocks import OfflineMocks
from kernel import stack_file
from kernel.loader import read_stack_file
from kernel.plan import SECRET, Plan, PlannedResource
from kernel.stack_set import check_project

PROJECT_ROOT = Path(__file__).resolve().parents[2]
PROGRAM_DIR = PROJECT_ROOT / "infra"

_lock = threading.Lock()


class RecordingMonitor(mocks.MockMonitor):
    """A mock monitor that also records what `Mocks.new_resource` cannot see: parent and dependencies."""

    def __init__(self, offline_mocks: OfflineMocks) -> None:
        super().__init__(offline_mocks)
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
            )
        )
        return response

    def RegisterResourceOutputs(self, request: Any) -> Any:  # noqa: N802 - gRPC method name
        """Keep the stack's exported outputs."""
        if request.urn == self.stack_urn:
            self.outputs = _plain(rpc.deserialize_properties(request.outputs))
        return super().RegisterResourceOutputs(request)  # type: ignore[no-untyped-call]


def evaluate_stack(stack: str, root: Path = PROJECT_ROOT) -> Plan:
    """Validate the stack file, then run the program against it under mocks and return its plan.

    Raises `ConfigError` for a bad stack file before any resource is registered.
    """
    config = check_project(stack, root)
    values = read_stack_file(stack_file(stack, root))
    offline_mocks = OfflineMocks(account_id=config.account_id, region=config.region)
    monitor = RecordingMonitor(offline_mocks)
    with _lock:
        mocks.set_mocks(offline_mocks, project=_project_name(root), stack=stack, preview=False, monitor=monitor)
        settings.ROOT.set(None)  # set_mocks made a root stack; run_in_stack makes the one exports go to
        set_all_config({key: value for key, value in values.items() if value is not None})
        _sync_await(run_in_stack(_run_program))
    return Plan(
        stack=stack,
        project=pulumi.get_project(),
        resources=sorted(monitor.records, key=lambda resource: resource.urn),
        outputs=monitor.outputs,
    )


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


def _run_program() -> None:
    """Run infra/ exactly as Pulumi's Python host does: the folder's __main__.py as a script."""
    runpy.run_path(str(PROGRAM_DIR), run_name="__main__")


def _project_name(root: Path) -> str:
    import yaml

    document = yaml.safe_load((root / "Pulumi.yaml").read_text(encoding="utf-8"))
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
