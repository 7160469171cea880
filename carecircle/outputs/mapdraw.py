"""Drawing primitives of the static PNG maps (:mod:`carecircle.outputs.staticmap`), on matplotlib's Agg
renderer: polygons and lines from coordinate arrays (a collection per layer, not a patch per feature), the walking
network as one faint path, the view's bounds, a scale bar and a north arrow; and the frame: title, subtitle, note
and attribution, and the colour bar and legend placed beside or below the map, the figure fitted to both.
Coordinates are metric (x, y)."""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pyproj
import shapely

logger = logging.getLogger("carecircle.outputs.staticmap")  # the layout's debug line is the static map's

_NETWORK_COLOR = "#4d4d4d"
ATTRIBUTION = "© OpenStreetMap contributors (ODbL)"

__all__ = ["ATTRIBUTION", "MAX_FIT_IN", "draw_network", "frame_texts", "has_cjk", "lines", "nice_length",
           "north_arrow", "place_key", "polygons", "scale_bar", "view_bounds", "wrap_units"]


def view_bounds(layers: list[Any]) -> tuple[float, float, float, float]:
    """``(xmin, ymin, xmax, ymax)`` of the drawn layers plus a margin (4% of the larger side, at least 40 m)."""
    boxes = [layer.total_bounds for layer in layers if layer is not None and len(layer)]
    b = np.vstack(boxes)
    x0, y0, x1, y1 = float(b[:, 0].min()), float(b[:, 1].min()), float(b[:, 2].max()), float(b[:, 3].max())
    margin = max(0.04 * max(x1 - x0, y1 - y0), 40.0)
    return x0 - margin, y0 - margin, x1 + margin, y1 + margin


def polygons(geoms: np.ndarray, **style: Any) -> Any:
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


def lines(geoms: np.ndarray, *, one_path: bool = False, **style: Any) -> Any:
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


def draw_network(ax: Any, network: Any, crs: Any) -> None:
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


def nice_length(span_m: float) -> float:
    """A round length of about a fifth of ``span_m``: 1, 2 or 5 × a power of ten."""
    raw = max(span_m / 5.0, 1.0)
    power = 10 ** math.floor(math.log10(raw))
    return next(f * power for f in (5, 2, 1) if f * power <= raw)


def scale_bar(ax: Any, font: Any) -> None:
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    length = nice_length(x1 - x0)
    left, base = x0 + 0.03 * (x1 - x0), y0 + 0.04 * (y1 - y0)
    tick = 0.012 * (y1 - y0)
    ax.plot([left, left + length], [base, base], color="black", linewidth=2.5, solid_capstyle="butt", zorder=8)
    for x in (left, left + length):
        ax.plot([x, x], [base - tick, base + tick], color="black", linewidth=1.2, zorder=8)
    text = f"{length / 1000:g} km" if length >= 1000 else f"{length:g} m"
    ax.text(left + length / 2, base + 1.6 * tick, text, ha="center", va="bottom", fontsize=9, zorder=8,
            fontproperties=font)


def north_arrow(ax: Any, font: Any) -> None:
    ax.annotate("N", xy=(0.95, 0.95), xytext=(0.95, 0.86), xycoords="axes fraction", ha="center", va="center",
                fontsize=12, fontweight="bold", fontproperties=font,
                arrowprops={"arrowstyle": "-|>", "color": "black", "linewidth": 1.5})


# --- texts and layout ---------------------------------------------------------------------------


def has_cjk(text: str) -> bool:
    return any(ord(c) >= 0x2E80 for c in text)


def wrap_units(text: str, units: int) -> str:
    """``text`` in lines of at most ``units`` (a CJK character: 2, another: 1), broken at spaces and beside CJK
    characters, never inside a Latin word."""
    lines, line, width = [], "", 0
    for token in re.findall(r"[\u2e80-\uffff]|[^\s\u2e80-\uffff]+|\s+", text):
        size = 2 * len(token) if has_cjk(token) else len(token)
        if line and width + size > units and not token.isspace():
            lines.append(line.rstrip())
            line, width = "", 0
        if line or not token.isspace():
            line, width = line + token, width + size
    return "\n".join([*lines, line.rstrip()])


