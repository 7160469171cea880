"""GCJ-02/BD-09 ↔ WGS-84: published reference pairs, round trips across China, refusals, the offset heuristic."""

from __future__ import annotations

import numpy as np
import pybind11_coordtransform as ct
import pyproj
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from carecircle.errors import InputError
from carecircle.io.coords import (
    CHINA_BBOX,
    COORD_SYSTEMS,
    from_wgs84,
    gcj_offset_suspected,
    in_china,
    normalise_crs,
    to_wgs84,
)

GEOD = pyproj.Geod(ellps="WGS84")


def metres(lon1, lat1, lon2, lat2) -> np.ndarray:
    return np.asarray(GEOD.inv(lon1, lat1, lon2, lat2)[2])


# --- published reference pairs -----------------------------------------------------------------------------------

# eviltransform's test fixtures (github.com/googollee/eviltransform, go/transform_test.go, repeated in its other
# language ports): WGS-84 → GCJ-02 to the last digit. As (lon, lat) here; the source lists (lat, lon).
EVILTRANSFORM = [
    ((121.5272106, 31.1774276), (121.531541859215, 31.17530398364597)),  # Shanghai
    ((113.912316, 22.543847), (113.9171764808363, 22.540796131694766)),  # Shenzhen
    ((116.377817, 39.911954), (116.38404722455657, 39.91334545536069)),  # Beijing
]

# Near Tiananmen, Beijing: (116.404, 39.915) through each conversion, as printed in the README of
# github.com/wandergis/coordtransform (the JavaScript original of the algorithm the library implements); the
# README of PyPI's geocraft prints the same values and adds the two WGS-84 ↔ BD-09 ones.
TIANANMEN = (116.404, 39.915)
README_WGS84_TO_GCJ02 = (116.41024449916938, 39.91640428150164)
README_GCJ02_TO_BD09 = (116.41036949371029, 39.92133699351021)
README_WGS84_TO_BD09 = (116.41662724378733, 39.922699552216216)
# The READMEs' inverses are one-step approximations, off by centimetres (BD-09) to metres (GCJ-02):
README_BD09_TO_GCJ02 = (116.39762729119315, 39.90865673957631)
README_GCJ02_TO_WGS84 = (116.39775550083061, 39.91359571849836)
README_BD09_TO_WGS84 = (116.3913836995125, 39.907253214522164)


@pytest.mark.parametrize(("wgs", "gcj"), EVILTRANSFORM)
def test_eviltransform_pairs(wgs, gcj):
    lon, lat = from_wgs84(*wgs, "gcj02")
    assert (float(lon), float(lat)) == pytest.approx(gcj, abs=1e-9)
    lon, lat = to_wgs84(*gcj, "gcj02")
    assert metres(lon, lat, *wgs) < 0.001  # eviltransform's own exact-inverse test allows 0.5 m


@pytest.mark.parametrize(("system", "expected"), [("gcj02", README_WGS84_TO_GCJ02), ("bd09", README_WGS84_TO_BD09)])
def test_readme_forward_pairs(system, expected):
    lon, lat = from_wgs84(*TIANANMEN, system)
    assert (float(lon), float(lat)) == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize(("system", "approx_inverse", "within_m"), [
    ("gcj02", README_GCJ02_TO_WGS84, 3.0),
    ("bd09", README_BD09_TO_WGS84, 3.0),
])
def test_readme_inverse_pairs_are_refined(system, approx_inverse, within_m):
    lon, lat = to_wgs84(*TIANANMEN, system)
    assert metres(lon, lat, *approx_inverse) < within_m  # near the published one-step value ...
    back = from_wgs84(lon, lat, system)  # ... and, unlike it, an exact inverse
    assert metres(*back, *TIANANMEN) < 1e-4
    assert metres(*from_wgs84(*approx_inverse, system), *TIANANMEN) > 0.01


