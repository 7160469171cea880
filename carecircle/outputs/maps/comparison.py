"""The comparison map: a baseline-versus-plan comparison (:mod:`carecircle.plan.compare`) on one map, in the
style of the coverage map.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping
from typing import Any

import branca.colormap
import folium
import geopandas as gpd
import numpy as np
import pandas as pd
from shapely.ops import unary_union

from carecircle.core.coverage import threshold_label
from carecircle.errors import InputError
from carecircle.formats import fmt_persons, fmt_share, is_missing, person_flows
from carecircle.io.default_data import localised_note
from carecircle.io.facility_types import type_label
from carecircle.outputs.i18n import COMPARISON_MAP_LABELS, MAP_LABELS, in_language
from carecircle.outputs.maps.common import (
    BOX_CSS,
    NO_DATA_COLOR,
    PANEL_CSS,
    add_facilities,
    add_layer,
    base_map,
    check_isochrones,
    facility_type_colors,
    fmt_minutes,
    left_column,
    map_bounds,
    note_box,
    popup_frame,
    popup_text,
    swatch,
    title_box,
    to_wgs84,
)
from carecircle.outputs.maps.elements import geojson_layer, html_element
from carecircle.outputs.maps.view import MAX_LABELS, fit_on_load, label_script
from carecircle.plan.compare import Comparison

_UP, _DOWN, _FLAT = "#1a9850", "#d73027", "#f7f7f7"
_BASE_ISO, _PLAN_ISO = "#737373", "#2171b5"
_ADDED, _REMOVED, _CHANGED = "#1a9850", "#d73027", "#ff7f00"
#: Shared with the comparison's static map (:mod:`carecircle.outputs.staticmap_compare`): the change scale
#: (down, none, up), the two studies' walking areas (base, plan), and each facility change's colour and symbol.
CHANGE_COLORS = (_DOWN, _FLAT, _UP)
SCENARIO_ISO_COLORS = (_BASE_ISO, _PLAN_ISO)
FACILITY_CHANGES = (("added", _ADDED, "+"), ("removed", _REMOVED, "×"), ("changed", _CHANGED, "~"))


def comparison_map(
    cmp: Comparison,
    *,
    minutes: float | None = None,
    lang: str = "en",
    title: str | None = None,
    note: str | None = None,
    tiles: str | None = "OpenStreetMap",
) -> folium.Map:
    """One self-contained map of a baseline-versus-plan comparison (Leaflet inlined as in :func:`coverage_map`).

    Layers: communities coloured by the change in coverage share at ``minutes`` (green up, red down; popups
    with both shares), the base and plan isochrones at that threshold (grey dashed / blue), newly covered and
    no-longer-covered elderly per threshold (those of ``minutes`` shown, the others listed but hidden), the
    plan's other facilities by type, and added (green +), removed (red ×) and changed (orange ~) facilities.
    A box shows the headline per threshold; a legend explains colours.

    Parameters
    ----------
    cmp : carecircle.plan.compare.Comparison
        Output of :func:`carecircle.plan.compare.compare`.
    minutes : float, optional
        Threshold drawn, one of ``cmp.thresholds_min``. Default: the largest threshold at which coverage
        changes (the largest threshold when nothing changes): with a 15-minute circle already nearly complete,
        the change is often at 5 or 10 minutes.
    lang : {"en", "zh"}
        Language of layer names, legend, popups and boxes.
    title : str, optional
        Title box text; default "Scenario comparison: <base> → <plan>" in ``lang``.
    note : str, optional
        Caveat shown in a small box; default the plan study's ``note``.
    tiles : str or None
        Background tiles as in :func:`coverage_map`.

    Returns
    -------
    folium.Map

    Raises
    ------
    InputError
        Unknown ``lang``, ``minutes`` not a threshold of the comparison, or nothing to map.

    Examples
    --------
    >>> save_map(comparison_map(compare(base, plan), lang="zh"), "compare.html")  # doctest: +SKIP
    """
    labels = {**in_language(MAP_LABELS, lang), **in_language(COMPARISON_MAP_LABELS, lang)}
    top = focus_minutes(cmp) if minutes is None else float(minutes)
    if top not in cmp.thresholds_min:
        raise InputError(f"minutes={minutes!r} is not a threshold of the comparison "
                         f"({', '.join(map(threshold_label, cmp.thresholds_min))}).")
    m_lab = threshold_label(top)
    title = title or labels["title"].format(base=cmp.base_name, plan=cmp.plan_name)
    plan_cov = cmp.plan.coverage
    communities = to_wgs84(plan_cov.communities, "communities")
    facilities = to_wgs84(plan_cov.facilities, "facilities")
    demand = to_wgs84(plan_cov.demand, "demand")
    changes = cmp.facilities
    bounds = map_bounds(communities, facilities, demand, changes if len(changes) else None)

    fmap = base_map([(bounds[0][0] + bounds[1][0]) / 2, (bounds[0][1] + bounds[1][1]) / 2], title, tiles)

    span = change_span(cmp, m_lab)
    cmap = branca.colormap.LinearColormap([_DOWN, _FLAT, _UP], vmin=-span, vmax=span)
    _add_change_communities(fmap, cmp, communities, m_lab, cmap, labels)
    _add_scenario_isochrone(fmap, cmp.base.isochrones, top,
                            labels["base_iso"].format(name=cmp.base_name, m=m_lab), _BASE_ISO, dash="6 4")
    _add_scenario_isochrone(fmap, cmp.plan.isochrones, top,
                            labels["plan_iso"].format(name=cmp.plan_name, m=m_lab), _PLAN_ISO)
    for points, kind, color in ((cmp.newly_covered, "newly", _UP), (cmp.no_longer_covered, "lost", _DOWN)):
        for t in cmp.thresholds_min:
            lab = threshold_label(t)
            _add_change_points(fmap, points, f"{kind}_{lab}", labels[f"{kind}_layer"].format(m=lab), color, cmp,
                               labels, show=lab == m_lab)
    unchanged = facilities[~facilities["facility_id"].astype(str).isin(changes["facility_id"]).to_numpy()]
    type_colors = facility_type_colors(unchanged)
    add_facilities(fmap, unchanged, tuple(float(t) for t in plan_cov.thresholds_min), type_colors, labels)
    for change, color, symbol in (("added", _ADDED, "+"), ("removed", _REMOVED, "×"), ("changed", _CHANGED, "~")):
        _add_changed_facilities(fmap, changes[changes["change"] == change], labels[f"{change}_layer"], color,
                                symbol, labels)
    folium.LayerControl(collapsed=False).add_to(fmap)

    root = fmap.get_root()
    root.html.add_child(html_element(title_box(title)), name="carecircle_title")
    root.html.add_child(html_element(left_column([_compare_headline_box(cmp, labels)])),
                        name="carecircle_headline")
    if note := note or localised_note(cmp.plan.note, lang):  # the demo's note in the map's language
        root.html.add_child(html_element(note_box(note)), name="carecircle_note")
    root.html.add_child(html_element(_compare_legend_box(cmap, span, m_lab, type_colors, cmp, labels)),
                        name="carecircle_legend")
    fit_on_load(fmap, bounds)
    return fmap


def focus_minutes(cmp: Comparison) -> float:
    """The largest threshold at which coverage changes (else the largest threshold)."""
    h = cmp.headline
    moved = (h["covered_change"].abs() > 1e-9) | (h["newly_covered"].fillna(0) > 0) | (
        h["no_longer_covered"].fillna(0) > 0)
    return float(h.loc[moved, "minutes"].max()) if moved.any() else float(max(cmp.thresholds_min))


def change_ticks(span: float) -> list[int]:
    """Ticks of the change scale, in percentage points: its ends (±``span``), 0, and round steps between, clear of
    the ends (±45 → −45, −20, 0, 20, 45)."""
    points = round(100 * span)  # a multiple of 5 (change_span)
    step = next(s for s in (5, 10, 20, 25, 50, 100) if points / s <= 2.5)
    inner = [v for v in range(step, points, step) if points - v >= 0.4 * step]
    return [-points, *(-v for v in reversed(inner)), 0, *inner, points]


def change_span(cmp: Comparison, lab: str) -> float:
    """Half the width of the change scale at threshold ``lab``: the largest change of a community's share,
    rounded up to 5 points (at least 5)."""
    col = f"share_{lab}_change"
    if col not in cmp.communities or not len(cmp.communities):
        return 0.1
    biggest = float(np.nanmax(np.abs(cmp.communities[col].to_numpy(dtype=float)), initial=0.0))
    return max(0.05, math.ceil(biggest * 20) / 20)  # a multiple of 5 points


def _add_change_communities(
    fmap: folium.Map,
    cmp: Comparison,
    communities: gpd.GeoDataFrame,
    lab: str,
    cmap: branca.colormap.LinearColormap,
    labels: Mapping[str, str],
) -> None:
    group = add_layer(fmap, labels["change_layer"].format(m=lab))
    if communities.empty or not len(cmp.communities):
        return
    if labels["_lang"] == "en" and "name_en" in communities:  # English names where the communities give them
        communities = communities.assign(name=communities["name_en"].where(communities["name_en"].notna(),
                                                                            communities.get("name")))
    table = cmp.communities.set_index("community_id")
    ids = communities["community_id"].astype(str)
    rows = communities.assign(
        _share_base=table[f"share_{lab}_base"].reindex(ids).to_numpy(),
        _share_plan=table[f"share_{lab}_plan"].reindex(ids).to_numpy(),
        _covered_change=table[f"covered_{lab}_change"].reindex(ids).to_numpy(),
        _target=[labels.get(t, "") if t else "" for t in table["target_change"].reindex(ids).fillna("")],
    )
    change = pd.to_numeric(table[f"share_{lab}_change"].reindex(ids), errors="coerce").to_numpy()
    fields = [
        ("name", labels["community"], lambda v: popup_text(v, labels)),
        ("_share_base", labels["share_base"].format(name=cmp.base_name), lambda v: fmt_share(v, labels)),
        ("_share_plan", labels["share_plan"].format(name=cmp.plan_name), lambda v: fmt_share(v, labels)),
        ("_covered_change", labels["covered_change"], lambda v: _fmt_signed(v, labels)),
        ("_target", labels["target"], lambda v: html.escape(str(v)) if v else ""),
    ]
    extra = {"_fill": [NO_DATA_COLOR if not np.isfinite(c) else
                       cmap.rgb_hex_str(float(np.clip(c, cmap.vmin, cmap.vmax))) for c in change]}
    labelled = len(rows) <= MAX_LABELS  # names written on the map, as on the coverage map and map.png
    if labelled:
        extra["_label"] = [popup_text(v, labels) if not is_missing(v) else "" for v in rows["name"]]
    slim, keys, aliases = popup_frame(rows, fields, extra)
    layer = geojson_layer(
        slim,
        style_function=lambda f: {"fillColor": f["properties"]["_fill"], "color": "#555555", "weight": 1,
                                  "fillOpacity": 0.55},
        highlight_function=lambda _f: {"weight": 3, "color": "#000000"},
        popup=folium.GeoJsonPopup(fields=keys, aliases=aliases, localize=False, max_width=360),
        tooltip=None if labelled else folium.GeoJsonTooltip(fields=[keys[0]], labels=False),
        control=False,
    ).add_to(group)
    if labelled:
        fmap.get_root().html.add_child(html_element(label_script(layer.get_name(), fmap.get_name())),
                                       name="carecircle_labels")


def _add_scenario_isochrone(fmap: folium.Map, isochrones: gpd.GeoDataFrame | None, minutes: float, name: str,
                            color: str, *, dash: str | None = None) -> None:
    """One study's merged isochrone at ``minutes`` (the union of the per-facility ones when not merged)."""
    iso = check_isochrones(isochrones)
    if iso is None:
        return
    rows = iso[np.isclose(pd.to_numeric(iso["minutes"], errors="coerce"), minutes)]
    merged = rows[rows["facility_id"].isna()]
    geoms = list(merged.geometry) if len(merged) else [unary_union(rows.geometry.to_numpy())]
    if not geoms or all(g is None or g.is_empty for g in geoms):
        return
    group = add_layer(fmap, name)
    style = {"color": color, "weight": 2, "fillColor": color, "fillOpacity": 0.08}
    if dash:
        style["dashArray"] = dash
    geojson_layer(gpd.GeoDataFrame(geometry=geoms, crs=4326), style_function=lambda _f, s=style: s,
                   interactive=False, control=False).add_to(group)


