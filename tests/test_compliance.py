"""Compliance tables of every seed plan's profile on hand-made inputs, with the arithmetic worked out by hand.

The study area is six 1 km squares in a row (EPSG:32650), communities C1..C6 from west to east:

| id | name | subdistrict | district | pop_60plus | pop_total | households | pop_0_3 |
|----|------|-------------|----------|-----------:|----------:|-----------:|--------:|
| C1 | 东风社区 | 东街道 | 新兴区 | 100 | 1,000 | 400 | 20 |
| C2 | 西山社区 | 东街道 | 新兴区 | 200 | 2,000 | 800 | 30 |
| C3 | 南湖社区 | 西街道 | 新兴区 | 300 | 3,000 | 1,000 | 40 |
| C4 | 北岭社区 | 西街道 | 新兴区 | 400 | 4,000 | 1,200 | 50 |
| C5 | 红旗村 | 红旗镇 | 勃利县 | 100 | 800 | 300 | 10 |
| C6 | 新华村 | 红旗镇 | 勃利县 | 100 | 700 | 250 | 10 |

Walking coverage is not computed here: ``FakeFacts.covered`` returns numbers set by each test, which is what
the real ``CoverageFacts`` hands to compliance.
"""

from __future__ import annotations

import re

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from carecircle.cli import main
from carecircle.errors import InputError
from carecircle.io.facility_types import ELDER_CARE, OPTIONAL_TYPES, normalise_types
from carecircle.plan.compliance import COLUMNS, evaluate
from carecircle.plan.standards import list_profiles, load_profile, parse_profile

CRS = "EPSG:32650"
X0, Y0 = 500_000.0, 4_000_000.0
IDS = ["C1", "C2", "C3", "C4", "C5", "C6"]


class FakeFacts:
    """The contract's CoverageFacts with hand-set covered persons.

    ``covered_by`` maps ``(types, minutes, population)`` — types a sorted tuple of codes or ``None`` for any
    elder-care facility — to ``{community_id: covered persons}``; a question not in it fails the test.
    """

    def __init__(self, communities, facilities, covered_by=None, *, walk_speed_mps=1.0):
        self.communities = communities
        self.facilities = facilities
        self.walk_speed_mps = walk_speed_mps
        self.network_crs = CRS
        self.covered_by = covered_by or {}

    def covered(self, types, minutes, population="elderly"):
        column = {"elderly": "pop_60plus", "children": "pop_0_3"}[population]
        key = (None if types is None else tuple(sorted(types)), round(float(minutes), 4), population)
        if self.communities is None:
            return pd.DataFrame({"population": [1200.0], "covered": [self.covered_by[key]["all"]]},
                                index=pd.Index(["all"], name="community_id"))
        if column not in self.communities:
            raise InputError("no children (0–3) population given; add a pop_0_3 column to the communities.")
        pop = self.communities.set_index("community_id")[column].astype(float)
        got = pd.Series(self.covered_by[key], dtype=float).reindex(pop.index).fillna(0.0)
        return pd.DataFrame({"population": pop, "covered": got})


def communities(**columns) -> gpd.GeoDataFrame:
    """The six communities, with ``columns`` replacing or adding (``None`` drops a column)."""
    data = {
        "community_id": IDS,
        "name": ["东风社区", "西山社区", "南湖社区", "北岭社区", "红旗村", "新华村"],
        "subdistrict": ["东街道", "东街道", "西街道", "西街道", "红旗镇", "红旗镇"],
        "district": ["新兴区"] * 4 + ["勃利县"] * 2,
        "pop_60plus": [100.0, 200, 300, 400, 100, 100],
        "pop_total": [1000.0, 2000, 3000, 4000, 800, 700],
        "households": [400.0, 800, 1000, 1200, 300, 250],
        "residential": ["new", "existing", "existing", "new", pd.NA, pd.NA],
        "pop_0_3": [20.0, 30, 40, 50, 10, 10],
        "area_type": ["社区"] * 4 + ["村"] * 2,
    }
    for key, value in columns.items():
        if value is None:
            data.pop(key)
        else:
            data[key] = value
    squares = [shapely.box(X0 + 1000 * i, Y0, X0 + 1000 * (i + 1), Y0 + 1000) for i in range(6)]
    return gpd.GeoDataFrame(data, geometry=squares, crs=CRS).to_crs(4326)


def facilities(rows) -> gpd.GeoDataFrame:
    """Facilities from ``(id, name, type, community number 1..6, metres east of its west edge, extras)``;
    every point is 500 m north of the southern edge."""
    records, points = [], []
    for fid, name, code, number, dx, extra in rows:
        records.append({"facility_id": fid, "name": name, "type": code, "capacity": np.nan, "beds": np.nan,
                        "nursing_beds": np.nan, "floor_area_m2": np.nan, **extra})
        points.append(shapely.Point(X0 + 1000 * (number - 1) + dx, Y0 + 500))
    if not records:
        return gpd.GeoDataFrame({"facility_id": [], "type": []}, geometry=[], crs=4326)
    return gpd.GeoDataFrame(records, geometry=points, crs=CRS).to_crs(4326)


def row(table, target, level="overall", unit="all"):
    """(status, value, shortfall) of one row; fails unless exactly one row matches."""
    hit = table[(table["target_id"] == target) & (table["level"] == level) & (table["unit"] == unit)]
    assert len(hit) == 1, f"{target}/{level}/{unit}: {len(hit)} rows\n{table[['target_id', 'level', 'unit']]}"
    r = hit.iloc[0]
    return r["status"], r["value"], r["shortfall"]


def statuses(table, target, level):
    """{unit: status} of one target at one level."""
    part = table[(table["target_id"] == target) & (table["level"] == level)]
    return dict(zip(part["unit"], part["status"], strict=True))


# ---------------------------------------------------------------------------------------------- seed plans

