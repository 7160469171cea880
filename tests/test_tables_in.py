"""Tables as planners hold them (issue 11, item 1): GBK/UTF-16 CSV, Excel sheets, Chinese headers, Amap
``location`` exports, tab/semicolon delimiters. Every fixture is written by the test from the Helsinki
facilities, with Chinese type names and Chinese headers, and must read exactly as the UTF-8 CSV does."""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd
import pytest

from carecircle.errors import InputError
from carecircle.io.readers import read_demand, read_facilities
from carecircle.io.tables import detect_encoding

DATA = Path(__file__).resolve().parents[1] / "data" / "helsinki"
ZH_TYPES = {"comprehensive_centre": "街道综合养老服务中心", "day_care": "日间照料中心",
            "home_care_station": "社区居家养老服务站", "care_home": "养老机构", "canteen": "老年食堂",
            "childcare": "托育机构", "health_centre": "社区卫生服务中心"}
ZH_HEADERS = {"facility_id": "编号", "name": "机构名称", "type": "设施类型", "beds": "床位数",
              "nursing_beds": "护理型床位", "floor_area_m2": "建筑面积", "lon": "经度", "lat": "纬度"}
COMPARED = ["facility_id", "name", "type", "beds", "nursing_beds", "floor_area_m2"]


def _table() -> pd.DataFrame:
    """The Helsinki facilities with Chinese names and Chinese type names, ids such as 001 kept as text."""
    df = pd.read_csv(DATA / "facilities.csv", dtype={"facility_id": str}, encoding="utf-8")
    df["facility_id"] = [f"{i:03d}" for i in range(1, len(df) + 1)]
    df["name"] = df["name"].str.split(" / ").str[0]
    df["type"] = df["type"].map(ZH_TYPES)
    return df.drop(columns=["capacity"])


def _same(got, want) -> None:
    pd.testing.assert_frame_equal(got[COMPARED].reset_index(drop=True), want[COMPARED].reset_index(drop=True))
    assert got.geometry.reset_index(drop=True).geom_equals_exact(want.geometry.reset_index(drop=True),
                                                                 tolerance=1e-9).all()


@pytest.fixture
def utf8(tmp_path):
    path = tmp_path / "utf8.csv"
    _table().to_csv(path, index=False, encoding="utf-8")
    return read_facilities(path)


def test_utf8_reference_reads_chinese_types(utf8):
    assert utf8["facility_id"].iloc[0] == "001"
    assert set(utf8["type"]) == set(ZH_TYPES)


@pytest.mark.parametrize("encoding", ["gbk", "gb18030", "utf-8-sig", "utf-16"])
def test_encodings_give_the_same_facilities(tmp_path, utf8, encoding, caplog):
    path = tmp_path / "facilities.csv"
    _table().to_csv(path, index=False, encoding=encoding)
    with caplog.at_level(logging.INFO, logger="carecircle.io.tables"):
        got = read_facilities(path)
    _same(got, utf8)
    named = {"gbk": "GB18030", "gb18030": "GB18030", "utf-8-sig": "UTF-8-SIG", "utf-16": "UTF-16"}[encoding]
    assert f"facilities.csv: read as {named}, comma-separated" in caplog.text


def test_valid_utf8_is_never_taken_for_gb18030():
    text = "编号,名称\n1,日间照料中心\n".encode()
    assert detect_encoding(text) == "utf-8"
    assert detect_encoding(text.decode().encode("gbk")) == "gb18030"
    assert detect_encoding(text.decode().encode("utf-16")) == "utf-16"


def test_gbk_with_chinese_headers_needs_no_column_options(tmp_path, utf8):
    path = tmp_path / "民政局.csv"
    _table().rename(columns=ZH_HEADERS).to_csv(path, index=False, encoding="gbk")
    _same(read_facilities(path), utf8)


@pytest.mark.parametrize("headers", [ZH_HEADERS, {"facility_id": "ID"}, {"facility_id": "序号", "beds": "床位"}])
def test_xlsx_gives_the_same_facilities(tmp_path, utf8, headers):
    path = tmp_path / "facilities.xlsx"
    _table().rename(columns=headers).to_excel(path, index=False)
    got = read_facilities(path)
    _same(got, utf8)
    assert got["facility_id"].iloc[0] == "001"  # an id column under an alias stays text


def test_xlsx_sheet_by_name_and_number(tmp_path, utf8):
    path = tmp_path / "book.xlsx"
    with pd.ExcelWriter(path) as book:
        pd.DataFrame({"说明": ["养老设施台账"]}).to_excel(book, sheet_name="说明", index=False)
        _table().rename(columns=ZH_HEADERS).to_excel(book, sheet_name="设施", index=False)
    _same(read_facilities(path, sheet="设施"), utf8)
    _same(read_facilities(path, sheet=1), utf8)
    with pytest.raises(InputError, match=r"^book\.xlsx: no sheet '床位'; sheets are '说明', '设施'\.$"):
        read_facilities(path, sheet="床位")
    with pytest.raises(InputError, match=r"no coordinate column"):  # the first sheet by default
        read_facilities(path)


