"""Reading facilities, communities and demand points: good files in every format, and a table of bad ones.

Every error must be one line that names the file and the offending rows or values.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely

from carecircle.errors import InputError
from carecircle.io.facility_types import normalise_types
from carecircle.io.readers import read_communities, read_demand, read_facilities

SQUARE = [[[24.94, 60.17], [24.95, 60.17], [24.95, 60.18], [24.94, 60.18], [24.94, 60.17]]]
SQUARE2 = [[[24.96, 60.17], [24.97, 60.17], [24.97, 60.18], [24.96, 60.18], [24.96, 60.17]]]
SQUARE3 = [[[24.98, 60.17], [24.99, 60.17], [24.99, 60.18], [24.98, 60.18], [24.98, 60.17]]]

#: Geometry edge cases, reused by the community tables: (name, GeoJSON geometry or None, is a valid polygon).
GEOMETRIES = {
    "square": ({"type": "Polygon", "coordinates": SQUARE}, True),
    "with_hole": ({"type": "Polygon", "coordinates": [SQUARE[0], [[24.943, 60.173], [24.947, 60.173],
                                                                   [24.947, 60.177], [24.943, 60.173]]]}, True),
    "multi": ({"type": "MultiPolygon", "coordinates": [SQUARE, SQUARE2]}, True),
    "square2": ({"type": "Polygon", "coordinates": SQUARE2}, True),  # beside square, apart
    "east": ({"type": "Polygon", "coordinates": SQUARE3}, True),  # apart from the others
    "half_over_square": ({"type": "Polygon", "coordinates": [[[24.945, 60.17], [24.955, 60.17], [24.955, 60.18],
                                                              [24.945, 60.18], [24.945, 60.17]]]}, True),
    "sliver_over_square": ({"type": "Polygon", "coordinates": [[[24.9499, 60.17], [24.96, 60.17], [24.96, 60.18],
                                                                [24.9499, 60.18], [24.9499, 60.17]]]}, True),
    "bow_tie": ({"type": "Polygon", "coordinates": [[[24.94, 60.17], [24.95, 60.18], [24.95, 60.17],
                                                     [24.94, 60.18], [24.94, 60.17]]]}, False),
    "point": ({"type": "Point", "coordinates": [24.94, 60.17]}, False),
    "line": ({"type": "LineString", "coordinates": [[24.94, 60.17], [24.95, 60.17]]}, False),
    "null": (None, False),
}


def write_geojson(path: Path, rows: list[tuple[dict | None, dict]]) -> Path:
    features = [{"type": "Feature", "geometry": g, "properties": p} for g, p in rows]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False),
                    encoding="utf-8")
    return path


def community(cid="C1", geometry="square", **props) -> tuple[dict | None, dict]:
    base = {"community_id": cid, "name": f"社区{cid}", "pop_total": 1000, "pop_60plus": 250, "households": 400}
    return GEOMETRIES[geometry][0], {**base, **props}


def _one_line(err) -> str:
    text = str(err.value)
    assert "\n" not in text, text
    return text


# ------------------------------------------------------------------------------------------- facilities

GOOD_CSV = "facility_id,name,type,capacity,floor_area_m2,lon,lat\nF1,a,day_care,20,300,24.94,60.17\n"

BAD_FACILITY_CSV = [
    ("empty", "", r"^facilities\.csv: the file is empty; add a header row"),
    ("blank_lines", "\n\n", r"^facilities\.csv: the file is empty"),
    ("header_only", "facility_id,lon,lat\n", r"^facilities\.csv: the file has a header but no rows"),
    ("no_coordinates", "facility_id,name\nF1,a\n",
     r"^facilities\.csv: no coordinate column \(looked for lon, lng, longitude, x, 经度\); columns are "
     r"'facility_id', 'name'; name it with --lon-col"),
    ("no_lat", "facility_id,lon\nF1,24.9\n", r"no coordinate column \(looked for lat, .*--lat-col"),
    ("nan_coordinates", "facility_id,lon,lat\nF1,24.94,60.17\nF2,,60.17\nF3,24.94,60.17\nF4,24.94,\n",
     r"^facilities\.csv: 2 rows have no coordinates \(rows 2, 4\); fill lon/lat or drop them"),
    ("text_coordinates", "facility_id,lon,lat\nF1,24.94 E,60.17\nF2,24.95,north\n",
     r"^facilities\.csv: 2 rows have coordinates that are not finite numbers \(rows 1, 2: '24\.94 E', 'north'\); "
     r"write decimal degrees such as 116\.3975 in lon/lat\.$"),
    ("blank_coordinates", "facility_id,lon,lat\nF1,  ,60.17\n", r"1 rows have no coordinates \(rows 1\)"),
    ("infinite_coordinates", "facility_id,lon,lat\nF1,inf,60.17\nF2,24.9,-1e309\n",
     r"2 rows have coordinates that are not finite numbers \(rows 1, 2: inf, -inf\)"),
    ("semicolons_decimal_commas", "facility_id;name;lon;lat\nF1;a;24,94;60,17\n",
     r"^facilities\.csv: looks like a semicolon-separated file with decimal commas \(header "
     r"'facility_id;name;lon;lat'\); save it as comma-separated CSV \(Excel: CSV UTF-8\) with decimal points\.$"),
    ("tabs_decimal_commas", "facility_id\tlon\tlat\nF1\t24,94\t60,17\n",
     r"looks like a tab-separated file with decimal commas"),
    ("lon_out_of_range", "facility_id,lon,lat\nF1,24.94,60.17\nF2,200.5,60.17\n",
     r"^facilities\.csv: 1 rows have coordinates outside longitude ±180 / latitude ±90 \(rows 2\)"),
    ("lat_lon_swapped", "facility_id,lon,lat\nF1,41.80,123.43\nF2,41.81,123.44\n",
     r"2 rows have coordinates outside .* \(rows 1, 2\); give WGS-84 degrees"),
    ("projected_as_degrees", "facility_id,x,y\nF1,500000,4600000\n", r"outside longitude ±180"),
    ("duplicate_ids", "facility_id,lon,lat\nF1,24.94,60.17\nF2,24.94,60.17\nF1,24.95,60.17\n",
     r"^facilities\.csv: duplicate facility_id values 'F1' \(rows 1, 3\); make every id unique"),
    ("duplicate_numeric_ids", "facility_id,lon,lat\n7,24.94,60.17\n007,24.95,60.17\n7,24.95,60.17\n",
     r"duplicate facility_id values '7' \(rows 1, 3\)"),
    ("blank_id", "facility_id,lon,lat\nF1,24.94,60.17\n  ,24.95,60.17\n",
     r"^facilities\.csv: 1 rows have no facility_id \(rows 2\); fill them"),
    ("missing_id", "facility_id,lon,lat\nF1,24.94,60.17\n,24.95,60.17\n",
     r"^facilities\.csv: 1 rows have no facility_id \(rows 2\); fill them"),
    ("negative_capacity", "facility_id,capacity,lon,lat\nF1,20,24.94,60.17\nF2,-5,24.95,60.17\n",
     r"^facilities\.csv: column 'capacity' must hold non-negative numbers, but rows 2 have -5"),
    ("text_area", "facility_id,floor_area_m2,lon,lat\nF1,large,24.94,60.17\n",
     r"column 'floor_area_m2' must hold non-negative numbers, but rows 1 have 'large'"),
    ("infinite_capacity", "facility_id,capacity,lon,lat\nF1,20,24.94,60.17\nF2,inf,24.95,60.17\nF3,1e309,24.9,60.1\n",
     r"^facilities\.csv: column 'capacity' must hold finite numbers, but rows 2, 3 have inf, inf; fix the values "
     r"or choose another column with --capacity-col\.$"),
    ("minus_infinite_beds", "facility_id,beds,lon,lat\nF1,-inf,24.94,60.17\n",
     r"column 'beds' must hold finite numbers, but rows 1 have -inf"),
    ("infinite_extra_column", "facility_id,staff,lon,lat\nF1,3,24.94,60.17\nF2,Infinity,24.95,60.17\n",
     r"^facilities\.csv: column 'staff' must hold finite numbers, but rows 2 have inf; fix the values or leave the "
     r"column out\.$"),
]


@pytest.mark.parametrize(("content", "match"), [c[1:] for c in BAD_FACILITY_CSV], ids=[c[0] for c in BAD_FACILITY_CSV])
def test_bad_facility_csv(tmp_path, content, match):
    path = tmp_path / "facilities.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InputError, match=match) as err:
        read_facilities(path)
    _one_line(err)


def test_many_bad_rows_are_summarised(tmp_path):
    rows = "".join(f"F{i},,60.17\n" for i in range(20))
    path = tmp_path / "facilities.csv"
    path.write_text("facility_id,lon,lat\n" + rows, encoding="utf-8")
    with pytest.raises(InputError, match=r"20 rows have no coordinates \(rows 1, 2, 3, 4, 5, 6, 7, 8, … 12 more\)"):
        read_facilities(path)


def test_not_text(tmp_path):
    path = tmp_path / "facilities.csv"
    path.write_bytes(b"facility_id,lon,lat\nF1,\xff\xff\x80,41.8\n")
    with pytest.raises(InputError, match=r"^facilities\.csv: cannot read as CSV \(UnicodeDecodeError\); save it as "):
        read_facilities(path)


def test_named_coordinate_column_missing(tmp_path):
    path = tmp_path / "facilities.csv"
    path.write_text(GOOD_CSV, encoding="utf-8")
    with pytest.raises(InputError, match=r"^facilities\.csv: no column 'east'; columns are .*'lon'.*; fix --lon-col"):
        read_facilities(path, lon_col="east")


@pytest.mark.parametrize("reader", [read_facilities, read_communities, read_demand])
def test_missing_file(tmp_path, reader):
    for name in ("nothing.csv", "nothing.geojson"):
        if reader is read_communities and name.endswith(".csv"):
            continue
        with pytest.raises(InputError, match=r"file '.*nothing\.(csv|geojson)' does not exist; check the path"):
            reader(tmp_path / name)


def test_good_facility_csv(tmp_path):
    path = tmp_path / "facilities.csv"
    path.write_text(GOOD_CSV + "F2,b,,,,24.95,60.18\n", encoding="utf-8")
    gdf = read_facilities(path)
    assert gdf.crs.to_epsg() == 4326
    assert gdf["facility_id"].tolist() == ["F1", "F2"]
    assert gdf["type"].tolist() == ["day_care", "unspecified"]
    assert gdf["capacity"].iloc[0] == 20 and np.isnan(gdf["capacity"].iloc[1])
    assert gdf.geometry.x.tolist() == [24.94, 24.95]


def test_chinese_headers_bom_numeric_ids_and_no_name(tmp_path):
    path = tmp_path / "设施.csv"
    path.write_text("\ufeffid,经度,纬度,备注\n1,123.43,41.80,甲\n2.0,123.44,41.81,乙\n", encoding="utf-8")
    gdf = read_facilities(path, id_col="id")
    assert gdf["facility_id"].tolist() == ["1", "2.0"]  # ids are text, as written
    assert gdf["name"].tolist() == ["1", "2.0"]
    assert gdf["备注"].tolist() == ["甲", "乙"]
    assert gdf.geometry.y.tolist() == [41.80, 41.81]


def test_facilities_without_id_column_are_numbered(tmp_path):
    path = tmp_path / "f.csv"
    path.write_text("lng,latitude\n24.94,60.17\n24.95,60.18\n", encoding="utf-8")
    assert read_facilities(path)["facility_id"].tolist() == ["F1", "F2"]


def test_projected_csv_coordinates(tmp_path):
    path = tmp_path / "f.csv"
    path.write_text("facility_id,x,y\nF1,500000,4600000\n", encoding="utf-8")
    gdf = read_facilities(path, crs="EPSG:32650")
    assert gdf.geometry.x.iloc[0] == pytest.approx(117.0, abs=1e-9)  # zone 50's central meridian
    assert gdf.geometry.y.iloc[0] == pytest.approx(41.55, abs=0.01)


def test_facility_footprints_become_points_and_files_keep_their_crs(tmp_path):
    polys = gpd.GeoDataFrame({"facility_id": ["A", "B"], "capacity": [10, 20]},
                             geometry=[shapely.box(500_000, 4_600_000, 500_040, 4_600_030),
                                       shapely.MultiPoint([(500_100, 4_600_100)])], crs="EPSG:32650")
    path = tmp_path / "facilities.gpkg"
    polys.to_file(path)
    gdf = read_facilities(path)
    assert gdf.geom_type.tolist() == ["Point", "Point"]
    back = gdf.to_crs("EPSG:32650")
    assert shapely.box(500_000, 4_600_000, 500_040, 4_600_030).contains(back.geometry.iloc[0])
    assert back.geometry.iloc[1].distance(shapely.Point(500_100, 4_600_100)) < 1e-6


def test_facility_shapefile_without_prj(tmp_path):
    # Shapefile field names stop at 10 characters, so the id column is named "code" here.
    gdf = gpd.GeoDataFrame({"code": ["A"]}, geometry=[shapely.Point(24.94, 60.17)], crs="EPSG:4326")
    path = tmp_path / "facilities.shp"
    gdf.to_file(path)
    assert read_facilities(path, id_col="code")["facility_id"].tolist() == ["A"]  # with its .prj it reads
    path.with_suffix(".prj").unlink()
    with pytest.raises(InputError, match=r"^facilities\.shp: the facilities file has no CRS \(a Shapefile without "
                                         r"\.prj\?\); add the \.prj") as err:
        read_facilities(path, id_col="code")
    _one_line(err)


def test_facility_multipoints_with_several_points_are_refused(tmp_path):
    path = write_geojson(tmp_path / "facilities.geojson", [
        ({"type": "Point", "coordinates": [24.94, 60.17]}, {"facility_id": "A"}),
        ({"type": "MultiPoint", "coordinates": [[24.94, 60.17], [24.95, 60.17]]}, {"facility_id": "B"}),
    ])
    with pytest.raises(InputError, match=r"facilities must be points, but rows 2 are 'MultiPoint'"):
        read_facilities(path)


# ------------------------------------------------------------------------------------------- communities

BAD_COMMUNITIES = [
    ("no_features", [], r"^communities\.geojson: the communities file has no rows; add at least one"),
    ("bow_tie", [community("C1"), community("C2", "bow_tie")],
     r"^communities\.geojson: 1 community polygons are invalid \(rows 2: Self-intersection\[24\.945 60\.175\]\); "
     r"repair them"),
    ("point", [community("C1", "point"), community("C2")],
     r"^communities\.geojson: communities must be polygons, but 1 rows are 'Point' \(rows 1\); give community"),
    ("line", [community("C1"), community("C2", "line")], r"but 1 rows are 'LineString' \(rows 2\)"),
    ("null_geometry", [community("C1"), community("C2", "null")],
     r"^communities\.geojson: 1 communities rows have no geometry \(rows 2\); fill them or drop the rows"),
    ("no_elderly_column", [(GEOMETRIES["square"][0], {"community_id": "C1", "pop_total": 10})],
     r"^communities\.geojson: no elderly-population column 'pop_60plus'; columns are 'community_id', "
     r"'pop_total'; name the right one with --elderly-col"),
    ("negative_elderly", [community("C1"), community("C2", pop_60plus=-3)],
     r"^communities\.geojson: column 'pop_60plus' must hold non-negative numbers, but rows 2 have -3"),
    ("missing_elderly", [community("C1"), community("C2", pop_60plus=None)],
     r"column 'pop_60plus' must hold non-negative numbers, but rows 2 have"),
    ("text_elderly", [community("C1", pop_60plus="about 300")],
     r"column 'pop_60plus' must hold non-negative numbers, but rows 1 have 'about 300'"),
    ("infinite_elderly", [community("C1"), community("C2", pop_60plus=float("inf"))],
     r"^communities\.geojson: column 'pop_60plus' must hold finite numbers, but rows 2 have inf; fix the values "
     r"or choose another column with --elderly-col\.$"),
    ("infinite_total", [community("C1", pop_total=float("inf"))], r"column 'pop_total' must hold finite numbers"),
    ("infinite_children", [community("C1", pop_0_3=float("-inf"))], r"column 'pop_0_3' must hold finite numbers"),
    ("infinite_extra", [community("C1", residential_floor_area_m2=float("inf"))],
     r"column 'residential_floor_area_m2' must hold finite numbers, but rows 1 have inf; fix the values or leave"),
    ("negative_total", [community("C1", pop_total=-1)], r"column 'pop_total' must hold non-negative .*rows 1 have -1"),
    ("negative_households", [community("C1", households=-2)], r"column 'households' .* rows 1 have -2"),
    ("elderly_over_total", [community("C1"), community("C2"), community("C3", pop_60plus=1200)],
     r"^communities\.geojson: 1 communities have more people aged 60\+ than in total \(rows 3\); "
     r"check the 'pop_60plus' and 'pop_total' columns"),
    ("duplicate_ids", [community("C1"), community("C2"), community("C1"), community("C2", "multi")],
     r"^communities\.geojson: duplicate community_id values 'C1', 'C2' \(rows 1, 2, 3, 4\)"),
    ("duplicated_community", [community("C1"), community("C2", "east"), community("C3")],
     r"^communities\.geojson: 1 pairs of communities overlap: C1 and C3 \(100% of the smaller\); each person must "
     r"be counted in one community: remove duplicates or fix the boundaries so that neighbours only touch\.$"),
    ("overlapping_communities", [community("A"), community("B", "half_over_square"), community("C", "multi")],
     r"3 pairs of communities overlap: A and C \(100% of the smaller\), A and B \(50% of the smaller\), "
     r"B and C \(50% of the smaller\); each person"),
]


@pytest.mark.parametrize(("rows", "match"), [c[1:] for c in BAD_COMMUNITIES], ids=[c[0] for c in BAD_COMMUNITIES])
def test_bad_communities(tmp_path, rows, match):
    path = write_geojson(tmp_path / "communities.geojson", rows)
    with pytest.raises(InputError, match=match) as err:
        read_communities(path)
    _one_line(err)


@pytest.mark.parametrize(("content", "match"), [
    (b"", r"^communities\.geojson: cannot read communities \(DataSourceError: .*\); give a GeoJSON"),
    (b"{not json", r"^communities\.geojson: cannot read communities"),
])
def test_unreadable_community_files(tmp_path, content, match):
    path = tmp_path / "communities.geojson"
    path.write_bytes(content)
    with pytest.raises(InputError, match=match) as err:
        read_communities(path)
    _one_line(err)


def test_community_shapefile_without_prj(tmp_path):
    gdf = gpd.GeoDataFrame({"code": ["C1"], "pop_60plus": [100]}, geometry=[shapely.Polygon(SQUARE[0])],
                           crs="EPSG:4326")
    path = tmp_path / "communities.shp"
    gdf.to_file(path)
    path.with_suffix(".prj").unlink()
    with pytest.raises(InputError, match=r"^communities\.shp: the communities file has no CRS"):
        read_communities(path)


@pytest.mark.parametrize("name", [n for n, (_, valid) in GEOMETRIES.items() if valid])
def test_valid_community_geometries(tmp_path, name):
    path = write_geojson(tmp_path / "c.geojson", [community("C1", name)])
    gdf = read_communities(path)
    assert gdf.geom_type.iloc[0] == GEOMETRIES[name][0]["type"]
    assert gdf["pop_60plus"].tolist() == [250.0]


def test_good_communities_standard_columns(tmp_path):
    path = write_geojson(tmp_path / "c.geojson", [
        (GEOMETRIES["square"][0], {"编号": 11, "60岁以上人口": 300, "街道": "北"}),
        (GEOMETRIES["east"][0], {"编号": 12, "60岁以上人口": 0, "街道": "南"}),
    ])
    gdf = read_communities(path, id_col="编号", elderly_col="60岁以上人口")
    assert gdf["community_id"].tolist() == ["11", "12"]
    assert gdf["pop_60plus"].tolist() == [300.0, 0.0]
    assert gdf["pop_total"].isna().all() and gdf["households"].isna().all()
    assert gdf["subdistrict"].tolist() == ["北", "南"]  # 街道 is an alias of subdistrict
    assert gdf.crs.to_epsg() == 4326


def test_projected_community_file_is_returned_in_wgs84(tmp_path):
    gdf = gpd.GeoDataFrame({"community_id": ["C1"], "pop_60plus": [10]},
                           geometry=[shapely.box(500_000, 4_600_000, 501_000, 4_601_000)], crs="EPSG:32650")
    path = tmp_path / "c.gpkg"
    gdf.to_file(path)
    out = read_communities(path)
    assert out.crs.to_epsg() == 4326
    assert out.to_crs("EPSG:32650").area.iloc[0] == pytest.approx(1e6, rel=1e-6)


def test_default_communities_read(helsinki_communities):
    assert helsinki_communities["community_id"].is_unique
    assert (helsinki_communities["pop_60plus"] <= helsinki_communities["pop_total"]).all()


# ---------------------------------------------------------------------------------------------- demand


BAD_DEMAND = [
    ("no_population", "community_id,lon,lat\nC1,24.94,60.17\n",
     r"^demand\.csv: no population column 'population'; columns are 'community_id'; name it with "
     r"--population-col"),
    ("negative", "population,lon,lat\n3,24.94,60.17\n-1,24.94,60.17\n",
     r"^demand\.csv: column 'population' must hold non-negative numbers, but rows 2 have -1"),
    ("missing", "population,lon,lat\n3,24.94,60.17\n,24.94,60.17\n", r"rows 2 have"),
    ("header_only", "population,lon,lat\n", r"the file has a header but no rows; add at least one demand point"),
    ("infinite", "population,lon,lat\n3,24.94,60.17\n1e309,24.94,60.17\n",
     r"^demand\.csv: column 'population' must hold finite numbers, but rows 2 have inf; fix the values or choose "
     r"another column with --population-col\.$"),
    ("all_zero", "population,lon,lat\n0,24.94,60.17\n0,24.95,60.17\n",
     r"^demand\.csv: no elderly population at any demand point \(column 'population' is 0 in all 2 rows\)"),
]


@pytest.mark.parametrize(("content", "match"), [c[1:] for c in BAD_DEMAND], ids=[c[0] for c in BAD_DEMAND])
def test_bad_demand(tmp_path, content, match):
    path = tmp_path / "demand.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InputError, match=match) as err:
        read_demand(path)
    _one_line(err)


def test_good_demand(tmp_path):
    path = tmp_path / "demand.tsv"
    path.write_text("population\tcommunity_id\tlon\tlat\n3\tC1\t24.94\t60.17\n0\tC2\t24.95\t60.17\n",
                    encoding="utf-8")
    gdf = read_demand(path)
    assert gdf["population"].tolist() == [3.0, 0.0]
    assert gdf["community_id"].tolist() == ["C1", "C2"]
    no_com = read_demand(path, community_col="nope")
    assert no_com["community_id"].tolist() == ["all", "all"]


# ------------------------------------------------------------------------------------------ ids are text


def test_ids_are_text_as_written(tmp_path):
    """Leading zeros stay; `1` and `01` are two facilities; names that look like numbers stay text too."""
    path = tmp_path / "facilities.csv"
    path.write_text("facility_id,name,lon,lat\n001,007,24.94,60.17\n1,1.50,24.95,60.17\n01,x,24.96,60.17\n",
                    encoding="utf-8")
    gdf = read_facilities(path)
    assert gdf["facility_id"].tolist() == ["001", "1", "01"]
    assert gdf["name"].tolist() == ["007", "1.50", "x"]


def test_demand_community_ids_are_text(tmp_path):
    path = tmp_path / "demand.csv"
    path.write_text("community_id,population,lon,lat\n001,3,24.94,60.17\n1,2,24.95,60.17\n", encoding="utf-8")
    assert read_demand(path)["community_id"].tolist() == ["001", "1"]


def test_missing_demand_community_id_is_named(tmp_path):
    path = tmp_path / "demand.csv"
    path.write_text("community_id,population,lon,lat\nC1,3,24.94,60.17\n,2,24.95,60.17\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"^demand\.csv: 1 demand points have no community_id \(rows 2\); fill them "
                                         r"or drop the column\.$"):
        read_demand(path)


def test_community_ids_with_leading_zeros_from_geojson(tmp_path):
    path = write_geojson(tmp_path / "c.geojson", [community("001"), community("01", "east"),
                                                  community("1", "square2")])
    assert read_communities(path)["community_id"].tolist() == ["001", "01", "1"]


def test_numeric_ids_stored_as_numbers_in_a_vector_file(tmp_path):
    """A GeoJSON number is a number: 7 and 7.0 are both "7" (and so duplicates)."""
    path = write_geojson(tmp_path / "c.geojson", [community(7), community(8.0, "east")])
    assert read_communities(path)["community_id"].tolist() == ["7", "8"]


def test_neighbours_that_touch_or_overlap_by_a_sliver_are_accepted(tmp_path):
    """Shared borders and digitising slivers (1% of the smaller one or less) are not overlaps."""
    path = write_geojson(tmp_path / "c.geojson", [community("A"), community("B", "square2"),
                                                   community("C", "sliver_over_square")])
    assert read_communities(path)["community_id"].tolist() == ["A", "B", "C"]


def test_full_width_digits_are_read_as_digits(tmp_path):
    """Chinese input methods type full-width digits (１２３.４５, a full-width minus too); NFKC reads them."""
    path = tmp_path / "facilities.csv"
    path.write_text("facility_id,capacity,lon,lat\nF1,２０,１２３．４３,４１.８０\nF2,5,123.44,41.81\n"
                    "F3,,－７１.５,-33.4\n", encoding="utf-8")
    gdf = read_facilities(path)
    assert gdf.geometry.x.tolist() == [123.43, 123.44, -71.5]
    assert gdf.geometry.y.tolist() == [41.80, 41.81, -33.4]
    assert gdf["capacity"].iloc[0] == 20


# --------------------------------------------------------------------------------- urban and rural, ownership

@pytest.mark.parametrize("header", ["area_type", "城乡类型", "城乡属性", "社区类型", "urban_rural"])
def test_community_area_type_under_its_aliases(tmp_path, header):
    path = write_geojson(tmp_path / "c.geojson", [
        community("C1", "square", **{header: "社区"}), community("C2", "east", **{header: "行政村"}),
        community("C3", "square2", **{header: " Rural "}),
    ])
    assert read_communities(path)["area_type"].tolist() == ["urban", "rural", "rural"]


@pytest.mark.parametrize(("written", "meaning"), [
    ("城镇", "urban"), ("城市", "urban"), ("社区", "urban"), ("街道", "urban"), ("urban", "urban"),
    ("农村", "rural"), ("乡村", "rural"), ("村", "rural"), ("乡镇", "rural"), ("镇", "rural"), ("乡", "rural"),
    ("village", "rural"), ("", "urban"),
])
def test_community_area_type_spellings(tmp_path, written, meaning):
    path = write_geojson(tmp_path / "c.geojson", [community("C1", area_type=written)])
    assert read_communities(path)["area_type"].tolist() == [meaning]


def test_community_area_type_unknown_values_are_listed_with_counts(tmp_path):
    path = write_geojson(tmp_path / "c.geojson", [
        community("C1", "square", 城乡类型="城中村"), community("C2", "east", 城乡类型="城中村"),
        community("C3", "square2", 城乡类型="社区"),
    ])
    with pytest.raises(InputError) as err:
        read_communities(path)
    assert _one_line(err).startswith("c.geojson: unknown 城乡类型 values '城中村' (2 rows); write urban (urban/")
    assert "or rural (rural/" in str(err.value) and "leave the cell empty for urban" in str(err.value)


def test_communities_without_area_type_are_urban(tmp_path):
    path = write_geojson(tmp_path / "c.geojson", [community("C1"), community("C2", "east")])
    assert read_communities(path)["area_type"].tolist() == ["urban", "urban"]


def test_facility_ownership_under_its_chinese_header(tmp_path):
    path = tmp_path / "facilities.csv"
    path.write_text("编号,名称,类型,机构性质,经度,纬度\nK1,市福利院,敬老院,公办,24.94,60.17\n"
                    "K2,康乐院,养老院,民办,24.95,60.17\n", encoding="utf-8")
    gdf = read_facilities(path)
    assert gdf["ownership"].tolist() == ["公办", "民办"] and "机构性质" not in gdf


# ---------------------------------------------------------------- 社区类型: urban/rural, never a facility type

@pytest.mark.parametrize(("written", "meaning"), [
    ("城市社区", "urban"), ("城镇社区", "urban"), ("居民委员会", "urban"), ("社区", "urban"),
    ("农村社区", "rural"), ("村", "rural"), ("行政村", "rural"), ("建制村", "rural"), ("村民委员会", "rural"),
])
def test_community_type_column_is_the_area_type(tmp_path, written, meaning):
    path = write_geojson(tmp_path / "c.geojson", [community("C1", 社区类型=written), community("C2", "east",
                                                                                             社区类型="城市社区")])
    read = read_communities(path)
    assert read["area_type"].tolist() == [meaning, "urban"]
    assert "社区类型" not in read.columns


def test_community_type_saying_new_or_existing_is_the_residential_column(tmp_path):
    path = write_geojson(tmp_path / "c.geojson", [community("C1", 社区类型="老旧小区"),
                                                  community("C2", "east", 社区类型="新建住宅小区")])
    read = read_communities(path)
    assert read["residential"].tolist() == ["existing", "new"]
    assert read["area_type"].tolist() == ["urban", "urban"]


def test_community_type_saying_neither_is_kept_and_not_the_area_type(tmp_path, caplog):
    path = write_geojson(tmp_path / "c.geojson", [community("C1", 社区类型="商品房小区"),
                                                  community("C2", "east", 社区类型="单位社区")])
    with caplog.at_level(logging.WARNING):
        read = read_communities(path)
    assert read["area_type"].tolist() == ["urban", "urban"]
    assert read["社区类型"].tolist() == ["商品房小区", "单位社区"]
    assert "column '社区类型' says neither urban nor rural ('商品房小区', '单位社区')" in caplog.text


def test_community_type_with_a_typo_among_urban_and_rural_is_an_error(tmp_path):
    path = write_geojson(tmp_path / "c.geojson", [community("C1", 社区类型="农村社区"),
                                                  community("C2", "east", 社区类型="农材社区")])
    with pytest.raises(InputError) as err:
        read_communities(path)
    assert _one_line(err).startswith("c.geojson: unknown 社区类型 values '农材社区' (1 row); write urban (")


def test_community_type_is_never_the_facility_type(tmp_path):
    """A facilities table's 社区类型 (the kind of community it stands in) is kept as a column; the facility's type
    comes from 类型 only."""
    path = tmp_path / "facilities.csv"
    path.write_text("编号,名称,类型,社区类型,经度,纬度\nK1,红旗敬老院,敬老院,农村社区,24.94,60.17\n"
                    "D1,东风日照,日间照料中心,城市社区,24.95,60.17\n", encoding="utf-8")
    read = read_facilities(path)
    assert read["type"].tolist() == ["care_home", "day_care"]
    assert read["社区类型"].tolist() == ["农村社区", "城市社区"]
    # without 类型 the type is not read from 社区类型 (城市社区 is no facility type)
    path.write_text("编号,名称,社区类型,经度,纬度\nK1,红旗敬老院,农村社区,24.94,60.17\n", encoding="utf-8")
    read = read_facilities(path)
    assert read["type"].tolist() == ["unspecified"] and read["社区类型"].tolist() == ["农村社区"]
    with pytest.raises(InputError, match="unknown facility type values: '城市社区'"):
        normalise_types(["城市社区"])
