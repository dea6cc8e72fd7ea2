"""Take the README's screenshot of `mlops report` (docs/report.png) with the browser test's headless Chromium.

    make demo && .venv/bin/python tools/report_screenshot.py [ARTEFACTS] [PNG]

Renders the report of a demo run's project artefacts (default out/demo/churn) and captures the whole page.
"""

from __future__ import annotations

import base64
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mlops.report.artefacts import load_artefacts  # noqa: E402 - after the project is on the path
from mlops.report.page import render  # noqa: E402
from tests.report.helpers import headless_chromium  # noqa: E402


def main() -> None:
    """Write the page next to the PNG, open it, wait for the plots, capture the full page."""
    artefacts = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "out" / "demo" / "churn"
    png = Path(sys.argv[2]) if len(sys.argv) > 2 else ROOT / "docs" / "report.png"
    page = artefacts / "report-screenshot.html"
    page.write_text(render(load_artefacts(artefacts), "churn in staging"), encoding="utf-8")
    with headless_chromium(width=1200, height=900) as browser:
        browser.get(page.as_uri())
        for _ in range(150):
            if browser.execute_script("return document.querySelectorAll('svg.main-svg').length") >= 5:
                break
            time.sleep(0.2)
        time.sleep(1)  # let the last plot finish its layout
        height = browser.execute_script("return document.documentElement.scrollHeight")
        shot = browser.execute_cdp_cmd(
            "Page.captureScreenshot",
            {"format": "png", "captureBeyondViewport": True,
             "clip": {"x": 0, "y": 0, "width": 1200, "height": height, "scale": 0.75}},
        )  # fmt: skip
    png.parent.mkdir(parents=True, exist_ok=True)
    png.write_bytes(base64.b64decode(shot["data"]))
    print(f"wrote {png} ({png.stat().st_size // 1024} KiB, {height} px tall)")


if __name__ == "__main__":
    main()
