"""Tests for carecircle.outputs.staticmap (map.png) beyond those in test_report.py: the CJK font found after a
stale matplotlib font cache, the figure fitted to the area, and what the map shows (walking-time bands, the
elderly beyond reach, community names, the study's note, the title, the suggestion's closed gap).

The study is the bundled demo (real OSM streets of central Helsinki, illustrative population), run once.
"""

from __future__ import annotations

import dataclasses
import logging
import subprocess
import types
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest
from browser import require_cjk_font
from matplotlib import font_manager

from carecircle.io.default_data import DEFAULT_NOTE, DEFAULT_NOTE_ZH
from carecircle.outputs import mapdraw, staticmap
from carecircle.pipeline import run_study
from carecircle.plan.siting import suggest_sites

LOGGER = "carecircle.outputs.staticmap"
NO_FONT = "no font with Chinese characters"


@pytest.fixture(scope="module")
def study():
    return run_study()


@pytest.fixture(scope="module")
def suggestion(study):
    cov = study.coverage
    return suggest_sites(study.network, cov.facilities, cov.demand, cov.communities, new_sites=3, minutes=15.0,
                         time_limit_s=20.0)


@pytest.fixture
def stale_cache(monkeypatch):
    """matplotlib's font list as a cache built before any CJK font was installed; the rescan not yet done."""
    cjk = {f.fname for f in font_manager.fontManager.ttflist if f.name in staticmap.CJK_FONTS} | set(
        staticmap._system_cjk_files())
    monkeypatch.setattr(font_manager.fontManager, "ttflist",
                        [f for f in font_manager.fontManager.ttflist if f.fname not in cjk])
    monkeypatch.setattr(staticmap, "_rescanned", False)
    monkeypatch.setattr(staticmap, "_added_cjk", [])
    monkeypatch.setattr(staticmap, "_warned_no_cjk", False)
    _clear_font_lookups()
    yield
    monkeypatch.undo()  # matplotlib's list restored before its lookups are forgotten, so none of ours lingers
    _clear_font_lookups()


def _clear_font_lookups():
    cached = getattr(font_manager.fontManager, "_findfont_cached", None)
    if cached is not None and hasattr(cached, "cache_clear"):
        cached.cache_clear()


def _texts(fig, gid):
    return [t for ax in [fig, *fig.axes] for t in ax.texts if t.get_gid() == gid]


def _collection(fig, gid):
    found = [c for c in fig.axes[0].collections if c.get_gid() == gid]
    return found[0] if found else None


def _legend(fig):
    return [t.get_text().replace("\n", " ") for t in fig.legends[0].get_texts()]


# --- fonts --------------------------------------------------------------------------------------------------


