"""Debian's headless Chromium, driven by selenium through Debian's chromedriver (no browser download).

Chromium and chromedriver come from the same Debian package version (`apt-get install chromium
chromium-driver`, 150.0.7871.100-1~deb12u1 here), so they always match; `make test` installs them when they
are missing and exports the pair it found as CHROMIUM and CHROMEDRIVER (a Chrome and its driver elsewhere, such
as GitHub's Ubuntu runners). The browser runs offline: every host name resolves to nothing, so a page that
needs the network shows it as console errors.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER") or shutil.which("chromedriver")
MISSING = (
    "no Chromium here: install Debian's `chromium` and `chromium-driver` packages "
    "(sudo apt-get install -y chromium chromium-driver; `make test` does it as root) to run the report's browser test"
)


@contextmanager
def headless_chromium(width: int = 1280, height: int = 900) -> Iterator[Any]:
    """A selenium driver of headless Chromium that records the console and reaches no network."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    if CHROMIUM is None or CHROMEDRIVER is None:
        raise RuntimeError(MISSING)
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",  # the test may run as root in a container
        "--disable-gpu",
        "--disable-dev-shm-usage",
        f"--window-size={width},{height}",
        "--host-resolver-rules=MAP * ~NOTFOUND",  # offline: the page must carry everything it needs
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()
