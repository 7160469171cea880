"""The walking network: read OpenStreetMap, keep walkable ways, project, and cache as arrays.

Every source (a ``.osm.pbf`` through libosmium, ``.osm``/``.osm.bz2`` XML streamed by our own reader, GraphML or an
online query through osmnx) is normalised to one form: straight segments between nodes, in the study area's UTM
CRS. Nodes are identified by their coordinates (OSM's 1e-7 degree precision), so curved edges of a simplified graph
become chains of segments and every edge length is an exact Euclidean length in metres. Only the largest connected
component is kept: a point snapped onto a detached fragment would otherwise look unreachable.
"""

from __future__ import annotations

import bz2
import hashlib
import json
import logging
import os
import tempfile
import xml.etree.ElementTree as ET
from array import array
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd
import pyproj
import scipy.sparse as sp
import shapely
from pyproj.aoi import AreaOfInterest
from pyproj.database import query_utm_crs_info
from scipy.sparse.csgraph import connected_components

from carecircle.core.osm_pbf import WALK_KEYS, read_pbf
from carecircle.core.osm_tags import (
    OsmTags,
    crossing_code,
    edge_tags,
    is_barrier_way,
    line_pieces,
    node_blocks,
    node_tags,
    step_count,
    walkable,
    way_kind,
)
from carecircle.errors import InputError, NetworkError

log = logging.getLogger(__name__)

#: A progress callback: ``progress(step)`` announces a step; ``progress(step, done, total)`` reports how far a
#: long step (many facilities, candidate chunks) has got. The CLI draws it as a bar; the API default is silence.
Progress = Callable[..., None]

#: Bumped whenever the cached form, a reader or the walking filter changes, so old caches are rebuilt.
#: 2: OSM XML streamed by our own reader instead of osmnx. 3: tags of the walking model kept. 4: barriers.
#: 5: .osm.pbf read with libosmium and the XML reader's rules.
CACHE_VERSION = 5



@dataclass(frozen=True)
class WalkNetwork:
    """A walking network of straight segments in a metric CRS.

    Attributes
    ----------
    node_xy : (n, 2) float array of node coordinates in metres (``crs``).
    edge_u, edge_v : (m,) int arrays of segment end nodes; each segment is stored once, ``u < v``.
    crs : the projected CRS (a UTM zone), as an authority string such as ``"EPSG:32635"``.
    source : human-readable description of where the network came from.
    edge_kind : (m,) int8, what each segment is (``EDGE_PATH``, ``EDGE_STEPS``, ``EDGE_MAJOR``,
        ``EDGE_MAJOR_NO_SIDEWALK``), when the source tells (OSM files); ``None`` otherwise.
    edge_steps : (m,) float, the tagged ``step_count`` of a flight of steps shared out over its segments by
        length (NaN where not tagged); ``None`` when the source tells nothing.
    node_crossing : (n,) int8, the crossing control tagged on each node (``CROSSING_*``); ``None`` when unknown.
    node_blocked : (n,) bool, a barrier a pedestrian may not pass (a gate, fence or wall with ``access`` private
        or no); ``None`` when unknown.
    edge_cost_fwd, edge_cost_bwd : (m,) the cost of moving along each segment from ``u`` to ``v`` and back, in
        metres at the study's walking speed (seconds × speed), set by a walking model
        (:func:`carecircle.core.walk_model.apply_walk_model`); ``None``: the plain model, cost = length.
    edge_pen_u, edge_pen_v : (m,) a cost paid at the ``u`` / ``v`` end of a segment whichever way it is walked
        (half the wait of a road crossing at that node), metres at the walking speed; set with the costs.
    barrier_xy : (k, 2, 2) straight pieces of the lines nobody walks across to reach a street (railways, rivers,
        water areas, coastline; :func:`carecircle.core.osm_tags.is_barrier_way`), projected; snapping does not
        cross them. ``None`` when the source tells nothing (GraphML, online).
    """

    node_xy: np.ndarray
    edge_u: np.ndarray
    edge_v: np.ndarray
    crs: str
    source: str
    edge_kind: np.ndarray | None = None
    edge_steps: np.ndarray | None = None
    node_crossing: np.ndarray | None = None
    node_blocked: np.ndarray | None = None
    edge_cost_fwd: np.ndarray | None = None
    edge_cost_bwd: np.ndarray | None = None
    edge_pen_u: np.ndarray | None = None
    edge_pen_v: np.ndarray | None = None
    barrier_xy: np.ndarray | None = None

    @property
    def n_nodes(self) -> int:
        return len(self.node_xy)

    @property
    def n_edges(self) -> int:
        return len(self.edge_u)

    @cached_property
    def edge_length_m(self) -> np.ndarray:
        """Length of each segment in metres."""
        d = self.node_xy[self.edge_v] - self.node_xy[self.edge_u]
        return np.hypot(d[:, 0], d[:, 1])

    @cached_property
    def segments(self) -> np.ndarray:
        """Shapely LineStrings of the segments (projected), for spatial queries and drawing."""
        coords = np.stack([self.node_xy[self.edge_u], self.node_xy[self.edge_v]], axis=1)
        return shapely.linestrings(coords)

    @cached_property
    def tree(self) -> shapely.STRtree:
        """Spatial index over :attr:`segments`."""
        return shapely.STRtree(self.segments)

    @cached_property
    def csr(self) -> sp.csr_array:
        """CSR adjacency for searches from the facilities: entry ``(a, b)`` is the cost of walking ``b → a``, so
        a search from a facility gives every node its cost of walking *to* it. Without a walking model's costs
        it is symmetric with segment lengths in metres."""
        if self.edge_cost_fwd is None:
            return directed_csr(self.edge_u, self.edge_v, self.edge_length_m, self.n_nodes)
        ends = self.edge_pen_u + self.edge_pen_v
        return directed_csr(self.edge_u, self.edge_v, self.edge_cost_bwd + ends, self.n_nodes,
                            back=self.edge_cost_fwd + ends)

    @property
    def has_costs(self) -> bool:
        """Whether a walking model set the segments' costs (else cost = length, both ways)."""
        return self.edge_cost_fwd is not None

    @cached_property
    def min_cost_ratio(self) -> float:
        """The smallest cost per metre of any segment in either direction (1 without costs): a walk costing
        ``c`` never ends farther than ``c / min_cost_ratio`` metres from its start."""
        if self.edge_cost_fwd is None or self.n_edges == 0:
            return 1.0
        length = np.maximum(self.edge_length_m, 1e-12)
        return float(min(1.0, (self.edge_cost_fwd / length).min(), (self.edge_cost_bwd / length).min()))

    @cached_property
    def to_wgs84(self) -> pyproj.Transformer:
        return pyproj.Transformer.from_crs(self.crs, "EPSG:4326", always_xy=True)

    @cached_property
    def from_wgs84(self) -> pyproj.Transformer:
        return pyproj.Transformer.from_crs("EPSG:4326", self.crs, always_xy=True)

    @cached_property
    def hull(self) -> shapely.Geometry:
        """Convex hull of the nodes (projected): the area the network can speak for."""
        return shapely.convex_hull(shapely.multipoints(self.node_xy))

    def __repr__(self) -> str:
        return f"WalkNetwork({self.n_nodes:,} nodes, {self.n_edges:,} segments, {self.crs}, {self.source})"


