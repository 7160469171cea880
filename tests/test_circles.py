"""Facility types, coverage per type, subdistrict roll-ups and the childcare circle (一老一小)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from generate import GRID_CRS, at, demand_gdf, facilities_gdf, grid_network, quadrant_communities
from reference import dense_distances, reference_within

from carecircle.core.coverage import CoverageFacts, coverage_by_type, measure_coverage, rollup
from carecircle.core.travel import snap_points, source_demand_distances
from carecircle.errors import InputError
from carecircle.io.facility_types import ELDER_CARE, TYPES, normalise_types
from carecircle.pipeline import children_demand, join_subdistricts, run_study


@pytest.mark.parametrize(("given", "code"), [
    ("日间照料中心", "day_care"), ("日照中心", "day_care"), ("Day-care centre", "day_care"), ("day_care", "day_care"),
    ("敬老院", "care_home"), ("养老院", "care_home"), ("nursing home", "care_home"),
    ("助餐点", "canteen"), ("老年食堂", "canteen"), ("幸福院", "rural_station"), ("托育", "childcare"),
    ("养老服务综合体", "comprehensive_centre"), ("社区卫生服务中心", "health_centre"), ("", "unspecified"),
    (None, "unspecified"), ("  Home_Care_Station ", "home_care_station"),
])
def test_types_may_be_written_in_chinese_or_english(given, code):
    assert normalise_types([given]).tolist() == [code]


def test_unknown_type_names_the_value_row_and_accepted_values():
    with pytest.raises(InputError) as err:
        normalise_types(["day_care", "养老小卖部", "day_care"], file="f.csv")
    msg = str(err.value)
    assert "'养老小卖部'" in msg and "rows 2" in msg and "日间照料中心" in msg and "\n" not in msg


def test_every_type_has_both_names_and_a_role():
    for t in TYPES.values():
        assert t.zh and t.en and t.minutes > 0
        assert t.role in ("elder_care", "childcare", "health", "education", "guidance")
    assert "childcare" not in ELDER_CARE and "health_centre" not in ELDER_CARE


# ---------------------------------------------------------------------------------------- per type (grid)

def _typed_case():
    """A 1 km grid (100 m blocks, 1 m/s): a day-care centre at the south-west corner, a canteen at the
    north-east corner, a childcare centre in the middle and a health centre next to the day-care centre."""
    net = grid_network(11, 11)
    fac = facilities_gdf([at(0, 0), at(1000, 1000), at(500, 500), at(0, 100)], ids=["D", "C", "K", "H"],
                         type=["day_care", "canteen", "childcare", "health_centre"])
    com = quadrant_communities(net, pop_60plus=(10, 20, 30, 40))
    com["pop_0_3"] = [1.0, 2.0, 3.0, 4.0]
    com["subdistrict"] = pd.array(["A", "A", "B", pd.NA], dtype="string")
    com["district"] = pd.array([pd.NA] * 4, dtype="string")
    # one demand point per quadrant; walking distances: to D 200 / 1100 / 1100 / 1800 m,
    # to C 1800 / 900 / 900 / 200 m, to K 800 / 900 / 900 / 800 m, to H 100 / 1000 / 1000 / 1700 m
    dem = demand_gdf([at(100, 100), at(1000, 100), at(100, 1000), at(900, 900)], [10, 20, 30, 40],
                     ["Q1", "Q2", "Q3", "Q4"])
    return net, fac, com, dem


def test_walking_distances_of_the_typed_case_by_hand():
    # The distances the per-type tests below rely on (rows D, C, K, H; columns Q1..Q4), from the bounded
    # per-source search and from the independent reference.
    net, fac, com, dem = _typed_case()
    fxy, dxy = (shapely.get_coordinates(g.geometry.values) for g in (fac, dem))
    by_hand = np.array([[200, 1100, 1100, 1800], [1800, 900, 900, 200], [800, 900, 900, 800],
                        [100, 1000, 1000, 1700]], dtype=float)
    np.testing.assert_allclose(reference_within(net, fxy, dxy, limit_m=np.inf), by_hand)
    for limit in (900, 1000, 1800):  # pairs at exactly the limit are kept
        dist = source_demand_distances(net, snap_points(net, fxy), snap_points(net, dxy), limit_m=limit)
        np.testing.assert_allclose(dense_distances(dist), np.where(by_hand <= limit, by_hand, np.inf))
    # 15 minutes at 1 m/s reach exactly 900 m: the canteen covers Q2 and Q3 at the limit, and Q4
    facts = CoverageFacts(net, fac, dem, com)
    assert facts.covered(["canteen"], 15)["covered"].sum() == pytest.approx(20 + 30 + 40)


def test_covered_by_type_equals_a_coverage_run_on_that_type_alone():
    net, fac, com, dem = _typed_case()
    facts = CoverageFacts(net, fac, dem, com, children=children_demand(dem, com))
    for types in (["day_care"], ["canteen"], ["day_care", "canteen"], None):
        subset = fac[fac["type"].isin(types or ELDER_CARE)]
        alone = measure_coverage(net, subset, dem, com, thresholds_min=[10, 20]).communities.set_index("community_id")
        for minutes in (10, 20):
            got = facts.covered(types, minutes)
            np.testing.assert_allclose(got["covered"], alone[f"covered_{minutes}"])
            np.testing.assert_allclose(got["population"], alone["elderly"])


def test_coverage_by_type_by_hand():
    net, fac, com, dem = _typed_case()
    facts = CoverageFacts(net, fac, dem, com, children=children_demand(dem, com))
    table = coverage_by_type(facts, {"day_care": 5, "any": 5}).set_index("type")
    assert table.loc["day_care", "minutes"] == 5 and table.loc["day_care", "covered"] == 10   # Q1 at 200 m
    assert table.loc["canteen", "minutes"] == 10 and table.loc["canteen", "covered"] == 40    # default 10 min: Q4
    assert table.loc["any", "covered"] == 50 and table.loc["any", "share"] == pytest.approx(0.5)
    assert table.loc["any", "facilities"] == 2                                                 # D and C
    assert table.loc["childcare", "population"] == pytest.approx(10)                           # children 0-3
    assert table.loc["childcare", "covered"] == pytest.approx(10)                              # all within 900 m
    assert "health_centre" not in table.index


def test_absent_type_covers_nobody_and_children_need_a_column():
    net, fac, com, dem = _typed_case()
    facts = CoverageFacts(net, fac, dem, com)
    assert facts.covered(["care_home"], 15)["covered"].sum() == 0
    with pytest.raises(InputError, match="pop_0_3"):
        facts.covered(["childcare"], 15, population="children")
    with pytest.raises(InputError, match="养老小卖部"):
        facts.covered(["养老小卖部"], 15)


def test_children_are_placed_like_the_elderly():
    _net, _fac, com, dem = _typed_case()
    dem = pd.concat([dem, demand_gdf([at(300, 300)], [30], ["Q1"])], ignore_index=True)  # Q1: 10 + 30 elderly
    kids = children_demand(dem, com)
    assert kids["population"].tolist() == pytest.approx([0.25, 2, 3, 4, 0.75])


# ------------------------------------------------------------------------------------------------ roll-ups

def test_rollup_sums_communities_and_groups_the_unassigned():
    net, fac, com, dem = _typed_case()
    cov = measure_coverage(net, fac[fac["type"] == "day_care"], dem, com, thresholds_min=[5, 20], target_share=0.5)
    table = rollup(cov.communities, "subdistrict", (5, 20), target_share=0.5).set_index("subdistrict")
    assert table.index.tolist() == ["(unassigned)", "A", "B"]
    assert table["n_communities"].tolist() == [1, 2, 1]
    assert table.loc["A", "elderly"] == 30 and table.loc["A", "covered_5"] == 10
    assert table.loc["A", "share_20"] == pytest.approx(1.0)                                 # 1100 m < 1200 m
    assert table.loc["(unassigned)", "covered_20"] == 0 and table.loc["(unassigned)", "below_target"]
    assert table["elderly"].sum() == cov.communities["elderly"].sum()


def test_subdistricts_by_spatial_join():
    net, _fac, com, _dem = _typed_case()
    (x0, y0), (x1, y1) = net.node_xy.min(axis=0) - 100, net.node_xy.max(axis=0) + 100
    west = gpd.GeoDataFrame({"name": ["西街道"], "district": ["某区"]},
                            geometry=[shapely.box(x0, y0, (x0 + x1) / 2, y1)], crs=GRID_CRS)
    out = join_subdistricts(com.to_crs("EPSG:4326"), west)
    assert out["subdistrict"].tolist()[:3] == ["西街道", "A", "西街道"]   # Q2 (east) keeps its own value
    assert out["district"].tolist()[0] == "某区" and pd.isna(out["district"].iloc[1])
    with pytest.raises(InputError, match="name column"):
        join_subdistricts(com, west.rename(columns={"name": "label"}))


# --------------------------------------------------------------------------------------- the real demo

@pytest.fixture(scope="module")
def demo():
    return run_study(with_isochrones=False)


def test_demo_elder_circle_ignores_childcare_and_health_centres(demo):
    assert set(demo.coverage.facilities["type"]) <= set(ELDER_CARE)
    assert {"childcare", "health_centre"} <= set(demo.facilities["type"])
    by_type = demo.by_type.set_index("type")
    for lab in ("15",):
        assert by_type.loc["any", "covered"] == pytest.approx(demo.coverage.summary["covered"][lab], abs=1e-3)


def test_demo_rollups_add_up(demo):
    sub = demo.rollups["subdistrict"]
    assert set(sub["subdistrict"]) == {"示例北街道", "示例南街道"}
    for lab in ("5", "10", "15"):
        assert sub[f"covered_{lab}"].sum() == pytest.approx(demo.coverage.summary["covered"][lab], abs=1e-3)
    assert demo.rollups["district"]["n_communities"].tolist() == [7]


def test_demo_childcare_circle(demo):
    child = demo.childcare
    assert child is not None
    total = demo.coverage.communities["pop_0_3"].sum()
    assert child.summary["elderly_population"] == pytest.approx(total)      # population counted: children
    assert "children" in child.communities and child.facilities["type"].tolist() == ["childcare"]
    assert 0 < child.summary["share"]["15"] <= 1


# ------------------------------------------------------------------------------------ GCJ-02 offset warning

def test_facilities_shifted_like_gcj02_are_warned_about(caplog):
    from carecircle.io.coords import from_wgs84
    from carecircle.pipeline import _warn_if_gcj_offset

    net = grid_network(5, 5, block=1000.0)  # sparse streets in eastern China (UTM 50N)
    nodes = gpd.GeoSeries(gpd.points_from_xy(*net.node_xy[[0, 6, 12, 18, 24]].T), crs=GRID_CRS).to_crs("EPSG:4326")
    lon, lat = nodes.x.to_numpy(), nodes.y.to_numpy()
    true = facilities_gdf(np.column_stack([lon, lat]), crs="EPSG:4326")
    with caplog.at_level("WARNING"):
        _warn_if_gcj_offset(true, net)
    assert not caplog.records
    glon, glat = from_wgs84(lon, lat, "gcj02")
    with caplog.at_level("WARNING"):
        _warn_if_gcj_offset(facilities_gdf(np.column_stack([glon, glat]), crs="EPSG:4326"), net)
    assert len(caplog.records) == 1 and "--crs gcj02" in caplog.records[0].getMessage()


@pytest.mark.parametrize("system", ["gcj02", "bd09"])
def test_facility_csv_in_chinese_map_coordinates_is_read_as_wgs84(tmp_path, system):
    from carecircle.io.coords import from_wgs84
    from carecircle.io.readers import read_facilities

    lon, lat = np.array([116.3975, 121.4737]), np.array([39.9087, 31.2304])  # Beijing, Shanghai
    slon, slat = from_wgs84(lon, lat, system)
    path = tmp_path / "f.csv"
    pd.DataFrame({"facility_id": ["A", "B"], "type": ["日间照料中心", "助餐点"], "lng": slon, "lat": slat}).to_csv(
        path, index=False)
    got = read_facilities(path, crs=system)
    np.testing.assert_allclose(got.geometry.x, lon, atol=1e-7)   # ~1 cm
    np.testing.assert_allclose(got.geometry.y, lat, atol=1e-7)
    assert got["type"].tolist() == ["day_care", "canteen"]


def test_gcj02_outside_china_is_refused_by_the_cli(capsys):
    from carecircle.cli import main

    assert main(["run", "--crs", "gcj02", "--no-cache", "--no-isochrones", "--quiet"]) == 3   # Helsinki
    err = capsys.readouterr().err.strip()
    assert "China" in err and "\n" not in err
