"""Static PNG map of a study, for documents that cannot hold HTML (Word, PDF, slides).

Drawn with matplotlib's Agg renderer, offline: no background tiles. Communities are coloured by the share of
their elderly within the largest walking time (the map's red-to-green scale), communities below target get a
dashed outline, the merged isochrone of the largest threshold is outlined, facilities are coloured by type (the
colours of the interactive map, :data:`carecircle.outputs.maps.TYPE_COLORS`) and suggested new sites are numbered
squares, all over the walking network drawn faintly. A legend (beside the map, or below it when that leaves the
map larger; never cut at the image edge), a scale bar, an optional north arrow and the OpenStreetMap attribution
complete it.

Chinese labels (``lang="zh"``) need a font with CJK glyphs; :func:`cjk_font` looks for one among the installed
fonts (WenQuanYi Zen Hei from Debian's ``fonts-wqy-zenhei``, Noto Sans CJK, Source Han Sans, SimHei, Microsoft
YaHei, PingFang, ...). Without one the map is drawn with English labels and a warning is logged once, never with
empty boxes in place of characters.
"""

from __future__ import annotations

import io
import logging
import math
import os
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from carecircle.core.coverage import threshold_label
from carecircle.errors import InputError
from carecircle.io.facility_types import type_label
from carecircle.outputs.files import write_atomically
from carecircle.outputs.i18n import STATIC_MAP_LABELS, in_language
from carecircle.outputs.maps import SHARE_COLORS, type_colors

if TYPE_CHECKING:
    from matplotlib.figure import Figure  # lazy: matplotlib is heavy and only the PNG needs it

    from carecircle.plan.results import StudyResult, Suggestion

logger = logging.getLogger(__name__)

__all__ = ["cjk_font", "static_map_bytes", "static_map_figure", "static_map_png"]

#: Font families with CJK glyphs, in order of preference.
CJK_FONTS = (
    "WenQuanYi Zen Hei", "WenQuanYi Micro Hei", "Noto Sans CJK SC", "Noto Sans CJK JP", "Noto Sans SC",
    "Source Han Sans SC", "Source Han Sans CN", "Source Han Sans", "SimHei", "Microsoft YaHei", "PingFang SC",
    "Hiragino Sans GB", "STHeiti", "Heiti SC", "Droid Sans Fallback", "AR PL UMing CN", "Arial Unicode MS",
)
_LATIN_FONT = "DejaVu Sans"

_NO_DATA_COLOR = "#bdbdbd"
_BELOW_TARGET_COLOR = "#67001f"
_ISO_COLOR = "#08519c"
_SUGGESTED_FILL = "#1a1a1a"
_SUGGESTED_RING = "#ffb000"
_NETWORK_COLOR = "#4d4d4d"
#: Legend labels wrap at this many characters (Chinese: fewer, each glyph being about twice as wide).
_WRAP_CHARS = {"en": 32, "zh": 15}
ATTRIBUTION = "© OpenStreetMap contributors (ODbL)"

_warned_no_cjk = False


def cjk_font() -> str | None:
    """Name of an installed font family with Chinese glyphs (first of :data:`CJK_FONTS` found), or ``None``."""
    found = _find_cjk_font()
    return found[0] if found else None


def _find_cjk_font() -> tuple[str, str] | None:
    """``(family name, font file)`` of the first installed font of :data:`CJK_FONTS`, or ``None``."""
    from matplotlib import font_manager  # lazy: matplotlib is heavy and only the PNG needs it

    files: dict[str, str] = {}
    for f in font_manager.fontManager.ttflist:
        files.setdefault(f.name, f.fname)
    return next(((name, files[name]) for name in CJK_FONTS if name in files), None)


