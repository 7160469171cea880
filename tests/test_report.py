"""Tests for carecircle.outputs.report (the HTML report) and carecircle.outputs.staticmap (the PNG map).

The study is the bundled demo (real OSM streets of central Helsinki, illustrative population), run once per
session; the compliance table is made by hand in the contract's schema, so these tests do not depend on a
standards profile. The report is opened in headless Chromium: sections, the embedded Leaflet map (its layers,
legend and size inside the frame), print media and a PDF.
"""

from __future__ import annotations

import base64
import dataclasses
import html
import json
import logging
import re
import time
import types

import pandas as pd
import pytest
from browser import assert_map_rendered, open_browser, require_cjk_font, severe_console_errors

from carecircle.core.coverage import threshold_label
from carecircle.errors import InputError, OutputError
from carecircle.io.facility_types import type_label
from carecircle.outputs import staticmap
from carecircle.outputs.report import map_iframe_snippet, render_report, write_report
from carecircle.pipeline import run_study
from carecircle.plan.siting import suggest_sites

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
SECTIONS_EN = ["Headline figures", "Compliance with the standards", "Coverage by facility type", "Interactive map",
               "Suggested new sites", "Subdistricts", "Communities", "Method and data sources"]
SECTIONS_ZH = ["主要指标", "规划指标达标评估", "分类型设施覆盖", "交互地图", "建议新增站点", "街道汇总", "社区明细",
               "方法与数据来源"]
SRCDOC = re.compile(r'srcdoc="([^"]*)"')


@pytest.fixture(scope="session")
def study():
    return run_study()


@pytest.fixture(scope="session")
def suggestion(study):
    cov = study.coverage
    return suggest_sites(study.network, cov.facilities, cov.demand, cov.communities, new_sites=2, minutes=15.0,
                         time_limit_s=20.0)


@pytest.fixture(scope="session")
def compliance() -> pd.DataFrame:
    return pd.DataFrame({
        "target_id": ["coverage_15", "centre_per_subdistrict", "floor_area"],
        "level": ["overall", "subdistrict", "overall"],
        "unit": ["all", "示例北街道", "all"],
        "description_zh": ["15分钟养老服务圈覆盖率", "每个街道一处综合养老服务中心", "每百户养老服务设施面积"],
        "description_en": ["15-minute circle coverage", "One comprehensive centre per subdistrict",
                           "Floor area per 100 households"],
        "target": ["≥ 90%", "≥ 1 per subdistrict", "≥ 20 m² per 100 households"],
        "value": ["95.4%", "0", ""],
        "status": ["pass", "fail", "unevaluable"],
        "shortfall": ["", "1 subdistrict lacks a centre", "no households column in communities"],
        "source": ["七台河市养老服务体系建设三年行动方案（2020—2022年） 二、(一)", "GB 50180-2018", "—"],
    })


@pytest.fixture(scope="session")
def reports(study, suggestion, compliance) -> dict[str, str]:
    return {lang: render_report(study, suggestion=suggestion, compliance=compliance, lang=lang,
                                generated="2025-01-31") for lang in ("en", "zh")}


def _outside_srcdoc(page: str) -> str:
    return SRCDOC.sub('srcdoc=""', page)


def _srcdocs(page: str) -> list[str]:
    return [html.unescape(m) for m in SRCDOC.findall(page)]


def _h2(page: str) -> list[str]:
    return [html.unescape(h) for h in re.findall(r"<h2>(.*?)</h2>", _outside_srcdoc(page))]


def _card(page: str, key: str) -> tuple[str, str]:
    found = re.search(rf'data-key="{re.escape(key)}"><div class="label">.*?</div><div class="figure">(.*?)</div>'
                      r'<div class="detail">(.*?)</div>', page)
    assert found, key
    return html.unescape(found.group(1)), html.unescape(found.group(2))


# --- the HTML --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("lang", "sections"), [("en", SECTIONS_EN), ("zh", SECTIONS_ZH)])
def test_sections_in_order(reports, lang, sections):
    headings = _h2(reports[lang])
    assert [h for h in headings if h in sections] == sections
    assert ("Childcare circle (children aged 0–3)" if lang == "en" else "托育服务圈（0–3岁婴幼儿）") in headings


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_headline_figures_equal_the_summary(reports, study, lang):
    page, summary = reports[lang], study.coverage.summary
    assert _card(page, "elderly")[0] == f"{summary['elderly_population']:,.0f}"
    for t in study.coverage.thresholds_min:
        lab = threshold_label(t)
        share, detail = _card(page, f"share-{lab}")
        assert share == f"{100 * summary['share'][lab]:.1f}%"
        assert f"{summary['covered'][lab]:,.0f}" in detail
    assert _card(page, "below-target")[0] == str(len(summary["communities_below_target"]))
    assert _card(page, "facilities")[0] == str(summary["n_facilities"])


