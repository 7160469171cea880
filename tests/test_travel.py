"""Snapping to segments and walking times, on grids worked by hand and against the independent reference."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import shapely
from generate import at, grid_lines, grid_network, random_network, random_points
from hypothesis import given, settings
from hypothesis import strategies as st
from reference import reference_minutes
from scipy.sparse.csgraph import dijkstra

from carecircle.core.network import network_from_lines
from carecircle.core.travel import SPEED_PRESETS_MPS, point_graph, segment_index, snap_points, travel_times
from carecircle.errors import InputError

PROPS = settings(derandomize=True, max_examples=15, deadline=None)


def seconds(tt) -> np.ndarray:
    return tt.minutes * 60.0


# -------------------------------------------------------------------------------------------- snapping


def test_snaps_to_the_nearest_segment_not_node(grid):
    # 10 m south of the middle of the block edge (100,0)-(200,0): nodes are 51 m away, the street 10 m.
    s = snap_points(grid, np.array([at(150, -10)]))
    assert s.ok.tolist() == [True]
    assert s.offset_m[0] == pytest.approx(10)
    u, v = grid.edge_u[s.edge[0]], grid.edge_v[s.edge[0]]
    ends = {tuple(grid.node_xy[u]), tuple(grid.node_xy[v])}
    assert ends == {at(100, 0), at(200, 0)}
    start = grid.node_xy[u]
    assert s.along_m[0] == pytest.approx(abs(start[0] - at(150, 0)[0]))


def test_point_beyond_a_segment_end_snaps_to_the_end(grid):
    s = snap_points(grid, np.array([at(-30, -40)]))
    assert s.offset_m[0] == pytest.approx(50)
    assert s.along_m[0] in (0.0, pytest.approx(grid.edge_length_m[s.edge[0]]))


def test_equidistant_segments_pick_the_lowest_index(grid):
    """The centre of a block is 50 m from four streets: the choice is the lowest segment index, always."""
    centre = at(150, 150)
    s = snap_points(grid, np.array([centre, at(350, 350), centre]))
    mid = (grid.node_xy[grid.edge_u] + grid.node_xy[grid.edge_v]) / 2
    tied = np.flatnonzero(np.hypot(*(mid - np.array(centre)).T) < 50 + 1e-9)
    assert len(tied) == 4
    assert s.edge[0] == s.edge[2] == tied.min()


def test_points_too_far_are_not_snapped_but_measured(grid):
    s = snap_points(grid, np.array([at(500, 1400), at(500, 1250)]), max_snap_m=300)
    assert s.ok.tolist() == [False, True]
    assert s.edge[0] == -1 and np.isnan(s.along_m[0])
    np.testing.assert_allclose(s.offset_m, [400, 250])


@pytest.mark.parametrize("bad", [[np.nan, 0.0], [0.0, np.inf]])
def test_missing_coordinates_are_an_input_error(grid, bad):
    xy = np.array([at(0, 0), bad, at(0, 0), bad])
    with pytest.raises(InputError, match=r"^2 points have missing coordinates \(rows 2, 4\)"):
        snap_points(grid, xy)


# ----------------------------------------------------------------------- snapping against brute force


def brute_force_snap(net, xy, max_snap_m):
    """Every point against every segment (GEOS distances through shapely, numpy broadcasting): the nearest
    segment, the lowest index among those at exactly the smallest distance."""
    d = shapely.distance(shapely.points(xy)[:, None], net.segments[None, :])
    best = d.min(axis=1)
    edge = np.argmax(d == best[:, None], axis=1)
    return np.where(best <= max_snap_m, edge, -1), best


def strtree_snap(net, xy, max_snap_m):
    """The search snap_points used before its segment index: shapely's STRtree, lowest index on ties."""
    tree = shapely.STRtree(net.segments)
    points = shapely.points(xy)
    edge, offset = np.full(len(xy), -1), np.full(len(xy), np.nan)
    (pi, ei), dist = tree.query_nearest(points, max_distance=max_snap_m, return_distance=True)
    order = np.lexsort((ei, pi))
    pi, ei, dist = pi[order], ei[order], dist[order]
    first = np.r_[True, pi[1:] != pi[:-1]] if len(pi) else np.zeros(0, dtype=bool)
    edge[pi[first]], offset[pi[first]] = ei[first], dist[first]
    far = np.flatnonzero(edge < 0)
    if len(far):
        (fi, _), fd = tree.query_nearest(points[far], return_distance=True)
        offset[far[fi]] = fd
    return edge, offset