def test_bd09_matches_the_library_and_readme():
    # BD-09 is vectorised in carecircle; the library has it point by point: they must agree.
    rng = np.random.default_rng(4)
    lon, lat = rng.uniform(100, 130, 20), rng.uniform(20, 50, 20)
    bd = from_wgs84(lon, lat, "bd09")
    gcj = from_wgs84(lon, lat, "gcj02")
    expected = np.array([ct.gcj02tobd09(x, y) for x, y in zip(*gcj, strict=True)]).reshape(-1, 2)
    np.testing.assert_allclose(np.column_stack(bd), expected, rtol=0, atol=1e-12)
    # README pair GCJ-02 → BD-09, through the WGS-84 point whose GCJ-02 position is Tiananmen
    assert np.allclose(from_wgs84(*to_wgs84(*TIANANMEN, "gcj02"), "bd09"), README_GCJ02_TO_BD09, rtol=0, atol=1e-9)
    # README pair BD-09 → GCJ-02 (one-step, a few centimetres from the exact inverse)
    gcj = from_wgs84(*to_wgs84(*TIANANMEN, "bd09"), "gcj02")
    assert metres(*gcj, *README_BD09_TO_GCJ02) < 0.1


# --- round trips ---------------------------------------------------------------------------------------------------

CHINA_GRID = np.meshgrid(np.linspace(74.0, 135.0, 62), np.linspace(4.0, 53.5, 50))


@pytest.mark.parametrize("system", ["gcj02", "bd09"])
def test_round_trip_across_china(system):
    lon, lat = CHINA_GRID
    back = to_wgs84(*from_wgs84(lon, lat, system), system)
    assert metres(*back, lon, lat).max() < 0.01  # quality bar: < 1 m
    again = from_wgs84(*to_wgs84(lon, lat, system), system)
    assert metres(*again, lon, lat).max() < 0.01


def test_library_one_step_inverse_is_what_needed_refining():
    lon, lat = CHINA_GRID
    gcj = np.column_stack(from_wgs84(lon.ravel(), lat.ravel(), "gcj02"))
    one_step = ct.gcj02_to_wgs84_Nx2(gcj, check_out_of_china=False)
    assert metres(one_step[:, 0], one_step[:, 1], lon.ravel(), lat.ravel()).max() > 1.0


@settings(max_examples=200, deadline=None)
@given(lon=st.floats(73.7, 135.0), lat=st.floats(3.9, 53.5), system=st.sampled_from(["gcj02", "bd09"]))
def test_round_trip_property(lon, lat, system):
    back = to_wgs84(*from_wgs84(lon, lat, system), system)
    assert metres(*back, lon, lat) < 0.01


def test_offset_is_hundreds_of_metres():
    # sanity on what the heuristic relies on: GCJ-02 moves points 100-700 m inside China
    lon, lat = CHINA_GRID
    d = metres(*from_wgs84(lon, lat, "gcj02"), lon, lat)
    assert d.min() > 50 and d.max() < 1000


# --- shapes --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("system", COORD_SYSTEMS)
def test_shapes(system):
    lon, lat = CHINA_GRID[0][:3, :4], CHINA_GRID[1][:3, :4]
    x, y = to_wgs84(lon, lat, system)
    assert x.shape == y.shape == (3, 4) and x.dtype == np.float64
    x, y = from_wgs84(lon, lat, system)
    assert x.shape == (3, 4)
    x, y = to_wgs84(116.4, 39.9, system)  # scalars → 0-d arrays
    assert x.shape == () and np.isfinite(float(x))
    x, y = to_wgs84([116.4, 121.5, 113.3], 30.0, system)  # broadcasting
    assert x.shape == y.shape == (3,)
    x, y = to_wgs84(np.array([]), np.array([]), system)
    assert x.shape == (0,)


@pytest.mark.parametrize("system", COORD_SYSTEMS)
def test_nan_stays_nan_and_is_not_refused(system):
    x, y = to_wgs84([116.4, np.nan, 121.5], [39.9, np.nan, np.nan], system)
    assert np.isfinite(x[0]) and np.isnan(x[1]) and np.isnan(y[1]) and np.isnan(y[2])


def test_elementwise_not_batchwise():
    # each point converts as it would alone (the library's own out-of-China switch looks only at the first point)
    lon, lat = np.array([116.404, 121.5272106]), np.array([39.915, 31.1774276])
    together = from_wgs84(lon, lat, "gcj02")
    for i in range(2):
        alone = from_wgs84(lon[i], lat[i], "gcj02")
        assert (together[0][i], together[1][i]) == (float(alone[0]), float(alone[1]))


