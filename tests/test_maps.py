"""Tests for carecircle.outputs.maps: the rendered HTML, and the map opened in headless Chromium.

The coverage result is built by hand (three 0.01° x 0.005° communities near Helsinki, 3 facilities of
2 types, 10 demand points, isochrones as buffers at 1 m/s), so these tests do not depend on the
network and coverage steps.
"""

from __future__ import annotations

import dataclasses
import html as html_lib
import json
import logging
import re
import time

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from browser import assert_map_rendered, open_browser, severe_console_errors
from shapely.geometry import Point, box

from carecircle.core.coverage import CoverageResult
from carecircle.errors import InputError, OutputError
from carecircle.outputs.maps import coverage_map, map_fragment, save_map
from carecircle.outputs.maps.bands import band_shapes
from carecircle.outputs.maps.elements import geojson_layer

THRESHOLDS = (5.0, 10.0, 15.0)
METRIC_CRS = "EPSG:3067"  # ETRS-TM35FIN, metres

LAYERS_EN = ["5-minute walk", "10-minute walk", "15-minute walk", "Per-facility isochrones",
             "Community coverage", "Uncovered elderly", "Care facilities"]
LAYERS_ZH = ["5分钟步行覆盖", "10分钟步行覆盖", "15分钟步行覆盖", "各设施步行等时圈",
             "社区覆盖率", "未覆盖老年人", "养老设施"]
COMMUNITY_NAMES = ["Kamppi", "Punavuori", "Töölö & <Etu>"]
FACILITY_NAMES = ["Kamppi day centre", "Punavuori station", "Hietalahti station"]
SUGGESTED_NAMES = ["Eerikinkatu <corner>", "Sandvikstorget"]
SUGGESTED_IDS = ["G017", "G042"]


# --- a hand-made coverage result -------------------------------------------------------------------


def _communities() -> gpd.GeoDataFrame:
    boxes = [box(24.925, 60.165, 24.935, 60.170), box(24.935, 60.165, 24.945, 60.170),
             box(24.925, 60.170, 24.935, 60.175)]
    return gpd.GeoDataFrame(
        {"community_id": ["C1", "C2", "C3"], "name": COMMUNITY_NAMES,
         "pop_total": [4000, 3000, 2500], "pop_60plus": [900, 700, 400], "households": [2100, 1500, 1300]},
        geometry=boxes, crs=4326,
    )


def _facilities() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"facility_id": ["F1", "F2", "F3"], "name": FACILITY_NAMES,
         "type": ["day-care centre", "home-care station", "home-care station"],
         "capacity": [40.0, np.nan, 12.0], "floor_area_m2": [800.0, 250.0, np.nan],
         "snap_m": [12.0, 30.0, 8.0]},
        geometry=[Point(24.929, 60.1675), Point(24.941, 60.1668), Point(24.930, 60.1725)], crs=4326,
    )


def _demand() -> gpd.GeoDataFrame:
    # (community, lon, lat, persons, minutes to nearest, nearest facility)
    rows = [
        ("C1", 24.9280, 60.1665, 200.0, 2.5, "F1"),
        ("C1", 24.9320, 60.1690, 250.0, 6.0, "F1"),
        ("C1", 24.9340, 60.1655, 150.0, 12.0, "F1"),
        ("C2", 24.9400, 60.1670, 180.0, 3.0, "F2"),
        ("C2", 24.9440, 60.1690, 220.0, 8.0, "F2"),
        ("C2", 24.9445, 60.1652, 120.0, 17.5, "F2"),
        ("C2", 24.9370, 60.1655, 90.0, np.inf, None),
        ("C3", 24.9300, 60.1720, 160.0, 4.0, "F3"),
        ("C3", 24.9260, 60.1745, 110.0, 16.0, "F3"),
        ("C3", 24.9345, 60.1740, 70.0, 11.0, "F3"),
    ]
    columns = ["community_id", "lon", "lat", "population", "time_min", "nearest_facility"]
    df = pd.DataFrame(rows, columns=columns)
    for t in THRESHOLDS:
        df[f"covered_{t:g}"] = df["time_min"] <= t
    df["snap_m"] = 15.0
    return gpd.GeoDataFrame(df.drop(columns=["lon", "lat"]), geometry=gpd.points_from_xy(df.lon, df.lat),
                            crs=4326)


def _result() -> CoverageResult:
    demand, communities, facilities = _demand(), _communities(), _facilities()
    grouped = demand.groupby("community_id")
    elderly = grouped["population"].sum()
    communities["elderly"] = communities["community_id"].map(elderly)
    summary: dict = {"elderly_population": float(demand["population"].sum()),
                     "covered": {}, "share": {}, "uncovered": {}}
    for t in THRESHOLDS:
        lab = f"{t:g}"
        covered = demand["population"].where(demand[f"covered_{lab}"], 0.0)
        per_comm = covered.groupby(demand["community_id"]).sum()
        communities[f"covered_{lab}"] = communities["community_id"].map(per_comm)
        communities[f"share_{lab}"] = communities[f"covered_{lab}"] / communities["elderly"]
        communities[f"uncovered_{lab}"] = communities["elderly"] - communities[f"covered_{lab}"]
        served = covered.groupby(demand["nearest_facility"]).sum()
        facilities[f"served_{lab}"] = facilities["facility_id"].map(served).fillna(0.0)
        summary["covered"][lab] = float(covered.sum())
        summary["share"][lab] = float(covered.sum()) / summary["elderly_population"]
        summary["uncovered"][lab] = summary["elderly_population"] - float(covered.sum())
    communities["below_target"] = communities["share_15"] < 0.9
    return CoverageResult(thresholds_min=THRESHOLDS, walk_speed_mps=1.0, target_share=0.9, demand=demand,
                          communities=communities, facilities=facilities, summary=summary)


def _isochrones(*, merged: bool = True, per_facility: bool = True) -> gpd.GeoDataFrame:
    """Buffers of 60 m/min x minutes around each facility, plus their union per threshold."""
    fac = _facilities().to_crs(METRIC_CRS)
    rows = []
    for t in THRESHOLDS:
        discs = [p.buffer(60.0 * t) for p in fac.geometry]
        if per_facility:
            rows += [{"minutes": t, "facility_id": fid, "geometry": g}
                     for fid, g in zip(fac.facility_id, discs, strict=True)]
        if merged:
            rows.append({"minutes": t, "facility_id": None, "geometry": gpd.GeoSeries(discs).union_all()})
    return gpd.GeoDataFrame(rows, crs=METRIC_CRS).to_crs(4326)


def _suggested() -> gpd.GeoDataFrame:
    """Two suggested sites near the uncovered demand points, listed out of rank order."""
    return gpd.GeoDataFrame(
        {"candidate_id": SUGGESTED_IDS[::-1], "name": SUGGESTED_NAMES[::-1], "rank": [2, 1],
         "gain": [110.0, 190.0], "share_after": [0.8258, 0.7548]},
        geometry=[Point(24.9262, 60.1743), Point(24.9442, 60.1654)], crs=4326,
    )


def _with_suggested_facilities(result: CoverageResult) -> CoverageResult:
    """The coverage after: the suggested sites added to the facilities as type "suggested"."""
    sites = _suggested()
    new = gpd.GeoDataFrame({"facility_id": sites["candidate_id"], "name": sites["name"], "type": "suggested"},
                           geometry=sites.geometry, crs=4326)
    facilities = pd.concat([result.facilities, new], ignore_index=True)
    return dataclasses.replace(result, facilities=gpd.GeoDataFrame(facilities, crs=4326))