def test_community_table_has_every_community_and_highlights_below_target(reports, study):
    page = _outside_srcdoc(reports["en"])
    table = re.search(r'<table class="communities">(.*?)</table>', page, flags=re.DOTALL).group(1)
    com = study.coverage.communities
    rows = re.findall(r"<tr( class=\"below\")?><td>(.*?)</td>", table)
    assert sorted(r[1] for r in rows) == sorted(com["community_id"])
    below = set(com.loc[com["below_target"], "community_id"])
    assert {r[1] for r in rows if r[0]} == below
    worst = com.sort_values("share_15").iloc[0]
    assert rows[0][1] == worst["community_id"]  # lowest share first
    assert f"{100 * worst['share_15']:.1f}%" in table


def test_english_report_uses_english_names(reports, study):
    com = study.coverage.communities
    page = _outside_srcdoc(reports["en"])
    assert html.escape(com["name_en"].iloc[0]) in page
    assert com["name"].iloc[0] in _outside_srcdoc(reports["zh"])


def test_by_type_and_rollups(reports, study):
    page = _outside_srcdoc(reports["zh"])
    for _, row in study.by_type.iterrows():
        assert f"<td>{html.escape(row['label_zh'])}</td>" in page
        assert f"{100 * row['share']:.1f}%" in page
    for name in study.rollups["subdistrict"]["subdistrict"]:
        assert f"<td>{html.escape(name)}</td>" in page


def test_compliance_rows_coloured_with_shortfall(reports, compliance):
    page = _outside_srcdoc(reports["en"])
    for status in ("pass", "fail", "unevaluable"):
        assert f'data-status="{status}"' in page
        assert f'class="status status-{status}"' in page
    # Targets counted as the console counts them (study-wide rows), the table's rows at every level said apart.
    assert ("Of 2 targets (study-wide), 1 met, 0 not met, 1 could not be evaluated; the table lists them at every "
            "level (3 rows).") in page
    assert "1 subdistrict lacks a centre" in page and "no households column in communities" in page
    assert "One comprehensive centre per subdistrict" in page
    zh = _outside_srcdoc(reports["zh"])
    assert "每个街道一处综合养老服务中心" in zh and ">未达标</span>" in zh and ">无法评估</span>" in zh
    assert "2项指标（全域）中达标1项，未达标0项，无法评估1项；下表按各层级列出，共3行。" in zh
    # Issue 15: the English report names units in English as its other tables do, levels written alike
    row = re.search(r'<tr class="status-row-fail".*?</tr>', page).group(0)
    assert "<td>Subdistrict</td><td>North Subdistrict (illustrative)</td>" in row, row
    assert "<td>Overall</td><td>all</td>" in page and "<td>overall</td>" not in page
    assert "<td>街道</td><td>示例北街道</td>" in zh


def test_compliance_from_the_study_when_not_given(study, compliance):
    page = render_report(dataclasses.replace(study, compliance=compliance), map_html="<p>map</p>")
    assert "Compliance with the standards" in _h2(page)
    assert "Compliance with the standards" not in _h2(render_report(study, map_html="<p>map</p>"))


def test_suggestion_curve_and_sites(reports, suggestion):
    page = _outside_srcdoc(reports["en"])
    assert 'class="carecircle-curve-chart"' in page and "carecircle-curve-line" in page
    table = re.search(r'<table class="sites">(.*?)</table>', page, flags=re.DOTALL).group(1)
    assert table.count("<tr>") == len(suggestion.sites) + 1
    after = suggestion.after.summary["share"]["15"]
    assert f"{100 * after:.1f}%" in page


def test_embedded_map_is_drawn_from_the_suggestion(reports, suggestion):
    """The report's map comes from the result objects: the suggestion carries its sites' isochrones."""
    iso = suggestion.isochrones
    assert sorted(iso["facility_id"]) == sorted(suggestion.sites["candidate_id"])
    assert (iso["minutes"] == suggestion.minutes).all() and iso.crs.to_epsg() == 4326
    for lang, layer in (("en", "New sites' 15-minute walk"), ("zh", "新增站点15分钟步行范围")):
        (doc,) = _srcdocs(reports[lang])
        # the layer control names it (folium writes the name as JSON, the apostrophe as \u0027)
        quoted = json.dumps(layer).replace("'", "\\u0027")
        assert f"{quoted} : feature_group_" in doc
        assert "carecircle-site" in doc


def test_method_section_states_what_is_estimated(reports, study):
    page = html.unescape(_outside_srcdoc(reports["en"]))
    method = page[page.index("Method and data sources"):]
    summary = study.coverage.summary
    assert "Where the elderly live (estimated)" in method
    assert "placed inside communities (buildings)" in method
    assert f"{summary['walk_speed_mps']:g} m/s" in method
    assert f"{summary['network']['nodes']:,d} nodes" in method
    assert study.note in method
    assert "© OpenStreetMap contributors (ODbL)" in method
    assert "Helsinki" not in method.replace(study.note, "").replace(summary["network"]["source"], "") \
        .replace(study.inputs["network"], "")


