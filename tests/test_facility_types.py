"""The plans' facility vocabulary, the unknown-type error and the shared residential spellings (issue 11 item 2)."""

from __future__ import annotations

import pytest

from carecircle.errors import InputError
from carecircle.io.facility_types import ELDER_CARE, RESIDENTIAL, TYPES, normalise_types

PLAN_NAMES = [
    ("社区居家养老服务中心", "home_care_station"), ("居家和社区养老服务中心", "home_care_station"),
    ("老年人日间照料中心", "day_care"), ("城镇老年人日间照料中心", "day_care"), ("社区日间照料机构", "day_care"),
    ("嵌入式养老服务机构", "home_care_station"), ("特困人员供养服务设施", "care_home"), ("农村福利院", "care_home"),
    ("光荣院", "care_home"), ("老年护理院", "care_home"), ("医养结合机构", "care_home"), ("养老大院", "rural_station"),
    ("互助养老服务设施", "rural_station"), ("村组睦邻点", "rural_station"), ("互助养老点", "rural_station"),
    ("长者驿家", "home_care_station"), ("街道综合性养老服务设施", "comprehensive_centre"),
    ("社区养老托育综合体", "comprehensive_centre"), ("社区老年食堂", "canteen"), ("托育点", "childcare"),
    ("家庭托育点", "childcare"), ("托班", "childcare"), ("普惠托育机构", "childcare"),
    ("社区护理站", "nursing_station"),
    # others the five plans use
    ("敬老院", "care_home"), ("养老机构", "care_home"), ("养老服务机构", "care_home"), ("公办养老机构", "care_home"),
    ("农村幸福院", "rural_station"), ("托育机构", "childcare"), ("护理站", "nursing_station"),
    ("社区养老服务设施", "home_care_station"),
]


@pytest.mark.parametrize(("name", "code"), PLAN_NAMES)
def test_plan_name_resolves_to_its_role(name, code):
    assert list(normalise_types([name])) == [code]


def test_ambiguous_names_follow_the_documented_rules():
    assert list(normalise_types(["居家养老服务中心", "街道综合养老服务中心"])) == [
        "home_care_station", "comprehensive_centre"]
    assert normalise_types(["社区养老托育综合体"])[0] in ELDER_CARE
    doc = __import__("carecircle.io.facility_types", fromlist=["x"]).__doc__
    assert "居家养老服务中心" in doc and "社区养老托育综合体" in doc


def test_nursing_station_is_co_location_only():
    t = TYPES["nursing_station"]
    assert t.role == "health" and "nursing_station" not in ELDER_CARE
    assert normalise_types(["社区卫生服务中心"])[0] == "health_centre"


def test_unknown_types_are_listed_with_row_counts_and_the_fix():
    with pytest.raises(InputError) as err:
        normalise_types(["游泳馆", "日间照料中心", "健身房", "游泳馆", "游泳馆"], file="facilities.csv")
    msg = str(err.value)
    assert "'游泳馆' (3 rows: rows 1, 4, 5)" in msg and "'健身房' (1 row: rows 3)" in msg
    assert "'日间照料中心'" not in msg
    assert "--type-map" in msg and "day_care" in msg


@pytest.mark.parametrize("spelling", ["新建住宅小区", "新建居住区", "新建", "new"])
def test_new_spellings(spelling):
    assert RESIDENTIAL[spelling] == "new"


@pytest.mark.parametrize("spelling", ["已建成小区", "已建成居住区", "既有小区", "既有", "老旧小区", "existing"])
def test_existing_spellings(spelling):
    assert RESIDENTIAL[spelling] == "existing"


def test_the_reader_accepts_the_plans_residential_spellings(tmp_path):
    """The community reader and the compliance checker share one table: 新建住宅小区 reads as new, 既有小区 as
    existing."""
    import json

    from carecircle.io.default_data import default_data_dir
    from carecircle.io.readers import read_communities

    data = json.loads((default_data_dir() / "communities.geojson").read_text(encoding="utf-8"))
    spellings = ["新建住宅小区", "既有小区", "已建成居住区", "新建居住区"]
    for feature, value in zip(data["features"], spellings, strict=False):
        feature["properties"]["residential"] = value
    path = tmp_path / "c.geojson"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    read = read_communities(path)["residential"].tolist()[: len(spellings)]
    assert read == ["new", "existing", "existing", "new"]


@pytest.mark.parametrize(("name", "code"), [
    ("老年大学", "elder_university"), ("老干部大学", "elder_university"), ("老年开放大学", "elder_university"),
    ("老年学校", "elder_school"), ("街道老年学校", "elder_school"), ("老年大学学习点", "elder_learning_point"),
    ("老年学习点", "elder_learning_point"), ("老年教育学习点", "elder_learning_point"),
    ("养老服务指导中心", "guidance_centre"), ("县级养老服务指导中心", "guidance_centre"),
])
def test_elder_education_and_guidance_names(name, code):
    """Qiqihar 四、(十一)1's three tiers (老年大学, 老年学校, 老年大学学习点); Jingzhou 二、(四)17's
    县级养老服务指导中心."""
    assert list(normalise_types([name])) == [code]


def test_elder_education_and_guidance_serve_no_circle():
    import pandas as pd

    from carecircle.core.coverage import coverage_by_type
    from carecircle.io.facility_types import OPTIONAL_TYPES

    assert {TYPES[c].role for c in OPTIONAL_TYPES} == {"education", "guidance"}
    assert set(OPTIONAL_TYPES) == {"elder_university", "elder_school", "elder_learning_point", "guidance_centre"}
    assert not set(OPTIONAL_TYPES) & set(ELDER_CARE)

    class Facts:  # two communities of 100 elderly; a station covers the first, the university both
        facilities = pd.DataFrame({"type": ["home_care_station", "elder_university", "guidance_centre"]})

        def has_population(self, population):
            return population == "elderly"

        def covered(self, types, minutes, population="elderly"):
            both = types is not None and "elder_university" in types
            return pd.DataFrame({"population": [100.0, 100.0], "covered": [100.0, 100.0 if both else 0.0]})

    table = coverage_by_type(Facts())
    assert list(table["type"]) == ["home_care_station", "any"]  # no row for the university or the centre
    assert table.set_index("type").loc["any", ["facilities", "share"]].tolist() == [1, 0.5]