def tie_network(seed: int):
    """Integer coordinates full of ties: a grid of one block size, a long diagonal street, short stubs."""
    rng = np.random.default_rng(seed)
    block = float(rng.choice([10, 50, 100]))
    nx, ny = rng.integers(3, 9, size=2)
    lines = list(grid_lines(int(nx), int(ny), block=block, origin=(0.0, 0.0)))
    span = block * (min(nx, ny) - 1)
    lines.append(shapely.LineString([(0, 0), (span, span)]))  # long, through nodes: ties at distance 0
    lines.append(shapely.LineString([(0, 0), (-20 * span, 3 * span)]))  # very long, leaving the grid
    for x, y in rng.integers(0, int(nx), size=(4, 2)) * block:
        lines.append(shapely.LineString([(x, y), (x + 1, y + 1)]))  # 1.4 m stubs at crossings
    net = network_from_lines(np.array(lines, dtype=object), crs="EPSG:32650", source="ties")
    lo, hi = net.node_xy.min(axis=0) - 400, net.node_xy.max(axis=0) + 400
    lattice = rng.integers(lo * 2, hi * 2, size=(150, 2)) / 2.0  # half-metre lattice: many equidistant points
    centres = (rng.integers(0, int(nx) - 1, size=(20, 2)) + 0.5) * block
    nodes = net.node_xy[rng.choice(net.n_nodes, 20)]
    return net, np.concatenate([lattice, centres, nodes])


@PROPS
@given(seed=st.integers(0, 10_000), max_snap_m=st.sampled_from([0.5, 30.0, 300.0]))
def test_snaps_equal_brute_force_and_the_strtree_search(seed, max_snap_m):
    net, xy = tie_network(seed)
    s = snap_points(net, xy, max_snap_m=max_snap_m)
    edge, best = brute_force_snap(net, xy, max_snap_m)
    old_edge, old_offset = strtree_snap(net, xy, max_snap_m)
    assert np.array_equal(s.edge, edge) and np.array_equal(s.edge, old_edge)
    assert np.array_equal(s.offset_m, best) and np.array_equal(s.offset_m, old_offset)
    assert np.array_equal(s.ok, best <= max_snap_m)
    assert (~s.ok).any() and s.ok.any()


@PROPS
@given(seed=st.integers(0, 10_000))
def test_snaps_equal_brute_force_on_random_networks(seed):
    net = random_network(seed, nx=7, ny=6)
    xy = np.concatenate([random_points(seed, net, 300, margin=500), net.node_xy[:30]])
    edge, best = brute_force_snap(net, xy, 300.0)
    s = snap_points(net, xy)
    assert np.array_equal(s.edge, edge) and np.array_equal(s.offset_m, best)


def test_snapping_index_is_built_once_and_remembers_searches_by_content(grid):
    index = segment_index(grid)
    assert segment_index(grid) is index
    xy = np.array([at(150, -10), at(430, 270)])
    first = snap_points(grid, xy)
    first.edge[:] = 0  # a caller writing into its result must not change what the next caller gets
    first.offset_m[:] = -1.0
    again = snap_points(grid, xy.copy())
    assert again.offset_m.tolist() == pytest.approx([10, 30])
    assert np.array_equal(again.edge, brute_force_snap(grid, xy, 300.0)[0])
    other = snap_points(grid, xy[::-1])
    assert other.offset_m.tolist() == pytest.approx([30, 10])


def test_a_network_with_its_snapping_index_pickles(grid):
    """Batch runs send networks to other processes: the index and its remembered searches travel along."""
    xy = np.array([at(150, -10), at(430, 270)])
    before = snap_points(grid, xy)
    copy = pickle.loads(pickle.dumps(grid))
    after = snap_points(copy, xy)
    assert np.array_equal(after.edge, before.edge) and np.array_equal(after.offset_m, before.offset_m)


def test_a_point_at_exactly_the_snapping_limit_is_snapped(grid):
    s = snap_points(grid, np.array([at(500, 1300), at(500, 1300.001)]), max_snap_m=300)
    assert s.ok.tolist() == [True, False]


# ------------------------------------------------------------------------------------------ worked by hand


def test_facility_at_a_node_gives_manhattan_distance_to_every_node(grid):
    xy = grid.node_xy
    tt = travel_times(grid, np.array([at(300, 200)]), xy)
    manhattan = np.abs(xy[:, 0] - at(300, 0)[0]) + np.abs(xy[:, 1] - at(0, 200)[1])
    np.testing.assert_allclose(seconds(tt), manhattan, atol=1e-9)
    assert (tt.nearest == 0).all()