def test_no_external_resources(reports):
    for page in reports.values():
        outside = _outside_srcdoc(page)
        assert not re.search(r"https?:|//[a-z]", outside, flags=re.IGNORECASE)
        for doc in _srcdocs(page):
            # No script or stylesheet from a URL; the only fetched URL is the tile layer (fails offline).
            assert not re.search(r"<(script|link)[^>]+(src|href)=\"(https?:)?//", doc)
            fetched = set(re.findall(r'"(https?://[^"]*\{z\}[^"]*)"', doc))
            assert fetched <= {"https://tile.openstreetmap.org/{z}/{x}/{y}.png"}


def test_print_stylesheet_and_static_png(study, tmp_path):
    png = staticmap.static_map_png(study, tmp_path / "map.png", dpi=50)
    page = render_report(study, map_html="<p>map</p>", map_png=png)
    css = re.search(r"<style>(.*?)</style>", page, flags=re.DOTALL).group(1)
    assert "@page{size:A4" in css and "@media print" in css
    printed = css[css.index("@media print"):]
    assert ".map-frame{display:none}" in printed and ".map-print{display:block}" in printed
    assert "tr{break-inside:avoid" in printed and "thead{display:table-header-group}" in printed
    uri = re.search(r'<div class="map-print"><figure><img src="data:image/png;base64,([^"]+)"', page).group(1)
    assert base64.b64decode(uri) == png.read_bytes()
    no_png = render_report(study, map_html="<p>map</p>")
    assert "The interactive map is in the HTML version" in no_png


def test_utf8_and_cjk_fonts(reports):
    page = reports["zh"]
    assert page.startswith("<!DOCTYPE html>") and '<meta charset="utf-8">' in page
    assert '<html lang="zh-CN">' in page and "<title>新增站点：15分钟养老服务圈评估报告</title>" in page
    assert "Noto Sans CJK SC" in page and "WenQuanYi Zen Hei" in page


def test_study_without_the_new_fields(study):
    """A study object with only the original fields: no by-type, roll-up, compliance or childcare section."""
    bare = types.SimpleNamespace(name="bare", network=study.network, coverage=study.coverage,
                                 isochrones=None, inputs={}, note=None)
    headings = _h2(render_report(bare, map_html="<p>map</p>"))
    assert headings == ["Headline figures", "Interactive map", "Communities", "Method and data sources"]


def test_text_is_escaped(study):
    page = render_report(dataclasses.replace(study, name="<script>x</script>", note='a "quoted" & <b>note</b>'),
                         title="T <i>", map_html='<p title="x">map & more</p>')
    assert "<script>x" not in page and "&lt;script&gt;x" in page
    assert "<b>note</b>" not in page and "<title>T &lt;i&gt;</title>" in page
    assert _srcdocs(page) == ['<p title="x">map & more</p>']


def test_language_defaults_to_the_study_and_unknown_is_an_error(study):
    assert "<h2>主要指标</h2>" in render_report(dataclasses.replace(study, lang="zh"), map_html="<p/>")
    with pytest.raises(InputError, match="lang='fr'"):
        render_report(study, lang="fr", map_html="<p/>")


def test_compliance_without_status_is_an_input_error(study, compliance):
    with pytest.raises(InputError, match="status"):
        render_report(study, compliance=compliance.drop(columns="status"), map_html="<p/>")


def test_write_report_atomically(study, tmp_path):
    path = write_report(study, tmp_path / "report.html", lang="zh", map_html="<p/>")
    assert path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]
    with pytest.raises(OutputError, match="does not exist"):
        write_report(study, tmp_path / "missing" / "report.html", map_html="<p/>")


# --- the iframe snippet -----------------------------------------------------------------------------------


def test_map_iframe_snippet_from_path_html_and_map(study, tmp_path):
    from carecircle.outputs.maps import coverage_map, save_map

    m = coverage_map(study.coverage, None, tiles=None)
    path = save_map(m, tmp_path / "map.html")
    doc = path.read_text(encoding="utf-8")
    for given in (path, str(path), doc):
        snippet = map_iframe_snippet(given, height=480)
        assert snippet.startswith("<iframe ") and "height:480px" in snippet
        assert _srcdocs(snippet) == [doc]
        assert 'title="15-minute elder-care circle"' in snippet
    assert "srcdoc=" in map_iframe_snippet(m, height="50vh") and "height:50vh" in map_iframe_snippet(m, height="50vh")
    linked = map_iframe_snippet(path, inline=False)
    assert f'src="{path.as_posix()}"' in linked and "srcdoc" not in linked
    with pytest.raises(InputError, match="no such map file"):
        map_iframe_snippet(tmp_path / "nope.html")
    with pytest.raises(InputError, match="inline=False"):
        map_iframe_snippet(doc, inline=False)


