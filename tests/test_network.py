"""The walking network: building from lines, OSM readers on tiny files, the walk filter, UTM zones, the cache."""

from __future__ import annotations

import os
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd
import pyproj
import pytest
import shapely
from generate import GRID_CRS, at, grid_lines, grid_network

from carecircle.core import network as network_module
from carecircle.core.network import (
    check_bbox,
    load_network,
    network_from_lines,
    utm_crs_for,
    walkable,
)
from carecircle.errors import InputError, NetworkError

# --------------------------------------------------------------------------------------- building from lines


def test_grid_counts_and_lengths(grid):
    assert (grid.n_nodes, grid.n_edges) == (121, 220)
    np.testing.assert_allclose(grid.edge_length_m, 100.0)
    assert (grid.edge_u < grid.edge_v).all()
    assert grid.crs == GRID_CRS
    assert grid.csr.shape == (121, 121) and grid.csr.nnz == 440


def test_duplicate_reversed_and_degenerate_lines_collapse():
    a, b, c = at(0, 0), at(100, 0), at(100, 100)
    lines = [shapely.LineString(p) for p in ([a, b], [b, a], [a, b, c], [c, c, c])]
    net = network_from_lines(np.array([*lines, shapely.MultiLineString([[a, b], [b, c]])]), crs=GRID_CRS)
    assert (net.n_nodes, net.n_edges) == (3, 2)


def test_only_the_largest_component_is_kept():
    fragment = shapely.LineString([at(5000, 0), at(5100, 0), at(5100, 100)])
    lines = np.append(grid_lines(4, 4), fragment)
    kept = network_from_lines(lines, crs=GRID_CRS)
    both = network_from_lines(lines, crs=GRID_CRS, keep_largest=False)
    assert (kept.n_nodes, kept.n_edges) == (16, 24)
    assert (both.n_nodes, both.n_edges) == (19, 26)


@pytest.mark.parametrize("lines", [[], [None], [shapely.Point(0, 0)], [shapely.LineString()]])
def test_no_ways_is_a_network_error(lines):
    with pytest.raises(NetworkError, match=r"^empty area: (no walkable ways found|the walkable ways form no segments)"):
        network_from_lines(np.array(lines, dtype=object), crs=GRID_CRS, source="empty area")


def test_only_points_repeated_gives_no_segments():
    with pytest.raises(NetworkError, match="form no segments"):
        network_from_lines(shapely.linestrings([[at(0, 0), at(0, 0)]]), crs=GRID_CRS)


def test_geographic_lines_are_projected_to_their_utm_zone():
    # Two streets in Shenyang (123.43 E, 41.80 N) given in WGS-84; the shared end differs below 1e-7 degrees.
    lines = shapely.linestrings([[[123.4300, 41.8000], [123.4310, 41.8000]],
                                 [[123.43100000001, 41.8000], [123.4310, 41.8010]]])
    net = network_from_lines(lines)
    assert net.crs == "EPSG:32651"
    assert (net.n_nodes, net.n_edges) == (3, 2)
    geod = pyproj.Geod(ellps="WGS84")
    expected = geod.inv(123.43, 41.8, 123.431, 41.8)[2] + geod.inv(123.431, 41.8, 123.431, 41.801)[2]
    assert net.edge_length_m.sum() == pytest.approx(expected, rel=2e-3)  # UTM scale factor near the centre


# ----------------------------------------------------------------------------------------------- UTM zones


@pytest.mark.parametrize(
    ("lon", "lat", "crs"),
    [
        (123.43, 41.80, "EPSG:32651"),  # Shenyang
        (116.40, 39.90, "EPSG:32650"),  # Beijing
        (121.47, 31.23, "EPSG:32651"),  # Shanghai
        (104.07, 30.57, "EPSG:32648"),  # Chengdu
        (24.94, 60.17, "EPSG:32635"),  # Helsinki
        (151.21, -33.87, "EPSG:32756"),  # Sydney, southern hemisphere
        (-0.13, 51.51, "EPSG:32630"),  # London, west of Greenwich
    ],
)
def test_utm_zone(lon, lat, crs):
    assert utm_crs_for(np.array([lon - 0.01, lon, lon + 0.01]), np.array([lat, lat, lat])) == crs