def test_amap_location_export(tmp_path, utf8):
    df = _table()
    amap = pd.DataFrame({"id": df["facility_id"], "名称": df["name"], "类型": df["type"], "床位数": df["beds"],
                         "护理型床位": df["nursing_beds"], "建筑面积": df["floor_area_m2"],
                         "location": [f"{x:.6f},{y:.6f}" for x, y in zip(df["lon"], df["lat"], strict=True)]})
    path = tmp_path / "amap.csv"
    amap.to_csv(path, index=False, encoding="utf-8")
    _same(read_facilities(path), utf8)
    shenyang = tmp_path / "shenyang.csv"
    shenyang.write_text("name,location\n日间照料中心,\"123.43,41.80\"\n", encoding="utf-8")
    gcj = read_facilities(shenyang, crs="gcj02")  # the usual GCJ-02 option applies to the split coordinates
    x, y = gcj.geometry.x.iloc[0], gcj.geometry.y.iloc[0]
    assert 0.001 < abs(x - 123.43) < 0.02 and 0.0005 < abs(y - 41.80) < 0.02
    amap.rename(columns={"location": "经纬度"}).to_excel(tmp_path / "amap.xlsx", index=False)
    _same(read_facilities(tmp_path / "amap.xlsx"), utf8)


def test_explicit_column_wins_over_alias(tmp_path):
    path = tmp_path / "f.csv"
    path.write_text("编号,code,lon,lat\n1,A,24.94,60.17\n2,B,24.95,60.17\n", encoding="utf-8")
    assert read_facilities(path)["facility_id"].tolist() == ["1", "2"]
    assert read_facilities(path, id_col="code")["facility_id"].tolist() == ["A", "B"]


def test_two_aliases_are_ambiguous(tmp_path):
    path = tmp_path / "f.csv"
    path.write_text("序号,编号,lon,lat\n1,A,24.94,60.17\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"^f\.csv: columns '编号', '序号' could each be 'facility_id'; name the "
                                         r"right one with --facility-id-col\.$"):
        read_facilities(path)


@pytest.mark.parametrize("sep", [";", "\t"])
def test_tab_and_semicolon_delimiters(tmp_path, utf8, sep):
    path = tmp_path / "facilities.csv"
    _table().to_csv(path, index=False, sep=sep, encoding="gbk")
    _same(read_facilities(path), utf8)


def test_demand_points_with_chinese_headers(tmp_path):
    path = tmp_path / "demand.xlsx"
    pd.DataFrame({"社区编号": ["C1"], "老年人口": [12], "经度": [24.94], "纬度": [60.17]}).to_excel(path, index=False)
    got = read_demand(path, community_col="社区编号")
    assert got["population"].tolist() == [12.0] and got["community_id"].tolist() == ["C1"]


def test_a_sheet_for_a_csv_is_refused(tmp_path):
    path = tmp_path / "f.csv"
    path.write_text("lon,lat\n24.94,60.17\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"^f\.csv: a sheet \('设施'\) was given, but the file is not an Excel "):
        read_facilities(path, sheet="设施")


def test_build_status_is_found_under_its_chinese_names(tmp_path):
    """Shenyang's ≥ 200 m² childcare rule reads build_status (新建/改建/扩建); a bureau's table names it 建设状态."""
    from carecircle.io.readers import read_facilities

    path = tmp_path / "托育.csv"
    path.write_text("编号,名称,类型,建设状态,经度,纬度\nT1,托育一,托育,新建,123.43,41.80\n", encoding="utf-8")
    fac = read_facilities(path)
    assert fac["build_status"].tolist() == ["新建"]


def test_building_outlines_are_read_at_a_point_inside_them(tmp_path, utf8, caplog):
    """A facility layer of building footprints: each polygon becomes a point inside it (not its centroid, which
    an L-shaped building may not contain), and the log says how many were reduced."""
    import geopandas as gpd
    import shapely

    outlines = utf8.copy()
    x, y = outlines.geometry.x.iloc[0], outlines.geometry.y.iloc[0]
    d = 0.0004  # an L-shaped building round the first facility, its centroid outside it
    ell = shapely.Polygon([(x, y), (x + d, y), (x + d, y + 0.1 * d), (x + 0.1 * d, y + 0.1 * d), (x + 0.1 * d, y + d),
                           (x, y + d)])
    assert not ell.contains(ell.centroid)
    outlines.loc[outlines.index[0], "geometry"] = ell
    path = tmp_path / "facilities.geojson"
    gpd.GeoDataFrame(outlines, crs="EPSG:4326").to_file(path, driver="GeoJSON")
    with caplog.at_level(logging.INFO, logger="carecircle.io.readers"):
        got = read_facilities(path)
    assert (got.geom_type == "Point").all() and ell.contains(got.geometry.iloc[0])
    assert got.geometry.iloc[1:].reset_index(drop=True).geom_equals_exact(
        utf8.geometry.iloc[1:].reset_index(drop=True), tolerance=1e-9).all()
    assert "facilities.geojson: 1 polygon footprint (building outline) taken at a point inside it" in caplog.text