def directed_csr(u: np.ndarray, v: np.ndarray, w: np.ndarray, n: int, *, back: np.ndarray | None = None
                 ) -> sp.csr_array:
    """CSR matrix holding each edge in both directions: ``u → v`` weighs ``w``, ``v → u`` weighs ``back``
    (default ``w``). Zero weights are kept as edges."""
    rows = np.concatenate([u, v])
    cols = np.concatenate([v, u])
    data = np.concatenate([w, w if back is None else back]).astype(np.float64)
    return sp.csr_array((data, (rows, cols)), shape=(n, n))


# --------------------------------------------------------------------------------------------- building


def network_from_lines(
    lines: np.ndarray, *, crs: str | None = None, source: str = "lines", keep_largest: bool = True,
    line_kind: np.ndarray | None = None, line_steps: np.ndarray | None = None,
    tagged_nodes: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None, barriers: np.ndarray | None = None,
) -> WalkNetwork:
    """Build a :class:`WalkNetwork` from walkable line geometries.

    Parameters
    ----------
    lines : array of shapely LineStrings (or MultiLineStrings), in ``crs``.
    crs : CRS of ``lines``; geographic input is projected to its UTM zone. Default WGS-84.
    source : description kept on the network.
    keep_largest : keep only the largest connected component.
    line_kind, line_steps : per line, its ``EDGE_*`` code and tagged ``step_count`` (OSM sources; see
        :class:`WalkNetwork`); ``tagged_nodes``: WGS-84 positions of crossing and barrier nodes with their
        ``CROSSING_*`` codes and barrier flags; ``barriers``: lines nobody walks across (railways, rivers …) in
        ``crs``, kept as :attr:`WalkNetwork.barrier_xy`.

    Examples
    --------
    >>> import shapely
    >>> net = network_from_lines(shapely.linestrings([[[0, 0], [100, 0], [100, 100]]]), crs="EPSG:32650")
    >>> net.n_nodes, round(float(net.edge_length_m.sum()))
    (3, 200)
    """
    lines = np.asarray(lines, dtype=object)
    present = ~shapely.is_missing(lines)
    lines, of_line = shapely.get_parts(lines[present], return_index=True)
    simple = shapely.get_type_id(lines) == 1
    lines, of_line = lines[simple], np.flatnonzero(present)[of_line[simple]]
    if len(lines) == 0:
        raise NetworkError(f"{source}: no walkable ways found; check that the area or file holds streets or paths.")
    coords, idx = shapely.get_coordinates(lines, return_index=True)
    same_line = idx[1:] == idx[:-1]
    tags = None
    if line_kind is not None:
        seg_line = idx[:-1][same_line]
        steps = np.full(len(present), np.nan) if line_steps is None else np.asarray(line_steps, dtype=float)
        nodes = tagged_nodes or (None, None, None)
        tags = OsmTags(kind=np.asarray(line_kind)[of_line][seg_line], steps=steps[of_line][seg_line], way=seg_line,
                       node_lonlat=nodes[0], node_crossing=nodes[1], node_blocked=nodes[2])
    pieces = line_pieces(barriers) if barriers is not None else None
    return _from_vertices(coords, same_line, crs=crs, source=source, keep_largest=keep_largest, tags=tags,
                          barriers=pieces)


