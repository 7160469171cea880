"""Townships and villages: a district mixing urban subdistricts (街道) of communities (社区) with rural townships
(乡镇) of villages (村), read from a communities file whose 城乡类型 column is written in Chinese.

Eight 1 km squares in a row (EPSG:32650), west to east:

| id | name | 城乡类型 | area_type | subdistrict | kind of subdistrict | district | pop_60plus |
|----|------|---------|-----------|-------------|---------------------|----------|-----------:|
| C1 | 东门社区 | 社区 | urban | 城关街道 | 街道 (1 of 3 villages) | 城关区 | 200 |
| C2 | 西门社区 | 城镇 | urban | 城关街道 | | 城关区 | 200 |
| C3 | 北关村 | 村 | rural | 城关街道 | | 城关区 | 100 |
| C4 | 青山社区 | 城镇 | urban | 青山镇 | 乡镇 (2 of 3 villages) | 青山县 | 100 |
| C5 | 上村 | 农村 | rural | 青山镇 | | 青山县 | 100 |
| C6 | 下村 | 村 | rural | 青山镇 | | 青山县 | 100 |
| C7 | 白水村 | 乡村 | rural | 白水乡 | 乡镇 (2 of 2) | 青山县 | 100 |
| C8 | 黑水村 | 行政村 | rural | 白水乡 | | 青山县 | 100 |

Facilities: Z1 a comprehensive centre in C1, Z2 one in C4 (青山镇's seat, a 社区), S1 and S2 home-care stations
in C1 and C2, R1 and R2 rural stations in C3 and C5. Walking coverage is set by hand (``Facts.covered``).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from carecircle.errors import InputError
from carecircle.io.readers import read_communities
from carecircle.outputs.tables import localise
from carecircle.plan.compliance import evaluate
from carecircle.plan.standards import load_profile, parse_profile

CRS = "EPSG:32650"
X0, Y0 = 500_000.0, 4_000_000.0
NAMES = ["东门社区", "西门社区", "北关村", "青山社区", "上村", "下村", "白水村", "黑水村"]
WRITTEN = ["社区", "城镇", "村", "城镇", "农村", "村", "乡村", "行政村"]
SUBDISTRICTS = ["城关街道"] * 3 + ["青山镇"] * 3 + ["白水乡"] * 2
DISTRICTS = ["城关区"] * 3 + ["青山县"] * 5
ELDERLY = [200.0, 200, 100, 100, 100, 100, 100, 100]

PROFILE = """
id: mixed-district
name_zh: 城乡混合测试
name_en: mixed district test
source: {title: 测试规划, issuer: 测试, year: 2024}
lang: en
targets:
  - id: street_centre
    kind: facility_count
    types: [comprehensive_centre]
    per: subdistrict
    area_type: urban
    levels: [overall, district, subdistrict]
    description_zh: 每个街道1个综合养老服务中心
    description_en: A centre in every subdistrict
    source: {clause: "1"}
  - id: township_centre
    kind: facility_count
    types: [comprehensive_centre]
    per: subdistrict
    min_share: 0.8
    area_type: 乡镇
    levels: [overall, district, subdistrict]
    description_zh: 80%的乡镇有综合养老服务机构
    description_en: A centre in 80% of townships
    source: {clause: "2"}
  - id: community_station
    kind: facility_count
    types: [home_care_station]
    per: community
    area_type: urban
    levels: [overall, subdistrict, community]
    description_zh: 城市社区设居家养老服务站
    description_en: A station in every urban community
    source: {clause: "3"}
  - id: village_stations
    kind: facility_count
    types: [rural_station]
    per: community
    min_share: 0.5
    area_type: rural
    levels: [overall, district, subdistrict, community]
    description_zh: 50%的村设农村养老服务站
    description_en: Rural stations in half the villages
    source: {clause: "4"}
  - id: urban_coverage
    kind: coverage
    minutes: 15
    min_share: 0.9
    area_type: urban
    levels: [overall, subdistrict]
    description_zh: 城镇老年人90%在15分钟内
    description_en: 90% of urban elderly within 15 minutes
    source: {clause: "5"}
  - id: rural_coverage
    kind: coverage
    minutes: 15
    min_share: 0.6
    area_type: rural
    levels: [overall, subdistrict]
    description_zh: 农村老年人60%在15分钟内
    description_en: 60% of rural elderly within 15 minutes
    source: {clause: "6"}
