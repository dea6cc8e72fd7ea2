"""Shared fixtures: each fixture stack is planned once per session under Pulumi mocks.

The blueprint's tests run on the stack files in `tests/fixtures/stacks/`, never on the fork's own
`Pulumi.*.yaml`: a fork edits those (accounts, region, org, personas) and its tests must stay green.
The fork's own files are checked by `tests/fork/`, parameterised over whatever stack files exist.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from infra.plan.evaluate import evaluate_stack
from kernel import StackConfig, load_stack_file, stack_file
from kernel.loader import parse_settings, read_stack_file
from kernel.plan import Plan
from kernel.projects import load_project
from pipelines.parity import PROJECT_ROOT, ParityRun, run_chain
from tests import once
from tests.helpers import FIXTURE_STACKS

STACKS = ("dev", "staging", "prod")
PARITY_PROJECTS = ("churn", "claims")
"""The shipped projects, one of each model kind, whose step chains run on the images' Python."""

FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "eu-west-1",
}
"""Credentials moto accepts; set for the whole session so no test can ever sign a real request."""
EMULATOR_SETTINGS = {"MOTO_EC2_LOAD_DEFAULT_AMIS": "false"}
"""moto (5.2.5 `moto/settings.py`) loads its catalogue of public AMIs into each region's EC2 backend on first use
(the zone-table test, one EC2 call per SageMaker region: 9.3 s of CPU with them, 4.1 s without). No test, and
no command the tests run, uses a machine image."""


def pytest_configure(config: pytest.Config) -> None:
    once.configure(config)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    once.configure_node(node)


def pytest_unconfigure(config: pytest.Config) -> None:
    once.unconfigure(config)


@pytest.fixture(scope="session", autouse=True)
def _offline_aws_credentials() -> Iterator[None]:
    saved = {key: os.environ.get(key) for key in [*FAKE_CREDENTIALS, *EMULATOR_SETTINGS, "AWS_PROFILE"]}
    os.environ.update(FAKE_CREDENTIALS | EMULATOR_SETTINGS)
    os.environ.pop("AWS_PROFILE", None)
    yield
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """An AWS emulator (moto server) on 127.0.0.1, shared by the tests that drive the CLI end to end."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(scope="session")
def project_root() -> Path:
    """The fixture project folder: its stack files are the tests' own, whatever a fork's say."""
    return FIXTURE_STACKS


@pytest.fixture(scope="session")
def plans() -> dict[str, Plan]:
    """The plan of every fixture stack, evaluated once per run (by one worker): the program is deterministic."""
    return once.once("fixture-plans", lambda: {stack: evaluate_stack(stack, FIXTURE_STACKS) for stack in STACKS})


@pytest.fixture(scope="session")
def configs() -> dict[str, StackConfig]:
    """The churn project's view of every fixture stack (the platform's settings completed by churn's)."""
    churn = load_project(FIXTURE_STACKS, "churn")
    return {
        stack: parse_settings(read_stack_file(stack_file(stack, FIXTURE_STACKS)), f"Pulumi.{stack}.yaml", churn)
        for stack in STACKS
    }


@pytest.fixture(scope="session")
def platform_configs() -> dict[str, StackConfig]:
    """The platform's own view of every fixture stack file."""
    return {stack: load_stack_file(stack_file(stack, FIXTURE_STACKS)) for stack in STACKS}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the fixture stack files and projects, for tests that pin models or otherwise edit them."""
    for name in ("Pulumi.yaml", *(f"Pulumi.{stack}.yaml" for stack in STACKS)):
        shutil.copy(FIXTURE_STACKS / name, tmp_path / name)
    shutil.copytree(FIXTURE_STACKS / "projects", tmp_path / "projects")
    return tmp_path


@pytest.fixture(params=STACKS)
def stack(request: pytest.FixtureRequest) -> str:
    """Parametrises a test over the three fixture stacks."""
    return str(request.param)


@pytest.fixture
def plan(plans: dict[str, Plan], stack: str) -> Plan:
    return plans[stack]


@pytest.fixture
def config(configs: dict[str, StackConfig], stack: str) -> StackConfig:
    return configs[stack]


class _Background:
    """The parity run (pipelines.parity), started as soon as collection picks a test that needs it.

    Its steps are subprocesses on the images' interpreters, so they use the second core while the rest
    of the suite runs; the `parity_run` fixture waits for the result.
    """

    thread: threading.Thread | None = None
    result: dict[str, ParityRun] | BaseException | None = None


LONG_FIRST = ("tests/sufficiency/", "tests/faults/", "tests/e2e/")
"""The modules with the longest single setups or tests: run first, so that the other worker (work stealing)
takes over the rest of the queue instead of waiting at the end for one long test."""


def _rank(item: pytest.Item) -> int:
    return next((index for index, prefix in enumerate(LONG_FIRST) if item.nodeid.startswith(prefix)), len(LONG_FIRST))


@pytest.hookimpl(trylast=True)  # after -k and -m have deselected what will not run
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    items.sort(key=_rank)  # stable: the same order on every worker, as xdist requires
    wanted = ("parity_run", "parity_runs")
    if _Background.thread or not any(set(wanted) & set(getattr(item, "fixturenames", ())) for item in items):
        return

    def run() -> None:
        try:
            _Background.result = once.once("parity-runs", lambda: _run_chains(_parity_root()))
        except BaseException as error:  # reported by the fixture, in the test that needs it
            _Background.result = error

    _Background.thread = threading.Thread(target=run, name="parity-run", daemon=True)
    _Background.thread.start()


def _parity_root() -> Path:
    """A new folder for the chains: in the run's shared folder under xdist (the other workers read it)."""
    shared = once.shared_folder()
    root = Path(tempfile.mkdtemp(prefix="parity-", dir=shared))
    if shared is None:
        atexit.register(shutil.rmtree, root, True)
    return root


def _run_chains(root: Path) -> dict[str, ParityRun]:
    return {name: run_chain(root / name, load_project(PROJECT_ROOT, name)) for name in PARITY_PROJECTS}


@pytest.fixture(scope="session")
def parity_runs() -> dict[str, ParityRun]:
    """Each shipped project's preprocess -> ... -> track, every step on its image's Python and pins."""
    if _Background.thread is None:  # collected some other way: run it here
        return _run_chains(Path(tempfile.mkdtemp(prefix="parity-")))
    _Background.thread.join()
    if isinstance(_Background.result, BaseException):
        raise _Background.result
    assert _Background.result is not None
    return _Background.result


@pytest.fixture(scope="session")
def parity_run(parity_runs: dict[str, ParityRun]) -> ParityRun:
    """The churn project's parity run (the classifier)."""
    return parity_runs["churn"]
