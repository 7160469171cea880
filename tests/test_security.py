"""Hostile names through every output (issue 16, items 1 and 2).

The catalogue of hostile names (``tests/hostile.py``) goes in as titles, scenario names, facility names and ids and
community, subdistrict and district names, through ``run``, ``suggest`` and ``compare`` on the bundled demo, and
comes out in every format: the HTML map, the report, the suggestion map and the comparison map are opened in
headless Chromium with ``alert`` hooked (no alert, no injected element, the text shown as given); CSV and
``tables.xlsx`` hold no live formula (cell by cell, numbers still numbers); the GeoPackage and ``summary.json`` keep
the text exactly.
"""

from __future__ import annotations

import csv
import io
import json
import re
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import yaml
from browser import open_browser, severe_console_errors
from hostile import ALERT, FORMULAS, HOSTILE_NAMES, HOSTILE_TITLE
from openpyxl import load_workbook

from carecircle.cli import main
from carecircle.io.default_data import default_data_dir
from carecircle.outputs.tables import guard_formulas

DATA = default_data_dir()
pytestmark = pytest.mark.filterwarnings("ignore")
#: Text a spreadsheet reads as a plain number (or a lone sign), never as a formula.
PLAIN = r"[+-]?((\d+\.?\d*|\.\d+)([eE][+-]?\d+)?)?"


# --- hostile inputs: the demo with every name replaced ---------------------------------------------------------------


def _facility_names() -> list[str]:
    return list(HOSTILE_NAMES)


def _facility_id(i: int, name: str) -> str:
    """A hostile id, unique: the name's first characters (formula starts kept) and the row number."""
    return f"{name[:40]}#{i}"