def static_map_figure(
    study: StudyResult,
    *,
    lang: str = "en",
    suggestion: Suggestion | None = None,
    title: str | None = None,
    size_in: tuple[float, float] = (10.0, 8.0),
    north_arrow: bool = True,
) -> Figure:
    """The static map as a matplotlib :class:`~matplotlib.figure.Figure` (not attached to pyplot).

    Parameters are those of :func:`static_map_png`, plus ``size_in`` (width, height in inches). The figure's
    texts use a CJK font with ``lang="zh"`` (see :func:`cjk_font`), else DejaVu Sans (with a CJK font as
    fallback for Chinese names, when one is installed).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # lazy: matplotlib is heavy and only the PNG needs it
    from matplotlib.colors import LinearSegmentedColormap, Normalize, to_rgba
    from matplotlib.figure import Figure  # lazy: matplotlib is heavy and only the PNG needs it
    from matplotlib.font_manager import FontProperties  # lazy: matplotlib is heavy and only the PNG needs it
    from matplotlib.lines import Line2D  # lazy: matplotlib is heavy and only the PNG needs it
    from matplotlib.patches import Patch  # lazy: matplotlib is heavy and only the PNG needs it

    in_language(STATIC_MAP_LABELS, lang)  # an unknown language is an error, with or without a CJK font
    cjk = _find_cjk_font()
    if lang == "zh" and cjk is None:
        _warn_no_cjk()
        lang = "en"
    labels = in_language(STATIC_MAP_LABELS, lang)
    if lang == "zh":
        # The font file itself: the CJK fonts also hold Latin glyphs, and naming the file spares matplotlib's
        # weight matching (WenQuanYi has only a medium weight, and findfont warns about every other).
        font = FontProperties(fname=cjk[1])
    elif cjk is not None and not (title or str(getattr(study, "name", ""))).isascii():
        font = FontProperties(family=[_LATIN_FONT, cjk[0]])  # Chinese in a name or title: CJK as fallback
    else:
        font = FontProperties(family=_LATIN_FONT)

    cov = suggestion.after if suggestion is not None else study.coverage
    crs = _metric_crs(study, cov)
    thresholds = [float(t) for t in cov.thresholds_min]
    top = threshold_label(max(thresholds))
    communities = _project(cov.communities, crs)
    facilities = _project(cov.facilities, crs)
    if len(facilities) and "type" in facilities:
        facilities = facilities[facilities["type"].astype(str) != "suggested"]
    sites = _project(suggestion.sites, crs) if suggestion is not None else None
    iso = _top_isochrone(getattr(study, "isochrones", None), max(thresholds), crs)
    if not len(communities) and not len(facilities):
        raise InputError("nothing to draw: the study has no communities and no facilities.")

    fig = Figure(figsize=size_in, layout=None)
    FigureCanvasAgg(fig)  # a renderer, to measure the legend
    ax = fig.add_axes((0.02, 0.05, 0.70, 0.85))
    ax.set_aspect("equal")
    ax.set_axis_off()
    cmap = LinearSegmentedColormap.from_list("share", list(SHARE_COLORS))
    norm = Normalize(0.0, 1.0)
    x0, y0, x1, y1 = _view_bounds([communities, facilities, sites, iso])
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    network = getattr(study, "network", None)
    if network is not None:
        _draw_network(ax, network, crs)

    handles: list[Any] = []
    if len(communities):
        share = pd.to_numeric(communities.get(f"share_{top}"), errors="coerce")
        # RGBA tuples throughout: a hex string among tuples makes matplotlib's colour array ragged.
        values = share.to_numpy(dtype=float)
        colors = cmap(norm(np.nan_to_num(values)))
        colors[np.isnan(values)] = to_rgba(_NO_DATA_COLOR)
        ax.add_collection(_polygons(communities.geometry.values, facecolors=colors, edgecolors="white",
                                    linewidths=0.8, alpha=0.72, zorder=1), autolim=False)
        below = communities[communities.get("below_target", pd.Series(False, index=communities.index))
                            .fillna(False).astype(bool).to_numpy()]
        if len(below):
            ax.add_collection(_lines(below.boundary.values, colors=_BELOW_TARGET_COLOR, linewidths=1.6,
                                     linestyles="--", zorder=3), autolim=False)
            handles.append(Line2D([], [], color=_BELOW_TARGET_COLOR, linestyle="--",
                                  label=labels["below"].format(target=f"{100 * cov.target_share:.0f}%")))
        if share.isna().any():
            handles.append(Patch(facecolor=_NO_DATA_COLOR, edgecolor="white", label=labels["no_data"]))
    if iso is not None:
        ax.add_collection(_lines(iso.boundary.values, one_path=True, facecolors="none", edgecolors=_ISO_COLOR,
                                 linewidths=1.4, zorder=2), autolim=False)
        handles.append(Line2D([], [], color=_ISO_COLOR, linewidth=1.4, label=labels["iso"].format(m=top)))
    if len(facilities):
        types = facilities["type"].astype(str) if "type" in facilities else pd.Series("unspecified",
                                                                                    index=facilities.index)
        for code, color in type_colors(types).items():
            rows = facilities[(types == code).to_numpy()]
            ax.scatter(rows.geometry.x, rows.geometry.y, s=52, color=color, edgecolors="white", linewidths=1.4,
                       zorder=5)
            handles.append(Line2D([], [], marker="o", linestyle="", markersize=7.5, markerfacecolor=color,
                                  markeredgecolor="white", label=_type_name(code, lang)))
    if sites is not None and len(sites):
        ranks = pd.to_numeric(sites["rank"], errors="coerce") if "rank" in sites else pd.Series(
            np.arange(1, len(sites) + 1), index=sites.index)
        pts = sites.geometry.representative_point()
        for p, r in zip(pts, ranks, strict=True):
            ax.scatter([p.x], [p.y], s=170, marker="s", color=_SUGGESTED_FILL, edgecolors=_SUGGESTED_RING,
                       linewidths=1.8, zorder=6)
            ax.text(p.x, p.y, "?" if pd.isna(r) else f"{r:g}", color="white", fontsize=7.5, fontweight="bold",
                    ha="center", va="center", zorder=7, fontproperties=font)
        handles.append(Line2D([], [], marker="s", linestyle="", markersize=9, markerfacecolor=_SUGGESTED_FILL,
                              markeredgecolor=_SUGGESTED_RING, label=labels["suggested"]))
    for h in handles:
        h.set_label(_wrap(h.get_label(), _WRAP_CHARS[lang]))

    fig.text(0.5, 0.955, title or f"{labels['title']} — {getattr(study, 'name', '')}".rstrip(" —"),
             ha="center", va="center", fontsize=15, fontweight="bold", fontproperties=font, gid="title")
    _scale_bar(ax, font)
    if north_arrow:
        _north_arrow(ax, font)
    fig.text(0.99, 0.012, ATTRIBUTION, ha="right", va="bottom", fontsize=7.5, color="#444", fontproperties=font,
             gid="attribution")
    _place_key(fig, ax, handles, cmap, norm, labels["share"].format(m=top), font)
    return fig


def static_map_png(
    study: StudyResult,
    path: str | os.PathLike[str],
    *,
    lang: str = "en",
    suggestion: Suggestion | None = None,
    dpi: int = 150,
    title: str | None = None,
    size_in: tuple[float, float] = (10.0, 8.0),
    north_arrow: bool = True,
) -> Path:
    """Write a static PNG map of a study (``size_in`` × ``dpi`` pixels, 1500 × 1200 by default), atomically.

    Parameters
    ----------
    study : StudyResult
        Output of :func:`carecircle.run_study`.
    path : str or os.PathLike
        Target ``.png``; its directory must exist.
    lang : {"en", "zh"}
        Language of the labels. Chinese needs an installed CJK font; without one the labels fall back to
        English and a warning is logged once.
    suggestion : Suggestion, optional
        Draw the coverage with the suggested sites (numbered by rank) instead of the study's own coverage.
    dpi : int
        Resolution in dots per inch.
    title : str, optional
        Title text; default "15-minute elder-care circle — <study name>" in ``lang``.
    size_in : (float, float)
        Width and height in inches.
    north_arrow : bool
        Draw a north arrow (grid north of the study's UTM zone).

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    InputError
        Unknown ``lang``; nothing to draw.
    OutputError
        The directory does not exist or cannot be written.

    Examples
    --------
    >>> static_map_png(carecircle.run_study(), "map.png", lang="zh")  # doctest: +SKIP
    """
    data = static_map_bytes(study, lang=lang, suggestion=suggestion, dpi=dpi, title=title, size_in=size_in,
                            north_arrow=north_arrow)
    return write_atomically(path, lambda f: f.write(data), what="the PNG map")


def static_map_bytes(
    study: StudyResult,
    *,
    lang: str = "en",
    suggestion: Suggestion | None = None,
    dpi: int = 150,
    title: str | None = None,
    size_in: tuple[float, float] = (10.0, 8.0),
    north_arrow: bool = True,
) -> bytes:
    """The static map as PNG bytes (parameters as for :func:`static_map_png`), e.g. to embed in the report."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # matplotlib is heavy: loaded when drawing

    fig = static_map_figure(study, lang=lang, suggestion=suggestion, title=title, size_in=size_in,
                            north_arrow=north_arrow)
    FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, facecolor="white")
    return buffer.getvalue()