def _suggested_isochrones(minutes: float = 15.0) -> gpd.GeoDataFrame:
    sites = _suggested().to_crs(METRIC_CRS)
    return gpd.GeoDataFrame({"facility_id": sites["candidate_id"], "minutes": minutes},
                            geometry=sites.buffer(60.0 * minutes), crs=METRIC_CRS).to_crs(4326)


def _curve() -> pd.DataFrame:
    share = [540 + 370 + 0.0, 1170.0, 1280.0, 1330.0, 1350.0]  # covered persons after 0..4 new sites
    return pd.DataFrame({"sites": range(5), "share": np.array(share) / 1550, "covered": share})


@pytest.fixture(scope="module")
def result() -> CoverageResult:
    return _result()


@pytest.fixture(scope="module")
def isochrones() -> gpd.GeoDataFrame:
    return _isochrones()


def _html(m: folium.Map) -> str:
    return m.get_root().render()


def _without_leaflet(html: str) -> str:
    """The page minus the inlined Leaflet library (whose comments and strings mention URLs)."""
    html, n_js = re.subn(r"<script>/\* @preserve.*?</script>", "", html, flags=re.S)
    html, n_css = re.subn(r"<style>/\* required styles \*/.*?</style>", "", html, flags=re.S)
    assert (n_js, n_css) == (1, 1)
    return html


def _shows(text: str, html: str) -> bool:
    """``text`` is in the page, as HTML text or inside a JSON/JS string (where non-ASCII is \\u-escaped)."""
    return text in html or json.dumps(text)[1:-1] in html


def _feature_groups(m: folium.Map) -> dict[str, folium.FeatureGroup]:
    return {c.layer_name: c for c in m._children.values() if isinstance(c, folium.FeatureGroup)}


# --- rendered HTML ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("lang", "names"), [("en", LAYERS_EN), ("zh", LAYERS_ZH)])
def test_layer_names(result, isochrones, lang, names):
    m = coverage_map(result, isochrones, lang=lang)
    html = _html(m)
    assert set(_feature_groups(m)) == set(names)
    for name in names:
        assert f'{json.dumps(name)} : feature_group_' in html  # listed in the layer control
    assert "L.control.layers" in html
    assert '"collapsed": false' in html


def test_per_facility_isochrones_hidden_by_default(result, isochrones):
    groups = _feature_groups(coverage_map(result, isochrones))
    assert groups["Per-facility isochrones"].show is False
    assert all(g.show for name, g in groups.items() if name != "Per-facility isochrones")


def test_without_isochrones_no_isochrone_layers(result):
    groups = _feature_groups(coverage_map(result))
    assert set(groups) == {"Community coverage", "Uncovered elderly", "Care facilities"}


def test_only_per_facility_isochrones_are_merged_for_display(result):
    groups = _feature_groups(coverage_map(result, _isochrones(merged=False)))
    assert {"5-minute walk", "10-minute walk", "15-minute walk", "Per-facility isochrones"} <= set(groups)


def test_only_merged_isochrones_no_per_facility_layer(result):
    groups = _feature_groups(coverage_map(result, _isochrones(per_facility=False)))
    assert "15-minute walk" in groups
    assert "Per-facility isochrones" not in groups


def test_legend_lists_share_scale_isochrones_and_types(result, isochrones):
    html = _html(coverage_map(result, isochrones))
    legend = html[html.index('<div class="carecircle-legend"'):]
    assert "Elderly within 15 min walk" in legend
    assert "linear-gradient" in legend
    assert "Facility type" in legend
    assert "day-care centre" in legend and "home-care station" in legend
    assert "Walking isochrones" in legend


def test_popups_carry_names_and_figures(result, isochrones):
    html = _html(coverage_map(result, isochrones))
    assert html.count("bindPopup") >= 3  # communities, uncovered demand, facilities
    for name in ["Kamppi", "Punavuori", *FACILITY_NAMES]:
        assert name in html
    # community names are HTML-escaped before they reach innerHTML
    assert "<Etu>" not in html
    for alias in ["Elderly (60+)", "Share within 15 min", "Below target", "Capacity (beds/places)",
                  "Served within 5 min", "Minutes to nearest facility"]:
        assert alias in html
    assert "unreachable" in html  # the demand point with time_min = inf


def test_no_external_scripts_or_stylesheets(result, isochrones):
    html = _html(coverage_map(result, isochrones))
    assert not re.search(r"<script[^>]+src\s*=", html, re.I)
    assert not re.search(r"<link[^>]+href\s*=\s*[\"']?(https?:)?//", html, re.I)
    assert not re.search(r"@import", html)
    for cdn in ("cdn.jsdelivr", "cdnjs", "code.jquery", "bootstrapcdn", "d3js.org"):
        assert cdn not in html
    assert "Leaflet 1.9.4" in html  # inlined
    assert "sourceMappingURL" not in html
    # outside Leaflet, the only URLs are the tile template (which simply fails offline) and its attribution
    urls = set(re.findall(r"https?://[^\s\"'<>)\\]+", _without_leaflet(html)))
    assert urls == {"https://tile.openstreetmap.org/{z}/{x}/{y}.png", "https://www.openstreetmap.org/copyright"}


def test_folium_defaults_are_not_changed_globally(result):
    coverage_map(result)
    assert any("leaflet" in url for _, url in folium.Map.default_js)
    assert "leaflet" in _html(folium.Map(location=[60.17, 24.94]))


def test_no_tiles(result):
    html = _html(coverage_map(result, tiles=None))
    assert "tile.openstreetmap.org" not in html
    assert not re.search(r"https?://", _without_leaflet(html))


def test_chinese_labels_and_boxes(result, isochrones):
    m = coverage_map(result, isochrones, lang="zh", note="人口与设施为示意数据")
    html = _html(m)
    assert 'charset="utf-8"' in html.lower() or "charset=utf-8" in html.lower()
    for text in ["15分钟养老服务圈", "人口与设施为示意数据", "老年人口", "15分钟内可达", "设施类型", "未达标",
                 "至最近设施步行分钟", "不可达", "15分钟步行可达老年人比例"]:
        assert _shows(text, html), text
    assert "Care facilities" not in html
    assert "<title>15分钟养老服务圈</title>" in html


def test_boxes_show_title_note_and_headline(result, isochrones):
    html = _html(coverage_map(result, isochrones, title="Kamppi pilot", note="Population is illustrative"))
    assert 'class="carecircle-title"' in html and "Kamppi pilot" in html
    assert 'class="carecircle-note"' in html and "Population is illustrative" in html
    headline = re.search(r'<div class="carecircle-headline".*?</table></div>', html, re.S).group(0)
    assert "1,550" in headline  # elderly population
    share5 = 540 / 1550
    assert f"{100 * share5:.1f}%" in headline
    assert "Within 10 min" in headline and "Target" in headline


def test_no_note_box_without_note(result):
    assert 'class="carecircle-note"' not in _html(coverage_map(result))


@pytest.mark.parametrize("lang", ["fr", "EN", "", "zh-CN"])
def test_unknown_lang_is_an_input_error(result, lang):
    with pytest.raises(InputError, match=r"lang=.*not supported; use one of 'en', 'zh'"):
        coverage_map(result, lang=lang)


def test_isochrones_without_minutes_is_an_input_error(result, isochrones):
    with pytest.raises(InputError, match="no 'minutes' column"):
        coverage_map(result, isochrones.drop(columns="minutes"))


def test_fits_bounds_to_communities_and_facilities(result):
    html = _html(coverage_map(result))
    match = re.search(r"fitBounds\(\s*\[\[([\d.]+),\s*([\d.]+)\],\s*\[([\d.]+),\s*([\d.]+)\]\]", html)
    assert match is not None
    south, west, north, east = map(float, match.groups())
    assert (south, west, north, east) == pytest.approx((60.165, 24.925, 60.175, 24.945))


