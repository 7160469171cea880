"""The older-pedestrian walking model on hand-built networks whose every time is worked out by hand, and against
a plain Dijkstra over the same directed edge times on the real demo network."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import shapely
from generate import GRID_CRS, ORIGIN, at, north_up
from scipy.sparse.csgraph import dijkstra

from carecircle.core.coverage import measure_coverage
from carecircle.core.isochrones import isochrones
from carecircle.core.network import network_from_lines
from carecircle.core.osm_tags import (
    CROSSING_MARKED,
    CROSSING_NO,
    CROSSING_SIGNALS,
    CROSSING_UNMARKED,
    EDGE_MAJOR,
    EDGE_MAJOR_NO_SIDEWALK,
    EDGE_PATH,
    EDGE_STEPS,
)
from carecircle.core.travel import travel_times
from carecircle.core.walk_model import WalkModel, apply_walk_model, tobler_factor
from carecircle.errors import InputError

OLDER = WalkModel(name="older")



def close(seconds: float):
    """Equal within 2 cm of walking: the lines go through WGS-84 at OSM's 1e-7° precision (about 1 cm)."""
    return pytest.approx(seconds, abs=0.02)


def lonlat(x: float, y: float) -> tuple[float, float]:
    """WGS-84 position of grid coordinates (tagged nodes are matched by their WGS-84 position)."""
    import pyproj

    lon, lat = pyproj.Transformer.from_crs(GRID_CRS, "EPSG:4326", always_xy=True).transform(*at(x, y))
    return float(np.round(lon, 7)), float(np.round(lat, 7))


def build(lines, kinds, steps=None, nodes=None):
    """A network of ``lines`` (grid coordinates) with a kind per line and tagged nodes ``{(x, y): (crossing,
    blocked)}``. Lines go through WGS-84 like OSM ways, so tagged nodes match at 1e-7 degrees."""
    import pyproj

    to_wgs = pyproj.Transformer.from_crs(GRID_CRS, "EPSG:4326", always_xy=True)
    geoms = []
    for line in lines:
        xy = np.array([at(x, y) for x, y in line])
        lon, lat = to_wgs.transform(xy[:, 0], xy[:, 1])
        geoms.append(shapely.LineString(np.column_stack([lon, lat])))
    tagged = None
    if nodes:
        pos = np.array([lonlat(*p) for p in nodes])
        tagged = (pos, np.array([c or 0 for c, _ in nodes.values()]), np.array([b for _, b in nodes.values()]))
    return network_from_lines(np.array(geoms, dtype=object), crs="EPSG:4326", line_kind=np.array(kinds),
                              line_steps=None if steps is None else np.array(steps, dtype=float),
                              tagged_nodes=tagged)


def seconds(net, facility, home, model=OLDER, speed=1.0):
    """Walking seconds from ``home`` to ``facility`` (grid coordinates) under ``model``."""
    walked = apply_walk_model(net, model, speed)
    xy = lambda p: np.column_stack(walked.from_wgs84.transform(*lonlat(*p)))  # noqa: E731
    return float(travel_times(walked, xy(facility), xy(home), walk_speed_mps=speed).minutes[0] * 60.0)


def test_plain_model_is_the_network_itself():
    net = build([[(0, 0), (100, 0)]], [EDGE_STEPS])
    assert apply_walk_model(net, WalkModel(), 1.0) is net


def test_a_flight_of_steps():
    # 50 m of path, 30 m of steps tagged step_count=60, 20 m of path: 50 + 60 × 1.0 s + 20 = 130 s at 1 m/s
    # (plain: 100 s); without the tag the steps are 30 m / 0.3 m = 100 steps: 170 s.
    line = [[(0, 0), (50, 0)], [(50, 0), (80, 0)], [(80, 0), (100, 0)]]
    tagged = build(line, [EDGE_PATH, EDGE_STEPS, EDGE_PATH], steps=[np.nan, 60, np.nan])
    assert seconds(tagged, (0, 0), (100, 0), WalkModel()) == close(100.0)
    assert seconds(tagged, (0, 0), (100, 0)) == close(130.0)
    assert seconds(tagged, (100, 0), (0, 0)) == close(130.0)
    untagged = build(line, [EDGE_PATH, EDGE_STEPS, EDGE_PATH])
    assert seconds(untagged, (0, 0), (100, 0)) == close(170.0)
    # A slower walker: the steps take as long (60 s), the rest 70 m at 0.8 m/s.
    assert seconds(tagged, (0, 0), (100, 0), speed=0.8) == close(70 / 0.8 + 60.0)
    # A demand point in the middle of the flight pays its share of it: 10 m of steps (20 steps) + 50 m.
    assert seconds(tagged, (0, 0), (60, 0)) == close(50.0 + 20.0)