# --- helpers ------------------------------------------------------------------------------------------


def _warn_no_cjk() -> None:
    global _warned_no_cjk
    if not _warned_no_cjk:
        logger.warning("static map: no font with Chinese characters is installed (e.g. apt-get install "
                       "fonts-wqy-zenhei, or Noto Sans CJK); drawing the PNG map with English labels.")
        _warned_no_cjk = True


def _type_name(code: str, lang: str) -> str:
    try:
        return type_label(code, lang)
    except (KeyError, InputError):
        return code


def _metric_crs(study: Any, cov: Any) -> Any:
    network = getattr(study, "network", None)
    crs = getattr(network, "crs", None)
    if crs:
        return crs
    frames = [f for f in (cov.communities, cov.facilities) if f is not None and len(f)]
    return frames[0].estimate_utm_crs() if frames else "EPSG:3857"


def _project(gdf: gpd.GeoDataFrame | None, crs: Any) -> gpd.GeoDataFrame:
    if gdf is None or len(gdf) == 0:
        return gpd.GeoDataFrame(geometry=[], crs=crs)
    if gdf.crs is None:
        raise InputError("a layer to draw has no CRS; set it (e.g. gdf.set_crs('EPSG:4326')).")
    out = gdf.to_crs(crs)
    return out[~(out.geometry.isna() | out.geometry.is_empty)]


