"""An independent reference for walking distances, written without carecircle.core.travel.

travel.py snaps with an STRtree and inserts points into the graph as nodes. This reference instead:

* snaps by brute force: the distance from every point to every segment, projected and clamped by hand;
* builds its own symmetric CSR from ``edge_u``/``edge_v``/``edge_length_m`` and runs plain
  ``scipy.sparse.csgraph.dijkstra`` from both ends of every facility's segment;
* combines: distance = facility offset + demand offset + the shortest of the four end-to-end routes
  (along / remaining length at each end), or the direct walk ``|along_d - along_f|`` on a shared segment.

A point equally near several segments takes the best of them (ties at a shared node give the same answer).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra

TIE_M = 1e-7


def snap_candidates(network, xy: np.ndarray, *, chunk: int = 256):
    """Nearest segments of each point by brute force.

    Returns flat arrays ``(point, edge, along_m, offset_m)``: one row per point and nearest segment (several
    rows when segments tie within :data:`TIE_M`). When the network has barriers (railways, rivers …), a
    segment counts only if the straight walk to it (its last centimetre excepted) touches none of them: each
    point's segments are tried nearest first against the union of every barrier piece; a point with no such
    segment gets no row.
    """
    import shapely

    xy = np.asarray(xy, dtype=float).reshape(-1, 2)
    a = network.node_xy[network.edge_u]
    b = network.node_xy[network.edge_v]
    d = b - a
    length = np.sqrt((d**2).sum(axis=1))
    barriers = getattr(network, "barrier_xy", None)
    wall = shapely.union_all(shapely.linestrings(barriers)) if barriers is not None and len(barriers) else None
    if wall is not None:
        shapely.prepare(wall)
    out = []
    for start in range(0, len(xy), chunk):
        p = xy[start:start + chunk][:, None, :]
        t = np.clip(((p - a) * d).sum(axis=-1) / length**2, 0.0, 1.0)
        foot = a + t[..., None] * d
        dist = np.sqrt(((p - foot) ** 2).sum(axis=-1))
        if wall is not None:
            dist = _clear_only(p[:, 0, :], foot, dist, wall)
        best = dist.min(axis=1, keepdims=True)
        pi, ei = np.nonzero((dist <= best + TIE_M) & np.isfinite(dist))
        out.append((pi + start, ei, t[pi, ei] * length[ei], dist[pi, ei]))
    return tuple(np.concatenate(c) for c in zip(*out, strict=True))


def _clear_only(p: np.ndarray, foot: np.ndarray, dist: np.ndarray, wall) -> np.ndarray:
    """``dist`` with every segment whose walk from the point crosses ``wall`` set to inf, for the segments up to
    the nearest clear one (and those tied with it) of each point; farther ones become inf too."""
    import shapely

    out = np.full_like(dist, np.inf)
    for i in range(len(p)):
        order = np.argsort(dist[i], kind="stable")
        for j in order:
            gap = dist[i, j]
            end = foot[i, j] + (p[i] - foot[i, j]) * min(0.01 / max(gap, 1e-12), 1.0)
            if gap <= 0.01 or not wall.intersects(shapely.LineString([p[i], end])):
                near = order[dist[i, order] <= gap + TIE_M]
                for k in near:  # ties: each must be clear itself
                    e2 = foot[i, k] + (p[i] - foot[i, k]) * min(0.01 / max(dist[i, k], 1e-12), 1.0)
                    if dist[i, k] <= 0.01 or not wall.intersects(shapely.LineString([p[i], e2])):
                        out[i, k] = dist[i, k]
                break
    return out


def reference_distances(network, facility_xy, demand_xy, *, max_snap_m: float = 300.0) -> np.ndarray:
    """(f, k) walking distances in metres from each facility to each demand point (``inf`` when unreachable)."""
    n = network.n_nodes
    u, v, w = network.edge_u, network.edge_v, network.edge_length_m
    graph = sp.coo_matrix((np.r_[w, w], (np.r_[u, v], np.r_[v, u])), shape=(n, n)).tocsr()
    fp, fe, fa, fo = snap_candidates(network, facility_xy)
    dp, de, da, do = snap_candidates(network, demand_xy)
    f_ok, d_ok = fo <= max_snap_m, do <= max_snap_m
    ends = np.unique(np.r_[u[fe], v[fe]])
    dist = dijkstra(graph, directed=False, indices=ends)
    row = {node: i for i, node in enumerate(ends)}
    fl, dl = w[fe], w[de]
    out = np.full((len(np.asarray(facility_xy).reshape(-1, 2)), len(np.asarray(demand_xy).reshape(-1, 2))), np.inf)
    for j in np.flatnonzero(f_ok):
        du, dv = dist[row[u[fe[j]]]], dist[row[v[fe[j]]]]
        routes = np.min([
            fa[j] + du[u[de]] + da,
            fa[j] + du[v[de]] + (dl - da),
            (fl[j] - fa[j]) + dv[u[de]] + da,
            (fl[j] - fa[j]) + dv[v[de]] + (dl - da),
            np.where(de == fe[j], np.abs(da - fa[j]), np.inf),
        ], axis=0)
        total = np.where(d_ok, fo[j] + do + routes, np.inf)
        np.minimum.at(out[fp[j]], dp, total)
    return out


def reference_within(network, source_xy, demand_xy, *, limit_m: float, max_snap_m: float = 300.0) -> np.ndarray:
    """(s, k) walking distances in metres from each source to each demand point, ``inf`` beyond ``limit_m``.

    What :func:`carecircle.core.travel.source_demand_distances` should store, as a dense matrix: the same
    off-network walk at both ends as :func:`reference_distances`, sources and demand points farther than
    ``max_snap_m`` from every segment unreachable, pairs at exactly ``limit_m`` kept.
    """
    d = reference_distances(network, source_xy, demand_xy, max_snap_m=max_snap_m)
    return np.where(d <= limit_m, d, np.inf)


def dense_distances(matrix) -> np.ndarray:
    """A sparse distance matrix as dense, absent pairs ``inf`` (stored zeros stay 0, unlike ``toarray``)."""
    csr = matrix.tocsr()
    out = np.full(csr.shape, np.inf)
    rows = np.repeat(np.arange(csr.shape[0]), np.diff(csr.indptr))
    out[rows, csr.indices] = csr.data
    return out


def reference_minutes(network, facility_xy, demand_xy, *, walk_speed_mps: float = 1.0,
                      max_snap_m: float = 300.0) -> np.ndarray:
    """Walking minutes from each demand point to its nearest facility (``inf`` when none)."""
    d = reference_distances(network, facility_xy, demand_xy, max_snap_m=max_snap_m)
    return d.min(axis=0) / walk_speed_mps / 60.0
