"""What the maps share: Leaflet inlined, colours, boxes, popups, the facility layer, the coverage curve chart,
and writing or embedding a map.

Leaflet is inlined from ``carecircle/_vendor/leaflet``; nothing is loaded from a CDN, so a map works offline
(only the background tiles need the internet, and the map stays usable without them). folium's ``Popup`` needs
jQuery and branca's colormap legend needs d3, so popups here are :class:`folium.GeoJsonPopup` and legends are
plain HTML.
"""

from __future__ import annotations

import html
import logging
import math
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd

from carecircle.core.coverage import threshold_label
from carecircle.errors import InputError
from carecircle.formats import fmt_num, fmt_persons, fmt_share, fmt_text, is_missing
from carecircle.io.facility_types import TYPES, type_label
from carecircle.outputs.files import write_atomically
from carecircle.outputs.i18n import MAP_LABELS, in_language
from carecircle.outputs.maps.elements import geojson_layer, html_element, no_template

logger = logging.getLogger(__name__)

#: Coverage share scale, red (none covered) to green (all covered); the static PNG map uses it too.
SHARE_COLORS = ("#d73027", "#fc8d59", "#fee08b", "#91cf60", "#1a9850")
#: The interactive map's share scale is diverging at the target: reds to pale yellow below it, greens above.
_BELOW_SCALE = ("#a50026", "#f46d43", "#fdae61", "#fee08b")
_ABOVE_SCALE = ("#a6d96a", "#1a9850", "#006837")
NO_DATA_COLOR = "#bdbdbd"
BELOW_TARGET_COLOR = "#67001f"
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

PANEL_CSS = (
    "background:rgba(255,255,255,0.92);border-radius:4px;"
    "box-shadow:0 1px 4px rgba(0,0,0,0.35);font:13px/1.4 'Helvetica Neue',Arial,"
    "'PingFang SC','Microsoft YaHei','Noto Sans CJK SC',sans-serif;color:#222;padding:6px 10px;"
)
BOX_CSS = "position:fixed;z-index:1000;" + PANEL_CSS
#: Rules every map carries: no focus rectangle round a clicked shape (Leaflet's SVG paths take the browser's focus
#: outline), community names as plain haloed text, and compact controls in a small frame (a report's iframe).
MAP_CSS = (
    ".leaflet-interactive:focus,.leaflet-container path:focus{outline:none}"
    ".leaflet-tooltip.carecircle-label{background:transparent;border:none;box-shadow:none;padding:0;"
    "font:600 11px/1.2 'Helvetica Neue',Arial,'PingFang SC','Microsoft YaHei','Noto Sans CJK SC',sans-serif;"
    "color:#1a1a1a;text-shadow:0 0 3px #fff,0 0 3px #fff,0 0 2px #fff;white-space:nowrap}"
    ".leaflet-tooltip.carecircle-label:before{display:none}"
    "@media (max-width:1150px){.leaflet-control-layers{font-size:11.5px;line-height:1.25}"
    ".leaflet-control-layers-expanded{padding:4px 8px 4px 6px}"
    ".carecircle-legend,.carecircle-headline,.carecircle-note,.carecircle-curve{font-size:11px!important;"
    "padding:4px 7px!important}.carecircle-title{font-size:14px!important}"
    ".carecircle-curve svg{width:200px;height:auto}}"
)


# --- writing and embedding --------------------------------------------------------------------------------------------


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
    data = map_document(m).encode("utf-8")
    return write_atomically(path, lambda f: f.write(data), what="the map")


def map_document(m: folium.Map) -> str:
    """The whole self-contained HTML document of a map (what :func:`save_map` writes)."""
    return m.get_root().render()


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
    title = html.unescape(str(getattr(m.get_root(), "title", None) or "map"))
    return srcdoc_iframe(m.get_root().render(), title=title, width=width, height=height, lazy=True)


def srcdoc_iframe(doc: str, *, title: str = "map", width: str = "100%", height: str = "600px",
                  lazy: bool = False) -> str:
    """``<iframe srcdoc>`` holding a whole HTML document; quotes and ampersands escaped so it cannot break out."""
    loading = ' loading="lazy"' if lazy else ""
    return (f'<iframe srcdoc="{html.escape(doc, quote=True)}" title="{html.escape(title, quote=True)}" '
            f'style="width:{width};height:{height};border:none;"{loading} allowfullscreen></iframe>')


