"""Read the building footprints of an ``.osm.pbf`` file with libosmium (pyosmium).

The footprints are those pyrosm's ``OSM(path).get_buildings()`` gave (pyrosm 0.25 read them up to 2026-12-01;
the bundled demo's buildings are the same, tested), built by these rules:

- a way tagged ``building`` whose first and last node are the same (and not tagged ``area=no``) is a polygon of
  its nodes that are in the file, when at least 3 are: a way clipped at an extract's edge keeps the part inside,
  its ring closed again (the first point repeated) when the missing nodes opened it. Rings run counter-clockwise.
  Open building ways are lines, not footprints: left out.
- a relation tagged ``building`` (of any type) is assembled from all its member ways, whatever their role: the
  member ways' nodes that are in the file make lines, merged into rings; the closed rings' polygons are overlaid
  even-odd (a point covered by an odd number of rings is inside), so holes and islands come out of the geometry;
  an invalid result is repaired with ``buffer(0)``; exteriors run counter-clockwise, holes clockwise. A building
  way that is a member of such a relation is the relation's, not a footprint of its own.

Speed: libosmium decodes the file and keeps every node's location (C++); a C++ key filter passes on only the
objects tagged ``building``; each building way's coordinates come out as one WKB string (C++), decoded in
batches with numpy (:class:`~carecircle.core.osm_pbf.WkbLines`), and the rings and polygons are built with
shapely, 50,000 ways at a time. Member ways of building relations that carry no ``building`` tag are read in a
second pass over the ways only, their nodes' locations looked up in the first pass's index.
"""

from __future__ import annotations

import logging
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

from carecircle.core.osm_pbf import WkbLines

log = logging.getLogger(__name__)

#: Ways whose WKB is decoded in one batch.
_BATCH = 50_000
#: The tags kept as columns.
TAG_COLUMNS = ("building", "building:levels")
#: Shapely type ids.
_LINESTRING, _POLYGON, _MULTILINESTRING, _MULTIPOLYGON, _COLLECTION = 1, 3, 5, 6, 7
#: A relation also tagged with one of these keys (and not of type multipolygon or boundary) is a line, as pyrosm
#: reads it, unless the value is one of those listed (an area).
_LINEAR_UNLESS = {
    "barrier": frozenset(), "route": frozenset(),
    "railway": frozenset({"platform", "station", "turntable", "roundhouse", "traverser", "wash"}),
    "highway": frozenset({"platform", "rest_area", "services"}),  # pedestrian: an area when tagged area=yes
    "waterway": frozenset({"riverbank", "dock", "boatyard", "dam", "fuel"}),
}


def read_pbf_buildings(path: Path) -> gpd.GeoDataFrame | None:
    """The building footprints of ``path`` (see the module docstring) with their ``building`` and
    ``building:levels`` tags (``None`` where missing), in EPSG:4326: the ways' in file order, then the
    relations'. ``None`` when the file holds none."""
    import osmium  # lazy: the libosmium bindings, only for this file type

    store = osmium.index.create_map("flex_mem")
    processor = (osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY | osmium.osm.RELATION)
                 .with_locations(store)
                 .with_filter(osmium.filter.KeyFilter("building")))
    linestring = osmium.geom.WKBFactory().create_linestring
    every_node = osmium.geom.ALL  # repeated nodes kept, as pyrosm keeps them
    errors = (osmium.InvalidLocationError, RuntimeError)
    lines = WkbLines()
    pending = lines.pending  # WKB hex strings, decoded by lines.flush() in batches
    way_ids: list[int] = []
    building: list[str | None] = []
    levels: list[str | None] = []
    way_area: list[bool] = []  # closed (first node id = last node id) and not area=no
    cut: list[int] = []  # ways with nodes missing from the file
    rel_ids: list[int] = []
    rel_tags: list[tuple] = []
    rel_members: list[list[int]] = []
    in_relations: list[int] = []  # the member ways of every building relation
    way_type, relation_type = osmium.osm.Way, osmium.osm.Relation
    for obj in processor:
        if isinstance(obj, way_type):
            t = obj.tags
            way_ids.append(obj.id)
            building.append(t.get("building"))
            levels.append(t.get("building:levels"))
            try:
                pending.append(linestring(obj, every_node))
                way_area.append(obj.is_closed() and t.get("area") != "no")
                if len(pending) >= _BATCH:
                    lines.flush()
            except errors:  # libosmium: a node missing from the file, or fewer than two nodes
                nodes = obj.nodes
                xy = [(n.location.lon, n.location.lat) for n in nodes if n.location.valid()]
                lines.add_coords(xy)
                way_area.append(len(nodes) > 0 and obj.is_closed() and t.get("area") != "no")
                if len(xy) < len(nodes):
                    cut.append(len(way_ids) - 1)
        elif isinstance(obj, relation_type):
            tags = dict(obj.tags)
            ways = [m.ref for m in obj.members if m.type == "w"]
            in_relations.extend(ways)
            if not _is_linear(tags):
                rel_ids.append(obj.id)
                rel_tags.append(tuple(tags.get(k) for k in TAG_COLUMNS))
                rel_members.append(ways)
    coords, counts = lines.arrays()
    ids = np.asarray(way_ids, dtype=np.int64)
    members = np.unique(np.asarray(in_relations, dtype=np.int64))
    standalone = ~np.isin(ids, members)  # a building way in a building relation is the relation's
    ok = np.asarray(way_area, dtype=bool) & standalone & (counts >= 3)
    del way_area, standalone
    polygons = _way_polygons(coords, counts, ok)
    columns = {"building": np.array(building, dtype=object)[ok], "building:levels": np.array(levels, dtype=object)[ok]}
    del building, levels
    log.info("demand: %s holds %d building ways, %d of them footprints (%d clipped at the extract's edge)",
             path.name, len(ids), int(ok.sum()), int(ok[cut].sum()))
    if rel_ids:
        extra = np.setdiff1d(np.unique(np.asarray([w for m in rel_members for w in m], dtype=np.int64)), ids)
        e_ids, e_coords, e_counts = _member_ways(path, extra, store) if len(extra) else (
            np.zeros(0, np.int64), np.zeros((0, 2)), np.zeros(0, np.int64))
        areas = _relation_areas(rel_members, np.r_[ids, e_ids], np.r_[coords, e_coords], np.r_[counts, e_counts])
        built = np.flatnonzero(shapely.is_geometry(areas))
        polygons = np.concatenate([polygons, shapely.orient_polygons(areas[built], exterior_cw=False)])
        for i, key in enumerate(TAG_COLUMNS):
            columns[key] = np.concatenate([columns[key], np.array([rel_tags[r][i] for r in built], dtype=object)])
        log.info("demand: %s holds %d building relations, %d of them with a footprint", path.name, len(rel_ids),
                 len(built))
    if len(polygons) == 0:
        return None
    return gpd.GeoDataFrame(columns, geometry=polygons, crs="EPSG:4326")


