"""Capacity-aware accessibility (2SFCA family), Gini and Lorenz: against PySAL's ``access`` package on independent
walking distances, against hand-worked examples and against plain numpy formulas."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from generate import at, demand_gdf, facilities_gdf, grid_network, random_network, random_points
from reference import reference_distances

from carecircle.core.access import (
    band_weight_fn,
    decay_weights,
    measure_accessibility,
    mismatch_classes,
    two_step_scores,
)
from carecircle.core.equity import gini, lorenz
from carecircle.errors import InputError

access = pytest.importorskip("access")


def dai_gaussian(d0: float):
    """Dai (2010)'s Gaussian weight written out here, for PySAL's ``weight_fn`` (scalar in, scalar out)."""
    edge = math.exp(-0.5)
    return lambda t: (math.exp(-0.5 * (t / d0) ** 2) - edge) / (1 - edge) if t <= d0 else 0.0


def pysal_scores(minutes: np.ndarray, supply: np.ndarray, population: np.ndarray, method: str, catchment: float,
                 thresholds=(5.0, 10.0, 15.0), band_weights=(1.0, 0.68, 0.22)) -> np.ndarray:
    """Supply per person from ``access.Access`` on a dense facility × demand minutes matrix (inf = unreachable)."""
    f, d = np.nonzero(np.isfinite(minutes))
    cost = pd.DataFrame({"origin": d, "dest": f, "cost": minutes[f, d]})
    demand_df = pd.DataFrame({"elderly": population}, index=pd.RangeIndex(len(population), name="geoid"))
    supply_df = pd.DataFrame({"supply": supply}, index=pd.RangeIndex(len(supply), name="geoid"))
    model = access.Access(demand_df=demand_df, demand_value="elderly", supply_df=supply_df, supply_value="supply",
                          cost_df=cost, cost_origin="origin", cost_dest="dest", cost_name="cost")
    if method == "2sfca":
        out = model.two_stage_fca(max_cost=catchment)
    elif method == "g2sfca":
        out = model.two_stage_fca(max_cost=catchment, weight_fn=dai_gaussian(catchment))
    else:
        steps = {t: w for t, w in zip(thresholds, band_weights, strict=True)}
        out = model.enhanced_two_stage_fca(max_cost=catchment, weight_fn=access.weights.step_fn(steps))
    return out.iloc[:, 0].reindex(range(len(population))).fillna(0.0).to_numpy()


# ------------------------------------------------------------------------ against PySAL access


@pytest.mark.parametrize("method", ["2sfca", "e2sfca", "g2sfca"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_scores_equal_pysal_access_on_independent_walking_times(method, seed):
    net = random_network(seed)
    rng = np.random.default_rng(seed)
    fxy, dxy = random_points(seed, net, 6, margin=20), random_points(seed + 100, net, 40, margin=20)
    supply = rng.integers(5, 200, size=len(fxy)).astype(float)
    pop = rng.integers(1, 300, size=len(dxy)).astype(float)
    fac = facilities_gdf(fxy, type="day_care", beds=supply)
    dem = demand_gdf(dxy, pop)
    ours = measure_accessibility(net, fac, dem, method=method, supply_col="beds", catchment_min=15)
    minutes = reference_distances(net, fxy, dxy) / 60.0  # 1.0 m/s
    expected = pysal_scores(minutes, supply, pop, method, 15.0)
    assert expected.sum() > 0
    np.testing.assert_allclose(ours.demand["access"].to_numpy() / 1000, expected, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("method", ["2sfca", "e2sfca", "g2sfca"])
def test_scores_equal_pysal_access_on_the_demo(method, helsinki_net, helsinki_facilities, helsinki_demand):
    from carecircle.core.access import facility_demand_minutes
    from carecircle.io.facility_types import ELDER_CARE

    fac = helsinki_facilities[helsinki_facilities["type"].isin(ELDER_CARE)]
    ours = measure_accessibility(helsinki_net, fac, helsinki_demand, method=method, catchment_min=15)
    minutes = facility_demand_minutes(helsinki_net, fac, helsinki_demand, limit_min=15).toarray()
    minutes[minutes == 0] = np.inf  # toarray writes absent pairs as 0; no demand point sits on a facility here
    expected = pysal_scores(minutes, fac["capacity"].to_numpy(float), helsinki_demand["population"].to_numpy(float),
                            method, 15.0)
    np.testing.assert_allclose(ours.demand["access"].to_numpy() / 1000, expected, rtol=1e-9, atol=1e-12)


# ------------------------------------------------------------------------ worked by hand


def test_hand_worked_three_facilities_four_communities():
    # A straight street 0–1,000 m; facilities at 0, 500 and 1,000 m, communities' points at 100, 400, 700, 950 m.
    # Classic 2SFCA with a 5-minute (300 m at 1 m/s) catchment:
    #   A (0 m, 30 places) reaches P1 (100 m away): R_A = 30 / 100 = 0.3
    #   B (500 m, 60 places) reaches P2 (100 m), P3 (200 m): R_B = 60 / (200 + 400) = 0.1
    #   C (1,000 m, 10 places) reaches P3 (300 m, at the edge: counted), P4 (50 m): R_C = 10 / (400 + 100) = 0.02
    #   scores: P1 0.3, P2 0.1, P3 0.1 + 0.02 = 0.12, P4 0.02 → per 1,000: 300, 100, 120, 20.
    import shapely

    from carecircle.core.network import network_from_lines

    net = network_from_lines(shapely.linestrings([[at(0, 0), at(1000, 0)]]), crs="EPSG:32650")
    fac = facilities_gdf([at(0, 0), at(500, 0), at(1000, 0)], ["A", "B", "C"], type="day_care",
                         capacity=[30.0, 60.0, 10.0])
    dem = demand_gdf([at(100, 0), at(400, 0), at(700, 0), at(950, 0)], [100, 200, 400, 100], ["P1", "P2", "P3", "P4"])
    result = measure_accessibility(net, fac, dem, method="2sfca", catchment_min=5, thresholds_min=(5,), max_snap_m=50)
    np.testing.assert_allclose(result.demand["access"], [300, 100, 120, 20])
    np.testing.assert_allclose(result.facilities["supply_ratio"], [300, 100, 20])
    np.testing.assert_allclose(result.facilities["demand_in_catchment"], [100, 600, 500])
    # Everyone reached, so the population-weighted mean is the total supply per 1,000: 100 / 800 × 1,000.
    assert result.summary["mean"] == pytest.approx(125.0)


def test_catchment_follows_the_facility_type():
    # A home-care station serves 10 minutes, a care home 15: a point 12 minutes from both is served by the home only.
    net = grid_network(21, 3)
    fac = facilities_gdf([at(0, 100), at(0, 100)], ["S", "H"], type=["home_care_station", "care_home"],
                         capacity=[20.0, 100.0])
    dem = demand_gdf([at(720, 100)], [50])
    result = measure_accessibility(net, fac, dem, method="2sfca")
    assert result.facilities["catchment_min"].tolist() == [10.0, 15.0]
    assert result.demand["access"].iloc[0] == pytest.approx(100 / 50 * 1000)
    assert result.summary["facilities_unreached"] == ["S"]
    # One catchment for all overrides the types.
    both = measure_accessibility(net, fac, dem, method="2sfca", catchment_min=15)
    assert both.demand["access"].iloc[0] == pytest.approx(120 / 50 * 1000)


@pytest.mark.parametrize("method", ["2sfca", "e2sfca", "g2sfca"])
def test_everyones_scores_add_up_to_the_supply_they_reach(method):
    net = random_network(7)
    rng = np.random.default_rng(7)
    fac = facilities_gdf(random_points(1, net, 8, margin=0), type="care_home", beds=rng.uniform(10, 100, 8))
    pop = rng.uniform(1, 50, 60)
    dem = demand_gdf(random_points(2, net, 60, margin=0), pop)
    result = measure_accessibility(net, fac, dem, method=method, supply_col="beds")
    reached = np.isfinite(result.facilities["supply_ratio"].to_numpy())
    assert (pop * result.demand["access"]).sum() / 1000 == pytest.approx(result.facilities["supply"][reached].sum())


def test_weight_functions_by_hand():
    e2 = band_weight_fn("e2sfca", 15, (5, 10, 15))
    assert e2(np.array([0, 4.9, 5, 5.01, 10, 12, 15, 15.5])).tolist() == [1, 1, 1, 0.68, 0.68, 0.22, 0.22, 0]
    custom = band_weight_fn("e2sfca", 10, (5, 10, 15), (1.0, 0.5, 0.25))
    assert custom(np.array([3, 8, 12])).tolist() == [1.0, 0.5, 0.0]  # the 10-minute catchment cuts the third band
    g = band_weight_fn("g2sfca", 10)
    assert g(np.array([0.0]))[0] == pytest.approx(1.0)
    assert g(np.array([5.0]))[0] == pytest.approx((math.exp(-0.125) - math.exp(-0.5)) / (1 - math.exp(-0.5)))
    assert g(np.array([10.0, 11.0])).tolist() == [0.0, 0.0]


def test_two_steps_on_a_sparse_matrix_keep_unreached_facilities_apart():
    w = sp.csr_array(np.array([[1.0, 0.0], [0.0, 0.0]]))
    ratio, score = two_step_scores(w, np.array([10.0, 5.0]), np.array([4.0, 6.0]))
    assert ratio[0] == 2.5 and np.isnan(ratio[1])
    assert score.tolist() == [2.5, 0.0]


def test_decay_weights_use_each_facilitys_catchment():
    minutes = sp.csr_array(np.array([[3.0, 12.0], [3.0, 12.0]]))
    w = decay_weights(minutes, np.array([10.0, 15.0]), "2sfca")
    assert w.toarray().tolist() == [[1.0, 0.0], [1.0, 1.0]]


# ------------------------------------------------------------------------ Gini and Lorenz


def test_gini_by_hand():
    assert gini([1, 1, 1, 1], [1, 2, 3, 4]) == pytest.approx(0.0)
    assert gini([0, 0, 0, 10], [1, 1, 1, 1]) == pytest.approx(0.75)
    # Two groups: 30 people with 0, 10 with 4: the rich quarter holds everything → 0.75.
    assert gini([0, 4], [30, 10]) == pytest.approx(0.75)
    assert gini([0, 0], [3, 4]) == 0.0
    p, share = lorenz([0, 4], [30, 10])
    assert p.tolist() == [0.0, 0.75, 1.0] and share.tolist() == [0.0, 0.0, 1.0]


@pytest.mark.parametrize("seed", range(5))
def test_gini_equals_the_mean_difference_formula(seed):
    rng = np.random.default_rng(seed)
    x = rng.gamma(2.0, 10.0, 200) * (rng.random(200) > 0.2)
    w = rng.uniform(0, 50, 200)
    pairs = (w[:, None] * w[None, :] * np.abs(x[:, None] - x[None, :])).sum()
    plain = pairs / (2 * w.sum() ** 2 * np.average(x, weights=w))
    assert gini(x, w) == pytest.approx(plain, rel=1e-12)


def test_lorenz_ties_do_not_depend_on_order():
    a = lorenz([1, 1, 2], [1, 2, 3])
    b = lorenz([2, 1, 1], [3, 2, 1])
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])


def test_mismatch_classes():
    got = mismatch_classes(np.array([100.0, 100.0, 10.0, 10.0, 0.0]), np.array([1.0, 50.0, 1.0, 50.0, np.nan]), 20)
    assert got.tolist() == ["high_need_low_access", "high_need_high_access", "low_need_low_access",
                            "low_need_high_access", "no_elderly"]


# ------------------------------------------------------------------------ bad input: one line each


@pytest.fixture(scope="module")
def small():
    net = grid_network(11, 3)
    dem = demand_gdf([at(300, 100), at(900, 100)], [20, 30])
    return net, dem


def test_missing_supply_column_names_the_numeric_ones(small):
    net, dem = small
    fac = facilities_gdf([at(0, 100)], type="day_care", beds=[10.0], capacity=[30.0])
    with pytest.raises(InputError, match=r"column 'places' is not in the facilities .*beds, capacity.*--supply-col"):
        measure_accessibility(net, fac, dem, supply_col="places")


def test_negative_supply_names_the_facility(small):
    net, dem = small
    fac = facilities_gdf([at(0, 100), at(500, 100)], ["A", "B"], type="day_care", beds=[10.0, -3.0])
    with pytest.raises(InputError, match=r"negative values: B \(-3\)"):
        measure_accessibility(net, fac, dem, supply_col="beds")


def test_all_zero_supply(small):
    net, dem = small
    fac = facilities_gdf([at(0, 100)], type="day_care", beds=[0.0])
    with pytest.raises(InputError, match="zero for all 1 facilities"):
        measure_accessibility(net, fac, dem, supply_col="beds")


def test_text_in_supply_column(small):
    net, dem = small
    fac = facilities_gdf([at(0, 100), at(500, 100)], ["A", "B"], type="day_care", beds=["10", "many"])
    with pytest.raises(InputError, match="B='many'"):
        measure_accessibility(net, fac, dem, supply_col="beds")


def test_empty_supply_cells_count_as_none(small, caplog):
    net, dem = small
    fac = facilities_gdf([at(0, 100), at(800, 100)], ["A", "B"], type="day_care", beds=[np.nan, 40.0])
    result = measure_accessibility(net, fac, dem, supply_col="beds")
    assert result.facilities["supply"].tolist() == [0.0, 40.0]
    assert "1 facility has no beds value" in caplog.text


def test_catchment_shorter_than_the_snap_distance(small):
    net, dem = small
    fac = facilities_gdf([at(0, 100)], type="day_care", capacity=[10.0])
    with pytest.raises(InputError, match=r"catchment of 2 min at 1 m/s is 120 m, shorter than the snapping distance"):
        measure_accessibility(net, fac, dem, catchment_min=2)


def test_no_elderly(small):
    net, _ = small
    fac = facilities_gdf([at(0, 100)], type="day_care", capacity=[10.0])
    with pytest.raises(InputError, match="holds no elderly"):
        measure_accessibility(net, fac, demand_gdf([at(300, 100)], [0]), catchment_min=15)


def test_band_weights_must_match_the_thresholds(small):
    net, dem = small
    fac = facilities_gdf([at(0, 100)], type="day_care", capacity=[10.0])
    with pytest.raises(InputError, match="2 band weights for 3 thresholds"):
        measure_accessibility(net, fac, dem, band_weights=(1.0, 0.5))
    with pytest.raises(InputError, match="one band weight per threshold"):
        measure_accessibility(net, fac, dem, thresholds_min=(5, 10, 15, 20))
