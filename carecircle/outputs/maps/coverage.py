"""The coverage map of a study: communities coloured by coverage share, merged isochrones per threshold,
per-facility isochrones (hidden by default), uncovered elderly and the care facilities by type, with a layer
control, a legend, a title, a note and headline figures; optionally suggested new sites (numbered by rank), their
isochrones and the coverage curve.
"""

from __future__ import annotations

import html
import logging
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import branca.colormap
import folium
import geopandas as gpd
import numpy as np
import pandas as pd

from carecircle.core.access import AccessibilityResult
from carecircle.core.coverage import CoverageResult, threshold_label
from carecircle.errors import InputError
from carecircle.formats import fmt_bool, fmt_covered, fmt_num, fmt_persons, fmt_share, is_missing
from carecircle.io.facility_types import type_label
from carecircle.outputs.i18n import ACCESS_TERMS, DEFAULT_MAP_TITLE, MAP_LABELS, access_term, in_language, in_metres
from carecircle.outputs.maps.bands import add_isochrone_bands
from carecircle.outputs.maps.common import (
    BELOW_TARGET_COLOR,
    BOX_CSS,
    NO_DATA_COLOR,
    PANEL_CSS,
    add_facilities,
    add_layer,
    base_map,
    check_isochrones,
    column_or_missing,
    curve_svg,
    facility_type_colors,
    fmt_minutes,
    fmt_number,
    left_column,
    map_bounds,
    note_box,
    popup_frame,
    popup_text,
    share_color,
    share_gradient,
    swatch,
    title_box,
    to_wgs84,
)
from carecircle.outputs.maps.elements import geojson_layer, html_element
from carecircle.outputs.maps.view import MAX_LABELS, fit_on_load, label_script
from carecircle.outputs.maps.walking import add_walking_layer, walking_legend

logger = logging.getLogger(__name__)

_UNCOVERED_COLOR = "#7b3294"
_NEWLY_COVERED_COLOR = "#1a9850"
# Suggested sites: a near-black numbered square with an amber ring, a colour no facility type uses.
_SUGGESTED_FILL = "#1a1a1a"
_SUGGESTED_RING = "#ffb000"
_SUGGESTED_TYPE = "suggested"
# Accessibility: a sequential yellow-green-blue scale (none of the share scale's reds), in a pane under the other
# overlays so isochrones and facility markers stay on top of it when it is switched on.
_ACCESS_COLORS = ("#ffffcc", "#c7e9b4", "#7fcdbb", "#41b6c4", "#2c7fb8", "#253494")
_ACCESS_PANE = "carecircleAccess"
_ACCESS_POINTS_PANE = "carecircleAccessPoints"