@pytest.fixture(scope="module")
def hostile_inputs(tmp_path_factory) -> dict[str, Path]:
    """facilities.csv (every hostile name, each at a demo facility's place; ids hostile too) and
    communities.geojson (names, English names, subdistricts and districts hostile)."""
    folder = tmp_path_factory.mktemp("hostile-inputs")
    demo = pd.read_csv(DATA / "facilities.csv", dtype={"facility_id": str})
    rows = []
    for i, name in enumerate(_facility_names()):
        row = demo.iloc[i % len(demo)].to_dict()
        row.update(facility_id=_facility_id(i, name), name=name,
                   lon=row["lon"] + 0.0001 * (i // len(demo)), lat=row["lat"])
        rows.append(row)
    pd.DataFrame(rows).to_csv(folder / "facilities.csv", index=False, quoting=csv.QUOTE_NONNUMERIC)
    communities = json.loads((DATA / "communities.geojson").read_text(encoding="utf-8"))
    names = iter(HOSTILE_NAMES * 3)
    for feature in communities["features"]:
        props = feature["properties"]
        for key in ("name", "name_en", "subdistrict", "subdistrict_en", "district", "district_en"):
            if key in props:
                props[key] = next(names)
    (folder / "communities.geojson").write_text(json.dumps(communities, ensure_ascii=False), encoding="utf-8")
    return {"facilities": folder / "facilities.csv", "communities": folder / "communities.geojson"}


def _inputs_argv(inputs: dict[str, Path]) -> list[str]:
    return ["--facilities", str(inputs["facilities"]), "--communities", str(inputs["communities"])]


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory, hostile_inputs, cache) -> Path:
    out = tmp_path_factory.mktemp("hostile-run") / "out"
    code = main(["run", *_inputs_argv(hostile_inputs), "--title", HOSTILE_TITLE, "--output", str(out),
                 "--cache-dir", str(cache), "--quiet"])
    assert code == 0
    return out


@pytest.fixture(scope="module")
def hostile_run_zh(tmp_path_factory, hostile_inputs, cache) -> Path:
    out = tmp_path_factory.mktemp("hostile-run-zh") / "out"
    code = main(["run", *_inputs_argv(hostile_inputs), "--title", HOSTILE_TITLE, "--lang", "zh", "--standard",
                 "qitaihe-2020", "--output", str(out), "--cache-dir", str(cache), "--quiet", "--no-isochrones"])
    assert code == 0
    return out


@pytest.fixture(scope="module")
def hostile_suggest(tmp_path_factory, hostile_inputs, cache) -> Path:
    out = tmp_path_factory.mktemp("hostile-suggest") / "out"
    code = main(["suggest", *_inputs_argv(hostile_inputs), "--title", HOSTILE_TITLE, "--new-sites", "2",
                 "--output", str(out), "--cache-dir", str(cache), "--quiet"])
    assert code == 0
    return out


@pytest.fixture(scope="module")
def hostile_compare(tmp_path_factory, hostile_inputs, cache) -> Path:
    """compare of two scenarios named with hostile names, with a hostile title, a hostile added facility and a
    removed one."""
    folder = tmp_path_factory.mktemp("hostile-compare")
    inputs = {"facilities": str(hostile_inputs["facilities"]), "communities": str(hostile_inputs["communities"])}
    base = {"name": HOSTILE_NAMES[0], "inputs": inputs, "thresholds_min": [5, 10, 15],
            "outputs": {"title": HOSTILE_TITLE}}
    plan = {"name": HOSTILE_NAMES[1] + " " + HOSTILE_NAMES[10], "inputs": inputs, "thresholds_min": [5, 10, 15],
            "outputs": {"title": HOSTILE_NAMES[3]},
            "facilities": {"add": [{"facility_id": HOSTILE_NAMES[11], "name": HOSTILE_NAMES[2],
                                    "type": "day_care", "lon": 24.94964, "lat": 60.16658}],
                           "remove": [_facility_id(5, HOSTILE_NAMES[5])]}}
    for name, data in (("base.yaml", base), ("plan.yaml", plan)):
        (folder / name).write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    out = folder / "out"
    code = main(["compare", str(folder / "base.yaml"), str(folder / "plan.yaml"), "--output", str(out),
                 "--cache-dir", str(cache), "--quiet"])
    assert code == 0
    return out


# --- formulas: the guard itself ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", FORMULAS)
def test_formula_text_gets_a_leading_quote(text):
    out = guard_formulas(pd.DataFrame({"name": [text]}))
    assert out["name"].tolist() == ["'" + text]


@pytest.mark.parametrize("text", ["Kamppi", "养老", "", "-", "-5", "+3.25", "-1e3", "a=b", " =1", "x-2"])
def test_harmless_text_is_left_alone(text):
    assert guard_formulas(pd.DataFrame({"name": [text]}))["name"].tolist() == [text]


def test_numbers_stay_numbers_and_headers_are_guarded():
    df = pd.DataFrame({"x": [-1.5, 2.0], "n": [-3, 4], "mixed": [-2.0, "=1+1"], "flag": [True, False],
                       "=cmd": ["a", "b"]})
    out = guard_formulas(df)
    assert out["x"].tolist() == [-1.5, 2.0] and out["x"].dtype == float
    assert out["n"].tolist() == [-3, 4] and out["n"].dtype == np.int64
    assert out["mixed"].tolist() == [-2.0, "'=1+1"]
    assert list(out.columns) == ["x", "n", "mixed", "flag", "'=cmd"]
    assert list(df.columns)[-1] == "=cmd"  # the argument is not changed


# --- formulas: every CSV and the workbook, cell by cell ------------------------------------------------------------


def _one_line(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _csv_cells(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"), newline="")))


def _assert_no_live_formula(folder: Path) -> int:
    """No CSV cell and no workbook cell that a spreadsheet would run; returns the number of cells checked."""
    checked = 0
    for path in sorted(folder.glob("*.csv")):
        for r, row in enumerate(_csv_cells(path)):
            for c, cell in enumerate(row):
                checked += 1
                if cell[:1] in ("=", "+", "-", "@", "\t", "\r"):
                    assert re.fullmatch(PLAIN, cell), (path.name, r, c, cell)
    workbook = folder / "tables.xlsx"
    if workbook.exists():
        wb = load_workbook(workbook)
        for ws in wb.worksheets:
            for row in ws.iter_rows():
                for cell in row:
                    checked += 1
                    assert cell.data_type != "f", (ws.title, cell.coordinate, cell.value)
                    if isinstance(cell.value, str):
                        assert cell.value[:1] not in ("=", "+", "-", "@", "\t", "\r") or re.fullmatch(
                            PLAIN, cell.value), (ws.title, cell.coordinate)
    return checked


@pytest.mark.parametrize("fixture", ["hostile_run", "hostile_run_zh", "hostile_suggest", "hostile_compare"])
def test_no_csv_or_excel_cell_is_a_formula(fixture, request):
    assert _assert_no_live_formula(request.getfixturevalue(fixture)) > 100


def test_formula_names_come_out_quoted_and_numbers_unquoted(hostile_run):
    facilities = pd.read_csv(hostile_run / "facilities.csv", encoding="utf-8-sig", keep_default_na=False)
    names = dict(zip(facilities["facility_id"], facilities["name"], strict=True))
    for i, name in enumerate(_facility_names()):
        expected = ("'" + name) if name in FORMULAS else name
        # a carriage return is written as a line feed: a bare CR would end the row in a spreadsheet
        fid = _facility_id(i, name).strip()  # ids are read without surrounding whitespace
        key = _one_line(("'" if fid[:1] in ("=", "+", "-", "@", "\t", "\r") else "") + fid)
        assert names[key] == _one_line(expected)
    # numeric columns are numbers, never quoted: negative-looking numbers would be, if they were text
    numbers = pd.read_csv(hostile_run / "facilities.csv", encoding="utf-8-sig")
    for col in ("capacity", "snap_m", "lon", "lat"):
        assert pd.api.types.is_float_dtype(numbers[col]), col
    wb = load_workbook(hostile_run / "tables.xlsx")
    ws = wb["Facilities"]
    header = [c.value for c in ws[1]]
    names_xl = [row[header.index("name")] for row in ws.iter_rows(min_row=2, values_only=True)]
    assert "'" + FORMULAS[0] in names_xl
    snap = [row[header.index("snap_m")] for row in ws.iter_rows(min_row=2, values_only=True)]
    assert all(isinstance(v, float | int) or v is None for v in snap) and any(isinstance(v, float) for v in snap)


# --- text kept as given: summary.json and the GeoPackage ----------------------------------------------------------


def test_summary_json_and_geopackage_keep_names_exactly(hostile_run):
    summary = json.loads((hostile_run / "summary.json").read_text(encoding="utf-8"))
    text = json.dumps(summary, ensure_ascii=False)
    assert "inputs" in summary and text  # valid JSON whatever the names
    facilities = gpd.read_file(hostile_run / "layers.gpkg", layer="facilities")
    elder_care = {n for i, n in enumerate(_facility_names()) if i % 8 not in (6, 7)}  # not childcare, health
    assert set(facilities["name"]) == elder_care
    assert set(facilities["facility_id"]) == {_facility_id(i, n).strip() for i, n in enumerate(_facility_names())
                                              if n in elder_care}  # ids are read without surrounding whitespace
    communities = gpd.read_file(hostile_run / "layers.gpkg", layer="communities")
    assert HOSTILE_NAMES[0] in set(communities["name"])


def test_compare_summary_keeps_scenario_names(hostile_compare):
    summary = json.loads((hostile_compare / "summary.json").read_text(encoding="utf-8"))
    assert HOSTILE_NAMES[0] in json.dumps(summary, ensure_ascii=False)


# --- HTML: the markup as written -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("fixture", "pages"), [("hostile_run", ["map.html", "report.html"]),
                                                ("hostile_run_zh", ["map.html", "report.html"]),
                                                ("hostile_suggest", ["map.html", "report.html"]),
                                                ("hostile_compare", ["map.html"])])
def test_no_raw_markup_in_the_html(fixture, pages, request):
    folder = request.getfixturevalue(fixture)
    for page in pages:
        text = (folder / page).read_text(encoding="utf-8")
        for payload in ("<script>alert(1)", "<img src=x", "<svg onload", "<iframe srcdoc=\"<script",
                        "onerror=alert(1)>", "49 X"):
            assert payload not in text, (page, payload)
        assert re.search(r"<title>[^<]*</title>", text)


# --- in a browser: no alert, nothing injected, the text shown as given -------------------------------------------

_HOOK = """
window.__alerts = [];
for (const f of ['alert', 'confirm', 'prompt', 'print']) {
    window[f] = function (...a) { window.__alerts.push(f + ':' + a.join(',')); };
}
"""

_INJECTED_JS = """
const found = [];
function visit(doc, where) {
    if (!doc) { return; }
    for (const s of doc.querySelectorAll('script')) {
        if (s.textContent.trim().startsWith('alert(')) { found.push(where + ': script ' + s.textContent); }
    }
    for (const el of doc.querySelectorAll('*')) {
        for (const a of el.getAttributeNames()) {
            if (a.startsWith('on')) { found.push(where + ': ' + el.tagName + ' ' + a); }
        }
        const href = el.getAttribute('href') || el.getAttribute('src') || '';
        if (href.trim().toLowerCase().startsWith('javascript:')) { found.push(where + ': javascript url'); }
        if (el.tagName === 'IMG' && el.getAttribute('src') === 'x') { found.push(where + ': img x'); }
        if (el.tagName === 'svg' && el.hasAttribute('onload')) { found.push(where + ': svg onload'); }
    }
    for (const f of doc.querySelectorAll('iframe')) {
        let inner = null;
        try { inner = f.contentDocument; } catch (e) { inner = null; }
        visit(inner, where + ' > iframe');
        try { if (f.contentWindow.__alerts) { found.push(...f.contentWindow.__alerts); } } catch (e) {}
    }
}
visit(document, 'page');
return {found: found, alerts: window.__alerts || [], title: document.title,
        text: document.body ? document.body.innerText : ''};
"""


# Clicks every feature (as Leaflet would) and returns the text of the popups that open (as in test_maps.py).
_POPUP_TEXTS_JS = """
const map = Object.keys(window).filter(k => k.startsWith('map_')).map(k => window[k])
    .find(v => v instanceof L.Map);
const features = [], texts = [];
let opened = null;
map.on('popupopen', e => { opened = e.popup; });
map.eachLayer(layer => { if (layer.feature) { features.push(layer); } });
for (const layer of features) {
    opened = null;
    const latlng = layer.getLatLng ? layer.getLatLng() : layer.getCenter();
    layer.fire('click', {latlng: latlng}, true);
    if (opened) { texts.push(opened.getElement().querySelector('.leaflet-popup-content').textContent); }
    map.closePopup();
}
return texts;
"""


def _open_hooked(driver, path: Path) -> dict:
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": _HOOK})
    driver.get(path.as_uri())
    driver.execute_script("""
        const frames = document.querySelectorAll('iframe');
        for (const f of frames) { f.loading = 'eager'; f.scrollIntoView(); }
    """)
    time.sleep(1.5)  # the report's map iframe loads after the page
    return driver.execute_script(_INJECTED_JS)


def _assert_no_alert_dialog(driver) -> None:
    from selenium.common.exceptions import NoAlertPresentException  # selenium is a test extra: imported here

    with pytest.raises(NoAlertPresentException):
        driver.switch_to.alert  # noqa: B018 - the property raises when no alert is open


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    driver = open_browser(tmp_path_factory.mktemp("chromium"))
    yield driver
    driver.quit()


@pytest.mark.parametrize(("fixture", "page", "title"), [
    ("hostile_run", "map.html", HOSTILE_TITLE),
    ("hostile_run", "report.html", HOSTILE_TITLE),
    ("hostile_run_zh", "map.html", HOSTILE_TITLE),
    ("hostile_run_zh", "report.html", HOSTILE_TITLE),
    ("hostile_suggest", "map.html", HOSTILE_TITLE),
    ("hostile_suggest", "report.html", HOSTILE_TITLE),
    ("hostile_compare", "map.html", None),
])
def test_pages_run_no_injected_script(browser, fixture, page, title, request):
    folder = request.getfixturevalue(fixture)
    state = _open_hooked(browser, folder / page)
    _assert_no_alert_dialog(browser)
    assert state["alerts"] == [], state["alerts"]
    assert state["found"] == [], state["found"]
    if title is not None:
        assert state["title"] == title  # the <title> shows the text, not markup
    assert ALERT not in " ".join(state["alerts"])
    assert severe_console_errors(browser) == []


def test_hostile_names_show_as_text_in_the_map(browser, hostile_run):
    """A facility's popup shows its hostile name as text; the title box shows the title as given."""
    browser.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": _HOOK})
    browser.get((hostile_run / "map.html").as_uri())
    shown = browser.execute_script("return document.querySelector('.carecircle-title').textContent;")
    assert shown == HOSTILE_TITLE
    # the layer control lists its layers as text
    labels = browser.execute_script(
        "return Array.from(document.querySelectorAll('.leaflet-control-layers-overlays label'))"
        ".map(l => l.textContent.trim());")
    assert labels and all("<" not in label for label in labels)
    text = "\n".join(browser.execute_script(_POPUP_TEXTS_JS))
    elder_care = [n for i, n in enumerate(_facility_names()) if i % 8 not in (6, 7)]  # not childcare, health
    for name in [*elder_care, HOSTILE_NAMES[0], HOSTILE_NAMES[10]]:
        assert _one_line(name) in text, name[:60]  # HTML reads a carriage return as a line feed
    assert "49 X" not in text and "XXX" not in text  # no template ran
    assert browser.execute_script("return window.__alerts;") == []
