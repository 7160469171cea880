"""Isochrone polygons: the streets reachable within each threshold, buffered, for drawing only.

Coverage figures never come from these polygons (see ``coverage.py``). A polygon is built from the network
itself: every segment reachable from a facility within the time is kept whole, a segment reachable only in
part is cut at the remaining walking distance from each end, and the kept pieces are buffered by
``buffer_m`` (about half a street block's depth of frontage). Holes and gaps in the network stay visible,
unlike convex or concave hulls.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import shapely
from scipy.sparse.csgraph import dijkstra

from carecircle.core.coverage import check_thresholds
from carecircle.core.network import Progress, WalkNetwork
from carecircle.core.travel import DEFAULT_MAX_SNAP_M, DEFAULT_WALK_SPEED_MPS, point_graph, snap_points
from carecircle.errors import InputError, SnapError

log = logging.getLogger(__name__)


def isochrones(
    network: WalkNetwork,
    facilities: gpd.GeoDataFrame,
    *,
    thresholds_min: Sequence[float] = (5, 10, 15),
    walk_speed_mps: float = DEFAULT_WALK_SPEED_MPS,
    max_snap_m: float = DEFAULT_MAX_SNAP_M,
    buffer_m: float = 40.0,
    per_facility: bool = True,
    simplify_m: float = 2.0,
    progress: Progress | None = None,
) -> gpd.GeoDataFrame:
    """Walking isochrones of the facilities, merged and (optionally) one per facility.

    Parameters
    ----------
    network : the walking network.
    facilities : facility points with ``facility_id``.
    thresholds_min : walking minutes, one polygon per threshold.
    walk_speed_mps : walking speed, metres per second.
    max_snap_m : facilities farther from the network raise :class:`~carecircle.errors.SnapError`.
    buffer_m : half-width of the band drawn around reachable streets, metres.
    per_facility : also return one polygon per facility and threshold (one bounded Dijkstra per facility).
    simplify_m : simplification tolerance of the drawn outlines, metres.
    progress : optional callback, called as ``progress("Drawing isochrones", done, total)`` per facility.

    Returns
    -------
    GeoDataFrame in EPSG:4326 with ``facility_id`` (``None`` for the merged polygon of all facilities),
    ``minutes`` and (Multi)Polygon geometry.
    """
    thresholds = check_thresholds(thresholds_min)
    if buffer_m <= 0:
        raise InputError(f"isochrone buffer {buffer_m!r} m must be positive (e.g. 40).")
    fac = facilities.to_crs(network.crs)
    xy = shapely.get_coordinates(fac.geometry.values)
    snapped = snap_points(network, xy, max_snap_m=max_snap_m)
    if not snapped.ok.all():
        far = np.flatnonzero(~snapped.ok)
        ids = facilities["facility_id"].to_numpy()
        shown = ", ".join(f"{ids[i]} ({snapped.offset_m[i]:.0f} m)" for i in far[:8])
        raise SnapError(f"{len(far)} facilities lie farther than {max_snap_m:g} m from the walking network: "
                        f"{shown}; check their coordinates or raise --max-snap-m.")
    graph = point_graph(network, xy, snapped)
    limit = thresholds[-1] * 60.0 * walk_speed_mps
    rows = []
    merged = dijkstra(graph.csr, indices=graph.point_node, min_only=True, limit=limit)
    for t in thresholds:
        rows.append((None, t, _reach_polygon(graph, merged, t * 60.0 * walk_speed_mps, buffer_m)))
    if per_facility:
        ids = facilities["facility_id"].astype(str).to_numpy()
        for done, (fid, node) in enumerate(zip(ids, graph.point_node, strict=True)):
            if progress is not None:
                progress("Drawing isochrones", done, len(ids))
            dist = dijkstra(graph.csr, indices=node, limit=limit)
            for t in thresholds:
                rows.append((fid, t, _reach_polygon(graph, dist, t * 60.0 * walk_speed_mps, buffer_m)))
    # Topology-preserving simplification costs seconds on city-size outlines; a 2 m tolerance cannot fold them.
    geoms = shapely.make_valid(
        shapely.simplify(np.array([r[2] for r in rows], dtype=object), simplify_m, preserve_topology=False))
    out = gpd.GeoDataFrame(
        {"facility_id": [r[0] for r in rows], "minutes": [float(r[1]) for r in rows]},
        geometry=geoms,
        crs=network.crs,
    )
    log.info("isochrones: %d polygons (%d thresholds)", len(out), len(thresholds))
    return out.to_crs("EPSG:4326")


def reachable_pieces(
    node_xy: np.ndarray, u: np.ndarray, v: np.ndarray, w: np.ndarray, dist: np.ndarray, reach_m: float
) -> np.ndarray:
    """Straight pieces of segments reachable within ``reach_m`` metres, as a (k, 2, 2) coordinate array.

    A segment ``u–v`` of length ``w`` is whole when ``(reach - d_u) + (reach - d_v) >= w``; otherwise the part
    within ``reach - d_u`` of ``u`` and the part within ``reach - d_v`` of ``v`` are kept.
    """
    du, dv = dist[u], dist[v]
    ru = np.where(np.isfinite(du), reach_m - du, -np.inf)
    rv = np.where(np.isfinite(dv), reach_m - dv, -np.inf)
    live = (ru > 0) | (rv > 0)
    u, v, w, ru, rv = u[live], v[live], w[live], ru[live], rv[live]
    a, b = node_xy[u], node_xy[v]
    whole = ru + rv >= w
    pieces = [np.stack([a[whole], b[whole]], axis=1)]
    safe_w = np.maximum(w, 1e-12)[:, None]
    from_u = ~whole & (ru > 0)
    t = (np.minimum(ru, w) / safe_w[:, 0])[from_u][:, None]
    pieces.append(np.stack([a[from_u], a[from_u] + (b[from_u] - a[from_u]) * t], axis=1))
    from_v = ~whole & (rv > 0)
    t = (np.minimum(rv, w) / safe_w[:, 0])[from_v][:, None]
    pieces.append(np.stack([b[from_v], b[from_v] + (a[from_v] - b[from_v]) * t], axis=1))
    return np.concatenate(pieces)


def _reach_polygon(graph, dist: np.ndarray, reach_m: float, buffer_m: float):
    pieces = reachable_pieces(graph.node_xy, graph.edge_u, graph.edge_v, graph.edge_w, dist, reach_m)
    length = np.hypot(*(pieces[:, 1] - pieces[:, 0]).T)
    pieces = pieces[length > 1e-6]
    if len(pieces) == 0:
        return shapely.Polygon()
    # Buffer every piece, then union: GEOS buffers one multi-line far more slowly (minutes, not a second).
    return shapely.union_all(shapely.buffer(shapely.linestrings(pieces), buffer_m, quad_segs=4))
