"""The walking network: read OpenStreetMap, keep walkable ways, project, and cache as arrays.

Every source (a ``.osm.pbf`` through pyrosm, ``.osm``/``.osm.bz2`` XML streamed by our own reader, GraphML or an
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
from dataclasses import dataclass
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

from carecircle.errors import InputError, NetworkError

log = logging.getLogger(__name__)

#: A progress callback: ``progress(step)`` announces a step; ``progress(step, done, total)`` reports how far a
#: long step (many facilities, candidate chunks) has got. The CLI draws it as a bar; the API default is silence.
Progress = Callable[..., None]

#: Bumped whenever the cached form, a reader or the walking filter changes, so old caches are rebuilt.
#: 2: OSM XML streamed by our own reader instead of osmnx.
CACHE_VERSION = 2

#: ``highway`` values nobody walks on (osmnx's walk filter, plus planned and disused ways).
_NOT_WALKABLE_HIGHWAY = {
    "abandoned", "bus_guideway", "construction", "cycleway", "motorway", "motorway_link", "no", "planned",
    "platform", "proposed", "raceway", "razed", "rest_area", "services", "disused", "bus_stop",
}
_PRIVATE = {"private", "no"}


@dataclass(frozen=True)
class WalkNetwork:
    """An undirected walking network of straight segments in a metric CRS.

    Attributes
    ----------
    node_xy : (n, 2) float array of node coordinates in metres (``crs``).
    edge_u, edge_v : (m,) int arrays of segment end nodes; each segment is stored once, ``u < v``.
    crs : the projected CRS (a UTM zone), as an authority string such as ``"EPSG:32635"``.
    source : human-readable description of where the network came from.
    """

    node_xy: np.ndarray
    edge_u: np.ndarray
    edge_v: np.ndarray
    crs: str
    source: str

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
        """Symmetric CSR adjacency with segment lengths in metres as weights."""
        return directed_csr(self.edge_u, self.edge_v, self.edge_length_m, self.n_nodes)

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


def directed_csr(u: np.ndarray, v: np.ndarray, w: np.ndarray, n: int) -> sp.csr_array:
    """CSR matrix holding each undirected edge in both directions (zero weights are kept as edges)."""
    rows = np.concatenate([u, v])
    cols = np.concatenate([v, u])
    data = np.concatenate([w, w]).astype(np.float64)
    return sp.csr_array((data, (rows, cols)), shape=(n, n))


# --------------------------------------------------------------------------------------------- building


def network_from_lines(
    lines: np.ndarray, *, crs: str | None = None, source: str = "lines", keep_largest: bool = True
) -> WalkNetwork:
    """Build a :class:`WalkNetwork` from walkable line geometries.

    Parameters
    ----------
    lines : array of shapely LineStrings (or MultiLineStrings), in ``crs``.
    crs : CRS of ``lines``; geographic input is projected to its UTM zone. Default WGS-84.
    source : description kept on the network.
    keep_largest : keep only the largest connected component.

    Examples
    --------
    >>> import shapely
    >>> net = network_from_lines(shapely.linestrings([[[0, 0], [100, 0], [100, 100]]]), crs="EPSG:32650")
    >>> net.n_nodes, round(float(net.edge_length_m.sum()))
    (3, 200)
    """
    lines = np.asarray(lines, dtype=object)
    lines = shapely.get_parts(lines[~shapely.is_missing(lines)])
    lines = lines[shapely.get_type_id(lines) == 1]
    if len(lines) == 0:
        raise NetworkError(f"{source}: no walkable ways found; check that the area or file holds streets or paths.")
    coords, idx = shapely.get_coordinates(lines, return_index=True)
    return _from_vertices(coords, idx[1:] == idx[:-1], crs=crs, source=source, keep_largest=keep_largest)


def _from_vertices(
    coords: np.ndarray, same_line: np.ndarray, *, crs, source: str, keep_largest: bool,
    zone_coords: np.ndarray | None = None,
) -> WalkNetwork:
    """The network of the segments between consecutive vertices of the same line.

    ``coords`` is (k, 2) in ``crs``; ``same_line[i]`` says whether vertices ``i`` and ``i + 1`` belong to one
    line. Geographic coordinates are rounded to 1e-7 degrees (OSM's precision) and projected to the UTM zone of
    ``zone_coords`` (default: of ``coords``).
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
    return _finish(node_xy, u, v, target, source, keep_largest=keep_largest)


def _finish(node_xy, u, v, crs, source, *, keep_largest: bool) -> WalkNetwork:
    """Drop loops and duplicates, keep the largest component, renumber nodes compactly."""
    a, b = np.minimum(u, v), np.maximum(u, v)
    keep = a != b
    n = len(node_xy)
    key = _unique_sorted(a[keep].astype(np.int64) * n + b[keep])  # one int64 per pair: far faster than axis=0
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
            pairs = pairs[label[pairs[:, 0]] == main]
            log.info("network: kept the largest connected component, dropped %d detached fragments", dropped)
    used = np.flatnonzero(np.bincount(pairs.ravel(), minlength=n))  # = np.unique, in O(n) without sorting
    renumber = np.zeros(n, dtype=np.int64)
    renumber[used] = np.arange(len(used))
    pairs = renumber[pairs]
    net = WalkNetwork(
        node_xy=np.ascontiguousarray(node_xy[used], dtype=np.float64),
        edge_u=pairs[:, 0].astype(np.int64),
        edge_v=pairs[:, 1].astype(np.int64),
        crs=crs,
        source=source,
    )
    log.info("network: %s", net)
    return net


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


def walkable(tags: pd.DataFrame) -> np.ndarray:
    """Boolean mask of ways a pedestrian may use, from OSM tag columns (missing columns count as absent).

    Rules (osmnx's ``walk`` filter, applied to tags read from files): a ``highway`` tag is required and not
    one of the non-walkable kinds (motorway, cycleway, construction, ...); ``area=yes`` is dropped; ``foot=no``
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
    ok = has_highway & (~any_in("highway", _NOT_WALKABLE_HIGHWAY) | foot_ok)
    ok &= ~any_in("area", {"yes"})
    ok &= ~any_in("foot", {"no"})
    ok &= ~(any_in("access", _PRIVATE) & ~foot_ok)
    ok &= ~any_in("service", {"private"})
    return ok


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
    path : ``.osm.pbf`` (read with pyrosm), ``.osm`` / ``.osm.bz2`` / ``.xml`` (OSM XML, streamed: only the
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
                return _from_pbf(path)
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


def _from_pbf(path: Path) -> WalkNetwork:
    from pyrosm import OSM  # lazy: heavy OSM reader, only for its file type

    edges = OSM(str(path)).get_network(network_type="walking")
    if edges is None or len(edges) == 0:
        raise NetworkError(f"{path.name}: no walkable ways in this extract; is it the right area?")
    keep = _walkable_by_combination(edges)
    return network_from_lines(edges.geometry.values[keep], crs="EPSG:4326", source=f"OpenStreetMap file {path.name}")


def _walkable_by_combination(tags: pd.DataFrame) -> np.ndarray:
    """``walkable(tags)``, evaluated once per distinct combination of the tags it reads (a city has a few hundred)."""
    columns = [c for c in _WALK_KEYS if c in tags]
    if not columns or len(tags) < 1000:
        return walkable(tags)
    parts = [tags[c].astype(str).where(tags[c].notna(), "\x00") for c in columns]  # missing ≠ the text "nan"
    key = parts[0]
    for part in parts[1:]:
        key = key + "\x1f" + part
    codes, _ = pd.factorize(key)
    first = np.unique(codes, return_index=True)[1]  # the first row of each combination stands for all of them
    return walkable(tags.iloc[first][columns].reset_index(drop=True))[codes]


#: The tags :func:`walkable` reads, in the order of the rows the XML reader builds for it.
_WALK_KEYS = ("highway", "foot", "access", "service", "area")
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
    way_id, way_len, way_refs = array("q"), array("q"), array("q")
    verdict: dict[tuple, bool] = {}
    pending: list[tuple[tuple, int, list[int]]] = []
    n_ways = 0

    def keep(wid: int, refs: list[int]) -> None:
        way_id.append(wid)
        way_len.append(len(refs))
        way_refs.extend(refs)

    def flush() -> None:
        new = list({key for key, _, _ in pending if key not in verdict})
        if new:
            verdict.update(zip(new, walkable(pd.DataFrame(new, columns=list(_WALK_KEYS))).tolist(), strict=True))
        for key, wid, refs in pending:
            if verdict[key]:
                keep(wid, refs)
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
            elif tag == "way":
                n_ways += 1
                tags = {t.get("k"): t.get("v") for t in el.iterfind("tag")}
                if "highway" in tags:
                    key = tuple(tags.get(k) for k in _WALK_KEYS)
                    refs = [int(nd.get("ref")) for nd in el.iterfind("nd")]
                    ok = verdict.get(key)
                    if ok is None:
                        pending.append((key, int(el.get("id")), refs))
                        if len(pending) >= _PENDING_WAYS:
                            flush()
                    elif ok:
                        keep(int(el.get("id")), refs)
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
    )


def _network_from_ways(node_id, lon, lat, way_id, way_len, refs, *, name: str, source: str) -> WalkNetwork:
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
    return _from_vertices(coords, same_line, crs="EPSG:4326", source=source, keep_largest=True,
                          zone_coords=np.round(ends, 7) if len(ends) else None)


def _from_graphml(path: Path) -> WalkNetwork:
    import osmnx as ox  # lazy: heavy OSM reader, only for its file type

    return _from_osmnx_graph(ox.load_graphml(path), source=f"GraphML file {path.name}")


def _from_osmnx_graph(graph, *, source: str) -> WalkNetwork:
    import osmnx as ox  # lazy: heavy OSM reader, only for its file type

    if graph.number_of_edges() == 0:
        raise NetworkError(f"{source}: the graph has no edges; the area holds no walkable ways.")
    edges = ox.graph_to_gdfs(graph, nodes=False, edges=True, fill_edge_geometry=True)
    keep = walkable(edges) if "highway" in edges else np.ones(len(edges), dtype=bool)
    return network_from_lines(edges.geometry.values[keep], crs=edges.crs, source=source)


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


def _write_npz(net: WalkNetwork, file: Path) -> None:
    save_npz(file, node_xy=net.node_xy, edge_u=net.edge_u, edge_v=net.edge_v, crs=np.array(net.crs),
             source=np.array(net.source))


def _read_npz(file: Path) -> WalkNetwork:
    with np.load(file, allow_pickle=False) as z:
        node_xy, edge_u, edge_v = z["node_xy"], z["edge_u"], z["edge_v"]
        crs, source = str(z["crs"]), str(z["source"])
    n = len(node_xy)
    if (node_xy.ndim != 2 or node_xy.shape[1:] != (2,) or edge_u.shape != edge_v.shape or n == 0
            or (len(edge_u) and (min(edge_u.min(), edge_v.min()) < 0 or max(edge_u.max(), edge_v.max()) >= n))):
        raise ValueError("arrays of inconsistent shape or edges pointing at missing nodes")
    return WalkNetwork(node_xy=node_xy, edge_u=edge_u, edge_v=edge_v, crs=crs, source=source)


def _first_line(exc: BaseException, most: int = 160) -> str:
    """An exception's message cut to one line of at most ``most`` characters (parsers quote whole files)."""
    text = (str(exc).strip().splitlines() or [""])[0]
    return text if len(text) <= most else text[: most - 1] + "…"