def test_fifteen_minutes_is_nine_blocks(grid):
    tt = travel_times(grid, np.array([at(0, 0)]), np.array([at(900, 0), at(500, 400), at(1000, 0)]))
    np.testing.assert_allclose(tt.minutes, [15.0, 15.0, 1000 / 60])


def test_off_network_walk_counts_at_both_ends(grid):
    # Facility 30 m west of the x=300 street, demand 20 m north of the y=700 street; 250 + 650 m between.
    tt = travel_times(grid, np.array([at(270, 50)]), np.array([at(550, 720)]))
    assert seconds(tt)[0] == pytest.approx(30 + 250 + 650 + 20)
    assert tt.facility_snap.offset_m[0] == pytest.approx(30)
    assert tt.demand_snap.offset_m[0] == pytest.approx(20)


def test_docstring_example():
    net = network_from_lines(shapely.linestrings([[[0, 0], [600, 0]]]), crs="EPSG:32650")
    tt = travel_times(net, np.array([[0, 10]]), np.array([[300, -20]]))
    assert seconds(tt)[0] == pytest.approx(330)


def test_demand_on_the_facility_segment_walks_directly(grid):
    """Several points on one segment, either side of the facility, listed out of order."""
    fac = np.array([at(450, 500)])
    dem = np.array([at(480, 500), at(410, 500), at(400, 500), at(500, 500), at(450, 500), at(420, 505),
                    at(490, 497)])
    tt = travel_times(grid, fac, dem)
    np.testing.assert_allclose(seconds(tt), [30, 40, 50, 50, 0, 35, 43], atol=1e-9)


def test_two_facilities_on_one_segment_and_nearest(grid):
    fac = np.array([at(420, 500), at(480, 500), at(0, 0)])
    dem = np.array([at(430, 500), at(470, 500), at(450, 500), at(0, 100)])
    tt = travel_times(grid, fac, dem)
    np.testing.assert_allclose(seconds(tt), [10, 10, 30, 100])
    assert tt.nearest[[0, 1, 3]].tolist() == [0, 1, 2]
    assert tt.nearest[2] in (0, 1)


def test_unsnapped_facilities_are_ignored_and_far_demand_is_unreachable(grid):
    fac = np.array([at(500, 2000), at(0, 0)])
    dem = np.array([at(0, 300), at(-500, -500)])
    tt = travel_times(grid, fac, dem, max_snap_m=300)
    assert tt.facility_snap.ok.tolist() == [False, True]
    assert seconds(tt)[0] == pytest.approx(300)
    assert np.isinf(tt.minutes[1]) and tt.nearest.tolist() == [1, -1]


def test_no_facility_on_the_network_leaves_everyone_unreachable(grid):
    tt = travel_times(grid, np.array([at(500, 2000)]), np.array([at(0, 0), at(100, 0)]))
    assert np.isinf(tt.minutes).all() and (tt.nearest == -1).all()


def test_max_minutes_cuts_the_search(grid):
    dem = np.array([at(0, 300), at(0, 900), at(0, 1000)])
    tt = travel_times(grid, np.array([at(0, 0)]), dem, max_minutes=15)
    assert seconds(tt)[:2] == pytest.approx([300, 900])
    assert np.isinf(tt.minutes[2]) and tt.nearest[2] == -1


@pytest.mark.parametrize("preset", sorted(SPEED_PRESETS_MPS))
def test_speed_presets_scale_times(grid, preset):
    speed = SPEED_PRESETS_MPS[preset]
    tt = travel_times(grid, np.array([at(0, 0)]), np.array([at(300, 300)]), walk_speed_mps=speed)
    assert tt.minutes[0] == pytest.approx(600 / speed / 60)


@pytest.mark.parametrize("speed", [0, -1.0, float("nan"), float("inf")])
def test_bad_speed(grid, speed):
    with pytest.raises(InputError, match=r"walking speed .* m/s must be a positive number"):
        travel_times(grid, np.array([at(0, 0)]), np.array([at(0, 100)]), walk_speed_mps=speed)


def test_empty_demand(grid):
    tt = travel_times(grid, np.array([at(0, 0)]), np.empty((0, 2)))
    assert tt.minutes.shape == (0,) and tt.nearest.shape == (0,)


def test_inserting_points_keeps_network_distances(grid):
    xy = np.array([at(150, 0), at(130, 0), at(1000, 555), at(333, 333)])
    graph = point_graph(grid, xy, snap_points(grid, xy))
    n = grid.n_nodes
    before = dijkstra(grid.csr, indices=[0, 60, 120])
    after = dijkstra(graph.csr, indices=[0, 60, 120])[:, :n]
    np.testing.assert_allclose(after, before)
    assert (graph.point_node >= n).all()