def test_qitaihe_2020():
    fac = facilities([
        ("F1", "东风综合养老服务中心", "comprehensive_centre", 1, 500, {"floor_area_m2": 300.0}),
        ("F2", "西区综合养老服务中心", "comprehensive_centre", 3, 500, {"floor_area_m2": 500.0}),
        ("F3", "西山养老服务站", "home_care_station", 2, 500, {"floor_area_m2": 100.0}),
        ("F4", "北岭养老服务站", "home_care_station", 4, 500, {}),  # floor area not given
        ("F5", "南湖日间照料中心", "day_care", 3, 200, {}),  # floor area not given
        ("F6", "市福利院", "care_home", 3, 800, {"beds": 100.0, "nursing_beds": 40.0}),
        ("F7", "勃利县敬老院", "care_home", 5, 500, {"beds": 60.0, "nursing_beds": 30.0}),
        ("F8", "新华幸福院", "rural_station", 6, 500, {}),
    ])
    covered = {(("day_care",), 15.0, "elderly"): {"C1": 100, "C2": 200, "C3": 250, "C4": 400}}
    table = evaluate(load_profile("qitaihe-2020"), FakeFacts(communities(), fac, covered), lang="en")
    assert list(table.columns) == list(COLUMNS)

    # day-care coverage ≥ 90% within 15 min is a task of urban communities (三、(一)2 "发展城市社区养老服务"):
    # C1..C4 covered 100+200+250+400 = 950 of 1,000 = 95.0% → pass; the villages C5, C6 are not judged.
    assert row(table, "daycare_coverage") == ("pass", "95.0%", "")
    # 东街道 300/300 = 100%; 西街道 (250+400)/(300+400) = 92.9%; the township 红旗镇 has no row.
    assert statuses(table, "daycare_coverage", "subdistrict") == {"东街道": "pass", "西街道": "pass"}
    assert row(table, "daycare_coverage", "subdistrict", "西街道")[1] == "92.9%"
    assert statuses(table, "daycare_coverage", "township") == {}

    # ≥ 1 comprehensive centre in every 街道 (二、(二)): 东 (F1) and 西 (F2) → 2 of 2.
    assert row(table, "subdistrict_centre") == ("pass", "2 of 2 subdistricts (100.0%)", "")
    assert statuses(table, "subdistrict_centre", "subdistrict") == {"东街道": "pass", "西街道": "pass"}
    assert statuses(table, "subdistrict_centre", "district") == {"新兴区": "pass"}  # 勃利县 has no 街道
    # and a centre in every 乡镇 (三、(一)2 "17个乡镇"): 红旗镇 (C5, C6 villages) has none → a township row
    assert row(table, "township_centre") == (
        "fail", "0 of 1 townships (0.0%)", "1 of 1 townships lack subdistrict comprehensive elder-care centre")
    assert row(table, "township_centre", "township", "红旗镇")[0::2] == (
        "fail", "needs 1 more subdistrict comprehensive elder-care centre")
    assert statuses(table, "township_centre", "district") == {"勃利县": "fail"}

    # a station (or centre) in every urban community: C1 F1, C2 F3, C3 F2, C4 F4 → 4 of 4; villages not judged
    assert row(table, "community_station") == ("pass", "4 of 4 communities (100.0%)", "")
    assert statuses(table, "community_station", "community") == {
        "东风社区": "pass", "西山社区": "pass", "南湖社区": "pass", "北岭社区": "pass"}
    assert statuses(table, "community_station", "village") == {}

    # service space, new ≥ 20 and existing ≥ 15 m² per 100 households:
    # C1 new, 400 hh → 80 m² needed, F1 300 m² → pass (75.0 m²/100 hh)
    # C2 existing, 800 hh → 120 m², F3 100 m² → fail, needs 20 m²
    # C3 existing, 1,000 hh → 150 m², F2 500 m² known (+ F5 unknown) → pass already
    # C4 new, 1,200 hh → 240 m², only F4 whose area is unknown → unevaluable
    # C5, C6: new or existing not given → unevaluable
    assert row(table, "service_space", "community", "东风社区") == ("pass", "75.0 m²/100 hh", "")
    assert row(table, "service_space", "community", "西山社区") == ("fail", "12.5 m²/100 hh", "needs 20 m² more")
    assert row(table, "service_space", "community", "南湖社区")[0] == "pass"
    assert row(table, "service_space", "community", "北岭社区") == (
        "unevaluable", "", "floor area not given for 1 facilities (known so far: 0.0 m²/100 hh)")
    assert row(table, "service_space", "village", "红旗村")[0::2] == (
        "unevaluable", "new/existing residential area not given (known so far: 0.0 m²/100 hh)")
    assert row(table, "service_space", "subdistrict", "东街道") == (
        "fail", "1 of 2 communities meet", "1 of 2 communities below standard; needs 20 m² more in total")
    assert row(table, "service_space", "subdistrict", "西街道")[0::2] == (
        "unevaluable", "1 of 2 communities cannot be checked (residential, households or floor area missing) "
        "(known so far: 1 of 2 communities meet)")
    assert row(table, "service_space") == (
        "fail", "2 of 6 communities and villages meet",
        "1 of 6 communities and villages below standard; needs 20 m² more in total; 3 cannot be checked")
    assert row(table, "service_space", "township", "红旗镇")[0::2] == (
        "unevaluable", "2 of 2 villages cannot be checked (residential, households or floor area missing) "
        "(known so far: 0 of 2 villages meet)")

    # rows of a level follow the order of the communities, villages among them
    part = table[(table["target_id"] == "service_space") & table["level"].isin(["community", "village"])]
    assert list(zip(part["level"], part["unit"], strict=True)) == [
        ("community", "东风社区"), ("community", "西山社区"), ("community", "南湖社区"), ("community", "北岭社区"),
        ("village", "红旗村"), ("village", "新华村")]

    # nursing-type beds ≥ 50%: (40 + 30) / (100 + 60) = 43.75%; 50% of 160 = 80 → 10 more.
    assert row(table, "nursing_beds") == ("fail", "43.8%", "10 more of the 160 beds must be nursing-type")
    nursing = table[table["target_id"] == "nursing_beds"].iloc[0]
    assert (nursing["value_num"], nursing["target_num"]) == (0.4375, 0.5)

    # 敬老院 of 市本级 and 勃利县 (二、(三)) are public: without an ownership column no care home can be told
    # from a private one → unevaluable, never pass
    for target in ("city_care_home", "boli_care_home"):
        assert row(table, target)[0::2] == (
            "unevaluable", "facilities have no ownership column (needed to select 公办, 公建民营, 公办民营, public)")

    # rural stations in ≥ 10% of villages: villages (area_type 村) C5, C6; F8 in C6 → 1 of 2 = 50%.
    assert row(table, "rural_stations")[:2] == ("pass", "1 of 2 villages (50.0%)")
    assert statuses(table, "rural_stations", "district") == {"勃利县": "pass"}  # 新兴区 has no villages

    # the table's other columns come from the profile
    first = table.iloc[0]
    assert first["source"] == "七台河市推进养老服务发展工作方案 二、(二)；三、(一)2"
    assert first["target"] == "≥ 90% within 15 min" and first["target_num"] == 0.9
    assert first["description_zh"].startswith("2022年社区日间照料机构覆盖率")
    assert table.loc[table["target_id"] == "city_care_home", "source"].iloc[0] == \
        "七台河市推进养老服务发展工作方案 二、(三)"


def test_qitaihe_care_homes_of_the_city_and_boli_county_are_public_ones():
    """二、(三) "确保市本级和勃利县均建有…特困人员供养服务设施(敬老院)": one public care home in the city's
    districts (新兴区, 桃山区, 茄子河区) and one in 勃利县; a private care home in 勃利县 does not count."""
    fac = facilities([
        ("K1", "市福利院", "care_home", 3, 800, {"ownership": "公办"}),  # 新兴区
        ("K2", "康乐养老院", "care_home", 5, 500, {"ownership": "民办"}),  # 勃利县, private
    ])
    none = {(("day_care",), 15.0, "elderly"): {}}
    table = evaluate(load_profile("qitaihe-2020"), FakeFacts(communities(), fac, none), lang="en")
    assert row(table, "city_care_home") == ("pass", "1", "")
    assert row(table, "boli_care_home") == ("fail", "0", "needs 1 more care institution (beds)")
    # a 公建民营 敬老院 in 勃利县 is a public one
    fac["ownership"] = ["公办", "公建民营"]
    table = evaluate(load_profile("qitaihe-2020"), FakeFacts(communities(), fac, none), lang="en")
    assert row(table, "boli_care_home") == ("pass", "1", "")
    # a public care home in 勃利县 only: the city proper still lacks one (not "every district")
    fac = facilities([("K3", "勃利县敬老院", "care_home", 6, 500, {"ownership": "公办"})])
    table = evaluate(load_profile("qitaihe-2020"), FakeFacts(communities(), fac, none), lang="en")
    assert (row(table, "city_care_home")[0], row(table, "boli_care_home")[0]) == ("fail", "pass")


