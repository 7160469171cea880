"""Demand placement: population preserved per community, fallbacks, residential filter, floor-area weights."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from generate import GRID_CRS, at, quadrant_communities
from hypothesis import given, settings
from hypothesis import strategies as st

from carecircle.core.demand import METHODS, NON_RESIDENTIAL, children_demand, place_demand
from carecircle.errors import InputError

PROPS = settings(derandomize=True, max_examples=15, deadline=None)


def rect(x0, y0, w, h):
    return shapely.box(*at(x0, y0), *at(x0 + w, y0 + h))


def buildings_gdf(rows, crs=GRID_CRS):
    """rows: (polygon, building tag, building:levels)."""
    return gpd.GeoDataFrame({"building": [r[1] for r in rows], "building:levels": [r[2] for r in rows]},
                            geometry=[r[0] for r in rows], crs=crs)


@pytest.fixture
def communities(grid):
    """Quadrants Q1..Q4 of the 11×11 grid plus Q5, a small plot east of the grid with no node in it."""
    quads = quadrant_communities(grid, pop_60plus=(110, 200, 300, 400))
    q5 = gpd.GeoDataFrame({"community_id": ["Q5"], "pop_60plus": [50.0], "pop_total": [200.0]},
                          geometry=[rect(1200, 1200, 50, 50)], crs=GRID_CRS)
    return pd.concat([quads, q5], ignore_index=True)


def _sums(points):
    return points.groupby("community_id")["population"].sum()


def _methods(points):
    return points.groupby("community_id")["method"].agg(lambda m: set(m))


# ------------------------------------------------------------------------------------------------ by hand


def test_levels_weight_floor_area_and_non_residential_buildings_are_left_out(grid, communities):
    # All in Q1 (south-west quarter). Floor areas: 100 m² × 2 = 200; 200 m² × 3 (unreadable tag) = 600;
    # 100 m² × 3 ("0" storeys is not usable) = 300. The school and the shed hold nobody.
    b = buildings_gdf([
        (rect(10, 10, 10, 10), "house", "2"),
        (rect(110, 10, 20, 10), "apartments", "many"),
        (rect(210, 10, 10, 10), "yes", "0"),
        (rect(10, 210, 80, 80), "school", "4"),
        (rect(310, 310, 30, 30), "shed", None),
    ])
    pts = place_demand(communities, grid, buildings=b).to_crs(GRID_CRS)
    q1 = pts[pts["community_id"] == "Q1"].sort_values("population")
    np.testing.assert_allclose(q1["population"], [20, 30, 60])  # 110 persons in 200:300:600... by floor area
    assert set(q1["method"]) == {"buildings"}
    for geom, footprint in zip(q1.geometry, [rect(10, 10, 10, 10), rect(210, 10, 10, 10), rect(110, 10, 20, 10)],
                               strict=True):
        assert footprint.contains(geom)


def test_default_levels_parameter(grid, communities):
    b = buildings_gdf([(rect(10, 10, 10, 10), "house", "4"), (rect(110, 10, 10, 10), "house", None)])
    pts = place_demand(communities, grid, buildings=b, default_levels=1)
    q1 = pts[pts["community_id"] == "Q1"].sort_values("population")
    np.testing.assert_allclose(q1["population"], [22, 88])


def test_fallbacks_buildings_then_nodes_then_centroid(grid, communities):
    b = buildings_gdf([(rect(10, 10, 10, 10), "house", "2"), (rect(610, 10, 10, 10), "church", "1")])
    pts = place_demand(communities, grid, buildings=b)
    methods = _methods(pts)
    assert methods["Q1"] == {"buildings"}
    assert methods["Q2"] == {"nodes"}  # only a church there
    assert methods["Q3"] == {"nodes"} and methods["Q4"] == {"nodes"}
    assert methods["Q5"] == {"centroid"}
    q5 = pts[pts["community_id"] == "Q5"].to_crs(GRID_CRS)
    assert len(q5) == 1 and rect(1200, 1200, 50, 50).contains(q5.geometry.iloc[0])
    # Nodes: equal shares over the nodes strictly inside (Q2 spans x 600..1000, y 0..400: 5 × 5 nodes).
    q2 = pts[pts["community_id"] == "Q2"]
    assert len(q2) == 25
    np.testing.assert_allclose(q2["population"], 200 / 25)


def test_no_buildings_means_nodes(grid, communities):
    for buildings in (None, buildings_gdf([])):
        pts = place_demand(communities, grid, method="buildings", buildings=buildings)
        assert _methods(pts)["Q1"] == {"nodes"}


@pytest.mark.parametrize("method", METHODS)
def test_each_method_preserves_population_exactly(grid, communities, method):
    b = buildings_gdf([(rect(10 + 30 * i, 10 + 20 * j, 15, 12), "residential", str(1 + i % 4))
                       for i in range(20) for j in range(5)])
    pts = place_demand(communities, grid, method=method, buildings=b)
    expected = communities.set_index("community_id")["pop_60plus"]
    sums = _sums(pts).reindex(expected.index)
    np.testing.assert_allclose(sums.to_numpy(), expected.to_numpy(), rtol=1e-12)
    assert pts.crs.to_epsg() == 4326
    assert list(pts.columns) == ["community_id", "population", "method", "geometry"]
    if method == "centroid":
        assert len(pts) == len(communities) and set(pts["method"]) == {"centroid"}


def test_points_lie_in_their_community(grid, communities):
    b = buildings_gdf([(rect(480, 480, 40, 40), "house", "3"), (rect(50, 50, 20, 20), "house", "3")])
    pts = place_demand(communities, grid, buildings=b).to_crs(GRID_CRS)
    polys = communities.set_index("community_id").geometry
    for cid, geom in zip(pts["community_id"], pts.geometry, strict=True):
        assert polys[cid].covers(geom)
    # The building across the four-way corner is placed once, in one community.
    straddling = pts[pts.geometry.within(rect(480, 480, 40, 40))]
    assert len(straddling) <= 1


def test_buildings_in_another_crs_and_zero_population(grid, communities):
    b = buildings_gdf([(rect(10, 10, 10, 10), "house", "2")]).to_crs("EPSG:4326")
    com = communities.assign(pop_60plus=[0.0, 200, 300, 400, 50])
    pts = place_demand(com, grid, buildings=b)
    q1 = pts[pts["community_id"] == "Q1"]
    assert q1["method"].tolist() == ["buildings"] and q1["population"].tolist() == [0.0]


def test_input_is_not_mutated(grid, communities):
    before = communities.copy()
    place_demand(communities, grid, method="nodes")
    pd.testing.assert_frame_equal(communities, before)


def test_unknown_method(grid, communities):
    with pytest.raises(InputError, match=r"demand method 'households' is unknown; use one of buildings, nodes, "):
        place_demand(communities, grid, method="households")


def test_non_residential_list_holds_the_obvious_cases():
    assert {"school", "hospital", "church", "commercial", "industrial", "garage"} <= NON_RESIDENTIAL
    assert not {"yes", "house", "apartments", "residential", "detached", "dormitory"} & NON_RESIDENTIAL


# ------------------------------------------------------------------------------------------- properties


@PROPS
@given(seed=st.integers(0, 10_000), n=st.integers(0, 60), method=st.sampled_from(METHODS))
def test_population_preserved_for_random_buildings(grid, seed, n, method):
    rng = np.random.default_rng(seed)
    pops = rng.integers(0, 5000, 4).astype(float)
    com = quadrant_communities(grid, pop_60plus=pops)
    tags = rng.choice(["yes", "house", "school", "apartments", "shop"], n)
    levels = rng.choice(["1", "2", "7", "", "x", "-1"], n)
    b = buildings_gdf([(rect(*rng.uniform(-50, 1050, 2), *rng.uniform(3, 60, 2)), t, lv)
                       for t, lv in zip(tags, levels, strict=True)])
    pts = place_demand(com, grid, method=method, buildings=b)
    sums = _sums(pts).reindex(com["community_id"])
    np.testing.assert_allclose(sums.to_numpy(), pops, rtol=1e-12, atol=1e-9)
    assert (pts["population"] >= 0).all()


# ---------------------------------------------------------------------------------------- real extract


@pytest.mark.parametrize("method", METHODS)
def test_helsinki_each_method_preserves_population(helsinki_communities, helsinki_net, helsinki_buildings, method):
    pts = place_demand(helsinki_communities, helsinki_net, method=method, buildings=helsinki_buildings)
    expected = helsinki_communities.set_index("community_id")["pop_60plus"]
    np.testing.assert_allclose(_sums(pts).reindex(expected.index).to_numpy(), expected.to_numpy(), rtol=1e-12)
    if method != "centroid":
        assert set(pts["method"]) == {method}  # every default community has buildings and nodes
        assert (pts.groupby("community_id").size() > 5).all()


def test_helsinki_buildings_exclude_non_residential(helsinki_buildings):
    tags = helsinki_buildings["building"].astype(str).str.lower()
    assert (~tags.isin(NON_RESIDENTIAL)).any() and tags.isin(NON_RESIDENTIAL).any()


def test_children_of_a_community_without_elderly_are_placed_in_equal_shares(grid, communities):
    com = communities.assign(pop_60plus=[0.0, 200, 300, 400, 50], pop_0_3=[12.0, 4, 6, 8, 1])
    dem = place_demand(com, grid, method="nodes")
    kids = children_demand(dem, com)
    q1 = kids["community_id"] == "Q1"
    assert _sums(dem)["Q1"] == 0
    np.testing.assert_allclose(kids.loc[q1, "population"], 12.0 / q1.sum())
    np.testing.assert_allclose(_sums(kids).to_numpy(), [12, 4, 6, 8, 1])


# ----------------------------------------------------------------------------- beyond the network's area


def _one(geometry, crs=GRID_CRS, cid="FAR"):
    return gpd.GeoDataFrame({"community_id": [cid], "pop_60plus": [10.0]}, geometry=[geometry], crs=crs)


@pytest.mark.parametrize(("geometry", "crs"), [
    (rect(20_000, 0, 100, 100), GRID_CRS),  # 19 km east of the 1 km grid
    (shapely.box(-179, -80, 179, 80), "EPSG:4326"),  # spanning the globe
    (rect(500, 0, 20_000, 100), GRID_CRS),  # 20 km long, most of it beyond
])
def test_communities_mostly_beyond_the_network_are_refused(grid, communities, geometry, crs):
    far = _one(geometry, crs).to_crs(GRID_CRS) if crs == GRID_CRS else _one(geometry, crs)
    layer = pd.concat([communities.to_crs(far.crs), far], ignore_index=True)
    with pytest.raises(InputError, match=r"^communities: 1 lie mostly more than 5 km beyond the walking network's "
                                         r"area: FAR \([\d,]+ km away\); swapped longitude and latitude"):
        place_demand(layer, grid, method="nodes")


def test_a_community_partly_beyond_the_network_is_placed_in_the_part_it_covers(grid, communities, caplog):
    layer = pd.concat([communities, _one(rect(500, 1100, 9_000, 100))], ignore_index=True)  # 39% beyond
    caplog.set_level("WARNING", logger="carecircle.core.demand")
    points = place_demand(layer, grid, method="nodes")
    assert _sums(points)["FAR"] == pytest.approx(10.0)
    assert "1 communities extend more than 5 km beyond the walking network (FAR 39%)" in caplog.text
