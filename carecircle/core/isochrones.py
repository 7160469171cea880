"""Isochrone polygons: the streets reachable within each threshold, buffered, for drawing only.

Coverage figures never come from these polygons (see ``coverage.py``). A polygon is built from the network
itself: every segment reachable from a facility within the time is kept whole, a segment reachable only in
part is cut at the remaining walking distance from each end, and the kept pieces are buffered by
``buffer_m`` (about half a street block's depth of frontage). Holes and gaps in the network stay visible,
unlike convex or concave hulls.

Drawing cost: the union of many small buffers is what takes time, so the pieces are first chained into
strokes (at every node the incident pieces are paired by angle, opposite with opposite, so a street crossing
carries straight on) and each stroke is buffered as one line, which gives several times fewer and simpler
polygons; the union then runs per disjoint group (``shapely.disjoint_subset_union_all``). The buffer of a
stroke is the union of the buffers of its pieces, so the shape is the same up to how round joins and caps are
approximated by ``quad_segs=4`` (within about 1 m of the band's edge, far inside the 2 m simplification).
The polygons are built and simplified on a thread pool, one thread per core (shapely releases the GIL in GEOS).
Each merged layer is split into groups of facilities too far apart for their walking areas to meet (linked when
closer than twice the reach plus the buffer and the simplification tolerance), drawn apart and put together as
one MultiPolygon, which is the same shape as drawing them at once; on two cores the three merged layers take
little more than half the time of one thread (figures in benchmarks/README.md). Per-facility polygons run one
facility per task, each walking only the streets within reach of its facility (:class:`_LocalWalks`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import geopandas as gpd
import numpy as np
import scipy.sparse as sp
import shapely
from scipy.sparse.csgraph import connected_components, dijkstra
from scipy.spatial import cKDTree

from carecircle.core.coverage import check_thresholds
from carecircle.core.network import Progress, WalkNetwork
from carecircle.core.travel import (
    DEFAULT_MAX_SNAP_M,
    DEFAULT_WALK_SPEED_MPS,
    Snapped,
    point_graph,
    row_entries,
    snap_points,
    subgraph,
)
from carecircle.errors import InputError, SnapError

log = logging.getLogger(__name__)

#: A union per group of overlapping polygons when shapely has it (2.1+, GEOS 3.12+), else the plain union.
_union = getattr(shapely, "disjoint_subset_union_all", shapely.union_all)



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
    facility_snap: Snapped | None = None,
    progress: Progress | None = None,
) -> gpd.GeoDataFrame:
    """Walking isochrones of the facilities, merged and (optionally) one per facility.

    Parameters
    ----------
    network : the walking network.
    facilities : facility points with ``facility_id``.
    thresholds_min : walking minutes, one polygon per threshold.
    walk_speed_mps : walking speed, metres per second.
    max_snap_m : facilities farther from the network get no polygon (the coverage step names them); when none
        is left, :class:`~carecircle.errors.SnapError` is raised.
    buffer_m : half-width of the band drawn around reachable streets, metres.
    per_facility : also return one polygon per facility and threshold (one bounded Dijkstra per facility).
    simplify_m : simplification tolerance of the drawn outlines, metres.
    facility_snap : the facilities already snapped with :func:`~carecircle.core.travel.snap_points` (in the
        order of ``facilities``); snapped here when ``None`` (cheap when the study snapped them already).
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
    snapped = facility_snap if facility_snap is not None else snap_points(network, xy, max_snap_m=max_snap_m)
    if len(snapped.ok) != len(xy):
        raise InputError(f"facility_snap holds {len(snapped.ok)} points but {len(xy)} facilities were given.")
    if not snapped.ok.any():
        far = np.flatnonzero(~snapped.ok)
        ids = facilities["facility_id"].to_numpy()
        shown = ", ".join(f"{ids[i]} ({snapped.offset_m[i]:.0f} m)" for i in far[:8])
        raise SnapError(f"{len(far)} facilities lie farther than {max_snap_m:g} m from the walking network: "
                        f"{shown}; check their coordinates or raise --max-snap-m.")
    # Facilities off the network (named by the coverage step) get no polygon.
    keep = np.flatnonzero(snapped.ok)
    if len(keep) < len(xy):
        facilities = facilities.iloc[keep]
        xy = xy[keep]
        snapped = Snapped(edge=snapped.edge[keep], along_m=snapped.along_m[keep], offset_m=snapped.offset_m[keep],
                          ok=snapped.ok[keep])
    graph = point_graph(network, xy, snapped)
    limit = thresholds[-1] * 60.0 * walk_speed_mps
    rows = []
    merged, _, origin = dijkstra(graph.csr, indices=graph.point_node, min_only=True, limit=limit,
                                 return_predecessors=True)

    def drawn(pieces: np.ndarray):
        # Topology-preserving simplification costs seconds on city-size outlines; a 2 m tolerance cannot fold them.
        return shapely.make_valid(shapely.simplify(_pieces_polygon(pieces, buffer_m), simplify_m,
                                                   preserve_topology=False))

    near = _LocalWalks(graph, limit, network.min_cost_ratio) if per_facility else None

    def one_facility(node: int) -> list:
        return [drawn(pieces) for pieces in near.pieces(node, [t * 60.0 * walk_speed_mps for t in thresholds])]

    # GEOS releases the GIL: the polygons are built on a thread per core. Each merged layer is split into groups of
    # facilities too far apart for their areas to meet (drawn apart, then put together), the largest first.
    workers = max(1, min(os.cpu_count() or 1, 8))
    jobs = []
    for layer, t in enumerate(thresholds):
        reach = t * 60.0 * walk_speed_mps
        apart = 2.0 * (reach / network.min_cost_ratio + buffer_m + simplify_m) + 1.0
        jobs += [(layer, group) for group in _apart_groups(graph, merged, origin, reach, apart, 2 * workers)]
    jobs.sort(key=lambda job: -len(job[1]))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        parts = [[] for _ in thresholds]
        for (layer, _), poly in zip(jobs, pool.map(lambda job: drawn(job[1]), jobs), strict=True):
            parts[layer].append(poly)
        rows += [(None, t, _together(layer_parts)) for t, layer_parts in zip(thresholds, parts, strict=True)]
        if per_facility:
            ids = facilities["facility_id"].astype(str).to_numpy()
            for done, (fid, polys) in enumerate(zip(ids, pool.map(one_facility, graph.point_node), strict=True)):
                if progress is not None:
                    progress("Drawing isochrones", done + 1, len(ids))
                rows += [(fid, t, poly) for t, poly in zip(thresholds, polys, strict=True)]
    geoms = np.array([r[2] for r in rows], dtype=object)
    out = gpd.GeoDataFrame(
        {"facility_id": [r[0] for r in rows], "minutes": [float(r[1]) for r in rows]},
        geometry=geoms,
        crs=network.crs,
    )
    log.info("isochrones: %d polygons (%d thresholds)", len(out), len(thresholds))
    return out.to_crs("EPSG:4326")


