"""What the OpenStreetMap tags of a way or node mean for an older pedestrian: walkable or not, steps, major
roads, crossings and barriers.

The readers of :mod:`carecircle.core.network` call these on the tags they find (OSM XML, ``.osm.pbf`` through
libosmium, GraphML); the walking model (:mod:`carecircle.core.walk_model`) turns the codes into walking times.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely

#: ``edge_kind`` codes: what a segment is, as far as the walking model cares (:mod:`carecircle.core.walk_model`).
EDGE_PATH, EDGE_STEPS, EDGE_MAJOR, EDGE_MAJOR_NO_SIDEWALK = 0, 1, 2, 3
#: ``highway`` values of the major roads a pedestrian must cross with care (and their links).
MAJOR_ROADS = frozenset({"trunk", "trunk_link", "primary", "primary_link", "secondary", "secondary_link"})
#: ``node_crossing`` codes: how a crossing is controlled, from the node's ``crossing`` / ``highway`` tags.
CROSSING_NONE, CROSSING_SIGNALS, CROSSING_MARKED, CROSSING_UNMARKED, CROSSING_NO = 0, 1, 2, 3, 4

#: ``highway`` values nobody walks on (osmnx's walk filter, plus planned and disused ways).
NOT_WALKABLE_HIGHWAY = {
    "abandoned", "bus_guideway", "construction", "cycleway", "motorway", "motorway_link", "no", "planned",
    "platform", "proposed", "raceway", "razed", "rest_area", "services", "disused", "bus_stop",
}
PRIVATE = {"private", "no"}


def walkable(tags: pd.DataFrame) -> np.ndarray:
    """Boolean mask of ways a pedestrian may use, from OSM tag columns (missing columns count as absent).

    Rules (osmnx's ``walk`` filter, applied to tags read from files): a ``highway`` tag is required and not
    one of the non-walkable kinds (motorway, cycleway, construction, ...); ``area=yes`` is dropped, except a
    pedestrian square (``highway=pedestrian``), whose outline is walked (not across it); ``foot=no``
    is dropped; ``access=private|no`` and ``service=private`` are dropped unless ``foot`` allows walking.
    Tags that are lists (simplified osmnx graphs) count if any value matches.
    """

    n = len(tags)

    def values(name: str) -> pd.Series:
        """Every value of a tag, one row per value, indexed by way position (lists and ``a;b`` split)."""
        if name not in tags:
            return pd.Series([], dtype=object)
        s = pd.Series(tags[name].to_numpy(), index=np.arange(n)).explode().dropna().astype(str)
        if s.str.contains(";", regex=False).any():
            s = s.str.split(";").explode()
        return s.str.strip()

    def any_in(name: str, accepted) -> np.ndarray:
        s = values(name)
        hit = np.zeros(n, dtype=bool)
        hit[s.index[s.isin(accepted).to_numpy()].to_numpy(dtype=np.int64)] = True
        return hit

    has_highway = np.zeros(n, dtype=bool)
    highway = values("highway")
    has_highway[highway.index[highway.ne("").to_numpy()].to_numpy(dtype=np.int64)] = True
    foot_ok = any_in("foot", {"yes", "designated", "permissive"})
    ok = has_highway & (~any_in("highway", NOT_WALKABLE_HIGHWAY) | foot_ok)
    # Areas are dropped, except pedestrian squares (common in Chinese towns): walked along their outline.
    ok &= ~(any_in("area", {"yes"}) & ~any_in("highway", {"pedestrian"}))
    ok &= ~any_in("foot", {"no"})
    ok &= ~(any_in("access", PRIVATE) & ~foot_ok)
    ok &= ~any_in("service", {"private"})
    return ok


def way_kind(highway, sidewalk=None, foot=None) -> int:
    """The ``EDGE_*`` code of a way from its ``highway``, ``sidewalk`` (or ``sidewalk:both``) and ``foot`` tags."""
    if highway == "steps":
        return EDGE_STEPS
    if highway in MAJOR_ROADS:
        no_walk = sidewalk in ("no", "none") and foot not in ("yes", "designated", "permissive")
        return EDGE_MAJOR_NO_SIDEWALK if no_walk else EDGE_MAJOR
    return EDGE_PATH


def crossing_code(highway=None, crossing=None, signals=None) -> int:
    """The ``CROSSING_*`` code of a node from its ``highway``, ``crossing`` and ``crossing:signals`` tags."""
    if crossing == "no":
        return CROSSING_NO
    if crossing == "traffic_signals" or highway == "traffic_signals" or signals == "yes":
        return CROSSING_SIGNALS
    if crossing in ("marked", "zebra", "uncontrolled", "island"):
        return CROSSING_MARKED
    if crossing is not None or highway == "crossing":
        return CROSSING_UNMARKED
    return CROSSING_NONE


def node_blocks(barrier=None, access=None, foot=None) -> bool:
    """Whether a node is a barrier a pedestrian may not pass: a gate, fence or wall closed by ``access``."""
    return (barrier in ("gate", "fence", "wall", "lift_gate", "swing_gate") and access in PRIVATE
            and foot not in ("yes", "designated", "permissive"))


#: Ways a walk to the street cannot cross straight: railways, rivers and canals, water areas and the coastline
#: (unless on a bridge or in a tunnel). Streams and ditches are stepped over; trams run in the street.
BARRIER_RAILWAYS = frozenset({"rail", "light_rail", "narrow_gauge", "monorail", "funicular", "subway"})
BARRIER_WATERWAYS = frozenset({"river", "canal", "riverbank", "dock"})
BARRIER_NATURAL = frozenset({"water", "coastline"})


def is_barrier_way(railway=None, waterway=None, natural=None, bridge=None, tunnel=None) -> bool:
    """Whether a way is a line nobody walks across (see :data:`BARRIER_RAILWAYS` …): snapping must not cross it."""
    if bridge not in (None, "no") or tunnel not in (None, "no"):
        return False
    return railway in BARRIER_RAILWAYS or waterway in BARRIER_WATERWAYS or natural in BARRIER_NATURAL


def step_count(value) -> float:
    try:
        count = float(str(value).strip())
    except (TypeError, ValueError):
        return float("nan")
    return count if 0 < count < 10_000 else float("nan")


def tag_column(frame: pd.DataFrame, name: str) -> list:
    """A tag column as plain values (``None`` when missing); osmnx lists count by their first value."""
    if name not in frame:
        return [None] * len(frame)
    return [v[0] if isinstance(v, list) and v else (None if v is None or v != v else v) for v in frame[name]]


def edge_tags(edges: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Per way (row of an osmnx edge table) its ``EDGE_*`` code and tagged ``step_count``."""
    highway, sidewalk, foot = tag_column(edges, "highway"), tag_column(edges, "sidewalk"), tag_column(edges, "foot")
    kind = np.array([way_kind(h, s, f) for h, s, f in zip(highway, sidewalk, foot, strict=True)], dtype=np.int8)
    counts = tag_column(edges, "step_count")
    steps = np.array([step_count(c) if k == EDGE_STEPS else np.nan for k, c in zip(kind, counts, strict=True)])
    return kind, steps


def node_tags(nodes: pd.DataFrame | None):
    """(WGS-84 positions, ``CROSSING_*`` codes, barrier flags) of tagged nodes, or ``None``."""
    if nodes is None or len(nodes) == 0:
        return None
    cols = {k: tag_column(nodes, k) for k in ("highway", "crossing", "crossing:signals", "barrier", "access", "foot")}
    crossing = np.array([crossing_code(h, c, g) for h, c, g in zip(
        cols["highway"], cols["crossing"], cols["crossing:signals"], strict=True)], dtype=np.int8)
    blocked = np.array([node_blocks(b, a, f) for b, a, f in zip(
        cols["barrier"], cols["access"], cols["foot"], strict=True)], dtype=bool)
    lonlat = shapely.get_coordinates(nodes.geometry.values) if "geometry" in nodes else \
        nodes[["lon", "lat"]].to_numpy(dtype=float)
    return lonlat, crossing, blocked


@dataclass(frozen=True)
class OsmTags:
    """What the walking model reads from OSM, as a reader found it: per segment (aligned with the segments the
    network is built from: consecutive vertices of one line) the ``kind`` (``EDGE_*``), the ``steps`` of the
    segment's way (``step_count``, NaN when untagged) and the ``way`` it belongs to (to share the steps out by
    length); per vertex (aligned with ``coords``) the crossing code and barrier flag, or per coordinate: the
    tagged nodes' WGS-84 positions with their codes (``node_lonlat``), matched to the network's nodes at OSM's
    1e-7 degree precision."""

    kind: np.ndarray
    steps: np.ndarray
    way: np.ndarray
    vertex_crossing: np.ndarray | None = None
    vertex_blocked: np.ndarray | None = None
    node_lonlat: np.ndarray | None = None
    node_crossing: np.ndarray | None = None
    node_blocked: np.ndarray | None = None

    def per_node_and_segment(self, node_of, n_nodes, node_xy, u, v, uniq_c) -> dict[str, np.ndarray]:
        crossing = np.zeros(n_nodes, dtype=np.int8)
        blocked = np.zeros(n_nodes, dtype=bool)
        if self.vertex_crossing is not None:
            np.maximum.at(crossing, node_of, self.vertex_crossing.astype(np.int8))
            np.logical_or.at(blocked, node_of, self.vertex_blocked.astype(bool))
        if self.node_lonlat is not None and len(self.node_lonlat):
            key = np.ascontiguousarray(np.round(self.node_lonlat, 7), dtype=np.float64).view(np.complex128).ravel()
            pos = np.minimum(np.searchsorted(uniq_c, key), n_nodes - 1)
            hit = uniq_c[pos] == key
            np.maximum.at(crossing, pos[hit], self.node_crossing[hit].astype(np.int8))
            np.logical_or.at(blocked, pos[hit], self.node_blocked[hit].astype(bool))
        length = np.hypot(*(node_xy[v] - node_xy[u]).T)
        way_length = np.bincount(self.way, weights=length, minlength=int(self.way.max()) + 1 if len(self.way) else 0)
        with np.errstate(invalid="ignore", divide="ignore"):
            steps = self.steps * length / way_length[self.way]
        return {"edge_kind": self.kind.astype(np.int8), "edge_steps": steps, "node_crossing": crossing,
                "node_blocked": blocked}


def line_pieces(lines: np.ndarray) -> np.ndarray:
    """The straight pieces of (Multi)LineStrings as a (k, 2, 2) coordinate array."""
    lines = shapely.get_parts(np.asarray(lines, dtype=object))
    if len(lines) == 0:
        return np.zeros((0, 2, 2))
    coords, idx = shapely.get_coordinates(lines, return_index=True)
    same = idx[1:] == idx[:-1]
    return np.stack([coords[:-1][same], coords[1:][same]], axis=1)