def test_avoiding_steps_takes_the_ramp():
    # Steps straight up (40 m) or a ramp around (100 + 40 + 100 m): with avoid_steps only the ramp.
    lines = [[(0, 0), (0, 40)], [(0, 0), (100, 0), (100, 40), (0, 40)]]
    net = build(lines, [EDGE_STEPS, EDGE_PATH], steps=[150, np.nan])
    assert seconds(net, (0, 0), (0, 40)) == close(150.0)  # 150 steps × 1 s < the 240 m ramp
    # A flight is never quicker than walking its length: 20 steps tagged on 40 m still take 40 s.
    short = build(lines, [EDGE_STEPS, EDGE_PATH], steps=[20, np.nan])
    assert seconds(short, (0, 0), (0, 40)) == close(40.0)
    assert seconds(net, (0, 0), (0, 40), WalkModel(name="older", avoid_steps=True)) == close(240.0)


@pytest.mark.parametrize(("control", "wait"), [
    (CROSSING_SIGNALS, 30.0), (CROSSING_MARKED, 15.0), (CROSSING_UNMARKED, 25.0), (None, 25.0)])
def test_crossing_a_primary_road(control, wait):
    # A primary road along y = 0; a footway crosses it at x = 0 from (0, -50) to (0, 50).
    lines = [[(-200, 0), (0, 0), (200, 0)], [(0, -50), (0, 0), (0, 50)]]
    nodes = {(0, 0): (control, False)} if control is not None else None
    net = build(lines, [EDGE_MAJOR, EDGE_PATH], nodes=nodes)
    assert seconds(net, (0, 50), (0, -50)) == close(100.0 + wait)
    # Walking on along the road through the crossing costs nothing extra; turning onto the road, half the wait.
    assert seconds(net, (200, 0), (-200, 0)) == close(400.0)
    assert seconds(net, (200, 0), (0, -50)) == close(250.0 + wait / 2)
    assert seconds(net, (0, 50), (0, -50), WalkModel()) == close(100.0)


def test_a_closed_crossing_sends_people_round():
    # crossing=no at (0, 0); a signalised crossing 100 m east: the way round is 100 + 100 + 100 + 100 + 30 s.
    lines = [[(-200, 0), (0, 0), (100, 0), (200, 0)], [(0, -50), (0, 0), (0, 50)],
             [(0, 50), (100, 50), (100, 0), (100, -50), (0, -50)]]
    net = build(lines, [EDGE_MAJOR, EDGE_PATH, EDGE_PATH],
                nodes={(0, 0): (CROSSING_NO, False), (100, 0): (CROSSING_SIGNALS, False)})
    assert seconds(net, (0, 50), (0, -50)) == close(300.0 + 30.0)


def test_a_private_gate_closes_the_short_way():
    # A gated path through a compound (100 m) or the street around it (300 m).
    lines = [[(0, 0), (50, 0), (100, 0)], [(0, 0), (0, 100), (100, 100), (100, 0)]]
    net = build(lines, [EDGE_PATH, EDGE_PATH], nodes={(50, 0): (None, True)})
    assert seconds(net, (0, 0), (100, 0), WalkModel()) == close(100.0)
    assert seconds(net, (0, 0), (100, 0)) == close(300.0)


