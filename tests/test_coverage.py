"""Coverage numbers: equal to an independent Dijkstra reference, worked by hand on grids, and their properties."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely
from generate import (
    GRID_CRS,
    at,
    community_of,
    demand_gdf,
    facilities_gdf,
    grid_network,
    quadrant_communities,
    random_network,
    random_points,
)
from hypothesis import given, settings
from hypothesis import strategies as st
from reference import reference_distances, reference_minutes

from carecircle.core.coverage import CoverageFacts, measure_coverage, search_cap_min
from carecircle.errors import InputError, SnapError

PROPS = settings(derandomize=True, max_examples=12, deadline=None)
THRESHOLDS = (5.0, 10.0, 15.0)


def _projected_xy(gdf, crs):
    g = gdf.to_crs(crs).geometry
    return np.column_stack([g.x.to_numpy(), g.y.to_numpy()])


def _check_against_reference(net, facilities, demand, communities, *, walk_speed_mps=1.0, thresholds=THRESHOLDS):
    result = measure_coverage(net, facilities, demand, communities, thresholds_min=thresholds,
                              walk_speed_mps=walk_speed_mps)
    fxy, dxy = _projected_xy(facilities, net.crs), _projected_xy(demand, net.crs)
    dist = reference_distances(net, fxy, dxy)
    ref = dist.min(axis=0) / walk_speed_mps / 60.0
    got = result.demand["time_min"].to_numpy()
    assert np.array_equal(np.isinf(got), np.isinf(ref))
    fin = np.isfinite(ref)
    np.testing.assert_allclose(got[fin], ref[fin], rtol=0, atol=1e-6)

    # The facility named nearest is one at the shortest reference distance (several may tie).
    ids = facilities["facility_id"].astype(str).to_numpy()
    nearest = result.demand["nearest_facility"].to_numpy()
    for i in np.flatnonzero(fin):
        j = int(np.flatnonzero(ids == nearest[i])[0])
        assert dist[j, i] == pytest.approx(dist[:, i].min(), abs=1e-6)
    assert pd.isna(nearest[~fin]).all()

    # Covered persons per community, to the person (in fact to the float).
    pop = demand["population"].to_numpy(dtype=float)
    frame = pd.DataFrame({"c": demand["community_id"].astype(str).to_numpy(), "pop": pop})
    com = result.communities.set_index("community_id")
    for t in thresholds:
        lab = f"{t:g}"
        frame[lab] = pop * (ref <= t + 1e-9)
        assert result.summary["covered"][lab] == pytest.approx(frame[lab].sum(), abs=1e-3)
        if communities is None:
            continue
        expected = frame.groupby("c")[lab].sum().reindex(com.index.astype(str)).fillna(0.0)
        np.testing.assert_allclose(com[f"covered_{lab}"].to_numpy(), expected.to_numpy(), rtol=0, atol=1e-6)
        assert np.array_equal(np.round(com[f"covered_{lab}"].to_numpy()), np.round(expected.to_numpy()))
    return result, ref


# ------------------------------------------------------------------------------------ independent reference


def test_matches_reference_on_the_real_helsinki_extract(helsinki_net, helsinki_facilities, helsinki_demand,
                                                        helsinki_communities):
    result, ref = _check_against_reference(helsinki_net, helsinki_facilities, helsinki_demand,
                                           helsinki_communities)
    assert len(ref) == len(helsinki_demand) > 300
    # The default study is not trivial: every threshold separates covered from uncovered people.
    shares = result.summary["share"]
    assert 0 < shares["5"] < shares["10"] < shares["15"] < 1


def test_matches_reference_on_random_points_over_helsinki(helsinki_net, helsinki_facilities):
    """Points anywhere over the extract, some off the network, at the slow walking speed."""
    xy = random_points(7, helsinki_net, 1500, margin=400)
    demand = demand_gdf(xy, np.random.default_rng(7).integers(0, 30, len(xy)), crs=helsinki_net.crs)
    _check_against_reference(helsinki_net, helsinki_facilities, demand, None, walk_speed_mps=0.8)


@pytest.mark.parametrize("seed", range(6))
def test_matches_reference_on_generated_networks(seed):
    net = random_network(seed)
    rng = np.random.default_rng(100 + seed)
    fxy = random_points(200 + seed, net, int(rng.integers(1, 6)), margin=20)
    dxy = random_points(300 + seed, net, 500, margin=350)  # some beyond the 300 m snapping limit
    communities = quadrant_communities(net)
    demand = demand_gdf(dxy, rng.integers(0, 50, len(dxy)), _nearest_community(dxy, communities))
    _, ref = _check_against_reference(net, facilities_gdf(fxy), demand, communities,
                                      thresholds=(3.0, 7.5, 12.0))
    assert np.isinf(ref).any() and np.isfinite(ref).any()


def test_reference_matches_points_on_one_segment_and_at_nodes(grid):
    """Points exactly on a street, at crossings and on the facility's own segment (ties between segments)."""
    fxy = np.array([at(250, 300), at(700, 700)])
    dxy = np.array([at(x, y) for x, y in [(260, 300), (200, 300), (300, 300), (250, 300), (0, 0), (1000, 1000),
                                          (700, 650), (730, 700), (500, 500), (550, 512)]])
    _check_against_reference(grid, facilities_gdf(fxy), demand_gdf(dxy), None)