def reachable_pieces(
    node_xy: np.ndarray, u: np.ndarray, v: np.ndarray, w: np.ndarray, dist: np.ndarray, reach_m: float,
    costs: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None, *, with_nodes: bool = False,
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Straight pieces of segments reachable within ``reach_m`` metres, as a (k, 2, 2) coordinate array.

    A segment ``u–v`` of length ``w`` is whole when ``(reach - d_u) + (reach - d_v) >= w``; otherwise the part
    within ``reach - d_u`` of ``u`` and the part within ``reach - d_v`` of ``v`` are kept. With a walking model's
    ``costs`` (each edge's cost ``u → v``, ``v → u`` and the penalties at ``u`` and ``v``) the part reached from
    ``u`` is the share of the segment whose walk to ``u`` (its ``v → u`` cost, plus ``u``'s penalty) fits in
    ``reach - d_u``, and likewise from ``v``. With ``with_nodes``, also the (k, 2) nodes each piece is reached
    from (``u`` and ``v`` for a whole segment, its one end twice for a part).
    """
    du, dv = dist[u], dist[v]
    ru = np.where(np.isfinite(du), reach_m - du, -np.inf)
    rv = np.where(np.isfinite(dv), reach_m - dv, -np.inf)
    live = (ru > 0) | (rv > 0)
    u, v, w, ru, rv = u[live], v[live], w[live], ru[live], rv[live]
    a, b = node_xy[u], node_xy[v]
    safe_w = np.maximum(w, 1e-12)
    if costs is None:
        whole = ru + rv >= w
        tu, tv = np.minimum(ru, w) / safe_w, np.minimum(rv, w) / safe_w
        from_u, from_v = ~whole & (ru > 0), ~whole & (rv > 0)
    else:
        fwd, bwd, pen_u, pen_v = (c[live] for c in costs)
        tu = np.clip((ru - pen_u) / np.maximum(bwd, 1e-12), 0.0, 1.0)
        tv = np.clip((rv - pen_v) / np.maximum(fwd, 1e-12), 0.0, 1.0)
        whole = tu + tv >= 1.0
        from_u, from_v = ~whole & (tu > 0), ~whole & (tv > 0)
    pieces = [np.stack([a[whole], b[whole]], axis=1)]
    t = tu[from_u][:, None]
    pieces.append(np.stack([a[from_u], a[from_u] + (b[from_u] - a[from_u]) * t], axis=1))
    t = tv[from_v][:, None]
    pieces.append(np.stack([b[from_v], b[from_v] + (a[from_v] - b[from_v]) * t], axis=1))
    if with_nodes:
        ends = np.concatenate([np.column_stack([u[whole], v[whole]]), np.repeat(u[from_u][:, None], 2, axis=1),
                               np.repeat(v[from_v][:, None], 2, axis=1)])
        return np.concatenate(pieces), ends
    return np.concatenate(pieces)


def _with_length(pieces: np.ndarray) -> np.ndarray:
    """Which pieces are more than a point (longer than a micrometre): only they are drawn."""
    return np.hypot(*(pieces[:, 1] - pieces[:, 0]).T) > 1e-6


def _reach_pieces(graph, dist: np.ndarray, reach_m: float) -> tuple[np.ndarray, np.ndarray]:
    """The pieces of ``graph`` reachable within ``reach_m`` (:func:`reachable_pieces`, points dropped) and the
    nodes each is reached from."""
    costs = None if graph.edge_fwd is None else (graph.edge_fwd, graph.edge_bwd, graph.edge_pen_u, graph.edge_pen_v)
    pieces, nodes = reachable_pieces(graph.node_xy, graph.edge_u, graph.edge_v, graph.edge_w, dist, reach_m, costs,
                                     with_nodes=True)
    keep = _with_length(pieces)
    return pieces[keep], nodes[keep]


class _LocalWalks:
    """One facility's walk on the streets around it only: a walk costing at most ``limit_m`` never ends farther than
    ``limit_m / min_cost_ratio`` from its start, so the nodes within that distance (a KD-tree query) hold every
    node it reaches, and a Dijkstra on their sub-graph gives the same distances as on the whole network, at the
    cost of what the walk reaches (not of the city's size, as a whole-network search per facility is)."""

    def __init__(self, graph, limit_m: float, min_cost_ratio: float):
        self.graph, self.limit_m = graph, float(limit_m)
        self.radius_m = self.limit_m / min_cost_ratio + 1e-6 * (1.0 + self.limit_m)
        self.tree = cKDTree(graph.node_xy)
        n, e = len(graph.node_xy), len(graph.edge_u)
        ends = np.concatenate([graph.edge_u, graph.edge_v])
        order = np.argsort(ends, kind="stable")
        indptr = np.r_[0, np.cumsum(np.bincount(ends, minlength=n))].astype(np.int64)
        edge = np.tile(np.arange(e), 2)[order]
        self.incident = sp.csr_array((np.ones(2 * e, dtype=np.int8), edge, indptr), shape=(n, e))  # node × edge

    def pieces(self, node: int, reaches_m: Sequence[float]) -> list[np.ndarray]:
        """The pieces reachable from ``node`` within each of ``reaches_m`` (at most ``limit_m``)."""
        g = self.graph
        nodes = np.sort(np.asarray(self.tree.query_ball_point(g.node_xy[node], self.radius_m), dtype=np.int64))
        dist = dijkstra(subgraph(g.csr, nodes), indices=int(np.searchsorted(nodes, node)), limit=self.limit_m)
        pos, _ = row_entries(self.incident, nodes)
        edges = np.unique(self.incident.indices[pos])
        u, v = g.edge_u[edges], g.edge_v[edges]
        ends = np.unique(np.concatenate([u, v]))  # the ball's nodes and the far ends of its boundary streets
        at = np.minimum(np.searchsorted(nodes, ends), len(nodes) - 1)
        end_dist = np.where(nodes[at] == ends, dist[at], np.inf)
        costs = None if g.edge_fwd is None else tuple(c[edges] for c in (g.edge_fwd, g.edge_bwd, g.edge_pen_u,
                                                                         g.edge_pen_v))
        lu, lv = np.searchsorted(ends, u), np.searchsorted(ends, v)
        out = []
        for reach in reaches_m:
            found = reachable_pieces(g.node_xy[ends], lu, lv, g.edge_w[edges], end_dist, reach, costs)
            out.append(found[_with_length(found)])
        return out


def _pieces_polygon(pieces: np.ndarray, buffer_m: float):
    if len(pieces) == 0:
        return shapely.Polygon()
    # Buffer every stroke, then union: GEOS buffers one multi-line of everything far more slowly.
    return _union(shapely.buffer(strokes(pieces), buffer_m, quad_segs=4))


def _apart_groups(graph, dist: np.ndarray, origin: np.ndarray, reach_m: float, apart_m: float,
                  most: int) -> list[np.ndarray]:
    """The pieces reachable within ``reach_m`` in up to ``most`` groups whose drawn areas cannot meet.

    Facilities (the sources ``origin`` names) closer than ``apart_m`` are linked, and linked facilities stay in
    one group: every piece lies within ``reach_m / min_cost_ratio`` of the facility it is reached from, so with
    ``apart_m`` = twice that plus the buffer and the simplification, areas of different groups stay apart after
    simplifying. Groups are balanced by their number of pieces (largest first onto the lightest). A piece reached
    whole from two facilities of different groups (which the distance rules out) puts everything in one group.
    """
    pieces, nodes = _reach_pieces(graph, dist, reach_m)
    sources = np.unique(origin[nodes])
    if len(pieces) == 0 or len(sources) < 2 or most < 2:
        return [pieces]
    xy = graph.node_xy[sources]
    pairs = cKDTree(xy).query_pairs(apart_m, output_type="ndarray")
    links = sp.coo_array((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(len(xy), len(xy)))
    _, cluster = connected_components(links, directed=False)
    of_ends = cluster[np.searchsorted(sources, origin[nodes])]
    if (of_ends[:, 0] != of_ends[:, 1]).any():
        return [pieces]
    of_piece = of_ends[:, 0]
    sizes = np.bincount(of_piece)
    group = np.zeros(len(sizes), dtype=np.int64)
    load = np.zeros(min(most, len(sizes)))
    for c in np.argsort(-sizes, kind="stable"):
        group[c] = int(np.argmin(load))
        load[group[c]] += sizes[c]
    of_piece = group[of_piece]
    return [pieces[of_piece == g] for g in range(len(load)) if load[g] > 0]


def _together(parts: list):
    """One (Multi)Polygon of drawn groups that do not meet (:func:`_apart_groups`)."""
    polygons = np.concatenate([shapely.get_parts(p) for p in parts])
    polygons = polygons[~shapely.is_empty(polygons)]
    if len(polygons) == 0:
        return shapely.Polygon()
    return polygons[0] if len(polygons) == 1 else shapely.multipolygons(polygons)


def strokes(pieces: np.ndarray) -> np.ndarray:
    """Chain straight pieces ((k, 2, 2) coordinates) into lines: an array of (Multi)LineStrings.

    Pieces meet where their end coordinates are equal. At each such point the incident pieces are sorted by
    direction and the ``i``-th is paired with the ``i + d // 2``-th of ``d`` (straight on across a four-way
    crossing; at a T-junction the two closest to opposite are paired; one piece of an odd-degree point ends
    there); paired pieces belong to one stroke, merged with ``shapely.line_merge``. Every piece is in exactly
    one stroke, so the strokes cover the same set of points.
    """
    k = len(pieces)
    ends = np.ascontiguousarray(pieces.reshape(-1, 2))  # end j of piece i is row 2 * i + j
    _, point = np.unique(ends.view(np.complex128).ravel(), return_inverse=True)
    away = pieces[:, ::-1].reshape(-1, 2) - ends
    angle = np.arctan2(away[:, 1], away[:, 0])
    order = np.lexsort((angle, point.ravel()))
    at, angle = point.ravel()[order], angle[order]
    starts = np.r_[0, np.flatnonzero(at[1:] != at[:-1]) + 1]
    degree = np.diff(np.r_[starts, len(at)])
    first, deg = np.repeat(starts, degree), np.repeat(degree, degree)
    rank = np.arange(len(at)) - first
    paired = (rank < deg // 2) & (deg != 3)
    a, b = [order[paired]], [order[(first + rank + deg // 2)[paired]]]
    # A T-junction: the two pieces closest to opposite carry straight on, the third ends there.
    h = starts[degree == 3][:, None, None] + np.array([[0, 1], [1, 2], [0, 2]]).T[None]  # (t, 2, 3 pairs)
    bend = np.abs(np.mod(angle[h[:, 1]] - angle[h[:, 0]], 2 * np.pi) - np.pi)
    pick = h[np.arange(len(h)), :, np.argmin(bend, axis=1)] if len(h) else np.zeros((0, 2), dtype=np.int64)
    a.append(order[pick[:, 0]])
    b.append(order[pick[:, 1]])
    a, b = np.concatenate(a) // 2, np.concatenate(b) // 2
    _, stroke = connected_components(sp.coo_array((np.ones(len(a)), (a, b)), shape=(k, k)), directed=False)
    by_stroke = np.argsort(stroke, kind="stable")
    lines = shapely.multilinestrings(shapely.linestrings(pieces[by_stroke]), indices=stroke[by_stroke])
    return shapely.line_merge(lines)