def _add_change_points(fmap: folium.Map, points: gpd.GeoDataFrame, flag: str, name: str, color: str,
                       cmp: Comparison, labels: Mapping[str, str], *, show: bool) -> None:
    """A layer of demand points flagged by ``flag`` (none when there are no such points)."""
    if points.empty or flag not in points:
        return
    rows = points[points[flag].to_numpy(dtype=bool)]
    if rows.empty:
        return
    group = add_layer(fmap, name, show=show)
    pop = pd.to_numeric(rows["population"], errors="coerce").fillna(0.0)
    extra = {"_radius": [float(np.clip(2.5 + math.sqrt(max(p, 0.0)) / 2.0, 3.0, 10.0)) for p in pop]}
    slim, keys, aliases = popup_frame(rows, [
        ("population", labels["population"], lambda v: fmt_persons(v, labels)),
        ("time_min_base", labels["minutes_base"].format(name=cmp.base_name), lambda v: fmt_minutes(v, labels)),
        ("time_min_plan", labels["minutes_plan"].format(name=cmp.plan_name), lambda v: fmt_minutes(v, labels)),
    ], extra)
    geojson_layer(
        slim,
        marker=folium.CircleMarker(radius=4, color=color, weight=1, fill=True, fill_color=color, fill_opacity=0.8),
        style_function=lambda f: {"radius": f["properties"]["_radius"]},
        popup=folium.GeoJsonPopup(fields=keys, aliases=aliases, localize=False),
        control=False,
    ).add_to(group)