# ------------------------------------------------------------------------------------------ worked by hand


@pytest.mark.parametrize(("speed", "reach_m"), [(0.8, 720), (1.0, 900), (1.2, 1080)])
def test_fifteen_minutes_reach_exactly_speed_times_900_s(speed, reach_m):
    """A facility at a crossing; demand at the reach exactly (covered) and one block beyond (not)."""
    net = grid_network(15, 15)
    inside = at(500, reach_m - 500)
    beyond = at(500, reach_m - 500 + 100)
    result = measure_coverage(net, facilities_gdf([at(0, 0)]), demand_gdf([inside, beyond]),
                              walk_speed_mps=speed)
    np.testing.assert_allclose(result.demand["time_min"], [15.0, 15.0 + 100 / speed / 60], atol=1e-9)
    assert result.demand["covered_15"].tolist() == [True, False]
    assert result.summary["covered"]["15"] == 1.0


def test_boundary_survives_a_wgs84_round_trip(grid):
    """Users give lon/lat: a door exactly 900 m away is still covered after WGS-84 → UTM."""
    fac = facilities_gdf([at(0, 0)]).to_crs("EPSG:4326")
    dem = demand_gdf([at(400, 500), at(900, 0), at(0, 900)]).to_crs("EPSG:4326")
    result = measure_coverage(grid, fac, dem)
    np.testing.assert_allclose(result.demand["time_min"], 15.0, atol=1e-6)
    assert result.demand["covered_15"].all()


def test_off_network_walk_counts_and_far_points_are_not_covered(grid):
    dem = demand_gdf([at(430, 450), at(400, 1400)], [10, 5])  # 30 m off x=400; 400 m north of the grid
    result = measure_coverage(grid, facilities_gdf([at(0, 0)]), dem)
    assert result.demand["time_min"].iloc[0] * 60 == pytest.approx(400 + 450 + 30)
    assert result.demand["snap_m"].iloc[0] == pytest.approx(30)
    assert np.isinf(result.demand["time_min"].iloc[1])
    assert result.demand["on_network"].tolist() == [True, False]
    assert pd.isna(result.demand["nearest_facility"].iloc[1])
    s = result.summary
    assert s["off_network_points"] == 1 and s["off_network_population"] == 5
    assert s["unreachable_population"] == 5
    assert s["covered"] == {"5": 0.0, "10": 0.0, "15": 10.0}  # 880 m: 14.7 min
    assert s["uncovered"]["15"] == 5


