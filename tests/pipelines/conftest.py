"""Shared, slow-to-build fixtures of the pipeline tests: one local training run, one SDK build per stack."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import botocore.client
import pytest

from kernel import StackConfig
from kernel.plan import Plan
from kernel.projects import Project, load_project
from pipelines.definitions.settings import settings_for_stack
from pipelines.definitions.templates import render_definition
from pipelines.definitions.training import build_pipeline
from pipelines.local_run import LocalTrainingRun, run_training
from pipelines.parity import PROJECT_ROOT, gate_of
from tests.helpers import outputs_of
from tests.once import once


@pytest.fixture(scope="session")
def shipped() -> dict[str, Project]:
    """The shipped projects: churn (a classifier) and claims (a regressor)."""
    return {name: load_project(PROJECT_ROOT, name) for name in ("churn", "claims")}


@pytest.fixture(scope="session")
def training_run(tmp_path_factory: pytest.TempPathFactory, shipped: dict[str, Project]) -> LocalTrainingRun:
    """preprocess -> train -> evaluate -> baseline on churn's sample data, as the pipeline runs them.

    Run once per test run (tests.once): the tests read its folder, none writes to it.
    """
    return once(
        "training-run-churn",
        lambda: run_training(tmp_path_factory.mktemp("training"), shipped["churn"], metric="auc", threshold=0.7),
    )


@pytest.fixture(scope="session")
def claims_run(tmp_path_factory: pytest.TempPathFactory, shipped: dict[str, Project]) -> LocalTrainingRun:
    """The same chain on the claims project (a regressor), gated as its project file says, bias limit included.

    Run once per test run, like `training_run`.
    """
    metric, threshold = gate_of(shipped["claims"])

    def run() -> LocalTrainingRun:
        root = tmp_path_factory.mktemp("claims")
        return run_training(root, shipped["claims"], metric=metric, threshold=threshold, max_bias=0.1)

    return once("training-run-claims", run)


@contextmanager
def refusing_aws() -> Iterator[list[str]]:
    """Fail any AWS API call made inside the block; yields the operations that were tried."""
    calls: list[str] = []
    original = botocore.client.BaseClient._make_api_call

    def refuse(self: Any, operation: str, params: Any) -> Any:
        calls.append(operation)
        raise AssertionError(f"compiling called AWS: {operation}")

    botocore.client.BaseClient._make_api_call = refuse  # type: ignore[method-assign]
    try:
        yield calls
    finally:
        botocore.client.BaseClient._make_api_call = original  # type: ignore[method-assign]


@pytest.fixture
def no_aws() -> Iterator[list[str]]:
    """Fail any AWS API call the test makes."""
    with refusing_aws() as calls:
        yield calls


@pytest.fixture(scope="session")
def training_configs(configs: dict[str, StackConfig]) -> dict[str, StackConfig]:
    """Only dev trains: its shipped config (spot, tuned), and the same on demand without tuning (the other variant)."""
    dev = configs["dev"]
    on_demand = dev.trained().model_copy(update={"use_spot": False, "tuning": None})
    return {"dev": dev, "on-demand": dev.model_copy(update={"training": on_demand})}


@pytest.fixture(scope="session")
def built_pipelines(
    plans: dict[str, Plan], training_configs: dict[str, StackConfig], shipped: dict[str, Project]
) -> dict[str, Any]:
    """The SDK `Pipeline` of each training config, built from dev's plan outputs offline."""
    spec = shipped["churn"].spec()
    with refusing_aws() as calls:
        built = {
            name: build_pipeline(settings_for_stack(config, outputs_of(plans["dev"]), spec))
            for name, config in training_configs.items()
        }
    assert calls == []
    return built


@pytest.fixture(scope="session", params=["dev", "on-demand"])
def dev_definition(
    request: pytest.FixtureRequest,
    plans: dict[str, Plan],
    training_configs: dict[str, StackConfig],
    shipped: dict[str, Project],
) -> Any:
    """Dev's training definition as shipped (spot) and on demand (the other template).

    Only dev trains (staging and prod serve dev's packages), so both templates are tested with dev's settings.
    """
    spec = shipped["churn"].spec()
    definition = render_definition(settings_for_stack(training_configs[request.param], outputs_of(plans["dev"]), spec))
    spot_jobs = json.dumps(definition).count('"EnableManagedSpotTraining": true')
    assert (spot_jobs > 0) == (request.param == "dev"), "the variant is the template it claims to be"
    return definition


@pytest.fixture
def failing() -> Iterator[tuple[str, list[str]]]:
    """An endpoint that answers every request with a 500 (which botocore retries), and its request log."""
    requests: list[str] = []

    class Failing(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            requests.append(self.headers.get("X-Amz-Target", self.path))
            self.rfile.read(int(self.headers["Content-Length"]))
            body = b'{"__type": "InternalFailure", "message": "boom"}'
            self.send_response(500)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_PUT(self) -> None:  # the featurestore runtime's PutRecord
            self.do_POST()

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Failing)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", requests
    finally:
        server.shutdown()
