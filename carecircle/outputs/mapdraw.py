"""Drawing primitives of the static PNG maps (:mod:`carecircle.outputs.staticmap`), on matplotlib's Agg
renderer: polygons and lines from coordinate arrays (a collection per layer, not a patch per feature), the walking
network as one faint path, the view's bounds, a scale bar and a north arrow. Coordinates are metric (x, y)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pyproj
import shapely

_NETWORK_COLOR = "#4d4d4d"

__all__ = ["draw_network", "lines", "nice_length", "north_arrow", "polygons", "scale_bar", "view_bounds"]


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