"""


class Facts:
    """What compliance reads of a study, with covered elderly set by hand."""

    def __init__(self, communities, facilities, covered):
        self.communities, self.facilities, self.covered_by = communities, facilities, covered
        self.walk_speed_mps, self.network_crs = 1.0, CRS

    def covered(self, types, minutes, population="elderly"):
        pop = self.communities.set_index("community_id")["pop_60plus"].astype(float)
        got = pd.Series(self.covered_by, dtype=float).reindex(pop.index).fillna(0.0)
        return pd.DataFrame({"population": pop, "covered": got})


@pytest.fixture
def communities(tmp_path) -> gpd.GeoDataFrame:
    """The eight communities written as GeoJSON with Chinese headers and read back."""
    squares = [shapely.box(X0 + 1000 * i, Y0, X0 + 1000 * (i + 1), Y0 + 1000) for i in range(8)]
    gdf = gpd.GeoDataFrame({"community_id": [f"C{i}" for i in range(1, 9)], "名称": NAMES, "城乡类型": WRITTEN,
                            "街道": SUBDISTRICTS, "区县": DISTRICTS, "60岁及以上人口": ELDERLY},
                           geometry=squares, crs=CRS).to_crs(4326)
    path = tmp_path / "communities.geojson"
    gdf.to_file(path, driver="GeoJSON")
    return read_communities(path)


def facilities() -> gpd.GeoDataFrame:
    rows = [("Z1", "城关中心", "comprehensive_centre", 1), ("Z2", "青山镇中心", "comprehensive_centre", 4),
            ("S1", "东门站", "home_care_station", 1), ("S2", "西门站", "home_care_station", 2),
            ("R1", "北关幸福院", "rural_station", 3), ("R2", "上村幸福院", "rural_station", 5)]
    points = [shapely.Point(X0 + 1000 * (n - 1) + 500, Y0 + 500) for *_, n in rows]
    return gpd.GeoDataFrame({"facility_id": [r[0] for r in rows], "name": [r[1] for r in rows],
                             "type": [r[2] for r in rows]}, geometry=points, crs=CRS).to_crs(4326)


COVERED = {"C1": 200, "C2": 200, "C3": 100, "C5": 100, "C6": 50}


def row(table, target, level="overall", unit="all"):
    hit = table[(table["target_id"] == target) & (table["level"] == level) & (table["unit"] == unit)]
    assert len(hit) == 1, f"{target}/{level}/{unit}: {len(hit)} rows\n{table[['target_id', 'level', 'unit']]}"
    return tuple(hit.iloc[0][["status", "value", "shortfall"]])


def units(table, target, level):
    part = table[(table["target_id"] == target) & (table["level"] == level)]
    return dict(zip(part["unit"], part["status"], strict=True))


def test_the_reader_reads_chinese_urban_and_rural(communities):
    assert list(communities["area_type"]) == ["urban", "urban", "rural", "urban", "rural", "rural", "rural", "rural"]
    assert list(communities["subdistrict"]) == SUBDISTRICTS and list(communities["name"]) == NAMES


def test_townships_and_villages_are_judged_by_their_own_rules(communities):
    table = evaluate(parse_profile(PROFILE), Facts(communities, facilities(), COVERED))

    # every 街道 has a centre: 城关街道 (Z1) → 1 of 1; the townships are not judged by it
    assert row(table, "street_centre") == ("pass", "1 of 1 subdistricts (100.0%)", "")
    assert units(table, "street_centre", "subdistrict") == {"城关街道": "pass"}
    assert units(table, "street_centre", "township") == {}
    assert units(table, "street_centre", "district") == {"城关区": "pass"}

    # 80% of 乡镇: 青山镇 has Z2 (in its seat 青山社区, which counts for the township), 白水乡 none → 1 of 2 = 50%;
    # 80% of 2 = 1.6 → 1 more township
    assert row(table, "township_centre") == (
        "fail", "1 of 2 townships (50.0%)",
        "1 more township needs subdistrict comprehensive elder-care centre (1 of 2 have one)")
    assert units(table, "township_centre", "township") == {"青山镇": "pass", "白水乡": "fail"}
    assert units(table, "township_centre", "subdistrict") == {}
    assert row(table, "township_centre", "district", "青山县")[:2] == ("fail", "1 of 2 townships (50.0%)")

    # a station in every urban community: C1 S1, C2 S2, C4 (青山镇's 社区) none → 2 of 3; subdistrict rows only for
    # the 街道 (城关街道: C1, C2 → 2 of 2); the villages are not judged
    assert row(table, "community_station") == (
        "fail", "2 of 3 communities (66.7%)", "1 of 3 communities lack community home-care station")
    assert units(table, "community_station", "subdistrict") == {"城关街道": "pass"}
    assert units(table, "community_station", "community") == {
        "东门社区": "pass", "西门社区": "pass", "青山社区": "fail"}
    assert units(table, "community_station", "village") == {}

    # rural stations in half the villages: C3 R1, C5 R2 of C3, C5, C6, C7, C8 → 2 of 5 = 40%; 2.5 → 1 more
    assert row(table, "village_stations") == (
        "fail", "2 of 5 villages (40.0%)", "1 more village needs rural elder-care station (2 of 5 have one)")
    assert units(table, "village_stations", "village") == {
        "北关村": "pass", "上村": "pass", "下村": "fail", "白水村": "fail", "黑水村": "fail"}
    # townships: 青山镇 1 of 2 = 50% → pass; 白水乡 0 of 2 → fail; 北关村 lies in a 街道: no subdistrict row
    assert units(table, "village_stations", "township") == {"青山镇": "pass", "白水乡": "fail"}
    assert units(table, "village_stations", "subdistrict") == {}
    assert units(table, "village_stations", "district") == {"城关区": "pass", "青山县": "fail"}
    assert row(table, "village_stations", "district", "城关区")[1] == "1 of 1 villages (100.0%)"

    # urban coverage ≥ 90%: C1 200 + C2 200 + C4 0 of 500 = 80% → 450 needed, 50 more; 城关街道 400/400
    assert row(table, "urban_coverage") == ("fail", "80.0%", "50 elderly more within 15 min")
    assert units(table, "urban_coverage", "subdistrict") == {"城关街道": "pass"}
    # rural coverage ≥ 60%: villages 100 + 100 + 50 + 0 + 0 of 500 = 50% → 300 needed, 50 more;
    # 青山镇 (上村 100, 下村 50 of 200) 75% pass, 白水乡 0 of 200 → 120 more
    assert row(table, "rural_coverage") == ("fail", "50.0%", "50 elderly more within 15 min")
    assert units(table, "rural_coverage", "township") == {"青山镇": "pass", "白水乡": "fail"}
    assert row(table, "rural_coverage", "township", "白水乡")[2] == "120 elderly more within 15 min"

    # a township is never called a subdistrict, nor a village a community (type names aside)
    rural = table[table["level"].isin(["township", "village"]) | table["target_id"].isin(
        ["township_centre", "village_stations", "rural_coverage"])]
    text = " ".join(rural["value"] + " " + rural["shortfall"] + " " + rural["target"])
    for name in ("subdistrict comprehensive elder-care centre", "community home-care station"):
        text = text.replace(name, "")
    assert "subdistrict" not in text.lower() and "communit" not in text.lower()


def test_chinese_labels_say_township_and_village(communities):
    table = evaluate(parse_profile(PROFILE), Facts(communities, facilities(), COVERED), lang="zh")
    assert row(table, "township_centre", unit="全部")[1:] == (
        "2个乡镇中 1 个（50.0%）", "还需 1 个乡镇配置街道综合养老服务中心（现有 1/2）")
    assert row(table, "village_stations", unit="全部")[1] == "5个村中 2 个（40.0%）"
    assert row(table, "street_centre", unit="全部")[1] == "1个街道中 1 个（100.0%）"
    assert table.loc[table["target_id"] == "township_centre", "target"].iloc[0] == "≥ 80% 的乡镇 ≥ 1 个"
    assert table.loc[table["target_id"] == "village_stations", "target"].iloc[0] == "≥ 50% 的村 ≥ 1 个"

    shown = localise(table, "zh")
    levels = dict(zip(zip(shown["指标编号"], shown["单元"], strict=True), shown["层级"], strict=True))
    assert levels[("township_centre", "白水乡")] == "乡镇"
    assert levels[("village_stations", "黑水村")] == "村"
    assert levels[("street_centre", "城关街道")] == "街道"
    assert levels[("community_station", "青山社区")] == "社区"
    rural = shown[shown["层级"].isin(["乡镇", "村"])]
    text = "".join(rural["现状"] + rural["差距"] + rural["目标"]).replace("街道综合养老服务中心", "")
    assert "街道" not in text and "社区" not in text


def test_a_bundled_profile_on_the_mixed_district(communities):
    """jingzhou-2025 二、(四)17: complexes in 100% of 街道 and comprehensive facilities in 80% of 乡镇."""
    table = evaluate(load_profile("jingzhou-2025"), Facts(communities, facilities(), COVERED), lang="en")
    assert row(table, "subdistrict_complex")[:2] == ("pass", "1 of 1 subdistricts (100.0%)")
    assert row(table, "township_facility") == (
        "fail", "1 of 2 townships (50.0%)",
        "1 more township needs subdistrict comprehensive elder-care centre (1 of 2 have one)")
    # its quarter-hour circle has no area type: the 街道 and both townships have rows, each at its own level
    assert units(table, "quarter_hour_circle", "subdistrict") == {"城关街道": "pass"}
    assert units(table, "quarter_hour_circle", "township") == {"青山镇": "fail", "白水乡": "fail"}


def test_a_rural_target_without_villages_says_what_to_mark(communities):
    urban = communities.assign(area_type="urban")
    table = evaluate(parse_profile(PROFILE), Facts(urban, facilities(), COVERED))
    status, value, short = row(table, "village_stations")
    assert (status, value) == ("unevaluable", "")
    assert short.startswith("no villages (area_type rural) among the communities")
    # its rows keep the rural names of their levels
    assert set(table.loc[table["target_id"] == "village_stations", "level"]) == {
        "overall", "district", "township", "village"}
    assert row(table, "township_centre")[2].startswith("no townships (area_type rural)")
    # the urban targets now judge every community
    assert row(table, "community_station")[:2] == ("fail", "2 of 8 communities (25.0%)")


def test_unknown_area_types_stop_the_reader(tmp_path):
    squares = [shapely.box(X0 + 1000 * i, Y0, X0 + 1000 * (i + 1), Y0 + 1000) for i in range(4)]
    gdf = gpd.GeoDataFrame({"community_id": ["A", "B", "C", "D"], "pop_60plus": [1.0, 2, 3, 4],
                            "城乡属性": ["城中村", "村", "城中村", "开发区"]}, geometry=squares, crs=CRS)
    path = tmp_path / "c.geojson"
    gdf.to_file(path, driver="GeoJSON")
    with pytest.raises(InputError, match=r"^c\.geojson: unknown 城乡属性 values '城中村' \(2 rows\), '开发区' "
                                         r"\(1 row\); write urban \(urban/.*社区.*\) or rural \(rural/.*村.*\)"):
        read_communities(path)


def test_no_area_type_column_is_all_urban(tmp_path):
    squares = [shapely.box(X0 + 1000 * i, Y0, X0 + 1000 * (i + 1), Y0 + 1000) for i in range(2)]
    gdf = gpd.GeoDataFrame({"community_id": ["A", "B"], "pop_60plus": [1.0, 2], "area_type": ["rural", np.nan]},
                           geometry=squares, crs=CRS)
    path = tmp_path / "c.geojson"
    gdf.drop(columns="area_type").to_file(path, driver="GeoJSON")
    assert list(read_communities(path)["area_type"]) == ["urban", "urban"]
    gdf.to_file(path, driver="GeoJSON")  # an empty cell is urban too
    assert list(read_communities(path)["area_type"]) == ["rural", "urban"]