def test_all_covered_and_community_without_elderly(result):
    demand = result.demand[result.demand["community_id"] != "C3"].copy()
    demand["covered_15"] = True
    communities = result.communities.copy()
    communities.loc[2, ["elderly", "covered_15", "share_15"]] = [0.0, 0.0, np.nan]
    edge = dataclasses.replace(result, demand=demand, communities=communities)
    m = coverage_map(edge)
    html = _html(m)
    assert "Uncovered elderly" in _feature_groups(m)
    assert '"fillColor": "#bdbdbd"' in html  # no-data grey for the community without elderly
    assert "n/a" in html


def test_without_communities_fits_facilities(result):
    no_communities = gpd.GeoDataFrame({"community_id": []}, geometry=[])  # no CRS either
    m = coverage_map(dataclasses.replace(result, communities=no_communities))
    assert "Community coverage" in _feature_groups(m)
    bounds = re.search(r"fitBounds\(\s*\[\[([\d.]+),\s*([\d.]+)\]", _html(m)).groups()
    assert tuple(map(float, bounds)) == pytest.approx((60.1668, 24.929))


def test_nothing_to_map_is_an_input_error(result):
    empty = dataclasses.replace(result, demand=result.demand.iloc[:0],
                                communities=result.communities.iloc[:0],
                                facilities=result.facilities.iloc[:0])
    with pytest.raises(InputError, match="no communities, facilities or demand points"):
        coverage_map(empty)


def test_inputs_are_not_mutated(result, isochrones):
    before = (result.communities.copy(), result.facilities.copy(), result.demand.copy(), isochrones.copy())
    coverage_map(result, isochrones, lang="zh")
    after = (result.communities, result.facilities, result.demand, isochrones)
    for old, new in zip(before, after, strict=True):
        pd.testing.assert_frame_equal(old, new)


def test_rendering_twice_keeps_the_per_facility_layer_hidden(result, isochrones):
    # folium appends "layer.addTo(map)" lines on each render (a no-op in Leaflet); hidden layers get none
    m = coverage_map(result, isochrones)
    hidden = _feature_groups(m)["Per-facility isochrones"].get_name()
    shown = _feature_groups(m)["Care facilities"].get_name()
    for _ in range(2):
        html = _html(m)
        assert f"{hidden}.addTo(" not in html
        assert f"{shown}.addTo(" in html


# --- save_map and map_fragment ---------------------------------------------------------------------


def test_save_map_writes_utf8_atomically(result, isochrones, tmp_path):
    path = tmp_path / "coverage.html"
    path.write_text("old")
    out = save_map(coverage_map(result, isochrones, lang="zh"), path)
    assert out == path
    text = path.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and _shows("养老设施", text)
    assert [p.name for p in tmp_path.iterdir()] == ["coverage.html"]  # no temp file left


def test_save_map_missing_directory_is_an_output_error(result, tmp_path):
    with pytest.raises(OutputError, match="does not exist"):
        save_map(coverage_map(result), tmp_path / "nowhere" / "map.html")


def test_map_fragment_is_an_iframe_with_the_whole_document(result):
    m = coverage_map(result, note="illustrative")
    frag = map_fragment(m, height="480px")
    assert frag.startswith("<iframe srcdoc=\"&lt;!DOCTYPE html&gt;") and frag.endswith("</iframe>")
    assert "height:480px" in frag
    assert "Make this Notebook Trusted" not in frag
    assert frag.count('"') == 8  # every quote inside srcdoc is escaped


# --- suggested sites, their isochrones and the coverage curve --------------------------------------

SUGGESTED_LAYERS = {"en": ["Suggested new sites", "New sites' 15-minute walk"],
                    "zh": ["建议新增站点", "新增站点15分钟步行范围"]}


def _suggestion_map(result, isochrones, lang="en", **kwargs) -> folium.Map:
    return coverage_map(_with_suggested_facilities(result), isochrones, lang=lang, suggested=_suggested(),
                        suggested_isochrones=_suggested_isochrones(), curve=_curve(), **kwargs)


def _geojson_names(group: folium.FeatureGroup) -> list[str]:
    """Names (first popup field) of the features in a layer's GeoJSON."""
    (geojson,) = [c for c in group._children.values() if isinstance(c, folium.GeoJson)]
    return [f["properties"]["p0"] for f in geojson.data["features"]]


def _curve_svg(html: str) -> str:
    return re.search(r'<div class="carecircle-curve".*?</svg></div>', html, re.S).group(0)


@pytest.mark.parametrize(("lang", "names"), [("en", LAYERS_EN), ("zh", LAYERS_ZH)])
def test_suggested_layers_listed(result, isochrones, lang, names):
    m = _suggestion_map(result, isochrones, lang=lang)
    html = _html(m)
    assert set(_feature_groups(m)) == set(names) | set(SUGGESTED_LAYERS[lang])
    for name in SUGGESTED_LAYERS[lang]:
        # folium's tojavascript writes the apostrophe of "New sites'" as \u0027
        quoted = json.dumps(name).replace("'", "\\u0027")
        assert f"{quoted} : feature_group_" in html
        assert _feature_groups(m)[name].show is True


def test_suggested_sites_not_drawn_twice(result, isochrones):
    after = _with_suggested_facilities(result)
    m = coverage_map(after, isochrones, suggested=_suggested())
    groups = _feature_groups(m)
    assert _geojson_names(groups["Care facilities"]) == FACILITY_NAMES
    assert _geojson_names(groups["Suggested new sites"]) == ["1", "2"]  # ranks, in rank order
    legend = _html(m)[_html(m).index('<div class="carecircle-legend"'):]
    assert "suggested</div>" not in legend  # not listed as a facility type
    assert "Suggested new site (number: rank)" in legend
    # without `suggested`, facilities of type "suggested" are ordinary facilities
    plain = coverage_map(after, isochrones)
    assert _geojson_names(_feature_groups(plain)["Care facilities"]) == [
        *FACILITY_NAMES, "Sandvikstorget", "Eerikinkatu &lt;corner&gt;"]
    assert "suggested</div>" in _html(plain)
    assert "Suggested new sites" not in _html(plain)


def test_suggested_markers_are_numbered_div_icons(result, isochrones):
    html = _html(_suggestion_map(result, isochrones))
    # a core-Leaflet L.DivIcon (not AwesomeMarkers, which needs an external plug-in) with the rank inside
    assert re.search(r"const iconRootAlias = L\s+opts\.icon = new iconRootAlias\.DivIcon\(iconOptions\)", html)
    assert "AwesomeMarkers" not in html
    assert '"className": "carecircle-site"' in html
    # (the style's "<" and ">" written as \u003c, \u003e: no "</" in a script)
    ranks = re.findall(r'"html": "\\u003cdiv style=\\"[^"]*\\"\\u003e(\d+)\\u003c/div\\u003e"', html)
    assert sorted(ranks) == ["1", "2"]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_suggested_popups(result, isochrones, lang):
    m = _suggestion_map(result, isochrones, lang=lang)
    html = _html(m)
    aliases = (["Rank", "Site ID", "Name", "Elderly newly covered", "Coverage share after"] if lang == "en"
               else ["序号", "站点编号", "名称", "新增覆盖老年人", "新增后覆盖率"])
    for alias in aliases:
        assert _shows(alias, html), alias
    (geojson,) = [c for c in _feature_groups(m)[SUGGESTED_LAYERS[lang][0]]._children.values()
                  if isinstance(c, folium.GeoJson)]
    props = [f["properties"] for f in geojson.data["features"]]
    assert [(p["p0"], p["p1"], p["p2"], p["p3"], p["p4"]) for p in props] == [
        ("1", "G017", "Eerikinkatu &lt;corner&gt;", "190", "75.5%"),  # escaped for innerHTML
        ("2", "G042", "Sandvikstorget", "110", "82.6%"),
    ]
    assert [p["_tip"] for p in props] == ["1. Eerikinkatu &lt;corner&gt;", "2. Sandvikstorget"]
    assert "Eerikinkatu <corner>" not in html