def _symbol_html(symbol: str, color: str, size: int = 22) -> str:
    return (f'<div style="box-sizing:border-box;width:{size}px;height:{size}px;border-radius:50%;'
            f"background:{color};border:2px solid #fff;color:#fff;text-align:center;"
            f"font:700 {size - 8}px/{size - 4}px Arial,Helvetica,sans-serif;box-shadow:0 1px 4px rgba(0,0,0,0.5)\">"
            f"{html.escape(symbol)}</div>")


def _add_changed_facilities(fmap: folium.Map, rows: gpd.GeoDataFrame, name: str, color: str, symbol: str,
                            labels: Mapping[str, str]) -> None:
    if rows.empty:
        return
    group = add_layer(fmap, name)
    rows = rows.assign(_type=[type_label(t, labels["_lang"]) if isinstance(t, str) else t for t in rows["type"]])
    slim, keys, aliases = popup_frame(rows, [
        ("facility_id", labels["facility"], lambda v: popup_text(v, labels)),
        ("name", labels["name"], lambda v: popup_text(v, labels)),
        ("_type", labels["type"], lambda v: popup_text(v, labels)),
        ("details", labels["details"], lambda v: popup_text(v, labels) if v else ""),
    ], {"_html": [_symbol_html(symbol, color)] * len(rows), "_mark": [1] * len(rows)})  # names keep clear
    icon = folium.DivIcon(class_name=f"carecircle-{name.split()[0].lower()}-facility", icon_size=(22, 22),
                          icon_anchor=(11, 11))
    geojson_layer(
        slim,
        marker=folium.Marker(icon=icon),
        style_function=lambda f: {"html": f["properties"]["_html"]},
        popup=folium.GeoJsonPopup(fields=keys, aliases=aliases, localize=False, max_width=360),
        tooltip=folium.GeoJsonTooltip(fields=[keys[1]], labels=False),
        control=False,
    ).add_to(group)