# --- in a real browser --------------------------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_report_in_headless_chromium(reports, lang, tmp_path):
    from selenium.webdriver.common.by import By

    path = tmp_path / f"report_{lang}.html"
    path.write_text(reports[lang], encoding="utf-8")
    driver = open_browser(tmp_path)
    try:
        driver.get(path.as_uri())
        headings = [h.text for h in driver.find_elements(By.TAG_NAME, "h2")]
        assert [h for h in headings if h in (SECTIONS_EN + SECTIONS_ZH)] == (SECTIONS_EN if lang == "en"
                                                                             else SECTIONS_ZH)
        assert driver.find_element(By.CSS_SELECTOR, 'svg.share-chart').is_displayed()
        assert len(driver.find_elements(By.CSS_SELECTOR, "svg.carecircle-curve-chart polyline")) == 1

        # The embedded map: Leaflet has run inside the iframe and drawn its layers.
        iframe = driver.find_element(By.CSS_SELECTOR, ".map-frame iframe")
        driver.execute_script("arguments[0].scrollIntoView()", iframe)
        driver.switch_to.frame(iframe)
        deadline = time.time() + 20
        while time.time() < deadline and not driver.find_elements(By.CSS_SELECTOR, ".leaflet-container path"):
            time.sleep(0.2)
        assert driver.find_elements(By.CSS_SELECTOR, ".leaflet-container")
        assert driver.execute_script("return typeof L") == "object"
        layer_names = [e.text.strip() for e in driver.find_elements(By.CSS_SELECTOR,
                                                                    ".leaflet-control-layers-overlays label")]
        assert ("Community coverage" if lang == "en" else "社区覆盖率") in layer_names
        assert ("Suggested new sites" if lang == "en" else "建议新增站点") in layer_names
        # the suggested sites' isochrones, carried by the suggestion, are drawn and listed
        assert ("New sites' 15-minute walk" if lang == "en" else "新增站点15分钟步行范围") in layer_names
        assert len(driver.find_elements(By.CSS_SELECTOR, ".leaflet-overlay-pane path")) > 5
        assert driver.find_elements(By.CSS_SELECTOR, ".carecircle-site")
        # the map fills its frame, lists its layers, shows its legend; no console error inside the frame
        assert_map_rendered(driver, overlays=len(layer_names))
        assert len(layer_names) == 5  # communities, uncovered, facilities, the new sites and their walk
        driver.switch_to.default_content()
        frame = driver.execute_script("const r = arguments[0].getBoundingClientRect(); return [r.width, r.height];",
                                      iframe)
        assert frame[0] > 600 and frame[1] == pytest.approx(780, abs=4)  # 780 px tall, the report's width

        # On paper the interactive map gives way to a note; the PDF is not empty.
        driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
        assert not iframe.is_displayed()
        assert driver.find_element(By.CSS_SELECTOR, ".map-print").is_displayed()
        driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})
        pdf = base64.b64decode(driver.execute_cdp_cmd("Page.printToPDF", {"paperWidth": 8.27,
                                                                          "paperHeight": 11.69})["data"])
        assert pdf[:5] == b"%PDF-" and len(pdf) > 20_000

        assert severe_console_errors(driver) == []
    finally:
        driver.quit()


# --- the static PNG ----------------------------------------------------------------------------------------


def _title(fig):
    return next(t for t in fig.texts if t.get_gid() == "title")


@pytest.mark.parametrize(("dpi", "size"), [(150, (1500, 1200)), (80, (800, 640))])
def test_static_png_written_with_the_right_size(study, tmp_path, dpi, size):
    from PIL import Image

    path = staticmap.static_map_png(study, tmp_path / "map.png", dpi=dpi, size_in=(10.0, 8.0))  # else fitted
    assert path.read_bytes()[:8] == PNG_MAGIC
    with Image.open(path) as img:
        assert img.size == size
        colours = img.convert("RGB").getcolors(maxcolors=1_000_000)
    assert len(colours) > 50  # drawn, not blank
    assert [p.name for p in tmp_path.iterdir()] == ["map.png"]


def test_static_png_with_suggested_sites(study, suggestion, tmp_path):
    fig = staticmap.static_map_figure(study, suggestion=suggestion)
    numbers = {t.get_text() for ax in fig.axes for t in ax.texts}
    assert {f"{r:g}" for r in suggestion.sites["rank"]} <= numbers
    legend = [t.get_text().replace("\n", " ") for t in fig.legends[0].get_texts()]  # long labels wrap
    assert "Suggested new site (number: rank)" in legend and "Day-care centre" in legend
    assert staticmap.ATTRIBUTION in [t.get_text() for t in fig.texts]
    assert staticmap.static_map_png(study, tmp_path / "s.png", suggestion=suggestion, dpi=40).stat().st_size > 0


def test_static_png_in_chinese_uses_a_cjk_font(study, tmp_path):
    font = require_cjk_font(staticmap.cjk_font())
    fig = staticmap.static_map_figure(study, lang="zh")
    title = _title(fig)
    assert title.get_text().startswith("15分钟养老服务圈")
    assert title.get_fontname() == font
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "日间照料中心" in legend
    assert all(t.get_fontname() == font for t in fig.legends[0].get_texts())
    assert staticmap.static_map_png(study, tmp_path / "zh.png", lang="zh", dpi=40).stat().st_size > 0