def test_suggested_optional_columns(result):
    sites = _suggested().drop(columns=["rank", "name"]).assign(minutes_saved=[900.0, 2500.0])
    sites = sites.rename(columns={"candidate_id": "facility_id"})
    m = coverage_map(result, suggested=sites)
    (geojson,) = [c for c in _feature_groups(m)["Suggested new sites"]._children.values()
                  if isinstance(c, folium.GeoJson)]
    props = [f["properties"] for f in geojson.data["features"]]
    assert [(p["p0"], p["p1"], p["p2"], p["p5"]) for p in props] == [("1", "G042", "n/a", "900"),
                                                                     ("2", "G017", "n/a", "2,500")]
    assert "Walking saved (person-minutes)" in _html(m)


def test_suggested_isochrones_dashed_and_in_legend(result, isochrones):
    m = _suggestion_map(result, isochrones)
    group = _feature_groups(m)["New sites' 15-minute walk"]
    (geojson,) = [c for c in group._children.values() if isinstance(c, folium.GeoJson)]
    assert len(geojson.data["features"]) == 2
    html = _html(m)
    assert '"dashArray": "6 4"' in html
    legend = html[html.index('<div class="carecircle-legend"'):]
    assert "New sites&#x27; 15-minute walk" in legend and "dashed" in legend


@pytest.mark.parametrize(("lang", "texts"), [
    ("en", ["Coverage curve", "Number of new sites", "Elderly covered", "target 90.0%"]),
    ("zh", ["覆盖率曲线", "新增站点数", "老年人覆盖率", "目标 90.0%"]),
])
def test_curve_box_is_plain_svg(result, isochrones, lang, texts):
    html = _html(_suggestion_map(result, isochrones, lang=lang))
    box = _curve_svg(html)
    for text in texts:
        assert text in box, text
    assert "<script" not in box and "http" not in box
    points = re.search(r'class="carecircle-curve-line" points="([^"]+)"', box).group(1).split()
    assert len(points) == 5
    xy = np.array([[float(v) for v in p.split(",")] for p in points])
    assert np.all(np.diff(xy[:, 0]) > 0)  # sites increase to the right
    assert np.all(np.diff(xy[:, 1]) < 0)  # share rises (SVG y grows downwards)
    # the target line sits at 90% of the 0..100% axis (gridlines at 0% and 100%)
    grid = [float(y) for y in re.findall(r'<line x1="46" y1="([\d.]+)" x2="248"', box)]
    y0, y100 = max(grid), min(grid)
    target_y = float(re.search(r'class="carecircle-curve-target" x1="46" y1="([\d.]+)"', box).group(1))
    assert target_y == pytest.approx(y0 + 0.9 * (y100 - y0), abs=0.1)
    assert [t for t in ("0%", "50%", "100%") if f">{t}</text>" not in box] == []
    assert (">4 new sites: 87.1%</title>" if lang == "en" else ">新增4个站点：87.1%</title>") in box
    # the curve sits in the left column under the headline
    column = html[html.index('<div class="carecircle-left"'):]
    assert column.index('class="carecircle-headline"') < column.index('class="carecircle-curve"')


def test_curve_without_target_and_without_suggested(result):
    html = _html(coverage_map(dataclasses.replace(result, target_share=None), curve=_curve()))
    box = _curve_svg(html)
    assert "carecircle-curve-target" not in box and "target" not in box
    assert "Suggested new sites" not in html
    assert 'class="carecircle-curve"' not in _html(coverage_map(result))


def test_curve_missing_columns_is_an_input_error(result):
    with pytest.raises(InputError, match="curve: no 'share' column"):
        coverage_map(result, curve=_curve().drop(columns="share"))


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_curve_svg_is_the_maps_curve_box(result, isochrones, lang):
    from carecircle.outputs.maps import curve_svg

    box = curve_svg(_curve(), result.target_share, lang=lang)
    assert box == _curve_svg(_html(_suggestion_map(result, isochrones, lang=lang)))
    assert box.startswith('<div class="carecircle-curve"') and '<svg class="carecircle-curve-chart"' in box


def test_curve_svg_without_points_is_empty_and_checks_its_input(caplog):
    from carecircle.outputs.maps import curve_svg

    caplog.set_level(logging.WARNING, logger="carecircle.outputs.maps")
    assert curve_svg(None) == "" and curve_svg(_curve().iloc[:0]) == ""
    assert caplog.records == []
    assert curve_svg(pd.DataFrame({"sites": [0, 1], "share": [np.nan, np.inf]})) == ""
    assert "no finite points" in caplog.text
    with pytest.raises(InputError, match="curve: no 'sites' column"):
        curve_svg(_curve().drop(columns="sites"))
    with pytest.raises(InputError, match="lang='fr'"):
        curve_svg(_curve(), lang="fr")


def test_suggested_without_crs_is_an_input_error(result):
    with pytest.raises(InputError, match="suggested: no CRS"):
        coverage_map(result, suggested=_suggested().set_crs(None, allow_override=True))


def test_suggested_map_has_no_external_resources_and_inputs_unchanged(result, isochrones):
    after = _with_suggested_facilities(result)
    inputs = (after.facilities, _suggested(), _suggested_isochrones(), _curve())
    before = tuple(x.copy() for x in inputs)
    html = _html(coverage_map(after, isochrones, suggested=inputs[1], suggested_isochrones=inputs[2],
                              curve=inputs[3]))
    for old, new in zip(before, inputs, strict=True):
        pd.testing.assert_frame_equal(old, new)
    assert not re.search(r"<script[^>]+src\s*=", html, re.I)
    urls = set(re.findall(r"https?://[^\s\"'<>)\\]+", _without_leaflet(html)))
    assert urls == {"https://tile.openstreetmap.org/{z}/{x}/{y}.png", "https://www.openstreetmap.org/copyright"}


def test_empty_suggested_keeps_layer_and_hides_suggested_facilities(result):
    m = coverage_map(_with_suggested_facilities(result), suggested=_suggested().iloc[:0])
    groups = _feature_groups(m)
    assert "Suggested new sites" in groups
    assert _geojson_names(groups["Care facilities"]) == FACILITY_NAMES


# --- headless browser ------------------------------------------------------------------------------

# Clicks every feature on the map (as Leaflet would) and returns the text of the popups that open.
# folium.GeoJsonPopup binds the popup to the GeoJSON group, so the click must propagate to it.
_POPUP_TEXTS_JS = """
const map = Object.keys(window).filter(k => k.startsWith('map_')).map(k => window[k])
    .find(v => v instanceof L.Map);
const features = [], texts = [];
let opened = null;
map.on('popupopen', e => { opened = e.popup; });
const closeAll = () => {
    const popups = [];
    map.eachLayer(l => { if (l instanceof L.Popup) { popups.push(l); } });
    popups.forEach(p => map.removeLayer(p));
};
map.eachLayer(layer => { if (layer.feature) { features.push(layer); } });
for (const layer of features) {
    closeAll();
    opened = null;
    const latlng = layer.getLatLng ? layer.getLatLng() : layer.getCenter();
    layer.fire('click', {latlng: latlng}, true);
    if (opened) { texts.push(opened.getElement().querySelector('.leaflet-popup-content').textContent); }
}
closeAll();
return texts;
"""