def test_qiqihar_2025():
    fac = facilities([
        ("F1", "东风中心", "comprehensive_centre", 1, 500, {"floor_area_m2": 300.0, "beds": 2.0}),
        ("F2", "西区中心", "comprehensive_centre", 3, 500, {"beds": 0.0}),
        ("F4", "北岭站", "home_care_station", 4, 500, {"floor_area_m2": 200.0}),
        ("F5", "南湖日照", "day_care", 3, 200, {"beds": 5.0}),
        ("F6", "市福利院", "care_home", 3, 800, {"beds": 30.0, "nursing_beds": 20.0}),
        ("F7", "红旗敬老院", "care_home", 5, 500, {"beds": 10.0}),  # nursing beds not given
        ("F8", "新华幸福院", "rural_station", 6, 500, {}),
        ("F9", "东风托育", "childcare", 1, 300, {"capacity": 40.0}),
        ("F10", "北岭托育", "childcare", 4, 300, {"capacity": 20.0}),
    ])
    covered = {
        (None, 15.0, "elderly"): {"C1": 100, "C2": 200, "C3": 300, "C4": 400, "C5": 50, "C6": 100},
        (("childcare",), 15.0, "children"): {"C1": 20, "C4": 10},
    }
    table = evaluate(load_profile("qiqihar-2025"), FakeFacts(communities(), fac, covered), lang="en")

    # any elder-care within 15 min, target 100%: 1,150 of 1,200 = 95.8% → 50 more (all in C5).
    assert row(table, "home_community_coverage") == ("fail", "95.8%", "50 elderly more within 15 min")
    assert statuses(table, "home_community_coverage", "district") == {"勃利县": "fail", "新兴区": "pass"}
    assert statuses(table, "home_community_coverage", "subdistrict") == {"东街道": "pass", "西街道": "pass"}
    assert statuses(table, "home_community_coverage", "township") == {"红旗镇": "fail"}  # its villages: 乡镇

    # beds per 1,000 elderly ≥ 41 count institutional beds only (the plan's 2020 figure 39 ≈ 38.7 is care-home
    # beds): care homes 30 + 10 = 40 for 1,200 elderly = 33.3 (the centres' 2 and day care's 5 beds do not count);
    # 1,200 / 1,000 × 41 = 49.2 → 9.2 → 10 more (rounded up).
    assert row(table, "beds_per_1000") == ("fail", "33.3 per 1,000", "needs 10 beds more")
    zh = evaluate(load_profile("qiqihar-2025"), FakeFacts(communities(), fac, covered), lang="zh")
    assert row(zh, "beds_per_1000", unit="全部")[1] == "33.3/千人"  # no stray space before the unit
    # 新兴区: 30 beds for 1,000 elderly = 30.0, needs 41 → 11 more; 勃利县: 10 for 200 = 50.0 ≥ 41.
    assert row(table, "beds_per_1000", "district", "新兴区") == ("fail", "30.0 per 1,000", "needs 11 beds more")
    assert row(table, "beds_per_1000", "district", "勃利县")[:2] == ("pass", "50.0 per 1,000")

    # nursing share ≥ 55%: known 20 of 40 beds = 50%, but F7's nursing beds are unknown → unevaluable;
    # 新兴区: 20 / 30 = 66.7% → pass; 勃利县: only F7 → unevaluable.
    assert row(table, "nursing_beds") == (
        "unevaluable", "", "nursing_beds not given for 1 care institution (beds) (known so far: 50.0%)")
    assert statuses(table, "nursing_beds", "district") == {"勃利县": "unevaluable", "新兴区": "pass"}

    # 30 m² per 100 households in new areas only: C1 400 hh → 120 m², F1 300 → pass; C4 1,200 hh → 360 m²,
    # F4 200 → needs 160; C2, C3 existing: no standard in this plan, not listed; C5, C6 not classified.
    assert statuses(table, "service_space_new", "community") == {"东风社区": "pass", "北岭社区": "fail"}
    assert statuses(table, "service_space_new", "village") == {"红旗村": "unevaluable", "新华村": "unevaluable"}
    assert row(table, "service_space_new", "community", "北岭社区")[2] == "needs 160 m² more"
    assert row(table, "service_space_new")[0::2] == (
        "fail", "1 of 4 communities and villages below standard; needs 160 m² more in total; 2 cannot be checked")

    # childcare places ≥ 4.5 per 1,000 residents: 40 + 20 = 60 places for 11,500 residents = 5.2 (needs 51.75).
    assert row(table, "childcare_places") == ("pass", "5.2 per 1,000", "")
    # 勃利县: 1,500 residents need 6.75 places, has none → 7 more.
    assert row(table, "childcare_places", "district", "勃利县") == ("fail", "0.0 per 1,000", "needs 7 places more")

    # childcare coverage of children 0–3 ≥ 20%: (20 + 10) / 160 = 18.75%; 20% of 160 = 32 → 2 more.
    assert row(table, "childcare_coverage") == ("fail", "18.8%", "2 children aged 0–3 more within 15 min")
    # 东街道 20/50 = 40%; 西街道 10/90 = 11.1%, 18 needed → 8 more; 红旗镇 0/20 → 4 more.
    assert row(table, "childcare_coverage", "subdistrict", "东街道")[:2] == ("pass", "40.0%")
    assert row(table, "childcare_coverage", "subdistrict", "西街道")[2] == "8 children aged 0–3 more within 15 min"

    # mutual-aid facilities in ≥ 80% of villages: 1 of 2 = 50%; 80% of 2 = 1.6 → 1 more village.
    assert row(table, "rural_mutual_aid") == (
        "fail", "1 of 2 villages (50.0%)", "1 more village needs rural elder-care station (1 of 2 have one)")

    # ≥ 50 childcare institutions (三、(七) 登记备案的托育机构数 50个; 四、(八)2): F9, F10 → 48 more
    assert row(table, "childcare_facilities") == ("fail", "2", "needs 48 more childcare")
    # public ones need the facilities' ownership (机构性质) → without it, unevaluable
    assert row(table, "public_childcare")[0] == "unevaluable"
    assert row(table, "public_nursing_beds")[0] == "unevaluable"
    # 老年大学 tiers (四、(十一)1): no elder-education facility listed → not checked (a care table need not list them)
    for target in ("elder_university_county", "elder_school_subdistrict", "elder_learning_point"):
        part = table[table["target_id"] == target]
        assert set(part["status"]) == {"unevaluable"}, target
        assert "among the facilities; list them in the facilities table" in part["shortfall"].iloc[0]


def test_qiqihar_without_children_or_households():
    """Childcare coverage without children 0–3 and floor area without households: unevaluable, never pass."""
    fac = facilities([("F9", "东风托育", "childcare", 1, 300, {"capacity": 400.0})])
    covered = {(None, 15.0, "elderly"): dict.fromkeys(IDS, 1000)}
    table = evaluate(load_profile("qiqihar-2025"),
                     FakeFacts(communities(pop_0_3=None, households=None), fac, covered), lang="en")
    cov = table[table["target_id"] == "childcare_coverage"]
    assert set(cov["status"]) == {"unevaluable"} and set(cov["level"]) == {"overall", "district", "subdistrict"}
    assert cov["shortfall"].str.contains("pop_0_3").all()
    space = table[table["target_id"] == "service_space_new"]
    assert set(space["status"]) == {"unevaluable"}
    assert space["shortfall"].iloc[0] == "communities have no households (户数) column"
    # beds: no care home, centre or day-care centre at all → 0 known, none unknown: a real fail;
    # 1,200 elderly × 41 / 1,000 = 49.2 → 50 beds
    assert row(table, "beds_per_1000") == ("fail", "0.0 per 1,000", "needs 50 beds more")