def test_facility_on_a_detached_fragment_walks_to_the_main_network():
    """The fragment 150 m north of the grid is dropped; a facility drawn on it snaps to the grid's edge."""
    fragment = np.array([shapely.LineString([at(0, 1150), at(1000, 1150)])], dtype=object)
    net = grid_network(11, 11, extra_lines=fragment)
    assert net.n_nodes == 121 and net.node_xy[:, 1].max() == at(0, 1000)[1]
    result = measure_coverage(net, facilities_gdf([at(500, 1150)]), demand_gdf([at(500, 1000), at(500, 400)]))
    assert result.facilities["snap_m"].iloc[0] == pytest.approx(150)
    np.testing.assert_allclose(result.demand["time_min"] * 60, [150, 750])


def test_facilities_far_from_the_network_are_named_and_left_out(grid, caplog):
    """Issue 12: a facility on a detached piece of street (or with wrong coordinates) no longer stops the run."""
    fac = facilities_gdf([at(0, 0), at(500, 2000), at(-800, 500)], ids=["OK1", "NORTH", "WEST"])
    result = measure_coverage(grid, fac, demand_gdf([at(0, 0), at(500, 1000)]))
    assert result.summary["facilities_off_network"] == ["NORTH", "WEST"]
    assert result.facilities["on_network"].tolist() == [True, False, False]
    assert result.facilities["served_15"].tolist()[1:] == [0.0, 0.0]
    np.testing.assert_allclose(result.demand["time_min"] * 60, [0, 1500])  # both walk to OK1
    warning = next(r.getMessage() for r in caplog.records if "left out of the walk" in r.getMessage())
    assert "2 facilities lie farther than 300 m" in warning and "NORTH (1000 m), WEST (800 m)" in warning
    assert "GCJ" not in warning and "\n" not in warning


def test_a_long_walk_from_a_facility_to_the_street_is_named(grid, caplog):
    fac = facilities_gdf([at(0, 0), at(500, 1180)], ids=["OK1", "BEHIND"])
    result = measure_coverage(grid, fac, demand_gdf([at(0, 0)]))
    assert result.summary["facilities_off_network"] == []
    assert "1 facility is more than 100 m from the nearest street" in caplog.text and "BEHIND (180 m)" in caplog.text


def test_colocated_facilities_serve_the_first_listed(grid):
    """A day-care centre and a canteen in one building: the people nearest to it count for the first listed,
    whatever the order of the other rows (issue 12: ties broken by a documented rule)."""
    fac = facilities_gdf([at(300, 300), at(300, 300), at(900, 900)], ids=["DAY", "CANTEEN", "FAR"])
    dem = demand_gdf([at(200, 300), at(400, 300), at(300, 100)])
    result = measure_coverage(grid, fac, dem)
    assert result.demand["nearest_facility"].tolist() == ["DAY", "DAY", "DAY"]
    swapped = measure_coverage(grid, fac.iloc[[1, 0, 2]].reset_index(drop=True), dem)
    assert swapped.demand["nearest_facility"].tolist() == ["CANTEEN", "CANTEEN", "CANTEEN"]


def test_every_facility_far_away_is_a_snap_error_not_a_crash(grid):
    """A network of the wrong area (or GCJ-02 offsets everywhere): no facility snaps at all."""
    fac = facilities_gdf([at(500, 2000), at(500, 2500)], ids=["A", "B"])
    with pytest.raises(SnapError, match=r"^2 facilities .* A \(1000 m\), B \(1500 m\);"):
        measure_coverage(grid, fac, demand_gdf([at(0, 0)]))


def test_every_demand_point_off_the_network(grid):
    result = measure_coverage(grid, facilities_gdf([at(0, 0)]), demand_gdf([at(0, 2000), at(0, 3000)]))
    assert np.isinf(result.demand["time_min"]).all()
    assert result.summary["off_network_points"] == 2 and result.summary["covered"]["15"] == 0