_CONTAINER_POINT_JS = """
const map = Object.keys(window).filter(k => k.startsWith('map_')).map(k => window[k])
    .find(v => v instanceof L.Map);
const p = map.latLngToContainerPoint([arguments[0], arguments[1]]);
return [p.x, p.y];
"""


@pytest.mark.browser
@pytest.mark.parametrize(("lang", "names"), [("en", LAYERS_EN), ("zh", LAYERS_ZH)])
def test_map_opens_in_headless_chromium(result, isochrones, tmp_path, lang, names):
    m = coverage_map(result, isochrones, lang=lang, note="Population and facilities are illustrative")
    path = save_map(m, tmp_path / f"coverage_{lang}.html")
    driver = open_browser(tmp_path)
    from selenium.webdriver.common.action_chains import ActionChains

    try:
        driver.get(path.as_uri())
        driver.implicitly_wait(5)
        assert driver.execute_script("return typeof L") == "object"
        assert driver.find_elements("css selector", ".folium-map.leaflet-container")
        n_interactive = driver.execute_script(
            "return document.querySelectorAll('.leaflet-interactive').length")
        # 3 communities + 3 uncovered points + 3 facilities are clickable; merged isochrones are not
        assert n_interactive == 9
        control = driver.execute_script(
            "return Array.from(document.querySelectorAll('.leaflet-control-layers-overlays label'))"
            ".map(l => [l.textContent.trim(), l.querySelector('input').checked])"
        )
        assert sorted(label for label, _ in control) == sorted(names)
        assert [label for label, checked in control if not checked] == [names[3]]  # per-facility: hidden
        for box in ("title", "headline", "note", "legend"):
            selector = f".carecircle-{box}"
            assert driver.find_element("css selector", selector).is_displayed(), selector

        # a real click inside community C3, away from markers, passes through the isochrones
        x, y = driver.execute_script(_CONTAINER_POINT_JS, 60.1738, 24.9285)
        container = driver.find_element("css selector", ".folium-map")
        size = container.size
        ActionChains(driver).move_to_element_with_offset(
            container, x - size["width"] / 2, y - size["height"] / 2).click().perform()
        popup = driver.find_element("css selector", ".leaflet-popup-content")
        # textContent: the popup may still be auto-panning into view, clipping its first row for .text
        assert COMMUNITY_NAMES[2] in popup.get_attribute("textContent")

        popups = driver.execute_script(_POPUP_TEXTS_JS)
        joined = "\n".join(popups)
        assert len(popups) == 3 + 3 + 3
        for name in [*COMMUNITY_NAMES, *FACILITY_NAMES]:
            assert name in joined  # shown as text, "<Etu>" included
        assert ("unreachable" if lang == "en" else "不可达") in joined  # the point with time_min = inf

        # the map fills the window, lists every layer, shows its legend, drew its shapes; no console error
        state = assert_map_rendered(driver, overlays=len(names))
        width, height = state["container"]
        assert width >= 0.9 * driver.execute_script("return window.innerWidth")
        assert height >= 0.9 * driver.execute_script("return window.innerHeight")
        assert state["paths"] >= 3 + 3 + 3  # communities, uncovered points and facilities are SVG shapes
    finally:
        driver.quit()


_RECT_JS = """
const r = document.querySelector(arguments[0]).getBoundingClientRect();
return [r.left, r.top, r.right, r.bottom];
"""


@pytest.mark.browser
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_suggestion_map_opens_in_headless_chromium(result, isochrones, tmp_path, lang):
    m = _suggestion_map(result, isochrones, lang=lang, note="Population and facilities are illustrative")
    path = save_map(m, tmp_path / f"suggest_{lang}.html")
    driver = open_browser(tmp_path)
    try:
        driver.get(path.as_uri())
        driver.implicitly_wait(5)
        assert driver.execute_script("return typeof L") == "object"
        control = driver.execute_script(
            "return Array.from(document.querySelectorAll('.leaflet-control-layers-overlays label'))"
            ".map(l => [l.textContent.trim(), l.querySelector('input').checked])"
        )
        labels = dict(control)
        for name in SUGGESTED_LAYERS[lang]:
            assert labels.get(name) is True, (name, control)  # listed and shown
        # 3 communities + 3 uncovered points + 3 existing facilities + 2 suggested sites (not drawn twice)
        n_interactive = driver.execute_script(
            "return document.querySelectorAll('.leaflet-interactive').length")
        assert n_interactive == 11

        icons = driver.find_elements("css selector", ".leaflet-marker-pane .carecircle-site")
        assert sorted(icon.text for icon in icons) == ["1", "2"]
        assert all(icon.is_displayed() for icon in icons)
        assert all(icon.size["width"] == 24 and icon.size["height"] == 24 for icon in icons)

        curve = driver.find_element("css selector", ".carecircle-curve")
        assert curve.is_displayed()
        assert curve.text.startswith("Coverage curve" if lang == "en" else "覆盖率曲线")
        svg = driver.find_element("css selector", ".carecircle-curve svg")
        assert svg.is_displayed() and svg.size["width"] == 260 and svg.size["height"] == 170
        assert driver.execute_script(
            "return document.querySelector('.carecircle-curve-line').getTotalLength()") > 100
        # the curve box sits below the headline and inside the window, overlapping neither
        headline = driver.execute_script(_RECT_JS, ".carecircle-headline")
        box = driver.execute_script(_RECT_JS, ".carecircle-curve")
        assert headline[3] <= box[1] and box[3] <= driver.execute_script("return window.innerHeight")
        legend = driver.find_element("css selector", ".carecircle-legend")
        assert legend.is_displayed()
        assert ("Suggested new site" if lang == "en" else "建议新增站点") in legend.text

        popups = driver.execute_script(_POPUP_TEXTS_JS)
        assert len(popups) == 3 + 3 + 3 + 2
        joined = "\n".join(popups)
        for name in [*SUGGESTED_NAMES, *SUGGESTED_IDS, "75.5%", "82.6%"]:
            assert name in joined, name
        assert ("Elderly newly covered" if lang == "en" else "新增覆盖老年人") in joined

        state = assert_map_rendered(driver, overlays=len(LAYERS_EN) + len(SUGGESTED_LAYERS[lang]))
        assert state["markers"] == 2  # the numbered squares; the existing facilities are circles
    finally:
        driver.quit()



# --- accessibility (issue 13) ----------------------------------------------------------------------------------

ACCESS_LAYER = {"en": "Accessibility (beds per 1,000 elderly)", "zh": "可达性（每千名老人可达床位）"}
ACCESS_POINTS_LAYER = {"en": "Accessibility of homes (demand points)", "zh": "居住点可达性（需求点）"}
ACCESS_SCORES = {"C1": 62.5, "C2": 4.25, "C3": 0.0}
ACCESS_CLASSES = {"C1": "high_need_high_access", "C2": "high_need_low_access", "C3": "low_need_low_access"}
ACCESS_CLASS_TEXT = {"en": {"C1": "Many elderly, ample supply", "C2": "Many elderly, little supply",
                            "C3": "Few elderly, little supply"},
                     "zh": {"C1": "高需求-高供给", "C2": "高需求-低供给", "C3": "低需求-低供给"}}