def _fmt_signed(value: Any, labels: Mapping[str, str]) -> str:
    if is_missing(value):
        return labels["na"]
    return f"{float(value):+,.0f}"


def _compare_headline_box(cmp: Comparison, labels: Mapping[str, str]) -> str:
    head = (f"<tr><th></th><th style='text-align:right'>{html.escape(cmp.base_name)}</th><th></th>"
            f"<th style='text-align:right'>{html.escape(cmp.plan_name)}</th><th></th></tr>")
    cells = [head]
    for r in cmp.headline.to_dict("records"):
        lab = threshold_label(r["minutes"])
        change = r["share_change"]
        color = _UP if change > 1e-12 else (_DOWN if change < -1e-12 else "#555")
        newly, lost = (0, 0) if is_missing(r["newly_covered"]) else person_flows(
            r["covered_base"], r["covered_plan"], r["newly_covered"], r["no_longer_covered"])
        new = "" if is_missing(r["newly_covered"]) else (
            f"<div style='font-size:11px;color:#555'>+{newly:,} {html.escape(labels['headline_new'])}"
            + (f"{labels['list_sep']}−{lost:,} {html.escape(labels['headline_lost'])}"
               if r["no_longer_covered"] > 0 else "") + "</div>")
        cells.append(
            f"<tr><td>{html.escape(labels['minutes_unit'].format(m=lab))}</td>"
            f"<td style='text-align:right'>{fmt_share(r['share_base'], labels)}</td><td>→</td>"
            f"<td style='text-align:right;font-weight:600'>{fmt_share(r['share_plan'], labels)}</td>"
            f"<td style='text-align:right;color:{color}'>{100 * change:+.1f}</td></tr>"
            f"<tr><td></td><td colspan='4'>{new}</td></tr>")
    return (f'<div class="carecircle-headline carecircle-compare-headline" style="{PANEL_CSS}">'
            "<style>.carecircle-headline td,.carecircle-headline th{padding:1px 0 1px 8px}"
            ".carecircle-headline td:first-child{padding-left:0}</style>"
            f'<table style="border-collapse:collapse">{"".join(cells)}</table></div>')


