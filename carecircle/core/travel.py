"""Walking times on the network: snap points to edges, then compiled Dijkstra on the network's CSR.

A point is snapped to the nearest *segment* (not node); the straight walk from the point to the street counts
as part of its trip. Snapping uses the network's :class:`SegmentIndex` (a KD-tree of points along the segments,
then exact distances; built once per network and kept on it), which also remembers recent searches, so a study
snaps its demand once however many calls ask for it. :func:`travel_times` appends one source row per facility
to the network's cached CSR (edges to both ends of its segment, weighted by its off-network walk plus the
distance along the segment), runs one multi-source ``scipy.sparse.csgraph.dijkstra``, and reads each demand
point's time off the two ends of its own segment (plus its off-network walk), or directly along the segment
when a facility shares it.
:func:`source_demand_distances` does the same per source, bounded, each group of nearby sources walking only
the piece of the network its bound can reach, into a sparse matrix.
:func:`point_graph` instead inserts points as nodes (splitting their segments); it serves isochrone drawing,
which needs the cut positions.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import shapely
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree

from carecircle.core.network import Progress, WalkNetwork, directed_csr
from carecircle.defaults import DEFAULT_MAX_SNAP_M, DEFAULT_WALK_SPEED_MPS, SPEED_PRESETS_MPS  # noqa: F401 (re-exported)
from carecircle.errors import InputError

log = logging.getLogger(__name__)



@dataclass(frozen=True)
class Snapped:
    """Where points meet the network.

    Attributes
    ----------
    edge : segment index of each point, -1 when farther than the snapping limit.
    along_m : distance from the segment's ``u`` end to the snap position, metres (NaN when not snapped).
    offset_m : straight-line distance from the point to the network, metres (also for points not snapped).
    ok : whether the point was snapped (``offset_m <= max_snap_m``).
    """

    edge: np.ndarray
    along_m: np.ndarray
    offset_m: np.ndarray
    ok: np.ndarray


def snap_points(network: WalkNetwork, xy: np.ndarray, *, max_snap_m: float = DEFAULT_MAX_SNAP_M) -> Snapped:
    """Snap projected points to their nearest network segment.

    The nearest segment is found with the network's segment index (:func:`segment_index`, built once per
    network) and exact point-to-segment distances; a point equally near several segments takes the one with the
    lowest index, so the result never depends on search order. The search for a given set of points is
    remembered on the network, so a study that snaps the same points again (every threshold, facility type,
    scenario and drawing step) pays for it once.

    Parameters
    ----------
    network : the walking network.
    xy : (k, 2) point coordinates in ``network.crs`` (metres).
    max_snap_m : points farther than this from every segment are not snapped (``ok`` is False); a point at
        exactly ``max_snap_m`` is snapped.

    Returns
    -------
    Snapped

    Examples
    --------
    >>> import numpy as np, shapely
    >>> from carecircle.core.network import network_from_lines
    >>> net = network_from_lines(shapely.linestrings([[[0, 0], [600, 0]]]), crs="EPSG:32650")
    >>> s = snap_points(net, np.array([[250.0, 30.0], [250.0, 400.0]]))
    >>> s.ok.tolist(), s.along_m.tolist(), s.offset_m.tolist()
    ([True, False], [250.0, nan], [30.0, 400.0])
    """
    xy = np.ascontiguousarray(np.asarray(xy, dtype=np.float64).reshape(-1, 2))
    if not np.isfinite(xy).all():
        bad = np.flatnonzero(~np.isfinite(xy).all(axis=1))
        raise InputError(f"{len(bad)} points have missing coordinates (rows {_rows(bad)}); fill or drop them.")
    nearest, offset = segment_index(network).nearest(xy)
    ok = offset <= max_snap_m
    edge = np.where(ok, nearest, -1)
    along = np.full(len(xy), np.nan)
    if ok.any():
        e = edge[ok]
        a = network.node_xy[network.edge_u[e]]
        d = network.node_xy[network.edge_v[e]] - a
        length = network.edge_length_m[e]
        t = np.clip(((xy[ok] - a) * d).sum(axis=1) / np.maximum(length**2, 1e-12), 0.0, 1.0)
        along[ok] = t * length
    return Snapped(edge=edge, along_m=along, offset_m=offset, ok=ok)


class SegmentIndex:
    """Nearest-segment search over a network's segments: a KD-tree of sample points, then exact distances.

    Every segment is represented by the midpoints of ``ceil(length / (2 * reach))`` equal pieces, so each of
    its points lies within ``reach_m`` of one of its samples (``reach_m`` is about the 90th percentile of the
    segments' half-lengths: most segments have one sample, long ones several). Why no nearer segment is missed:
    if a segment's nearest point to ``q`` is at distance ``d``, that point is within ``reach_m`` of one of the
    segment's samples, so that sample is within ``d + reach_m`` of ``q``. A query therefore takes the ``K``
    nearest samples, computes the exact distance from ``q`` to their segments (best: ``d0``), and is complete
    once the ``K``-th sample is farther than ``d0 + reach_m`` (plus a margin of 1e-6 relative for rounding);
    otherwise ``K`` grows fourfold for the points still open, up to every sample. Distances are computed with
    GEOS's own point-to-segment formula (``Distance::pointToSegment``), so they equal shapely's bit for bit, and
    among segments at exactly the smallest distance the lowest segment index wins: the same answer as the
    shapely ``STRtree.query_nearest`` search this replaces.

    Searches are remembered by the points' content (the last :attr:`KEEP` point sets), in :attr:`snaps`.
    """

    #: How many point sets' searches are remembered.
    KEEP = 8

    def __init__(self, network: WalkNetwork):
        length = network.edge_length_m
        self._a = network.node_xy[network.edge_u]
        self._b = network.node_xy[network.edge_v]
        reach = max(float(np.quantile(length, 0.9)) / 2.0, 1e-6)
        pieces = np.maximum(np.ceil(length / (2.0 * reach)), 1).astype(np.int64)
        self.sample_edge = np.repeat(np.arange(len(length)), pieces)
        first = np.r_[0, np.cumsum(pieces)[:-1]]
        t = (np.arange(len(self.sample_edge)) - np.repeat(first, pieces) + 0.5) / np.repeat(pieces, pieces)
        a, b = self._a[self.sample_edge], self._b[self.sample_edge]
        samples = a + (b - a) * t[:, None]
        self.reach_m = float((length / (2.0 * pieces)).max())
        self.tree = cKDTree(samples, balanced_tree=False, compact_nodes=False)
        self.snaps: dict[bytes, tuple[np.ndarray, np.ndarray]] = {}
        barriers = network.barrier_xy
        self.barriers = shapely.STRtree(shapely.linestrings(barriers)) if barriers is not None and len(barriers) \
            else None

    def nearest(self, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Nearest segment of each point (lowest index among equidistant ones) and its distance, metres."""
        xy = np.ascontiguousarray(xy, dtype=np.float64).reshape(-1, 2)
        key = hashlib.blake2b(xy.tobytes(), digest_size=20).digest() + len(xy).to_bytes(8, "little")
        hit = self.snaps.get(key)
        if hit is None:
            hit = self._search(xy)
            if self.barriers is not None:
                hit = self._on_this_side(xy, *hit)
            while len(self.snaps) >= self.KEEP:
                try:  # studies in threads may share a network: another may have dropped it first
                    self.snaps.pop(next(iter(self.snaps)), None)
                except (StopIteration, RuntimeError):
                    break
            self.snaps[key] = hit
        return hit[0].copy(), hit[1].copy()

    def _search(self, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        k, n = len(xy), len(self.sample_edge)
        edge = np.full(k, -1, dtype=np.int64)
        dist = np.full(k, np.inf)
        # Queries in spatial order (1 km strips, then x) walk the tree's memory in order: about twice as fast.
        cell = np.floor(xy / 1000.0)
        todo = np.lexsort((xy[:, 0], cell[:, 1])) if k else np.arange(k)
        want = min(8, n)
        while len(todo):
            chunk = max(1, 1_000_000 // want)
            still = []
            for start in range(0, len(todo), chunk):
                idx = todo[start:start + chunk]
                q = xy[idx]
                sd, si = self.tree.query(q, k=want, workers=-1)  # every core: the query is most of a snap
                sd, si = sd.reshape(len(idx), want), si.reshape(len(idx), want)
                seg = self.sample_edge[np.minimum(si, n - 1)]
                d = _segment_distance(q[:, None, :], self._a[seg], self._b[seg])
                best = d.min(axis=1)
                lowest = np.where(d == best[:, None], seg, np.iinfo(np.int64).max).min(axis=1)
                bound = best + self.reach_m
                done = (want >= n) | (sd[:, -1] > bound + 1e-6 * (1.0 + bound))
                edge[idx[done]], dist[idx[done]] = lowest[done], best[done]
                still.append(idx[~done])
            todo = np.concatenate(still)
            want = min(4 * want, n)
        return edge, dist


    #: Candidates first examined per point whose nearest street lies across a barrier (more when none is clear).
    ACROSS_CANDIDATES = 64
    #: A point with no clear street within this many metres is not snapped (beyond any sensible snapping limit).
    FAR_ACROSS_M = 5_000.0

    def _crosses(self, xy: np.ndarray, edge: np.ndarray) -> np.ndarray:
        """Whether the straight walk from each point to its snap position on ``edge`` crosses a barrier (the last
        centimetre, on the street itself, excluded)."""
        a, b = self._a[edge], self._b[edge]
        d = b - a
        len2 = np.maximum((d * d).sum(axis=1), 1e-24)
        foot = a + d * np.clip(((xy - a) * d).sum(axis=1) / len2, 0.0, 1.0)[:, None]
        gap = np.hypot(*(foot - xy).T)
        end = foot + (xy - foot) * np.minimum(0.01 / np.maximum(gap, 1e-12), 1.0)[:, None]
        walks = shapely.linestrings(np.stack([xy, end], axis=1))
        hit = np.zeros(len(xy), dtype=bool)
        long = gap > 0.01
        if long.any():
            found, _ = self.barriers.query(walks[long], predicate="intersects")
            hit[np.flatnonzero(long)[found]] = True
        return hit

    def _on_this_side(self, xy: np.ndarray, edge: np.ndarray, dist: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Nearest segments reachable without crossing a railway, river, water area or coastline: a point whose
        nearest street lies across one takes the nearest segment whose straight walk does not cross (ties: lowest
        index), searched in growing rings of candidates; with none within :attr:`FAR_ACROSS_M`, its distance
        becomes infinite (it is then not snapped, reported as off the network)."""
        across = np.flatnonzero(self._crosses(xy, edge))
        if len(across) == 0:
            return edge, dist
        edge, dist = edge.copy(), dist.copy()
        n = len(self.sample_edge)
        for i in across:  # few points; each tries its candidates nearest first, more until one is clear
            want, found = min(self.ACROSS_CANDIDATES, n), False
            while not found:
                sd, si = self.tree.query(xy[i], k=want)
                cands = np.unique(self.sample_edge[np.minimum(np.atleast_1d(si), n - 1)])
                d = _segment_distance(xy[i][None, :], self._a[cands], self._b[cands])
                order = np.lexsort((cands, d))
                # Only segments nearer than the farthest sample asked for are sure to be all the candidates.
                sure = d[order] <= float(np.max(sd)) - self.reach_m if want < n else np.ones(len(order), dtype=bool)
                order = order[sure]
                ok = ~self._crosses(np.repeat(xy[i][None, :], len(order), axis=0), cands[order])
                if ok.any():
                    edge[i], dist[i], found = cands[order][ok][0], d[order][ok][0], True
                elif want >= n or float(np.min(sd)) > self.FAR_ACROSS_M:
                    dist[i], found = np.inf, True
                else:
                    want = min(want * 4, n)
        log.info("snapping: %d of %d points took a street on their side of a railway, river or water",
                 int(np.isfinite(dist[across]).sum()), len(xy))
        return edge, dist


def segment_index(network: WalkNetwork) -> SegmentIndex:
    """The network's :class:`SegmentIndex`, built on first use and kept on the network (which is immutable),
    like its cached CSR."""
    index = vars(network).get("_segment_index")
    if index is None:
        index = vars(network)["_segment_index"] = SegmentIndex(network)
    return index


def _segment_distance(p: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distance from points ``p`` to segments ``a``–``b`` (broadcast), by GEOS's formula, bit for bit."""
    px, py, ax, ay, bx, by = p[..., 0], p[..., 1], a[..., 0], a[..., 1], b[..., 0], b[..., 1]
    dx, dy = bx - ax, by - ay
    len2 = dx * dx + dy * dy
    with np.errstate(invalid="ignore", divide="ignore"):
        r = ((px - ax) * dx + (py - ay) * dy) / len2
        s = ((ay - py) * dx - (ax - px) * dy) / len2
        across = np.abs(s) * np.sqrt(len2)
    to_a = np.sqrt((px - ax) * (px - ax) + (py - ay) * (py - ay))
    to_b = np.sqrt((px - bx) * (px - bx) + (py - by) * (py - by))
    return np.where((len2 == 0) | (r <= 0.0), to_a, np.where(r >= 1.0, to_b, across))


# Costs of walking part of a segment (metres at the walking speed). Without a walking model's costs they are the
# plain distances, computed exactly as before (so plain results stay bit-identical); with them a part costs its
# share of the segment's cost in the direction walked, plus the penalty at the end node it passes.


def cost_to_u(network: WalkNetwork, e: np.ndarray, along: np.ndarray) -> np.ndarray:
    """Cost of walking from the point ``along`` metres into segment ``e`` to its ``u`` end."""
    if not network.has_costs:
        return along
    return along / np.maximum(network.edge_length_m[e], 1e-12) * network.edge_cost_bwd[e] + network.edge_pen_u[e]


def cost_to_v(network: WalkNetwork, e: np.ndarray, along: np.ndarray) -> np.ndarray:
    """Cost of walking from the point ``along`` metres into segment ``e`` to its ``v`` end."""
    length = network.edge_length_m[e]
    if not network.has_costs:
        return length - along
    return (length - along) / np.maximum(length, 1e-12) * network.edge_cost_fwd[e] + network.edge_pen_v[e]


def cost_from_u(network: WalkNetwork, e: np.ndarray, along: np.ndarray) -> np.ndarray:
    """Cost of walking from segment ``e``'s ``u`` end to the point ``along`` metres into it."""
    if not network.has_costs:
        return along
    return along / np.maximum(network.edge_length_m[e], 1e-12) * network.edge_cost_fwd[e] + network.edge_pen_u[e]


def cost_from_v(network: WalkNetwork, e: np.ndarray, along: np.ndarray) -> np.ndarray:
    """Cost of walking from segment ``e``'s ``v`` end to the point ``along`` metres into it."""
    length = network.edge_length_m[e]
    if not network.has_costs:
        return length - along
    return (length - along) / np.maximum(length, 1e-12) * network.edge_cost_bwd[e] + network.edge_pen_v[e]


def cost_along(network: WalkNetwork, e: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Cost of walking along segment ``e`` from ``start`` to ``end`` metres into it (no end node passed)."""
    if not network.has_costs:
        return np.abs(start - end)
    share = np.abs(end - start) / np.maximum(network.edge_length_m[e], 1e-12)
    return share * np.where(end >= start, network.edge_cost_fwd[e], network.edge_cost_bwd[e])


@dataclass(frozen=True)
class PointGraph:
    """The network with snapped points inserted as nodes.

    Attributes
    ----------
    csr : CSR adjacency walking towards the inserted points (entry ``(a, b)``: the cost of walking ``b → a``),
        metres (at the walking speed, with a walking model's costs).
    node_xy : (N, 2) coordinates of every node (network nodes first, then snap nodes, then point nodes).
    edge_u, edge_v, edge_w : every edge once (network segments, split pieces, connectors), ``edge_w`` its length.
    point_node : node index of each inserted point, -1 for points that were not snapped.
    edge_fwd, edge_bwd, edge_pen_u, edge_pen_v : with a walking model's costs, each edge's cost ``u → v`` and
        ``v → u`` and the penalties at its ends (see :class:`~carecircle.core.network.WalkNetwork`); ``None``
        without.
    """

    csr: sp.csr_array
    node_xy: np.ndarray
    edge_u: np.ndarray
    edge_v: np.ndarray
    edge_w: np.ndarray
    point_node: np.ndarray
    edge_fwd: np.ndarray | None = None
    edge_bwd: np.ndarray | None = None
    edge_pen_u: np.ndarray | None = None
    edge_pen_v: np.ndarray | None = None


def point_graph(network: WalkNetwork, xy: np.ndarray, snapped: Snapped) -> PointGraph:
    """Insert snapped points into the network (see the module docstring)."""
    xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    n = network.n_nodes
    idx = np.flatnonzero(snapped.ok)
    m = len(idx)
    snap_node = n + np.arange(m)
    pt_node = n + m + np.arange(m)
    e, along = snapped.edge[idx], snapped.along_m[idx]
    u, v, length = network.edge_u[e], network.edge_v[e], network.edge_length_m[e]
    a = network.node_xy[u]
    d = network.node_xy[v] - a
    snap_xy = a + d * (along / np.maximum(length, 1e-12))[:, None]

    # Chain the snap nodes of each segment in order along it: u -> s1 -> s2 -> ... -> v.
    order = np.lexsort((snap_node, along, e))
    e_s, a_s, s_s = e[order], along[order], snap_node[order]
    first = np.r_[True, e_s[1:] != e_s[:-1]] if m else np.zeros(0, dtype=bool)
    last = np.r_[e_s[1:] != e_s[:-1], True] if m else np.zeros(0, dtype=bool)
    prev_node = np.where(first, network.edge_u[e_s], np.r_[-1, s_s[:-1]])
    prev_along = np.where(first, 0.0, np.r_[0.0, a_s[:-1]])
    seg_u = np.concatenate([prev_node, s_s[last], snap_node])
    seg_v = np.concatenate([s_s, network.edge_v[e_s[last]], pt_node])
    seg_w = np.concatenate([a_s - prev_along, network.edge_length_m[e_s[last]] - a_s[last],
                            snapped.offset_m[idx]])
    seg_w = np.maximum(seg_w, 0.0)

    all_u = np.concatenate([network.edge_u, seg_u])
    all_v = np.concatenate([network.edge_v, seg_v])
    all_w = np.concatenate([network.edge_length_m, seg_w])
    total = n + 2 * m
    point_node = np.full(len(xy), -1, dtype=np.int64)
    point_node[idx] = pt_node
    node_xy = np.concatenate([network.node_xy, snap_xy, xy[idx]])
    if not network.has_costs:
        return PointGraph(csr=directed_csr(all_u, all_v, all_w, total), node_xy=node_xy, edge_u=all_u,
                          edge_v=all_v, edge_w=all_w, point_node=point_node)
    # Pieces of segment e between positions a1 < a2 carry their share of e's costs; the first piece pays e's
    # penalty at u, the last at v; connectors cost their straight walk both ways.
    piece_e = np.concatenate([e_s, e_s[last]])
    share = np.concatenate([a_s - prev_along, network.edge_length_m[e_s[last]] - a_s[last]]) / np.maximum(
        network.edge_length_m[piece_e], 1e-12)
    zeros = np.zeros(m)
    fwd = np.concatenate([network.edge_cost_fwd, share * network.edge_cost_fwd[piece_e], snapped.offset_m[idx]])
    bwd = np.concatenate([network.edge_cost_bwd, share * network.edge_cost_bwd[piece_e], snapped.offset_m[idx]])
    pen_u = np.concatenate([network.edge_pen_u, np.where(first, network.edge_pen_u[e_s], 0.0), zeros[last], zeros])
    pen_v = np.concatenate([network.edge_pen_v, zeros, network.edge_pen_v[e_s[last]], zeros])
    ends = pen_u + pen_v
    return PointGraph(csr=directed_csr(all_u, all_v, bwd + ends, total, back=fwd + ends), node_xy=node_xy,
                      edge_u=all_u, edge_v=all_v, edge_w=all_w, point_node=point_node, edge_fwd=fwd, edge_bwd=bwd,
                      edge_pen_u=pen_u, edge_pen_v=pen_v)


@dataclass(frozen=True)
class TravelTimes:
    """Walking time from every demand point to its nearest facility.

    Attributes
    ----------
    minutes : (k,) walking minutes, off-network walks included; ``inf`` when unreachable or beyond the limit.
    nearest : (k,) index of the nearest facility (row position in the facility input), -1 when none.
    facility_snap : how facilities met the network.
    demand_snap : how demand points met the network.
    """

    minutes: np.ndarray
    nearest: np.ndarray
    facility_snap: Snapped
    demand_snap: Snapped


def travel_times(
    network: WalkNetwork,
    facility_xy: np.ndarray,
    demand_xy: np.ndarray,
    *,
    walk_speed_mps: float = DEFAULT_WALK_SPEED_MPS,
    max_snap_m: float = DEFAULT_MAX_SNAP_M,
    max_minutes: float | None = None,
    facility_snap: Snapped | None = None,
    demand_snap: Snapped | None = None,
) -> TravelTimes:
    """Walking minutes from each demand point to its nearest facility, by one multi-source Dijkstra run.

    Each facility becomes a source node with two outgoing edges, to the ends of its segment (its off-network
    walk plus the distance along the segment to that end). One ``scipy.sparse.csgraph.dijkstra`` run from all
    of them gives every network node its distance to the nearest facility; a demand point then takes the
    better end of its own segment (plus its off-network walk), or walks directly along the segment to a
    facility on the same segment. The network's CSR is reused: only the facility rows are appended.

    Parameters
    ----------
    network : the walking network.
    facility_xy, demand_xy : (f, 2) and (k, 2) projected coordinates (metres, ``network.crs``).
    walk_speed_mps : walking speed, metres per second (older pedestrians ≈ 1.0).
    max_snap_m : facilities farther than this from the network are an error (:class:`SnapError` is raised by
        the caller that knows their ids); demand points farther are left unreachable (``inf``).
    max_minutes : stop the search beyond this many minutes (faster); times beyond it are ``inf``.
    facility_snap, demand_snap : the points already snapped with :func:`snap_points` (a study snaps its
        demand once and reuses it for every threshold, facility type and scenario); snapped here when ``None``
        (which is cheap when the same points were snapped on this network before: the network remembers the
        search, see :class:`SegmentIndex`).

    Returns
    -------
    TravelTimes

    Examples
    --------
    >>> import numpy as np, shapely
    >>> from carecircle.core.network import network_from_lines
    >>> net = network_from_lines(shapely.linestrings([[[0, 0], [600, 0]]]), crs="EPSG:32650")
    >>> tt = travel_times(net, np.array([[0, 10]]), np.array([[300, -20]]), walk_speed_mps=1.0)
    >>> float(tt.minutes[0]) * 60   # 10 m to the street, 300 m along it, 20 m to the door
    330.0
    """
    if walk_speed_mps <= 0 or not np.isfinite(walk_speed_mps):
        raise InputError(f"walking speed {walk_speed_mps!r} m/s must be a positive number (older people ≈ 1.0).")
    facility_xy = np.asarray(facility_xy, dtype=np.float64).reshape(-1, 2)
    demand_xy = np.asarray(demand_xy, dtype=np.float64).reshape(-1, 2)
    f_snap = facility_snap if facility_snap is not None else snap_points(network, facility_xy, max_snap_m=max_snap_m)
    d_snap = demand_snap if demand_snap is not None else snap_points(network, demand_xy, max_snap_m=max_snap_m)
    if len(f_snap.ok) != len(facility_xy):
        raise InputError(f"facility_snap holds {len(f_snap.ok)} points but {len(facility_xy)} facilities were given.")
    if len(d_snap.ok) != len(demand_xy):
        raise InputError(f"demand_snap holds {len(d_snap.ok)} points but {len(demand_xy)} demand points were given.")
    k = len(demand_xy)
    minutes = np.full(k, np.inf)
    nearest = np.full(k, -1, dtype=np.int64)
    fac = np.flatnonzero(f_snap.ok)
    if len(fac) == 0 or k == 0:
        return TravelTimes(minutes, nearest, f_snap, d_snap)

    fac = first_of_colocated(f_snap, fac)
    n = network.n_nodes
    limit = np.inf if max_minutes is None else max_minutes * 60.0 * walk_speed_mps
    dist, _, origin = dijkstra(_with_sources(network, f_snap, fac), indices=n + np.arange(len(fac)),
                               min_only=True, return_predecessors=True, limit=limit)
    dem = np.flatnonzero(d_snap.ok)
    e, along, off = d_snap.edge[dem], d_snap.along_m[dem], d_snap.offset_m[dem]
    u, v = network.edge_u[e], network.edge_v[e]
    via_u, via_v = dist[u] + cost_to_u(network, e, along), dist[v] + cost_to_v(network, e, along)
    best = np.minimum(via_u, via_v) + off
    src = np.where(via_u <= via_v, origin[u], origin[v])
    who = np.where(np.isfinite(best) & (src >= n), fac[np.maximum(src - n, 0)], -1)

    # A facility on the demand point's own segment may be nearer directly than by way of either end.
    d_pos, f_pos = _same_segment_pairs(e, f_snap.edge[fac])
    if len(d_pos):
        direct = (cost_along(network, e[d_pos], along[d_pos], f_snap.along_m[fac[f_pos]]) + off[d_pos]
                  + f_snap.offset_m[fac[f_pos]])
        order = np.lexsort((f_pos, direct, d_pos))
        d_pos, f_pos, direct = d_pos[order], f_pos[order], direct[order]
        first = np.r_[True, d_pos[1:] != d_pos[:-1]]
        d_pos, f_pos, direct = d_pos[first], f_pos[first], direct[first]
        better = direct < best[d_pos]
        best[d_pos[better]] = direct[better]
        who[d_pos[better]] = fac[f_pos[better]]
    best[best > limit] = np.inf
    who[~np.isfinite(best)] = -1
    minutes[dem] = best / walk_speed_mps / 60.0
    nearest[dem] = who
    log.info("travel: %d demand points, %d facilities, %d reached", k, len(fac), int((nearest >= 0).sum()))
    return TravelTimes(minutes, nearest, f_snap, d_snap)


def first_of_colocated(snapped: Snapped, idx: np.ndarray) -> np.ndarray:
    """``idx`` with facilities that meet the network at the same place (segment, position and off-network walk)
    kept once, as the first listed: a person whose nearest care is a building holding a day-care centre and a
    canteen counts for the one listed first, the same on every run (otherwise the search's order would choose)."""
    if len(idx) < 2:
        return idx
    e, a, o = snapped.edge[idx], snapped.along_m[idx], snapped.offset_m[idx]
    order = np.lexsort((idx, o, a, e))
    e, a, o = e[order], a[order], o[order]
    first = np.r_[True, (e[1:] != e[:-1]) | (a[1:] != a[:-1]) | (o[1:] != o[:-1])]
    return np.sort(idx[order][first])


def _with_sources(network: WalkNetwork, snapped: Snapped, idx: np.ndarray, *, base: sp.csr_array | None = None,
                  local: np.ndarray | None = None) -> sp.csr_array:
    """The network's CSR (or ``base``, a piece of it whose nodes are numbered by ``local``, -1 for nodes left
    out) with one extra row per snapped point: edges to both ends of its segment (those in the piece)."""
    base = network.csr if base is None else base
    n, f = base.shape[0], len(idx)
    e, along, off = snapped.edge[idx], snapped.along_m[idx], snapped.offset_m[idx]
    targets = np.column_stack([network.edge_u[e], network.edge_v[e]]).ravel()
    weights = np.maximum(np.column_stack([off + cost_from_u(network, e, along),
                                          off + cost_from_v(network, e, along)]).ravel(), 0.0)
    counts = np.full(f, 2, dtype=np.int64)
    if local is not None and base is not network.csr:
        targets = local[targets]
        inside = targets >= 0
        targets, weights = targets[inside], weights[inside]
        counts = inside.reshape(f, 2).sum(axis=1)
    indptr = np.concatenate([base.indptr.astype(np.int64), base.nnz + np.cumsum(counts)])
    indices = np.concatenate([base.indices.astype(np.int64), targets])
    data = np.concatenate([base.data, weights])
    return sp.csr_array((data, indices, indptr), shape=(n + f, n + f))


def _same_segment_pairs(demand_edge: np.ndarray, source_edge: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """All (demand position, source position) pairs that lie on the same segment."""
    order = np.argsort(source_edge, kind="stable")
    sorted_edges = source_edge[order]
    lo = np.searchsorted(sorted_edges, demand_edge, side="left")
    hi = np.searchsorted(sorted_edges, demand_edge, side="right")
    counts = hi - lo
    d_pos = np.repeat(np.arange(len(demand_edge)), counts)
    starts = np.repeat(lo - np.r_[0, np.cumsum(counts)[:-1]], counts)
    f_pos = order[np.arange(len(d_pos)) + starts]
    return d_pos, f_pos


def _rows(idx: np.ndarray, most: int = 8) -> str:
    shown = ", ".join(str(int(i) + 1) for i in idx[:most])
    return shown + (f", … ({len(idx) - most} more)" if len(idx) > most else "")


def source_demand_distances(
    network: WalkNetwork,
    source_snap: Snapped,
    demand_snap: Snapped,
    *,
    limit_m: float,
    chunk_cells: float = 4e7,
    progress: Progress | None = None,
) -> sp.csr_array:
    """Sparse (sources × demand) walking distances in metres, keeping only pairs within ``limit_m``.

    A walk of at most ``limit_m`` never leaves the square of ``limit_m`` around its start (a street is never
    shorter than the straight line), so the sources are grouped by tiles of ``2 × limit_m`` and each group
    searches only the streets of its tile and the eight around it: one bounded ``scipy`` Dijkstra per group
    (as many sources at once as fit in about ``chunk_cells`` floats) on that piece of the network, which is
    exact and costs what the walks reach, not the size of the city. No dense sources × demand matrix is ever
    held. Sources that were not snapped get empty rows. ``progress``, when given, is called as
    ``progress("Walking from candidate sites", done, total)`` per group.
    """
    n, k = network.n_nodes, len(demand_snap.ok)
    src = np.flatnonzero(source_snap.ok)
    dem = np.flatnonzero(demand_snap.ok)
    e, along, off = demand_snap.edge[dem], demand_snap.along_m[dem], demand_snap.offset_m[dem]
    u, v = network.edge_u[e], network.edge_v[e]
    to_u, to_v = cost_to_u(network, e, along), cost_to_v(network, e, along)
    rows, cols, vals = [], [], []
    done = 0
    local = np.full(n, -1, dtype=np.int64)  # node number in the current piece, -1 outside it
    # A walk costing at most limit_m stays within limit_m / min_cost_ratio metres of its start (= limit_m plain).
    for nodes, group in _source_tiles(network, source_snap, src, limit_m / network.min_cost_ratio):
        if len(nodes) == n:
            nodes = np.arange(n)  # the whole network, in its own numbering
        local[nodes] = np.arange(len(nodes))
        lu, lv = local[u], local[v]
        near = np.flatnonzero((lu >= 0) | (lv >= 0))
        lu, lv = lu[near], lv[near]
        sub = subgraph(network.csr, nodes, local) if len(nodes) < n else network.csr
        step = max(1, int(chunk_cells // max(len(nodes), 1)))
        for start in range(0, len(group), step):
            if progress is not None:
                progress("Walking from candidate sites", done, len(src))
            idx = group[start:start + step]
            done += len(idx)
            graph = _with_sources(network, source_snap, idx, base=sub, local=local)
            dist = dijkstra(graph, indices=len(nodes) + np.arange(len(idx)), limit=limit_m)
            dist = np.concatenate([dist[:, :len(nodes)], np.full((len(idx), 1), np.inf)], axis=1)
            best = np.minimum(dist[:, lu] + to_u[near], dist[:, lv] + to_v[near]) + off[near]
            r, c = np.nonzero(best <= limit_m)
            rows.append(idx[r])
            cols.append(dem[near[c]])
            vals.append(best[r, c])
        local[nodes] = -1
    # Direct walks along a shared segment (never longer than via the ends, so they only add or shorten pairs).
    d_pos, s_pos = _same_segment_pairs(e, source_snap.edge[src])
    direct = (cost_along(network, e[d_pos], along[d_pos], source_snap.along_m[src[s_pos]]) + off[d_pos]
              + source_snap.offset_m[src[s_pos]])
    near = direct <= limit_m
    rows.append(src[s_pos[near]])
    cols.append(dem[d_pos[near]])
    vals.append(direct[near])
    r, c, x = (np.concatenate(a) if a else np.zeros(0) for a in (rows, cols, vals))
    # Duplicate pairs (via the ends and directly): keep the shorter.
    return _min_duplicates(r.astype(np.int64), c.astype(np.int64), x, (len(source_snap.ok), k))


def row_entries(csr: sp.csr_array, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions of the stored entries of ``rows`` in ``csr.indices`` and ``csr.data`` (row after row) and how many
    each row holds."""
    starts, stops = csr.indptr[rows].astype(np.int64), csr.indptr[rows + 1].astype(np.int64)
    counts = stops - starts
    pos = np.repeat(starts - np.r_[0, np.cumsum(counts)[:-1]], counts) + np.arange(int(counts.sum()))
    return pos, counts


def subgraph(csr: sp.csr_array, nodes: np.ndarray, local: np.ndarray | None = None) -> sp.csr_array:
    """The sub-graph of ``csr`` on ``nodes``, numbered by ``local`` (``local[nodes] == arange``, -1 elsewhere) or,
    without it, by position in ``nodes`` (then sorted and not empty)."""
    pos, counts = row_entries(csr, nodes)
    targets = csr.indices[pos]
    if local is not None:
        cols = local[targets]
    else:
        cols = np.minimum(np.searchsorted(nodes, targets), len(nodes) - 1)
        cols = np.where(nodes[cols] == targets, cols, -1)
    keep = cols >= 0
    row = np.repeat(np.arange(len(nodes)), counts)[keep]
    indptr = np.r_[0, np.cumsum(np.bincount(row, minlength=len(nodes)))].astype(np.int64)
    return sp.csr_array((csr.data[pos[keep]], cols[keep], indptr), shape=(len(nodes), len(nodes)))


def _source_tiles(network: WalkNetwork, snapped: Snapped, src: np.ndarray, limit_m: float):
    """Groups of sources (tiles of ``2 × limit_m`` by snap position) with the nodes of their tile and the eight
    around it, which hold every walk of at most ``limit_m`` from them; one group of every node when unbounded."""
    n = network.n_nodes
    if len(src) == 0:
        return
    if not np.isfinite(limit_m):
        yield np.arange(n), src
        return
    tile = max(2.0 * float(limit_m), 1.0)
    e = snapped.edge[src]
    a = network.node_xy[network.edge_u[e]]
    d = network.node_xy[network.edge_v[e]] - a
    pos = a + d * (snapped.along_m[src] / np.maximum(network.edge_length_m[e], 1e-12))[:, None]
    lo = network.node_xy.min(axis=0)
    node_cell = np.floor((network.node_xy - lo) / tile).astype(np.int64)
    src_cell = np.floor((pos - lo) / tile).astype(np.int64)
    height = int(max(node_cell[:, 1].max(), src_cell[:, 1].max())) + 3
    node_key = (node_cell[:, 0] + 1) * height + node_cell[:, 1] + 1
    order = np.argsort(node_key, kind="stable")
    sorted_key = node_key[order]
    src_key = (src_cell[:, 0] + 1) * height + src_cell[:, 1] + 1
    by_tile = np.argsort(src_key, kind="stable")
    keys, first = np.unique(src_key[by_tile], return_index=True)
    bounds = np.r_[first, len(by_tile)]
    for i, key in enumerate(keys):
        # Columns x-1, x, x+1 of the tile; in each, rows y-1..y+1 are consecutive keys.
        low = np.array([key - height - 1, key - 1, key + height - 1])
        start = np.searchsorted(sorted_key, low, side="left")
        stop = np.searchsorted(sorted_key, low + 2, side="right")
        nodes = np.concatenate([order[s:t] for s, t in zip(start, stop, strict=True)])
        yield nodes, src[by_tile[bounds[i]:bounds[i + 1]]]


def _min_duplicates(r: np.ndarray, c: np.ndarray, x: np.ndarray, shape) -> sp.csr_array:
    order = np.lexsort((x, c, r))
    r, c, x = r[order], c[order], x[order]
    first = np.r_[True, (r[1:] != r[:-1]) | (c[1:] != c[:-1])] if len(r) else np.zeros(0, dtype=bool)
    r, c, x = r[first], c[first], x[first]
    # Built from indptr directly, so pairs at distance 0 stay stored entries.
    indptr = np.r_[0, np.cumsum(np.bincount(r, minlength=shape[0]))].astype(np.int64)
    return sp.csr_array((x, c, indptr), shape=shape)
