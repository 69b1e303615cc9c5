"""A real headless Chromium for the HTML page, driven by Selenium with Debian's chromedriver.

``tox -e browser`` runs these tests; ``.ci/run`` installs ``chromium`` and ``chromium-driver``.
With ``ATOM_GATES_BROWSER_REQUIRED=1`` (as in tox) a missing browser fails the tests instead of
skipping them. Screenshots go to ``ATOM_GATES_SCREENSHOTS`` (tox: the environment's folder).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = ("chromium", "chromium-browser", "google-chrome")
DRIVER = "chromedriver"


def _missing() -> str | None:
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed"
    if not any(shutil.which(name) for name in CHROMIUM):
        return "no Chromium on the PATH (apt-get install chromium chromium-driver)"
    if shutil.which(DRIVER) is None:
        return "no chromedriver on the PATH (apt-get install chromium-driver)"
    return None


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    missing = _missing()
    if missing:
        if os.environ.get("ATOM_GATES_BROWSER_REQUIRED") == "1":
            pytest.fail(f"the browser tests need a browser: {missing}")
        pytest.skip(missing)
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = next(shutil.which(n) for n in CHROMIUM if shutil.which(n))  # type: ignore[assignment]
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,900"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=Service(shutil.which(DRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    """Where screenshots go: fixed before any pytester test changes the working directory."""
    return Path(os.environ.get("ATOM_GATES_SCREENSHOTS", "screenshots")).resolve()


class Page:
    """One page open in the browser, with what the browser logged while it was open."""

    def __init__(self, driver: Any, path: Path, screenshots: Path) -> None:
        self.driver = driver
        self.screenshots = screenshots
        driver.get_log("browser")  # drop what earlier pages logged
        driver.get_log("performance")
        driver.get(path.as_uri())

    def console_errors(self) -> list[str]:
        return [e["message"] for e in self.driver.get_log("browser") if e["level"] == "SEVERE"]

    def requests(self) -> list[str]:
        """Every URL the page asked for, the page itself included."""
        urls = []
        for entry in self.driver.get_log("performance"):
            message = json.loads(entry["message"])["message"]
            if message["method"] == "Network.requestWillBeSent":
                urls.append(message["params"]["request"]["url"])
        return urls

    def screenshot(self, name: str) -> Path:
        """The whole page (up to 4,000 pixels high) as a PNG file."""
        self.screenshots.mkdir(parents=True, exist_ok=True)
        path = self.screenshots / f"{name}.png"
        width, height = self.driver.get_window_size().values()
        full = self.run("return document.documentElement.scrollHeight;")
        self.driver.set_window_size(width, min(int(full) + 150, 4000))
        try:
            self.driver.save_screenshot(str(path))
        finally:
            self.driver.set_window_size(width, height)
        return path

    def text(self, css: str) -> str:
        return str(self.driver.find_element("css selector", css).text)

    def texts(self, css: str) -> list[str]:
        return [str(e.text) for e in self.driver.find_elements("css selector", css)]

    def run(self, script: str, *args: Any) -> Any:
        return self.driver.execute_script(script, *args)


@pytest.fixture
def open_page(browser: Any, screenshots: Path) -> Any:
    def opened(path: Path) -> Page:
        return Page(browser, path, screenshots)

    return opened
