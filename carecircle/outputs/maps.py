"""Interactive maps: one self-contained, offline HTML file each, built with folium.

This is the only module that imports folium. :func:`coverage_map` shows communities coloured by coverage
share, merged isochrones per threshold, per-facility isochrones (hidden by default), uncovered elderly demand
and the care facilities by type, with a layer control, a legend, a title, a note and headline figures.
Optionally it adds suggested new sites (numbered by rank), their isochrones, and a coverage curve drawn as
plain inline SVG (:func:`curve_svg`, which the HTML report uses too). :func:`comparison_map` draws a
baseline-versus-plan comparison (:mod:`carecircle.plan.compare`) in the same style.

Leaflet is inlined from ``carecircle/_vendor/leaflet``; nothing is loaded from a CDN, so the file
works offline (only the background tiles need the internet, and the map stays usable without them).
folium's ``Popup`` needs jQuery and branca's colormap legend needs d3, so popups here are
:class:`folium.GeoJsonPopup` and the legend is plain HTML.
"""

from __future__ import annotations

import html
import logging
import math
import os
from collections.abc import Callable, Iterable, Mapping
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import branca.colormap
import folium
import geopandas as gpd
import numpy as np
import pandas as pd
from shapely.ops import unary_union

from carecircle.core.coverage import CoverageResult, threshold_label
from carecircle.errors import InputError
from carecircle.io.facility_types import TYPES, type_label
from carecircle.outputs.files import write_atomically
from carecircle.outputs.formats import fmt_bool, fmt_persons, fmt_share, is_missing

if TYPE_CHECKING:
    from carecircle.plan.compare import Comparison

logger = logging.getLogger(__name__)

__all__ = ["SHARE_COLORS", "TYPE_COLORS", "comparison_map", "coverage_map", "curve_svg", "map_fragment", "save_map",
           "type_colors"]

_DEFAULT_TITLE = "15-minute elder-care circle"

#: Every piece of text the map shows, per language. ``{m}`` is a threshold in minutes.
_LABELS: dict[str, dict[str, str]] = {
    "en": {
        "_lang": "en",
        "title": _DEFAULT_TITLE,
        "iso_layer": "{m}-minute walk",
        "iso_facility_layer": "Per-facility isochrones",
        "communities_layer": "Community coverage",
        "uncovered_layer": "Uncovered elderly",
        "facilities_layer": "Care facilities",
        "legend_share": "Elderly within {m} min walk",
        "legend_iso": "Walking isochrones",
        "legend_types": "Facility type",
        "legend_uncovered": "Elderly beyond {m} min",
        "below_target_note": "below target {target}",
        "name": "Name",
        "community": "Community",
        "elderly": "Elderly (60+)",
        "covered": "Covered within {m} min",
        "share": "Share within {m} min",
        "below_target": "Below target",
        "population": "Elderly persons",
        "minutes": "Minutes to nearest facility",
        "nearest": "Nearest facility",
        "facility": "Facility",
        "type": "Type",
        "capacity": "Capacity (beds/places)",
        "served": "Served within {m} min",
        "isochrone": "Isochrone",
        "headline_elderly": "Elderly population",
        "headline_share": "Within {m} min",
        "headline_target": "Target",
        "yes": "yes",
        "no": "no",
        "na": "n/a",
        "unreachable": "unreachable",
        "minutes_unit": "{m} min",
        "suggested_layer": "Suggested new sites",
        "suggested_iso_layer": "New sites' {m}-minute walk",
        "legend_suggested": "Suggested new site (number: rank)",
        "rank": "Rank",
        "site_id": "Site ID",
        "gain": "Elderly newly covered",
        "share_after": "Coverage share after",
        "minutes_saved": "Walking saved (person-minutes)",
        "curve_title": "Coverage curve",
        "curve_x": "Number of new sites",
        "curve_y": "Elderly covered",
        "curve_target": "target {target}",
        "curve_point": "{n} new sites: {share}",
    },
    "zh": {
        "_lang": "zh",
        "title": "15分钟养老服务圈",
        "iso_layer": "{m}分钟步行覆盖",
        "iso_facility_layer": "各设施步行等时圈",
        "communities_layer": "社区覆盖率",
        "uncovered_layer": "未覆盖老年人",
        "facilities_layer": "养老设施",
        "legend_share": "{m}分钟步行可达老年人比例",
        "legend_iso": "步行等时圈",
        "legend_types": "设施类型",
        "legend_uncovered": "{m}分钟外的老年人",
        "below_target_note": "低于目标 {target}",
        "name": "名称",
        "community": "社区",
        "elderly": "老年人口（60岁以上）",
        "covered": "{m}分钟内覆盖人数",
        "share": "{m}分钟覆盖率",
        "below_target": "未达标",
        "population": "老年人数",
        "minutes": "至最近设施步行分钟",
        "nearest": "最近设施",
        "facility": "设施",
        "type": "类型",
        "capacity": "容量（床位/位）",
        "served": "{m}分钟内服务老年人",
        "isochrone": "等时圈",
        "headline_elderly": "老年人口",
        "headline_share": "{m}分钟内可达",
        "headline_target": "目标",
        "yes": "是",
        "no": "否",
        "na": "无数据",
        "unreachable": "不可达",
        "minutes_unit": "{m}分钟",
        "suggested_layer": "建议新增站点",
        "suggested_iso_layer": "新增站点{m}分钟步行范围",
        "legend_suggested": "建议新增站点（数字为序号）",
        "rank": "序号",
        "site_id": "站点编号",
        "gain": "新增覆盖老年人",
        "share_after": "新增后覆盖率",
        "minutes_saved": "节省步行（人·分钟）",
        "curve_title": "覆盖率曲线",
        "curve_x": "新增站点数",
        "curve_y": "老年人覆盖率",
        "curve_target": "目标 {target}",
        "curve_point": "新增{n}个站点：{share}",
    },
}

#: Coverage share scale, red (none covered) to green (all covered); the static PNG map uses it too.
SHARE_COLORS = ("#d73027", "#fc8d59", "#fee08b", "#91cf60", "#1a9850")
_NO_DATA_COLOR = "#bdbdbd"
# Isochrones: the shortest threshold darkest, the longest lightest.
_ISO_DARK = (8, 69, 148)
_ISO_LIGHT = (158, 202, 225)
_UNCOVERED_COLOR = "#7b3294"
_BELOW_TARGET_COLOR = "#67001f"
# Suggested sites: a near-black numbered square with an amber ring, a colour no facility type uses.
_SUGGESTED_FILL = "#1a1a1a"
_SUGGESTED_RING = "#ffb000"
_SUGGESTED_TYPE = "suggested"
_CURVE_COLOR = "#08519c"
#: Marker colour of each facility type, on this map and on the static PNG map. Dark blues, purples, magenta,
#: brown, lavender and greys: none is on the red-yellow-green share scale, so a marker (white-edged) stands out on
#: any community fill; none is the uncovered-elderly purple or the suggested sites' black and amber.
TYPE_COLORS: dict[str, str] = {
    "comprehensive_centre": "#08306b",  # navy
    "day_care": "#c51b7d",  # magenta
    "home_care_station": "#4a1486",  # deep purple
    "care_home": "#543005",  # dark brown
    "canteen": "#2171b5",  # blue
    "rural_station": "#807dba",  # lavender
    "childcare": "#0099c6",  # cyan blue
    "health_centre": "#525252",  # dark grey
    "unspecified": "#252525",  # near black (a circle: suggested sites are amber-ringed squares)
}
# Types outside TYPE_COLORS (hand-made frames) take these in turn.
_OTHER_TYPE_PALETTE = ("#3690c0", "#88419d", "#8c6bb1", "#4d004b", "#737373", "#6a3d9a")