def _accessibility(result: CoverageResult, *, level: float = 20.0):
    """A hand-made accessibility result (beds, level 20 per 1,000 "given") and the coverage joined with it."""
    from carecircle.core.access import AccessibilityResult, with_accessibility

    com = result.communities
    communities = pd.DataFrame({
        "community_id": com["community_id"], "elderly": com["elderly"],
        "access": com["community_id"].map(ACCESS_SCORES), "below_level": com["community_id"].map(ACCESS_SCORES) < level,
        "mismatch": com["community_id"].map(ACCESS_CLASSES)})
    demand = pd.DataFrame({"access": result.demand["community_id"].map(ACCESS_SCORES).to_numpy()},
                          index=result.demand.index)
    demand["below_level"] = demand["access"] < level
    facilities = pd.DataFrame({"facility_id": ["F1", "F2", "F3"],
                               "type": ["day_care", "home_care_station", "home_care_station"],
                               "supply": [40.0, 0.0, 12.0],
                               "catchment_min": [15.0, 10.0, 10.0], "demand_in_catchment": [640.0, 0.0, 1234.5],
                               "supply_ratio": [62.5, np.nan, 9.7204]})
    summary = {"method": "e2sfca", "supply_col": "beds", "per": 1000, "band_weights": [1.0, 0.68, 0.22],
               "catchment_min": {"day_care": 15.0, "home_care_station": 10.0}, "mean": 27.4321, "median": 4.25,
               "gini": 0.6123, "level": level, "level_source": "given", "share_below_level": 0.5806,
               "elderly_below_level": 900.0, "elderly_no_access": 340.0, "facilities_unreached": ["F2"]}
    lorenz = pd.DataFrame({"population_share": [0.0, 0.2581, 0.5806, 1.0], "access_share": [0.0, 0.0, 0.1, 1.0]})
    access = AccessibilityResult(method="e2sfca", supply_col="beds", level=level, level_source="given",
                                 demand=demand, communities=communities, facilities=facilities, rollups={},
                                 lorenz=lorenz, summary=summary)
    joined, _ = with_accessibility(result, {}, access)
    return access, joined


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_accessibility_layer_only_with_accessibility(result, isochrones, lang):
    access, joined = _accessibility(result)
    names = LAYERS_EN if lang == "en" else LAYERS_ZH
    with_access = coverage_map(joined, isochrones, lang=lang, accessibility=access)
    groups = _feature_groups(with_access)
    assert set(groups) == {*names, ACCESS_LAYER[lang], ACCESS_POINTS_LAYER[lang]}
    # off at first: the coverage communities lead
    assert groups[ACCESS_LAYER[lang]].show is False and groups[ACCESS_POINTS_LAYER[lang]].show is False
    html = _html(with_access)
    assert "carecircle-access-legend" in html and "carecircleAccess" in html
    plain = _html(coverage_map(result, isochrones, lang=lang))
    for marker in ("carecircle-access", "carecircleAccess", "carecircle-headline-access", ACCESS_LAYER[lang],
                   ACCESS_POINTS_LAYER[lang], "每千名", "per 1,000"):
        assert not _shows(marker, plain), marker


def test_accessibility_layer_drawn_from_the_joined_columns_without_the_result(result, isochrones):
    """The map of a study's coverage tables shows the layer even when the caller passes no AccessibilityResult; the
    supply is then named generically and no level is marked."""
    _access, joined = _accessibility(result)
    m = coverage_map(joined, isochrones)
    assert "Accessibility (supply per 1,000 elderly)" in _feature_groups(m)
    html = _html(m)
    assert "carecircle-access-level" not in html and "carecircle-headline-access" not in html


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_accessibility_popups_legend_and_headline_show_the_figures(result, isochrones, lang):
    access, joined = _accessibility(result)
    m = coverage_map(joined, isochrones, lang=lang, accessibility=access)
    html = _html(m)
    group = _feature_groups(m)[ACCESS_LAYER[lang]]
    features = next(c for c in group._children.values() if isinstance(c, folium.GeoJson)).data["features"]
    props = {html_lib.unescape(f["properties"]["p0"]): f["properties"] for f in features}
    for cid, name in zip(["C1", "C2", "C3"], COMMUNITY_NAMES, strict=True):
        p = props[name]
        assert p["p2"] == f"{ACCESS_SCORES[cid]:,.1f}"
        assert p["p3"] == ACCESS_CLASS_TEXT[lang][cid]
        assert p["p4"] == (("yes" if lang == "en" else "是") if ACCESS_SCORES[cid] < 20 else
                           ("no" if lang == "en" else "否"))
        assert p["_dash"] == ("6 4" if ACCESS_SCORES[cid] < 20 else None)
    assert props[COMMUNITY_NAMES[0]]["_fill"] != props[COMMUNITY_NAMES[2]]["_fill"]
    # demand points in the same colours as their community, with their score
    points = _feature_groups(m)[ACCESS_POINTS_LAYER[lang]]
    features = next(c for c in points._children.values() if isinstance(c, folium.GeoJson)).data["features"]
    assert len(features) == len(joined.demand)
    fills = {f["properties"]["p1"]: f["properties"]["_fill"] for f in features}
    assert fills["62.5"] == props[COMMUNITY_NAMES[0]]["_fill"] and fills["0.0"] == props[COMMUNITY_NAMES[2]]["_fill"]
    # legend: units and the level
    legend = html[html.index("carecircle-access-legend"):]
    assert ACCESS_LAYER[lang] in legend
    assert ("level 20.0: the level set for this study" if lang == "en" else "水平 20.0：本研究设定的水平") in legend
    # headline: mean and Gini
    headline = html[html.index("carecircle-headline-access"):]
    assert "27.4" in headline[:400] and "0.61" in headline[:400]
    # facility popups: catchment, elderly within it, supply per 1,000 of them
    for text in (["Catchment (walking minutes)", "Beds per 1,000 elderly within the catchment", "9.7", "1,234"]
                 if lang == "en" else ["服务半径（步行分钟）", "服务半径内每千名老人床位", "9.7", "1,234"]):
        assert _shows(text, html), text


def test_accessibility_names_are_escaped(result, isochrones):
    access, joined = _accessibility(result)
    com = joined.communities.copy()
    com["name"] = ["<script>alert(1)</script>", "{{ 7 * 7 }}", "a & b"]
    access = dataclasses.replace(access, summary={**access.summary, "supply_col": "<b>places</b>"})
    m = coverage_map(dataclasses.replace(joined, communities=com), isochrones, accessibility=access)
    html = _html(m)
    assert "<script>alert(1)" not in html and "<b>places" not in html
    assert "&lt;b&gt;places&lt;/b&gt;" in html or _shows("&lt;b&gt;places&lt;/b&gt;", html)
    # written as text ("{" as "&#123;", "&" as "\u0026" in JSON), never evaluated as a template
    assert html.count("7 * 7") == html.count("\\u0026#123;\\u0026#123; 7 * 7 }}") > 0


def test_accessibility_inputs_are_not_mutated(result, isochrones):
    access, joined = _accessibility(result)
    before = joined.communities.copy(), joined.facilities.copy(), access.communities.copy()
    coverage_map(joined, isochrones, accessibility=access)
    pd.testing.assert_frame_equal(joined.communities, before[0])
    pd.testing.assert_frame_equal(joined.facilities, before[1])
    pd.testing.assert_frame_equal(access.communities, before[2])