def test_a_major_road_without_sidewalk_is_not_walked_along():
    lines = [[(0, 0), (100, 0)], [(0, 0), (0, 60), (100, 60), (100, 0)]]
    net = build(lines, [EDGE_MAJOR_NO_SIDEWALK, EDGE_PATH])
    assert seconds(net, (0, 0), (100, 0)) == close(220.0)


def test_a_slope_walked_both_ways(tmp_path):
    # A 100 m street climbing 10 m eastwards (10%): uphill Tobler's exp(3.5 × 0.15) / exp(3.5 × 0.05) = 1.419 of
    # the flat time, downhill exp(3.5 × 0.05) / exp(3.5 × 0.05) = 1.
    rasterio = pytest.importorskip("rasterio")

    dem = tmp_path / "dem.tif"
    z = np.tile(np.arange(-50.0, 150.0, 10.0) * 0.1, (20, 1))  # 10 m cells, z = 0.1 × x at the cell's west edge
    with rasterio.open(dem, "w", driver="GTiff", width=20, height=20, count=1, dtype="float64", crs=GRID_CRS,
                       transform=north_up(ORIGIN[0] - 50, ORIGIN[1] + 100, 10, 10)) as dst:
        dst.write(z[None])
    net = build([[(0, 0), (100, 0)]], [EDGE_PATH])
    sloped = WalkModel(dem=dem)
    up, down = seconds(net, (100, 0), (0, 0), sloped), seconds(net, (0, 0), (100, 0), sloped)
    assert up == close(100.0 * tobler_factor(np.array([0.1]))[0])
    assert up == close(141.907) and down == close(100.0)
    with pytest.raises(InputError, match="outside the DEM"):
        seconds(build([[(0, 0), (900, 0)]], [EDGE_PATH]), (0, 0), (900, 0), sloped)


def test_bad_parameters():
    with pytest.raises(InputError, match="walking model 'elderly' is not known"):
        WalkModel(name="elderly")
    with pytest.raises(InputError, match="step_s = -1"):
        WalkModel(name="older", step_s=-1)


# ------------------------------------------------------------------ against a plain directed Dijkstra, real network


def directed_reference_minutes(net, fac_xy, dem_xy, speed):
    """Home → nearest facility minutes by a plain Dijkstra on a graph written here: every point a node joined to
    both ends of its segment (its share of the segment's cost in each direction, the end node's penalty) and to
    the other points on the same segment, searched from the facilities over reversed edges. Points share
    sources' pairs: a facility → a home on its own segment is a direct edge too."""
    from reference import snap_candidates

    n = net.n_nodes
    rows, cols, vals = [], [], []

    def add(a, b, cost_ab):  # walking a → b costs cost_ab: the search from facilities relaxes b → a
        rows.append(b)
        cols.append(a)
        vals.append(cost_ab)

    length = net.edge_length_m
    fwd, bwd = net.edge_cost_fwd, net.edge_cost_bwd
    pu, pv = net.edge_pen_u, net.edge_pen_v
    for e in range(net.n_edges):
        add(net.edge_u[e], net.edge_v[e], fwd[e] + pu[e] + pv[e])
        add(net.edge_v[e], net.edge_u[e], bwd[e] + pu[e] + pv[e])
    point_node, on_edge = [], {}
    for k, xy in enumerate(np.vstack([fac_xy, dem_xy])):
        _, edges, alongs, offs = snap_candidates(net, xy[None])
        node = n + k
        point_node.append(node)
        if len(edges) == 0 or offs[0] > 300.0:  # beyond the snapping limit (or no street on its side): unreachable
            continue
        e, a, off = edges[0], alongs[0], offs[0]
        share = a / length[e]
        add(node, net.edge_u[e], off + share * bwd[e] + pu[e])
        add(net.edge_u[e], node, off + share * fwd[e] + pu[e])
        add(node, net.edge_v[e], off + (1 - share) * fwd[e] + pv[e])
        add(net.edge_v[e], node, off + (1 - share) * bwd[e] + pv[e])
        for other, b, off_b in on_edge.get(e, []):  # two points on one segment: the walk between them directly
            step = abs(b - a) / length[e]
            add(node, other, off + step * (fwd[e] if b >= a else bwd[e]) + off_b)
            add(other, node, off_b + step * (fwd[e] if a >= b else bwd[e]) + off)
        on_edge.setdefault(e, []).append((node, a, off))
    size = n + len(point_node)
    graph = sp.csr_array((np.array(vals), (np.array(rows), np.array(cols))), shape=(size, size))
    f = np.array(point_node[:len(fac_xy)])
    dist = dijkstra(graph, indices=f, min_only=True)
    return dist[np.array(point_node[len(fac_xy):])] / speed / 60.0


