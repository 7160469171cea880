"""Baseline versus plan on the bundled demo: differences add up, flips are found, the map opens."""

from __future__ import annotations

import base64
import dataclasses
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from browser import assert_map_rendered, names_under_markers, open_browser

from carecircle.errors import InputError, OutputError
from carecircle.outputs.comparison import COMPARISON_FILES, write_comparison
from carecircle.outputs.maps import comparison_map
from carecircle.plan.compare import compare
from carecircle.scenario import load_scenarios, run_scenario

SCENARIOS = Path(__file__).resolve().parents[1] / "data" / "scenarios"


@pytest.fixture(scope="module")
def studies():
    base, plan = load_scenarios([SCENARIOS / "baseline.yaml", SCENARIOS / "plan.yaml"])
    return run_scenario(base, write=False).study, run_scenario(plan, write=False).study


@pytest.fixture(scope="module")
def cmp(studies):
    return compare(*studies, base_name="baseline", plan_name="plan")


@pytest.fixture(scope="module")
def written(cmp, tmp_path_factory):
    out = tmp_path_factory.mktemp("compare")
    return write_comparison(cmp, out / "en", lang="en"), write_comparison(cmp, out / "zh", lang="zh")


def _covered_per_community(study, lab: str) -> tuple[pd.Series, pd.Series]:
    """Elderly within ``lab`` minutes summed from the study's demand points, and the elderly of each community
    (the communities' input figure), both indexed by community id."""
    com = study.coverage.communities
    elderly = pd.Series(com["elderly"].to_numpy(dtype=float), index=com["community_id"].astype(str))
    demand = study.coverage.demand
    covered = demand["covered_" + lab].to_numpy(dtype=bool)
    per = (pd.Series(demand["population"].to_numpy(dtype=float)[covered])
           .groupby(demand["community_id"].astype(str).to_numpy()[covered]).sum())
    return per.reindex(elderly.index, fill_value=0.0), elderly


def test_newly_covered_persons_equal_the_difference_of_covered_totals(cmp, studies):
    base, plan = studies
    assert cmp.demand_matched
    assert list(cmp.headline["minutes"]) == [5.0, 10.0, 15.0]
    for row in cmp.headline.to_dict("records"):
        lab = f"{row['minutes']:g}"
        total = plan.coverage.summary["covered"][lab] - base.coverage.summary["covered"][lab]
        assert row["covered_change"] == pytest.approx(total, abs=1e-2)
        assert row["newly_covered"] - row["no_longer_covered"] == pytest.approx(row["covered_change"], abs=1e-6)
        # the change in share, recomputed from each study's own demand points and communities
        covered_b, elderly_b = _covered_per_community(base, lab)
        covered_p, elderly_p = _covered_per_community(plan, lab)
        assert row["share_change"] == pytest.approx(covered_p.sum() / elderly_p.sum()
                                                    - covered_b.sum() / elderly_b.sum(), abs=1e-9)
        change = cmp.communities.set_index("community_id")[f"share_{lab}_change"]
        expected = (covered_p / elderly_p - covered_b / elderly_b).reindex(change.index)
        assert change.to_numpy() == pytest.approx(expected.to_numpy(), abs=1e-9, nan_ok=True)
        newly = cmp.newly_covered.loc[cmp.newly_covered[f"newly_{lab}"], "population"].sum()
        assert newly == pytest.approx(row["newly_covered"])
    # the plan adds a centre and a station: more people within 5 and 10 minutes
    assert (cmp.headline["covered_change"].iloc[:2] > 0).all()