@pytest.mark.browser
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_accessibility_layer_switches_in_headless_chromium(result, isochrones, tmp_path, lang):
    """Switching the accessibility layer on switches the coverage communities off and shows its legend; switching
    the coverage back on hides it again. Its communities sit under the facility markers; no console error."""
    access, joined = _accessibility(result)
    path = save_map(coverage_map(joined, isochrones, lang=lang, accessibility=access), tmp_path / "access.html")
    driver = open_browser(tmp_path)
    control_js = ("return Array.from(document.querySelectorAll('.leaflet-control-layers-overlays label'))"
                  ".map(l => [l.textContent.trim(), l.querySelector('input').checked])")
    legend_js = "return getComputedStyle(document.querySelector('.carecircle-access-legend')).display"

    def click(name):
        for label in driver.find_elements("css selector", ".leaflet-control-layers-overlays label"):
            if label.text.strip() == name:
                label.find_element("css selector", "input").click()
                return
        raise AssertionError(name)

    try:
        driver.get(path.as_uri())
        driver.implicitly_wait(5)
        coverage_name = (LAYERS_EN if lang == "en" else LAYERS_ZH)[4]
        assert dict(driver.execute_script(control_js))[ACCESS_LAYER[lang]] is False
        assert driver.execute_script(legend_js) == "none"
        click(ACCESS_LAYER[lang])
        deadline = time.time() + 5  # the coverage layer is switched off once the control has handled the click
        while time.time() < deadline and dict(driver.execute_script(control_js))[coverage_name]:
            time.sleep(0.1)
        control = dict(driver.execute_script(control_js))
        assert control[ACCESS_LAYER[lang]] is True and control[coverage_name] is False
        assert driver.execute_script(legend_js) != "none"
        assert len(driver.find_elements("css selector", ".leaflet-carecircleAccess-pane path")) == 3
        z = driver.execute_script(
            "return [getComputedStyle(document.querySelector('.leaflet-carecircleAccess-pane')).zIndex,"
            " getComputedStyle(document.querySelector('.leaflet-overlay-pane')).zIndex]")
        assert int(z[0]) < int(z[1])  # under the isochrones and the facility markers
        click(coverage_name)
        deadline = time.time() + 5
        while time.time() < deadline and dict(driver.execute_script(control_js))[ACCESS_LAYER[lang]]:
            time.sleep(0.1)
        control = dict(driver.execute_script(control_js))
        assert control[ACCESS_LAYER[lang]] is False and control[coverage_name] is True
        assert driver.execute_script(legend_js) == "none"
        # the demand points alone: the coverage stays, the legend explains their colours
        click(ACCESS_POINTS_LAYER[lang])
        time.sleep(0.3)
        control = dict(driver.execute_script(control_js))
        assert control[ACCESS_POINTS_LAYER[lang]] is True and control[coverage_name] is True
        assert driver.execute_script(legend_js) != "none"
        assert_map_rendered(driver, overlays=len(LAYERS_EN) + 2)
    finally:
        driver.quit()


# ------------------------------------------------------------------- issue 12: walking model on the map


def _walking_features() -> gpd.GeoDataFrame:
    from shapely.geometry import LineString

    return gpd.GeoDataFrame({"kind": ["steps", "crossing", "crossing"], "wait_s": [np.nan, 30.0, 25.0]},
                            geometry=[LineString([(24.94, 60.17), (24.941, 60.171)]), Point(24.942, 60.17),
                                      Point(24.943, 60.171)], crs=4326)


OLDER = {"name": "older", "step_s": 1.0, "tread_m": 0.3, "avoid_steps": False, "wait_signals_s": 30.0,
         "wait_marked_s": 15.0, "wait_unmarked_s": 25.0, "dem": None, "max_grade": 0.3}


@pytest.mark.parametrize(("lang", "layer", "legend"), [
    ("en", "Stairs and crossings", "older pedestrians: stairs 1 s per step; waits crossing major roads 30 s"),
    ("zh", "台阶与过街", "老年人步行：台阶每级1秒"),
])
def test_walking_model_in_the_legend_and_stairs_layer_hidden_at_first(result, lang, layer, legend):
    m = coverage_map(result, lang=lang, walking_model=OLDER, walking_features=_walking_features())
    page = _html(m)
    assert legend in page and "carecircle-walking-model" in page
    group = _feature_groups(m)[layer]
    assert f"{group.get_name()}.addTo(" not in page  # hidden at first
    assert '"color": "#d7301f"' in page or "#d7301f" in page  # the stairs line
    wait = "Crossing a major road: wait 30 s" if lang == "en" else "穿越主要道路：等候30秒"
    assert wait in page or json.dumps(wait)[1:-1] in page


def test_plain_model_named_without_overlay(result):
    plain = {"name": "plain", "avoid_steps": False, "dem": None, "max_grade": 0.3}
    page = coverage_map(result, walking_model=plain, walking_features=None).get_root().render()
    assert "Walking model:" in page and "plain (every street at the walking speed" in page
    assert "Stairs and crossings" not in page


def test_no_model_given_no_walking_legend(result):
    assert "carecircle-walking-model" not in coverage_map(result).get_root().render()


def test_distance_thresholds_on_the_map(result):
    metres = tuple(60.0 * t for t in result.thresholds_min)  # at 1.0 m/s
    page = coverage_map(result, distances_m=metres).get_root().render()
    top = f"{max(metres):g}"
    assert f"Elderly within {top} m walk" in page and f"Elderly beyond {top} m" in page
    assert " min walk" not in page


def test_isochrone_bands_never_overlap_and_fill_the_largest_area():
    """Each band is its area minus every shorter one, also where a shorter area sticks out of a longer one by a
    simplification sliver (here 1 m): no two bands overlap, and together they are the union of all areas."""
    five = shapely.box(0, 0, 100, 100)
    ten = shapely.box(-50, -50, 150, 150).difference(shapely.box(99, 40, 151, 41))  # a notch into the 5-min area
    fifteen = shapely.box(-100, -100, 200, 200)
    bands = band_shapes([five, ten, fifteen])
    assert bands[0].equals(five)
    assert bands[1].area == pytest.approx(ten.area - five.area + 1 * 1)  # the 5-minute area's 1 m² in the notch
    for i in range(3):
        for j in range(i + 1, 3):
            assert bands[i].intersection(bands[j]).area == pytest.approx(0, abs=1e-9)
    assert shapely.union_all(bands).equals(shapely.union_all([five, ten, fifteen]))
    # minus only the next shorter one, the 15-minute band would cover the 5-minute area's notch too
    assert fifteen.difference(ten).intersection(bands[0]).area == pytest.approx(1.0)
    # A line left by an overlay (no area) is dropped: Leaflet draws a collection as a group, not a polygon.
    odd = shapely.GeometryCollection([five, shapely.LineString([(0, 0), (-5, -5)])])
    drawn = band_shapes([odd, ten])
    assert [b.geom_type for b in drawn] == ["MultiPolygon", "MultiPolygon"] and drawn[0].equals(five)
    # A collection's polygons may overlap (make_valid leaves them so): united first, bands stay valid.
    overlapping = shapely.GeometryCollection([shapely.box(0, 0, 2, 2), shapely.box(1, 1, 3, 3)])
    drawn = band_shapes([shapely.box(0, 0, 0.5, 0.5), overlapping, shapely.box(-1, -1, 4, 4)])
    assert [b.is_valid for b in drawn] == [True] * 3
    assert [b.area for b in drawn] == pytest.approx([0.25, 6.75, 25 - 7])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_isochrone_bands_of_many_parts_are_each_area_minus_the_shorter_ones(seed):
    """Bands are cut polygon by polygon (each loses only the shorter polygons whose boxes meet it): for layers of
    many parts, holes and boxes that meet without the shapes meeting, they are each area minus the union of the
    shorter ones, as one overlay of the whole layers gives."""
    rng = np.random.default_rng(seed)
    centres = shapely.points(rng.uniform(0, 3000, size=(40, 2)))
    rings = [shapely.union_all(shapely.buffer(centres, r, quad_segs=q)).difference(
        shapely.union_all(shapely.buffer(centres, r / 4, quad_segs=3))) for r, q in ((80, 4), (160, 5), (240, 6))]
    layers = [rings[0], shapely.union_all(rings[:2]), shapely.union_all(rings)]  # nested, but for the holes
    bands = band_shapes(layers)
    assert len(shapely.get_parts(layers[2])) > 5
    for i, band in enumerate(bands):
        expected = layers[i].difference(shapely.union_all(layers[:i])) if i else layers[0]
        assert band.symmetric_difference(expected).area == pytest.approx(0, abs=1e-6 * expected.area)
        assert band.is_valid