# --- set-up -----------------------------------------------------------------------------------------------------------


def base_map(location: list[float], title: str, tiles: str | None) -> folium.Map:
    """An empty map at ``location`` ([lat, lon]) with Leaflet inlined, one background (or none) and ``title``."""
    # Zoom in quarter steps: fitting the area at whole steps could leave it at half the frame's size.
    m = folium.Map(location=location, zoom_start=14, tiles=None, control_scale=True, zoom_snap=0.25)
    if tiles is not None:
        # One background only: keep it out of the layer control (a lone radio button explains nothing).
        folium.TileLayer(tiles, control=False).add_to(m)
    inline_leaflet(m)
    m.get_root().header.add_child(html_element(f"<style>{MAP_CSS}</style>"), name="carecircle_css")
    # branca writes the figure's title into <title> as it is: escaped here, so a title cannot close the element.
    m.get_root().title = html.escape(title, quote=True)
    return m


def add_layer(m: folium.Map, name: str, *, show: bool = True) -> folium.FeatureGroup:
    """A layer listed in the layer control under ``name``, a text (Leaflet sets the name as the label's HTML, so
    ``<``, ``>`` and ``&`` are escaped here; quotes need not be, the label is no attribute)."""
    return folium.FeatureGroup(name=no_template(html.escape(name, quote=False)), show=show).add_to(m)


def _read_vendor(name: str) -> str:
    text = resources.files("carecircle").joinpath("_vendor", "leaflet", name).read_text(encoding="utf-8")
    # Drop the source-map comment: the .map file is not shipped and devtools would try to fetch it.
    return "\n".join(line for line in text.splitlines() if not line.startswith("//# sourceMappingURL"))


def inline_leaflet(m: folium.Map) -> None:
    """Replace folium's CDN links (Leaflet, jQuery, Bootstrap, awesome-markers) by inline Leaflet."""
    # JSCSSMixin.render iterates self.default_js / self.default_css: instance attributes shadow the
    # class lists, so this map links nothing and other maps are unaffected.
    m.default_js = []
    m.default_css = []
    header = m.get_root().header
    css = html_element(f"<style>{_read_vendor('leaflet.css')}</style>")
    js = html_element(f"<script>{_read_vendor('leaflet.js')}</script>")
    header.add_child(css, name="leaflet_css_inline")
    header.add_child(js, name="leaflet_js_inline")


def check_isochrones(
    isochrones: gpd.GeoDataFrame | None, what: str = "isochrones"
) -> gpd.GeoDataFrame | None:
    if isochrones is None or len(isochrones) == 0:
        return None
    if "minutes" not in isochrones.columns:
        raise InputError(
            f"{what}: no 'minutes' column (columns: {', '.join(map(str, isochrones.columns))}); "
            "pass the output of the isochrone step."
        )
    iso = to_wgs84(isochrones, what)
    if "facility_id" not in iso.columns:
        iso = iso.assign(facility_id=None)
    return iso


def to_wgs84(gdf: gpd.GeoDataFrame, what: str) -> gpd.GeoDataFrame:
    if len(gdf) == 0:
        return gdf
    if gdf.crs is None:
        raise InputError(f"{what}: no CRS set; set it (e.g. gdf.set_crs('EPSG:4326')) before mapping.")
    if gdf.crs.to_epsg() != 4326:
        gdf = gdf.to_crs(4326)
    return gdf[~(gdf.geometry.isna() | gdf.geometry.is_empty)]