def test_a_font_installed_after_the_cache_was_built_is_found(stale_cache, monkeypatch):
    """No machine fonts needed: a font file the system lists (here one of matplotlib's own) is added."""
    path = str(Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSerif.ttf")
    monkeypatch.setattr(font_manager.fontManager, "ttflist",
                        [f for f in font_manager.fontManager.ttflist if f.fname != path])
    calls = []
    monkeypatch.setattr(staticmap, "_system_cjk_files", lambda: calls.append(1) or [path])
    assert staticmap.cjk_font() == "DejaVu Serif"
    assert staticmap._find_cjk_font() == ("DejaVu Serif", path)
    assert path in {f.fname for f in font_manager.fontManager.ttflist}
    assert len(calls) == 1  # the system is asked once per process


def test_no_font_anywhere_warns_once_and_the_system_is_asked_once(stale_cache, monkeypatch, caplog, study):
    calls = []
    monkeypatch.setattr(staticmap, "_system_cjk_files", lambda: calls.append(1) or [])
    caplog.set_level(logging.WARNING, logger=LOGGER)
    assert staticmap.cjk_font() is None and staticmap.cjk_font() is None
    for _ in range(2):
        fig = staticmap.static_map_figure(study, lang="zh")
        assert _texts(fig, "title")[0].get_text().startswith("15-minute elder-care circle")
    assert len(calls) == 1
    assert len([r for r in caplog.records if NO_FONT in r.getMessage()]) == 1


def test_unreadable_font_files_are_skipped(stale_cache, monkeypatch, tmp_path):
    bad = tmp_path / "wqy-broken.ttc"
    bad.write_bytes(b"not a font")
    monkeypatch.setattr(staticmap, "_system_cjk_files", lambda: [str(bad), str(tmp_path / "missing.ttf")])
    assert staticmap.cjk_font() is None


def test_system_font_files_from_fc_list_and_the_font_folders(monkeypatch, tmp_path):
    folder = tmp_path / "fonts" / "truetype"
    folder.mkdir(parents=True)
    for name in ("wqy-microhei.ttc", "NotoSansCJK-Regular.ttc", "DejaVuSans.ttf", "readme.txt"):
        (folder / name).write_bytes(b"")
    listed = "/usr/share/fonts/a b/wqy-zenhei.ttc: \n/usr/share/fonts/noto/NotoSansCJK-Bold.ttc:\n\n"
    monkeypatch.setattr(staticmap.shutil, "which", lambda name: "/usr/bin/fc-list" if name == "fc-list" else None)

    def run(args, **kwargs):
        assert args[1:] == [":lang=zh", "file"]
        return types.SimpleNamespace(stdout=listed, returncode=0)

    monkeypatch.setattr(staticmap.subprocess, "run", run)
    monkeypatch.setattr(staticmap, "FONT_DIRS", (str(tmp_path / "fonts"), str(tmp_path / "absent")))
    assert staticmap._system_cjk_files() == [
        "/usr/share/fonts/a b/wqy-zenhei.ttc", "/usr/share/fonts/noto/NotoSansCJK-Bold.ttc",
        str(folder / "NotoSansCJK-Regular.ttc"), str(folder / "wqy-microhei.ttc")]

    def broken(args, **kwargs):
        raise subprocess.TimeoutExpired(args, 20)

    monkeypatch.setattr(staticmap.subprocess, "run", broken)
    assert staticmap._system_cjk_files() == [str(folder / "NotoSansCJK-Regular.ttc"), str(folder / "wqy-microhei.ttc")]


def test_on_this_machine_the_installed_cjk_font_is_found_without_a_warning(stale_cache, caplog, study):
    """fonts-wqy-zenhei (or another CJK font) is installed here; hidden from matplotlib's list, it is found."""
    require_cjk_font(next(iter(staticmap._system_cjk_files()), None))
    caplog.set_level(logging.WARNING, logger=LOGGER)
    fig = staticmap.static_map_figure(study, lang="zh")
    title = _texts(fig, "title")[0]
    assert title.get_text().startswith("15分钟养老服务圈")
    assert [r for r in caplog.records if NO_FONT in r.getMessage()] == []
    assert "日间照料中心" in _legend(fig)


# --- layout -------------------------------------------------------------------------------------------------


def _boxes(fig):
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    return fig.bbox, fig.axes[0].get_window_extent(renderer), fig.legends[0].get_window_extent(renderer), \
        fig.axes[1].get_tightbbox(renderer)


def _strip(study):
    """The demo cut to its two southern communities: an area wider than tall."""
    cov = study.coverage
    y = cov.communities.to_crs(study.network.crs).geometry.centroid.y.to_numpy()
    south = cov.communities.iloc[np.argsort(y)[:2]]
    box = south.union_all().bounds
    fac = cov.facilities.cx[box[0]:box[2], box[1]:box[3]]
    return dataclasses.replace(study, isochrones=None, coverage=dataclasses.replace(
        cov, communities=south, facilities=fac, demand=cov.demand[cov.demand["community_id"].isin(
            south["community_id"]).to_numpy()]))


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_figure_takes_the_shape_of_a_tall_area_with_the_legend_beside(study, lang):
    if lang == "zh":
        require_cjk_font(staticmap.cjk_font())
    fig = staticmap.static_map_figure(study, lang=lang)
    w, h = fig.get_size_inches()
    assert w <= 10.0 + 1e-9 and h <= 9.5 and h > w  # the demo area is taller than wide
    page, map_box, legend, bar = _boxes(fig)
    assert legend.x0 >= map_box.x1 and bar.x0 >= map_box.x1  # beside
    used = max(legend.x1, bar.x1) - map_box.x0
    assert used >= 0.85 * page.width  # no wide empty band (was ~60% in a 10 × 8 in figure)
    assert map_box.height >= 0.7 * page.height
    for gid in ("note", "attribution", "title"):
        box = _texts(fig, gid)[0].get_window_extent(fig.canvas.get_renderer())
        assert box.x0 >= page.x0 - 0.5 and box.x1 <= page.x1 + 0.5, gid  # the note wraps inside the image
        assert not box.overlaps(map_box) and not box.overlaps(legend), gid


def test_the_figure_takes_the_shape_of_a_wide_area_with_the_legend_below(study):
    fig = staticmap.static_map_figure(_strip(study))
    w, h = fig.get_size_inches()
    assert w > h
    page, map_box, legend, bar = _boxes(fig)
    assert legend.y1 <= map_box.y0 and bar.y1 <= map_box.y0  # below
    assert map_box.width >= 0.85 * page.width


def test_fitted_png_size_follows_the_dpi(study, tmp_path):
    from PIL import Image

    fig = staticmap.static_map_figure(study)
    w, h = fig.get_size_inches()
    path = staticmap.static_map_png(study, tmp_path / "map.png", dpi=100)
    with Image.open(path) as img:
        assert np.allclose(img.size, (w * 100, h * 100), atol=1.0)  # whole pixels (Agg truncates or rounds)


# --- content ------------------------------------------------------------------------------------------------


def test_title_is_the_study_name_title_cased_or_the_given_title(study):
    assert _texts(staticmap.static_map_figure(study), "title")[0].get_text() == \
        "15-minute elder-care circle — Helsinki"
    assert _texts(staticmap.static_map_figure(study, title="Plan A"), "title")[0].get_text() == "Plan A"
    assert staticmap._display_name("shenyang_heping") == "Shenyang Heping"
    assert staticmap._display_name("Shenyang Heping (2025)") == "Shenyang Heping (2025)"
    assert staticmap._display_name("和平区") == "和平区"


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_demo_note_is_at_the_bottom_in_the_maps_language(study, lang):
    if lang == "zh":
        require_cjk_font(staticmap.cjk_font())
    fig = staticmap.static_map_figure(study, lang=lang)
    (note,) = _texts(fig, "note")
    expected = DEFAULT_NOTE_ZH if lang == "zh" else DEFAULT_NOTE
    assert "".join(note.get_text().split()) == "".join(expected.split())  # wrapped, nothing lost
    map_box = fig.axes[0].get_window_extent(fig.canvas.get_renderer())
    assert note.get_window_extent(fig.canvas.get_renderer()).y1 <= map_box.y0
    without = staticmap.static_map_figure(dataclasses.replace(study, note=None))
    assert _texts(without, "note") == []


def test_the_note_wraps_between_chinese_characters_and_at_spaces_only():
    text = "默认示例：赫尔辛基 OpenStreetMap 道路与建筑"
    lines = mapdraw.wrap_units(text, 12).split("\n")
    assert "".join(lines).replace(" ", "") == text.replace(" ", "")
    assert "OpenStreetMap" in lines
    assert all(sum(2 if mapdraw.has_cjk(c) else 1 for c in line) <= 13 for line in lines)


def test_walking_time_bands_of_every_threshold_nearest_darkest(study):
    fig = staticmap.static_map_figure(study)
    bands = [_collection(fig, f"band-{m}") for m in ("5", "10", "15")]
    assert all(b is not None for b in bands)
    assert _collection(fig, "isochrone") is not None  # the largest outlined
    legend = dict(zip(_legend(fig), fig.legends[0].legend_handles, strict=True))
    alphas = [legend[label].get_facecolor()[3] for label in
              ("Within 5 min walk", "5–10 min walk", "10–15 min walk (outline)")]
    assert alphas[0] > alphas[1] > alphas[2] > 0
    community_z = _collection(fig, "communities").get_zorder()
    assert all(b.get_zorder() > community_z for b in bands)


def test_the_elderly_beyond_reach_are_red_dots_sized_by_their_number(study):
    fig = staticmap.static_map_figure(study)
    dots = _collection(fig, "uncovered")
    demand = study.coverage.demand
    beyond = demand[~demand["covered_15"].astype(bool).to_numpy() & (demand["population"] > 0).to_numpy()]
    assert len(beyond) > 0 and len(dots.get_offsets()) == len(beyond)
    sizes = dots.get_sizes()
    order = np.argsort(beyond["population"].to_numpy())
    assert np.all(np.diff(sizes[order]) >= 0) and sizes.min() >= 10
    assert "Elderly beyond 15 min walk (dot: persons)" in _legend(fig)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_communities_are_named_in_the_maps_language(study, lang):
    if lang == "zh":
        require_cjk_font(staticmap.cjk_font())
    fig = staticmap.static_map_figure(study, lang=lang)
    names = {t.get_text() for t in _texts(fig, "community-label")}
    com = study.coverage.communities
    expected = set(com["name"] if lang == "zh" else com["name_en"].fillna(com["name"]))
    assert names == expected  # each fits inside its community on the demo's map


def test_community_names_fall_back_to_name_then_id():
    com = pd.DataFrame({"community_id": ["C1", "C2", "C3"], "name": ["甲社区", None, "Bay"],
                        "name_en": ["Jia", None, None]})
    assert staticmap.community_names(com, "en", True) == ["Jia", "C2", "Bay"]
    assert staticmap.community_names(com, "zh", True) == ["甲社区", "C2", "Bay"]
    assert staticmap.community_names(com.drop(columns="name_en"), "en", False) == ["C1", "C2", "Bay"]


def test_the_suggestion_map_shows_the_closed_gap(study, suggestion):
    fig = staticmap.static_map_figure(study, suggestion=suggestion)
    numbers = {t.get_text() for t in fig.axes[0].texts}
    assert {f"{r:g}" for r in suggestion.sites["rank"]} <= numbers
    before, after = suggestion.before.demand, suggestion.after.demand
    newly = (~before["covered_15"].astype(bool) & after["covered_15"].astype(bool) & (after["population"] > 0))
    still = ~after["covered_15"].astype(bool) & (after["population"] > 0)
    assert newly.sum() > 0
    assert len(_collection(fig, "newly-covered").get_offsets()) == newly.sum()
    dots = _collection(fig, "uncovered")
    assert (0 if dots is None else len(dots.get_offsets())) == still.sum()
    assert _collection(fig, "site-isochrone") is not None
    legend = _legend(fig)
    assert "Elderly newly within 15 min (new sites)" in legend and "15-minute walk from the new sites" in legend
    (subtitle,) = _texts(fig, "subtitle")
    assert subtitle.get_text().startswith(f"With {len(suggestion.sites)} suggested new sites: ")
    assert "100.0%" not in subtitle.get_text() or suggestion.after.summary["share"]["15"] == 1


def test_percentages_never_round_to_100_or_0_when_they_are_not():
    assert staticmap.percents(0.9915, 0.99997) == ["99.2%", "99.997%"]
    assert staticmap.percents(0.5, 1.0) == ["50.0%", "100.0%"]
    assert staticmap.percents(0.0004) == ["0.04%"]


def test_the_demo_map_draws_quickly(study, suggestion):
    import time

    staticmap.static_map_bytes(study)  # warm: fonts loaded
    for kwargs in ({}, {"suggestion": suggestion}):
        t0 = time.perf_counter()
        staticmap.static_map_bytes(study, **kwargs)
        assert time.perf_counter() - t0 < 3.0  # 0.2–0.3 s measured


# --- the interactive map's scale, minutes or metres (issue 15) ----------------------------------------------------


def _all_texts(fig) -> list[str]:
    fig.canvas.draw()
    texts = [t.get_text() for ax in [fig, *fig.axes] for t in ax.texts] + _legend(fig)
    for ax in fig.axes:
        texts += [ax.get_title(loc="left")] + [t.get_text() for t in ax.get_xticklabels(minor=True)]
    return [t for t in texts if t]


def test_communities_are_coloured_on_the_interactive_maps_scale_with_the_target_marked(study):
    """The PNG and the interactive map colour a community alike: diverging at the target, so 86% under a 90%
    target is orange-yellow and 100% dark green; the colour bar marks the target."""
    from matplotlib.colors import to_rgba

    from carecircle.outputs.maps.common import share_color

    cov = study.coverage
    shares = [0.3, 0.6, 0.86, 0.9, 0.95, 1.0, np.nan][: len(cov.communities)]
    com = cov.communities.assign(share_15=shares)
    fig = staticmap.static_map_figure(dataclasses.replace(study, coverage=dataclasses.replace(cov, communities=com)))
    fills = _collection(fig, "communities").get_facecolor()
    expected = [to_rgba("#bdbdbd") if np.isnan(s) else to_rgba(share_color(s, cov.target_share)) for s in shares]
    assert np.allclose(fills[:, :3], np.array(expected)[:, :3], atol=1e-3)
    assert np.abs(fills[2, :3] - fills[5, :3]).max() > 0.3  # 86% and 100% far apart
    bar = fig.axes[1]
    assert [t.get_text().strip() for t in bar.get_xticklabels(minor=True)] == ["▲ 90%"]
    assert "At or above the target (90%+)" in _legend(fig)
    (mesh,) = [c for c in bar.collections if c.get_cmap().name == "share"]
    colours = mesh.get_cmap()(np.array([0.85, 0.95]))  # the bar breaks at the target, as the map's legend
    assert np.allclose(colours[:, :3], [to_rgba(share_color(v, 0.9))[:3] for v in (0.85, 0.95)], atol=0.02)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_with_distances_the_png_says_metres_never_minutes(study, suggestion, lang):
    if lang == "zh":
        require_cjk_font(staticmap.cjk_font())
    metres = dataclasses.replace(study, distances_m=(300.0, 500.0, 1000.0))
    for kwargs in ({}, {"suggestion": suggestion}):
        texts = _all_texts(staticmap.static_map_figure(metres, lang=lang, **kwargs))
        joined = " ".join(t.replace("\n", " ") for t in texts)
        if lang == "en":
            assert " min " not in f"{joined} " and "minute" not in joined.replace("15-minute elder-care", "")
            assert "Elderly within 1000 m walk" in texts and "1000 m" in joined
            if not kwargs:
                assert {"Within 300 m walk", "300–500 m walk", "500–1000 m walk (outline)"} <= set(_legend(
                    staticmap.static_map_figure(metres)))
        else:
            assert "分钟" not in joined.replace("15分钟养老服务圈", "")
            assert "1000米内步行可达老年人比例" in texts and "1000米" in joined
            if not kwargs:
                assert {"步行300米内", "步行300–500米内", "步行500–1000米内（外框）"} <= {
                    t.replace(" ", "") for t in _legend(staticmap.static_map_figure(metres, lang="zh"))}


@pytest.fixture
def drawn(monkeypatch):
    """The figures behind each map.png the CLI writes."""
    figures = []
    draw = staticmap.static_map_figure
    monkeypatch.setattr(staticmap, "static_map_figure", lambda *a, **kw: figures.append(draw(*a, **kw)) or figures[-1])
    return figures


def test_the_suggestions_png_has_the_existing_bands_and_the_given_title(drawn, tmp_path):
    """Issue 15: `carecircle suggest --title` titles map.png, which shows the existing facilities' walking bands
    under the new sites' range, as the coverage map does; so does the interactive map."""
    from carecircle.cli import main

    out = tmp_path / "suggest"
    assert main(["suggest", "--new-sites", "2", "--title", "Plan A: two new stations", "--output", str(out),
                 "--no-cache", "--quiet"]) == 0
    (fig,) = drawn
    assert _texts(fig, "title")[0].get_text() == "Plan A: two new stations"
    assert all(_collection(fig, f"band-{m}") is not None for m in ("5", "10", "15"))
    assert _collection(fig, "site-isochrone") is not None
    assert {"Within 5 min walk", "5–10 min walk", "10–15 min walk (outline)"} <= set(_legend(fig))
    page = (out / "map.html").read_text(encoding="utf-8")
    assert "5-minute walk" in page and "10-minute walk" in page
    assert (out / "map.png").read_bytes().startswith(b"\x89PNG")


def test_the_runs_png_takes_the_given_title(drawn, tmp_path):
    from carecircle.cli import main

    assert main(["run", "--title", "Heping district 2025", "--output", str(tmp_path / "run"), "--no-cache",
                 "--no-isochrones", "--quiet"]) == 0
    assert [_texts(fig, "title")[0].get_text() for fig in drawn] == ["Heping district 2025"]


def test_no_marker_covers_a_community_name(study, suggestion):
    """Issue 15 screenshots: a facility's dot sat on "Community 1" and an added site's on 示例社区七; names now move
    aside (or are left out), never under a marker."""
    for kwargs in ({}, {"suggestion": suggestion}):
        fig = staticmap.static_map_figure(study, **kwargs)
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
        ax = fig.axes[0]
        markers = [c for c in ax.collections if c.get_gid() is None and len(c.get_sizes())]  # facilities, sites
        shown = ax.transData.transform(np.vstack([c.get_offsets() for c in markers]))
        radius = np.concatenate([np.broadcast_to(np.sqrt(c.get_sizes()) / 2 * fig.dpi / 72, len(c.get_offsets()))
                                 for c in markers])  # pixels
        labels = _texts(fig, "community-label")
        assert len(labels) >= 5
        for text in labels:
            box = text.get_window_extent(renderer)
            near_x = np.clip(shown[:, 0], box.x0, box.x1) - shown[:, 0]
            near_y = np.clip(shown[:, 1], box.y0, box.y1) - shown[:, 1]
            assert (np.hypot(near_x, near_y) > radius).all(), (text.get_text(), kwargs.keys())
