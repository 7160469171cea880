"""Headless Chromium for the map tests (Debian's chromium + chromium-driver, driven by selenium).

Without Chromium the browser tests are skipped with the reason, except when ``CARECIRCLE_REQUIRE_BROWSER`` is
set (CI sets it): then they fail, so a CI run can never pass without having opened a map. The same holds for the
CJK font the Chinese maps need (CI installs it with Chromium, see ``.ci/run``): :func:`require_cjk_font`.

:func:`rendered_map` reads what Leaflet drew (container size, layer-control entries, legend, drawn features), so a
test asserts on the page itself rather than on a screenshot's size.
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


def unavailable(reason: str):
    """Skip with ``reason``; fail instead when ``CARECIRCLE_REQUIRE_BROWSER`` is set (in CI)."""
    if os.environ.get("CARECIRCLE_REQUIRE_BROWSER"):
        pytest.fail(f"{reason}; CARECIRCLE_REQUIRE_BROWSER is set")
    pytest.skip(reason)


def require_cjk_font(font: str | None) -> str:
    """The CJK font found (``staticmap.cjk_font()``), else skip — or fail in CI, which installs one."""
    if font is None:
        unavailable("no CJK font installed (apt-get install fonts-wqy-zenhei)")
    return font


def open_browser(tmp_path: Path):
    """A selenium Chrome driver on headless Chromium with a fresh profile, or skip with the reason."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        unavailable("selenium is not installed (pip install '.[test]')")
    driver_path = _chromedriver()
    if not Path(CHROMIUM).exists() or driver_path is None:
        unavailable("needs /usr/bin/chromium and chromedriver (apt-get install chromium chromium-driver)")
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


_RENDERED_MAP_JS = """
const container = document.querySelector('.folium-map.leaflet-container');
const box = container ? container.getBoundingClientRect() : null;
const legend = document.querySelector('.carecircle-legend');
const legendBox = legend ? legend.getBoundingClientRect() : null;
const legendStyle = legend ? getComputedStyle(legend) : null;
return {
    leaflet: typeof L === 'object',
    container: box ? [box.width, box.height] : [0, 0],
    overlays: Array.from(document.querySelectorAll('.leaflet-control-layers-overlays label'))
        .map(l => [l.textContent.trim(), l.querySelector('input').checked]),
    legend: !!legend && legendBox.width > 0 && legendBox.height > 0 && legendStyle.display !== 'none'
        && legendStyle.visibility !== 'hidden',
    paths: document.querySelectorAll('.leaflet-overlay-pane path').length,
    markers: document.querySelectorAll('.leaflet-marker-pane .leaflet-marker-icon').length,
};
"""


def rendered_map(driver) -> dict:
    """What Leaflet drew in the current document: ``leaflet`` (loaded), ``container`` ([width, height] px of the
    map), ``overlays`` ([label, checked] of the layer control), ``legend`` (the legend box is visible), ``paths``
    (SVG shapes in the overlay pane) and ``markers`` (icon markers)."""
    return driver.execute_script(_RENDERED_MAP_JS)


def assert_map_rendered(driver, *, overlays: int) -> dict:
    """The map in the current document filled its container, lists ``overlays`` layers, shows its legend, drew
    shapes, and the console has no error (failed tile fetches aside). Returns :func:`rendered_map`."""
    state = rendered_map(driver)
    assert state["leaflet"], state
    width, height = state["container"]
    assert width > 200 and height > 200, state  # a collapsed container (height 0) shows nothing
    assert len(state["overlays"]) == overlays, state["overlays"]
    assert state["legend"], "legend not visible"
    assert state["paths"] > 0, "no shape drawn"
    assert severe_console_errors(driver) == []
    return state


#: Community names with a facility or site marker under them: [name, marker x, y] (an empty list when clear).
_COVERED_NAMES_JS = """
const frame = document.querySelector('.leaflet-container').getBoundingClientRect();
const out = [];
const map = Object.values(window).find(v => v instanceof L.Map);
const points = [];
map.eachLayer(l => { if (l.feature && l.feature.properties._mark && l.getLatLng) {
    const p = map.latLngToContainerPoint(l.getLatLng());
    points.push([p.x, p.y, l.getRadius ? l.getRadius() : 11]); } });
document.querySelectorAll('.leaflet-tooltip.carecircle-label').forEach(el => {
    const r = el.getBoundingClientRect();
    points.forEach(([x, y, radius]) => {
        const cx = Math.max(r.left - frame.left, Math.min(x, r.right - frame.left));
        const cy = Math.max(r.top - frame.top, Math.min(y, r.bottom - frame.top));
        if (Math.hypot(cx - x, cy - y) < radius) { out.push([el.textContent, x, y]); } }); });
return out;
"""


def names_under_markers(driver) -> list:
    """Community names on the open map that a facility, site or changed-facility marker covers: [name, x, y]."""
    return driver.execute_script(_COVERED_NAMES_JS)