def _compare_legend_box(cmap: branca.colormap.LinearColormap, span: float, lab: str, type_colors: Mapping[str, str],
                        cmp: Comparison, labels: Mapping[str, str]) -> str:
    stops = ", ".join(f"{cmap.rgb_hex_str(x)} {100 * (x + span) / (2 * span):.0f}%"
                      for x in np.linspace(-span, span, 11))
    # Each tick at its place on the 200 px scale (the steps between round ticks need not be equal).
    ticks = "".join(f'<span style="position:absolute;left:{100 * (t + 100 * span) / (200 * span):.1f}%;'
                    f'transform:translateX(-50%)">{f"{t:+d}" if t else "0"}</span>' for t in change_ticks(span))
    parts = [
        f'<div style="font-weight:600">{html.escape(labels["legend_change"].format(m=lab))}</div>',
        f'<div style="width:200px;height:12px;border:1px solid #888;background:linear-gradient(to right, {stops})">'
        "</div>",
        f'<div style="position:relative;width:202px;height:14px;font-size:11px">{ticks}</div>',
        f'<div style="margin-top:6px">{swatch(_BASE_ISO + "22", border=f"2px dashed {_BASE_ISO}")}'
        f'{html.escape(labels["base_iso"].format(name=cmp.base_name, m=lab))}</div>',
        f'<div>{swatch(_PLAN_ISO + "22", border=f"2px solid {_PLAN_ISO}")}'
        f'{html.escape(labels["plan_iso"].format(name=cmp.plan_name, m=lab))}</div>',
        f'<div style="margin-top:6px">{swatch(_UP, circle=True, border=f"1px solid {_UP}")}'
        f'{html.escape(labels["newly_layer"].format(m=lab))}</div>',
        f'<div>{swatch(_DOWN, circle=True, border=f"1px solid {_DOWN}")}'
        f'{html.escape(labels["lost_layer"].format(m=lab))}</div>',
    ]
    if type_colors:
        parts.append(f'<div style="font-weight:600;margin-top:6px">{html.escape(labels["legend_types"])}</div>')
        parts.extend(f"<div>{swatch(c, circle=True, border='2px solid #fff')}"
                     f"{html.escape(type_label(t, labels['_lang']))}</div>"
                     for t, c in type_colors.items())
    for change, color, symbol in (("added", _ADDED, "+"), ("removed", _REMOVED, "×"), ("changed", _CHANGED, "~")):
        if (cmp.facilities["change"] == change).any():
            text = html.escape(labels[f"{change}_layer"])
            parts.append('<div style="margin-top:4px;display:flex;align-items:center;gap:6px">'
                         f"{_symbol_html(symbol, color, 16)}<span>{text}</span></div>")
    return (f'<div class="carecircle-legend" style="{BOX_CSS}bottom:30px;right:10px;max-width:280px;">'
            f'{"".join(parts)}</div>')