def coverage_map(
    result: CoverageResult,
    isochrones: gpd.GeoDataFrame | None = None,
    *,
    title: str = DEFAULT_MAP_TITLE,
    note: str | None = None,
    lang: str = "en",
    tiles: str | None = "OpenStreetMap",
    suggested: gpd.GeoDataFrame | None = None,
    suggested_isochrones: gpd.GeoDataFrame | None = None,
    curve: pd.DataFrame | None = None,
    accessibility: AccessibilityResult | None = None,
    walking_model: Mapping[str, Any] | None = None,
    walking_features: gpd.GeoDataFrame | None = None,
    distances_m: Sequence[float] | None = None,
    before: CoverageResult | None = None,
) -> folium.Map:
    """Interactive map of a coverage result, self-contained and usable offline.

    Layers (each listed in an always-open layer control): communities coloured by the elderly share
    covered at the largest threshold; merged isochrones, one layer per threshold; per-facility isochrones
    (hidden by default); uncovered demand points; facilities coloured by type; optionally the isochrones
    of suggested new sites and the suggested sites themselves. Boxes show the title, the headline figures,
    ``note`` and optionally a coverage curve; a legend explains colours.

    Parameters
    ----------
    result : CoverageResult
        Output of the coverage step; all frames in EPSG:4326.
    isochrones : geopandas.GeoDataFrame, optional
        Polygons with columns ``minutes`` (float) and ``facility_id`` (missing for the merged polygon of
        all facilities). Only drawn, never used for numbers. Without merged rows, the per-facility rows
        are merged per threshold for display.
    title : str
        Title box text. The default is shown translated when ``lang="zh"``.
    note : str, optional
        Caveat shown in a small box, e.g. ``"Population and facilities are illustrative"``.
    lang : {"en", "zh"}
        Language of layer names, legend, popups and boxes.
    tiles : str or None
        Background tiles passed to :class:`folium.Map`; ``None`` for no background. Tiles are the only
        thing fetched from the network and simply stay blank offline.
    suggested : geopandas.GeoDataFrame, optional
        Suggested new sites (e.g. ``Suggestion.sites``): points with ``candidate_id`` or ``facility_id``,
        and optionally ``name``, ``rank``, ``gain`` (elderly newly covered), ``share_after`` (coverage share
        with this and the earlier sites) and ``minutes_saved``. Drawn as squares numbered by rank in their
        own layer. When given, facilities of type ``"suggested"`` (the same sites, added to the coverage
        after) are drawn only there, not again as care facilities.
    suggested_isochrones : geopandas.GeoDataFrame, optional
        Polygons of the new sites with ``minutes`` (and ``facility_id``); one dashed layer per threshold.
    curve : pandas.DataFrame, optional
        Coverage after 0, 1, 2, ... new sites (``Suggestion.curve``): columns ``sites`` and ``share``
        (0..1). Shown as a small line chart in plain SVG, with the target share as a dashed line.
    accessibility : AccessibilityResult, optional
        ``StudyResult.accessibility``: names the supply and the level in the accessibility layer, its legend and
        the headline. The layer itself is drawn whenever the communities carry ``access_per_1000`` (coverage
        tables joined with :func:`carecircle.core.access.with_accessibility`): a choropleth of reachable supply
        per 1,000 elderly, off at first; switching it on switches the coverage communities off (and back), and
        shows its part of the legend. Facility popups gain the catchment and supply ratio.
    walking_model : dict, optional
        The walking model's description (``WalkModel.describe()``), named with its parameters in the legend.
    walking_features : geopandas.GeoDataFrame, optional
        Stairs and penalised crossings (:func:`carecircle.pipeline.walking_features`), drawn on a layer "Stairs
        and crossings", hidden at first.
    distances_m : sequence of float, optional
        The thresholds as the distances they were given in (metres, one per ``result.thresholds_min``): every
        label then says "within 300 m" instead of minutes.
    before : CoverageResult, optional
        The coverage before the suggested sites (``Suggestion.before``): the uncovered-elderly layer then shows who
        was beyond the largest threshold before, those the new sites now reach as green rings (the gap closed).

    Returns
    -------
    folium.Map
        Renders itself in Jupyter; write it with :func:`save_map`, embed it with :func:`map_fragment`.

    Raises
    ------
    InputError
        Unknown ``lang``, isochrones without a ``minutes`` column or CRS, suggested sites without a CRS,
        a curve without ``sites`` and ``share`` columns, or nothing to map.

    Examples
    --------
    >>> m = coverage_map(result, isochrones, note="Population is illustrative", lang="zh")
    >>> save_map(m, "maps/coverage.html")  # doctest: +SKIP
    >>> s = suggest_sites(network, facilities, demand, communities)  # doctest: +SKIP
    >>> m = coverage_map(s.after, suggested=s.sites, curve=s.curve)  # doctest: +SKIP
    """
    labels = in_language(MAP_LABELS, lang)
    if distances_m:
        labels = in_metres(labels, {threshold_label(t): f"{d:g}" for t, d in zip(result.thresholds_min, distances_m,
                                                                                  strict=True)})
    if title == DEFAULT_MAP_TITLE:
        title = labels["title"]
    isochrones = check_isochrones(isochrones)
    suggested_isochrones = check_isochrones(suggested_isochrones, "suggested_isochrones")
    communities = to_wgs84(result.communities, "communities")
    facilities = to_wgs84(result.facilities, "facilities")
    demand = to_wgs84(result.demand, "demand")
    if suggested is not None:
        suggested = _suggested_points(suggested)
    curve_box = curve_svg(curve, result.target_share, lang=lang)
    thresholds = tuple(float(m) for m in result.thresholds_min)
    if not thresholds:
        raise InputError("coverage result has no thresholds; run coverage with at least one threshold.")
    top = max(thresholds)

    drawn_facilities = facilities
    if suggested is not None and len(facilities):
        # The chosen sites come again as facilities of type "suggested" in the coverage after: one marker each.
        drawn_facilities = facilities[column_or_missing(facilities, "type").astype(str) != _SUGGESTED_TYPE]

    m = base_map(_center(communities, facilities, demand), title, tiles)

    type_colors = facility_type_colors(drawn_facilities)

    coverage_group = _add_communities(m, communities, thresholds, result.target_share, labels)
    access = (_access_layer(m, communities, demand, accessibility, labels) if "access_per_1000" in communities
              else None)
    iso_colors = add_isochrone_bands(m, isochrones, facilities, labels)
    new_iso_layers = _add_suggested_isochrones(m, suggested_isochrones, labels)
    n_uncovered = _add_uncovered(m, demand, facilities, top, labels,
                                 before=to_wgs84(before.demand, "before") if before is not None else None)
    if access is None:
        add_facilities(m, drawn_facilities, thresholds, type_colors, labels)
    else:
        add_facilities(m, drawn_facilities, thresholds, type_colors, labels, supply=access["supply"])
    if suggested is not None:
        _add_suggested(m, suggested, labels)
    walking = walking_legend(walking_model, labels, layer=add_walking_layer(m, walking_features, labels))
    folium.LayerControl(collapsed=False).add_to(m)

    root = m.get_root()
    root.html.add_child(html_element(title_box(title)), name="carecircle_title")
    left = [_headline_box(result, demand, thresholds, labels, accessibility)]
    if curve_box:
        left.append(curve_box)
    # Headline and curve stack in one column, so the curve never overlaps however tall the headline is.
    root.html.add_child(html_element(left_column(left)), name="carecircle_headline")
    if note:
        root.html.add_child(html_element(note_box(note)), name="carecircle_note")
    root.html.add_child(
        html_element(_legend_box(top, result.target_share, iso_colors, type_colors, labels,
                                   suggested=suggested is not None, new_iso_layers=new_iso_layers,
                                   newly_covered=before is not None,
                                   access_legend=(access["legend"] if access else "") + walking)),
        name="carecircle_legend",
    )
    if access is not None:
        root.html.add_child(html_element(_access_switch_script(m, access["groups"], coverage_group)),
                            name="carecircle_access_switch")
    fit_on_load(m, map_bounds(communities, facilities, demand, suggested))
    logger.info(
        "coverage map: %d communities, %d facilities, %d uncovered demand points, %d isochrone layers, "
        "%s suggested sites, curve %s (%s)",
        len(communities), len(drawn_facilities), n_uncovered, len(iso_colors),
        "no" if suggested is None else len(suggested), "yes" if curve_box else "no", lang,
    )
    return m