# --------------------------------------------------------------------------------- independent reference


@PROPS
@given(seed=st.integers(0, 10_000), n_fac=st.integers(1, 6), speed=st.sampled_from([0.8, 1.0, 1.2]))
def test_travel_times_equal_the_reference(seed, n_fac, speed):
    net = random_network(seed, nx=9, ny=8)
    fxy = random_points(seed + 1, net, n_fac, margin=50)
    dxy = random_points(seed + 2, net, 200, margin=320)
    tt = travel_times(net, fxy, dxy, walk_speed_mps=speed)
    ref = reference_minutes(net, fxy, dxy, walk_speed_mps=speed)
    assert np.array_equal(np.isinf(tt.minutes), np.isinf(ref))
    fin = np.isfinite(ref)
    np.testing.assert_allclose(tt.minutes[fin], ref[fin], rtol=0, atol=1e-6)


def test_reference_on_a_bigger_grid_with_points_at_nodes_and_midpoints():
    net = grid_network(30, 30)
    rng = np.random.default_rng(3)
    nodes = net.node_xy[rng.choice(net.n_nodes, 300, replace=False)]
    mids = (net.node_xy[net.edge_u] + net.node_xy[net.edge_v])[rng.choice(net.n_edges, 300, replace=False)] / 2
    fxy = net.node_xy[rng.choice(net.n_nodes, 5, replace=False)] + rng.uniform(-40, 40, (5, 2))
    dxy = np.concatenate([nodes, mids])
    np.testing.assert_allclose(travel_times(net, fxy, dxy).minutes, reference_minutes(net, fxy, dxy), atol=1e-6)


def test_travel_times_reuse_given_snaps(grid):
    fac, dem = np.array([at(120, 10), at(800, 620)]), np.array([at(0, 300), at(555, 555), at(990, 15)])
    fresh = travel_times(grid, fac, dem)
    given = travel_times(grid, fac, dem, facility_snap=snap_points(grid, fac), demand_snap=snap_points(grid, dem))
    assert np.array_equal(given.minutes, fresh.minutes) and np.array_equal(given.nearest, fresh.nearest)
    with pytest.raises(InputError, match=r"facility_snap holds 1 points but 2 facilities were given"):
        travel_times(grid, fac, dem, facility_snap=snap_points(grid, fac[:1]))


# ----------------------------------------------------------------------- snapping does not cross barriers (issue 12)


def test_a_point_snaps_to_the_street_on_its_side_of_a_river(grid):
    """A river runs east–west at y = 530 across the grid (streets every 100 m). A home at (250, 535) is 35 m from
    the street at y = 500 — across the river — and 50 m from the streets at x = 200 and 300 on its own side."""
    import dataclasses

    from carecircle.core.travel import segment_index

    river = np.array([[at(-100, 530), at(1100, 530)]])
    net = dataclasses.replace(grid, barrier_xy=river)
    home = np.array([at(250, 535)])
    assert snap_points(grid, home).offset_m[0] == pytest.approx(35.0)
    across = snap_points(net, home)
    assert across.offset_m[0] == pytest.approx(50.0)
    a, b = net.node_xy[net.edge_u[across.edge[0]]], net.node_xy[net.edge_v[across.edge[0]]]
    assert a[0] == b[0] == pytest.approx(at(200, 0)[0])  # the street at x = 200 (lowest index of the tie)
    # A home inside a walled-in square (a pond's island) reaches no street: not snapped.
    ring = [at(230, 515), at(270, 515), at(270, 555), at(230, 555), at(230, 515)]
    walled = dataclasses.replace(grid, barrier_xy=np.array([[ring[k], ring[k + 1]] for k in range(4)]))
    assert not snap_points(walled, home).ok[0]
    assert segment_index(walled).barriers is not None


def test_the_osm_readers_keep_railways_and_rivers(tmp_path):
    from test_network import NODES, WAYS, write_osm

    nodes = {**NODES, 20: (24.9395, 60.1705), 21: (24.9425, 60.1705), 22: (24.9395, 60.1695),
             23: (24.9425, 60.1695)}
    ways = [*WAYS, (201, [20, 21], {"railway": "rail"}), (202, [22, 23], {"waterway": "river", "bridge": "yes"}),
            (203, [22, 23], {"waterway": "stream"})]
    from carecircle.core.network import load_network

    net = load_network(write_osm(tmp_path / "barriers.osm", ways=ways, nodes=nodes))
    assert net.barrier_xy.shape == (1, 2, 2)  # the railway; the river on a bridge and the stream do not bar