def test_community_figures_by_hand(grid):
    """Facility at the centre; quadrant communities with demand at known distances."""
    communities = quadrant_communities(grid, pop_60plus=(10, 20, 30, 40))
    # Q1 (south-west): 10 persons 200 m away (covered at 5 min); Q2: 20 persons, 500 m (10 min);
    # Q3: 30 persons at exactly 900 m (15 min); Q4: 40 persons at 1000 m (never).
    pts = [at(400, 400), at(900, 400), at(0, 900), at(1000, 1000)]
    dem = demand_gdf(pts, [10, 20, 30, 40], ["Q1", "Q2", "Q3", "Q4"])
    result = measure_coverage(grid, facilities_gdf([at(500, 500)]), dem, communities, target_share=0.9)
    com = result.communities.set_index("community_id")
    np.testing.assert_allclose(result.demand["time_min"] * 60, [200, 500, 900, 1000])
    assert com["elderly"].tolist() == [10, 20, 30, 40]
    assert com["covered_5"].tolist() == [10, 0, 0, 0]
    assert com["covered_10"].tolist() == [10, 20, 0, 0]
    assert com["covered_15"].tolist() == [10, 20, 30, 0]
    assert com["share_15"].tolist() == [1, 1, 1, 0]
    assert com["uncovered_15"].tolist() == [0, 0, 0, 40]
    assert com["below_target"].tolist() == [False, False, False, True]
    assert result.summary["communities_below_target"] == ["Q4"]
    assert result.summary["share"]["15"] == pytest.approx(0.6)
    assert result.facilities["served_15"].tolist() == [60]
    assert result.communities.index.equals(communities.index)


def test_community_without_demand_has_no_share(grid):
    communities = quadrant_communities(grid)
    result = measure_coverage(grid, facilities_gdf([at(0, 0)]), demand_gdf([at(100, 0)], [5], ["Q1"]),
                              communities)
    com = result.communities.set_index("community_id")
    assert com.loc["Q1", "share_15"] == 1.0
    assert com.loc[["Q2", "Q3", "Q4"], "share_15"].isna().all()
    assert not com["below_target"].any()


def test_served_is_split_between_nearest_facilities(grid):
    fac = facilities_gdf([at(0, 0), at(1000, 0)], ids=["W", "E"])
    dem = demand_gdf([at(100, 0), at(200, 0), at(900, 0)], [1, 2, 4])
    result = measure_coverage(grid, fac, dem, thresholds_min=[5])
    assert result.demand["nearest_facility"].tolist() == ["W", "W", "E"]
    assert result.facilities["served_5"].tolist() == [3, 4]


def test_inputs_are_not_mutated_and_indexes_kept(grid):
    fac = facilities_gdf([at(0, 0)]).set_index(pd.Index([7]))
    dem = demand_gdf([at(0, 100), at(0, 300)]).set_index(pd.Index([30, 10]))
    before = (fac.copy(), dem.copy())
    result = measure_coverage(grid, fac, dem)
    pd.testing.assert_frame_equal(fac, before[0])
    pd.testing.assert_frame_equal(dem, before[1])
    assert result.demand.index.tolist() == [30, 10]
    assert result.facilities.index.tolist() == [7]
    np.testing.assert_allclose(result.demand["time_min"] * 60, [100, 300])


