"""`mlops report`: one self-contained page, rendered in a real headless Chromium with every plot and no error.

The browser is Debian's Chromium; `make test` installs it when it is missing (Makefile `CHROMIUM`), so these tests
never skip: without it they fail naming the command that installs it. One browser session serves the module.
"""

from __future__ import annotations

import json
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mlops.console import UserError
from mlops.report.artefacts import load_artefacts
from mlops.report.page import render
from tests.cli.helpers import run
from tests.report.helpers import headless_chromium

PLOTS = ("evaluation", "bias", "attribution", "drift", "quality")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless Chromium for every browser test of this module."""
    with headless_chromium() as driver:
        yield driver


@pytest.fixture(scope="module")
def page(artefacts: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("report") / "report.html"
    out.write_text(render(load_artefacts(artefacts), "churn in staging"), encoding="utf-8")
    return out


def test_the_page_is_self_contained(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    assert not re.search(r"<script[^>]+src=", text), "no script is fetched: plotly.js is inlined"
    assert not re.search(r"""<link[^>]+href=["']https?:""", text), "no stylesheet is fetched"
    assert text.count("* plotly.js v") == 1, "plotly.js is inlined once, for every plot"
    for plot in PLOTS:
        assert f'id="{plot}"' in text


def test_a_missing_evaluation_names_the_file_and_the_fix(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"training/evaluation/evaluation\.json: no evaluation report; run `make demo`"):
        load_artefacts(tmp_path)


def test_missing_optional_artefacts_say_what_fills_them(artefacts: Path, tmp_path: Path) -> None:
    shutil.copytree(artefacts / "training", tmp_path / "training")
    text = render(load_artefacts(tmp_path), "t")
    assert "No drift report (drift/drift.json)" in text and "No quality history (quality/history.json)" in text
    assert 'id="evaluation"' in text and 'id="drift"' not in text


def test_the_command_writes_the_page(artefacts: Path, project_root: Path, tmp_path: Path) -> None:
    """The project's page; a project without a run is refused naming the file and the fix, without a traceback."""
    out = tmp_path / "r" / "report.html"
    done = run("report", "--stack", "staging", "--project", "churn", "--artefacts", str(artefacts), "--out", str(out),
               cwd=project_root)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "self-contained" in done.stdout and "<title>churn in staging (staging, " in out.read_text()
    # a repository without a demo run (the checkout's own may have one: `make demo` before `make test`)
    missing = run("report", "--stack", "staging", "--project", "churn", "--out", str(out), cwd=project_root)
    assert missing.returncode == 1 and "Traceback" not in missing.stderr
    assert "out/demo/churn/training/evaluation/evaluation.json: no evaluation report; run `make demo`" in " ".join(
        missing.stderr.split()
    )


def test_the_page_renders_in_chromium_with_every_plot_and_no_console_error(page: Path, browser: Any) -> None:
    browser.get_log("browser")  # what an earlier page of this session left
    browser.get(page.as_uri())
    deadline = time.monotonic() + 30
    drawn: dict[str, int] = {}
    while time.monotonic() < deadline:
        drawn = browser.execute_script(
            "const out = {}; for (const id of arguments[0]) { const d = document.getElementById(id);"
            " out[id] = d && d.data && d.querySelector('svg.main-svg') ? d.data.length : 0; } return out;",
            list(PLOTS),
        )
        if all(drawn.values()):
            break
        time.sleep(0.2)
    assert all(drawn[plot] > 0 for plot in PLOTS), f"plots drawn with their traces: {drawn}"
    marks = browser.execute_script(
        "return document.querySelectorAll('#evaluation .scatterlayer .trace, #bias .barlayer .trace,"
        " #drift .barlayer .trace, #quality .scatterlayer .trace').length"
    )
    assert marks >= 5, "the traces are drawn as SVG"
    fetched = browser.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name).filter(n => /^https?:/.test(n))"
    )
    assert fetched == [], f"the page fetched {fetched}"
    logs = browser.get_log("browser")
    errors = [entry for entry in logs if entry["level"] == "SEVERE"]
    assert errors == [], json.dumps(errors, indent=1)


def test_the_browser_test_would_see_a_broken_page(browser: Any, tmp_path: Path) -> None:
    """The console check is live: a page with a script error is reported by the same browser."""
    broken = tmp_path / "broken.html"
    broken.write_text("<html><body><script>undefinedFunction()</script></body></html>", encoding="utf-8")
    browser.get_log("browser")
    browser.get(broken.as_uri())
    logs = browser.get_log("browser")
    assert any(entry["level"] == "SEVERE" and "undefinedFunction" in entry["message"] for entry in logs)