def _from_vertices(
    coords: np.ndarray, same_line: np.ndarray, *, crs, source: str, keep_largest: bool,
    zone_coords: np.ndarray | None = None, tags: OsmTags | None = None, barriers: np.ndarray | None = None,
) -> WalkNetwork:
    """The network of the segments between consecutive vertices of the same line.

    ``coords`` is (k, 2) in ``crs``; ``same_line[i]`` says whether vertices ``i`` and ``i + 1`` belong to one
    line. Geographic coordinates are rounded to 1e-7 degrees (OSM's precision) and projected to the UTM zone of
    ``zone_coords`` (default: of ``coords``). ``tags``, when the source has them, carries what the walking model
    reads, per segment and per vertex.
    """
    src_crs = pyproj.CRS.from_user_input(crs or "EPSG:4326")
    if src_crs.is_geographic:
        coords = np.round(coords, 7)
        zone = coords if zone_coords is None else zone_coords
        target = utm_crs_for(zone[:, 0], zone[:, 1])
        fwd = pyproj.Transformer.from_crs(src_crs, target, always_xy=True)
    else:
        target, fwd = src_crs.to_string(), None
    # Unique coordinate pairs, sorted as complex numbers (x, y): 1-D and far faster than unique(axis=0).
    as_complex = np.ascontiguousarray(coords, dtype=np.float64).view(np.complex128).ravel()
    uniq_c, node_of = np.unique(as_complex, return_inverse=True)
    uniq = np.column_stack([uniq_c.real, uniq_c.imag])
    node_of = node_of.ravel()
    u, v = node_of[:-1][same_line], node_of[1:][same_line]
    if fwd is not None:
        x, y = fwd.transform(uniq[:, 0], uniq[:, 1])
        node_xy = np.column_stack([x, y])
    else:
        node_xy = uniq.astype(np.float64)
    attrs = tags.per_node_and_segment(node_of, len(uniq), node_xy, u, v, uniq_c) if tags is not None else None
    barrier_xy = None
    if barriers is not None:  # (k, 2, 2) pieces in ``crs``, projected like the nodes
        flat = np.asarray(barriers, dtype=np.float64).reshape(-1, 2)
        if fwd is not None and len(flat):
            flat = np.column_stack(fwd.transform(flat[:, 0], flat[:, 1]))
        barrier_xy = flat.reshape(-1, 2, 2)
    net = _finish(node_xy, u, v, target, source, keep_largest=keep_largest, attrs=attrs)
    return replace(net, barrier_xy=barrier_xy) if barrier_xy is not None else net