def test_per_community_and_subdistrict_differences_sum_to_the_total(cmp):
    for row in cmp.headline.to_dict("records"):
        lab = f"{row['minutes']:g}"
        assert cmp.communities[f"covered_{lab}_change"].sum() == pytest.approx(row["covered_change"], abs=1e-6)
        assert cmp.communities_change[f"covered_{lab}_change"].sum() == pytest.approx(row["covered_change"],
                                                                                       abs=1e-6)
        for level, table in cmp.rollups.items():
            assert table[f"covered_{lab}_change"].sum() == pytest.approx(row["covered_change"], abs=1e-3), level
    com = cmp.communities.set_index("community_id")
    assert list(com.index) == [f"C0{i}" for i in range(1, 8)]
    assert (com["covered_5_plan"] - com["covered_5_base"]).to_numpy() == pytest.approx(
        com["covered_5_change"].to_numpy())
    assert set(cmp.rollups) == {"subdistrict", "district"}
    assert set(cmp.rollups["subdistrict"]["subdistrict"]) == {"示例北街道", "示例南街道"}


def test_facility_changes(cmp):
    changes = dict(zip(cmp.facilities["facility_id"], cmp.facilities["change"], strict=True))
    assert changes == {"N01": "added", "N02": "added", "F06": "removed"}
    assert cmp.facilities.crs.to_epsg() == 4326


def test_compliance_rows_that_flip(cmp):
    assert cmp.compliance is not None and len(cmp.compliance) > len(cmp.compliance_flips) > 0
    flips = cmp.compliance_flips.set_index(["target_id", "level", "unit"])
    # the South Subdistrict had no comprehensive centre; N01 is one
    row = flips.loc[("subdistrict_centre", "subdistrict", "示例南街道")]
    assert (row["status_base"], row["status_plan"]) == ("fail", "pass")
    assert (cmp.compliance_flips["status_base"] != cmp.compliance_flips["status_plan"]).all()


def test_a_study_compared_with_itself_changes_nothing(studies):
    same = compare(studies[0], studies[0])
    assert (same.headline[["covered_change", "newly_covered", "no_longer_covered"]].to_numpy() == 0).all()
    assert len(same.newly_covered) == len(same.no_longer_covered) == len(same.facilities) == 0
    assert len(same.compliance_flips) == 0
    assert (same.communities_change["target_change"] == "").all()


def test_different_demand_compares_totals_only(studies):
    base, plan = studies
    fewer = dataclasses.replace(plan, coverage=dataclasses.replace(plan.coverage,
                                                                   demand=plan.coverage.demand.iloc[:-1]))
    result = compare(base, fewer)
    assert not result.demand_matched
    assert result.headline["newly_covered"].isna().all() and len(result.newly_covered) == 0
    assert np.isfinite(result.headline["covered_change"]).all()


def test_no_common_threshold_is_an_error(studies):
    base, plan = studies
    other = dataclasses.replace(plan, coverage=dataclasses.replace(plan.coverage, thresholds_min=(12.0,)))
    with pytest.raises(InputError, match="share no walking-time threshold"):
        compare(base, other)


def test_write_comparison_files(written, cmp):
    en, zh = written
    for files in (en, zh):
        assert set(COMPARISON_FILES) <= set(files)
        assert {"subdistricts.csv", "districts.csv", "compliance.csv"} <= set(files)
        folder = next(iter(files.values())).parent
        assert sorted(p.name for p in folder.iterdir()) == sorted([*files, ".carecircle-outputs.json"])
        for name in files:
            if name.endswith(".csv"):
                assert files[name].read_bytes().startswith(b"\xef\xbb\xbf"), name  # BOM: Excel reads Chinese
    summary = json.loads(en["summary.json"].read_text(encoding="utf-8"))
    assert summary["facilities_added"] == ["N01", "N02"] and summary["facilities_removed"] == ["F06"]
    assert summary["headline"]["10"]["covered_change"] == pytest.approx(cmp.headline["covered_change"].iloc[1])
    assert {"target_id": "subdistrict_centre", "level": "subdistrict", "unit": "示例南街道", "status_base": "fail",
            "status_plan": "pass"} in summary["compliance_flips"]
    headline = pd.read_csv(en["headline.csv"], encoding="utf-8-sig")
    assert list(headline.columns[:4]) == ["minutes", "elderly_base", "elderly_plan", "covered_base"]
    head_zh = pd.read_csv(zh["headline.csv"], encoding="utf-8-sig")
    assert "覆盖人口（变化）" in head_zh.columns and "新增覆盖人口" in head_zh.columns
    fac_zh = pd.read_csv(zh["facilities_changed.csv"], encoding="utf-8-sig")
    assert set(fac_zh["变化"]) == {"新增", "撤除"} and "街道综合养老服务中心" in set(fac_zh["类型"])
    newly = pd.read_csv(en["newly_covered.csv"], encoding="utf-8-sig")
    assert {"lon", "lat", "population", "time_min_base", "time_min_plan"} <= set(newly.columns)
    assert len(newly) == len(cmp.newly_covered)