def test_arguments_not_mutated_and_wgs84_is_a_copy():
    lon, lat = np.array([116.4, 121.5]), np.array([39.9, 31.2])
    x, _ = to_wgs84(lon, lat, "wgs84")
    x[0] = 0
    to_wgs84(lon, lat, "gcj02")
    assert lon.tolist() == [116.4, 121.5] and lat.tolist() == [39.9, 31.2]


# --- outside China -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("lon", "lat", "match"), [
    ([116.4, 2.35], [39.9, 48.85], r"points: 1 of 2 points lie outside China \(rows 2 \(2\.35, 48\.85\); lon, lat\)"),
    ([39.9, 31.2], [116.4, 121.5], r"2 of 2 points .*rows 1 \(39\.9, 116\.4\), 2 \(31\.2, 121\.5\);"),  # swapped
    ([0.0], [0.0], r"1 of 1 points"),
    ([500_000.0], [4_400_000.0], r"1 of 1 points"),  # projected metres
    (np.full(8, -74.0), np.full(8, 40.7), r"8 of 8 points .*rows 1 .*, 5 \(-74, 40\.7\) and 3 more;"),
])
@pytest.mark.parametrize("system", ["gcj02", "bd09", "GCJ-02"])
def test_refused_outside_china(lon, lat, match, system):
    with pytest.raises(InputError, match=match) as info:
        to_wgs84(lon, lat, system)
    message = str(info.value)
    assert "only defined for mainland China" in message and "--crs wgs84" in message and "\n" not in message
    with pytest.raises(InputError, match="outside China"):
        from_wgs84(lon, lat, system)


def test_refusal_names_source_and_rows():
    with pytest.raises(InputError, match=r"^facilities\.csv: 1 of 3 points .*rows 12 \(2\.35, 48\.85\).*GCJ-02"):
        to_wgs84([116.4, 121.5, 2.35], [39.9, 31.2, 48.85], "gcj02", rows=[10, 11, 12], source="facilities.csv")


def test_wgs84_is_accepted_anywhere():
    x, y = to_wgs84([2.35, -74.0], [48.85, 40.7], "wgs84")
    assert x.tolist() == [2.35, -74.0] and y.tolist() == [48.85, 40.7]


def test_china_box_is_the_library_box():
    x0, y0, x1, y1 = CHINA_BBOX
    assert in_china([116.4, 87.6, 126.6, 110.3], [39.9, 43.8, 45.8, 20.0]).all()  # Beijing, Urumqi, Harbin, Haikou
    assert not in_china([x0, x1, 100.0, 100.0, np.nan], [30.0, 30.0, y0, y1, 30.0]).any()  # bounds exclusive
    # the library itself does not shift points on or beyond the box
    assert ct.wgs84togcj02(x1 + 0.01, 30.0).tolist() == [x1 + 0.01, 30.0]


# --- normalise_crs -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "expected"), [
    ("wgs84", "wgs84"), ("WGS-84", "wgs84"), ("WGS 84", "wgs84"), ("EPSG:4326", "wgs84"), ("epsg:4326", "wgs84"),
    ("OGC:CRS84", "wgs84"), ("gcj02", "gcj02"), ("GCJ-02", "gcj02"), ("gcj-02", "gcj02"), (" GCJ_02 ", "gcj02"),
    ("amap", "gcj02"), ("高德", "gcj02"), ("Tencent", "gcj02"), ("bd09", "bd09"), ("BD-09", "bd09"),
    ("baidu", "bd09"), ("百度", "bd09"), ("EPSG:4490", "EPSG:4490"), ("EPSG:32650", "EPSG:32650"),
    (4490, "EPSG:4490"), (pyproj.CRS.from_epsg(32651), "EPSG:32651"),
])
def test_normalise_crs(value, expected):
    assert normalise_crs(value) == expected


@pytest.mark.parametrize("value", ["gcj-2", "bd-9", "wgs", "mars-coords", "bd09mc", "", "EPSG:99999", None, 3.5])
def test_normalise_crs_unknown(value):
    with pytest.raises(InputError) as info:
        normalise_crs(value)
    assert str(info.value) == f"crs {value!r} is not one of wgs84, gcj02, bd09 or an EPSG code such as EPSG:4326"