def _top_isochrone(iso: gpd.GeoDataFrame | None, minutes: float, crs: Any) -> gpd.GeoSeries | None:
    """The merged isochrone of ``minutes`` (or the union of the per-facility ones), projected."""
    if iso is None or len(iso) == 0 or "minutes" not in iso.columns:
        return None
    rows = iso[np.isclose(pd.to_numeric(iso["minutes"], errors="coerce"), minutes)]
    if "facility_id" in rows.columns and rows["facility_id"].isna().any():
        rows = rows[rows["facility_id"].isna().to_numpy()]
    if rows.empty:
        return None
    shapes = rows.to_crs(crs).geometry
    # One merged polygon is drawn as it is: uniting it with nothing would only re-node it (1 s at 100k nodes).
    return gpd.GeoSeries([shapes.iloc[0] if len(shapes) == 1 else shapes.union_all()], crs=crs)


def _view_bounds(layers: list[Any]) -> tuple[float, float, float, float]:
    """``(xmin, ymin, xmax, ymax)`` of the drawn layers plus a margin (4% of the larger side, at least 40 m)."""
    boxes = [layer.total_bounds for layer in layers if layer is not None and len(layer)]
    b = np.vstack(boxes)
    x0, y0, x1, y1 = float(b[:, 0].min()), float(b[:, 1].min()), float(b[:, 2].max()), float(b[:, 3].max())
    margin = max(0.04 * max(x1 - x0, y1 - y0), 40.0)
    return x0 - margin, y0 - margin, x1 + margin, y1 + margin