def test_jingzhou_2025():
    fac = facilities([
        ("F1", "东风综合体", "comprehensive_centre", 1, 500, {}),
        ("H1", "东风卫生服务中心", "health_centre", 1, 560, {}),  # 60 m from F1
        ("F2", "西区综合体", "comprehensive_centre", 3, 500, {}),
        ("H2", "南湖卫生服务站", "health_centre", 3, 650, {}),  # 150 m from F2
        ("F5", "红旗镇综合体", "comprehensive_centre", 5, 500, {}),  # no health centre nearby
        ("F6", "县福利院", "care_home", 3, 800, {}),
    ])
    covered = {(None, 15.0, "elderly"): {"C1": 100, "C2": 200, "C3": 300, "C4": 400, "C5": 100, "C6": 100}}
    # no area_type column: townships cannot be told apart
    table = evaluate(load_profile("jingzhou-2025"), FakeFacts(communities(area_type=None), fac, covered), lang="en")

    # everyone within 15 min: 1,200 of 1,200 → pass at every level
    assert set(table.loc[table["target_id"] == "quarter_hour_circle", "status"]) == {"pass"}
    assert row(table, "quarter_hour_circle") == ("pass", "100.0%", "")

    # a complex in every subdistrict: 东 F1, 西 F2, 红旗镇 F5 → 3 of 3
    assert row(table, "subdistrict_complex")[:2] == ("pass", "3 of 3 subdistricts (100.0%)")

    # without area_type every community is urban: no township, so the township target cannot be checked
    town = table[table["target_id"] == "township_facility"]
    assert list(town["status"]) == ["unevaluable", "unevaluable"]
    assert town["shortfall"].iloc[0].startswith("no townships (area_type rural) among the communities")

    # a county-level 特困人员供养服务机构 (二、(四)14) is public: no ownership column → unevaluable
    assert row(table, "county_care_home")[0::2] == (
        "unevaluable", "facilities have no ownership column (needed to select 公办, 公建民营, 公办民营, public)")
    # F6 public in 新兴区, 勃利县 none → 1 of 2 districts lack one
    fac["ownership"] = ["", "", "", "", "", "公办"]
    table = evaluate(load_profile("jingzhou-2025"), FakeFacts(communities(area_type=None), fac, covered), lang="en")
    assert row(table, "county_care_home")[0::2] == ("fail", "1 of 2 districts lack care institution (beds)")
    # the county guidance centre (二、(四)17 "成立县级养老服务指导中心"): none listed → not checked, saying so
    assert row(table, "county_guidance_centre")[0::2] == (
        "unevaluable", "no elder-care guidance centre among the facilities; list them in the facilities table to "
        "check this target")
    # one in 新兴区 (C2), none in 勃利县 → 1 of 2 districts lack one
    guided = pd.concat([fac, facilities([("G1", "新兴区养老服务指导中心", "guidance_centre", 2, 500, {})])],
                       ignore_index=True)
    table = evaluate(load_profile("jingzhou-2025"), FakeFacts(communities(area_type=None), guided, covered),
                     lang="en")
    assert row(table, "county_guidance_centre") == (
        "fail", "1 of 2 districts (50.0%)", "1 of 2 districts lack elder-care guidance centre")
    assert statuses(table, "county_guidance_centre", "district") == {"新兴区": "pass", "勃利县": "fail"}
    assert row(table, "county_guidance_centre", "district", "勃利县")[2] == "needs 1 more elder-care guidance centre"
    # the centre serves no circle: the coverage target asks about elder-care facilities only (as before)
    assert row(table, "quarter_hour_circle") == ("pass", "100.0%", "")

    # elder-care facilities with a health centre within 100 m: F1 (60 m) yes; F2 (150 m) no; F5 no → 1 of 3
    assert row(table, "health_adjacent") == (
        "fail", "1 of 3 (33.3%)",
        "2 of 3 subdistrict comprehensive elder-care centre / day-care centre / community home-care station have "
        "no community health centre within 100 m")
    assert statuses(table, "health_adjacent", "district") == {"勃利县": "fail", "新兴区": "fail"}
    assert row(table, "health_adjacent", "district", "新兴区")[1] == "1 of 2 (50.0%)"


def test_jingzhou_townships_with_area_type():
    """With area_type, townships are the subdistricts of village communities: 红旗镇 has a complex → 1 of 1
    townships (80% needed); the 街道 are judged by their own 100% rule: 东, 西 have none → 0 of 2."""
    fac = facilities([("F5", "红旗镇综合体", "comprehensive_centre", 5, 500, {})])
    covered = {(None, 15.0, "elderly"): {}}
    table = evaluate(load_profile("jingzhou-2025"), FakeFacts(communities(), fac, covered), lang="en")
    assert row(table, "township_facility")[:2] == ("pass", "1 of 1 townships (100.0%)")
    assert row(table, "subdistrict_complex") == (
        "fail", "0 of 2 subdistricts (0.0%)",
        "2 of 2 subdistricts lack subdistrict comprehensive elder-care centre")
    assert set(table.loc[table["target_id"] == "subdistrict_complex", "unit"]) == {"all", "新兴区", "东街道", "西街道"}
    # nobody within 15 min: 0 of 1,200 → 1,200 more
    assert row(table, "quarter_hour_circle") == ("fail", "0.0%", "1,200 elderly more within 15 min")


def test_shenyang_2021():
    fac = facilities([
        ("F1", "东风中心", "comprehensive_centre", 1, 500, {"floor_area_m2": 150.0}),
        ("F2", "南湖中心", "comprehensive_centre", 3, 500, {"floor_area_m2": 300.0}),
        ("F3", "西山站", "home_care_station", 2, 500, {"floor_area_m2": 150.0}),
        ("F4", "北岭站", "home_care_station", 4, 500, {"floor_area_m2": 400.0}),
        ("F11", "北岭助餐点", "canteen", 4, 600, {"floor_area_m2": 30.0}),
        ("F6", "市福利院", "care_home", 3, 800, {"beds": 100.0, "nursing_beds": 40.0}),
        ("F7", "红旗敬老院", "care_home", 5, 500, {"beds": 50.0, "nursing_beds": 10.0}),
        ("F9", "东风托育", "childcare", 1, 300, {"floor_area_m2": 250.0}),
        ("F10", "幸福托育", "childcare", 4, 300, {"floor_area_m2": 150.0}),
        ("F12", "红旗托育", "childcare", 5, 300, {}),  # floor area not given
    ])
    coms = communities(residential=["new", "existing", "existing", "new", "existing", "既有"])
    table = evaluate(load_profile("shenyang-2021"), FakeFacts(coms, fac), lang="en")

    # 2021 target: ≥ 35 m²/100 hh in new areas only (二、(一)1 "2021年，新建居住区100%达到…35平方米"):
    # C1 new 400 hh → 140 m², has 150 → pass     C4 new 1,200 → 420, has 400 + 30 = 430 → pass
    # C2, C3, C5, C6 are existing areas: no 2021 standard, not listed
    assert statuses(table, "service_space", "community") == {"东风社区": "pass", "北岭社区": "pass"}
    assert row(table, "service_space", "community", "北岭社区")[1] == "35.8 m²/100 hh"  # 430 / 1,200 × 100
    assert row(table, "service_space") == ("pass", "2 of 2 communities meet", "")
    # 25 m² for existing areas is a three-year catch-up plan (二、(一)4 "配建三年达标计划"): never checked
    status, value, short = row(table, "service_space_existing")
    assert (status, value) == ("unevaluable", "") and "three-year catch-up plan" in short
    assert list(table.loc[table["target_id"] == "service_space_existing", "level"]) == ["overall"]

    # a station in every urban community (二、(一)4 "社区养老服务站在城市社区全覆盖"), a comprehensive centre
    # counting as one (as qitaihe-2020 reads it): C1 F1 centre, C2 F3 station, C3 F2 centre, C4 F4 station → 4 of 4;
    # the villages C5, C6 are not held to it
    assert row(table, "community_station") == ("pass", "4 of 4 communities (100.0%)", "")
    assert statuses(table, "community_station", "subdistrict") == {"东街道": "pass", "西街道": "pass"}
    assert row(table, "community_station", "community", "东风社区")[:2] == ("pass", "1")

    # childcare ≥ 200 m² applies to new/rebuilt/extended childcare only (二、(一)1 "新建、改建、扩建的托育机构"):
    # without a build_status column it cannot be told which → unevaluable
    assert row(table, "childcare_size")[0::2] == (
        "unevaluable", "facilities have no build_status column (needed to select 新建, 改建, 扩建, new, rebuilt, "
        "extended)")
    # F9 新建 250 ok, F10 改建 150 too small, F12 existing (not held to 200 m²) → 1 of 2 → fail
    fac["build_status"] = ["", "", "", "", "", "", "", "新建", "改建", "既有"]
    table = evaluate(load_profile("shenyang-2021"), FakeFacts(coms, fac), lang="en")
    assert row(table, "childcare_size") == ("fail", "1 of 2 (50.0%)", "1 of 2 childcare below 200 m²: 幸福托育 150 m²")
    assert statuses(table, "childcare_size", "subdistrict") == {"东街道": "pass", "西街道": "fail"}

    # nursing share ≥ 40%: (40 + 10) / 150 = 33.3%; 40% of 150 = 60 → 10 more
    assert row(table, "nursing_beds") == ("fail", "33.3%", "10 more of the 150 beds must be nursing-type")
    # 新兴区 exactly 40 / 100 = 40% → pass; 勃利县 10 / 50 = 20% → 40% of 50 = 20 → 10 more
    assert row(table, "nursing_beds", "district", "新兴区")[:2] == ("pass", "40.0%")
    assert row(table, "nursing_beds", "district", "勃利县")[2] == "10 more of the 50 beds must be nursing-type"