def test_to_wgs84_rejects_other_crs():
    with pytest.raises(InputError, match=r"'EPSG:32650' cannot be converted here; use one of wgs84, gcj02, bd09"):
        to_wgs84([500_000.0], [4_400_000.0], "EPSG:32650")
    with pytest.raises(InputError, match="not one of"):
        from_wgs84([116.4], [39.9], "gcj-2")


# --- the GCJ-02 offset heuristic -----------------------------------------------------------------------------------

UTM51 = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:32651", always_xy=True)  # Shenyang is in zone 51N
BLOCK_M = 400.0
X0, Y0 = UTM51.transform(123.40, 41.78)


def street_grid_distance(lon, lat):
    """Metres to the nearest street of a grid with 400 m blocks around Shenyang (lines every 400 m in UTM 51N)."""
    x, y = UTM51.transform(np.asarray(lon), np.asarray(lat))
    dx = np.abs((x - X0 + BLOCK_M / 2) % BLOCK_M - BLOCK_M / 2)
    dy = np.abs((y - Y0 + BLOCK_M / 2) % BLOCK_M - BLOCK_M / 2)
    return np.minimum(dx, dy)


def points_on_streets(n=60, seed=7):
    """WGS-84 points on the grid's streets (random street, random position along it), within 4 km."""
    rng = np.random.default_rng(seed)
    street = rng.integers(0, 10, n) * BLOCK_M
    along = rng.uniform(0, 4000, n)
    vertical = rng.random(n) < 0.5
    x = X0 + np.where(vertical, street, along)
    y = Y0 + np.where(vertical, along, street)
    return UTM51.transform(x, y, direction="INVERSE")


def test_synthetic_grid_is_exact():
    lon, lat = points_on_streets()
    assert street_grid_distance(lon, lat).max() < 0.01


def test_gcj_shifted_points_are_suspected():
    lon, lat = points_on_streets()
    check = gcj_offset_suspected(*from_wgs84(lon, lat, "gcj02"), street_grid_distance)
    assert check.suspected
    assert check.n_points == 60
    assert check.median_corrected_m < 0.01 < 30 < check.median_as_given_m
    assert "--crs gcj02" in check.message("facilities.csv") and check.message().startswith("points: the 60 points")


def test_true_wgs84_points_are_not_suspected():
    lon, lat = points_on_streets()
    check = gcj_offset_suspected(lon, lat, street_grid_distance)
    assert not check.suspected and check.message() == ""
    assert check.median_as_given_m < 0.01 < 30 < check.median_corrected_m


def test_off_network_points_are_not_suspected():
    # points 40-160 m off the streets, in WGS-84: the correction makes nothing better
    lon, lat = points_on_streets()
    x, y = UTM51.transform(lon, lat)
    rng = np.random.default_rng(1)
    lon, lat = UTM51.transform(x + rng.uniform(40, 160, len(x)), y + rng.uniform(40, 160, len(y)), direction="INVERSE")
    assert not gcj_offset_suspected(lon, lat, street_grid_distance).suspected


def test_offset_thresholds_are_parameters():
    lon, lat = points_on_streets()
    glon, glat = from_wgs84(lon, lat, "gcj02")
    assert not gcj_offset_suspected(glon, glat, street_grid_distance, min_drop_m=1e6).suspected
    assert not gcj_offset_suspected(glon[:2], glat[:2], street_grid_distance).suspected  # fewer than min_points
    assert gcj_offset_suspected(glon[:2], glat[:2], street_grid_distance, min_points=2).suspected


def test_offset_check_outside_china_and_nan():
    calls = []

    def distance(lon, lat):
        calls.append(len(lon))
        return np.zeros(len(lon))

    check = gcj_offset_suspected([2.35, np.nan], [48.85, 39.9], distance)
    assert (check.suspected, check.n_points, calls) == (False, 0, [])
    assert np.isnan(check.median_as_given_m) and np.isnan(check.median_corrected_m)
    lon, lat = points_on_streets(5)
    check = gcj_offset_suspected(np.r_[lon, 2.35, np.nan], np.r_[lat, 48.85, 41.8], distance)
    assert check.n_points == 5 and calls == [5, 5]


def test_offset_check_rejects_a_bad_distance_function():
    lon, lat = points_on_streets(5)
    with pytest.raises(ValueError, match="returned 1 distances for 5 points"):
        gcj_offset_suspected(lon, lat, lambda lon, lat: np.zeros(1))