# -------------------------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"thresholds_min": []}, r"thresholds \[\] must be positive minutes"),
        ({"thresholds_min": [0, 15]}, r"thresholds \[0, 15\] must be positive"),
        ({"thresholds_min": [-5]}, r"must be positive minutes"),
        ({"thresholds_min": ["soon"]}, r"thresholds \['soon'\] must be numbers of minutes"),
        ({"thresholds_min": [float("nan")]}, r"must be positive minutes"),
        ({"target_share": 1.5}, r"target share 1\.5 must be between 0 and 1"),
        ({"walk_speed_mps": 0}, r"walking speed 0 m/s must be a positive number"),
        ({"walk_speed_mps": float("nan")}, r"walking speed nan m/s"),
    ],
)
def test_bad_arguments(grid, kwargs, match):
    with pytest.raises(InputError, match=match) as err:
        measure_coverage(grid, facilities_gdf([at(0, 0)]), demand_gdf([at(0, 100)]), **kwargs)
    assert "\n" not in str(err.value)


def test_no_facilities(grid):
    with pytest.raises(InputError, match="no facilities given"):
        measure_coverage(grid, facilities_gdf(np.empty((0, 2))), demand_gdf([at(0, 100)]))


# ------------------------------------------------------------------------------------------- properties


def _random_case(seed: int, n_fac: int, n_dem: int = 150):
    net = random_network(seed, nx=8, ny=7)
    rng = np.random.default_rng(seed)
    fxy = random_points(seed + 1, net, n_fac, margin=10)
    dxy = random_points(seed + 2, net, n_dem, margin=200)
    communities = quadrant_communities(net, rng.integers(0, 100, 4))
    demand = demand_gdf(dxy, rng.integers(0, 20, n_dem), _nearest_community(dxy, communities))
    return net, fxy, demand, communities


def _nearest_community(xy: np.ndarray, communities) -> np.ndarray:
    """The community holding each point, or the nearest one: every demand point must name a community."""
    ids = community_of(xy, communities)
    stray = ids == "none"
    dist = shapely.distance(np.asarray(communities.geometry.array)[None, :], shapely.points(xy[stray])[:, None])
    ids[stray] = communities["community_id"].to_numpy()[dist.argmin(axis=1)]
    return ids


@PROPS
@given(seed=st.integers(0, 10_000), n_fac=st.integers(1, 5),
       minutes=st.lists(st.floats(0.5, 30), min_size=1, max_size=4))
def test_shares_lie_between_zero_and_one(seed, n_fac, minutes):
    net, fxy, demand, communities = _random_case(seed, n_fac)
    result = measure_coverage(net, facilities_gdf(fxy), demand, communities, thresholds_min=minutes)
    for lab, share in result.summary["share"].items():
        assert share is None or 0 <= share <= 1
        shares = result.communities[f"share_{lab}"].dropna()
        assert ((shares >= 0) & (shares <= 1 + 1e-12)).all()
        assert (result.communities[f"uncovered_{lab}"] >= -1e-9).all()


@PROPS
@given(seed=st.integers(0, 10_000), n_fac=st.integers(1, 4), t1=st.floats(0.5, 20), dt=st.floats(0, 10))
def test_coverage_never_falls_when_minutes_grow(seed, n_fac, t1, dt):
    net, fxy, demand, communities = _random_case(seed, n_fac)
    fac = facilities_gdf(fxy)
    short = measure_coverage(net, fac, demand, communities, thresholds_min=[t1])
    long = measure_coverage(net, fac, demand, communities, thresholds_min=[t1 + dt])
    a, b = f"{t1:g}", f"{t1 + dt:g}"
    assert long.summary["covered"][b] >= short.summary["covered"][a]
    assert (long.communities[f"covered_{b}"].to_numpy() >= short.communities[f"covered_{a}"].to_numpy()).all()
    assert (long.demand[f"covered_{b}"].to_numpy() >= short.demand[f"covered_{a}"].to_numpy()).all()