@pytest.mark.parametrize(("lon", "lat"), [(123.4, 86.0), (500_000.0, 4_600_000.0), (41.8, 123.4)])
def test_utm_zone_out_of_range(lon, lat):
    with pytest.raises(InputError, match=r"outside the UTM range; give WGS-84 longitude/latitude"):
        utm_crs_for(np.array([lon]), np.array([lat]))


def test_helsinki_default_network(helsinki_net):
    assert helsinki_net.crs == "EPSG:32635"
    assert helsinki_net.n_nodes > 4000 and helsinki_net.n_edges > helsinki_net.n_nodes
    from scipy.sparse.csgraph import connected_components

    assert connected_components(helsinki_net.csr, directed=False)[0] == 1
    assert (helsinki_net.edge_length_m > 0).all() and (helsinki_net.edge_u < helsinki_net.edge_v).all()
    lon, lat = helsinki_net.to_wgs84.transform(*helsinki_net.node_xy.mean(axis=0))
    assert 24.9 < lon < 25.0 and 60.1 < lat < 60.2


# ------------------------------------------------------------------------------------------- walk filter

WALKABLE_TABLE = [
    ({"highway": "residential"}, True),
    ({"highway": "footway"}, True),
    ({"highway": "steps"}, True),
    ({"highway": "primary", "sidewalk": "both"}, True),
    ({"highway": "motorway"}, False),
    ({"highway": "motorway_link"}, False),
    ({"highway": "construction"}, False),
    ({"highway": "cycleway"}, False),
    ({"highway": "cycleway", "foot": "designated"}, True),  # osmnx #1269: shared paths are walkable
    ({"highway": "cycleway", "foot": "yes"}, True),
    ({"highway": "residential", "foot": "no"}, False),
    ({"highway": "pedestrian", "area": "yes"}, True),   # a square: walked along its outline (issue 12)
    ({"highway": "footway", "area": "yes"}, False),
    ({"highway": "service", "access": "private"}, False),
    ({"highway": "service", "access": "no"}, False),
    ({"highway": "footway", "access": "private", "foot": "yes"}, True),
    ({"highway": "service", "service": "private"}, False),
    ({"highway": "service", "service": "driveway"}, True),
    ({"building": "yes"}, False),
    ({}, False),
    ({"highway": ["residential", "motorway"]}, False),  # simplified osmnx graphs hold lists
    ({"highway": ["residential", "footway"]}, True),
    ({"highway": "residential", "foot": ["yes", "no"]}, False),
    ({"highway": "residential;footway"}, True),
]


@pytest.mark.parametrize(("tags", "expected"), WALKABLE_TABLE, ids=[str(t[0]) for t in WALKABLE_TABLE])
def test_walkable_one_row(tags, expected):
    frame = pd.DataFrame([tags], index=[0]) if tags else pd.DataFrame(index=[0])
    for key, value in tags.items():  # keep lists as single cells
        frame[key] = pd.Series([value], dtype=object)
    assert walkable(frame).tolist() == [expected]


def test_walkable_table_at_once_keeps_row_order():
    rows = [t for t, _ in WALKABLE_TABLE if not any(isinstance(v, list) for v in t.values())]
    expected = [e for t, e in WALKABLE_TABLE if not any(isinstance(v, list) for v in t.values())]
    frame = pd.DataFrame(rows, index=np.arange(len(rows))[::-1] * 10)
    assert walkable(frame).tolist() == expected


def test_walkable_once_per_tag_combination_equals_walkable():
    """The PBF reader judges each distinct tag combination once; the verdicts are walkable()'s, row by row."""
    from carecircle.core import osm_pbf

    rows = [t for t, _ in WALKABLE_TABLE if not any(isinstance(v, list) for v in t.values())]
    rows += [{"highway": "nan"}, {"highway": "residential", "foot": "nan"}, {"highway": "None"}]
    rng = np.random.default_rng(7)
    picked = [rows[i] for i in rng.integers(0, len(rows), 5000)]
    keys = [tuple(r.get(k) for k in osm_pbf.WALK_KEYS) for r in picked]
    assert any(k[0] is None for k in keys) and any(k[0] == "nan" for k in keys)
    np.testing.assert_array_equal(osm_pbf._walkable_once_per_combination(keys), walkable(pd.DataFrame(picked)))


# ------------------------------------------------------------------------------------------ file readers