def test_chishui_2020():
    fac = facilities([
        ("F1", "东风中心", "comprehensive_centre", 1, 500, {}),
        ("H1", "东风卫生服务中心", "health_centre", 1, 560, {}),  # 60 m
        ("N1", "东风护理站", "nursing_station", 1, 450, {}),  # 50 m
        ("F3", "西山站", "home_care_station", 2, 500, {}),
        ("N3", "西山护理站", "nursing_station", 2, 590, {}),  # 90 m, but no health centre near F3
        ("F4", "北岭站", "home_care_station", 4, 500, {}),  # nothing near
        ("F5", "红旗村站", "home_care_station", 5, 500, {}),  # a village: 三站合一 is for urban communities
        ("D1", "日照一", "day_care", 1, 100, {}), ("D2", "日照二", "day_care", 3, 100, {}),
        ("D3", "日照三", "day_care", 5, 100, {}),
        ("K1", "大同镇敬老院", "care_home", 5, 800, {}), ("K2", "市老年养护楼", "care_home", 3, 800, {}),
    ])
    table = evaluate(load_profile("chishui-2020"), FakeFacts(communities(), fac), lang="en")

    # three stations in one (二、(七)) needs the centre/station with a health centre AND a nursing station (护理站)
    # within 100 m: F1 has both (60 m, 50 m); F3 only a nursing station; F4 neither → 1 of 3 urban ones
    assert row(table, "three_stations") == (
        "fail", "1 of 3 (33.3%)",
        "2 of 3 subdistrict comprehensive elder-care centre / community home-care station do not have all of "
        "community health centre and nursing station within 100 m")
    assert statuses(table, "three_stations", "subdistrict") == {"东街道": "fail", "西街道": "fail"}
    assert row(table, "three_stations", "subdistrict", "东街道")[1] == "1 of 2 (50.0%)"
    # a health centre alone is not enough: without N1, F1 fails too
    table_no_nursing = evaluate(load_profile("chishui-2020"),
                                FakeFacts(communities(), fac[fac["facility_id"] != "N1"]), lang="en")
    assert row(table_no_nursing, "three_stations")[:2] == ("fail", "0 of 3 (0.0%)")

    # "在街道打造嵌入式社区养老服务机构试点" asks for pilots: no per-subdistrict target
    assert "embedded_facility" not in set(table["target_id"])

    # ≥ 10 乡镇敬老院 are public homes: without the facilities' ownership not evaluable; ≥ 3 day-care centres: 3
    assert row(table, "township_care_homes")[0::2] == (
        "unevaluable", "facilities have no ownership column (needed to select 公办, 公建民营, 公办民营, public)")
    assert row(table, "daycare_centres") == ("pass", "3", "")


def test_chishui_township_care_homes_are_public_homes_in_townships():
    """二、(三) "组织实施10个乡镇敬老院提质改造任务": public care homes anywhere in a township (乡镇: a subdistrict
    of at least half villages), also in its seat's 社区; none in a 街道, no private home."""
    coms = communities(area_type=["社区"] * 5 + ["村"])  # 红旗镇: C5 its seat (社区), C6 a village → a township
    fac = facilities([
        ("K1", "红旗镇敬老院", "care_home", 5, 500, {"ownership": "公办"}),  # in the seat's 社区: counts
        ("K2", "新华村敬老院", "care_home", 6, 500, {"ownership": "公建民营"}),  # counts
        ("K3", "康乐养老院", "care_home", 6, 200, {"ownership": "民办"}),  # private: no
        ("K4", "市老年养护楼", "care_home", 3, 800, {"ownership": "公办"}),  # 西街道, urban: no
    ])
    table = evaluate(load_profile("chishui-2020"), FakeFacts(coms, fac), lang="en")
    assert row(table, "township_care_homes") == ("fail", "2", "needs 8 more care institution (beds)")
    table = evaluate(load_profile("chishui-2020"), FakeFacts(coms, fac), lang="zh")
    assert row(table, "township_care_homes", unit="全部")[1:] == ("2", "还需 8 个养老机构")
    # no townships marked: not evaluable, saying to mark them (before: every care home counted)
    table = evaluate(load_profile("chishui-2020"), FakeFacts(communities(area_type=None), fac), lang="en")
    assert row(table, "township_care_homes")[0::2] == (
        "unevaluable", "no townships (area_type rural) among the communities; mark the communities' area_type "
        "(城乡类型: 社区/村)")


def test_chishui_without_communities():
    """Demand points only: every facility is urban; overall rows are still computed, subdistrict rows say what
    is missing."""
    fac = facilities([
        ("F1", "东风中心", "comprehensive_centre", 1, 500, {}), ("H1", "卫生服务中心", "health_centre", 1, 560, {}),
    ])
    table = evaluate(load_profile("chishui-2020"), FakeFacts(None, fac), lang="en")
    assert row(table, "three_stations")[:2] == ("fail", "0 of 1 (0.0%)")  # no nursing station
    assert row(table, "three_stations", "subdistrict", "—")[0] == "unevaluable"
    assert row(table, "daycare_centres") == ("fail", "0", "needs 3 more day-care centre")