# --- set-up -----------------------------------------------------------------------------------------------------------


def _suggested_points(suggested: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Suggested sites in EPSG:4326 as points, ordered by rank, with ``_id`` and ``_rank`` added (a copy)."""
    if len(suggested) == 0:
        return suggested.assign(_id=pd.Series(dtype=object), _rank=pd.Series(dtype=float))
    sites = to_wgs84(suggested, "suggested")
    if not (sites.geometry.geom_type == "Point").all():
        sites = sites.copy()
        sites[sites.geometry.name] = sites.geometry.representative_point()
    id_col = next((c for c in ("candidate_id", "facility_id") if c in sites.columns), None)
    ids = sites[id_col] if id_col else pd.Series([None] * len(sites), index=sites.index, dtype=object)
    if "rank" in sites.columns:
        rank = pd.to_numeric(sites["rank"], errors="coerce")
    else:
        rank = pd.Series(np.arange(1, len(sites) + 1, dtype=float), index=sites.index)
    return sites.assign(_id=ids, _rank=rank).sort_values("_rank", kind="stable", na_position="last")


def _center(communities: gpd.GeoDataFrame, facilities: gpd.GeoDataFrame,
            demand: gpd.GeoDataFrame) -> list[float]:
    (south, west), (north, east) = map_bounds(communities, facilities, demand)
    return [(south + north) / 2, (west + east) / 2]


def _fmt_threshold(value: Any, labels: Mapping[str, str]) -> str:
    if is_missing(value):
        return labels["na"]
    return labels["minutes_unit"].format(m=threshold_label(float(value)))


# --- layers -----------------------------------------------------------------------------------------------------------


def _add_communities(
    m: folium.Map,
    communities: gpd.GeoDataFrame,
    thresholds: tuple[float, ...],
    target_share: float,
    labels: Mapping[str, str],
) -> folium.FeatureGroup:
    top = threshold_label(max(thresholds))
    group = add_layer(m, labels["communities_layer"])
    if communities.empty:
        return group
    if labels["_lang"] == "en" and "name_en" in communities:  # English names where the communities give them
        communities = communities.assign(name=communities["name_en"].where(communities["name_en"].notna(),
                                                                            column_or_missing(communities, "name")))
    fields: list[tuple[str, str, Callable[[Any], str]]] = [
        ("name", labels["community"], lambda v: popup_text(v, labels)),
        ("elderly", labels["elderly"], lambda v: fmt_persons(v, labels)),
    ]
    for t in thresholds:
        lab = threshold_label(t)
        fields.append((f"covered_{lab}", labels["covered"].format(m=lab), lambda v: fmt_covered(v, labels)))
        fields.append((f"share_{lab}", labels["share"].format(m=lab), lambda v: fmt_share(v, labels)))
    fields.append(("below_target", labels["below_target"], lambda v: fmt_bool(v, labels)))
    shares = pd.to_numeric(column_or_missing(communities, f"share_{top}"), errors="coerce")
    below = column_or_missing(communities, "below_target").fillna(False).astype(bool)
    extra = {
        "_fill": [NO_DATA_COLOR if pd.isna(s) else share_color(s, target_share) for s in shares],
        "_dash": ["6 4" if b else None for b in below],
    }
    labelled = len(communities) <= MAX_LABELS
    if labelled:
        extra["_label"] = [popup_text(v, labels) if not is_missing(v) else "" for v in
                           column_or_missing(communities, "name")]
    slim, keys, aliases = popup_frame(communities, fields, extra)

    def style(feature: dict) -> dict:
        p = feature["properties"]
        if p["_dash"]:
            return {"fillColor": p["_fill"], "color": BELOW_TARGET_COLOR, "weight": 2.5,
                    "dashArray": p["_dash"], "fillOpacity": 0.6}
        return {"fillColor": p["_fill"], "color": "#555555", "weight": 1, "fillOpacity": 0.6}

    layer = geojson_layer(
        slim,
        style_function=style,
        highlight_function=lambda _f: {"weight": 3, "color": "#000000"},
        popup=folium.GeoJsonPopup(fields=keys, aliases=aliases, localize=False, max_width=360),
        tooltip=None if labelled else folium.GeoJsonTooltip(fields=[keys[0]], labels=False),
        control=False,
    )
    layer.add_to(group)
    if labelled:
        m.get_root().html.add_child(html_element(label_script(layer.get_name(), m.get_name())),
                                    name="carecircle_labels")
    return group


def _capital(text: str) -> str:
    """``text`` with its first letter in upper case (a label that starts with a supply noun: "beds ...")."""
    return text[:1].upper() + text[1:]


def _nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 × 10^k at or above ``value`` (at least 1): the top of the accessibility scale."""
    if not math.isfinite(value) or value <= 1:
        return 1.0
    power = 10.0 ** math.floor(math.log10(value))
    return next(f * power for f in (1.0, 2.0, 2.5, 5.0, 10.0) if f * power >= value - 1e-9)


def _access_layer(
    m: folium.Map,
    communities: gpd.GeoDataFrame,
    demand: gpd.GeoDataFrame,
    accessibility: AccessibilityResult | None,
    labels: Mapping[str, str],
) -> dict[str, Any]:
    """The accessibility layers, hidden at first: communities coloured by reachable supply per 1,000 elderly (in
    their own pane under the other overlays), dashed when below the level, popups with score, need/supply class and
    flag; and the demand points in the same colours, when they carry their scores.

    Returns ``{"groups", "supply", "legend"}``: the layers (communities first), the supply as a noun and the
    legend's HTML.
    """
    terms = in_language(ACCESS_TERMS, labels["_lang"])
    summary = accessibility.summary if accessibility is not None else {}
    supply = access_term(terms, "supply", summary.get("supply_col"))
    level = summary.get("level")
    level_text = fmt_number(level, labels, 1)
    scores = pd.to_numeric(communities["access_per_1000"], errors="coerce")
    finite = scores[np.isfinite(scores)]
    vmax = _nice_ceiling(max(float(finite.max()) if len(finite) else 0.0,
                             0.0 if is_missing(level) else float(level)))
    cmap = branca.colormap.LinearColormap(_ACCESS_COLORS, vmin=0.0, vmax=vmax)
    folium.map.CustomPane(_ACCESS_PANE, z_index=390, pointer_events=True).add_to(m)
    group = add_layer(m, labels["access_layer"].format(supply=supply), show=False)
    below = column_or_missing(communities, "access_below_level").fillna(False).astype(bool)
    below_label = labels["access_below"].format(level=level_text) if not is_missing(level) else \
        labels["access_below_note"]
    fields: list[tuple[str, str, Callable[[Any], str]]] = [
        ("name", labels["community"], lambda v: popup_text(v, labels)),
        ("elderly", labels["elderly"], lambda v: fmt_persons(v, labels)),
        ("access_per_1000", _capital(labels["access_score"].format(supply=supply)),
         lambda v: fmt_number(v, labels, 1)),
        ("access_mismatch", labels["access_class"],
         lambda v: popup_text(v if is_missing(v) else access_term(terms, "class", v), labels)),
        ("access_below_level", below_label, lambda v: fmt_bool(v, labels)),
    ]
    extra = {
        "_fill": [NO_DATA_COLOR if pd.isna(v) else cmap.rgb_hex_str(float(np.clip(v, 0, vmax))) for v in scores],
        "_dash": ["6 4" if b else None for b in below],
    }
    slim, keys, aliases = popup_frame(communities, fields, extra)

    def style(feature: dict) -> dict:
        p = feature["properties"]
        if p["_dash"]:
            return {"fillColor": p["_fill"], "color": BELOW_TARGET_COLOR, "weight": 2.5, "dashArray": p["_dash"],
                    "fillOpacity": 0.75}
        return {"fillColor": p["_fill"], "color": "#555555", "weight": 1, "fillOpacity": 0.75}

    geojson_layer(
        slim,
        style_function=style,
        highlight_function=lambda _f: {"weight": 3, "color": "#000000"},
        popup=folium.GeoJsonPopup(fields=keys, aliases=aliases, localize=False, max_width=360),
        tooltip=folium.GeoJsonTooltip(fields=[keys[0], keys[2]], aliases=[aliases[0], aliases[2]], localize=False),
        control=False,
        pane=_ACCESS_PANE,
    ).add_to(group)
    groups = [group]
    if "access_per_1000" in demand.columns:
        groups.append(_access_points(m, demand, cmap, vmax, supply, below_label, labels))
    source = access_term(terms, "level", summary.get("level_source")) if summary.get("level_source") else ""
    legend = _access_legend(cmap, vmax, level, source, labels["access_layer"].format(supply=supply), labels)
    return {"groups": groups, "supply": supply, "legend": legend}


def _access_points(m: folium.Map, demand: gpd.GeoDataFrame, cmap: branca.colormap.LinearColormap, vmax: float,
                   supply: str, below_label: str, labels: Mapping[str, str]) -> folium.FeatureGroup:
    """Demand points coloured by their accessibility (a layer hidden at first), sized by population, in a pane
    above the accessibility communities and under the other overlays (the facility markers stay on top)."""
    folium.map.CustomPane(_ACCESS_POINTS_PANE, z_index=395, pointer_events=True).add_to(m)
    group = add_layer(m, labels["access_points_layer"], show=False)
    rows = demand[demand.geometry.geom_type == "Point"]
    if rows.empty:
        return group
    scores = pd.to_numeric(rows["access_per_1000"], errors="coerce")
    pop = pd.to_numeric(column_or_missing(rows, "population"), errors="coerce").fillna(0.0)
    extra = {
        "_fill": [NO_DATA_COLOR if pd.isna(v) else cmap.rgb_hex_str(float(np.clip(v, 0, vmax))) for v in scores],
        "_radius": [float(np.clip(2.0 + math.sqrt(max(p, 0.0)) / 2.5, 2.5, 8.0)) for p in pop],
    }
    slim, keys, aliases = popup_frame(
        rows,
        [("population", labels["population"], lambda v: fmt_persons(v, labels)),
         ("access_per_1000", _capital(labels["access_score"].format(supply=supply)),
          lambda v: fmt_number(v, labels, 1)),
         ("access_below_level", below_label, lambda v: fmt_bool(v, labels))],
        extra,
    )
    geojson_layer(
        slim,
        marker=folium.CircleMarker(radius=4, color="#333333", weight=0.6, fill=True, fill_opacity=0.9),
        # The pane goes with the style: folium's markers take only their style's options (the pane included).
        style_function=lambda f: {"radius": f["properties"]["_radius"], "fillColor": f["properties"]["_fill"],
                                  "pane": _ACCESS_POINTS_PANE},
        popup=folium.GeoJsonPopup(fields=keys, aliases=aliases, localize=False),
        control=False,
    ).add_to(group)
    return group


def _access_legend(cmap: branca.colormap.LinearColormap, vmax: float, level: Any, source: str, title: str,
                   labels: Mapping[str, str]) -> str:
    """The accessibility part of the legend (hidden until the layer is switched on): the scale with its units,
    the level marked on it, the dashed outline of communities below the level and the no-data grey."""
    stops = ", ".join(f"{cmap.rgb_hex_str(x * vmax)} {100 * x:.0f}%" for x in np.linspace(0, 1, 11))
    ticks = "".join(f"<span>{fmt_number(f * vmax, labels, 0 if vmax >= 10 else 1)}</span>"
                    for f in (0, 0.25, 0.5, 0.75, 1))
    pointer, note = "", ""
    if not is_missing(level) and 0 <= float(level) <= vmax:
        # A small triangle above the scale at the level, explained under the ticks.
        x = 200 * float(level) / vmax
        text = labels["access_level_note"].format(level=fmt_number(level, labels, 1), source=source).rstrip("：: ")
        pointer = (f'<div class="carecircle-access-level" style="position:relative;width:202px;height:7px">'
                   f'<span style="position:absolute;left:{x:.0f}px;top:0;width:0;height:0;'
                   "border-left:5px solid transparent;border-right:5px solid transparent;"
                   f'border-top:7px solid {BELOW_TARGET_COLOR};margin-left:-4px"></span></div>')
        note = f'<div style="font-size:11px;color:{BELOW_TARGET_COLOR}">▼ {html.escape(text)}</div>'
    below = swatch("transparent", border=f"2px dashed {BELOW_TARGET_COLOR}")
    return (
        '<div class="carecircle-access-legend" style="display:none;margin-top:6px;padding-top:6px;'
        'border-top:1px solid #ccc">'
        f'<div style="font-weight:600">{html.escape(title)}</div>{pointer}'
        f'<div class="carecircle-access-scale" style="width:200px;height:12px;border:1px solid #888;'
        f'background:linear-gradient(to right, {stops})"></div>'
        f'<div style="display:flex;justify-content:space-between;width:202px;font-size:11px">{ticks}</div>{note}'
        f'<div style="font-size:11px;color:#555">{swatch(NO_DATA_COLOR)}{html.escape(labels["access_no_elderly"])}'
        f' &nbsp; {below}{html.escape(labels["access_below_note"])}</div></div>'
    )


def _access_switch_script(m: folium.Map, groups: list[folium.FeatureGroup], coverage: folium.FeatureGroup) -> str:
    """Switching the accessibility communities (``groups[0]``) on switches the coverage communities off, and back
    (two choropleths of the same areas would hide each other); the accessibility legend shows while any of
    ``groups`` is on.

    The switch-off waits for the layer control to finish handling the click, so the control's boxes follow."""
    return (
        "<script>window.addEventListener('load', function () {"
        f"var map = {m.get_name()}, groups = [{', '.join(g.get_name() for g in groups)}], access = groups[0], "
        f"coverage = {coverage.get_name()};"
        "var legend = document.querySelector('.carecircle-access-legend');"
        "function show() { if (legend) { legend.style.display = groups.some(function (g) { return map.hasLayer(g); })"
        " ? '' : 'none'; } }"
        "function drop(layer) { setTimeout(function () { if (map.hasLayer(layer)) { map.removeLayer(layer); } }, 0); }"
        "map.on('overlayadd', function (e) {"
        "if (e.layer === access) { drop(coverage); } else if (e.layer === coverage) { drop(access); } show(); });"
        "map.on('overlayremove', show);"
        "show();"
        "});</script>"
    )


def _add_uncovered(
    m: folium.Map,
    demand: gpd.GeoDataFrame,
    facilities: gpd.GeoDataFrame,
    top: float,
    labels: Mapping[str, str],
    *,
    before: gpd.GeoDataFrame | None = None,
) -> int:
    """The elderly beyond ``top`` minutes (purple dots sized by population); with ``before`` (the demand before
    new sites), those beyond it before, the ones now covered as green rings."""
    lab = threshold_label(top)
    group = add_layer(m, labels["uncovered_layer"])
    covered = column_or_missing(demand, f"covered_{lab}").fillna(False).astype(bool)
    rows = demand[~covered & (demand.geometry.geom_type == "Point")]
    if before is not None and len(before):
        was = column_or_missing(before, f"covered_{lab}").fillna(False).astype(bool).to_numpy()
        now = column_or_missing(demand, f"covered_{lab}").fillna(False).astype(bool).to_numpy() \
            if len(demand) == len(before) else np.zeros(len(before), dtype=bool)
        rows = before[~was & (before.geometry.geom_type == "Point").to_numpy()].assign(_now=now[~was & (
            before.geometry.geom_type == "Point").to_numpy()])
        rows = rows.assign(nearest_facility=column_or_missing(rows, "nearest_facility"))
    if rows.empty:
        return 0
    names = dict(zip(column_or_missing(facilities, "facility_id"), column_or_missing(facilities, "name"), strict=False))
    rows = rows.assign(_nearest=[names.get(f, f) if not is_missing(f) else None
                                 for f in column_or_missing(rows, "nearest_facility")])
    pop = pd.to_numeric(column_or_missing(rows, "population"), errors="coerce").fillna(0.0)
    now = rows["_now"].to_numpy() if "_now" in rows else np.zeros(len(rows), dtype=bool)
    extra = {"_radius": [float(np.clip(2.5 + math.sqrt(max(p, 0.0)) / 2.0, 3.0, 10.0)) for p in pop],
             "_color": [_NEWLY_COVERED_COLOR if n else _UNCOVERED_COLOR for n in now],
             "_fillOpacity": [0.15 if n else 0.75 for n in now], "_weight": [2.5 if n else 1 for n in now]}
    slim, keys, aliases = popup_frame(
        rows,
        [("population", labels["population"], lambda v: fmt_persons(v, labels)),
         ("time_min", labels["minutes"], lambda v: fmt_minutes(v, labels)),
         ("_nearest", labels["nearest"], lambda v: popup_text(v, labels))],
        extra,
    )
    geojson_layer(
        slim,
        marker=folium.CircleMarker(radius=4, color=_UNCOVERED_COLOR, weight=1, fill=True,
                                   fill_color=_UNCOVERED_COLOR, fill_opacity=0.75),
        style_function=lambda f: {"radius": f["properties"]["_radius"], "color": f["properties"]["_color"],
                                  "fillColor": f["properties"]["_color"], "weight": f["properties"]["_weight"],
                                  "fillOpacity": f["properties"]["_fillOpacity"]},
        popup=folium.GeoJsonPopup(fields=keys, aliases=aliases, localize=False),
        control=False,
    ).add_to(group)
    return len(rows)


def _add_suggested_isochrones(
    m: folium.Map, isochrones: gpd.GeoDataFrame | None, labels: Mapping[str, str]
) -> list[str]:
    """One layer of dashed polygons per threshold for the suggested sites; returns the layer names."""
    if isochrones is None:
        return []
    minutes = pd.to_numeric(isochrones["minutes"], errors="coerce")
    names = []
    for v in sorted(float(x) for x in minutes.dropna().unique()):
        name = labels["suggested_iso_layer"].format(m=threshold_label(v))
        group = add_layer(m, name)
        rows = isochrones[np.isclose(minutes, v)]
        # Not interactive: clicks pass through to the communities and markers underneath.
        geojson_layer(
            gpd.GeoDataFrame(geometry=list(rows.geometry), crs=4326),
            style_function=lambda _f: {"color": _SUGGESTED_FILL, "weight": 2, "dashArray": "6 4",
                                       "fillColor": _SUGGESTED_RING, "fillOpacity": 0.06},
            interactive=False,
            control=False,
        ).add_to(group)
        names.append(name)
    return names


def _site_icon_html(rank: str, *, size: int = 24) -> str:
    """The numbered square of a suggested site (inline styles only: no external CSS or icon font)."""
    font = 12 if len(rank) <= 2 else 9
    return (
        f'<div style="box-sizing:border-box;width:{size}px;height:{size}px;border-radius:5px;'
        f"background:{_SUGGESTED_FILL};border:2px solid {_SUGGESTED_RING};color:#fff;"
        f"font:700 {font}px/{size - 4}px Arial,Helvetica,sans-serif;text-align:center;"
        f'box-shadow:0 1px 4px rgba(0,0,0,0.5)">{html.escape(rank)}</div>'
    )


def _add_suggested(m: folium.Map, sites: gpd.GeoDataFrame, labels: Mapping[str, str]) -> None:
    group = add_layer(m, labels["suggested_layer"])
    if sites.empty:
        return
    fields: list[tuple[str, str, Callable[[Any], str]]] = [
        ("_rank", labels["rank"], lambda v: fmt_num(v, labels)),
        ("_id", labels["site_id"], lambda v: popup_text(v, labels)),
        ("name", labels["name"], lambda v: popup_text(v, labels)),
        ("gain", labels["gain"], lambda v: fmt_persons(v, labels)),
        ("share_after", labels["share_after"], lambda v: fmt_share(v, labels)),
    ]
    if "minutes_saved" in sites.columns:
        fields.append(("minutes_saved", labels["minutes_saved"], lambda v: fmt_persons(v, labels)))
    ranks = [fmt_num(r, labels) if not is_missing(r) else "?" for r in sites["_rank"]]
    names = [n if not is_missing(n) else i for n, i in zip(column_or_missing(sites, "name"), sites["_id"], strict=True)]
    extra = {
        "_html": [_site_icon_html(r) for r in ranks],
        "_mark": [1] * len(sites),  # community names keep clear of it (common.label_script)
        "_tip": [html.escape(f"{r}. {n if not is_missing(n) else ''}".strip()) for r, n in zip(ranks, names,
                                                                                               strict=True)],
    }
    slim, keys, aliases = popup_frame(sites, fields, extra)
    icon = folium.DivIcon(class_name="carecircle-site", icon_size=(24, 24), icon_anchor=(12, 12))
    geojson_layer(
        slim,
        marker=folium.Marker(icon=icon),
        style_function=lambda f: {"html": f["properties"]["_html"]},
        popup=folium.GeoJsonPopup(fields=keys, aliases=aliases, localize=False, max_width=360),
        tooltip=folium.GeoJsonTooltip(fields=["_tip"], labels=False),
        control=False,
    ).add_to(group)


# --- boxes ------------------------------------------------------------------------------------------------------------


def _headline_figures(
    result: CoverageResult, demand: gpd.GeoDataFrame, thresholds: tuple[float, ...]
) -> tuple[float, list[tuple[str, float, float]]]:
    """Elderly population and ``(label, covered persons, share)`` per threshold, from ``summary`` if there."""
    summary = result.summary or {}
    pop = pd.to_numeric(column_or_missing(demand, "population"), errors="coerce").fillna(0.0)
    elderly = float(summary.get("elderly_population", pop.sum()))
    rows = []
    for t in thresholds:
        lab = threshold_label(t)
        covered_col = column_or_missing(demand, f"covered_{lab}").fillna(False).astype(bool)
        covered = float(summary.get("covered", {}).get(lab, pop[covered_col].sum()))
        default_share = covered / elderly if elderly > 0 else float("nan")
        share = float(summary.get("share", {}).get(lab, default_share))
        rows.append((lab, covered, share))
    return elderly, rows


def _headline_box(
    result: CoverageResult, demand: gpd.GeoDataFrame, thresholds: tuple[float, ...], labels: Mapping[str, str],
    accessibility: AccessibilityResult | None = None,
) -> str:
    elderly, rows = _headline_figures(result, demand, thresholds)
    cells = [
        f"<tr><td>{html.escape(labels['headline_elderly'])}</td>"
        f"<td style='text-align:right;font-weight:600'>{fmt_persons(elderly, labels)}</td></tr>"
    ]
    for lab, covered, share in rows:
        cells.append(
            f"<tr><td>{html.escape(labels['headline_share'].format(m=lab))}</td>"
            f"<td style='text-align:right;font-weight:600'>{fmt_share(share, labels)}</td>"
            f"<td style='text-align:right;color:#555'>({fmt_persons(covered, labels)})</td></tr>"
        )
    cells.append(
        f"<tr><td>{html.escape(labels['headline_target'])}</td>"
        f"<td style='text-align:right'>{fmt_share(result.target_share, labels)}</td></tr>"
    )
    if accessibility is not None:
        a = accessibility.summary
        gini = labels["na"] if is_missing(a.get("gini")) else f"{float(a['gini']):.2f}"
        supply = access_term(in_language(ACCESS_TERMS, labels["_lang"]), "supply", a.get("supply_col"))
        text = labels["headline_access"].format(supply=supply)
        cells.append(
            f"<tr class='carecircle-headline-access'><td>{html.escape(_capital(text))}</td>"
            f"<td style='text-align:right;font-weight:600'>{fmt_number(a.get('mean'), labels, 1)}</td>"
            f"<td style='text-align:right;color:#555'>({html.escape(labels['headline_gini'].format(gini=gini))})"
            "</td></tr>"
        )
    return (
        f'<div class="carecircle-headline" style="{PANEL_CSS}">'
        "<style>.carecircle-headline td{padding:1px 0 1px 8px}.carecircle-headline td:first-child"
        "{padding-left:0}</style>"
        f'<table style="border-collapse:collapse">{"".join(cells)}</table></div>'
    )


def _legend_box(
    top: float,
    target_share: float,
    iso_colors: Mapping[str, tuple[str, str]],
    type_colors: Mapping[str, str],
    labels: Mapping[str, str],
    *,
    suggested: bool = False,
    new_iso_layers: list[str] | None = None,
    access_legend: str | None = None,
    newly_covered: bool = False,
) -> str:
    top_lab = threshold_label(top)
    has_target = not is_missing(target_share)
    target = float(np.clip(target_share, 0.0, 1.0)) if has_target else 1.0
    # The target marked under the scale, where the colours break from yellow to green.
    mark = "" if not has_target else (
        '<div class="carecircle-share-target" style="position:relative;width:202px;height:13px;'
            f'font-size:10.5px;color:{BELOW_TARGET_COLOR}"><span style="position:absolute;left:{200 * target:.0f}px;'
            f'transform:translateX(-{100 * target:.0f}%);white-space:nowrap">▲ {fmt_share(target_share, labels)}'
            "</span></div>")
    parts = [
        f'<div class="carecircle-legend-title" style="font-weight:600">'
        f'{html.escape(labels["legend_share"].format(m=top_lab))}</div>',
        f'<div class="carecircle-share-scale" style="width:200px;height:12px;border:1px solid #888;'
        f'background:linear-gradient(to right, {share_gradient(target_share)})"></div>',
        '<div style="display:flex;justify-content:space-between;width:202px;font-size:11px">'
        + "".join(f"<span>{p}%</span>" for p in (0, 25, 50, 75, 100)) + "</div>" + mark,
        f'<div style="font-size:11px;color:#555">{swatch(share_color(target, target))}'
        f'{html.escape(labels["share_at_target"])} ({fmt_share(target_share, labels)}+)</div>' if has_target else "",
        f'<div style="font-size:11px;color:#555">{swatch(NO_DATA_COLOR)}{html.escape(labels["na"])}'
        f' &nbsp; {swatch("transparent", border=f"2px dashed {BELOW_TARGET_COLOR}")}'
        f'{html.escape(labels["below_target_note"].format(target=fmt_share(target_share, labels)))}</div>',
    ]
    if iso_colors:
        parts.append(f'<div style="font-weight:600;margin-top:6px">{html.escape(labels["legend_iso"])}</div>')
        parts.extend(f"<div class='carecircle-band'>{swatch(c + '99', border=f'1px solid {c}')}"
                     f"{html.escape(text)}</div>" for c, text in iso_colors.values())
    dot = swatch(_UNCOVERED_COLOR, circle=True, border=f"1px solid {_UNCOVERED_COLOR}")
    parts.append(
        f'<div style="margin-top:6px">{dot}'
        f'{html.escape(labels["legend_uncovered"].format(m=top_lab))}</div>'
    )
    if newly_covered:
        ring = swatch(_NEWLY_COVERED_COLOR + "26", circle=True, border=f"2px solid {_NEWLY_COVERED_COLOR}")
        parts.append(f'<div class="carecircle-newly-covered">{ring}{html.escape(labels["newly_covered"])}</div>')
    if type_colors:
        heading = html.escape(labels["legend_types"])
        parts.append(f'<div style="font-weight:600;margin-top:6px">{heading}</div>')
        parts.extend(f"<div>{swatch(c, circle=True, border='2px solid #fff')}"
                     f"{html.escape(type_label(t, labels['_lang']))}</div>" for t, c in type_colors.items())
    if suggested:
        icon = _site_icon_html("1", size=18).replace("<div ", '<div class="carecircle-legend-site" ', 1)
        parts.append(
            '<div style="margin-top:6px;display:flex;align-items:center;gap:6px">'
            f'{icon}<span>{html.escape(labels["legend_suggested"])}</span></div>'
        )
    for name in new_iso_layers or []:
        dashed = swatch(_SUGGESTED_RING + "22", border=f"2px dashed {_SUGGESTED_FILL}")
        parts.append(f"<div>{dashed}{html.escape(name)}</div>")
    if access_legend:
        parts.append(access_legend)
    return (
        f'<div class="carecircle-legend" style="{BOX_CSS}bottom:30px;right:10px;max-width:260px;">'
        f'{"".join(parts)}</div>'
    )