# A tiny OSM XML extract in Helsinki: the walking network is n1-n2-n3-n4 plus n1-n10 (shared cycleway) and
# n4-n12 (private footway open to pedestrians). Dropped: a motorway (n4-n5), a street with foot=no (n2-n6),
# a private service road (n3-n11), a pedestrian area, and a building outline that is no way at all.
NODES = {
    1: (24.9400, 60.1700), 2: (24.9410, 60.1700), 3: (24.9420, 60.1700), 4: (24.9420, 60.1710),
    5: (24.9440, 60.1710), 6: (24.9410, 60.1690), 7: (24.9402, 60.1702), 8: (24.9404, 60.1702),
    9: (24.9404, 60.1704), 10: (24.9400, 60.1690), 11: (24.9430, 60.1700), 12: (24.9420, 60.1720),
    13: (24.9390, 60.1710), 14: (24.9392, 60.1710), 15: (24.9392, 60.1712),
}
WAYS = [
    (101, [1, 2, 3], {"highway": "residential", "name": "Testikatu"}),
    (102, [3, 4], {"highway": "footway"}),
    (103, [4, 5], {"highway": "motorway"}),
    (104, [2, 6], {"highway": "residential", "foot": "no"}),
    (105, [7, 8, 9, 7], {"building": "yes"}),
    (106, [1, 10], {"highway": "cycleway", "foot": "designated"}),
    (107, [3, 11], {"highway": "service", "access": "private"}),
    (108, [4, 12], {"highway": "footway", "access": "private", "foot": "yes"}),
    (109, [13, 14, 15, 13], {"highway": "pedestrian", "area": "yes"}),
]
KEPT_NODES = [1, 2, 3, 4, 10, 12]


def write_osm(path: Path, ways=WAYS, nodes=NODES) -> Path:
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6" generator="carecircle tests">']
    for nid, (lon, lat) in nodes.items():
        lines.append(f'  <node id="{nid}" version="1" lat="{lat:.7f}" lon="{lon:.7f}"/>')
    for wid, refs, tags in ways:
        lines.append(f'  <way id="{wid}" version="1">')
        lines += [f'    <nd ref="{r}"/>' for r in refs]
        lines += [f'    <tag k="{k}" v="{v}"/>' for k, v in tags.items()]
        lines.append("  </way>")
    lines.append("</osm>")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _projected(lonlat, crs="EPSG:32635") -> set[tuple[float, float]]:
    t = pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    return {tuple(np.round(t.transform(lon, lat), 3)) for lon, lat in lonlat}


def _node_set(net) -> set[tuple[float, float]]:
    return {tuple(p) for p in np.round(net.node_xy, 3)}


def test_osm_xml_reader_keeps_only_walkable_ways(tmp_path):
    net = load_network(write_osm(tmp_path / "tiny.osm"))
    assert net.crs == "EPSG:32635"
    assert (net.n_nodes, net.n_edges) == (6, 5)
    assert _node_set(net) == _projected([NODES[n] for n in KEPT_NODES])
    assert "tiny.osm" in net.source


def test_osm_xml_bz2(tmp_path):
    import bz2

    plain = write_osm(tmp_path / "tiny.osm")
    packed = tmp_path / "tiny.osm.bz2"
    packed.write_bytes(bz2.compress(plain.read_bytes()))
    assert _node_set(load_network(packed)) == _node_set(load_network(plain))


def _osmnx_reference(path: Path):
    """What the XML reader did before it streamed: osmnx's whole graph (every way an edge), then the walk mask."""
    ox = pytest.importorskip("osmnx")
    saved = list(ox.settings.useful_tags_way)
    ox.settings.useful_tags_way = sorted(set(saved) | {"highway", "foot", "access", "service", "area"})
    try:
        graph = ox.graph_from_xml(path, simplify=False, retain_all=True)
    finally:
        ox.settings.useful_tags_way = saved
    edges = ox.graph_to_gdfs(graph, nodes=False, edges=True, fill_edge_geometry=True)
    return network_from_lines(edges.geometry.values[walkable(edges)], crs=edges.crs,
                              source=f"OpenStreetMap file {path.name}")