def test_gb50180_distances_use_the_walking_speed():
    """300 m at 0.8 m/s is 6.25 minutes, 1,000 m is 20.8333 minutes."""
    fac = facilities([("D1", "托老所", "day_care", 1, 500, {"floor_area_m2": 400.0}),
                      ("D2", "日照", "day_care", 2, 500, {"floor_area_m2": 300.0})])
    covered = {(("day_care",), 6.25, "elderly"): {"C1": 100, "C2": 150}}
    table = evaluate(load_profile("gb50180-2018"), FakeFacts(communities(), fac, covered, walk_speed_mps=0.8),
                     lang="en")
    # day care within 300 m, 100%: 250 of 1,200 = 20.8% → 950 more
    assert row(table, "daycare_5min") == ("fail", "20.8%", "950 elderly more within 300 m")
    assert table.loc[table["target_id"] == "daycare_5min", "target"].iloc[0] == \
        "≥ 100% within 300 m (6.2 min at 0.8 m/s)"
    assert row(table, "daycare_5min", "community", "东风社区")[0] == "pass"
    assert row(table, "daycare_5min", "community", "西山社区") == ("fail", "75.0%", "50 elderly more within 300 m")
    # no care-home radius in the standard (800–1,000 m is the 15-minute circle's extent): no such target
    assert "care_home_15min" not in set(table["target_id"])
    # day care ≥ 350 m²: D1 400 ok, D2 300 too small
    assert row(table, "daycare_size")[0::2] == ("fail", "1 of 2 day-care centre below 350 m²: 日照 300 m²")


def test_gb50437_beds_and_area_per_bed():
    fac = facilities([
        ("K1", "养老院", "care_home", 3, 500, {"beds": 40.0, "floor_area_m2": 1600.0}),  # 40 m²/bed
        ("K2", "养护院", "care_home", 5, 500, {"beds": 10.0, "floor_area_m2": 300.0}),  # 30 m²/bed
    ])
    table = evaluate(load_profile("gb50437"), FakeFacts(communities(), fac), lang="en")
    # ≥ 40 beds per 1,000 elderly: 50 beds for 1,200 = 41.7 → pass (48 needed)
    assert row(table, "beds_per_1000") == ("pass", "41.7 per 1,000", "")
    # 新兴区 40 for 1,000 = 40.0 → pass (exactly); 勃利县 10 for 200 = 50.0 → pass;
    # 东街道 0 for 300 → 12 more; 西街道 40 for 700 = 57.1 → pass
    assert statuses(table, "beds_per_1000", "district") == {"勃利县": "pass", "新兴区": "pass"}
    assert row(table, "beds_per_1000", "subdistrict", "东街道") == ("fail", "0.0 per 1,000", "needs 12 beds more")
    # ≥ 35 m² per bed: K1 40 ok, K2 30 not
    assert row(table, "floor_area_per_bed")[0::2] == (
        "fail", "1 of 2 care institution (beds) below 35 m² per bed: 养护院 30.0 m²/bed")


# ---------------------------------------------------------------------------------------- general behaviour

@pytest.mark.parametrize("profile_id", [p[0] for p in list_profiles()])
def test_every_profile_on_bare_inputs_never_passes_what_it_cannot_check(profile_id):
    """Communities with only the required columns and facilities with no capacity, beds or floor areas:
    every row that needs a missing input is unevaluable, and unevaluable rows say why."""
    coms = communities(subdistrict=None, district=None, pop_total=None, households=None, residential=None,
                       pop_0_3=None, area_type=None)
    fac = facilities([("F1", "站", "home_care_station", 1, 500, {}), ("K1", "院", "care_home", 2, 500, {}),
                      ("T1", "托", "childcare", 3, 500, {}), ("D1", "日照", "day_care", 4, 500, {})])

    class AllCovered(FakeFacts):
        def covered(self, types, minutes, population="elderly"):
            if population == "children":
                raise InputError("no children (0–3) population given; add a pop_0_3 column.")
            pop = self.communities.set_index("community_id")["pop_60plus"]
            return pd.DataFrame({"population": pop, "covered": pop})

    profile = load_profile(profile_id)
    table = evaluate(profile, AllCovered(coms, fac), lang="en")
    assert list(table.columns) == list(COLUMNS)
    assert table["status"].isin(["pass", "fail", "unevaluable"]).all()
    unev = table[table["status"] == "unevaluable"]
    assert (unev["shortfall"] != "").all() and (unev["value"] == "").all() and unev["value_num"].isna().all()
    assert (table.loc[table["status"] == "pass", "shortfall"] == "").all()
    kinds = {t.id: t.kind for t in profile.targets}
    needs_data = {"floor_area_per_100_households", "beds_per_1000_elderly", "nursing_bed_share",
                  "places_per_1000_residents", "min_floor_area"}
    for target_id, kind in kinds.items():
        part = table[table["target_id"] == target_id]
        if kind in needs_data:
            assert (part["status"] != "pass").all(), (target_id, part)
        # no subdistrict or district column: those levels are unevaluable
        assert (part.loc[part["level"].isin(["subdistrict", "district"]), "status"] == "unevaluable").all()


def test_chinese_texts():
    fac = facilities([("F1", "东风中心", "comprehensive_centre", 1, 500, {})])
    covered = {(("day_care",), 15.0, "elderly"): {"C1": 100}}
    table = evaluate(load_profile("qitaihe-2020"), FakeFacts(communities(), fac, covered))  # the profile's zh
    # urban communities only: 100 of 1,000 = 10.0%; 900 needed → 800 more
    assert row(table, "daycare_coverage", unit="全部") == ("fail", "10.0%", "还需 800名老年人进入15分钟范围")
    assert row(table, "subdistrict_centre", unit="全部")[2] == "2个街道中 1 个缺少街道综合养老服务中心"
    assert row(table, "township_centre", unit="全部")[1:] == (
        "1个乡镇中 0 个（0.0%）", "1个乡镇中 1 个缺少街道综合养老服务中心")
    assert row(table, "rural_stations", unit="全部")[1] == "2个村中 0 个（0.0%）"
    assert row(table, "township_centre", "township", "红旗镇")[2] == "还需 1 个街道综合养老服务中心"
    assert row(table, "nursing_beds", unit="全部")[0::2] == ("unevaluable", "本单元无养老机构")


def test_levels_overall_and_per_subdistrict_can_disagree():
    """A city-wide pass hides a subdistrict that fails: both rows are reported."""
    covered = {(("day_care",), 15.0, "elderly"): {"C2": 200, "C3": 300, "C4": 400}}
    table = evaluate(load_profile("qitaihe-2020"), FakeFacts(communities(), facilities([]), covered), lang="en")
    # urban communities: 900 of 1,000 = 90.0% ≥ 90% overall; 东街道 200 / 300 = 66.7%, 270 needed → 70 more
    assert row(table, "daycare_coverage")[:2] == ("pass", "90.0%")
    assert row(table, "daycare_coverage", "subdistrict", "东街道") == ("fail", "66.7%", "70 elderly more within 15 min")


def test_facility_on_no_community_counts_overall_only():
    """A care home outside every community adds to the city's beds but to no district's."""
    fac = facilities([("K1", "城外养老院", "care_home", 9, 500, {"beds": 60.0})])  # east of C6
    table = evaluate(load_profile("gb50437"), FakeFacts(communities(), fac), lang="en")
    assert row(table, "beds_per_1000")[:2] == ("pass", "50.0 per 1,000")  # 60 / 1,200 × 1,000
    assert row(table, "beds_per_1000", "district", "新兴区")[0::2] == ("fail", "needs 40 beds more")