@PROPS
@given(seed=st.integers(0, 10_000), n_fac=st.integers(1, 4), n_more=st.integers(1, 3))
def test_coverage_never_falls_when_facilities_are_added(seed, n_fac, n_more):
    net, fxy, demand, communities = _random_case(seed, n_fac + n_more)
    fewer = measure_coverage(net, facilities_gdf(fxy[:n_fac]), demand, communities)
    more = measure_coverage(net, facilities_gdf(fxy), demand, communities)
    assert (more.demand["time_min"].to_numpy() <= fewer.demand["time_min"].to_numpy() + 1e-9).all()
    for lab in ("5", "10", "15"):
        assert more.summary["covered"][lab] >= fewer.summary["covered"][lab]
        assert (more.communities[f"covered_{lab}"].to_numpy() >= fewer.communities[f"covered_{lab}"].to_numpy()
                - 1e-9).all()


@PROPS
@given(seed=st.integers(0, 10_000), n_fac=st.integers(1, 6), perm_seed=st.integers(0, 1000))
def test_results_do_not_depend_on_row_order(seed, n_fac, perm_seed):
    net, fxy, demand, communities = _random_case(seed, n_fac)
    fac = facilities_gdf(fxy)
    rng = np.random.default_rng(perm_seed)
    base = measure_coverage(net, fac, demand, communities)
    shuffled = measure_coverage(net, fac.iloc[rng.permutation(len(fac))],
                                demand.iloc[rng.permutation(len(demand))],
                                communities.iloc[rng.permutation(len(communities))])
    d = shuffled.demand.loc[base.demand.index]
    np.testing.assert_allclose(d["time_min"], base.demand["time_min"], rtol=0, atol=1e-9)
    for lab in ("5", "10", "15"):
        assert d[f"covered_{lab}"].tolist() == base.demand[f"covered_{lab}"].tolist()
        c = shuffled.communities.loc[base.communities.index]
        np.testing.assert_allclose(c[f"covered_{lab}"], base.communities[f"covered_{lab}"], atol=1e-9)
        assert shuffled.summary["covered"][lab] == pytest.approx(base.summary["covered"][lab], abs=1e-6)
        served = shuffled.facilities.set_index("facility_id")[f"served_{lab}"].sum()
        assert served == pytest.approx(base.summary["covered"][lab], abs=1e-6)


def test_projected_inputs_in_another_crs_are_reprojected(grid):
    """Facilities given in a different projected CRS (web mercator) land where they should."""
    fac = facilities_gdf([at(0, 0)]).to_crs("EPSG:3857")
    result = measure_coverage(grid, fac, demand_gdf([at(300, 0)]))
    assert result.demand["time_min"].iloc[0] * 60 == pytest.approx(300, abs=1e-6)
    assert GRID_CRS == grid.crs


def test_no_elderly_anywhere_gives_no_share_not_a_crash(grid, caplog):
    caplog.set_level("INFO", logger="carecircle.core.coverage")
    result = measure_coverage(grid, facilities_gdf([at(0, 0)]), demand_gdf([at(0, 100)], [0]))
    assert result.summary["share"] == {"5": None, "10": None, "15": None}
    assert "coverage: n/a of 0 elderly within 15 min" in caplog.text


@pytest.mark.parametrize(("ids", "match"), [
    (["Q1", "Q9", "nope"], r"^demand points: 2 of 3 have a community_id that matches no community \('Q9', 'nope'; "
                           r"rows 2, 3\); use the communities' ids \('Q1', 'Q2', 'Q3', …\)"),
    (["all", "all", "all"], r"^demand points: no community_id column, so none of the 3 points"),
])
def test_demand_community_ids_must_name_a_community(grid, ids, match):
    dem = demand_gdf([at(0, 100), at(0, 200), at(0, 300)], [1, 2, 3], ids)
    with pytest.raises(InputError, match=match):
        measure_coverage(grid, facilities_gdf([at(0, 0)]), dem, quadrant_communities(grid))


def test_demand_points_far_beyond_the_network_are_refused(grid):
    """Not a walk but a coordinate error: 5 km beyond the network's area (400 m off is still a walk, uncovered).
    Distances in the message are from the centre of the network."""
    dem = demand_gdf([at(0, 100), at(0, 1400), at(0, 7000), at(9000, 0)])
    with pytest.raises(InputError, match=r"^demand points: 2 lie more than 5 km beyond the walking network's area "
                                         r"\(rows 3 \(7 km away\), 4 \(9 km away\)\); swapped longitude and latitude"):
        measure_coverage(grid, facilities_gdf([at(0, 0)]), dem)