def _grid_osm(path: Path, n: int = 12) -> Path:
    """An n × n street grid near Guixi cut into ways of 3 blocks with rotating tags, plus building outlines,
    a way listed before its nodes, a repeated node id (the later one counts), a one-way street and a roundabout."""
    nodes = {1 + j * n + i: (117.2 + i * 0.001 + ((i * 7 + j) % 5) * 1e-5, 28.24 + j * 0.001)
             for j in range(n) for i in range(n)}
    mix = [{"highway": "residential"}, {"highway": "footway"}, {"highway": "motorway"},
           {"highway": "residential", "foot": "no"}, {"highway": "cycleway"}, {"highway": "cycleway", "foot": "yes"},
           {"highway": "service", "access": "private"}, {"highway": "tertiary", "oneway": "yes"},
           {"highway": "primary", "junction": "roundabout"}, {"highway": "secondary;footway"},
           {"highway": "footway", "access": "no", "foot": "permissive"}, {"highway": "pedestrian", "area": "yes"}]
    ways, wid = [], 1
    for j in range(n):
        for start in range(0, n - 1, 3):
            ways.append((wid, [1 + j * n + i for i in range(start, min(start + 3, n - 1) + 1)], mix[wid % len(mix)]))
            wid += 1
    for i in range(n):
        for start in range(0, n - 1, 3):
            ways.append((wid, [1 + j * n + i for j in range(start, min(start + 3, n - 1) + 1)], mix[wid % len(mix)]))
            wid += 1
    nid = n * n + 1
    for b in range(20):
        lon, lat = 117.2 + (b % n) * 0.001 + 3e-4, 28.24 + (b // n) * 0.001 + 3e-4
        ids = list(range(nid, nid + 4))
        for k, (dx, dy) in enumerate(((0, 0), (1e-4, 0), (1e-4, 1e-4), (0, 1e-4))):
            nodes[ids[k]] = (lon + dx, lat + dy)
        ways.append((1000 + b, [*ids, ids[0]], {"building": "yes"}))
        nid += 4
    write_osm(path, ways=[ways[-1], *ways[:-1]], nodes=nodes)
    text = path.read_text(encoding="utf-8").replace(  # node 1 twice: the second position is the one osmnx keeps
        "</osm>", '  <node id="1" version="2" lat="28.2400500" lon="117.2000500"/>\n</osm>')
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("make", [lambda p: write_osm(p / "tiny.osm"), lambda p: _grid_osm(p / "grid.osm")],
                         ids=["tiny", "grid"])
def test_streaming_xml_reader_equals_the_osmnx_graph(tmp_path, make):
    path = make(tmp_path)
    _same(load_network(path), _osmnx_reference(path))


def test_streaming_xml_reader_reports_progress(tmp_path, monkeypatch):
    monkeypatch.setattr(network_module, "_PROGRESS_EVERY", 50)
    path = _grid_osm(tmp_path / "grid.osm")
    calls = []
    load_network(path, progress=lambda *a: calls.append(a))
    assert calls[0] == ("Reading walking network from grid.osm",)
    counts = [c for c in calls if len(c) == 3]
    size = path.stat().st_size
    assert len(counts) >= 3 and counts[-1] == ("Reading walking network from grid.osm", size, size)
    done = [c[1] for c in counts]
    assert done == sorted(done) and all(c[2] == size for c in counts)


def test_streaming_xml_reader_names_missing_nodes(tmp_path):
    path = write_osm(tmp_path / "clipped.osm", ways=[(101, [1, 2, 99], {"highway": "footway"}), WAYS[4]])
    with pytest.raises(NetworkError, match=r"^clipped\.osm: 1 walkable ways use nodes missing from the file "
                                           r"\(e\.g\. node 99 of way 101\); the export is incomplete"):
        load_network(path)


def test_missing_nodes_of_unwalkable_ways_do_not_matter(tmp_path):
    path = write_osm(tmp_path / "clipped.osm", ways=[*WAYS, (110, [7, 8, 98, 7], {"building": "yes"})])
    assert (load_network(path).n_nodes, load_network(path).n_edges) == (6, 5)


def test_xml_that_is_not_osm(tmp_path):
    path = tmp_path / "page.osm"
    path.write_text("<html><body>Rate limited</body></html>", encoding="utf-8")
    with pytest.raises(NetworkError, match=r"page\.osm is not OpenStreetMap XML \(its first element is <html>"):
        load_network(path)


def test_a_truncated_osm_bz2_is_a_network_error(tmp_path):
    import bz2

    data = bz2.compress(_grid_osm(tmp_path / "grid.osm").read_bytes())
    cut = tmp_path / "grid.osm.bz2"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(NetworkError, match=r"cannot read network file 'grid\.osm\.bz2' as xml \(EOFError") as err:
        load_network(cut)
    assert "\n" not in str(err.value)


def test_graphml_reader(tmp_path):
    ox = pytest.importorskip("osmnx")
    g = nx.MultiDiGraph(crs="epsg:4326")
    for nid, (lon, lat) in NODES.items():
        g.add_node(nid, x=lon, y=lat)
    bend = shapely.LineString([NODES[1], (24.9405, 60.1703), NODES[2]])  # a curved edge of a simplified graph
    g.add_edge(1, 2, osmid=101, highway="residential", length=100.0, geometry=bend)
    g.add_edge(2, 3, osmid=101, highway="residential", length=55.0)
    g.add_edge(3, 2, osmid=101, highway="residential", length=55.0)
    g.add_edge(3, 4, osmid=102, highway="footway", length=111.0)
    g.add_edge(4, 5, osmid=103, highway="motorway", length=111.0)
    g.add_edge(2, 6, osmid=104, highway="residential", foot="no", length=111.0)
    path = tmp_path / "tiny.graphml"
    ox.save_graphml(g, path)
    net = load_network(path)
    # The bend becomes two segments through its middle vertex; the motorway and foot=no ways are gone.
    assert (net.n_nodes, net.n_edges) == (5, 4)
    assert _node_set(net) == _projected([NODES[1], (24.9405, 60.1703), NODES[2], NODES[3], NODES[4]])
    assert "GraphML" in net.source


@pytest.mark.parametrize(
    ("name", "content", "match"),
    [
        ("area.txt", b"hello", r"network file 'area.txt' has an unknown type; use \.osm\.pbf"),
        ("area.gpkg", b"hello", r"unknown type"),
        ("area.osm.pbf", b"garbage\x00\x01", r"cannot read network file .*area\.osm\.pbf' as pbf"),
        ("area.osm", b"not xml", r"cannot read network file .*area\.osm' as xml \(ParseError"),
        ("area.osm.bz2", b"not bz2", r"cannot read network file .*area\.osm\.bz2' as xml"),
        ("area.graphml", b"<graphml>", r"cannot read network file .*area\.graphml' as graphml"),
        ("empty.osm", b"", r"cannot read network file .*empty\.osm' as xml"),
        ("noways.osm", b'<osm version="0.6"><node id="1" lat="60.1" lon="24.9"/></osm>',
         r"noways\.osm: (the graph has no edges|no walkable ways)"),
    ],
)
def test_unreadable_network_files(tmp_path, name, content, match):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(NetworkError, match=match) as err:
        load_network(path)
    assert "\n" not in str(err.value)


def test_missing_network_file(tmp_path):
    with pytest.raises(NetworkError, match=r"network file '.*nowhere\.osm\.pbf' does not exist"):
        load_network(tmp_path / "nowhere.osm.pbf")


def test_osm_file_with_only_unwalkable_ways(tmp_path):
    path = write_osm(tmp_path / "motorway.osm", ways=[WAYS[2], WAYS[4]])
    with pytest.raises(NetworkError, match="no walkable ways"):
        load_network(path)


@pytest.mark.parametrize(
    ("bbox", "match"),
    [
        ((24.9, 60.1), r"must be four numbers"),
        (("a", 1, 2, 3), r"must be four numbers"),
        ((25.0, 60.1, 24.9, 60.2), r"west<east"),
        ((60.1, 24.9, 60.2, 25.0, ), None),  # lat/lon swapped but still a valid box: accepted
        ((24.9, 91, 25.0, 92), r"check the order"),
    ],
)
def test_check_bbox(bbox, match):
    if match is None:
        assert check_bbox(bbox) == tuple(float(x) for x in bbox)
    else:
        with pytest.raises(InputError, match=match):
            check_bbox(bbox)


# ------------------------------------------------------------------------------------------------- cache


@pytest.fixture
def counted_xml(monkeypatch):
    """Count how often the OSM XML reader really runs."""
    calls = []
    real = network_module._from_xml

    def counting(path, *args):
        calls.append(path)
        return real(path, *args)

    monkeypatch.setattr(network_module, "_from_xml", counting)
    return calls


def _same(a, b):
    np.testing.assert_array_equal(a.node_xy, b.node_xy)
    np.testing.assert_array_equal(a.edge_u, b.edge_u)
    np.testing.assert_array_equal(a.edge_v, b.edge_v)
    assert (a.crs, a.source) == (b.crs, b.source)


def test_cache_round_trip(tmp_path, counted_xml):
    osm = write_osm(tmp_path / "tiny.osm")
    cache = tmp_path / "cache"
    first = load_network(osm, cache_dir=cache)
    files = list(cache.glob("network-*.npz"))
    assert len(counted_xml) == 1 and len(files) == 1
    second = load_network(osm, cache_dir=cache)
    assert len(counted_xml) == 1  # read from the .npz
    _same(first, second)
    assert second.edge_length_m.sum() == pytest.approx(first.edge_length_m.sum())
    assert not list(cache.glob("*.part"))

    # A changed file is rebuilt (new size and time), and its cache is a new entry.
    write_osm(osm, ways=[*WAYS, (110, [4, 5], {"highway": "path"})])
    third = load_network(osm, cache_dir=cache)
    assert len(counted_xml) == 2 and third.n_edges == 6
    assert len(list(cache.glob("network-*.npz"))) == 2

    # Same size, only a newer modification time: rebuilt too.
    st = osm.stat()
    os.utime(osm, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    load_network(osm, cache_dir=cache)
    assert len(counted_xml) == 3


def _truncated(data: bytes) -> bytes:
    return data[: len(data) // 2]


def _inconsistent(data: bytes) -> bytes:
    """A valid .npz whose edges point at nodes that do not exist."""
    import io

    buf = io.BytesIO()
    np.savez(buf, node_xy=np.zeros((2, 2)), edge_u=np.array([0]), edge_v=np.array([7]), crs=np.array("EPSG:32635"),
             source=np.array("x"))
    return buf.getvalue()


@pytest.mark.parametrize("damage", [lambda _d: b"not a zip", _truncated, lambda _d: b"", _inconsistent],
                         ids=["garbage", "truncated", "empty", "inconsistent"])
def test_unreadable_cache_is_rebuilt(tmp_path, counted_xml, caplog, damage):
    osm = write_osm(tmp_path / "tiny.osm")
    cache = tmp_path / "cache"
    first = load_network(osm, cache_dir=cache)
    (entry,) = cache.glob("network-*.npz")
    entry.write_bytes(damage(entry.read_bytes()))
    with caplog.at_level("WARNING", logger="carecircle.core.network"):
        again = load_network(osm, cache_dir=cache)
    assert len(counted_xml) == 2 and "ignoring unreadable cache" in caplog.text
    _same(first, again)
    _same(first, load_network(osm, cache_dir=cache))  # the rewritten entry is good
    assert len(counted_xml) == 2


def test_cache_version_is_part_of_the_key(tmp_path, counted_xml, monkeypatch):
    osm = write_osm(tmp_path / "tiny.osm")
    load_network(osm, cache_dir=tmp_path)
    monkeypatch.setattr(network_module, "CACHE_VERSION", network_module.CACHE_VERSION + 1)
    load_network(osm, cache_dir=tmp_path)
    assert len(counted_xml) == 2


def test_no_cache_dir_always_builds(tmp_path, counted_xml):
    osm = write_osm(tmp_path / "tiny.osm")
    load_network(osm)
    load_network(osm)
    assert len(counted_xml) == 2 and not list(tmp_path.glob("*.npz"))


def test_pbf_cache_round_trip(tmp_path, helsinki_pbf, helsinki_net):
    first = load_network(helsinki_pbf, cache_dir=tmp_path)
    _same(first, helsinki_net)
    again = load_network(helsinki_pbf, cache_dir=tmp_path)
    _same(first, again)
    assert len(list(tmp_path.glob("network-*.npz"))) == 1


def test_grid_network_has_a_repr():
    assert repr(grid_network(2, 2)) == "WalkNetwork(4 nodes, 4 segments, EPSG:32650, grid)"


def test_an_unreadable_network_file_is_named_briefly(tmp_path):
    """The message names the file, not its whole path, and quotes at most one short line of the parser's error."""
    folder = tmp_path / ("deep" * 30)
    folder.mkdir()
    bad = folder / "district.osm"
    bad.write_text("<osm>" + "x" * 5000, encoding="utf-8")
    with pytest.raises(NetworkError) as exc:
        load_network(bad)
    text = str(exc.value)
    assert "'district.osm'" in text and str(folder) not in text
    assert len(text) < 400 and "\n" not in text


# ------------------------------------------------------------------ one walking rule for every source (issue 12)


def _tag_nodes(path: Path, tags: dict[int, dict[str, str]]) -> Path:
    """Give nodes of an OSM XML file tags (crossings, barriers)."""
    import re

    text = path.read_text(encoding="utf-8")
    for nid, kv in tags.items():
        body = "".join(f'<tag k="{k}" v="{v}"/>' for k, v in kv.items())
        text = re.sub(rf'(<node id="{nid}" version="1" [^/]*)/>', rf"\1>{body}</node>", text, count=1)
    path.write_text(text, encoding="utf-8")
    return path


def test_pbf_and_xml_of_the_same_data_give_the_same_network(tmp_path):
    """The .osm.pbf reader applies the XML reader's walking rule (pyrosm's own walking filter dropped cycleways
    open to pedestrians) and reads the same steps, crossings and barriers."""
    osmium = pytest.importorskip("osmium")
    grid = _grid_osm(tmp_path / "grid.osm")  # without its second version of node 1: a PBF lists each node once
    grid.write_text("".join(line for line in grid.read_text(encoding="utf-8").splitlines(keepends=True)
                            if 'version="2"' not in line).replace(  # and a railway: a barrier to snapping
        "</osm>", '<way id="5000" version="1"><nd ref="130"/><nd ref="131"/><nd ref="132"/>'
        '<tag k="railway" v="rail"/></way>\n</osm>'), encoding="utf-8")
    xml = _tag_nodes(grid, {
        14: {"highway": "crossing", "crossing": "traffic_signals"}, 15: {"crossing": "zebra"},
        16: {"barrier": "gate", "access": "private"}, 27: {"crossing": "no"}})
    pbf = tmp_path / "grid.osm.pbf"
    with osmium.SimpleWriter(str(pbf)) as writer:
        for obj in osmium.FileProcessor(str(xml)):
            writer.add(obj)
    a, b = load_network(xml), load_network(pbf)
    assert a.n_edges == b.n_edges > 100  # the grid's pedestrian squares (area=yes) are walked in both
    for name in ("node_xy", "edge_u", "edge_v", "edge_kind", "edge_steps", "node_crossing", "node_blocked",
                 "barrier_xy"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    assert (a.node_crossing > 0).sum() == 3 and a.node_blocked.sum() == 1 and len(b.barrier_xy) == 2


def test_pbf_way_with_nodes_missing_from_a_clipped_extract_is_cut_there(tmp_path, caplog):
    """A clipped .osm.pbf (a way runs out of the extract and back in) is read: the way is cut at the missing node,
    never joined across the gap, and the log says how many ways were cut."""
    osmium = pytest.importorskip("osmium")
    lonlat = {1: (117.200, 28.240), 2: (117.201, 28.240), 3: (117.202, 28.240), 4: (117.204, 28.240),
              5: (117.205, 28.240), 7: (117.203, 28.241)}
    pbf = tmp_path / "clipped.osm.pbf"
    with osmium.SimpleWriter(str(pbf)) as writer:
        for nid, xy in lonlat.items():
            writer.add_node(osmium.osm.mutable.Node(id=nid, version=1, location=xy))
        writer.add_way(osmium.osm.mutable.Way(id=10, version=1, nodes=[1, 2, 3, 99, 4, 5],  # node 99 not in the file
                                              tags={"highway": "footway"}))
        writer.add_way(osmium.osm.mutable.Way(id=11, version=1, nodes=[3, 7, 4], tags={"highway": "footway"}))
    with caplog.at_level("INFO", logger="carecircle.core.osm_pbf"):
        net = load_network(pbf)
    assert net.n_edges == 5  # 1-2, 2-3, 4-5 of the cut way and 3-7, 7-4
    lon, lat = net.to_wgs84.transform(net.node_xy[:, 0], net.node_xy[:, 1])
    at = {nid: int(np.argmin(np.hypot(lon - x, lat - y))) for nid, (x, y) in lonlat.items()}
    pairs = {frozenset(p) for p in zip(net.edge_u.tolist(), net.edge_v.tolist(), strict=True)}
    assert frozenset((at[3], at[4])) not in pairs and frozenset((at[3], at[7])) in pairs
    assert "1 ways use nodes missing from the file" in caplog.text