# Inches: the largest fitted figure, the padding at the image edges and the gaps between map, key and texts.
MAX_FIT_IN = (10.0, 9.0)
_PAD, _GAP = 0.15, 0.25


def frame_texts(fig: Any, heading: str, subtitle: str | None, note: str | None, font: Any) -> dict[str, Any]:
    """The title, subtitle, note and attribution, placed by :func:`place_key`."""
    texts = {"title": fig.text(0.5, 1, heading, ha="center", va="center", fontsize=15, fontweight="bold",
                               fontproperties=font, gid="title"),
             "attribution": fig.text(1, 0, ATTRIBUTION, ha="right", va="bottom", fontsize=7.5, color="#444",
                                     fontproperties=font, gid="attribution")}
    if subtitle:
        texts["subtitle"] = fig.text(0.5, 1, subtitle, ha="center", va="center", fontsize=10, color="#333",
                                     fontproperties=font, gid="subtitle")
    if note:
        texts["note"] = fig.text(0, 0, note, ha="left", va="bottom", fontsize=7.5, color="#444", style="italic",
                                 fontproperties=font, gid="note", linespacing=1.3)
    return texts


def place_key(fig: Any, ax: Any, handles: list[Any], draw_bar: Callable[[Any], None], font: Any,
              texts: dict[str, Any], *, fit: bool) -> None:
    """Place the colour bar (drawn by ``draw_bar(cax)``) and the legend beside the map or below it, whichever
    leaves the map larger, and the texts (:func:`frame_texts`); with ``fit``, size the figure to the map and its
    key (at most :data:`MAX_FIT_IN`). Sizes are measured with the renderer, so long labels make room for
    themselves: nothing is cut at the image edge."""
    renderer, dpi, (w_in, h_in) = fig.canvas.get_renderer(), fig.dpi, fig.get_size_inches()
    dx, dy = (float(np.diff(lim)[0]) for lim in (ax.get_xlim(), ax.get_ylim()))

    def inches(artist: Any) -> tuple[float, float]:
        box = artist.get_window_extent(renderer)
        return box.width / dpi, box.height / dpi

    top = 0.62 + (0.3 if "subtitle" in texts else 0.0)
    title_w = max(inches(texts[k])[0] for k in ("title", "subtitle") if k in texts)
    attribution_h = inches(texts["attribution"])[1]
    note = texts.get("note")
    full = note.get_text() if note is not None else ""

    def bottom(width: float) -> float:
        """Height of the band under the map (note and attribution) in a figure ``width`` inches wide."""
        if note is None:
            return 0.12 + attribution_h + 0.1
        chars = sum(2 if has_cjk(c) else 1 for c in full)
        while True:
            note.set_text(wrap_units(full, chars))
            w, h = inches(note)
            if w <= 0.97 * (width - 2 * _PAD) or chars <= 20:
                return 0.12 + attribution_h + 0.06 + h + 0.12
            chars = max(int(chars * min(0.95, (width - 2 * _PAD) / w)), 20)

    cax = fig.add_axes((0.0, 0.0, 2.2 / w_in, 0.2 / h_in))
    draw_bar(cax)
    pos, tight = cax.get_window_extent(renderer), cax.get_tightbbox(renderer)
    cb_w, cb_h = tight.width / dpi, tight.height / dpi
    cb_left, cb_top = (pos.x0 - tight.x0) / dpi, (tight.y1 - pos.y1) / dpi  # title and tick labels stick out
    bar_w, bar_h = pos.width / dpi, pos.height / dpi
    band = bottom(w_in)

    layouts = []  # (map scale in inches per metre, kind, ncols, key width or height, legend font, legend sizes)
    for size in (9.0, 8.0, 7.0, 6.0):
        legend_font = font.copy()
        legend_font.set_size(size)
        sizes = {} if handles else {1: (0.0, 0.0)}
        for ncols in sorted({min(n, len(handles)) for n in (1, 2, 3, 4, len(handles))} - {0}):
            leg = fig.legend(handles=handles, loc="upper left", bbox_to_anchor=(0, 1), frameon=False,
                             prop=legend_font, ncols=ncols, borderaxespad=0)
            sizes[ncols] = inches(leg)
            leg.remove()
        avail_h = h_in - top - band
        for ncols, (lw, lh) in sizes.items():
            key_w, key_h = max(cb_w, lw), cb_h + _GAP + lh
            # beside: colour bar on top of the legend in a column at the right
            if ncols <= 2 and key_h <= avail_h - 0.05 and w_in - 3 * _PAD - key_w > 0:
                scale = min((w_in - 3 * _PAD - key_w) / dx, avail_h / dy)
                layouts.append((scale, "right", ncols, key_w, legend_font, sizes))
            # below: colour bar at the left, the legend to its right, in a band above the note
            key_h = max(cb_h, lh)
            if _PAD + cb_w + _GAP + lw <= w_in - _PAD and avail_h - key_h - _GAP > 0:
                scale = min((w_in - 2 * _PAD) / dx, (avail_h - key_h - _GAP) / dy)
                layouts.append((scale, "below", ncols, key_h, legend_font, sizes))
        # Smaller type only while the map would take less than half the image's width and height.
        if layouts and max(lay[0] for lay in layouts) * max(dx / w_in, dy / h_in) >= 0.5:
            break
    if not layouts:  # labels too long even in 6-point type: beside the map, the map as small as it must be
        key_w = max(cb_w, sizes[1][0])
        layouts = [(max(min((w_in - 3 * _PAD - key_w) / dx, avail_h / dy), 0.1 / dx), "right", 1, key_w,
                    legend_font, sizes)]
    # The largest map; between near ties (within 3%) the earlier layout: fewer legend columns, beside first.
    best = max(lay[0] for lay in layouts)
    scale, kind, ncols, extent, legend_font, sizes = next(lay for lay in layouts if lay[0] >= 0.97 * best)
    map_w, map_h = scale * dx, scale * dy
    lw, lh = sizes[ncols]
    if fit:
        need_w = max(title_w + 2 * _PAD, 4.0)
        if kind == "right":
            w_in = max(map_w + 3 * _PAD + extent, need_w)
            band = bottom(w_in)
            h_in = top + max(map_h, cb_h + _GAP + lh) + band
        else:
            w_in = max(map_w + 2 * _PAD, _PAD + cb_w + _GAP + lw + _PAD, need_w)
            band = bottom(w_in)
            h_in = top + map_h + _GAP + extent + band
        fig.set_size_inches(w_in, h_in)
    box_h = h_in - top - band

    def frac(x: float, y: float, w: float, h: float) -> tuple[float, float, float, float]:  # inches to fractions
        return x / w_in, y / h_in, w / w_in, h / h_in

    if kind == "right":
        # The map as wide as it is drawn and the key beside it, the pair centred in the figure.
        map_w = min(map_w, w_in - 3 * _PAD - extent)
        start = max((w_in - (map_w + _PAD + extent)) / 2, _PAD)
        ax.set_position(frac(start, band, map_w, box_h))
        left, key_top = start + map_w + _PAD, h_in - top
        cax.set_position(frac(left + cb_left, key_top - cb_top - bar_h, bar_w, bar_h))
        anchor = (left, key_top - cb_h - _GAP)
    else:
        ax.set_position(frac(_PAD, band + extent + _GAP, w_in - 2 * _PAD, box_h - extent - _GAP))
        key_top = band + extent
        cax.set_position(frac(_PAD + cb_left, key_top - cb_top - bar_h, bar_w, bar_h))
        anchor = (_PAD + cb_w + _GAP, key_top)
    if handles:
        fig.legend(handles=handles, loc="upper left", bbox_to_anchor=(anchor[0] / w_in, anchor[1] / h_in),
                   frameon=False, prop=legend_font, ncols=ncols, borderaxespad=0)
    at = {"title": (w_in / 2, h_in - 0.33), "subtitle": (w_in / 2, h_in - 0.66), "attribution": (w_in - _PAD, 0.08),
          "note": (_PAD, 0.12 + attribution_h + 0.06)}
    for key, text in texts.items():
        text.set_position((at[key][0] / w_in, at[key][1] / h_in))
    logger.debug("static map: legend %s the map (%d columns, %g pt), %.3g × %.3g in, map scale %.3g in/km",
                 kind, ncols, legend_font.get_size(), w_in, h_in, scale * 1000)