def map_bounds(communities: gpd.GeoDataFrame, facilities: gpd.GeoDataFrame, demand: gpd.GeoDataFrame,
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


def share_color(share: float, target: float | None) -> str:
    """Fill of a community covering ``share`` (0..1) with the coverage ``target``: a diverging scale whose break is
    the target, so 86 % under a 90 % target (orange-yellow) and 100 % (dark green) never look alike.

    Examples
    --------
    >>> share_color(0.86, 0.9) != share_color(1.0, 0.9)
    True
    """
    share = float(np.clip(share, 0.0, 1.0))
    if target is None or is_missing(target):  # no target: the plain red-to-green scale
        return _ramp(SHARE_COLORS, share)
    target = float(np.clip(target, 1e-6, 1.0))
    if share < target - 1e-9:
        return _ramp(_BELOW_SCALE, share / target)
    return _ramp(_ABOVE_SCALE, 1.0 if target >= 1.0 else (share - target) / (1.0 - target))


def share_gradient(target: float | None) -> str:
    """CSS ``linear-gradient`` stops of :func:`share_color` over 0..100 %, with the hard break at the target."""
    if target is None or is_missing(target):
        return ", ".join(f"{_ramp(SHARE_COLORS, f)} {100 * f:.0f}%" for f in np.linspace(0, 1, 11))
    target = float(np.clip(target, 1e-6, 1.0))
    stops = [f"{_ramp(_BELOW_SCALE, f)} {100 * f * target:.1f}%" for f in np.linspace(0, 1, 6)]
    if target < 1.0:
        stops += [f"{_ramp(_ABOVE_SCALE, f)} {100 * (target + f * (1 - target)):.1f}%" for f in np.linspace(0, 1, 4)]
    return ", ".join(stops)


def _ramp(colors: tuple[str, ...], f: float) -> str:
    """The colour at ``f`` (0..1) along ``colors``, interpolated in RGB."""
    f = float(np.clip(f, 0.0, 1.0)) * (len(colors) - 1)
    i = min(int(f), len(colors) - 2)
    a, b = (np.array([int(c[k:k + 2], 16) for k in (1, 3, 5)], dtype=float) for c in colors[i:i + 2])
    return "#{:02x}{:02x}{:02x}".format(*np.round(a + (b - a) * (f - i)).astype(int))


# --- isochrones -------------------------------------------------------------------------------------------------------

#: Walking bands, nearest first: a sequential blue scale (none of the share scale's reds and greens), the nearest
#: band darkest; more than three thresholds interpolate along it.
ISO_BAND_COLORS = ("#1d4f91", "#4a90c8", "#a6cee3", "#deebf7")


def iso_band_color(i: int, n: int) -> str:
    """Colour of the ``i``-th of ``n`` walking bands (ascending minutes): darkest first."""
    if n <= len(ISO_BAND_COLORS) - 1:
        return ISO_BAND_COLORS[i]
    return _ramp(ISO_BAND_COLORS, 0.0 if n <= 1 else i / (n - 1))


#: Fill opacity of the walking bands, nearest (darkest) first: each tints the communities' choropleth under it by
#: about the same small amount (CIE ΔE ≈ 4–7 on any share colour), so a community's coverage colour reads through
#: every band; the bands' outlines (:data:`ISO_BAND_OUTLINE`) mark where each ends.
ISO_BAND_FILL_OPACITY = (0.07, 0.09, 0.11, 0.14)
ISO_BAND_OUTLINE = {"weight": 1.6, "opacity": 0.9}


def iso_band_fill_opacity(i: int, n: int) -> float:
    """Fill opacity of the ``i``-th of ``n`` walking bands (ascending minutes): the darker, the fainter."""
    if n <= len(ISO_BAND_FILL_OPACITY) - 1:
        return ISO_BAND_FILL_OPACITY[i]
    f = 0.0 if n <= 1 else i / (n - 1) * (len(ISO_BAND_FILL_OPACITY) - 1)
    k = min(int(f), len(ISO_BAND_FILL_OPACITY) - 2)
    return ISO_BAND_FILL_OPACITY[k] + (ISO_BAND_FILL_OPACITY[k + 1] - ISO_BAND_FILL_OPACITY[k]) * (f - k)


# --- popups -----------------------------------------------------------------------------------------------------------


def fmt_minutes(value: Any, labels: Mapping[str, str]) -> str:
    if is_missing(value) or math.isinf(float(value)):
        return labels["unreachable"]
    return f"{float(value):.1f}"


def fmt_number(value: Any, labels: Mapping[str, str], decimals: int) -> str:
    """A number with ``decimals`` decimals and thousands separators; ``labels["na"]`` when missing or infinite."""
    if is_missing(value) or not math.isfinite(float(value)):
        return labels["na"]
    return f"{float(value):,.{decimals}f}"


def popup_text(value: Any, labels: Mapping[str, str]) -> str:
    """A value as HTML-escaped popup text (``labels["na"]`` when missing)."""
    return html.escape(fmt_text(value, labels))


def column_or_missing(df: pd.DataFrame, name: str) -> pd.Series:
    """Column ``name`` or an all-missing column when the input lacks it."""
    if name in df.columns:
        return df[name]
    return pd.Series([None] * len(df), index=df.index, dtype=object)


def popup_frame(
    gdf: gpd.GeoDataFrame, fields: list[tuple[str, str, Callable[[Any], str]]], extra: Mapping[str, Any]
) -> tuple[gpd.GeoDataFrame, list[str], list[str]]:
    """Slim frame for GeoJSON: display strings ``p0, p1, ...`` (HTML-escaped, ``{`` as ``&#123;``: see
    :func:`no_template`), style columns, geometry.

    ``fields`` holds (source column, label, formatter). Returns the frame, the popup keys and aliases.
    """
    props: dict[str, Any] = {}
    keys, aliases = [], []
    for i, (column, label, fmt) in enumerate(fields):
        key = f"p{i}"
        props[key] = [fmt(v) for v in column_or_missing(gdf, column)]
        keys.append(key)
        aliases.append(no_template(html.escape(label)))
    props.update(extra)
    props = {k: [no_template(v) if isinstance(v, str) else v for v in values] for k, values in props.items()}
    slim = gpd.GeoDataFrame(props, geometry=list(gdf.geometry), crs=4326)
    return slim, keys, aliases


# --- facilities -------------------------------------------------------------------------------------------------------


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


def facility_type_colors(facilities: gpd.GeoDataFrame) -> dict[str, str]:
    return type_colors(column_or_missing(facilities, "type"))


def add_facilities(
    m: folium.Map,
    facilities: gpd.GeoDataFrame,
    thresholds: tuple[float, ...],
    type_colors: Mapping[str, str],
    labels: Mapping[str, str],
    *,
    supply: str | None = None,
) -> None:
    """The facilities layer: markers coloured by type, popups with name, type, capacity and elderly served per
    threshold, and, when the facilities carry accessibility (``access_supply_ratio``), the catchment, the elderly
    within it and the ``supply`` (a noun: "beds") per 1,000 of them."""
    group = add_layer(m, labels["facilities_layer"])
    rows = facilities[facilities.geometry.geom_type == "Point"]
    if rows.empty:
        return
    fields: list[tuple[str, str, Callable[[Any], str]]] = [
        ("name", labels["name"], lambda v: popup_text(v, labels)),
        ("type", labels["type"], lambda v: popup_text(v if is_missing(v) else type_label(v, labels["_lang"]), labels)),
        ("capacity", labels["capacity"], lambda v: popup_text(v, labels)),
    ]
    for t in thresholds:
        lab = threshold_label(t)
        fields.append((f"served_{lab}", labels["served"].format(m=lab), lambda v: fmt_persons(v, labels)))
    if "access_supply_ratio" in rows.columns:
        ratio = labels["access_ratio"].format(supply=supply or labels["access_supply"])
        fields += [("access_catchment_min", labels["access_catchment"], lambda v: fmt_num(v, labels)),
                   ("access_demand", labels["access_demand"], lambda v: fmt_persons(v, labels)),
                   ("access_supply_ratio", ratio[:1].upper() + ratio[1:],
                    lambda v: fmt_number(v, labels, 1))]
    extra = {"_color": [type_colors.get(str(t), NO_DATA_COLOR) for t in column_or_missing(rows, "type")],
             "_mark": [1] * len(rows)}  # a marker community names keep clear of (label_script)
    slim, keys, aliases = popup_frame(rows, fields, extra)
    geojson_layer(
        slim,
        marker=folium.CircleMarker(radius=7, color="#ffffff", weight=2, fill=True, fill_opacity=0.95),
        style_function=lambda f: {"fillColor": f["properties"]["_color"]},
        popup=folium.GeoJsonPopup(fields=keys, aliases=aliases, localize=False, max_width=360),
        tooltip=folium.GeoJsonTooltip(fields=[keys[0]], labels=False),
        control=False,
    ).add_to(group)


# --- boxes ------------------------------------------------------------------------------------------------------------


def title_box(title: str) -> str:
    return (
        f'<div class="carecircle-title" style="{BOX_CSS}top:10px;left:50%;transform:translateX(-50%);'
        f'font-size:17px;font-weight:600;">{html.escape(title)}</div>'
    )


def note_box(note: str) -> str:
    return (
        f'<div class="carecircle-note" style="{BOX_CSS}bottom:58px;left:10px;max-width:320px;'
        f'font-size:12px;font-style:italic;">{html.escape(note)}</div>'
    )


def left_column(boxes: list[str]) -> str:
    """Fixed column at the top left (below the zoom buttons) stacking the headline and the curve box."""
    return (
        '<div class="carecircle-left" style="position:fixed;z-index:1000;top:90px;left:10px;display:flex;'
        'flex-direction:column;align-items:flex-start;gap:8px;">' + "".join(boxes) + "</div>"
    )


def swatch(color: str, *, circle: bool = False, border: str = "1px solid #444") -> str:
    radius = "50%" if circle else "2px"
    return (
        f'<span style="display:inline-block;box-sizing:border-box;width:13px;height:13px;margin-right:6px;'
        f'vertical-align:-2px;background:{color};border:{border};border-radius:{radius}"></span>'
    )


# --- the coverage curve -----------------------------------------------------------------------------------------------


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
    labels = in_language(MAP_LABELS, lang)
    points = _check_curve(curve)
    if points is None:
        return ""
    return _curve_box(points, target_share, labels)


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


def _nice_step(span: float, max_ticks: int = 8) -> float:
    """Smallest of 1, 2, 5, 10, 20, 50, ... giving at most ``max_ticks`` intervals over ``span``."""
    step = 1.0
    while span / step > max_ticks:
        for f in (2.0, 2.5, 2.0):  # 1 -> 2 -> 5 -> 10 -> ...
            step *= f
            if span / step <= max_ticks:
                break
    return step


def share_chart_svg(shares: Mapping[str, Any], thresholds: Sequence[float], target_share: float,
                    labels: Mapping[str, str], within: Mapping[str, str] | None = None, *,
                    before: Mapping[str, Any] | None = None) -> str:
    """The report's headline chart (``shares``: share per threshold label; ``labels``: the report's).

    Horizontal bars: share of elderly within each threshold, with the target as a dashed line (plain SVG); with
    ``before`` (shares before new sites), a light bar under each. A figure that the target line would cross goes
    inside its bar."""
    bar_h, gap, left, right, top_pad = 24, 10, 150, 70 if before is None else 130, 24
    width = 640
    pw = width - left - right
    height = top_pad + len(thresholds) * (bar_h + gap) + 22
    parts = []
    for f in (0.0, 0.25, 0.5, 0.75, 1.0):
        x = left + f * pw
        parts.append(f'<line x1="{x:.1f}" y1="{top_pad - 4}" x2="{x:.1f}" y2="{height - 18}" stroke="#e3e3e3"/>')
        parts.append(f'<text x="{x:.1f}" y="{height - 4}" text-anchor="middle" font-size="11" fill="#555">'
                     f"{100 * f:.0f}%</text>")
    for i, t in enumerate(thresholds):
        lab = threshold_label(t)
        share = shares.get(lab)
        y = top_pad + i * (bar_h + gap)
        w = 0.0 if is_missing(share) else max(0.0, min(1.0, float(share))) * pw
        parts.append(f'<text x="{left - 8}" y="{y + bar_h / 2 + 4:.1f}" text-anchor="end" font-size="12" '
                     f'fill="#222">{html.escape((within or {}).get(lab) or labels["within"].format(m=lab))}</text>')
        old = None if before is None else before.get(lab)
        text = fmt_share(share, labels)
        if not is_missing(old):
            wb = max(0.0, min(1.0, float(old))) * pw
            text = f"{fmt_share(old, labels)} → {text}"
            parts.append(f'<rect class="share-bar-before" x="{left}" y="{y}" width="{wb:.1f}" height="{bar_h}" '
                         f'fill="#9ecae1"><title>{html.escape(fmt_share(old, labels))}</title></rect>')
            parts.append(f'<rect class="share-bar" x="{left}" y="{y + bar_h / 4:.1f}" width="{w:.1f}" '
                         f'height="{bar_h / 2:.1f}" fill="{_CURVE_COLOR}">'
                         f"<title>{html.escape(fmt_share(share, labels))}</title></rect>")
        else:
            parts.append(f'<rect class="share-bar" x="{left}" y="{y}" width="{w:.1f}" height="{bar_h}" '
                         f'fill="{_CURVE_COLOR}"><title>{html.escape(text)}</title></rect>')
        text_w = 7.2 * len(text) + 6  # bold 12 px digits
        target_x = None if is_missing(target_share) else left + float(target_share) * pw
        crossed = target_x is not None and left + w - 2 <= target_x <= left + w + 6 + text_w
        if crossed and w > text_w + 8 and is_missing(old):
            parts.append(f'<text class="share-label" x="{left + w - 6:.1f}" y="{y + bar_h / 2 + 4:.1f}" '
                         f'text-anchor="end" font-size="12" font-weight="600" fill="#fff">{html.escape(text)}</text>')
        else:  # beside the bar, after the target line when it would cross the figure
            x = max(left + w, target_x if crossed else 0.0) + 6
            parts.append(f'<text class="share-label" x="{x:.1f}" y="{y + bar_h / 2 + 4:.1f}" font-size="12" '
                         f'font-weight="600" fill="#222">{html.escape(text)}</text>')
    if not is_missing(target_share) and 0 <= float(target_share) <= 1:
        x = left + float(target_share) * pw
        parts.append(f'<line class="target-line" x1="{x:.1f}" y1="{top_pad - 8}" x2="{x:.1f}" y2="{height - 18}" '
                     f'stroke="{BELOW_TARGET_COLOR}" stroke-width="1.5" stroke-dasharray="5 3"/>')
        target_text = labels["target_line"].format(target=fmt_share(target_share, labels))
        parts.append(f'<text x="{x:.1f}" y="{top_pad - 11}" text-anchor="middle" font-size="11" '
                     f'fill="{BELOW_TARGET_COLOR}">{html.escape(target_text)}</text>')
    caption = html.escape(labels["share_chart"])
    return (f'<figure class="chart"><svg class="share-chart" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" role="img" aria-label="{caption}">{"".join(parts)}</svg>'
            f"<figcaption class=meta>{caption}</figcaption></figure>")


def share_axis(shares: np.ndarray, target_share: float | None = None) -> tuple[float, list[float]]:
    """The bottom of a share axis and its ticks: 0–100 % when the data spread widely, else starting a little below
    the lowest share (and the target), so that a 95 → 100 % change is not flattened into the top line.

    Examples
    --------
    >>> share_axis(np.array([0.954, 0.99, 1.0]), 0.9)
    (0.85, [0.85, 0.9, 0.95, 1.0])
    """
    low = float(np.nanmin(shares)) if len(shares) else 0.0
    if target_share is not None and not is_missing(target_share):
        low = min(low, float(target_share))
    step = next((s for s in (0.01, 0.02, 0.05, 0.1) if (1.0 - low) / s <= 4), None)
    if step is None:
        return 0.0, [0.0, 0.25, 0.5, 0.75, 1.0]
    y0 = max(0.0, math.floor((low - step / 2) / step + 1e-9) * step)
    n = round((1.0 - y0) / step)
    return round(y0, 4), [round(y0 + i * step, 4) for i in range(n + 1)]


def _curve_box(points: pd.DataFrame, target_share: float | None, labels: Mapping[str, str]) -> str:
    """A small line chart of the coverage curve in plain inline SVG (no script, no external resource)."""
    width, height = 260, 170
    left, right, top, bottom = 46, 12, 10, 36
    pw, ph = width - left - right, height - top - bottom
    xs = points["sites"].to_numpy(dtype=float)
    ys = np.clip(points["share"].to_numpy(dtype=float), 0.0, 1.0)
    x0, x1 = min(0.0, float(xs.min())), max(1.0, float(xs.max()))
    y0, ticks = share_axis(ys, target_share)

    def sx(v: float) -> float:
        return left + (v - x0) / (x1 - x0) * pw

    def sy(v: float) -> float:
        return top + (1.0 - v) / (1.0 - y0) * ph

    grid, text = "#d9d9d9", "#444"
    parts = []
    for f in ticks:
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
    if target_share is not None and not is_missing(target_share) and y0 <= float(target_share) <= 1:
        y = sy(float(target_share))
        target_text = html.escape(labels["curve_target"].format(target=fmt_share(target_share, labels)))
        parts.append(f'<line class="carecircle-curve-target" x1="{left}" y1="{y:.1f}" x2="{left + pw}" '
                     f'y2="{y:.1f}" stroke="{BELOW_TARGET_COLOR}" stroke-width="1.5" stroke-dasharray="5 3"/>')
        label_y = y - 4 if y - 4 > top + 8 else y + 12
        parts.append(f'<text x="{left + pw - 2}" y="{label_y:.1f}" text-anchor="end" font-size="10" '
                     f'fill="{BELOW_TARGET_COLOR}">{target_text}</text>')
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
        f'<div class="carecircle-curve" style="{PANEL_CSS}">'
        f'<div style="font-weight:600">{title}</div>'
        f'<svg class="carecircle-curve-chart" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="{title}" style="display:block">{"".join(parts)}</svg></div>'
    )