def test_custom_profile_kinds_and_where(tmp_path):
    text = """
id: my-city
name_zh: 我的城市
name_en: My city
source: {title: 我的规划, issuer: 我的政府, year: 2024}
lang: en
targets:
  - id: village_coverage
    kind: coverage
    minutes: 10
    min_share: 0.5
    where: {column: area_type, values: [村]}
    levels: [overall, community]
    description_zh: 村
    description_en: villages
    source: {clause: "1"}
  - id: places
    kind: places_per_1000_residents
    min_places: 10
    levels: [overall]
    description_zh: 托位
    description_en: places
    source: {clause: "2"}
"""
    path = tmp_path / "my.yaml"
    path.write_text(text, encoding="utf-8")
    covered = {(None, 10.0, "elderly"): {"C1": 100, "C5": 60, "C6": 30}}
    fac = facilities([("T1", "托", "childcare", 1, 500, {"capacity": 50.0}),
                      ("T2", "托二", "childcare", 2, 500, {})])
    table = evaluate(load_profile(path), FakeFacts(communities(), fac, covered))
    # villages only: (60 + 30) / 200 = 45% < 50% → 10 more
    assert row(table, "village_coverage") == ("fail", "45.0%", "10 elderly more within 10 min")
    assert set(table.loc[table["level"] == "village", "unit"]) == {"红旗村", "新华村"}
    assert "community" not in set(table["level"])
    # 50 known places for 11,500 residents need 115; T2's places unknown → cannot say it fails
    assert row(table, "places") == (
        "unevaluable", "", "capacity not given for 1 childcare (known so far: 4.3 per 1,000)")
    # the header the reader renamed names the column too: where 社区类型 农村社区 selects the villages (area_type)
    renamed = parse_profile(text.replace("column: area_type, values: [村]", "column: 社区类型, values: [农村社区]"))
    table = evaluate(renamed, FakeFacts(communities(), fac, covered))
    assert row(table, "village_coverage") == ("fail", "45.0%", "10 elderly more within 10 min")


def test_bad_language():
    with pytest.raises(InputError, match="language 'fr'"):
        evaluate(load_profile("gb50437"), FakeFacts(communities(), facilities([])), lang="fr")


def test_parse_profile_unknown_type_in_target():
    with pytest.raises(InputError, match=r"targets\[0\] \(x\)\.types \(line 7\): unknown facility type 'spa'"):
        parse_profile("id: a\nname_zh: a\nname_en: a\nsource: {title: t, issuer: i, year: 2020}\ntargets:\n"
                      "  - {id: x, kind: facility_count, per: overall, description_zh: a, description_en: a,\n"
                      "     source: {}, types: [spa]}\n")


def test_floor_area_total_is_the_sum_of_its_rows():
    """Each community's shortfall is rounded up once; the total adds the rounded rows (63 + 63 = 126, not 125)."""
    profile = parse_profile("""
id: t
name_zh: 测试
name_en: test
source: {title: 测试, issuer: 测试, year: 2021}
targets:
  - id: space
    kind: floor_area_per_100_households
    existing_m2: 25
    levels: [overall, subdistrict, community]
    description_zh: 既有小区每百户25平方米
    description_en: 25 m² per 100 households in existing areas
    source: {clause: 一}
""")
    # C5, C6 existing, 250 households each → 62.5 m² needed, none held → 63 m² each (rounded up)
    coms = communities(residential=["new", "new", "new", "new", "existing", "existing"],
                       households=[400.0, 800, 1000, 1200, 250, 250])
    table = evaluate(profile, FakeFacts(coms, facilities([])), lang="en")
    assert row(table, "space", "village", "红旗村")[2] == "needs 63 m² more"
    assert row(table, "space", "village", "新华村")[2] == "needs 63 m² more"
    assert row(table, "space")[2] == "2 of 2 villages below standard; needs 126 m² more in total"
    assert row(table, "space", "township", "红旗镇")[2] == \
        "2 of 2 villages below standard; needs 126 m² more in total"


def test_target_marked_unevaluable_by_the_profile_never_passes():
    profile = parse_profile("""
id: t
name_zh: 测试
name_en: test
source: {title: 测试, issuer: 测试, year: 2021}
targets:
  - id: n
    kind: facility_count
    types: [care_home]
    per: overall
    description_zh: 至少1个
    description_en: at least one
    source: {clause: 一}
    unevaluable: not a target of this year
""")
    fac = facilities([("K1", "敬老院", "care_home", 1, 500, {})])
    table = evaluate(profile, FakeFacts(communities(), fac), lang="en")
    assert row(table, "n") == ("unevaluable", "", "not a target of this year")


def test_qiqihar_public_care_homes_and_childcare():
    """四、(八)1: 公办养老机构（特困供养）护理型床位占比60%, 公办托育机构10家以上; 三、(七)/四、(八)2: 托育机构50个."""
    fac = facilities([
        ("K1", "市福利院", "care_home", 3, 800, {"beds": 50.0, "nursing_beds": 25.0, "ownership": "公办"}),
        ("K2", "红旗敬老院", "care_home", 5, 500, {"beds": 20.0, "nursing_beds": 14.0, "ownership": "公建民营"}),
        ("K3", "康乐养老院", "care_home", 4, 500, {"beds": 100.0, "nursing_beds": 90.0, "ownership": "民办"}),
        ("T1", "市托育中心", "childcare", 1, 300, {"capacity": 40.0, "ownership": "公办"}),
        ("T2", "幸福托育", "childcare", 2, 300, {"capacity": 20.0, "ownership": "民办"}),
    ])
    covered = {(None, 15.0, "elderly"): {}, (("childcare",), 15.0, "children"): {}}
    table = evaluate(load_profile("qiqihar-2025"), FakeFacts(communities(), fac, covered), lang="en")
    # public homes only: (25 + 14) / (50 + 20) = 55.7% < 60%; 60% of 70 = 42 → 3 more (the private K3's 90% of
    # its beds does not help)
    assert row(table, "public_nursing_beds") == ("fail", "55.7%", "3 more of the 70 beds must be nursing-type")
    # 新兴区 K1 25 / 50 = 50%, 30 needed → 5 more; 勃利县 K2 14 / 20 = 70% → pass
    assert row(table, "public_nursing_beds", "district", "新兴区")[2] == "5 more of the 50 beds must be nursing-type"
    assert row(table, "public_nursing_beds", "district", "勃利县")[:2] == ("pass", "70.0%")
    # every care home: (25 + 14 + 90) / 170 = 75.9% ≥ 55%
    assert row(table, "nursing_beds")[:2] == ("pass", "75.9%")
    # 10 public childcare institutions: T1 → 9 more; 50 in all: T1, T2 → 48 more
    assert row(table, "public_childcare") == ("fail", "1", "needs 9 more childcare")
    assert row(table, "childcare_facilities") == ("fail", "2", "needs 48 more childcare")


# ------------------------------------------------------------------------- Chinese texts (issue 11 item 1)

#: Input column names a Chinese reason may name beside their Chinese name (户数（households）).
COLUMN_NAMES = {"subdistrict", "district", "households", "residential", "pop_total", "pop_60plus", "pop_0_3", "beds",
                "nursing_beds", "capacity", "floor_area_m2", "ownership", "build_status", "area_type"}


def english_in(text: str, target_id: str = "") -> list[str]:
    """Latin words of a Chinese compliance text other than the target id, column names and m (m²)."""
    text = text.replace(target_id, "") if target_id else text
    return [w for w in re.findall(r"[A-Za-z][A-Za-z_0-9]*", text) if w not in COLUMN_NAMES and w != "m"]


def test_english_in_finds_english_reasons():
    assert english_in("the facility types have no elder-education code; not checked") != []
    assert english_in("设施数据缺少机构性质（ownership）列；每百户 ≥ 30 m²") == []