def _finish(node_xy, u, v, crs, source, *, keep_largest: bool, attrs: dict | None = None) -> WalkNetwork:
    """Drop loops and duplicates, keep the largest component, renumber nodes compactly. ``attrs`` (per input
    segment ``edge_*``, per node ``node_*``) follow; of duplicate segments the most walkable kind is kept."""
    a, b = np.minimum(u, v), np.maximum(u, v)
    keep = a != b
    n = len(node_xy)
    raw_key = a[keep].astype(np.int64) * n + b[keep]
    edge_attrs = {k: x[keep] for k, x in (attrs or {}).items() if k.startswith("edge_")}
    if edge_attrs:  # one row per pair: the most walkable kind (lowest code) of the duplicates
        order = np.lexsort((edge_attrs["edge_kind"], raw_key))
        sorted_key = raw_key[order]
        first = np.r_[True, sorted_key[1:] != sorted_key[:-1]] if len(sorted_key) else np.zeros(0, dtype=bool)
        key = sorted_key[first]
        edge_attrs = {k: x[order][first] for k, x in edge_attrs.items()}
    else:
        key = _unique_sorted(raw_key)  # one int64 per pair: far faster than axis=0
    pairs = np.column_stack([key // n, key % n])
    if len(pairs) == 0:
        raise NetworkError(f"{source}: the walkable ways form no segments; the area is too small or empty.")
    if keep_largest:
        adj = sp.csr_array((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
        n_comp, label = connected_components(adj, directed=False)
        if n_comp > 1:
            sizes = np.bincount(label[pairs[:, 0]], minlength=n_comp)
            main = int(np.argmax(sizes))
            dropped = int((sizes > 0).sum() - 1)
            in_main = label[pairs[:, 0]] == main
            pairs = pairs[in_main]
            edge_attrs = {k: x[in_main] for k, x in edge_attrs.items()}
            log.info("network: kept the largest connected component, dropped %d detached fragments", dropped)
    used = np.flatnonzero(np.bincount(pairs.ravel(), minlength=n))  # = np.unique, in O(n) without sorting
    renumber = np.zeros(n, dtype=np.int64)
    renumber[used] = np.arange(len(used))
    pairs = renumber[pairs]
    node_attrs = {k: x[used] for k, x in (attrs or {}).items() if k.startswith("node_")}
    net = WalkNetwork(
        node_xy=np.ascontiguousarray(node_xy[used], dtype=np.float64),
        edge_u=pairs[:, 0].astype(np.int64),
        edge_v=pairs[:, 1].astype(np.int64),
        crs=crs,
        source=source,
        **edge_attrs,
        **node_attrs,
    )
    log.info("network: %s", net)
    return net


def without_edges(network: WalkNetwork, drop: np.ndarray, *, source: str | None = None) -> WalkNetwork:
    """``network`` without the segments where ``drop`` is true, reduced to its largest connected component, with
    its OSM attributes kept (costs are not: a walking model sets them on the result)."""
    keep = ~np.asarray(drop, dtype=bool)
    attrs = {k: getattr(network, k)[keep] for k in ("edge_kind", "edge_steps") if getattr(network, k) is not None}
    attrs |= {k: getattr(network, k) for k in ("node_crossing", "node_blocked") if getattr(network, k) is not None}
    out = _finish(network.node_xy, network.edge_u[keep], network.edge_v[keep], network.crs,
                  source or network.source, keep_largest=True, attrs=attrs)
    return replace(out, barrier_xy=network.barrier_xy)


def _unique_sorted(values: np.ndarray) -> np.ndarray:
    """``np.unique(values)`` by sorting: numpy 2.3+ hashes instead, 100× slower on millions of int64 keys."""
    values = np.sort(values)
    return values[np.append(True, values[1:] != values[:-1])] if len(values) else values


def utm_crs_for(lon: np.ndarray, lat: np.ndarray) -> str:
    """The UTM CRS (WGS-84 datum) of the centre of the given WGS-84 coordinates, e.g. ``"EPSG:32650"``."""
    lon_c, lat_c = float(np.nanmedian(lon)), float(np.nanmedian(lat))
    if not (-180 <= lon_c <= 180 and -80 <= lat_c <= 84):
        raise InputError(
            f"coordinates centred at lon={lon_c:.4f}, lat={lat_c:.4f} are outside the UTM range; "
            "give WGS-84 longitude/latitude (x=lon, y=lat)."
        )
    infos = query_utm_crs_info(
        datum_name="WGS 84", area_of_interest=AreaOfInterest(lon_c, lat_c, lon_c, lat_c)
    )
    # Several zones can touch the point (on a boundary): take the one whose centre is nearest.
    zone = min(infos, key=lambda i: abs((i.area_of_use.west + i.area_of_use.east) / 2 - lon_c))
    return f"{zone.auth_name}:{zone.code}"


# ------------------------------------------------------------------------------------------------ sources


def load_network(
    path: str | os.PathLike,
    *,
    cache_dir: str | os.PathLike | None = None,
    progress: Progress | None = None,
) -> WalkNetwork:
    """Read a walking network from a local file, using a cached copy when the file has not changed.

    Parameters
    ----------
    path : ``.osm.pbf`` (read with libosmium), ``.osm`` / ``.osm.bz2`` / ``.xml`` (OSM XML, streamed: only the
        walkable ways and node coordinates are kept) or ``.graphml`` (an osmnx graph). Ways are filtered with
        :func:`walkable`.
    cache_dir : folder for the cached array form (``None``: no cache). A cache entry is keyed by the file's
        absolute path, size and modification time and by :data:`CACHE_VERSION`. The folder is remembered for
        the file (:func:`network_cache_dir`), so that its buildings are cached beside the network.
    progress : optional callback: ``progress(step)`` when reading starts, then for OSM XML
        ``progress(step, done, total)`` with the bytes of the file read so far (compressed bytes for ``.bz2``).

    Returns
    -------
    WalkNetwork
    """
    path = Path(path)
    if not path.is_file():
        raise NetworkError(
            f"network file {str(path)!r} does not exist; give an .osm.pbf, .osm, .osm.bz2 or .graphml file."
        )
    kind = _file_kind(path)
    key = {"kind": kind, **file_key(path)}
    _CACHE_FOLDERS[key["path"]] = Path(cache_dir) if cache_dir is not None else None

    def build() -> WalkNetwork:
        if progress:
            progress(f"Reading walking network from {path.name}")
        try:
            if kind == "pbf":
                return _from_pbf(path, progress)
            if kind == "xml":
                return _from_xml(path, progress)
            return _from_graphml(path)
        except NetworkError:
            raise
        except Exception as exc:  # the readers raise anything from XML, protobuf or GraphML parsers
            raise NetworkError(
                f"cannot read network file {path.name!r} as {kind} ({type(exc).__name__}: {_first_line(exc)}); "
                "check that it is a complete OpenStreetMap export."
            ) from exc

    return _cached(key, build, cache_dir)


def download_network(
    *,
    place: str | None = None,
    bbox: tuple[float, float, float, float] | None = None,
    polygon: shapely.Geometry | None = None,
    cache_dir: str | os.PathLike | None = None,
    progress: Progress | None = None,
) -> WalkNetwork:
    """Download a walking network from OpenStreetMap (Overpass) through osmnx, once, then reuse the cache.

    Give exactly one of ``place`` (a geocodable name such as ``"和平区, 沈阳市, 辽宁省"``), ``bbox``
    (``(west, south, east, north)`` in WGS-84 degrees) or ``polygon`` (a WGS-84 shapely polygon).
    """
    given = [x is not None for x in (place, bbox, polygon)]
    if sum(given) != 1:
        raise InputError("give exactly one of place, bbox or polygon to download a network.")
    import osmnx as ox  # lazy: heavy OSM reader, only for its file type

    if bbox is not None:
        bbox = check_bbox(bbox)
    key = {"kind": "online", "place": place, "bbox": bbox, "polygon": polygon.wkt if polygon is not None else None}

    def build() -> WalkNetwork:
        if progress:
            progress("Downloading walking network from OpenStreetMap (Overpass)")
        try:
            if place is not None:
                graph = ox.graph_from_place(place, network_type="walk", simplify=False, retain_all=True)
            elif bbox is not None:
                graph = ox.graph_from_bbox(bbox, network_type="walk", simplify=False, retain_all=True)
            else:
                graph = ox.graph_from_polygon(polygon, network_type="walk", simplify=False, retain_all=True)
        except Exception as exc:  # osmnx raises its own, requests' and shapely's errors
            what = place or bbox or "the polygon"
            raise NetworkError(
                f"cannot download the walking network for {what!r} ({type(exc).__name__}: {exc}); "
                "check the name and your connection, or use --network with a local .osm.pbf file."
            ) from exc
        return _from_osmnx_graph(graph, source=f"OpenStreetMap via osmnx: {place or bbox or 'polygon'}")

    return _cached(key, build, cache_dir)


def check_bbox(bbox) -> tuple[float, float, float, float]:
    """Validate a (west, south, east, north) bounding box in WGS-84 degrees and return it as floats."""
    try:
        west, south, east, north = (float(x) for x in bbox)
    except (TypeError, ValueError) as exc:
        raise InputError(f"bbox {bbox!r} must be four numbers: west,south,east,north in degrees.") from exc
    if not (-180 <= west < east <= 180 and -90 <= south < north <= 90):
        raise InputError(
            f"bbox {bbox!r} is not west,south,east,north in degrees with west<east and south<north; "
            "check the order (x=lon first)."
        )
    return west, south, east, north


def _file_kind(path: Path) -> str:
    name = path.name.lower()
    if name.endswith(".pbf"):
        return "pbf"
    if name.endswith((".osm", ".osm.bz2", ".xml", ".osm.xml", ".xml.bz2")):
        return "xml"
    if name.endswith(".graphml"):
        return "graphml"
    raise NetworkError(
        f"network file {path.name!r} has an unknown type; use .osm.pbf, .osm, .osm.bz2 or .graphml."
    )


def _from_pbf(path: Path, progress: Progress | None = None) -> WalkNetwork:
    """An ``.osm.pbf`` file through libosmium, with the XML reader's rules (see :mod:`carecircle.core.osm_pbf`)."""
    found = read_pbf(path, progress)
    source = f"OpenStreetMap file {path.name}"
    if not found.same_line.any():
        raise NetworkError(f"{source}: no walkable ways found; check that the area or file holds streets or paths.")
    seg_line = found.line[:-1][found.same_line]
    tags = OsmTags(kind=found.kind[seg_line], steps=found.steps[seg_line], way=seg_line,
                   node_lonlat=found.node_lonlat, node_crossing=found.node_crossing, node_blocked=found.node_blocked)
    ends = np.concatenate([found.coords[:-1][found.same_line], found.coords[1:][found.same_line]])
    return _from_vertices(found.coords, found.same_line, crs="EPSG:4326", source=source, keep_largest=True,
                          zone_coords=np.round(ends, 7), tags=tags, barriers=found.barrier_pieces)


#: Ways whose walk verdict waits for one batched :func:`walkable` call (tag combinations not seen before).
_PENDING_WAYS = 20_000
#: Elements between two progress reports while streaming XML.
_PROGRESS_EVERY = 200_000


def _from_xml(path: Path, progress: Progress | None = None) -> WalkNetwork:
    """Stream OSM XML (``.osm``, ``.osm.bz2``, ``.xml``): node coordinates and the walkable ways, nothing else.

    One pass with ``ElementTree.iterparse``, each element dropped once read. Every node's id and coordinates go
    into compact arrays (24 bytes a node); a way is kept only when :func:`walkable` accepts its tags (evaluated
    once per distinct tag combination, in batches), and then only its node ids. Buildings and other ways are
    never turned into geometry. The result equals osmnx's ``graph_from_xml`` + :func:`walkable` (what this
    reader replaced); only the UTM zone is chosen from each segment's ends counted once (osmnx counted two-way
    segments twice), which can differ only for an area whose centre lies on a zone boundary.
    """
    name = path.name
    total = path.stat().st_size
    node_id, node_lon, node_lat = array("q"), array("d"), array("d")
    node_cross, node_block = array("b"), array("b")
    way_id, way_len, way_refs = array("q"), array("q"), array("q")
    way_kind_codes, way_steps = array("b"), array("d")
    barrier_len, barrier_refs = array("q"), array("q")
    verdict: dict[tuple, bool] = {}
    pending: list[tuple[tuple, int, list[int], dict]] = []
    n_ways = 0

    def keep(wid: int, refs: list[int], tags: dict) -> None:
        way_id.append(wid)
        way_len.append(len(refs))
        way_refs.extend(refs)
        highway = tags.get("highway")
        way_kind_codes.append(way_kind(highway, tags.get("sidewalk", tags.get("sidewalk:both")), tags.get("foot")))
        way_steps.append(step_count(tags.get("step_count")) if highway == "steps" else float("nan"))

    def flush() -> None:
        new = list({key for key, _, _, _ in pending if key not in verdict})
        if new:
            verdict.update(zip(new, walkable(pd.DataFrame(new, columns=list(WALK_KEYS))).tolist(), strict=True))
        for key, wid, refs, tags in pending:
            if verdict[key]:
                keep(wid, refs, tags)
        pending.clear()

    with open(path, "rb") as raw:
        stream = bz2.open(raw) if name.lower().endswith(".bz2") else raw
        events = ET.iterparse(stream, events=("start", "end"))
        _, root = next(events)
        if root.tag != "osm":
            raise NetworkError(
                f"{name} is not OpenStreetMap XML (its first element is <{root.tag[:40]}>, not <osm>); "
                "give an .osm export of the area."
            )
        seen = 0
        for event, el in events:
            if event == "start":
                continue
            tag = el.tag
            if tag == "node":
                get = el.get
                node_id.append(int(get("id")))
                node_lat.append(float(get("lat")))
                node_lon.append(float(get("lon")))
                if len(el):  # a tagged node: crossings and barriers matter to the walking model
                    t = {x.get("k"): x.get("v") for x in el.iterfind("tag")}
                    node_cross.append(crossing_code(t.get("highway"), t.get("crossing"), t.get("crossing:signals")))
                    node_block.append(node_blocks(t.get("barrier"), t.get("access"), t.get("foot")))
                else:
                    node_cross.append(0)
                    node_block.append(0)
            elif tag == "way":
                n_ways += 1
                tags = {t.get("k"): t.get("v") for t in el.iterfind("tag")}
                if "highway" in tags:
                    key = tuple(tags.get(k) for k in WALK_KEYS)
                    refs = [int(nd.get("ref")) for nd in el.iterfind("nd")]
                    ok = verdict.get(key)
                    if ok is None:
                        pending.append((key, int(el.get("id")), refs, tags))
                        if len(pending) >= _PENDING_WAYS:
                            flush()
                    elif ok:
                        keep(int(el.get("id")), refs, tags)
                elif is_barrier_way(tags.get("railway"), tags.get("waterway"), tags.get("natural"), tags.get("bridge"),
                                    tags.get("tunnel")):
                    refs = [int(nd.get("ref")) for nd in el.iterfind("nd")]
                    barrier_len.append(len(refs))
                    barrier_refs.extend(refs)
            elif tag != "relation":
                continue
            root.clear()  # drop what was read: memory stays flat however long the file
            seen += 1
            if progress is not None and seen % _PROGRESS_EVERY == 0:
                progress(f"Reading walking network from {name}", raw.tell(), total)
        flush()
    if progress is not None:
        progress(f"Reading walking network from {name}", total, total)
    log.info("network: %s holds %d nodes and %d ways, %d of them walkable", name, len(node_id), n_ways, len(way_id))
    source = f"OpenStreetMap file {name}"
    if len(way_id) == 0:
        raise NetworkError(f"{source}: no walkable ways found; check that the area or file holds streets or paths.")
    return _network_from_ways(
        np.frombuffer(node_id, dtype=np.int64), np.frombuffer(node_lon), np.frombuffer(node_lat),
        np.frombuffer(way_id, dtype=np.int64), np.frombuffer(way_len, dtype=np.int64),
        np.frombuffer(way_refs, dtype=np.int64), name=name, source=source,
        node_tags=(np.frombuffer(node_cross, dtype=np.int8), np.frombuffer(node_block, dtype=np.int8)),
        way_tags=(np.frombuffer(way_kind_codes, dtype=np.int8), np.frombuffer(way_steps)),
        barrier_ways=(np.frombuffer(barrier_len, dtype=np.int64), np.frombuffer(barrier_refs, dtype=np.int64)),
    )


def _network_from_ways(node_id, lon, lat, way_id, way_len, refs, *, name: str, source: str,
                       node_tags=None, way_tags=None, barrier_ways=None) -> WalkNetwork:
    """Look up the ways' node ids among the file's nodes (a later duplicate id wins) and build the network."""
    order = np.argsort(node_id, kind="stable")
    ids = node_id[order]
    last = np.append(ids[1:] != ids[:-1], True)
    ids, order = ids[last], order[last]
    pos = np.minimum(np.searchsorted(ids, refs), max(len(ids) - 1, 0))
    found = ids[pos] == refs if len(ids) else np.zeros(len(refs), dtype=bool)
    line = np.repeat(np.arange(len(way_id)), way_len)
    if not found.all():
        bad_ways = np.unique(line[~found])
        first = int(np.flatnonzero(~found)[0])
        raise NetworkError(
            f"{name}: {len(bad_ways):,} walkable ways use nodes missing from the file (e.g. node {int(refs[first])} "
            f"of way {int(way_id[line[first]])}); the export is incomplete: export the area again with complete ways."
        )
    at = order[pos]
    coords = np.column_stack([lon[at], lat[at]])
    same_line = line[1:] == line[:-1]
    ends = np.concatenate([coords[:-1][same_line], coords[1:][same_line]])
    tags = None
    if node_tags is not None and way_tags is not None:
        seg_way = line[:-1][same_line]
        tags = OsmTags(kind=way_tags[0][seg_way], steps=way_tags[1][seg_way], way=seg_way,
                       vertex_crossing=node_tags[0][at], vertex_blocked=node_tags[1][at])
    barriers = None
    if barrier_ways is not None:  # railways and rivers: their pieces whose both nodes are in the file
        b_len, b_refs = barrier_ways
        b_pos = np.minimum(np.searchsorted(ids, b_refs), max(len(ids) - 1, 0))
        b_found = ids[b_pos] == b_refs if len(ids) else np.zeros(len(b_refs), dtype=bool)
        b_line = np.repeat(np.arange(len(b_len)), b_len)
        pair = (b_line[1:] == b_line[:-1]) & b_found[1:] & b_found[:-1]
        b_xy = np.column_stack([lon[order[b_pos]], lat[order[b_pos]]])
        barriers = np.stack([b_xy[:-1][pair], b_xy[1:][pair]], axis=1) if len(b_refs) else np.zeros((0, 2, 2))
    return _from_vertices(coords, same_line, crs="EPSG:4326", source=source, keep_largest=True,
                          zone_coords=np.round(ends, 7) if len(ends) else None, tags=tags, barriers=barriers)


def _from_graphml(path: Path) -> WalkNetwork:
    import osmnx as ox  # lazy: heavy OSM reader, only for its file type

    return _from_osmnx_graph(ox.load_graphml(path), source=f"GraphML file {path.name}")


def _from_osmnx_graph(graph, *, source: str) -> WalkNetwork:
    import osmnx as ox  # lazy: heavy OSM reader, only for its file type

    if graph.number_of_edges() == 0:
        raise NetworkError(f"{source}: the graph has no edges; the area holds no walkable ways.")
    nodes, edges = ox.graph_to_gdfs(graph, nodes=True, edges=True, fill_edge_geometry=True)
    if "highway" not in edges:
        return network_from_lines(edges.geometry.values, crs=edges.crs, source=source)
    edges = edges[walkable(edges)]
    kind, steps = edge_tags(edges)
    tagged = node_tags(nodes.to_crs("EPSG:4326")) if nodes.crs is not None else None
    return network_from_lines(edges.geometry.values, crs=edges.crs, source=source, line_kind=kind,
                              line_steps=steps, tagged_nodes=tagged)


# ------------------------------------------------------------------------------------------------- cache


#: The cache folder :func:`load_network` last used for each local file in this process (resolved path → folder,
#: ``None`` for no cache), so that what else is read from the same file is cached beside its network.
_CACHE_FOLDERS: dict[str, Path | None] = {}


def network_cache_dir(path: str | os.PathLike) -> Path | None:
    """The cache folder :func:`load_network` last used for the file ``path`` in this process (``None``: it used
    none, or has not read that file)."""
    return _CACHE_FOLDERS.get(str(Path(path).resolve()))


def file_key(path: str | os.PathLike) -> dict:
    """What identifies a local file's content in a cache key: its absolute path, size and modification time."""
    path = Path(path)
    stat = path.stat()
    return {"path": str(path.resolve()), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def cache_file(cache_dir: str | os.PathLike, stem: str, key: dict) -> Path:
    """The ``.npz`` file of ``key`` in ``cache_dir``: ``<stem>-<first 20 hex digits of the key's SHA-256>.npz``."""
    digest = hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()[:20]
    return Path(cache_dir) / f"{stem}-{digest}.npz"


def save_npz(file: Path, **arrays: np.ndarray) -> None:
    """Write ``arrays`` into ``file`` atomically (a temporary file beside it, then renamed): a reader never sees
    half a file, and a failed write leaves nothing behind."""
    file.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=file.parent, suffix=".npz.part")
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, **arrays)
        os.replace(tmp, file)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _cached(key: dict, build: Callable[[], WalkNetwork], cache_dir) -> WalkNetwork:
    if cache_dir is None:
        return build()
    file = cache_file(cache_dir, "network", {**key, "version": CACHE_VERSION})
    if file.is_file():
        try:
            net = _read_npz(file)
            log.info("network: reused cache %s", file)
            return net
        except Exception as exc:  # a truncated or foreign file: zipfile, numpy and our own checks all raise
            log.warning("network: ignoring unreadable cache %s (%s: %s); rebuilding it", file, type(exc).__name__,
                        _first_line(exc))
            file.unlink(missing_ok=True)
    net = build()
    try:
        _write_npz(net, file)
    except OSError as exc:
        log.warning("network: could not write cache %s (%s)", file, exc)
    return net


#: The optional attributes of a network kept in its cache file.
_CACHED_ATTRS = ("edge_kind", "edge_steps", "node_crossing", "node_blocked", "barrier_xy")


def _write_npz(net: WalkNetwork, file: Path) -> None:
    extra = {k: getattr(net, k) for k in _CACHED_ATTRS if getattr(net, k) is not None}
    save_npz(file, node_xy=net.node_xy, edge_u=net.edge_u, edge_v=net.edge_v, crs=np.array(net.crs),
             source=np.array(net.source), **extra)


def _read_npz(file: Path) -> WalkNetwork:
    with np.load(file, allow_pickle=False) as z:
        node_xy, edge_u, edge_v = z["node_xy"], z["edge_u"], z["edge_v"]
        crs, source = str(z["crs"]), str(z["source"])
        extra = {k: z[k] for k in _CACHED_ATTRS if k in z.files}
    n = len(node_xy)
    if (node_xy.ndim != 2 or node_xy.shape[1:] != (2,) or edge_u.shape != edge_v.shape or n == 0
            or (len(edge_u) and (min(edge_u.min(), edge_v.min()) < 0 or max(edge_u.max(), edge_v.max()) >= n))):
        raise ValueError("arrays of inconsistent shape or edges pointing at missing nodes")
    sizes = {"edge": len(edge_u), "node": n}
    if any(k.split("_")[0] in sizes and len(x) != sizes[k.split("_")[0]] for k, x in extra.items()):
        raise ValueError("attribute arrays of the wrong length")
    return WalkNetwork(node_xy=node_xy, edge_u=edge_u, edge_v=edge_v, crs=crs, source=source, **extra)


def _first_line(exc: BaseException, most: int = 160) -> str:
    """An exception's message cut to one line of at most ``most`` characters (parsers quote whole files)."""
    text = (str(exc).strip().splitlines() or [""])[0]
    return text if len(text) <= most else text[: most - 1] + "…"