def _polygons(geoms: np.ndarray, **style: Any) -> Any:
    """(Multi)Polygons as one collection of compound paths, one per geometry, with matplotlib ``style``.

    The paths are those geopandas' ``plot`` draws (normalised geometry; each ring a sub-path, closed), built
    from coordinate arrays instead of a patch per feature, and without the full redraw of the figure that
    geopandas asks for after every layer.
    """
    from matplotlib.collections import PathCollection  # lazy: matplotlib is heavy and only the PNG needs it
    from matplotlib.path import Path as MplPath  # lazy: matplotlib is heavy and only the PNG needs it

    parts, part_geom = shapely.get_parts(shapely.normalize(geoms), return_index=True)
    rings, ring_part = shapely.get_rings(parts, return_index=True)
    xy, coord_ring = shapely.get_coordinates(rings, return_index=True)
    codes = np.full(len(xy), MplPath.LINETO, dtype=MplPath.code_type)
    starts = np.flatnonzero(np.r_[True, np.diff(coord_ring) != 0])
    codes[starts] = MplPath.MOVETO
    codes[np.r_[starts[1:], len(xy)] - 1] = MplPath.CLOSEPOLY
    cuts = np.flatnonzero(np.diff(part_geom[ring_part[coord_ring]])) + 1
    paths = [MplPath(v, c) for v, c in zip(np.split(xy, cuts), np.split(codes, cuts), strict=True)]
    return PathCollection(paths, **style)


def _lines(geoms: np.ndarray, *, one_path: bool = False, **style: Any) -> Any:
    """The parts of (Multi)LineStrings as geopandas' ``plot`` draws them (normalised, a line per part), from
    coordinate arrays: a :class:`~matplotlib.collections.LineCollection` with a path per part, or with
    ``one_path`` a collection of one path holding every part (the same strokes for an opaque solid line, without
    a Python object per part: the outline of a city's isochrone has 100,000s of rings)."""
    from matplotlib.collections import LineCollection, PathCollection  # lazy: matplotlib is heavy, PNG only
    from matplotlib.path import Path as MplPath  # lazy: matplotlib is heavy and only the PNG needs it

    parts = shapely.get_parts(shapely.normalize(geoms))
    xy, coord_part = shapely.get_coordinates(parts, return_index=True)
    starts = np.flatnonzero(np.diff(coord_part)) + 1
    if not one_path:
        return LineCollection(np.split(xy, starts), **style)
    codes = np.full(len(xy), MplPath.LINETO, dtype=MplPath.code_type)
    codes[np.r_[0, starts][: len(xy)]] = MplPath.MOVETO
    return PathCollection([MplPath(xy, codes)], **style)


def _draw_network(ax: Any, network: Any, crs: Any) -> None:
    """The walking network's segments in the view, thin and faint, under everything else.

    The segments form one path (a move and a line per segment): the same strokes as a collection of a path
    per segment, drawn in a fraction of the time (1.9 million segments: a 1M-node city).
    """
    from matplotlib.collections import PathCollection  # lazy: matplotlib is heavy and only the PNG needs it
    from matplotlib.path import Path as MplPath  # lazy: matplotlib is heavy and only the PNG needs it

    xy = np.asarray(getattr(network, "node_xy", np.empty((0, 2))), dtype=float)
    u = np.asarray(getattr(network, "edge_u", []), dtype=np.int64)
    v = np.asarray(getattr(network, "edge_v", []), dtype=np.int64)
    if not len(u) or not len(xy):
        return
    if network.crs is not None and pyproj.CRS.from_user_input(network.crs) != pyproj.CRS.from_user_input(crs):
        x, y = pyproj.Transformer.from_crs(network.crs, crs, always_xy=True).transform(xy[:, 0], xy[:, 1])
        xy = np.column_stack([x, y])
    segs = np.stack([xy[u], xy[v]], axis=1)
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    lo, hi = segs.min(axis=1), segs.max(axis=1)
    keep = (hi[:, 0] >= x0) & (lo[:, 0] <= x1) & (hi[:, 1] >= y0) & (lo[:, 1] <= y1)
    codes = np.tile(np.array([MplPath.MOVETO, MplPath.LINETO], dtype=MplPath.code_type), int(keep.sum()))
    path = MplPath(segs[keep].reshape(-1, 2), codes)
    ax.add_collection(PathCollection([path], facecolors="none", edgecolors=_NETWORK_COLOR, linewidths=0.45,
                                     alpha=0.5, zorder=0, gid="network"), autolim=False)