VARIANTS = {  # inputs that make targets unevaluable for different reasons
    "bare": dict(subdistrict=None, district=None, pop_total=None, households=None, residential=None, pop_0_3=None,
                 area_type=None),
    "no_villages": dict(area_type=None),
    "no_children": dict(pop_0_3=None),
    "no_population": dict(pop_60plus=[np.nan] * 6, pop_total=[np.nan] * 6),
    "no_communities": None,  # demand points only
}


@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize("profile_id", [p[0] for p in list_profiles()])
def test_chinese_tables_have_no_english_reason(profile_id, variant):
    """Under lang zh every target, value and shortfall text is Chinese, also why a row cannot be checked (the
    profile's own reasons, missing columns, missing children 0–3)."""
    fac = facilities([("F1", "站", "home_care_station", 1, 500, {}), ("K1", "院", "care_home", 2, 500, {}),
                      ("T1", "托", "childcare", 3, 500, {}), ("D1", "日照", "day_care", 4, 500, {})])

    class Covered(FakeFacts):
        def covered(self, types, minutes, population="elderly"):
            column = {"elderly": "pop_60plus", "children": "pop_0_3"}[population]
            if self.communities is None or column not in self.communities:
                if population == "children":
                    raise InputError("no children (0–3) population given; add a pop_0_3 column.")
                return pd.DataFrame({"population": [1200.0], "covered": [600.0]}, index=pd.Index(["all"]))
            pop = self.communities.set_index("community_id")[column]
            return pd.DataFrame({"population": pop, "covered": pop / 2})

    coms = None if VARIANTS[variant] is None else communities(**VARIANTS[variant])
    table = evaluate(load_profile(profile_id), Covered(coms, fac), lang="zh")
    for _, r in table.iterrows():
        for column in ("target", "value", "shortfall"):
            assert english_in(r[column]) == [], (r["target_id"], r["level"], column, r[column])
    if variant == "no_children" and profile_id == "qiqihar-2025":
        assert row(table, "childcare_coverage", unit="全部")[2] == \
            "未提供0—3岁婴幼儿人口；请在社区数据中加入0—3岁人口（pop_0_3）列"


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return str(tmp_path_factory.mktemp("compliance-cache"))


@pytest.mark.parametrize("profile_id", [p[0] for p in list_profiles()])
def test_chinese_console_says_in_chinese_why_targets_are_not_checked(profile_id, capsys, cache, tmp_path):
    """`carecircle run --standard <profile> --lang zh` on the demo: every compliance line (未达标/无法评估) is
    Chinese; the profile's own reasons (unevaluable_zh) and the missing inputs alike."""
    capsys.readouterr()
    assert main(["run", "--standard", profile_id, "--lang", "zh", "--no-isochrones", "--output",
                 str(tmp_path / "zh"), "--cache-dir", cache]) == 0
    out = capsys.readouterr().out
    lines = [line.strip() for line in out.splitlines() if line.startswith(("    未达标", "    无法评估"))]
    assert lines, out
    profile = load_profile(profile_id)
    for line in lines:
        target_id = line.split()[1].split("：")[0]
        assert target_id in {t.id for t in profile.targets}, line
        assert english_in(line, target_id) == [], line
    for target in profile.targets:
        if target.unevaluable is not None:
            assert f"无法评估  {target.id}：{target.unevaluable_zh}" in out


def test_unevaluable_zh_needs_the_reason_and_every_bundled_reason_has_chinese():
    with pytest.raises(InputError, match=r"unevaluable_zh is given without unevaluable"):
        parse_profile("id: a\nname_zh: a\nname_en: a\nsource: {title: t, issuer: i, year: 2020}\ntargets:\n"
                      "  - {id: x, kind: facility_count, per: overall, description_zh: a, description_en: a,\n"
                      "     source: {clause: 一}, unevaluable_zh: 未检查}\n")
    for profile_id, _, _ in list_profiles():
        for target in load_profile(profile_id).targets:
            if target.unevaluable is not None:
                assert target.unevaluable_zh and not english_in(target.unevaluable_zh), (profile_id, target.id)
                assert target.reason("en") == target.unevaluable and target.reason("zh") == target.unevaluable_zh


def test_qiqihar_elder_education_tiers():
    """四、(十一)1 "到2025年,各县(市)区至少建有1所老年大学;50%以上街道(乡镇)建有老年学校;1/3以上社区(村)建有老年大学
    学习点": each tier counts its own kind and the higher ones."""
    fac = facilities([
        ("U1", "新兴区老年大学", "老年大学", 1, 500, {}),  # C1, 东街道, 新兴区
        ("P1", "南湖社区老年学习点", "老年教育学习点", 3, 500, {}),  # C3, 西街道
        ("S1", "红旗镇老年学校", "老年学校", 5, 500, {}),  # C5, 红旗镇, 勃利县
        ("F1", "东风中心", "comprehensive_centre", 2, 500, {}),
    ])
    fac["type"] = list(normalise_types(fac["type"]))
    assert list(fac["type"][:3]) == ["elder_university", "elder_learning_point", "elder_school"]
    covered = {(None, 15.0, "elderly"): {}, (("childcare",), 15.0, "children"): {}}
    table = evaluate(load_profile("qiqihar-2025"), FakeFacts(communities(), fac, covered), lang="en")
    # a 老年大学 in each county: 新兴区 U1, 勃利县 none (its 老年学校 is no university) → 1 of 2
    assert row(table, "elder_university_county") == (
        "fail", "1 of 2 districts (50.0%)", "1 of 2 districts lack elder university")
    assert statuses(table, "elder_university_county", "district") == {"新兴区": "pass", "勃利县": "fail"}
    # a school (or university) in ≥ 50% of 街道/乡镇: 东街道 (U1) and 红旗镇 (S1) yes, 西街道 (a learning point only)
    # no → 2 of 3 = 66.7%; 新兴区 1 of 2 = 50% (enough), 勃利县 1 of 1
    assert row(table, "elder_school_subdistrict")[:2] == ("pass", "2 of 3 subdistricts and townships (66.7%)")
    assert statuses(table, "elder_school_subdistrict", "district") == {"新兴区": "pass", "勃利县": "pass"}
    # a learning point (or school, university) in ≥ 1/3 of 社区/村: C1, C3, C5 → 3 of 6 = 50%
    assert row(table, "elder_learning_point")[:2] == ("pass", "3 of 6 communities and villages (50.0%)")
    # without S1: C1, C3 → 2 of 6, exactly 1/3 → pass; 勃利县 0 of 2, 1/3 of 2 = 0.67 → 1 more village
    table = evaluate(load_profile("qiqihar-2025"),
                     FakeFacts(communities(), fac[fac["facility_id"] != "S1"], covered), lang="en")
    assert row(table, "elder_learning_point")[:2] == ("pass", "2 of 6 communities and villages (33.3%)")
    assert row(table, "elder_learning_point", "district", "勃利县") == (
        "fail", "0 of 2 villages (0.0%)",
        "1 more village needs elder-university learning point / elder school / elder university (0 of 2 have one)")
    assert row(table, "elder_school_subdistrict", "district", "勃利县")[0] == "fail"
    # the elder-education facilities serve no circle: not in "any elder-care facility", not in the childcare one
    assert not set(OPTIONAL_TYPES) & set(ELDER_CARE)
    # in Chinese, none listed at all: 无法评估 with what to do
    table = evaluate(load_profile("qiqihar-2025"), FakeFacts(communities(), fac.iloc[3:], covered), lang="zh")
    assert row(table, "elder_university_county", unit="全部")[0::2] == (
        "unevaluable", "设施数据中没有老年大学；请在设施表中列出后再评估")
