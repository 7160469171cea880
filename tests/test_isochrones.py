"""Isochrone polygons: reachable streets cut at the remaining distance, buffered, nested, for drawing only."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from generate import GRID_CRS, ORIGIN, at, facilities_gdf, grid_network, random_network, random_points
from hypothesis import given, settings
from hypothesis import strategies as st
from reference import reference_distances
from scipy.sparse.csgraph import dijkstra

from carecircle.core.isochrones import _apart_groups, isochrones, reachable_pieces, strokes
from carecircle.core.network import network_from_lines
from carecircle.core.travel import point_graph, snap_points
from carecircle.errors import InputError, SnapError

PROPS = settings(derandomize=True, max_examples=8, deadline=None)
TOL = 2.5  # metres: simplification (2 m) plus the WGS-84 round trip


def projected(iso, minutes, facility_id=None):
    rows = iso.to_crs(GRID_CRS)
    pick = rows["minutes"] == minutes
    pick &= rows["facility_id"].isna() if facility_id is None else rows["facility_id"] == facility_id
    assert pick.sum() == 1
    return rows.geometry[pick].iloc[0]


@pytest.fixture(scope="module")
def street():
    """One straight 3 km street along x."""
    return network_from_lines(shapely.linestrings([[at(0, 0), at(3000, 0)]]), crs=GRID_CRS)


def _bounds(geom):
    x0, y0, x1, y1 = geom.bounds
    return np.array([x0 - ORIGIN[0], y0 - ORIGIN[1], x1 - ORIGIN[0], y1 - ORIGIN[1]])


@pytest.mark.parametrize(("speed", "reach"), [(1.0, 900), (0.8, 720), (1.2, 1080)])
def test_partial_edge_is_cut_at_the_remaining_distance(street, speed, reach):
    iso = isochrones(street, facilities_gdf([at(1500, 0)]), thresholds_min=[15], walk_speed_mps=speed,
                     per_facility=False)
    np.testing.assert_allclose(_bounds(projected(iso, 15)), [1500 - reach - 40, -40, 1500 + reach + 40, 40],
                               atol=TOL)


def test_network_end_and_off_network_walk(street):
    # 30 m off the street at x=300: 870 m left on the street; westwards it ends at x=0 first.
    iso = isochrones(street, facilities_gdf([at(300, 30)]), thresholds_min=[5, 15], per_facility=False)
    np.testing.assert_allclose(_bounds(projected(iso, 15)), [-40, -40, 300 + 870 + 40, 30 + 40], atol=TOL)
    np.testing.assert_allclose(_bounds(projected(iso, 5)), [300 - 270 - 40, -40, 300 + 270 + 40, 70], atol=TOL)


def test_merged_fifteen_minutes_on_the_grid_holds_nodes_within_900_m_only(grid):
    fac = facilities_gdf([at(500, 500)])
    poly = projected(isochrones(grid, fac, thresholds_min=[15], per_facility=False), 15)
    manhattan = np.abs(grid.node_xy - np.array(at(500, 500))).sum(axis=1)
    inside = shapely.contains_xy(poly, grid.node_xy[:, 0], grid.node_xy[:, 1])
    assert inside[manhattan <= 900 + 1e-9].all()
    assert not inside[manhattan >= 1000 - 1e-9].any()  # 100 m from the nearest reached street end
    # Where a street is cut: 900 m reached from both crossings of a block edge at 850 m and 950 m.
    assert poly.contains(shapely.Point(at(0, 150)))  # on the x=0 street, 900 m away
    assert not poly.contains(shapely.Point(at(-45, 100)))  # beyond the buffer west of the grid


def test_polygon_is_the_buffered_streets_reached(grid):
    """Streets only, no hull: the 5-minute polygon from a crossing is the streets within 300 m, buffered."""
    poly = projected(isochrones(grid, facilities_gdf([at(500, 500)]), thresholds_min=[5], per_facility=False,
                               buffer_m=10), 5)
    centre = np.array(at(500, 500))
    a, b = grid.node_xy[grid.edge_u], grid.node_xy[grid.edge_v]
    near = (np.abs(a - centre).sum(axis=1) <= 300) & (np.abs(b - centre).sum(axis=1) <= 300)
    assert near.sum() == 36  # block edges with both ends within three blocks of the crossing
    expected = shapely.union_all(shapely.buffer(shapely.linestrings(np.stack([a[near], b[near]], axis=1)), 10))
    assert poly.symmetric_difference(expected).area < 0.01 * expected.area


def test_output_rows_and_columns(grid):
    fac = facilities_gdf([at(100, 100), at(800, 800)], ids=["A", "B"])
    iso = isochrones(grid, fac)
    assert iso.crs.to_epsg() == 4326
    assert list(iso.columns) == ["facility_id", "minutes", "geometry"]
    assert len(iso) == 3 * 3
    assert iso["facility_id"].isna().sum() == 3
    assert sorted(iso["facility_id"].dropna().unique()) == ["A", "B"]
    assert iso.is_valid.all() and iso.geom_type.isin(["Polygon", "MultiPolygon"]).all()
    assert not iso.is_empty.any()


def test_merged_polygon_is_the_union_of_the_facilities(grid):
    fac = facilities_gdf([at(100, 100), at(800, 750)], ids=["A", "B"])
    iso = isochrones(grid, fac, thresholds_min=[10])
    merged = projected(iso, 10)
    union = shapely.union(projected(iso, 10, "A"), projected(iso, 10, "B"))
    assert merged.symmetric_difference(union).area < 0.01 * merged.area
    assert merged.buffer(TOL).contains(union) and union.buffer(TOL).contains(merged)


@PROPS
@given(seed=st.integers(0, 10_000), n_fac=st.integers(1, 3), t1=st.floats(1, 12), dt=st.floats(0.5, 8))
def test_a_longer_isochrone_contains_a_shorter_one(seed, n_fac, t1, dt):
    net = random_network(seed, nx=8, ny=7)
    fac = facilities_gdf(random_points(seed, net, n_fac, margin=20))
    iso = isochrones(net, fac, thresholds_min=[t1, t1 + dt], per_facility=True)
    ids = [None, *fac["facility_id"]]
    for fid in ids:
        short, long = projected(iso, t1, fid), projected(iso, t1 + dt, fid)
        assert long.area >= short.area - 1.0
        assert long.buffer(TOL).contains(short)


def test_every_node_within_reach_is_inside_on_helsinki(helsinki_net, helsinki_facilities):
    iso = isochrones(helsinki_net, helsinki_facilities, thresholds_min=[5, 10], per_facility=False)
    iso = iso.to_crs(helsinki_net.crs)
    fxy = shapely.get_coordinates(helsinki_facilities.to_crs(helsinki_net.crs).geometry.values)
    dist = reference_distances(helsinki_net, fxy, helsinki_net.node_xy).min(axis=0)
    for t, poly in zip(iso["minutes"], iso.geometry, strict=True):
        reached = dist <= t * 60
        inside = shapely.contains_xy(poly.buffer(TOL), *helsinki_net.node_xy.T)
        assert reached.sum() > 50
        assert inside[reached].all()


def test_reachable_pieces_by_hand():
    node_xy = np.array([[0.0, 0.0], [100.0, 0.0], [200.0, 0.0], [300.0, 0.0]])
    u, v, w = np.array([0, 1, 2]), np.array([1, 2, 3]), np.array([100.0, 100.0, 100.0])
    dist = np.array([0.0, 100.0, 200.0, np.inf])
    pieces = reachable_pieces(node_xy, u, v, w, dist, 150.0)
    lengths = sorted(np.hypot(*(p[1] - p[0])) for p in pieces)
    assert lengths == pytest.approx([50.0, 100.0])
    # Reached from both ends but not in between: two stubs, not the whole segment.
    pieces = reachable_pieces(node_xy[:2], np.array([0]), np.array([1]), np.array([100.0]),
                              np.array([0.0, 10.0]), 40.0)
    assert sorted(np.hypot(*(p[1] - p[0])) for p in pieces) == pytest.approx([30.0, 40.0])


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"buffer_m": 0}, InputError, r"isochrone buffer 0 m must be positive"),
        ({"thresholds_min": []}, InputError, r"must be positive minutes"),
        ({"thresholds_min": ["x"]}, InputError, r"must be numbers of minutes"),
    ],
)
def test_bad_arguments(grid, kwargs, error, match):
    with pytest.raises(error, match=match):
        isochrones(grid, facilities_gdf([at(0, 0)]), **kwargs)


def test_a_facility_far_from_the_network_gets_no_polygon(grid):
    """Issue 12: the coverage step names it and leaves it out; its isochrones are left out too."""
    fac = facilities_gdf([at(0, 0), at(500, 2000)], ids=["near", "far-away"])
    polys = isochrones(grid, fac, thresholds_min=(5,))
    assert set(polys["facility_id"].dropna()) == {"near"}
    alone = isochrones(grid, fac.iloc[[0]], thresholds_min=(5,))
    assert polys.geometry.iloc[0].equals(alone.geometry.iloc[0])


def test_all_facilities_far_is_a_snap_error(grid):
    with pytest.raises(SnapError, match=r"far1 \(1000 m\), far2 \(1100 m\)"):
        isochrones(grid, facilities_gdf([at(500, 2000), at(500, 2100)], ids=["far1", "far2"]))


def test_bigger_grid_fifteen_minutes_area_is_bounded():
    net = grid_network(25, 25)
    poly = projected(isochrones(net, facilities_gdf([at(1200, 1200)]), thresholds_min=[15], per_facility=False), 15)
    # Inside the diamond of radius 900 m grown by the buffer; the hull would be the whole diamond.
    diamond = shapely.Polygon([at(1200 - 900, 1200), at(1200, 1200 - 900), at(1200 + 900, 1200),
                               at(1200, 1200 + 900)])
    assert diamond.buffer(40 * np.sqrt(2) + TOL).contains(poly)
    # Block interiors farther than the buffer from every street stay holes (a hull would fill them).
    assert len(poly.interiors) >= 100
    assert not poly.contains(shapely.Point(at(1250, 1250)))


def test_strokes_on_a_full_grid_are_its_streets(grid):
    """Crossings and T-junctions carry straight on, corners turn: the 11 × 11 grid's 220 block edges make its
    9 + 9 inner streets and one ring of the four border streets."""
    pieces = np.stack([grid.node_xy[grid.edge_u], grid.node_xy[grid.edge_v]], axis=1)
    lines = strokes(pieces)
    assert (shapely.get_type_id(lines) == 1).all()  # each one LineString
    assert sorted(np.round(shapely.length(lines))) == [1000.0] * 18 + [4000.0]
    assert shapely.is_closed(lines).sum() == 1
    assert shapely.union_all(lines).equals(shapely.union_all(shapely.linestrings(pieces)))


@PROPS
@given(seed=st.integers(0, 10_000), n_fac=st.integers(1, 4), minutes=st.floats(2, 15))
def test_same_shape_as_the_union_of_every_piece_buffered(seed, n_fac, minutes):
    """The stroke buffers give the shape of buffering every reachable piece and uniting them (the method
    before strokes), up to how round joins and caps are approximated: within 1.5 m, and 5e-4 of the area."""
    net = random_network(seed, nx=9, ny=8)
    xy = random_points(seed, net, n_fac, margin=20)
    got = projected(isochrones(net, facilities_gdf(xy), thresholds_min=[minutes], per_facility=False,
                               simplify_m=0.0), minutes)
    graph = point_graph(net, xy, snap_points(net, xy))
    dist = dijkstra(graph.csr, indices=graph.point_node, min_only=True)
    pieces = reachable_pieces(graph.node_xy, graph.edge_u, graph.edge_v, graph.edge_w, dist, minutes * 60.0)
    pieces = pieces[np.hypot(*(pieces[:, 1] - pieces[:, 0]).T) > 1e-6]
    expected = shapely.union_all(shapely.buffer(shapely.linestrings(pieces), 40.0, quad_segs=4))
    assert got.symmetric_difference(expected).area <= 5e-4 * expected.area
    assert shapely.hausdorff_distance(got, expected) <= 1.5 + 1e-6  # the WGS-84 round trip included


@pytest.mark.parametrize("minutes", [4.0, 7.0])
def test_far_apart_facilities_drawn_in_groups_give_the_shape_drawn_at_once(minutes):
    """A merged layer is drawn in groups of facilities too far apart for their areas to meet (on the thread pool)
    and put together: the same shape as one union of every reachable stroke."""
    net = random_network(3, nx=40, ny=36)
    xy = np.array([at(300, 300), at(450, 350), at(3400, 300), at(3500, 3000), at(300, 3100)])
    got = projected(isochrones(net, facilities_gdf(xy), thresholds_min=[minutes], per_facility=False,
                               simplify_m=0.0), minutes)
    graph = point_graph(net, xy, snap_points(net, xy))
    dist, _, origin = dijkstra(graph.csr, indices=graph.point_node, min_only=True, return_predecessors=True)
    reach = minutes * 60.0
    assert len(_apart_groups(graph, dist, origin, reach, 2 * (reach + 40) + 1, 8)) >= 3
    pieces = reachable_pieces(graph.node_xy, graph.edge_u, graph.edge_v, graph.edge_w, dist, reach)
    pieces = pieces[np.hypot(*(pieces[:, 1] - pieces[:, 0]).T) > 1e-6]
    expected = shapely.union_all(shapely.buffer(strokes(pieces), 40.0, quad_segs=4))
    assert shapely.get_num_geometries(got) == shapely.get_num_geometries(expected) >= 3
    assert got.symmetric_difference(expected).area <= 1e-9 * expected.area
    assert shapely.hausdorff_distance(got, expected) <= 1e-3  # the WGS-84 round trip
    assert got.is_valid


def test_areas_that_meet_only_across_the_buffer_are_drawn_together():
    """Two parallel streets 60 m apart, joined 1.5 km away: their 40 m bands overlap, so the two facilities are
    drawn in one group and their band is one polygon (drawn apart, they would overlap: an invalid layer)."""
    lines = [[at(0, 0), at(3000, 0)], [at(0, 60), at(3000, 60)], [at(0, 0), at(0, 60)]]
    net = network_from_lines(shapely.linestrings(lines), crs=GRID_CRS)
    got = projected(isochrones(net, facilities_gdf([at(1500, -10), at(1500, 70)]), thresholds_min=[5],
                               per_facility=False), 5)
    assert got.is_valid and got.geom_type == "Polygon"
    # 290 m each way along both streets after the 10 m walks to them; 40 m bands round streets and walks.
    np.testing.assert_allclose(_bounds(got), [1500 - 290 - 40, -10 - 40, 1500 + 290 + 40, 70 + 40], atol=TOL)


@PROPS
@given(seed=st.integers(0, 10_000), n_fac=st.integers(2, 4), minutes=st.floats(2, 12))
def test_each_facility_polygon_is_its_walk_on_the_whole_network(seed, n_fac, minutes):
    """Per-facility polygons walk only the streets within reach of their facility; each is the union of the
    pieces its walk on the whole network reaches (one Dijkstra from it over every node)."""
    net = random_network(seed, nx=14, ny=12)
    xy = random_points(seed, net, n_fac, margin=20)
    iso = isochrones(net, facilities_gdf(xy), thresholds_min=[minutes / 2, minutes], simplify_m=0.0)
    graph = point_graph(net, xy, snap_points(net, xy))
    for i, node in enumerate(graph.point_node):
        dist = dijkstra(graph.csr, indices=node)
        for t in (minutes / 2, minutes):
            pieces = reachable_pieces(graph.node_xy, graph.edge_u, graph.edge_v, graph.edge_w, dist, t * 60.0)
            pieces = pieces[np.hypot(*(pieces[:, 1] - pieces[:, 0]).T) > 1e-6]
            expected = shapely.union_all(shapely.buffer(strokes(pieces), 40.0, quad_segs=4))
            got = projected(iso, t, f"F{i + 1}")
            assert got.symmetric_difference(expected).area <= 1e-9 * expected.area
            assert shapely.hausdorff_distance(got, expected) <= 1e-3  # the WGS-84 round trip