def _wrap(text: str, width: int) -> str:
    """``text`` wrapped at ``width`` characters: at spaces, or anywhere in text without spaces (Chinese)."""
    if len(text) <= width:
        return text
    if " " in text.strip():
        return textwrap.fill(text, width, break_long_words=False, break_on_hyphens=False)
    return textwrap.fill(text, width)


def _colorbar(fig: Any, cax: Any, cmap: Any, norm: Any, label: str, font: Any) -> None:
    from matplotlib.cm import ScalarMappable  # lazy: matplotlib is heavy and only the PNG needs it

    bar = fig.colorbar(ScalarMappable(norm=norm, cmap=cmap), cax=cax, orientation="horizontal")
    bar.set_ticks([0, 0.25, 0.5, 0.75, 1.0], labels=["0%", "25%", "50%", "75%", "100%"])
    bar.ax.tick_params(labelsize=8)
    cax.set_title(label, fontproperties=font, fontsize=9.5, loc="left")


# Figure fractions: the map band between the title and the attribution line, and the padding at the edges.
_TOP, _BOTTOM, _PAD, _GAP = 0.90, 0.045, 0.015, 0.025


def _place_key(fig: Any, ax: Any, handles: list[Any], cmap: Any, norm: Any, label: str, font: Any) -> None:
    """Place the share colour bar and the legend beside the map or below it, whichever leaves the map larger.

    Sizes are measured with the figure's renderer, so long labels (wrapped by :func:`_wrap`) make room for
    themselves: the map shrinks, nothing is cut at the image edge. Fractions of the figure do not depend on
    the dpi of the saved image.
    """
    renderer = fig.canvas.get_renderer()
    fw, fh = fig.bbox.width, fig.bbox.height
    w_in, h_in = fig.get_size_inches()
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    dx, dy = x1 - x0, y1 - y0

    cax = fig.add_axes((0.0, 0.0, 2.2 / w_in, 0.2 / h_in))
    _colorbar(fig, cax, cmap, norm, label, font)
    pos, tight = cax.get_window_extent(renderer), cax.get_tightbbox(renderer)
    cb_w, cb_h = tight.width / fw, tight.height / fh
    cb_left, cb_top = (pos.x0 - tight.x0) / fw, (tight.y1 - pos.y1) / fh  # title and tick labels stick out

    def put_colorbar(left: float, top: float) -> None:
        cax.set_position((left + cb_left, top - cb_top - pos.height / fh, pos.width / fw, pos.height / fh))

    size = 9.0
    while True:
        legend_font = font.copy()
        legend_font.set_size(size)
        sizes = {}
        for ncols in sorted({1, 2, 3, 4, len(handles)} if handles else {1}):
            if handles and ncols <= len(handles):
                leg = fig.legend(handles=handles, loc="upper left", bbox_to_anchor=(0, 1), frameon=False,
                                 prop=legend_font, ncols=ncols, borderaxespad=0)
                box = leg.get_window_extent(renderer)
                leg.remove()
                sizes[ncols] = (box.width / fw, box.height / fh)
            elif not handles:
                sizes[ncols] = (0.0, 0.0)
        layouts = []  # (map scale, kind, ncols, map box)
        for ncols, (lw, lh) in sizes.items():
            key_w = max(cb_w, lw)
            # beside: colour bar on top of the legend in a column at the right
            if ncols <= 2 and _TOP - 0.04 - cb_h - _GAP - lh >= _BOTTOM:
                box = (_PAD, _BOTTOM, 1 - 3 * _PAD - key_w, _TOP - _BOTTOM)
                layouts.append((_scale(box, w_in, h_in, dx, dy), "right", ncols, box, key_w))
            # below: colour bar at the left, the legend to its right, in a band above the attribution
            if _PAD + cb_w + 2 * _GAP + lw <= 1 - _PAD:
                key_h = max(cb_h, lh)
                bottom = _BOTTOM + key_h + _GAP
                box = (_PAD, bottom, 1 - 2 * _PAD, _TOP - bottom)
                layouts.append((_scale(box, w_in, h_in, dx, dy), "below", ncols, box, key_h))
        if layouts or size <= 6:
            break
        size -= 1.0
    if not layouts:  # labels too long even in 6-point type: beside the map, the map as small as it must be
        lw, lh = sizes[1]
        key_w = max(cb_w, lw)
        layouts = [(0.0, "right", 1, (_PAD, _BOTTOM, max(1 - 3 * _PAD - key_w, 0.1), _TOP - _BOTTOM), key_w)]
    # The largest map; between near ties (within 3%) the earlier layout: fewer legend columns, beside first.
    best = max(s for s, *_ in layouts)
    scale, kind, ncols, box, extent = next(lay for lay in layouts if lay[0] >= 0.97 * best)
    if kind == "right":
        # The map as wide as it is drawn and the key beside it, the pair centred in the figure.
        map_w = min(scale * dx / w_in, box[2])
        start = max((1 - (map_w + 2 * _PAD + extent)) / 2, _PAD)
        ax.set_position((start, box[1], map_w, box[3]))
        left = start + map_w + 2 * _PAD
        put_colorbar(left, _TOP - 0.04)
        anchor = (left, _TOP - 0.04 - cb_h - _GAP)
    else:
        ax.set_position(box)
        top = _BOTTOM + extent
        put_colorbar(_PAD, top)
        anchor = (_PAD + cb_w + 2 * _GAP, top)
    if handles:
        fig.legend(handles=handles, loc="upper left", bbox_to_anchor=anchor, frameon=False, prop=legend_font,
                   ncols=ncols, borderaxespad=0)
    logger.debug("static map: legend %s the map (%d columns, %g pt), map scale %.3g in/km", kind, ncols,
                 legend_font.get_size(), scale * 1000)