def _is_linear(tags: dict[str, str]) -> bool:
    """Whether a building relation with these tags is a line (pyrosm's rule), not an area."""
    if tags.get("type") in ("multipolygon", "boundary"):
        return False
    if tags.get("area") == "no":
        return True
    for key, areas in _LINEAR_UNLESS.items():
        value = tags.get(key)
        if value is None:
            continue
        if key == "highway" and value == "pedestrian":
            if "area" in tags:
                return tags["area"] != "yes"
            continue
        if value not in areas:
            return True
    return False


def _way_polygons(coords: np.ndarray, counts: np.ndarray, ok: np.ndarray) -> np.ndarray:
    """The polygons of the ways ``ok``: their coordinates as a ring (closed by repeating the first point when it
    is not closed, or of only three points), turned counter-clockwise (GEOS's ``isCCW``, as ``orient_polygons``).
    Built :data:`_BATCH` ways at a time, so that only one batch's rings exist beside the polygons."""
    rows = np.flatnonzero(ok)
    starts = np.r_[0, np.cumsum(counts)[:-1]]
    out = np.empty(len(rows), dtype=object)
    for a in range(0, len(rows), _BATCH):
        batch = rows[a:a + _BATCH]
        n = counts[batch]
        at = np.repeat(starts[batch] - np.r_[0, np.cumsum(n)[:-1]], n) + np.arange(int(n.sum()))
        rings = shapely.linearrings(coords[at], indices=np.repeat(np.arange(len(batch)), n))
        cw = ~shapely.is_ccw(rings)
        rings[cw] = shapely.reverse(rings[cw])
        out[a:a + len(batch)] = shapely.polygons(rings)
    return out


def _member_ways(path: Path, wanted: np.ndarray, store) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The ids, coordinates and vertex counts of the ways ``wanted`` (member ways without a ``building`` tag),
    read in a pass over the ways only, their nodes' locations looked up in ``store`` (few ways: in Python)."""
    import osmium

    processor = (osmium.FileProcessor(str(path), osmium.osm.WAY)
                 .with_filter(osmium.filter.IdFilter(wanted.tolist()).enable_for(osmium.osm.WAY)))
    lines, found = WkbLines(), []
    for obj in processor:
        if obj.is_way():
            found.append(obj.id)
            coords = []
            for node in obj.nodes:
                try:
                    loc = store.get(node.ref)
                except KeyError:  # a node missing from the file
                    continue
                if loc.valid():
                    coords.append((loc.lon, loc.lat))
            lines.add_coords(coords)
    coords, counts = lines.arrays()
    return np.asarray(found, dtype=np.int64), coords, counts