def _layer_data(m: folium.Map) -> list:
    """The GeoJSON each layer of ``m`` hands to Leaflet, read back from the rendered page."""
    page = m.get_root().render()
    return [json.loads(text) for text in re.findall(r"geo_json_[0-9a-f]{32}_add\((.*)\);\n", page)]


def test_map_layers_hold_what_folium_makes_of_the_frame():
    """The map's GeoJSON is written from GEOS's GeoJSON (fast for city-size layers) but is the same data folium
    made of a GeoDataFrame: ids, properties (missing values as null), geometries, boxes, empty and missing
    geometries, another CRS converted to WGS-84."""
    frame = gpd.GeoDataFrame(
        {"name": ["a", None, "c", "d", "e"], "value": [1.5, np.nan, 3.0, 4.0, 0.1 + 0.2], "n": [1, 2, 3, 4, 5],
         "ok": [True, False, True, True, False], 7: pd.array(["x", pd.NA, "z", "w", "v"], dtype="string"),
         "cat": pd.Categorical(["p", None, "q", "p", "q"])},
        geometry=[shapely.Point(116.123456789012345, 39.9), shapely.box(116.1, 39.8, 116.2, 1 / 3 + 39.6),
                  shapely.Polygon(), None, shapely.MultiPolygon([shapely.box(0, 0, 1, 1), shapely.box(2, 2, 3, 3)])],
        index=[10, 11, 12, 13, 14], crs=4326)
    projected = frame.iloc[:2].to_crs(32650)
    kept = frame.copy()
    ours, theirs = folium.Map(), folium.Map()
    for f in (frame, projected):
        geojson_layer(f).add_to(ours)
        folium.GeoJson(f).add_to(theirs)
    assert _layer_data(ours) == _layer_data(theirs)
    assert len(_layer_data(ours)) == 2
    assert ours.get_bounds() == theirs.get_bounds()  # folium's bounds, though the layer's data holds stand-ins
    pd.testing.assert_frame_equal(frame, kept)  # the caller's frame is left as it was


_DRAWN_STYLES_JS = """
const out = [];
const map = Object.values(window).find(v => v instanceof L.Map);
map.eachLayer(l => { if (l.feature && l.getRadius) {
    out.push([l.feature.properties.name, l.getRadius(), l.options.fillColor, l.options.weight]); } });
return out;
"""


@pytest.mark.browser
def test_each_feature_is_drawn_in_its_own_style(tmp_path):
    """Per-feature styles come from a table the styler looks features up in (folium's switch with a case per
    feature took the browser minutes for a city's demand points): every point is drawn with the radius and
    colour its style function gave, the commonest style included, and the page has no case list."""
    from carecircle.outputs.maps.common import base_map, save_map

    rng = np.random.default_rng(7)
    n = 300
    frame = gpd.GeoDataFrame(
        {"name": [f"p{i}" for i in range(n)], "r": rng.choice([4.0, 4.0, 4.0, 6.5, 9.0], size=n),
         "c": rng.choice(["#ff0000", "#00aa00", "#0000ff"], size=n)},
        geometry=shapely.points(rng.uniform([24.90, 60.16], [24.96, 60.19], size=(n, 2))), crs=4326)
    m = base_map([60.175, 24.93], "styles", None)
    geojson_layer(frame, marker=folium.CircleMarker(radius=2, weight=1, fill=True),
                  style_function=lambda f: {"radius": f["properties"]["r"], "fillColor": f["properties"]["c"]},
                  highlight_function=lambda f: {"weight": 3}).add_to(m)
    path = save_map(m, tmp_path / "styles.html")
    assert "case " not in path.read_text(encoding="utf-8")
    driver = open_browser(tmp_path)
    try:
        driver.get(path.as_uri())
        drawn = sorted(driver.execute_script(_DRAWN_STYLES_JS))
        assert severe_console_errors(driver) == []
    finally:
        driver.quit()
    expected = sorted([name, r, c, 1] for name, r, c in zip(frame["name"], frame["r"], frame["c"], strict=True))
    assert drawn == expected


def test_style_functions_see_what_folium_gives_them():
    """A style function sees each feature's properties as it would under folium (a category of whole numbers with
    a gap gives ints, not floats)."""
    frame = gpd.GeoDataFrame({"v": pd.Categorical([1, None, 2]), "k": pd.array([1, None, 3], dtype="Int64")},
                             geometry=[shapely.Point(24.9, 60.1)] * 3, crs=4326)
    seen = {}
    for key, make in (("ours", geojson_layer), ("folium", folium.GeoJson)):
        m, seen[key] = folium.Map(), []
        make(frame, style_function=lambda f, out=seen[key]: out.append(dict(f["properties"])) or {}).add_to(m)
        m.get_root().render()
    assert seen["ours"][-3:] == seen["folium"][-3:]
    assert [type(p["v"]) for p in seen["ours"][-3:]] == [int, type(None), int]


@pytest.mark.parametrize("icons", [1, 2])
def test_icons_given_as_styles_are_named_in_the_script(icons):
    """An icon given by the style function is written as its variable, whether all features share one style or
    not, and an icon's HTML cannot end the script."""
    made = [folium.DivIcon(html=f"<b>{i}</b></script><i>") for i in range(icons)]
    frame = gpd.GeoDataFrame({"n": [0, 1, 1]}, geometry=[shapely.Point(24.9, 60.1)] * 3, crs=4326)
    m = folium.Map()
    geojson_layer(frame, marker=folium.Marker(),
                  style_function=lambda f: {"icon": made[f["properties"]["n"] % icons]}).add_to(m)
    labelled = folium.Map()  # an icon's HTML given as a style
    geojson_layer(frame, marker=folium.Marker(icon=folium.DivIcon()),
                  style_function=lambda f: {"html": f"<b>{f['properties']['n'] % icons}</b></script><i>"}
                  ).add_to(labelled)
    page, labels = m.get_root().render(), labelled.get_root().render()
    assert "{{" not in page
    assert all(icon.get_name() in page for icon in made)
    assert page.count("</script>") == page.count("<script")
    assert labels.count("</script>") == labels.count("<script")


def test_map_layer_text_is_data_not_markup_or_template():
    """A name is written into the layer's script as data: ``{{ ... }}`` is not evaluated when the page is drawn
    (folium would render it once more as a Jinja template) and ``</script>`` cannot end the script."""
    names = ["{{ 7 * 7 }}", "{% if 1 %}x{% endif %}", "</script><b>&'"]
    frame = gpd.GeoDataFrame({"name": names}, geometry=[shapely.Point(116.4, 39.9)] * 3, crs=4326)
    m = folium.Map()
    geojson_layer(frame, style_function=lambda f: {"color": "#000"}).add_to(m)
    (data,) = _layer_data(m)
    assert [f["properties"]["name"] for f in data["features"]] == names
    page = m.get_root().render()
    assert page.count("</script>") == page.count("<script")