def _scale(box: tuple[float, float, float, float], w_in: float, h_in: float, dx: float, dy: float) -> float:
    """Inches per map unit when the view ``dx`` × ``dy`` fills the figure-fraction ``box`` at equal aspect."""
    if box[2] <= 0 or box[3] <= 0:
        return 0.0
    return min(box[2] * w_in / dx, box[3] * h_in / dy)


def _nice_length(span_m: float) -> float:
    """A round length of about a fifth of ``span_m``: 1, 2 or 5 × a power of ten."""
    raw = max(span_m / 5.0, 1.0)
    power = 10 ** math.floor(math.log10(raw))
    return next(f * power for f in (5, 2, 1) if f * power <= raw)


def _scale_bar(ax: Any, font: Any) -> None:
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    length = _nice_length(x1 - x0)
    left, base = x0 + 0.03 * (x1 - x0), y0 + 0.04 * (y1 - y0)
    tick = 0.012 * (y1 - y0)
    ax.plot([left, left + length], [base, base], color="black", linewidth=2.5, solid_capstyle="butt", zorder=8)
    for x in (left, left + length):
        ax.plot([x, x], [base - tick, base + tick], color="black", linewidth=1.2, zorder=8)
    text = f"{length / 1000:g} km" if length >= 1000 else f"{length:g} m"
    ax.text(left + length / 2, base + 1.6 * tick, text, ha="center", va="bottom", fontsize=9, zorder=8,
            fontproperties=font)


def _north_arrow(ax: Any, font: Any) -> None:
    ax.annotate("N", xy=(0.95, 0.95), xytext=(0.95, 0.86), xycoords="axes fraction", ha="center", va="center",
                fontsize=12, fontweight="bold", fontproperties=font,
                arrowprops={"arrowstyle": "-|>", "color": "black", "linewidth": 1.5})
