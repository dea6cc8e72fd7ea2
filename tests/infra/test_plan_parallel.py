"""An environment's projects planned on two processes: the same plan, byte for byte, as on one.

Past `MIN_PROJECTS` projects `mlops plan` hands projects to a helper process (infra/plan/parallel.py). What a
user relies on is that this changes nothing but the time: the plan JSON is identical, whichever process
planned which project, and a project the helper could not plan is planned in the main process.
"""

from __future__ import annotations

import json
import multiprocessing
import shutil
import time
from pathlib import Path

import pytest

from infra.plan.evaluate import evaluate_stack
from infra.plan.parallel import MIN_PROJECTS, WORKERS_VARIABLE, PlannedProject, ProjectJob, ProjectWorker, workers_for
from tests.helpers import FIXTURE_STACKS

TEMPLATE = "churn"


@pytest.fixture(scope="module")
def four_projects(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture stacks with churn and three copies of it under other names (team1..team3)."""
    root = tmp_path_factory.mktemp("four-projects")
    shutil.copytree(FIXTURE_STACKS, root, dirs_exist_ok=True)
    for index in (1, 2, 3):
        name = f"team{index}"
        folder = root / "projects" / name
        shutil.copytree(root / "projects" / TEMPLATE, folder, ignore=shutil.ignore_patterns("__pycache__"))
        document = folder / "project.yaml"
        document.write_text(document.read_text(encoding="utf-8").replace(f"name: {TEMPLATE}", f"name: {name}", 1))
        (folder / "data" / f"{TEMPLATE}.csv").rename(folder / "data" / f"{name}.csv")
    return root


def _plan_json(root: Path, workers: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv(WORKERS_VARIABLE, workers)
    return json.dumps(evaluate_stack("dev", root).to_dict(), sort_keys=True)


def test_two_processes_plan_what_one_plans(four_projects: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    one = _plan_json(four_projects, "1", monkeypatch)
    two = _plan_json(four_projects, "2", monkeypatch)
    plan = json.loads(one)
    assert sorted(plan["outputs"]["projects"]) == ["churn", "team1", "team2", "team3"]
    assert {r["ml_project"] for r in plan["resources"] if r["ml_project"]} == {"churn", "team1", "team2", "team3"}
    assert two == one


def _fails_in_the_helper(job: ProjectJob, name: str) -> PlannedProject:
    """Plans nothing in the helper process (it leaves a mark and fails); in the main process, it first waits
    until the helper has taken a project, so that the fallback is always exercised."""
    if multiprocessing.parent_process() is not None:
        (job.root / f"taken-{name}").touch()
        raise RuntimeError("the helper cannot plan")
    deadline = time.monotonic() + 120
    while not list(job.root.glob("taken-*")) and time.monotonic() < deadline:
        time.sleep(0.05)
    return [], {"planned_by": "main"}


def test_a_project_the_helper_cannot_plan_is_planned_here(tmp_path: Path) -> None:
    job = ProjectJob(tmp_path, "dev", "dev", "111111111111", "eu-west-1", {})
    names = [f"p{index}" for index in range(4)]
    with ProjectWorker(_fails_in_the_helper, helper=True) as worker:
        planned = worker.evaluate(job, names)
    taken = sorted(path.name.removeprefix("taken-") for path in tmp_path.glob("taken-*"))
    assert taken, "the helper took no project"
    assert sorted(planned) == names
    assert all(outputs == {"planned_by": "main"} for _, outputs in planned.values())


def test_a_second_process_only_where_it_pays(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(WORKERS_VARIABLE, raising=False)
    monkeypatch.setattr("infra.plan.parallel._cores", lambda: 2)
    assert workers_for(MIN_PROJECTS - 1) == 1
    assert workers_for(MIN_PROJECTS) == 2
    monkeypatch.setattr("infra.plan.parallel._cores", lambda: 1)
    assert workers_for(10) == 1
    monkeypatch.setenv(WORKERS_VARIABLE, "many")
    with pytest.raises(ValueError, match=f"{WORKERS_VARIABLE}='many': set it to 1"):
        workers_for(10)
