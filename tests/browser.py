"""Headless Chromium for the map tests (Debian's chromium + chromium-driver, driven by selenium).

Without Chromium the browser tests are skipped with the reason, except when ``CARECIRCLE_REQUIRE_BROWSER`` is
set (CI sets it): then they fail, so a CI run can never pass without having opened a map.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"


def _chromedriver() -> str | None:
    return shutil.which("chromedriver") or next(
        (p for p in ("/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver") if Path(p).exists()), None
    )


def _unavailable(reason: str):
    if os.environ.get("CARECIRCLE_REQUIRE_BROWSER"):
        pytest.fail(f"{reason}; CARECIRCLE_REQUIRE_BROWSER is set")
    pytest.skip(reason)


def open_browser(tmp_path: Path):
    """A selenium Chrome driver on headless Chromium with a fresh profile, or skip with the reason."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        _unavailable("selenium is not installed (pip install '.[test]')")
    driver_path = _chromedriver()
    if not Path(CHROMIUM).exists() or driver_path is None:
        _unavailable("needs /usr/bin/chromium and chromedriver (apt-get install chromium chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--window-size=1280,900",
                 f"--user-data-dir={tmp_path / 'profile'}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(executable_path=driver_path), options=options)


def is_tile_fetch_error(message: str) -> bool:
    """Console errors from background tiles that cannot load offline: expected, filtered out."""
    return "tile.openstreetmap.org" in message or "net::ERR_" in message


def severe_console_errors(driver) -> list[str]:
    """SEVERE browser-console messages other than failed tile fetches."""
    return [e["message"] for e in driver.get_log("browser")
            if e["level"] == "SEVERE" and not is_tile_fetch_error(e["message"])]