def test_points_beyond_the_search_cap_read_as_not_reached():
    # A 7 km street: thresholds up to 15 min search 60 min (3,600 m at 1 m/s); a point farther from every
    # facility reads like an unreachable one (inf, no nearest facility), and coverage is unchanged.
    net = grid_network(71, 2)
    fac_xy = np.array([at(0, 0)])
    dxy = np.array([at(500, -10), at(880, -10), at(3580, -10), at(3595, -10), at(6950, 50)])
    fac, dem = facilities_gdf(fac_xy, type="day_care"), demand_gdf(dxy, population=[1, 2, 4, 8, 16])
    ref = reference_minutes(net, fac_xy, dxy)
    assert search_cap_min(THRESHOLDS) == 60.0
    assert (ref[:3] <= 60).all() and (ref[3:] > 60).all() and np.isfinite(ref).all()
    res = measure_coverage(net, fac, dem, thresholds_min=THRESHOLDS)
    minutes = res.demand["time_min"].to_numpy()
    np.testing.assert_allclose(minutes[:3], ref[:3], rtol=0, atol=1e-9)
    assert np.isinf(minutes[3:]).all() and res.demand["nearest_facility"].iloc[3:].isna().all()
    for t in THRESHOLDS:
        assert res.demand[f"covered_{t:g}"].tolist() == (ref <= t + 1e-9).tolist()
    assert res.summary["unreachable_population"] == 24.0
    # A larger threshold searches farther (30 min: 120 min); the per-type facts search as far as asked.
    wide = measure_coverage(net, fac, dem, thresholds_min=(30,))
    np.testing.assert_allclose(wide.demand["time_min"].to_numpy(), ref, rtol=0, atol=1e-9)
    facts = CoverageFacts(net, fac, dem)
    assert facts.covered(None, 15)["covered"].sum() == 3.0
    np.testing.assert_allclose(facts.minutes(None), ref, rtol=0, atol=1e-9)  # unbounded when not asked
    assert facts.covered(None, 100)["covered"].sum() == 15.0  # 116.7 min for the last point
    assert facts.covered(None, 120)["covered"].sum() == 31.0


@pytest.mark.parametrize("minutes", [5.0, 7.5, 15.0])
def test_per_type_facts_walk_only_to_the_threshold_and_count_a_point_exactly_on_it(minutes):
    """CoverageFacts bounds its walk at the threshold asked for: a demand point exactly on it is covered, one a
    centimetre beyond is not, as in measure_coverage and the reference; asking a larger threshold afterwards walks
    farther."""
    net = grid_network(71, 2)
    fac_xy = np.array([at(0, 0)])
    reach = minutes * 60.0  # metres at 1 m/s
    dxy = np.array([at(reach, 0), at(reach + 0.01, 0), at(reach / 2, 0), at(reach + 600, 0)])
    fac, dem = facilities_gdf(fac_xy, type="day_care"), demand_gdf(dxy, population=[1, 2, 4, 8])
    ref = reference_minutes(net, fac_xy, dxy, walk_speed_mps=1.0)
    assert ref[0] == pytest.approx(minutes, abs=1e-12) and ref[1] > minutes
    facts = CoverageFacts(net, fac, dem, walk_speed_mps=1.0)
    assert facts.covered(None, minutes)["covered"].sum() == 5.0
    res = measure_coverage(net, fac, dem, thresholds_min=[minutes], walk_speed_mps=1.0)
    assert res.summary["covered"][f"{minutes:g}"] == 5.0
    assert facts.covered(None, minutes + 10)["covered"].sum() == 15.0