def test_older_model_coverage_equals_a_plain_directed_dijkstra_on_the_demo(helsinki_net, helsinki_facilities,
                                                                          helsinki_demand):
    from carecircle.core.coverage import projected_xy

    walked = apply_walk_model(helsinki_net, OLDER, 1.0)
    assert walked.n_edges < helsinki_net.n_edges or (walked.edge_pen_u > 0).any()
    fac = helsinki_facilities[helsinki_facilities["type"] != "health_centre"]
    dem = helsinki_demand.iloc[::7].reset_index(drop=True)  # every 7th point keeps the reference quick
    cov = measure_coverage(walked, fac, dem, thresholds_min=(5, 10, 15))
    ref = directed_reference_minutes(walked, projected_xy(fac, walked), projected_xy(dem, walked), 1.0)
    mine = cov.demand["time_min"].to_numpy()
    assert np.allclose(mine, ref, rtol=0, atol=1e-9)
    for t in (5, 10, 15):
        assert (mine <= t + 1e-9).sum() == (ref <= t + 1e-9).sum()


def test_isochrones_follow_the_model():
    # The footway across a signalised primary road, the facility at its north end: within 2 minutes (120 s) plain
    # reaches its south end (50 m beyond the road), the older model 120 − 50 − 30 (the wait) = 40 m beyond it.
    lines = [[(-200, 0), (0, 0), (200, 0)], [(0, -50), (0, 0), (0, 50)]]
    net = build(lines, [EDGE_MAJOR, EDGE_PATH], nodes={(0, 0): (CROSSING_SIGNALS, False)})
    import geopandas as gpd

    fac = gpd.GeoDataFrame({"facility_id": ["F"]}, geometry=[shapely.Point(lonlat(0, 50))], crs="EPSG:4326")
    plain = isochrones(net, fac, thresholds_min=(2,), per_facility=False, buffer_m=1.0)
    older = isochrones(apply_walk_model(net, OLDER, 1.0), fac, thresholds_min=(2,), per_facility=False, buffer_m=1.0)
    south = lambda poly: -(poly.to_crs(GRID_CRS).total_bounds[1] - ORIGIN[1])  # noqa: E731  metres south of y=0
    assert south(plain) == pytest.approx(51.0, abs=0.5)       # the whole footway, plus the 1 m band
    assert south(older) == pytest.approx(41.0, abs=0.5)       # 40 m, plus the band
    # The facility's own polygon, walked on the streets within reach only, is the same.
    own = isochrones(apply_walk_model(net, OLDER, 1.0), fac, thresholds_min=(2,), buffer_m=1.0)
    assert own.geometry.iloc[1].equals(own.geometry.iloc[0]) and own.geometry.iloc[0].equals(older.geometry.iloc[0])


def test_the_model_from_the_api_a_profile_or_the_cli(tmp_path):
    import yaml

    from carecircle.pipeline import study_config
    from carecircle.plan.standards import load_profile

    assert study_config().walk_model.name == "plain"
    assert study_config(walk_model="older").walk_model.name == "older"
    custom = study_config(walk_model={"model": "older", "avoid_steps": True, "wait_signals_s": 40}).walk_model
    assert custom.avoid_steps and custom.wait_signals_s == 40
    # A profile may say which walking its times assume; the study's own choice wins.
    data = load_profile("qitaihe-2020").model_dump(mode="json")
    data.update(id="older-city", walk_model="older")
    profile = tmp_path / "older-city.yaml"
    profile.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    assert study_config(standard=str(profile)).walk_model.name == "older"
    assert study_config(standard=str(profile), walk_model="plain").walk_model.name == "plain"