_PANEL_CSS = (
    "background:rgba(255,255,255,0.92);border-radius:4px;"
    "box-shadow:0 1px 4px rgba(0,0,0,0.35);font:13px/1.4 'Helvetica Neue',Arial,"
    "'PingFang SC','Microsoft YaHei','Noto Sans CJK SC',sans-serif;color:#222;padding:6px 10px;"
)
_BOX_CSS = "position:fixed;z-index:1000;" + _PANEL_CSS


def coverage_map(
    result: CoverageResult,
    isochrones: gpd.GeoDataFrame | None = None,
    *,
    title: str = _DEFAULT_TITLE,
    note: str | None = None,
    lang: str = "en",
    tiles: str | None = "OpenStreetMap",
    suggested: gpd.GeoDataFrame | None = None,
    suggested_isochrones: gpd.GeoDataFrame | None = None,
    curve: pd.DataFrame | None = None,
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
    labels = _labels(lang)
    if title == _DEFAULT_TITLE:
        title = labels["title"]
    isochrones = _check_isochrones(isochrones)
    suggested_isochrones = _check_isochrones(suggested_isochrones, "suggested_isochrones")
    communities = _to_wgs84(result.communities, "communities")
    facilities = _to_wgs84(result.facilities, "facilities")
    demand = _to_wgs84(result.demand, "demand")
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
        drawn_facilities = facilities[_col(facilities, "type").astype(str) != _SUGGESTED_TYPE]

    m = folium.Map(location=_center(communities, facilities, demand), zoom_start=14, tiles=None,
                   control_scale=True)
    if tiles is not None:
        # One background only: keep it out of the layer control (a lone radio button explains nothing).
        folium.TileLayer(tiles, control=False).add_to(m)
    _inline_leaflet(m)
    m.get_root().title = title

    share_cmap = branca.colormap.LinearColormap(SHARE_COLORS, vmin=0.0, vmax=1.0)
    type_colors = _type_colors(drawn_facilities)

    _add_communities(m, communities, thresholds, result.target_share, share_cmap, labels)
    iso_colors = _add_isochrones(m, isochrones, facilities, labels)
    new_iso_layers = _add_suggested_isochrones(m, suggested_isochrones, labels)
    n_uncovered = _add_uncovered(m, demand, facilities, top, labels)
    _add_facilities(m, drawn_facilities, thresholds, type_colors, labels)
    if suggested is not None:
        _add_suggested(m, suggested, labels)
    folium.LayerControl(collapsed=False).add_to(m)

    root = m.get_root()
    root.html.add_child(folium.Element(_title_box(title)), name="carecircle_title")
    left = [_headline_box(result, demand, thresholds, labels)]
    if curve_box:
        left.append(curve_box)
    # Headline and curve stack in one column, so the curve never overlaps however tall the headline is.
    root.html.add_child(folium.Element(_left_column(left)), name="carecircle_headline")
    if note:
        root.html.add_child(folium.Element(_note_box(note)), name="carecircle_note")
    root.html.add_child(
        folium.Element(_legend_box(share_cmap, top, result.target_share, iso_colors, type_colors, labels,
                                   suggested=suggested is not None, new_iso_layers=new_iso_layers)),
        name="carecircle_legend",
    )
    m.fit_bounds(_bounds(communities, facilities, demand, suggested))
    logger.info(
        "coverage map: %d communities, %d facilities, %d uncovered demand points, %d isochrone layers, "
        "%s suggested sites, curve %s (%s)",
        len(communities), len(drawn_facilities), n_uncovered, len(iso_colors),
        "no" if suggested is None else len(suggested), "yes" if curve_box else "no", lang,
    )
    return m


def save_map(m: folium.Map, path: str | os.PathLike[str]) -> Path:
    """Write the map as one self-contained HTML file, atomically.

    The HTML goes to a temporary file in the same directory, which then replaces ``path``; a reader
    never sees a half-written map.

    Parameters
    ----------
    m : folium.Map
        A map from :func:`coverage_map`.
    path : str or os.PathLike
        Target ``.html`` file; its directory must exist.

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    OutputError
        The directory does not exist or cannot be written.

    Examples
    --------
    >>> save_map(coverage_map(result), "coverage.html")  # doctest: +SKIP
    """
    data = m.get_root().render().encode("utf-8")
    return write_atomically(path, lambda f: f.write(data), what="the map")


def map_fragment(m: folium.Map, *, width: str = "100%", height: str = "600px") -> str:
    """HTML snippet embedding the map in another page: an ``<iframe srcdoc=...>``.

    Unlike folium's ``_repr_html_`` (meant for notebooks), the snippet carries no
    "Make this Notebook Trusted" text and has a fixed height, so it drops into a report as is.

    Parameters
    ----------
    m : folium.Map
        A map from :func:`coverage_map`.
    width, height : str
        CSS sizes of the iframe.

    Returns
    -------
    str
        One ``<iframe>`` element holding the whole self-contained map document.

    Examples
    --------
    >>> snippet = map_fragment(coverage_map(result), height="480px")  # doctest: +SKIP
    """
    doc = html.escape(m.get_root().render(), quote=True)
    title = html.escape(str(getattr(m.get_root(), "title", None) or "map"), quote=True)
    return (
        f'<iframe srcdoc="{doc}" title="{title}" '
        f'style="width:{width};height:{height};border:none;" loading="lazy" allowfullscreen></iframe>'
    )


# --- set-up helpers ---------------------------------------------------------------------------------


def _labels(lang: str) -> dict[str, str]:
    if lang not in _LABELS:
        accepted = ", ".join(repr(k) for k in _LABELS)
        raise InputError(f"lang={lang!r} is not supported; use one of {accepted}.")
    return _LABELS[lang]


def _read_vendor(name: str) -> str:
    text = resources.files("carecircle").joinpath("_vendor", "leaflet", name).read_text(encoding="utf-8")
    # Drop the source-map comment: the .map file is not shipped and devtools would try to fetch it.
    return "\n".join(line for line in text.splitlines() if not line.startswith("//# sourceMappingURL"))


def _inline_leaflet(m: folium.Map) -> None:
    """Replace folium's CDN links (Leaflet, jQuery, Bootstrap, awesome-markers) by inline Leaflet."""
    # JSCSSMixin.render iterates self.default_js / self.default_css: instance attributes shadow the
    # class lists, so this map links nothing and other maps are unaffected.
    m.default_js = []
    m.default_css = []
    header = m.get_root().header
    css = folium.Element(f"<style>{_read_vendor('leaflet.css')}</style>")
    js = folium.Element(f"<script>{_read_vendor('leaflet.js')}</script>")
    header.add_child(css, name="leaflet_css_inline")
    header.add_child(js, name="leaflet_js_inline")


def _check_isochrones(
    isochrones: gpd.GeoDataFrame | None, what: str = "isochrones"
) -> gpd.GeoDataFrame | None:
    if isochrones is None or len(isochrones) == 0:
        return None
    if "minutes" not in isochrones.columns:
        raise InputError(
            f"{what}: no 'minutes' column (columns: {', '.join(map(str, isochrones.columns))}); "
            "pass the output of the isochrone step."
        )
    iso = _to_wgs84(isochrones, what)
    if "facility_id" not in iso.columns:
        iso = iso.assign(facility_id=None)
    return iso


def _suggested_points(suggested: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Suggested sites in EPSG:4326 as points, ordered by rank, with ``_id`` and ``_rank`` added (a copy)."""
    if len(suggested) == 0:
        return suggested.assign(_id=pd.Series(dtype=object), _rank=pd.Series(dtype=float))
    sites = _to_wgs84(suggested, "suggested")
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


def _check_curve(curve: pd.DataFrame | None) -> pd.DataFrame | None:
    """Finite ``(sites, share)`` points of the coverage curve sorted by sites, or None when there are none."""
    if curve is None:
        return None
    missing = [c for c in ("sites", "share") if c not in curve.columns]
    if missing:
        raise InputError(
            f"curve: no {' or '.join(repr(c) for c in missing)} column (columns: "
            f"{', '.join(map(str, curve.columns))}); pass Suggestion.curve."
        )
    x = pd.to_numeric(curve["sites"], errors="coerce").to_numpy(dtype=float)
    y = pd.to_numeric(curve["share"], errors="coerce").to_numpy(dtype=float)
    ok = np.isfinite(x) & np.isfinite(y)
    if not ok.any():
        if len(curve):
            logger.warning("coverage curve: no finite points (sites, share); no curve chart drawn")
        return None
    return pd.DataFrame({"sites": x[ok], "share": y[ok]}).sort_values("sites", kind="stable").reset_index(drop=True)


def _to_wgs84(gdf: gpd.GeoDataFrame, what: str) -> gpd.GeoDataFrame:
    if len(gdf) == 0:
        return gdf
    if gdf.crs is None:
        raise InputError(f"{what}: no CRS set; set it (e.g. gdf.set_crs('EPSG:4326')) before mapping.")
    if gdf.crs.to_epsg() != 4326:
        gdf = gdf.to_crs(4326)
    return gdf[~(gdf.geometry.isna() | gdf.geometry.is_empty)]


def _center(communities: gpd.GeoDataFrame, facilities: gpd.GeoDataFrame,
            demand: gpd.GeoDataFrame) -> list[float]:
    (south, west), (north, east) = _bounds(communities, facilities, demand)
    return [(south + north) / 2, (west + east) / 2]


def _bounds(communities: gpd.GeoDataFrame, facilities: gpd.GeoDataFrame, demand: gpd.GeoDataFrame,
            suggested: gpd.GeoDataFrame | None = None) -> list[list[float]]:
    """``[[south, west], [north, east]]`` (folium's lat/lon order) of communities, facilities and suggested sites.

    Demand points define the view only when there are none of those.
    """
    framed = (communities, facilities) if suggested is None else (communities, facilities, suggested)
    boxes = [f.total_bounds for f in framed if len(f)]
    if not boxes and len(demand):
        boxes = [demand.total_bounds]
    if not boxes:
        raise InputError("coverage result has no communities, facilities or demand points to map.")
    b = np.vstack(boxes)
    west, south = float(b[:, 0].min()), float(b[:, 1].min())
    east, north = float(b[:, 2].max()), float(b[:, 3].max())
    return [[south, west], [north, east]]


# --- formatting ------------------------------------------------------------------------------------








def _fmt_minutes(value: Any, labels: Mapping[str, str]) -> str:
    if is_missing(value) or math.isinf(float(value)):
        return labels["unreachable"]
    return f"{float(value):.1f}"


def _fmt_threshold(value: Any, labels: Mapping[str, str]) -> str:
    if is_missing(value):
        return labels["na"]
    return labels["minutes_unit"].format(m=threshold_label(float(value)))


def _fmt_text(value: Any, labels: Mapping[str, str]) -> str:
    if is_missing(value):
        return labels["na"]
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return html.escape(str(value))




def _col(df: pd.DataFrame, name: str) -> pd.Series:
    """Column ``name`` or an all-missing column when the input lacks it."""
    if name in df.columns:
        return df[name]
    return pd.Series([None] * len(df), index=df.index, dtype=object)


def _popup_frame(
    gdf: gpd.GeoDataFrame, fields: list[tuple[str, str, Callable[[Any], str]]], extra: Mapping[str, Any]
) -> tuple[gpd.GeoDataFrame, list[str], list[str]]:
    """Slim frame for GeoJSON: display strings ``p0, p1, ...`` (HTML-escaped), style columns, geometry.

    ``fields`` holds (source column, label, formatter). Returns the frame, the popup keys and aliases.
    """
    props: dict[str, Any] = {}
    keys, aliases = [], []
    for i, (column, label, fmt) in enumerate(fields):
        key = f"p{i}"
        props[key] = [fmt(v) for v in _col(gdf, column)]
        keys.append(key)
        aliases.append(html.escape(label))
    props.update(extra)
    slim = gpd.GeoDataFrame(props, geometry=list(gdf.geometry), crs=4326)
    return slim, keys, aliases


# --- layers ----------------------------------------------------------------------------------------


def _add_communities(
    m: folium.Map,
    communities: gpd.GeoDataFrame,
    thresholds: tuple[float, ...],
    target_share: float,
    cmap: branca.colormap.LinearColormap,
    labels: Mapping[str, str],
) -> None:
    top = threshold_label(max(thresholds))
    group = folium.FeatureGroup(name=labels["communities_layer"], show=True).add_to(m)
    if communities.empty:
        return
    fields: list[tuple[str, str, Callable[[Any], str]]] = [
        ("name", labels["community"], lambda v: _fmt_text(v, labels)),
        ("elderly", labels["elderly"], lambda v: fmt_persons(v, labels)),
    ]
    for t in thresholds:
        lab = threshold_label(t)
        fields.append((f"covered_{lab}", labels["covered"].format(m=lab), lambda v: fmt_persons(v, labels)))
        fields.append((f"share_{lab}", labels["share"].format(m=lab), lambda v: fmt_share(v, labels)))
    fields.append(("below_target", labels["below_target"], lambda v: fmt_bool(v, labels)))
    shares = pd.to_numeric(_col(communities, f"share_{top}"), errors="coerce")
    below = _col(communities, "below_target").fillna(False).astype(bool)
    extra = {
        "_fill": [_NO_DATA_COLOR if pd.isna(s) else cmap.rgb_hex_str(float(np.clip(s, 0, 1)))
                  for s in shares],
        "_dash": ["6 4" if b else None for b in below],
    }
    slim, keys, aliases = _popup_frame(communities, fields, extra)

    def style(feature: dict) -> dict:
        p = feature["properties"]
        if p["_dash"]:
            return {"fillColor": p["_fill"], "color": _BELOW_TARGET_COLOR, "weight": 2.5,
                    "dashArray": p["_dash"], "fillOpacity": 0.6}
        return {"fillColor": p["_fill"], "color": "#555555", "weight": 1, "fillOpacity": 0.6}

    folium.GeoJson(
        slim,
        style_function=style,
        highlight_function=lambda _f: {"weight": 3, "color": "#000000"},
        popup=folium.GeoJsonPopup(fields=keys, aliases=aliases, localize=False, max_width=360),
        tooltip=folium.GeoJsonTooltip(fields=[keys[0]], labels=False),
        control=False,
    ).add_to(group)


def _iso_color(i: int, n: int) -> str:
    """Colour of the ``i``-th of ``n`` thresholds (ascending): darkest first."""
    f = 0.0 if n <= 1 else i / (n - 1)
    rgb = [round(d + (lt - d) * f) for d, lt in zip(_ISO_DARK, _ISO_LIGHT, strict=True)]
    return "#{:02x}{:02x}{:02x}".format(*rgb)


def _add_isochrones(
    m: folium.Map,
    isochrones: gpd.GeoDataFrame | None,
    facilities: gpd.GeoDataFrame,
    labels: Mapping[str, str],
) -> dict[str, str]:
    """Add merged isochrone layers (ascending minutes) and the per-facility layer (hidden).

    Returns ``{layer label: colour}`` for the legend, in ascending minutes.
    """
    if isochrones is None:
        return {}
    minutes = pd.to_numeric(isochrones["minutes"], errors="coerce")
    per_facility = isochrones["facility_id"].notna()
    merged = isochrones[~per_facility]
    if merged.empty:
        # Only per-facility polygons: merge them per threshold for display.
        parts = isochrones.assign(_m=minutes).groupby("_m")
        merged = gpd.GeoDataFrame(
            {"minutes": list(parts.groups)},
            geometry=[unary_union(g.geometry.to_numpy()) for _, g in parts],
            crs=4326,
        )
    merged_minutes = pd.to_numeric(merged["minutes"], errors="coerce")
    levels = sorted(float(v) for v in merged_minutes.dropna().unique())
    colors = {threshold_label(v): _iso_color(i, len(levels)) for i, v in enumerate(levels)}
    for v in levels:
        lab = threshold_label(v)
        color = colors[lab]
        layer_name = labels["iso_layer"].format(m=lab)
        group = folium.FeatureGroup(name=layer_name, show=True).add_to(m)
        rows = merged[np.isclose(merged_minutes, v)]
        folium.GeoJson(
            gpd.GeoDataFrame(geometry=list(rows.geometry), crs=4326),
            style_function=lambda _f, c=color: {"color": c, "weight": 2, "fillColor": c,
                                                "fillOpacity": 0.07},
            interactive=False,
            control=False,
        ).add_to(group)
    if per_facility.any():
        rows = isochrones[per_facility]
        names = dict(zip(_col(facilities, "facility_id"), _col(facilities, "name"), strict=False))
        row_minutes = minutes[per_facility]
        extra = {"_color": [colors.get(threshold_label(v), _NO_DATA_COLOR) if pd.notna(v) else _NO_DATA_COLOR
                            for v in row_minutes]}
        fac = rows.assign(_name=[names.get(f, f) for f in rows["facility_id"]], _minutes=row_minutes)
        slim, keys, aliases = _popup_frame(
            fac,
            [("_name", labels["facility"], lambda v: _fmt_text(v, labels)),
             ("_minutes", labels["isochrone"], lambda v: _fmt_threshold(v, labels))],
            extra,
        )
        group = folium.FeatureGroup(name=labels["iso_facility_layer"], show=False).add_to(m)
        folium.GeoJson(
            slim,
            style_function=lambda f: {"color": f["properties"]["_color"], "weight": 1,
                                      "fillColor": f["properties"]["_color"], "fillOpacity": 0.08},
            tooltip=folium.GeoJsonTooltip(fields=keys, aliases=aliases, localize=False),
            control=False,
        ).add_to(group)
    return colors


def _add_uncovered(
    m: folium.Map,
    demand: gpd.GeoDataFrame,
    facilities: gpd.GeoDataFrame,
    top: float,
    labels: Mapping[str, str],
) -> int:
    lab = threshold_label(top)
    group = folium.FeatureGroup(name=labels["uncovered_layer"], show=True).add_to(m)
    covered = _col(demand, f"covered_{lab}").fillna(False).astype(bool)
    rows = demand[~covered & (demand.geometry.geom_type == "Point")]
    if rows.empty:
        return 0
    names = dict(zip(_col(facilities, "facility_id"), _col(facilities, "name"), strict=False))
    rows = rows.assign(_nearest=[names.get(f, f) if not is_missing(f) else None
                                 for f in _col(rows, "nearest_facility")])
    pop = pd.to_numeric(_col(rows, "population"), errors="coerce").fillna(0.0)
    extra = {"_radius": [float(np.clip(2.5 + math.sqrt(max(p, 0.0)) / 2.0, 3.0, 10.0)) for p in pop]}
    slim, keys, aliases = _popup_frame(
        rows,
        [("population", labels["population"], lambda v: fmt_persons(v, labels)),
         ("time_min", labels["minutes"], lambda v: _fmt_minutes(v, labels)),
         ("_nearest", labels["nearest"], lambda v: _fmt_text(v, labels))],
        extra,
    )
    folium.GeoJson(
        slim,
        marker=folium.CircleMarker(radius=4, color=_UNCOVERED_COLOR, weight=1, fill=True,
                                   fill_color=_UNCOVERED_COLOR, fill_opacity=0.75),
        style_function=lambda f: {"radius": f["properties"]["_radius"]},
        popup=folium.GeoJsonPopup(fields=keys, aliases=aliases, localize=False),
        control=False,
    ).add_to(group)
    return len(rows)


def type_colors(types: Iterable[Any]) -> dict[str, str]:
    """Marker colour of each facility type present, in legend order (the order of ``facility_types.TYPES``).

    Known codes have a fixed colour (:data:`TYPE_COLORS`), so a type looks the same on every map; other
    values take the colours of a spare palette in sorted order. Missing values are skipped.

    Examples
    --------
    >>> type_colors(["day_care", "comprehensive_centre", "day_care"])
    {'comprehensive_centre': '#08306b', 'day_care': '#c51b7d'}
    """
    present = {str(t) for t in types if not is_missing(t)}
    known = [code for code in TYPES if code in present and code in TYPE_COLORS]
    other = sorted(present.difference(known))
    colors = {code: TYPE_COLORS[code] for code in known}
    colors.update({t: _OTHER_TYPE_PALETTE[i % len(_OTHER_TYPE_PALETTE)] for i, t in enumerate(other)})
    return colors


def _type_colors(facilities: gpd.GeoDataFrame) -> dict[str, str]:
    return type_colors(_col(facilities, "type"))


def _add_facilities(
    m: folium.Map,
    facilities: gpd.GeoDataFrame,
    thresholds: tuple[float, ...],
    type_colors: Mapping[str, str],
    labels: Mapping[str, str],
) -> None:
    group = folium.FeatureGroup(name=labels["facilities_layer"], show=True).add_to(m)
    rows = facilities[facilities.geometry.geom_type == "Point"]
    if rows.empty:
        return
    fields: list[tuple[str, str, Callable[[Any], str]]] = [
        ("name", labels["name"], lambda v: _fmt_text(v, labels)),
        ("type", labels["type"], lambda v: _fmt_text(v if is_missing(v) else type_label(v, labels["_lang"]), labels)),
        ("capacity", labels["capacity"], lambda v: _fmt_text(v, labels)),
    ]
    for t in thresholds:
        lab = threshold_label(t)
        fields.append((f"served_{lab}", labels["served"].format(m=lab), lambda v: fmt_persons(v, labels)))
    extra = {"_color": [type_colors.get(str(t), _NO_DATA_COLOR) for t in _col(rows, "type")]}
    slim, keys, aliases = _popup_frame(rows, fields, extra)
    folium.GeoJson(
        slim,
        marker=folium.CircleMarker(radius=7, color="#ffffff", weight=2, fill=True, fill_opacity=0.95),
        style_function=lambda f: {"fillColor": f["properties"]["_color"]},
        popup=folium.GeoJsonPopup(fields=keys, aliases=aliases, localize=False, max_width=360),
        tooltip=folium.GeoJsonTooltip(fields=[keys[0]], labels=False),
        control=False,
    ).add_to(group)


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
        group = folium.FeatureGroup(name=name, show=True).add_to(m)
        rows = isochrones[np.isclose(minutes, v)]
        # Not interactive: clicks pass through to the communities and markers underneath.
        folium.GeoJson(
            gpd.GeoDataFrame(geometry=list(rows.geometry), crs=4326),
            style_function=lambda _f: {"color": _SUGGESTED_FILL, "weight": 2, "dashArray": "6 4",
                                       "fillColor": _SUGGESTED_RING, "fillOpacity": 0.06},
            interactive=False,
            control=False,
        ).add_to(group)
        names.append(name)
    return names


def _fmt_rank(value: Any, labels: Mapping[str, str]) -> str:
    if is_missing(value):
        return labels["na"]
    return f"{float(value):g}"


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
    group = folium.FeatureGroup(name=labels["suggested_layer"], show=True).add_to(m)
    if sites.empty:
        return
    fields: list[tuple[str, str, Callable[[Any], str]]] = [
        ("_rank", labels["rank"], lambda v: _fmt_rank(v, labels)),
        ("_id", labels["site_id"], lambda v: _fmt_text(v, labels)),
        ("name", labels["name"], lambda v: _fmt_text(v, labels)),
        ("gain", labels["gain"], lambda v: fmt_persons(v, labels)),
        ("share_after", labels["share_after"], lambda v: fmt_share(v, labels)),
    ]
    if "minutes_saved" in sites.columns:
        fields.append(("minutes_saved", labels["minutes_saved"], lambda v: fmt_persons(v, labels)))
    ranks = [_fmt_rank(r, labels) if not is_missing(r) else "?" for r in sites["_rank"]]
    names = [n if not is_missing(n) else i for n, i in zip(_col(sites, "name"), sites["_id"], strict=True)]
    extra = {
        "_html": [_site_icon_html(r) for r in ranks],
        "_tip": [html.escape(f"{r}. {n if not is_missing(n) else ''}".strip()) for r, n in zip(ranks, names,
                                                                                               strict=True)],
    }
    slim, keys, aliases = _popup_frame(sites, fields, extra)
    icon = folium.DivIcon(class_name="carecircle-site", icon_size=(24, 24), icon_anchor=(12, 12))
    folium.GeoJson(
        slim,
        marker=folium.Marker(icon=icon),
        style_function=lambda f: {"html": f["properties"]["_html"]},
        popup=folium.GeoJsonPopup(fields=keys, aliases=aliases, localize=False, max_width=360),
        tooltip=folium.GeoJsonTooltip(fields=["_tip"], labels=False),
        control=False,
    ).add_to(group)


# --- boxes -----------------------------------------------------------------------------------------


def _title_box(title: str) -> str:
    return (
        f'<div class="carecircle-title" style="{_BOX_CSS}top:10px;left:50%;transform:translateX(-50%);'
        f'font-size:17px;font-weight:600;">{html.escape(title)}</div>'
    )


def _note_box(note: str) -> str:
    return (
        f'<div class="carecircle-note" style="{_BOX_CSS}bottom:40px;left:10px;max-width:320px;'
        f'font-size:12px;font-style:italic;">{html.escape(note)}</div>'
    )


def _headline_figures(
    result: CoverageResult, demand: gpd.GeoDataFrame, thresholds: tuple[float, ...]
) -> tuple[float, list[tuple[str, float, float]]]:
    """Elderly population and ``(label, covered persons, share)`` per threshold, from ``summary`` if there."""
    summary = result.summary or {}
    pop = pd.to_numeric(_col(demand, "population"), errors="coerce").fillna(0.0)
    elderly = float(summary.get("elderly_population", pop.sum()))
    rows = []
    for t in thresholds:
        lab = threshold_label(t)
        covered_col = _col(demand, f"covered_{lab}").fillna(False).astype(bool)
        covered = float(summary.get("covered", {}).get(lab, pop[covered_col].sum()))
        default_share = covered / elderly if elderly > 0 else float("nan")
        share = float(summary.get("share", {}).get(lab, default_share))
        rows.append((lab, covered, share))
    return elderly, rows


def _headline_box(
    result: CoverageResult, demand: gpd.GeoDataFrame, thresholds: tuple[float, ...], labels: Mapping[str, str]
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
    return (
        f'<div class="carecircle-headline" style="{_PANEL_CSS}">'
        "<style>.carecircle-headline td{padding:1px 0 1px 8px}.carecircle-headline td:first-child"
        "{padding-left:0}</style>"
        f'<table style="border-collapse:collapse">{"".join(cells)}</table></div>'
    )


def _left_column(boxes: list[str]) -> str:
    """Fixed column at the top left (below the zoom buttons) stacking the headline and the curve box."""
    return (
        '<div class="carecircle-left" style="position:fixed;z-index:1000;top:90px;left:10px;display:flex;'
        'flex-direction:column;align-items:flex-start;gap:8px;">' + "".join(boxes) + "</div>"
    )


def _nice_step(span: float, max_ticks: int = 8) -> float:
    """Smallest of 1, 2, 5, 10, 20, 50, ... giving at most ``max_ticks`` intervals over ``span``."""
    step = 1.0
    while span / step > max_ticks:
        for f in (2.0, 2.5, 2.0):  # 1 -> 2 -> 5 -> 10 -> ...
            step *= f
            if span / step <= max_ticks:
                break
    return step


def curve_svg(curve: pd.DataFrame | None, target_share: float | None = None, *, lang: str = "en") -> str:
    """The coverage curve as a small line chart in plain inline SVG, in a titled box (no script, no resource).

    The map's curve box (:func:`coverage_map` with ``curve=``) and the HTML report's chart are both this.

    Parameters
    ----------
    curve : pandas.DataFrame or None
        Coverage after 0, 1, 2, ... new sites (``Suggestion.curve``): columns ``sites`` and ``share`` (0..1).
        Rows with a missing or non-finite value are left out.
    target_share : float, optional
        Drawn as a dashed line with its label when within 0..1.
    lang : {"en", "zh"}
        Language of the title, axis labels, target label and point tooltips.

    Returns
    -------
    str
        ``<div class="carecircle-curve">`` holding the title and an ``<svg class="carecircle-curve-chart">``
        260 × 170 px; the empty string when ``curve`` is ``None`` or has no finite point.

    Raises
    ------
    InputError
        Unknown ``lang``; ``curve`` without a ``sites`` or ``share`` column.

    Examples
    --------
    >>> curve_svg(pd.DataFrame({"sites": [0, 1, 2], "share": [0.7, 0.8, 0.85]}), 0.9, lang="zh")[:28]
    '<div class="carecircle-curve'
    """
    labels = _labels(lang)
    points = _check_curve(curve)
    if points is None:
        return ""
    return _curve_box(points, target_share, labels)


def _curve_box(points: pd.DataFrame, target_share: float | None, labels: Mapping[str, str]) -> str:
    """A small line chart of the coverage curve in plain inline SVG (no script, no external resource)."""
    width, height = 260, 170
    left, right, top, bottom = 46, 12, 10, 36
    pw, ph = width - left - right, height - top - bottom
    xs = points["sites"].to_numpy(dtype=float)
    ys = np.clip(points["share"].to_numpy(dtype=float), 0.0, 1.0)
    x0, x1 = min(0.0, float(xs.min())), max(1.0, float(xs.max()))

    def sx(v: float) -> float:
        return left + (v - x0) / (x1 - x0) * pw

    def sy(v: float) -> float:
        return top + (1.0 - v) * ph

    grid, text = "#d9d9d9", "#444"
    parts = []
    for f in (0.0, 0.25, 0.5, 0.75, 1.0):
        y = sy(f)
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + pw}" y2="{y:.1f}" stroke="{grid}" '
                     'stroke-width="1"/>')
        parts.append(f'<text x="{left - 4}" y="{y + 3.5:.1f}" text-anchor="end" font-size="10" '
                     f'fill="{text}">{100 * f:.0f}%</text>')
    step = _nice_step(x1 - x0)
    tick = math.ceil(x0 / step) * step
    while tick <= x1 + 1e-9:
        x = sx(tick)
        parts.append(f'<line x1="{x:.1f}" y1="{top + ph}" x2="{x:.1f}" y2="{top + ph + 4}" stroke="{text}"/>')
        parts.append(f'<text x="{x:.1f}" y="{top + ph + 15}" text-anchor="middle" font-size="10" '
                     f'fill="{text}">{tick:g}</text>')
        tick += step
    parts.append(f'<line x1="{left}" y1="{top + ph}" x2="{left + pw}" y2="{top + ph}" stroke="{text}"/>')
    parts.append(f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + ph}" stroke="{text}"/>')
    if target_share is not None and not is_missing(target_share) and 0 <= float(target_share) <= 1:
        y = sy(float(target_share))
        target_text = html.escape(labels["curve_target"].format(target=fmt_share(target_share, labels)))
        parts.append(f'<line class="carecircle-curve-target" x1="{left}" y1="{y:.1f}" x2="{left + pw}" '
                     f'y2="{y:.1f}" stroke="{_BELOW_TARGET_COLOR}" stroke-width="1.5" stroke-dasharray="5 3"/>')
        label_y = y - 4 if y - 4 > top + 8 else y + 12
        parts.append(f'<text x="{left + pw - 2}" y="{label_y:.1f}" text-anchor="end" font-size="10" '
                     f'fill="{_BELOW_TARGET_COLOR}">{target_text}</text>')
    coords = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in zip(xs, ys, strict=True))
    parts.append(f'<polyline class="carecircle-curve-line" points="{coords}" fill="none" stroke="{_CURVE_COLOR}" '
                 'stroke-width="2" stroke-linejoin="round"/>')
    for x, y in zip(xs, ys, strict=True):
        tip = html.escape(labels["curve_point"].format(n=f"{x:g}", share=fmt_share(y, labels)))
        parts.append(f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="2.5" fill="{_CURVE_COLOR}">'
                     f"<title>{tip}</title></circle>")
    parts.append(f'<text x="{left + pw / 2:.1f}" y="{height - 4}" text-anchor="middle" font-size="11" '
                 f'fill="{text}">{html.escape(labels["curve_x"])}</text>')
    parts.append(f'<text transform="translate(12,{top + ph / 2:.1f}) rotate(-90)" text-anchor="middle" '
                 f'font-size="11" fill="{text}">{html.escape(labels["curve_y"])}</text>')
    title = html.escape(labels["curve_title"])
    return (
        f'<div class="carecircle-curve" style="{_PANEL_CSS}">'
        f'<div style="font-weight:600">{title}</div>'
        f'<svg class="carecircle-curve-chart" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="{title}" style="display:block">{"".join(parts)}</svg></div>'
    )


def _swatch(color: str, *, circle: bool = False, border: str = "1px solid #444") -> str:
    radius = "50%" if circle else "2px"
    return (
        f'<span style="display:inline-block;box-sizing:border-box;width:13px;height:13px;margin-right:6px;'
        f'vertical-align:-2px;background:{color};border:{border};border-radius:{radius}"></span>'
    )


def _legend_box(
    cmap: branca.colormap.LinearColormap,
    top: float,
    target_share: float,
    iso_colors: Mapping[str, str],
    type_colors: Mapping[str, str],
    labels: Mapping[str, str],
    *,
    suggested: bool = False,
    new_iso_layers: list[str] | None = None,
) -> str:
    top_lab = threshold_label(top)
    stops = ", ".join(f"{cmap.rgb_hex_str(x)} {100 * x:.0f}%" for x in np.linspace(0, 1, 11))
    parts = [
        f'<div class="carecircle-legend-title" style="font-weight:600">'
        f'{html.escape(labels["legend_share"].format(m=top_lab))}</div>',
        f'<div class="carecircle-share-scale" style="width:200px;height:12px;border:1px solid #888;'
        f'background:linear-gradient(to right, {stops})"></div>',
        '<div style="display:flex;justify-content:space-between;width:202px;font-size:11px">'
        + "".join(f"<span>{p}%</span>" for p in (0, 25, 50, 75, 100)) + "</div>",
        f'<div style="font-size:11px;color:#555">{_swatch(_NO_DATA_COLOR)}{html.escape(labels["na"])}'
        f' &nbsp; {_swatch("transparent", border=f"2px dashed {_BELOW_TARGET_COLOR}")}'
        f'{html.escape(labels["below_target_note"].format(target=fmt_share(target_share, labels)))}</div>',
    ]
    if iso_colors:
        parts.append(f'<div style="font-weight:600;margin-top:6px">{html.escape(labels["legend_iso"])}</div>')
        parts.extend(
            f"<div>{_swatch(c + '33', border=f'2px solid {c}')}"
            f"{html.escape(labels['iso_layer'].format(m=lab))}</div>"
            for lab, c in iso_colors.items()
        )
    dot = _swatch(_UNCOVERED_COLOR, circle=True, border=f"1px solid {_UNCOVERED_COLOR}")
    parts.append(
        f'<div style="margin-top:6px">{dot}'
        f'{html.escape(labels["legend_uncovered"].format(m=top_lab))}</div>'
    )
    if type_colors:
        heading = html.escape(labels["legend_types"])
        parts.append(f'<div style="font-weight:600;margin-top:6px">{heading}</div>')
        parts.extend(f"<div>{_swatch(c, circle=True, border='2px solid #fff')}"
                     f"{html.escape(type_label(t, labels['_lang']))}</div>" for t, c in type_colors.items())
    if suggested:
        icon = _site_icon_html("1", size=18).replace("<div ", '<div class="carecircle-legend-site" ', 1)
        parts.append(
            '<div style="margin-top:6px;display:flex;align-items:center;gap:6px">'
            f'{icon}<span>{html.escape(labels["legend_suggested"])}</span></div>'
        )
    for name in new_iso_layers or []:
        dashed = _swatch(_SUGGESTED_RING + "22", border=f"2px dashed {_SUGGESTED_FILL}")
        parts.append(f"<div>{dashed}{html.escape(name)}</div>")
    return (
        f'<div class="carecircle-legend" style="{_BOX_CSS}bottom:30px;right:10px;max-width:260px;">'
        f'{"".join(parts)}</div>'
    )


# --- comparison map (baseline vs plan) ----------------------------------------------------------

#: Texts of the comparison map, on top of :data:`_LABELS`. ``{base}``, ``{plan}``, ``{name}``: study labels.
_COMPARE_LABELS: dict[str, dict[str, str]] = {
    "en": {
        "title": "Scenario comparison: {base} → {plan}",
        "change_layer": "Change in coverage ({m} min)",
        "base_iso": "{name}: {m}-minute walk",
        "plan_iso": "{name}: {m}-minute walk",
        "newly_layer": "Newly covered elderly ({m} min)",
        "lost_layer": "No longer covered ({m} min)",
        "added_layer": "Added facilities",
        "removed_layer": "Removed facilities",
        "changed_layer": "Changed facilities",
        "legend_change": "Change in share within {m} min (points)",
        "community": "Community", "share_base": "Share, {name}", "share_plan": "Share, {name}",
        "covered_change": "Change in covered persons", "target": "Target",
        "now meets": "now meets the target", "now below": "now below the target",
        "population": "Elderly persons", "minutes_base": "Minutes, {name}", "minutes_plan": "Minutes, {name}",
        "facility": "Facility", "type": "Type", "details": "Change",
        "headline_minutes": "Within", "headline_new": "newly covered", "headline_lost": "no longer covered",
        "minutes_unit": "{m} min", "unreachable": "unreachable", "na": "n/a",
    },
    "zh": {
        "title": "方案比较：{base} → {plan}",
        "change_layer": "覆盖率变化（{m}分钟）",
        "base_iso": "{name}：{m}分钟步行范围",
        "plan_iso": "{name}：{m}分钟步行范围",
        "newly_layer": "新增覆盖老年人（{m}分钟）",
        "lost_layer": "失去覆盖老年人（{m}分钟）",
        "added_layer": "新增设施",
        "removed_layer": "撤除设施",
        "changed_layer": "调整设施",
        "legend_change": "{m}分钟覆盖率变化（百分点）",
        "community": "社区", "share_base": "覆盖率（{name}）", "share_plan": "覆盖率（{name}）",
        "covered_change": "覆盖人数变化", "target": "达标",
        "now meets": "新达标", "now below": "新不达标",
        "population": "老年人数", "minutes_base": "步行分钟（{name}）", "minutes_plan": "步行分钟（{name}）",
        "facility": "设施", "type": "类型", "details": "变化",
        "headline_minutes": "步行", "headline_new": "新增覆盖", "headline_lost": "失去覆盖",
        "minutes_unit": "{m}分钟", "unreachable": "不可达", "na": "无数据",
    },
}
_UP, _DOWN, _FLAT = "#1a9850", "#d73027", "#f7f7f7"
_BASE_ISO, _PLAN_ISO = "#737373", "#2171b5"
_ADDED, _REMOVED, _CHANGED = "#1a9850", "#d73027", "#ff7f00"


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
    labels = {**_labels(lang), **_COMPARE_LABELS[lang]}
    top = _focus_minutes(cmp) if minutes is None else float(minutes)
    if top not in cmp.thresholds_min:
        raise InputError(f"minutes={minutes!r} is not a threshold of the comparison "
                         f"({', '.join(map(threshold_label, cmp.thresholds_min))}).")
    m_lab = threshold_label(top)
    title = title or labels["title"].format(base=cmp.base_name, plan=cmp.plan_name)
    plan_cov = cmp.plan.coverage
    communities = _to_wgs84(plan_cov.communities, "communities")
    facilities = _to_wgs84(plan_cov.facilities, "facilities")
    demand = _to_wgs84(plan_cov.demand, "demand")
    changes = cmp.facilities
    bounds = _bounds(communities, facilities, demand, changes if len(changes) else None)

    fmap = folium.Map(location=[(bounds[0][0] + bounds[1][0]) / 2, (bounds[0][1] + bounds[1][1]) / 2],
                      zoom_start=14, tiles=None, control_scale=True)
    if tiles is not None:
        folium.TileLayer(tiles, control=False).add_to(fmap)
    _inline_leaflet(fmap)
    fmap.get_root().title = title

    span = _change_span(cmp, m_lab)
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
    type_colors = _type_colors(unchanged)
    _add_facilities(fmap, unchanged, tuple(float(t) for t in plan_cov.thresholds_min), type_colors, labels)
    for change, color, symbol in (("added", _ADDED, "+"), ("removed", _REMOVED, "×"), ("changed", _CHANGED, "~")):
        _add_changed_facilities(fmap, changes[changes["change"] == change], labels[f"{change}_layer"], color,
                                symbol, labels)
    folium.LayerControl(collapsed=False).add_to(fmap)

    root = fmap.get_root()
    root.html.add_child(folium.Element(_title_box(title)), name="carecircle_title")
    root.html.add_child(folium.Element(_left_column([_compare_headline_box(cmp, labels)])),
                        name="carecircle_headline")
    if note or cmp.plan.note:
        root.html.add_child(folium.Element(_note_box(note or cmp.plan.note)), name="carecircle_note")
    root.html.add_child(folium.Element(_compare_legend_box(cmap, span, m_lab, type_colors, cmp, labels)),
                        name="carecircle_legend")
    fmap.fit_bounds(bounds)
    return fmap


def _focus_minutes(cmp: Comparison) -> float:
    """The largest threshold at which coverage changes (else the largest threshold)."""
    h = cmp.headline
    moved = (h["covered_change"].abs() > 1e-9) | (h["newly_covered"].fillna(0) > 0) | (
        h["no_longer_covered"].fillna(0) > 0)
    return float(h.loc[moved, "minutes"].max()) if moved.any() else float(max(cmp.thresholds_min))


def _change_span(cmp: Comparison, lab: str) -> float:
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
    group = folium.FeatureGroup(name=labels["change_layer"].format(m=lab), show=True).add_to(fmap)
    if communities.empty or not len(cmp.communities):
        return
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
        ("name", labels["community"], lambda v: _fmt_text(v, labels)),
        ("_share_base", labels["share_base"].format(name=cmp.base_name), lambda v: fmt_share(v, labels)),
        ("_share_plan", labels["share_plan"].format(name=cmp.plan_name), lambda v: fmt_share(v, labels)),
        ("_covered_change", labels["covered_change"], lambda v: _fmt_signed(v, labels)),
        ("_target", labels["target"], lambda v: html.escape(str(v)) if v else ""),
    ]
    extra = {"_fill": [_NO_DATA_COLOR if not np.isfinite(c) else
                       cmap.rgb_hex_str(float(np.clip(c, cmap.vmin, cmap.vmax))) for c in change]}
    slim, keys, aliases = _popup_frame(rows, fields, extra)
    folium.GeoJson(
        slim,
        style_function=lambda f: {"fillColor": f["properties"]["_fill"], "color": "#555555", "weight": 1,
                                  "fillOpacity": 0.55},
        highlight_function=lambda _f: {"weight": 3, "color": "#000000"},
        popup=folium.GeoJsonPopup(fields=keys, aliases=aliases, localize=False, max_width=360),
        tooltip=folium.GeoJsonTooltip(fields=[keys[0]], labels=False),
        control=False,
    ).add_to(group)


def _add_scenario_isochrone(fmap: folium.Map, isochrones: gpd.GeoDataFrame | None, minutes: float, name: str,
                            color: str, *, dash: str | None = None) -> None:
    """One study's merged isochrone at ``minutes`` (the union of the per-facility ones when not merged)."""
    iso = _check_isochrones(isochrones)
    if iso is None:
        return
    rows = iso[np.isclose(pd.to_numeric(iso["minutes"], errors="coerce"), minutes)]
    merged = rows[rows["facility_id"].isna()]
    geoms = list(merged.geometry) if len(merged) else [unary_union(rows.geometry.to_numpy())]
    if not geoms or all(g is None or g.is_empty for g in geoms):
        return
    group = folium.FeatureGroup(name=name, show=True).add_to(fmap)
    style = {"color": color, "weight": 2, "fillColor": color, "fillOpacity": 0.08}
    if dash:
        style["dashArray"] = dash
    folium.GeoJson(gpd.GeoDataFrame(geometry=geoms, crs=4326), style_function=lambda _f, s=style: s,
                   interactive=False, control=False).add_to(group)


def _add_change_points(fmap: folium.Map, points: gpd.GeoDataFrame, flag: str, name: str, color: str,
                       cmp: Comparison, labels: Mapping[str, str], *, show: bool) -> None:
    """A layer of demand points flagged by ``flag`` (none when there are no such points)."""
    if points.empty or flag not in points:
        return
    rows = points[points[flag].to_numpy(dtype=bool)]
    if rows.empty:
        return
    group = folium.FeatureGroup(name=name, show=show).add_to(fmap)
    pop = pd.to_numeric(rows["population"], errors="coerce").fillna(0.0)
    extra = {"_radius": [float(np.clip(2.5 + math.sqrt(max(p, 0.0)) / 2.0, 3.0, 10.0)) for p in pop]}
    slim, keys, aliases = _popup_frame(rows, [
        ("population", labels["population"], lambda v: fmt_persons(v, labels)),
        ("time_min_base", labels["minutes_base"].format(name=cmp.base_name), lambda v: _fmt_minutes(v, labels)),
        ("time_min_plan", labels["minutes_plan"].format(name=cmp.plan_name), lambda v: _fmt_minutes(v, labels)),
    ], extra)
    folium.GeoJson(
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
    group = folium.FeatureGroup(name=name, show=True).add_to(fmap)
    rows = rows.assign(_type=[type_label(t, labels["_lang"]) if isinstance(t, str) else t for t in rows["type"]])
    slim, keys, aliases = _popup_frame(rows, [
        ("facility_id", labels["facility"], lambda v: _fmt_text(v, labels)),
        ("name", labels["name"], lambda v: _fmt_text(v, labels)),
        ("_type", labels["type"], lambda v: _fmt_text(v, labels)),
        ("details", labels["details"], lambda v: _fmt_text(v, labels) if v else ""),
    ], {"_html": [_symbol_html(symbol, color)] * len(rows)})
    icon = folium.DivIcon(class_name=f"carecircle-{name.split()[0].lower()}-facility", icon_size=(22, 22),
                          icon_anchor=(11, 11))
    folium.GeoJson(
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
        new = "" if is_missing(r["newly_covered"]) else (
            f"<div style='font-size:11px;color:#555'>+{r['newly_covered']:,.0f} {html.escape(labels['headline_new'])}"
            + (f", −{r['no_longer_covered']:,.0f} {html.escape(labels['headline_lost'])}"
               if r["no_longer_covered"] > 0 else "") + "</div>")
        cells.append(
            f"<tr><td>{html.escape(labels['minutes_unit'].format(m=lab))}</td>"
            f"<td style='text-align:right'>{fmt_share(r['share_base'], labels)}</td><td>→</td>"
            f"<td style='text-align:right;font-weight:600'>{fmt_share(r['share_plan'], labels)}</td>"
            f"<td style='text-align:right;color:{color}'>{100 * change:+.1f}</td></tr>"
            f"<tr><td></td><td colspan='4'>{new}</td></tr>")
    return (f'<div class="carecircle-headline carecircle-compare-headline" style="{_PANEL_CSS}">'
            "<style>.carecircle-headline td,.carecircle-headline th{padding:1px 0 1px 8px}"
            ".carecircle-headline td:first-child{padding-left:0}</style>"
            f'<table style="border-collapse:collapse">{"".join(cells)}</table></div>')


def _compare_legend_box(cmap: branca.colormap.LinearColormap, span: float, lab: str, type_colors: Mapping[str, str],
                        cmp: Comparison, labels: Mapping[str, str]) -> str:
    stops = ", ".join(f"{cmap.rgb_hex_str(x)} {100 * (x + span) / (2 * span):.0f}%"
                      for x in np.linspace(-span, span, 11))
    ticks = "".join(f"<span>{100 * v:+.3g}</span>" if abs(v) > 1e-12 else "<span>0</span>"
                    for v in np.linspace(-span, span, 5))
    parts = [
        f'<div style="font-weight:600">{html.escape(labels["legend_change"].format(m=lab))}</div>',
        f'<div style="width:200px;height:12px;border:1px solid #888;background:linear-gradient(to right, {stops})">'
        "</div>",
        f'<div style="display:flex;justify-content:space-between;width:202px;font-size:11px">{ticks}</div>',
        f'<div style="margin-top:6px">{_swatch(_BASE_ISO + "22", border=f"2px dashed {_BASE_ISO}")}'
        f'{html.escape(labels["base_iso"].format(name=cmp.base_name, m=lab))}</div>',
        f'<div>{_swatch(_PLAN_ISO + "22", border=f"2px solid {_PLAN_ISO}")}'
        f'{html.escape(labels["plan_iso"].format(name=cmp.plan_name, m=lab))}</div>',
        f'<div style="margin-top:6px">{_swatch(_UP, circle=True, border=f"1px solid {_UP}")}'
        f'{html.escape(labels["newly_layer"].format(m=lab))}</div>',
        f'<div>{_swatch(_DOWN, circle=True, border=f"1px solid {_DOWN}")}'
        f'{html.escape(labels["lost_layer"].format(m=lab))}</div>',
    ]
    if type_colors:
        parts.append(f'<div style="font-weight:600;margin-top:6px">{html.escape(labels["legend_types"])}</div>')
        parts.extend(f"<div>{_swatch(c, circle=True, border='2px solid #fff')}"
                     f"{html.escape(type_label(t, labels['_lang']))}</div>"
                     for t, c in type_colors.items())
    for change, color, symbol in (("added", _ADDED, "+"), ("removed", _REMOVED, "×"), ("changed", _CHANGED, "~")):
        if (cmp.facilities["change"] == change).any():
            text = html.escape(labels[f"{change}_layer"])
            parts.append('<div style="margin-top:4px;display:flex;align-items:center;gap:6px">'
                         f"{_symbol_html(symbol, color, 16)}<span>{text}</span></div>")
    return (f'<div class="carecircle-legend" style="{_BOX_CSS}bottom:30px;right:10px;max-width:280px;">'
            f'{"".join(parts)}</div>')

