"""Read the walkable ways of an ``.osm.pbf`` file with libosmium (pyosmium), as arrays.

The same rules as the OSM XML reader (:func:`carecircle.core.network.load_network`): every way with a
``highway`` tag is judged by :func:`~carecircle.core.osm_tags.walkable` (once per distinct combination of the tags
it reads), pedestrian squares are walked along their outline, crossing and barrier nodes and the barrier ways
(railways, rivers …) are kept for the walking model. So a ``.osm.pbf`` and the ``.osm`` export of the same data
give the same network.

Speed: libosmium decodes the file and keeps every node's location in its own index (C++); a C++ key filter
passes on only the ways and nodes carrying the few keys read here (buildings and untagged nodes never reach
Python); each kept way's coordinates come out as one WKB string (C++), decoded for all ways at once with numpy.
Python touches each highway way once, never each node.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from carecircle.core.osm_tags import crossing_code, is_barrier_way, node_blocks, step_count, walkable, way_kind
from carecircle.errors import NetworkError

log = logging.getLogger(__name__)

#: The tags :func:`walkable` reads (as the XML reader reads them).
WALK_KEYS = ("highway", "foot", "access", "service", "area")
#: Keys whose ways or nodes the reader looks at; everything else is skipped inside libosmium.
_KEYS = ("highway", "railway", "waterway", "natural", "crossing", "barrier")
#: Ways decoded per batch (their WKB strings are joined and converted to bytes in one call).
_BATCH = 50_000
#: Ways between two progress reports.
_PROGRESS_EVERY = 100_000
#: WKB of a linestring: byte order (1), geometry type (4), number of points (4), then x, y doubles.
_WKB_HEADER = 9


@dataclass(frozen=True)
class PbfWays:
    """What :func:`read_pbf` found, in WGS-84.

    ``coords`` (k, 2) are the vertices of the walkable lines one after another, ``line`` each vertex's line
    (0, 1, … in file order; a way cut at missing nodes gives several) and ``same_line[i]`` whether vertices
    ``i`` and ``i + 1`` belong to one line; ``kind`` / ``steps`` per line (``EDGE_*`` code, tagged
    ``step_count``); the tagged nodes' positions with their crossing codes and barrier flags; the barrier ways'
    straight pieces as a (m, 2, 2) array; counts for the log.
    """

    coords: np.ndarray
    same_line: np.ndarray
    line: np.ndarray
    kind: np.ndarray
    steps: np.ndarray
    node_lonlat: np.ndarray
    node_crossing: np.ndarray
    node_blocked: np.ndarray
    barrier_pieces: np.ndarray
    n_highway_ways: int
    n_cut_ways: int


class WkbLines:
    """Way coordinates gathered as WKB hex strings, decoded to one coordinate array in batches (hex to bytes
    for a whole batch at once, the doubles read with numpy); one entry per call of :meth:`add` / :meth:`add_coords`."""

    def __init__(self) -> None:
        self.pending: list[str] = []
        self.chunks: list[np.ndarray] = []
        self.counts: list[np.ndarray] = []

    def add(self, wkb_hex: str) -> None:
        self.pending.append(wkb_hex)
        if len(self.pending) >= _BATCH:
            self.flush()

    def add_coords(self, coords: list[tuple[float, float]]) -> None:
        """A way built in Python (one whose nodes are not all in the file)."""
        self.flush()
        self.chunks.append(np.asarray(coords, dtype=np.float64).reshape(-1, 2))
        self.counts.append(np.array([len(coords)], dtype=np.int64))

    def flush(self) -> None:
        if not self.pending:
            return
        sizes = np.fromiter((len(h) for h in self.pending), dtype=np.int64, count=len(self.pending)) // 2
        raw = np.frombuffer(bytes.fromhex("".join(self.pending)), dtype=np.uint8)
        self.pending.clear()
        starts = np.r_[0, np.cumsum(sizes)[:-1]]
        if (raw[starts] != 1).any():  # libosmium writes the machine's byte order; numpy reads little-endian here
            raise NetworkError("unexpected big-endian WKB from libosmium; cannot decode way coordinates.")
        header = (starts[:, None] + np.arange(_WKB_HEADER)).ravel()
        body = np.delete(raw, header)
        self.chunks.append(body.view("<f8").reshape(-1, 2))
        self.counts.append((sizes - _WKB_HEADER) // 16)

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """(coords, number of vertices per line)."""
        self.flush()
        if not self.chunks:
            return np.zeros((0, 2)), np.zeros(0, dtype=np.int64)
        return np.concatenate(self.chunks), np.concatenate(self.counts)


def read_pbf(path: Path, progress=None) -> PbfWays:
    """The walkable ways, tagged nodes and barrier ways of an ``.osm.pbf`` file (see the module docstring)."""
    import osmium  # lazy: the libosmium bindings, only for this file type

    name = path.name
    factory = osmium.geom.WKBFactory()
    errors = (osmium.InvalidLocationError, RuntimeError)
    processor = (osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY)
                 .with_locations()  # every node's location kept by libosmium, for the ways' geometries
                 .with_filter(osmium.filter.KeyFilter(*_KEYS)))
    walk_lines, barrier_lines = WkbLines(), WkbLines()
    tag_keys: list[tuple] = []  # per highway way, in file order
    way_kinds: list[int] = []
    way_steps: list[float] = []
    kept: list[int] = []  # highway ways with a geometry, positions in tag_keys
    node_rows: list[tuple[float, float, int, bool]] = []
    n_cut = 0
    for obj in processor:
        if obj.is_node():
            t = obj.tags
            cross = crossing_code(t.get("highway"), t.get("crossing"), t.get("crossing:signals"))
            block = node_blocks(t.get("barrier"), t.get("access"), t.get("foot"))
            if cross or block:
                loc = obj.location
                node_rows.append((loc.lon, loc.lat, cross, block))
            continue
        if not obj.is_way():
            continue
        t = obj.tags
        highway = t.get("highway")
        if highway is not None:
            tag_keys.append(tuple(t.get(k) for k in WALK_KEYS))
            way_kinds.append(way_kind(highway, t.get("sidewalk", t.get("sidewalk:both")), t.get("foot")))
            way_steps.append(step_count(t.get("step_count")) if highway == "steps" else float("nan"))
            target = walk_lines
        elif is_barrier_way(t.get("railway"), t.get("waterway"), t.get("natural"), t.get("bridge"), t.get("tunnel")):
            target = barrier_lines
        else:
            continue
        pieces = _geometry(obj, factory, target, errors)
        if highway is not None:
            kept.extend([len(tag_keys) - 1] * pieces)
            n_cut += pieces != 1
        if progress is not None and len(tag_keys) % _PROGRESS_EVERY == 0 and highway is not None:
            progress(f"Reading walking network from {name}", len(tag_keys), None)
    coords, counts = walk_lines.arrays()
    walk = _walkable_once_per_combination(tag_keys)
    line_way = np.asarray(kept, dtype=np.int64)  # per line: its way's position among the highway ways
    ok = walk[line_way] if len(line_way) else np.zeros(0, dtype=bool)
    log.info("network: %s holds %d highway ways, %d of them walkable", name, len(tag_keys), int(walk.sum()))
    if n_cut:
        log.info("network: %s: %d ways use nodes missing from the file (a clipped extract); they were cut "
                    "at the missing nodes", name, n_cut)
    # Keep the walkable lines' vertices; number the kept lines 0, 1, … in file order.
    vertex_line = np.repeat(np.cumsum(ok) - 1, counts)[np.repeat(ok, counts)]
    coords = coords[np.repeat(ok, counts)]
    b_coords, b_counts = barrier_lines.arrays()
    b_line = np.repeat(np.arange(len(b_counts)), b_counts)
    b_same = b_line[1:] == b_line[:-1]
    nodes = np.array(node_rows, dtype=np.float64).reshape(-1, 4)
    return PbfWays(
        coords=coords, same_line=vertex_line[1:] == vertex_line[:-1], line=vertex_line,
        kind=np.asarray(way_kinds, dtype=np.int8)[line_way[ok]], steps=np.asarray(way_steps)[line_way[ok]],
        node_lonlat=nodes[:, :2], node_crossing=nodes[:, 2].astype(np.int8), node_blocked=nodes[:, 3].astype(bool),
        barrier_pieces=np.stack([b_coords[:-1][b_same], b_coords[1:][b_same]], axis=1),
        n_highway_ways=len(tag_keys), n_cut_ways=n_cut,
    )


def _geometry(way, factory, lines: WkbLines, errors: tuple[type[Exception], ...]) -> int:
    """Add a way's line to ``lines``; the number of lines added (a way whose nodes are not all in the file is
    cut at the missing ones, as a clipped extract leaves it; pieces of one vertex are dropped)."""
    try:
        lines.add(factory.create_linestring(way))
        return 1
    except errors:  # libosmium: a node location missing, or fewer than two distinct ones
        pass
    runs, run = [], []
    for node in way.nodes:
        if node.location.valid():
            xy = (node.location.lon, node.location.lat)
            if not run or run[-1] != xy:
                run.append(xy)
        elif run:
            runs.append(run)
            run = []
    runs.append(run)
    runs = [r for r in runs if len(r) > 1]
    for r in runs:
        lines.add_coords(r)
    return len(runs)


def _walkable_once_per_combination(keys: list[tuple]) -> np.ndarray:
    """:func:`walkable` for each tag tuple, evaluated once per distinct combination (a city has a few hundred)."""
    verdict = dict.fromkeys(keys)
    if not verdict:
        return np.zeros(0, dtype=bool)
    distinct = list(verdict)
    verdict.update(zip(distinct, walkable(pd.DataFrame(distinct, columns=list(WALK_KEYS))).tolist(), strict=True))
    return np.fromiter((verdict[k] for k in keys), dtype=bool, count=len(keys))
