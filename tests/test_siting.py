"""Site suggestion on the real demo network: checked by recomputing coverage from scratch."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pandas as pd
import pytest
import shapely
from generate import at, demand_gdf, facilities_gdf, grid_network, random_network, random_points
from reference import dense_distances, reference_minutes, reference_within

from carecircle.cli import main
from carecircle.core.coverage import measure_coverage
from carecircle.core.travel import snap_points, source_demand_distances
from carecircle.errors import InputError
from carecircle.plan.siting import candidate_grid, suggest_sites


@pytest.fixture(scope="module")
def study(helsinki_net, helsinki_facilities, helsinki_communities, helsinki_demand):
    return helsinki_net, helsinki_facilities, helsinki_demand, helsinki_communities


@pytest.fixture(scope="module")
def few_candidates(study):
    net, _, _, com = study
    return candidate_grid(net, spacing_m=400, within=com)


def _covered_with(study, extra, minutes):
    net, fac, dem, com = study
    new = extra[["candidate_id", "geometry"]].rename(columns={"candidate_id": "facility_id"})
    both = pd.concat([fac, new.to_crs(fac.crs)], ignore_index=True)
    d = measure_coverage(net, both, dem, com, thresholds_min=(minutes,)).demand
    return float(d["population"][d[f"covered_{minutes:g}"]].sum())  # unrounded, unlike the summary


def test_candidate_grid_stands_on_network_nodes_inside_the_area(study):
    net, _, _, com = study
    cands = candidate_grid(net, spacing_m=200, within=com)
    xy = shapely.get_coordinates(cands.to_crs(net.crs).geometry.values)
    nodes = {tuple(p) for p in np.round(net.node_xy, 6)}
    assert all(tuple(p) in nodes for p in np.round(xy, 6))
    assert cands["candidate_id"].is_unique
    area = shapely.union_all(com.geometry.values)
    assert shapely.contains(area, cands.geometry.values).all()
    assert len(candidate_grid(net, spacing_m=100, within=com)) > len(cands)


def test_sparse_candidate_distances_equal_the_reference_on_the_demo(study, few_candidates):
    # Real streets, candidates on network nodes, demand points off the network; one source per Dijkstra chunk.
    net, _, dem, _ = study
    cxy = shapely.get_coordinates(few_candidates.to_crs(net.crs).geometry.values)
    dxy = shapely.get_coordinates(dem.to_crs(net.crs).geometry.values)
    dist = source_demand_distances(net, snap_points(net, cxy), snap_points(net, dxy), limit_m=600,
                                   chunk_cells=net.n_nodes)
    expected = reference_within(net, cxy, dxy, limit_m=600)
    assert np.isfinite(expected).sum() > len(cxy)  # most candidates reach someone
    np.testing.assert_allclose(dense_distances(dist), expected, atol=1e-6)


@pytest.mark.parametrize("seed", [3, 17, 2024])
@pytest.mark.parametrize("chunk_cells", [1, 4e7])  # one source per chunk, or all at once
def test_sparse_distances_equal_the_reference_off_the_network_at_both_ends(seed, chunk_cells):
    # Sources and demand points scattered off a random street network; with a 40 m snapping limit some of
    # either are left unsnapped (empty rows, empty columns), and the bound cuts the far pairs.
    net = random_network(seed)
    sxy, dxy = random_points(seed + 1, net, 25), random_points(seed + 2, net, 300)
    s_snap, d_snap = snap_points(net, sxy, max_snap_m=40), snap_points(net, dxy, max_snap_m=40)
    dist = source_demand_distances(net, s_snap, d_snap, limit_m=500, chunk_cells=chunk_cells)
    expected = reference_within(net, sxy, dxy, limit_m=500, max_snap_m=40)
    assert dist.shape == (25, 300)
    assert 0 < (~s_snap.ok).sum() and 0 < (~d_snap.ok).sum()  # the case is exercised
    assert 0 < np.isfinite(expected).sum() < expected.size
    np.testing.assert_allclose(dense_distances(dist), expected, atol=1e-6)
    assert dist[np.flatnonzero(~s_snap.ok)].nnz == 0


@pytest.mark.parametrize("seed", [5, 29])
def test_sparse_distances_equal_the_reference_when_the_walks_are_cut_into_tiles(seed):
    # A 4 km × 3 km network and a 250 m bound: sources are grouped by 500 m tiles and each group walks only its
    # tile and the eight around it; every pair within the bound must still be found, none added.
    net = random_network(seed, nx=40, ny=30)
    sxy, dxy = random_points(seed + 1, net, 60), random_points(seed + 2, net, 800)
    s_snap, d_snap = snap_points(net, sxy, max_snap_m=80), snap_points(net, dxy, max_snap_m=80)
    dist = source_demand_distances(net, s_snap, d_snap, limit_m=250, chunk_cells=2_000)
    expected = reference_within(net, sxy, dxy, limit_m=250, max_snap_m=80)
    assert np.isfinite(expected).sum() > 60  # the case is exercised
    np.testing.assert_allclose(dense_distances(dist), expected, atol=1e-6)


def test_sparse_distances_by_hand_on_a_grid():
    # 100 m blocks. A stands 30 m south of the bottom street at x=250; B 20 m east of the street x=500 at
    # y=150; P 20 m west of that same street at y=130; Q on the north-east corner; R 50 m off the east edge.
    net = grid_network(11, 11)
    sxy = np.array([at(250, -30), at(520, 150)])
    dxy = np.array([at(480, 130), at(1000, 1000), at(1050, 500)])
    # A→P: 30 + 250 east + 130 north + 20 = 430; A→Q: 30 + 750 + 1000 = 1780; B→P directly along their
    # shared block: 20 + 20 + 20 = 60; B→Q: 20 + 850 north + 500 east = 1370; R: 50 + 0 + A's/B's way there.
    by_hand = np.array([[430, 1780, 30 + 750 + 500 + 50], [60, 1370, 20 + 500 + 350 + 50]], dtype=float)
    np.testing.assert_allclose(reference_within(net, sxy, dxy, limit_m=np.inf), by_hand)
    for limit in (429.5, 430, 1000, 1370, 1800):
        dist = source_demand_distances(net, snap_points(net, sxy), snap_points(net, dxy), limit_m=limit)
        np.testing.assert_allclose(dense_distances(dist), np.where(by_hand <= limit, by_hand, np.inf), err_msg=limit)
    # Snapping limits: A (30 m off) and R (50 m off) drop out at 25 m; the other pairs are unchanged.
    dist = source_demand_distances(net, snap_points(net, sxy, max_snap_m=25), snap_points(net, dxy, max_snap_m=25),
                                   limit_m=2000)
    np.testing.assert_allclose(dense_distances(dist), [[np.inf] * 3, [60, 1370, np.inf]])


def test_mclp_equals_brute_force_by_recomputed_coverage(study, few_candidates):
    minutes = 10
    sug = suggest_sites(*study, candidates=few_candidates, method="mclp", new_sites=2, minutes=minutes)
    best = max(_covered_with(study, few_candidates.iloc[list(pair)], minutes)
               for pair in itertools.combinations(range(len(few_candidates)), 2))
    assert sug.after.summary["covered"]["10"] == pytest.approx(best, abs=1e-3)
    assert sug.solution.gap <= 1e-4


def test_reported_coverage_equals_recomputation_from_scratch(study):
    for method in ("mclp", "p-median"):
        sug = suggest_sites(*study, method=method, new_sites=3, minutes=10)
        recomputed = _covered_with(study, sug.sites, 10)
        total = sug.before.summary["elderly_population"]
        assert sug.sites["share_after"].iloc[-1] * total == pytest.approx(recomputed, abs=1e-6)
        assert sug.after.summary["covered"]["10"] == pytest.approx(recomputed, abs=1e-3)
        assert (np.diff(sug.curve["share"]) >= -1e-12).all()


def test_p_median_uses_true_times_beyond_the_coverage_search_cap():
    # 100 m grid, 7 km a side, the one facility in the south-west corner. P (10 persons) lies 3,650 m east of it
    # along the bottom street (60.8 min, beyond the 60 min cap of a 15 min coverage search), Q (15 persons)
    # 3,540 m north (59 min). Site A stands 50 m from P, B 60 m from Q, C far from both. True savings: A
    # 10 × (60.83 - 0.83) = 600, B 15 × (59 - 1) = 870 person-minutes, so B; a p-median that read P as
    # unreachable (charged twice the largest known time, 118 min) would take A.
    net = grid_network(71, 71)
    fac_xy, dxy = np.array([at(0, 0)]), np.array([at(3650, 0), at(0, 3540)])
    cxy = np.array([at(3700, 0), at(0, 3600), at(5000, 5000)])
    fac = facilities_gdf(fac_xy, type="day_care")
    dem = demand_gdf(dxy, population=[10, 15])
    cands = facilities_gdf(cxy, ids=["A", "B", "C"]).rename(columns={"facility_id": "candidate_id"})
    sug = suggest_sites(net, fac, dem, candidates=cands, method="p-median", new_sites=1, minutes=15)
    assert np.isinf(sug.before.demand["time_min"].iloc[0])  # beyond the cap for coverage
    # Brute force on the reference's true times: total person-minutes with each single site added.
    w, current = np.array([10.0, 15.0]), reference_minutes(net, fac_xy, dxy)
    new = reference_within(net, cxy, dxy, limit_m=900) / 60.0
    totals = [float(w @ np.minimum(current, new[i])) for i in range(len(cxy))]
    assert sug.sites["candidate_id"].tolist() == [["A", "B", "C"][int(np.argmin(totals))]] == ["B"]
    assert sug.solution.objective == pytest.approx(min(totals), abs=1e-6)


def test_set_cover_reaches_the_target_with_the_fewest_sites(study, few_candidates):
    sug = suggest_sites(*study, candidates=few_candidates, method="set-cover", target_share=0.95, minutes=10)
    assert sug.after.summary["share"]["10"] >= 0.95
    k = len(sug.sites)
    total = sug.before.summary["elderly_population"]
    for smaller in itertools.combinations(range(len(few_candidates)), k - 1):
        assert _covered_with(study, few_candidates.iloc[list(smaller)], 10) / total < 0.95


def test_same_sites_whatever_the_candidate_order(study, few_candidates):
    a = suggest_sites(*study, candidates=few_candidates, new_sites=3, minutes=10)
    b = suggest_sites(*study, candidates=few_candidates.iloc[::-1], new_sites=3, minutes=10)
    assert sorted(a.sites["candidate_id"]) == sorted(b.sites["candidate_id"])
    assert a.after.summary["covered"] == b.after.summary["covered"]


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"method": "mclp", "new_sites": 0}, "at least 1"),
    ({"method": "mclp", "new_sites": 10_000}, "candidates"),
    ({"method": "set-cover", "target_share": 1.0, "minutes": 3}, "unreachable"),
    ({"method": "best"}, "unknown"),
])
def test_nonsense_requests_are_input_errors(study, kwargs, match):
    with pytest.raises(InputError, match=match) as err:
        suggest_sites(*study, **kwargs)
    assert "\n" not in str(err.value)


def test_cli_suggest_writes_sites_curve_and_map(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["suggest", "--new-sites", "2", "--minutes", "10", "--output", str(out), "--no-cache"]) == 0
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["report.html", "map.html", "map.png", "summary.json", "sites.csv", "curve.csv", "communities.csv",
         ".carecircle-outputs.json"])
    report = (out / "report.html").read_text(encoding="utf-8")
    assert "S22" in report and "<svg" in report  # the chosen sites and the coverage curve
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["new_sites"] == 2 and summary["share_after"] > summary["share_before"]
    assert summary["solver"]["gap"] is not None
    sites = pd.read_csv(out / "sites.csv", encoding="utf-8-sig")
    assert list(sites["rank"]) == [1, 2]
    html = (out / "map.html").read_text(encoding="utf-8")
    assert "Suggested new sites" in html and "Coverage curve" in html and "New sites" in html
    assert "→" in capsys.readouterr().out


def test_cli_suggest_unreachable_target_is_one_line(tmp_path, capsys):
    code = main(["suggest", "--method", "set-cover", "--target", "1.0", "--minutes", "3",
                 "--output", str(tmp_path / "out"), "--no-cache"])
    err = capsys.readouterr().err.strip()
    assert code == 3 and len(err.splitlines()) == 1 and "unreachable" in err
    assert not (tmp_path / "out").exists()


def test_excluded_zones_keep_sites_out(study, few_candidates):
    import geopandas as gpd

    first = suggest_sites(*study, candidates=few_candidates, new_sites=2, minutes=10)
    zone = gpd.GeoDataFrame(geometry=first.sites.to_crs(study[0].crs).buffer(20).values,
                            crs=study[0].crs)
    second = suggest_sites(*study, candidates=few_candidates, new_sites=2, minutes=10, exclude=zone)
    assert not set(first.sites["candidate_id"]) & set(second.sites["candidate_id"])


def test_cli_exclude_file_must_hold_polygons(tmp_path, capsys):
    pd.DataFrame({"lon": [24.94], "lat": [60.17]}).to_csv(tmp_path / "pts.csv", index=False)
    import geopandas as gpd

    gpd.GeoDataFrame(geometry=gpd.points_from_xy([24.94], [60.17]), crs="EPSG:4326").to_file(
        tmp_path / "pts.geojson")
    code = main(["suggest", "--exclude", str(tmp_path / "pts.geojson"), "--output", str(tmp_path / "o"),
                 "--no-cache"])
    assert code == 3 and "needs polygons" in capsys.readouterr().err


def test_budget_bounds_the_sites_even_when_more_are_asked_than_candidates(study, few_candidates):
    cands = few_candidates.assign(cost=1.0)
    sug = suggest_sites(*study, candidates=cands, new_sites=10_000, minutes=10, cost_col="cost", budget=2)
    assert len(sug.sites) <= 2