def _relation_areas(members: list[list[int]], way_ids: np.ndarray, coords: np.ndarray,
                    counts: np.ndarray) -> np.ndarray:
    """Each relation's area (see the module docstring), ``None`` where none is built; ``members`` are the
    relations' member way ids, ``way_ids`` / ``coords`` / ``counts`` the ways read (each id once)."""
    n = len(members)
    out = np.full(n, None, dtype=object)
    starts = np.r_[0, np.cumsum(counts)[:-1]]
    order = np.argsort(way_ids, kind="stable")
    sorted_ids = way_ids[order]
    owner_parts, row_parts = [], []
    for r, m in enumerate(members):
        distinct = np.unique(np.asarray(m, dtype=np.int64))  # each member once, in id order
        hit = np.searchsorted(sorted_ids, distinct)
        found = hit < len(sorted_ids)
        found[found] = sorted_ids[hit[found]] == distinct[found]
        rows = order[hit[found]]
        owner_parts.append(np.full(len(rows), r, dtype=np.int64))
        row_parts.append(rows)
    owner = np.concatenate(owner_parts) if owner_parts else np.zeros(0, np.int64)
    rows = np.concatenate(row_parts) if row_parts else np.zeros(0, np.int64)
    # Member lines: the members with at least two points.
    has_line = counts[rows] >= 2
    owner, rows = owner[has_line], rows[has_line]
    if len(rows) == 0:
        return out
    take = np.concatenate([np.arange(starts[w], starts[w] + counts[w]) for w in rows])
    member_lines = shapely.linestrings(coords[take], indices=np.repeat(np.arange(len(rows)), counts[rows]))
    with_lines = np.unique(owner)
    merged = shapely.line_merge(shapely.multilinestrings(member_lines,
                                                         indices=np.searchsorted(with_lines, owner)))
    ring_owner, rings = _rings(with_lines, merged)
    for r in np.unique(ring_owner):
        area = _polygonal_only(_even_odd(rings[ring_owner == r]))
        if area is not None and not shapely.is_valid(area):
            area = _polygonal_only(_repaired(area))
        if area is not None and not shapely.is_valid(area):
            area = _repaired(area)
        out[r] = area
    return out


def _rings(owner: np.ndarray, merged: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The polygons of the closed rings (4 points or more, the last equal to the first) among the merged lines'
    parts, repaired with ``buffer(0)`` when invalid, empty ones dropped; with their relation, in order."""
    parts, part_of = shapely.get_parts(merged, return_index=True)
    is_line = shapely.get_type_id(parts) == _LINESTRING
    parts, part_owner = parts[is_line], owner[part_of[is_line]]
    if len(parts) == 0:
        return part_owner, parts
    xy, xy_of = shapely.get_coordinates(parts, return_index=True)
    n = np.bincount(xy_of, minlength=len(parts))
    first = np.r_[0, np.cumsum(n)[:-1]]
    closed = n >= 4
    closed[closed] = (xy[first[closed]] == xy[first[closed] + n[closed] - 1]).all(axis=1)
    if not closed.any():
        return part_owner[closed], parts[closed]
    rings = shapely.polygons(shapely.linearrings(xy[np.repeat(closed, n)],
                                                 indices=np.repeat(np.arange(int(closed.sum())), n[closed])))
    bad = ~shapely.is_valid(rings)
    rings[bad] = shapely.buffer(rings[bad], 0)
    keep = ~shapely.is_empty(rings)
    return part_owner[closed][keep], rings[keep]


def _even_odd(rings: np.ndarray):
    """The symmetric difference of the rings, taken in pairs round by round (an odd last one carried on)."""
    parts = rings
    while len(parts) > 1:
        paired = len(parts) // 2 * 2
        parts = np.concatenate([shapely.symmetric_difference(parts[0:paired:2], parts[1:paired:2]),
                                parts[paired:]])
    return parts[0]


def _polygonal_only(geometry):
    """The polygons of an overlay's result (stray lines and points of touching rings dropped), or ``None``."""
    if geometry is None or shapely.is_empty(geometry):
        return None
    kind = shapely.get_type_id(geometry)
    if kind in (_POLYGON, _MULTIPOLYGON):
        return geometry
    if kind != _COLLECTION:
        return None
    polys = []
    for part in shapely.get_parts(geometry):
        if shapely.get_type_id(part) == _POLYGON and not shapely.is_empty(part):
            polys.append(part)
        elif shapely.get_type_id(part) == _MULTIPOLYGON:
            polys.extend(p for p in shapely.get_parts(part) if not shapely.is_empty(p))
    if not polys:
        return None
    return polys[0] if len(polys) == 1 else shapely.multipolygons(polys)


def _repaired(geometry, max_change: float = 20.0):
    """An invalid area repaired: ``buffer(0)``, unless that changes its area a lot; else a self-crossing
    ("bow-tie") polygon's outline cut into polygons; else the geometry as it is."""
    fixed = shapely.buffer(geometry, 0)
    if _close_in_area(geometry, fixed, max_change):
        return fixed
    if shapely.get_type_id(geometry) != _POLYGON:
        return geometry
    outline = shapely.get_exterior_ring(geometry)
    fixed = shapely.multipolygons(shapely.get_parts(shapely.polygonize(shapely.get_parts(
        shapely.intersection(outline, outline)))))
    return fixed if _close_in_area(geometry, fixed, max_change) else geometry


def _close_in_area(geometry, fixed, max_change: float) -> bool:
    """Whether ``fixed`` is valid and its area within a factor ``max_change`` of the original's."""
    area = shapely.area(fixed)
    return bool(shapely.is_valid(fixed)) and area > 0 and abs(1 - shapely.area(geometry) / area) < max_change