def test_static_png_without_cjk_font_falls_back_to_english_once(study, tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(staticmap, "_find_cjk_font", lambda: None)
    monkeypatch.setattr(staticmap, "_warned_no_cjk", False)
    caplog.set_level(logging.WARNING, logger="carecircle.outputs.staticmap")
    fig = staticmap.static_map_figure(study, lang="zh")
    assert _title(fig).get_text().startswith("15-minute elder-care circle")
    assert "Day-care centre" in [t.get_text() for t in fig.legends[0].get_texts()]
    staticmap.static_map_png(study, tmp_path / "map.png", lang="zh", dpi=40)
    warnings = [r for r in caplog.records if "no font with Chinese characters" in r.getMessage()]
    assert len(warnings) == 1


def test_static_png_errors(study, tmp_path):
    with pytest.raises(InputError, match="lang='fr'"):
        staticmap.static_map_png(study, tmp_path / "m.png", lang="fr")
    with pytest.raises(OutputError, match="does not exist"):
        staticmap.static_map_png(study, tmp_path / "missing" / "m.png")


def _extents(fig):
    """Window extents (pixels) of the figure, the map, the legend and the colour bar with its labels."""
    renderer = fig.canvas.get_renderer()
    fig.canvas.draw()
    ax, cax = fig.axes[0], fig.axes[1]
    return (fig.bbox, ax.get_window_extent(renderer), fig.legends[0].get_window_extent(renderer),
            cax.get_tightbbox(renderer))


def _inside(inner, outer) -> bool:
    return (inner.x0 >= outer.x0 - 0.5 and inner.y0 >= outer.y0 - 0.5 and inner.x1 <= outer.x1 + 0.5
            and inner.y1 <= outer.y1 + 0.5)


def _long_types(study):
    """The study with one facility of a type whose name is far longer than any legend column."""
    cov = study.coverage
    facilities = cov.facilities.copy()
    facilities.loc[facilities.index[0], "type"] = ("community elder-care and rehabilitation service complex "
                                                    "with day care, meals and home visits")
    return dataclasses.replace(study, coverage=dataclasses.replace(cov, facilities=facilities))


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("size_in", [(10.0, 8.0), (6.0, 8.0), (12.0, 5.0), (5.0, 4.0)])
@pytest.mark.parametrize("case", ["study", "suggestion", "long_types"])
def test_static_png_legend_and_colour_bar_are_inside_the_image_and_off_the_map(study, suggestion, lang, size_in,
                                                                                case):
    if lang == "zh":
        require_cjk_font(staticmap.cjk_font())
    drawn = _long_types(study) if case == "long_types" else study
    fig = staticmap.static_map_figure(drawn, lang=lang, size_in=size_in,
                                      suggestion=suggestion if case == "suggestion" else None)
    page, map_box, legend, bar = _extents(fig)
    assert _inside(legend, page) and _inside(bar, page)
    assert not legend.overlaps(map_box) and not bar.overlaps(map_box) and not legend.overlaps(bar)
    assert map_box.width > 0.3 * page.width or map_box.height > 0.3 * page.height  # the map stays the main thing
    title = _title(fig).get_window_extent(fig.canvas.get_renderer())
    assert not title.overlaps(map_box) and not title.overlaps(legend)
    texts = [t.get_text() for t in fig.legends[0].get_texts()]
    if lang == "en":  # long labels wrap
        assert max(len(line) for t in texts for line in t.split("\n")) <= 32
        assert "Subdistrict comprehensive\nelder-care centre" in texts or case == "long_types"
        assert any(t.startswith("Suggested new site") for t in texts) == (case == "suggestion")


def test_static_png_legend_beside_a_tall_map_and_below_a_wide_one(study):
    tall = _extents(staticmap.static_map_figure(study, size_in=(10.0, 8.0)))
    assert tall[2].x0 >= tall[1].x1  # beside the (portrait) demo area
    wide = _extents(staticmap.static_map_figure(study, size_in=(6.0, 9.0)))
    assert wide[2].y1 <= wide[1].y0  # in a narrow, tall image: below the map


def test_static_png_facility_colours_are_the_interactive_maps_and_stand_off_the_share_scale(study):
    from matplotlib.colors import to_rgb

    from carecircle.outputs.maps import SHARE_COLORS, TYPE_COLORS, type_colors

    fig = staticmap.static_map_figure(study)
    legend = {t.get_text().replace("\n", " "): h for t, h in zip(fig.legends[0].get_texts(),
                                                                    fig.legends[0].legend_handles, strict=True)}
    colours = type_colors(study.coverage.facilities["type"])
    assert colours and set(colours) <= set(TYPE_COLORS)
    for code, colour in colours.items():
        handle = legend[staticmap.type_name(code, "en")]
        assert to_rgb(handle.get_markerfacecolor()) == to_rgb(colour)
        assert to_rgb(handle.get_markeredgecolor()) == (1.0, 1.0, 1.0)
    # every type colour is far from every colour of the red-to-green share scale (RGB distance)
    for colour in TYPE_COLORS.values():
        nearest = min(sum((a - b) ** 2 for a, b in zip(to_rgb(colour), to_rgb(s), strict=True)) ** 0.5
                      for s in SHARE_COLORS)
        assert nearest > 0.35, colour


def test_static_png_draws_the_walking_network_faintly_under_everything(study):
    from matplotlib.path import Path as MplPath

    fig = staticmap.static_map_figure(study)
    ax = fig.axes[0]
    (network,) = [c for c in ax.collections if c.get_gid() == "network"]
    (path,) = network.get_paths()  # one path, a move and a line per segment
    assert (path.codes == MplPath.MOVETO).sum() == len(path.vertices) // 2 > 1000
    assert network.get_zorder() < min(c.get_zorder() for c in ax.collections if c is not network)
    assert network.get_alpha() <= 0.6
    # the view is the study area, not the whole network
    x0, x1 = ax.get_xlim()
    assert x1 - x0 < 1.2 * (study.coverage.communities.to_crs(study.network.crs).total_bounds[2]
                            - study.coverage.communities.to_crs(study.network.crs).total_bounds[0]) + 200
    without = staticmap.static_map_figure(dataclasses.replace(study, network=None))
    assert [c for c in without.axes[0].collections if c.get_gid() == "network"] == []


# --- accessibility (issue 13) ---------------------------------------------------------------------------------

ACCESS_HEADING = {"en": "Accessibility", "zh": "可达性（两步移动搜索法）"}


@pytest.fixture(scope="session")
def access_study():
    return run_study(accessibility="e2sfca", supply_col="capacity")


@pytest.fixture(scope="session")
def access_reports(access_study) -> dict[str, str]:
    return {lang: render_report(access_study, lang=lang, generated="2025-01-31") for lang in ("en", "zh")}


def _access_section(page: str) -> str:
    found = re.search(r'<section id="accessibility">(.*?)</section>', _outside_srcdoc(page), flags=re.DOTALL)
    assert found, "no accessibility section"
    return found.group(1)


def _cells(table: str) -> list[list[str]]:
    return [[html.unescape(re.sub(r"<[^>]+>", "", c)) for c in re.findall(r"<td[^>]*>(.*?)</td>", row)]
            for row in re.findall(r"<tr[^>]*>(.*?)</tr>", table.split("<tbody>")[1])]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_accessibility_section_only_with_accessibility(access_reports, reports, lang):
    headings = _h2(access_reports[lang])
    assert ACCESS_HEADING[lang] in headings
    # after the map, before the roll-ups
    assert headings.index(ACCESS_HEADING[lang]) == headings.index("Interactive map" if lang == "en" else "交互地图") + 1
    assert f'<a href="#accessibility">{html.escape(ACCESS_HEADING[lang])}</a>' in access_reports[lang]
    assert ".mismatch-high_need_low_access" in access_reports[lang]  # its CSS comes with it
    plain = reports[lang]
    assert ACCESS_HEADING[lang] not in _h2(plain) and 'id="accessibility"' not in plain
    assert "mismatch" not in plain and "lorenz" not in plain and "accessibility section" not in plain


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_accessibility_figures_equal_the_summary(access_reports, access_study, lang):
    page, a = access_reports[lang], access_study.accessibility.summary
    assert _card(page, "access-mean")[0] == f"{a['mean']:,.1f}"
    assert _card(page, "access-median")[0] == f"{a['median']:,.1f}"
    assert _card(page, "access-gini")[0] == f"{a['gini']:.2f}"
    share, detail = _card(page, "access-below")
    assert share == f"{100 * a['share_below_level']:.1f}%"
    assert f"{a['elderly_below_level']:,.0f}" in detail and f"{a['level']:,.1f}" in detail
    assert ("the study-wide average" if lang == "en" else "全域平均水平") in detail  # level_source 'mean'
    assert _card(page, "access-none")[0] == f"{a['elderly_no_access']:,.0f}"
    section = _access_section(page)
    # the method: name, supply column, each type's catchment, the band weights
    assert ("enhanced two-step floating catchment area method (E2SFCA)" if lang == "en"
            else "增强型两步移动搜索法（E2SFCA）") in html.unescape(section)
    assert "“capacity”" in section
    for w in a["band_weights"]:
        assert f"{w:.2f}" in section
    for code, minutes in a["catchment_min"].items():
        name = type_label(code, lang)
        assert html.escape(f"{name} {minutes:g} min" if lang == "en" else f"{name}{minutes:g}分钟") in section
    # the Lorenz curve: every point of the result, the diagonal, the Gini in the caption
    svg = re.search(r'<svg class="lorenz-chart".*?</svg>', section, flags=re.DOTALL).group(0)
    points = re.search(r'class="lorenz-curve" points="([^"]+)"', svg).group(1).split()
    assert len(points) == len(access_study.accessibility.lorenz)
    assert 'class="lorenz-equality"' in svg
    assert f"{a['gini']:.2f}" in re.search(r"<figcaption.*?</figcaption>", section, flags=re.DOTALL).group(0)


def test_accessibility_mismatch_table_and_ranking(access_reports, access_study):
    access = access_study.accessibility
    section = _access_section(access_reports["en"])
    table = re.search(r'<table class="access-mismatch">.*?</table>', section, flags=re.DOTALL).group(0)
    rows = _cells(table)
    scores = access.communities.set_index("community_id")
    assert sorted(r[0] for r in rows) == sorted(scores.index)
    classes = [scores.loc[r[0], "mismatch"] for r in rows]
    n_short = classes.count("high_need_low_access")
    assert n_short and classes[:n_short] == ["high_need_low_access"] * n_short  # high need, low access first
    for r in rows:
        assert r[-3] == f"{scores.loc[r[0], 'access']:,.1f}" and r[-4] == f"{scores.loc[r[0], 'elderly']:,.0f}"
        assert r[-2] == ("yes" if scores.loc[r[0], "below_level"] else "no")
    assert "Many elderly, little supply" in table
    assert table.count('<tr class="below"') == int(scores["below_level"].sum())
    # the subdistrict ranking, rank 1 first, with English names where the communities give them
    ranking = re.search(r'<table class="access-ranking access-ranking-subdistrict">.*?</table>', section,
                        flags=re.DOTALL).group(0)
    sub = access.rollups["subdistrict"].sort_values("rank")
    rows = _cells(ranking)
    assert [r[0] for r in rows] == [str(int(v)) for v in sub["rank"]]
    assert [r[3] for r in rows] == [f"{v:,.1f}" for v in sub["access"]]
    assert [r[4] for r in rows] == [f"{v:.2f}" for v in sub["gini"]]
    assert [r[5] for r in rows] == [f"{100 * v:.1f}%" for v in sub["share_below"]]
    assert "(illustrative)" in rows[0][1]
    assert "access-ranking-district" not in section  # one district: nothing to rank


def test_accessibility_in_chinese_has_no_english_labels(access_reports, access_study):
    from carecircle.outputs.i18n import ACCESS_TERMS, REPORT_LABELS

    section = _access_section(access_reports["zh"])
    text = html.unescape(re.sub(r"<[^>]+>", " ", section))
    english = [v for k, v in REPORT_LABELS["en"].items() if k.startswith(("access", "lorenz", "sec_access"))]
    english += list(ACCESS_TERMS["en"].values())
    for label in english:
        fixed = re.split(r"\{[^}]*\}", label)
        for part in fixed:
            words = re.findall(r"[A-Za-z]{4,}", part)
            assert not any(re.search(rf"\b{w}\b", text) for w in words if w not in ("SFCA",)), (label, words)
    # the only Latin letters left: the method's abbreviation, the supply column as given, the community ids
    ids = set(access_study.accessibility.communities["community_id"])
    leftover = {w for w in re.findall(r"[A-Za-z][A-Za-z_0-9]*", text) if w not in ids}
    assert leftover <= {"E2SFCA", "capacity"}, leftover


def test_accessibility_text_is_escaped(access_study):
    access = access_study.accessibility
    com = access_study.coverage.communities.copy()
    com["name"] = "<script>alert('c')</script>"
    com["name_en"] = "<img src=x onerror=alert(1)>"
    hostile_sub = access.rollups["subdistrict"].assign(subdistrict="<b>sub</b>")
    hostile = dataclasses.replace(
        access, summary={**access.summary, "supply_col": "<i>places</i>", "facilities_unreached": ["<u>F9</u>"]},
        rollups={**access.rollups, "subdistrict": hostile_sub})
    study = dataclasses.replace(access_study, accessibility=hostile,
                                coverage=dataclasses.replace(access_study.coverage, communities=com))
    for lang in ("en", "zh"):
        section = _access_section(render_report(study, lang=lang, map_html="<p/>"))
        for raw in ("<script>alert", "<img src", "<b>sub", "<i>places", "<u>F9"):
            assert raw not in section, raw
        assert "&lt;i&gt;places&lt;/i&gt;" in section and "&lt;u&gt;F9&lt;/u&gt;" in section
        assert "&lt;b&gt;sub&lt;/b&gt;" in section
        assert ("&lt;img src=x onerror=alert(1)&gt;" if lang == "en" else "&lt;script&gt;alert(&#x27;c&#x27;)") in \
            section


def test_accessibility_map_in_the_report(access_reports):
    """The report's own map (drawn when no map is given) carries the accessibility layer."""
    doc = _srcdocs(access_reports["zh"])[0]
    assert "可达性（每千名老人可达服务容量）" in doc or json.dumps("可达性（每千名老人可达服务容量）")[1:-1] in doc
    assert "carecircle-access-legend" in doc


@pytest.mark.browser
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_accessibility_report_in_headless_chromium(access_reports, lang, tmp_path):
    from selenium.webdriver.common.by import By

    path = tmp_path / f"report_access_{lang}.html"
    path.write_text(access_reports[lang], encoding="utf-8")
    driver = open_browser(tmp_path)
    try:
        driver.get(path.as_uri())
        section = driver.find_element(By.ID, "accessibility")
        assert section.find_element(By.TAG_NAME, "h2").text == ACCESS_HEADING[lang]
        chart = section.find_element(By.CSS_SELECTOR, "svg.lorenz-chart")
        assert chart.is_displayed() and chart.size["width"] >= 300 and chart.size["height"] >= 250
        assert driver.execute_script(
            "return document.querySelector('.lorenz-curve').getTotalLength()") > 300
        assert len(section.find_elements(By.CSS_SELECTOR, "table.access-mismatch tbody tr")) == 7
        pill = section.find_element(By.CSS_SELECTOR, ".mismatch-high_need_low_access")
        assert pill.value_of_css_property("background-color") != "rgba(0, 0, 0, 0)"  # its CSS is there
        iframe = driver.find_element(By.CSS_SELECTOR, ".map-frame iframe")
        driver.switch_to.frame(iframe)
        deadline = time.time() + 20
        while time.time() < deadline and not driver.find_elements(By.CSS_SELECTOR, ".leaflet-container path"):
            time.sleep(0.2)
        names = [e.text.strip() for e in driver.find_elements(By.CSS_SELECTOR,
                                                               ".leaflet-control-layers-overlays label")]
        assert ("Accessibility (service places per 1,000 elderly)" if lang == "en"
                else "可达性（每千名老人可达服务容量）") in names
        assert severe_console_errors(driver) == []
        driver.switch_to.default_content()
        assert severe_console_errors(driver) == []
    finally:
        driver.quit()


# ------------------------------------------------------------------- issue 12: walking model, speeds, distances


@pytest.fixture(scope="session")
def older_study():
    from carecircle.config import StudyConfig
    from carecircle.pipeline import run

    return run(StudyConfig.build({"walking": {"model": "older", "speed_mps": 0.8,
                                              "sensitivity_speeds": [0.8, 1.0, 1.2]},
                                  "outputs": {"isochrones": False}}))


def _method(page: str) -> str:
    return _outside_srcdoc(page).split('<section id="method">', 1)[1].split("</section>", 1)[0]


def test_method_states_the_plain_model_in_one_line(reports):
    assert "Walking model</dt><dd>plain: every street walked at the walking speed" in _method(reports["en"])
    assert "步行模型</dt><dd>普通（plain）" in _method(reports["zh"])


@pytest.mark.parametrize(("lang", "expected"), [
    ("en", ["older pedestrians (--walk-model older):", "stairs: 1 s per step", "0.3 m treads",
            "a wait of 30 s at traffic signals, 15 s at marked or zebra crossings, 25 s unmarked",
            "sidewalk=no are not walked", "on the flat; the walking model below adds"]),
    ("zh", ["老年人步行模型（--walk-model older）：", "台阶：每级1秒", "信号灯处等候30秒", "斑马线或标线人行横道15秒",
            "无标线或未标注25秒", "平地0.8米/秒"]),
])
def test_method_states_each_rule_of_the_older_model(older_study, lang, expected):
    method = html.unescape(_method(render_report(older_study, lang=lang)))
    for text in expected:
        assert text in method, text
    assert "without extra cost for steps" not in method and "未计台阶" not in method


def test_method_names_the_dem_and_avoided_steps(older_study):
    inputs = {**older_study.inputs, "walking_model": {**older_study.inputs["walking_model"], "avoid_steps": True,
                                                       "dem": "/data/srtm_30m.tif"}}
    method = html.unescape(_method(render_report(dataclasses.replace(older_study, inputs=inputs), lang="en")))
    assert "stairs impassable (--avoid-steps" in method and "stairs: 1 s per step" not in method
    assert "slopes from the elevation model srtm_30m.tif: Tobler's hiking function" in method


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_sensitivity_section_sentence_and_chart(older_study, lang):
    page = _outside_srcdoc(render_report(older_study, lang=lang))
    rows = older_study.sensitivity[older_study.sensitivity["minutes"] == 15]
    shares = [f"{s:.1%}" for s in rows["share"]]
    sentence = (f"15-minute coverage {shares[0]} at 0.8 m/s, {shares[1]} at 1.0 m/s, {shares[2]} at 1.2 m/s."
                if lang == "en" else
                f"15分钟覆盖率：0.8米/秒时{shares[0]}，1.0米/秒时{shares[1]}，1.2米/秒时{shares[2]}。")
    assert sentence in page
    assert _h2(page).index("Walking speed sensitivity" if lang == "en" else "步行速度敏感性") == 1
    chart = page.split('class="sensitivity-chart"', 1)[1].split("</svg>", 1)[0]
    assert chart.count("<polyline") == 3 and chart.count("<circle") == 9
    assert ("the first speed given" if lang == "en" else "所给的第一个速度") in page


def test_no_sensitivity_section_with_one_speed(reports):
    assert "sensitivity-chart" not in reports["en"] and "Walking speed sensitivity" not in reports["en"]


def test_distance_thresholds_read_in_metres(study):
    distances = dataclasses.replace(study, distances_m=(300.0, 600.0, 900.0))  # 5/10/15 min at 1.0 m/s
    for lang, within, gone in (("en", "Within 300 m walk", "Within 5 min"), ("zh", "300米内步行可达", "5分钟步行可达")):
        page = _outside_srcdoc(render_report(distances, lang=lang))
        assert within in page and gone not in page
        assert ("GB 50180" in page) and ("900 m" in page if lang == "en" else "900米内" in page)