def test_rewriting_gives_identical_tables(written, cmp, tmp_path):
    again = write_comparison(cmp, tmp_path, lang="en")
    for name, path in written[0].items():
        if name.endswith(".csv"):
            assert again[name].read_bytes() == path.read_bytes(), name


def test_unwritable_output_leaves_nothing(cmp, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder", encoding="utf-8")
    with pytest.raises(OutputError):
        write_comparison(cmp, blocker / "out")
    assert blocker.read_text(encoding="utf-8") == "not a folder"


def test_map_shows_where_coverage_changes(cmp):
    html = comparison_map(cmp, lang="en").get_root().render()
    # nothing changes within 15 minutes here, so the map shows 10 minutes, where the new centre counts
    assert "Change in coverage (10 min)" in html and "plan: 10-minute walk" in html
    for text in ("Added facilities", "Removed facilities", "Newly covered elderly (10 min)", "carecircle-legend"):
        assert text in html
    assert "Changed facilities" not in html  # empty layers are left out
    assert "unpkg.com" not in html and "cdn.jsdelivr" not in html  # Leaflet inlined
    with pytest.raises(InputError, match="not a threshold"):
        comparison_map(cmp, minutes=7)


@pytest.mark.browser
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_comparison_map_opens_in_headless_chromium(written, cmp, tmp_path, lang):
    path = written[0 if lang == "en" else 1]["map.html"]
    driver = open_browser(tmp_path)
    try:
        driver.get(path.as_uri())
        driver.implicitly_wait(5)
        assert driver.execute_script("return typeof L") == "object"
        control = dict(driver.execute_script(
            "return Array.from(document.querySelectorAll('.leaflet-control-layers-overlays label'))"
            ".map(l => [l.textContent.trim(), l.querySelector('input').checked])"))
        added = "Added facilities" if lang == "en" else "新增设施"
        newly5 = "Newly covered elderly (5 min)" if lang == "en" else "新增覆盖老年人（5分钟）"
        assert control[added] is True and control[newly5] is False
        for box in ("title", "headline", "legend", "note"):
            assert driver.find_element("css selector", f".carecircle-{box}").is_displayed(), box
        # the map fills the window, lists every layer, shows its legend and drew its shapes; no console error
        state = assert_map_rendered(driver, overlays=len(control))
        assert state["markers"] == 3  # two added facilities and one removed
        assert state["container"][1] >= 0.9 * driver.execute_script("return window.innerHeight")
        names = [name for name, _checked in state["overlays"]]
        sep, walk = (": ", "10-minute walk") if lang == "en" else ("：", "10分钟步行范围")
        assert names[0] == ("Change in coverage (10 min)" if lang == "en" else "覆盖率变化（10分钟）")
        # change, two walks, newly covered at 5 and 10 min (none at 15), the lost ones, facilities, added, removed
        assert len(names) == 9 and names[1:3] == [f"{study}{sep}{walk}" for study in ("baseline", "plan")]
        # community names on the map, in the map's language, none under a facility marker (added ones are large)
        shown = sorted(e.text for e in driver.find_elements("css selector", ".leaflet-tooltip.carecircle-label"))
        com = cmp.plan.coverage.communities
        assert shown == sorted(com["name_en"] if lang == "en" else com["name"])
        assert names_under_markers(driver) == []
    finally:
        driver.quit()


def test_report_html_lists_coverage_in_points_and_the_targets_that_flip(written, cmp):
    """Issue 15: compare writes a report a planner reads, in the chosen language: coverage per threshold with the
    change in percentage points, the targets that flip (study-wide first) and the facility changes."""
    flips = cmp.compliance_flips
    assert flips is not None and len(flips)
    for files, lang in zip(written, ("en", "zh"), strict=True):
        page = files["report.html"].read_text(encoding="utf-8")
        assert ("pp</td>" if lang == "en" else "个百分点</td>") in page
        assert "share_change" not in page
        for target in flips["target_id"].unique():
            assert f"<td>{target}</td>" in page
        assert ("Standards targets that flip" if lang == "en" else "评估结果变化的指标") in page
        assert ("not met</td><td>met" if lang == "en" else "未达标</td><td>达标") in page
        for fid in cmp.facilities["facility_id"]:
            assert f"<td>{fid}</td>" in page
        assert '<iframe src="map.html"' in page
        if lang == "zh":
            assert "Standards targets" not in page and "Walking coverage" not in page
            assert "<td class=u>示例南街道</td>" in page
        else:  # units named in English where the communities give English names, as in the console
            assert "<td class=u>South Subdistrict (illustrative)</td>" in page and "<td class=u>示例" not in page


# --- map.png (issue 15) --------------------------------------------------------------------------------------------


def _legend_texts(fig) -> list[str]:
    return [t.get_text().replace("\n", "") for t in fig.legends[0].get_texts()]


def _gid(fig, gid):
    found = [c for c in fig.axes[0].collections if c.get_gid() == gid]
    return found[0] if found else None


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_compare_writes_a_png_of_what_changes(written, cmp, lang):
    """Issue 15: map.png shows the comparison as map.html does: communities coloured by the change in share at the
    threshold where coverage changes (10 min on the demo: 86% → 99%), the newly covered elderly, the added and
    removed facilities, both walking areas, in the report's language."""
    from browser import require_cjk_font
    from PIL import Image

    from carecircle.outputs import staticmap
    from carecircle.outputs.staticmap_compare import comparison_map_figure

    if lang == "zh":
        require_cjk_font(staticmap.cjk_font())
    files = written[0] if lang == "en" else written[1]
    with Image.open(files["map.png"]) as img:
        assert img.format == "PNG" and min(img.size) > 800
    fig = comparison_map_figure(cmp, lang=lang)
    title = next(t.get_text() for t in fig.texts if t.get_gid() == "title")
    subtitle = next(t.get_text() for t in fig.texts if t.get_gid() == "subtitle")
    if lang == "en":
        assert title == "Scenario comparison: baseline → plan"
        row = cmp.headline.set_index("minutes").loc[10.0]
        assert subtitle == (f"Elderly within 10 min walk: baseline {100 * row['share_base']:.1f}% → plan "
                            f"{100 * row['share_plan']:.1f}% ({100 * row['share_change']:+.1f} points)")
        assert {"plan: 10-minute walk", "baseline: 10-minute walk", "Newly covered elderly (10 min)",
                "+  Added facilities", "×  Removed facilities"} <= set(_legend_texts(fig))
        assert fig.axes[1].get_title(loc="left") == "Change in share within 10 min (points)"
    else:
        assert title == "方案比较：baseline → plan" and subtitle.startswith("10分钟步行可达老年人比例：baseline ")
        assert {"新增设施", "撤除设施"} <= {t.split()[-1] for t in _legend_texts(fig)}
    newly = cmp.newly_covered[cmp.newly_covered["newly_10"].to_numpy(dtype=bool)]
    assert len(_gid(fig, "newly-covered").get_offsets()) == len(newly) > 0
    assert len(_gid(fig, "facility-added").get_offsets()) == 2 and len(_gid(fig, "facility-removed").get_offsets()) == 1
    assert _gid(fig, "plan-isochrone") is not None and _gid(fig, "base-isochrone") is not None
    fills = _gid(fig, "communities").get_facecolor()
    change = cmp.communities.set_index("community_id")["share_10_change"]
    ids = cmp.plan.coverage.communities["community_id"].tolist()
    most, still = ids.index(change.idxmax()), ids.index(change.abs().idxmin())
    assert fills[most][1] > fills[most][0] + 0.2  # the largest gain green
    assert np.ptp(fills[still][:3]) < 0.05  # no change: grey-white
    # no facility marker (added ones are large) on a community's name
    fig.canvas.draw()
    ax = fig.axes[0]
    markers = [c for c in ax.collections if len(c.get_sizes()) and (c.get_gid() or "").startswith(("facility", ""))
               and c.get_gid() not in ("newly-covered", "no-longer-covered")]
    shown = ax.transData.transform(np.vstack([c.get_offsets() for c in markers]))
    radius = np.concatenate([np.broadcast_to(np.sqrt(c.get_sizes()) / 2 * fig.dpi / 72, len(c.get_offsets()))
                             for c in markers])
    for text in [t for t in ax.texts if t.get_gid() == "community-label"]:
        box = text.get_window_extent(fig.canvas.get_renderer())
        gap = np.hypot(np.clip(shown[:, 0], box.x0, box.x1) - shown[:, 0], np.clip(shown[:, 1], box.y0, box.y1)
                       - shown[:, 1])
        assert (gap > radius).all(), text.get_text()


def test_compare_help_and_console_name_the_png(capsys, tmp_path):
    from carecircle.cli import main

    with pytest.raises(SystemExit):
        main(["compare", "--help"])
    assert "map.png" in " ".join(capsys.readouterr().out.split())
    out_dir = tmp_path / "cmp"
    assert main(["compare", str(SCENARIOS / "baseline.yaml"), str(SCENARIOS / "plan.yaml"), "--lang", "en",
                 "--output", str(out_dir), "--no-cache"]) == 0
    out = capsys.readouterr().out
    assert "map.png" in out.splitlines()[-1] or any("map.png" in line and "Results in" in line
                                                    for line in out.splitlines())
    assert (out_dir / "map.png").read_bytes().startswith(b"\x89PNG")


_REPORT_JS = """
const visible = e => e && getComputedStyle(e).display !== 'none' && e.getBoundingClientRect().height > 0;
const img = document.querySelector('img.print-map');
const heads = Array.from(document.querySelectorAll('table')[0].querySelectorAll('th')).map(t => t.textContent);
return {frame: visible(document.querySelector('iframe')), png: visible(img),
        png_width: img ? img.naturalWidth : 0, heads: heads,
        wrapped: Array.from(document.querySelectorAll('td.n')).filter(
            td => td.getBoundingClientRect().height > 1.6 * parseFloat(getComputedStyle(td).lineHeight || 20)).length,
        facility_heads: Array.from(document.querySelectorAll('table')).pop().querySelectorAll('th').length};
"""


@pytest.mark.browser
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_comparison_report_on_screen_and_in_print(written, cmp, tmp_path, lang):
    """Issue 15, seen in headless Chromium: the interactive map on screen and the static map (map.png) in print,
    figures never wrapped, no empty Details column, the map's note in the report's language (the demo's plan is
    Chinese), and the change scale ticked at round points."""
    from carecircle.io.default_data import DEFAULT_NOTE, DEFAULT_NOTE_ZH

    files = written[0 if lang == "en" else 1]
    page = files["report.html"].read_text(encoding="utf-8")
    embedded = re.search(r'class="print-map"[^>]*src="data:image/png;base64,([^"]+)"', page).group(1)
    assert base64.b64decode(embedded) == files["map.png"].read_bytes()
    the_map = files["map.html"].read_text(encoding="utf-8")
    assert (DEFAULT_NOTE if lang == "en" else DEFAULT_NOTE_ZH) in the_map
    assert (DEFAULT_NOTE_ZH if lang == "en" else DEFAULT_NOTE) not in the_map
    assert ">+20<" in the_map and "22.5" not in the_map  # change scale ±45 points: ticks −45, −20, 0, 20, 45
    driver = open_browser(tmp_path)
    try:
        driver.set_window_size(1400, 1000)
        driver.get(files["report.html"].as_uri())
        screen = driver.execute_script(_REPORT_JS)
        assert screen["frame"] and not screen["png"]
        assert screen["heads"][-1] == ("No longer covered" if lang == "en" else "失去覆盖")
        assert screen["facility_heads"] == 3  # facility, name, change: no column of empty details
        driver.set_window_size(794, 1123)  # A4 at 96 dpi
        driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
        printed = driver.execute_script(_REPORT_JS)
        assert printed["png"] and not printed["frame"] and printed["png_width"] > 800
        assert printed["wrapped"] == 0, printed  # "+14.8 pp", "3,180 → 4,829" on one line each
        pdf = base64.b64decode(driver.execute_cdp_cmd("Page.printToPDF", {"preferCSSPageSize": True})["data"])
        assert pdf.startswith(b"%PDF") and pdf.count(b"/Subtype /Image") + pdf.count(b"/Subtype/Image") >= 1
    finally:
        driver.quit()


def test_comparison_report_with_distances_says_metres(cmp):
    metres = dataclasses.replace(cmp, plan=dataclasses.replace(cmp.plan, distances_m=(300.0, 500.0, 1000.0)))
    from carecircle.outputs.comparison import comparison_report

    page = comparison_report(metres, lang="en")
    assert "<td>300 m</td>" in page and "<td>1000 m</td>" in page and " min<" not in page
    assert "Communities and the 1000 m target" in page


def test_person_flows_add_up_with_the_covered_figures_shown():
    """Issue 15: '3,180 → 4,829, 2,500 newly covered, 852 no longer' did not add up (3,180 + 2,500 − 852 = 4,828):
    each figure was rounded on its own. The flows now take the persons rounding leaves over."""
    from carecircle.formats import covered_persons, person_flows

    assert person_flows(3180.2569, 4829.0156, 2500.3085, 851.5498) == (2500, 851)  # the demo's 5 minutes
    rng = np.random.default_rng(7)
    for _ in range(5000):
        base = rng.uniform(0, 5000) * rng.integers(0, 2)
        newly, lost = (rng.uniform(0, 3000) * rng.integers(0, 2) for _ in range(2))
        lost = min(lost, base)
        plan = base + newly - lost
        n, lo = person_flows(base, plan, newly, lost)
        assert covered_persons(base) + n - lo == covered_persons(plan), (base, plan, newly, lost)
        assert n >= 0 and lo >= 0 and abs(n - newly) < 2 and abs(lo - lost) < 2
        assert (n == 0 or newly > 0 or lo == 0) and (lo == 0 or lost > 0 or n == 0)  # nobody stays nobody


def test_the_comparison_tables_add_up(written, cmp):
    from carecircle.commands import comparison_lines

    lines = comparison_lines(cmp, lang="en")
    for row in cmp.headline.to_dict("records"):
        m = f"{row['minutes']:g} min"
        line = next(x for x in lines if x.strip().startswith(m))
        numbers = [int(v.replace(",", "")) for v in re.findall(r"\d[\d,]*(?=\s|$)", line.split("pp")[1])]
        base, plan, newly, lost = numbers
        assert base + newly - lost == plan, line
        page = written[0]["report.html"].read_text(encoding="utf-8")
        assert f"<td class=\"n\">{newly:,}</td><td class=\"n\">{lost:,}</td>" in page
