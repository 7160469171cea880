"""Standards profiles: every bundled profile loads; malformed, unknown and mistyped profiles give one line naming
the problem, where it is and the accepted values."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from carecircle.errors import InputError
from carecircle.plan.standards import TARGET_KINDS, Profile, list_profiles, load_profile, parse_profile

BUNDLED = ["chishui-2020", "gb50180-2018", "gb50437", "jingzhou-2025", "qiqihar-2025", "qitaihe-2020", "shenyang-2021"]
PROFILES = Path(__file__).resolve().parents[1] / "carecircle" / "profiles"

MINIMAL = """\
id: my-city
name_zh: 我的城市
name_en: My city
source: {title: 我的规划, issuer: 我的政府, year: 2024}
targets:
  - id: stations
    kind: facility_count
    types: [养老服务站]
    per: community
    levels: [community, overall]
    description_zh: 每个社区一个站
    description_en: A station in every community
    source: {clause: 二、(一)}
"""


def test_list_profiles():
    listed = list_profiles()
    assert [p[0] for p in listed] == BUNDLED
    assert dict((i, zh) for i, zh, _ in listed)["qitaihe-2020"].startswith("七台河市")


@pytest.mark.parametrize("profile_id", BUNDLED)
def test_bundled_profile_loads(profile_id):
    profile = load_profile(profile_id)
    assert isinstance(profile, Profile)
    assert profile.id == profile_id
    assert profile.targets and len({t.id for t in profile.targets}) == len(profile.targets)
    assert all(t.source.clause or t.source.document for t in profile.targets)
    assert list(profile.thresholds_min) == sorted(profile.thresholds_min)
    assert 0 < profile.target_share <= 1
    # the same profile from its path
    assert load_profile(PROFILES / f"{profile_id}.yaml") == profile


@pytest.mark.parametrize("profile_id", [p for p in BUNDLED if not p.startswith("gb")])
def test_city_profiles_are_chinese_and_quote_the_seed_figures(profile_id):
    profile = load_profile(profile_id)
    assert profile.lang == "zh"
    text = (PROFILES / f"{profile_id}.yaml").read_text(encoding="utf-8")
    assert "description_zh" in text and "description_en" in text


def test_seed_figures():
    """The figures of seeds/README.md, as encoded."""
    t = {p: {x.id: x for x in load_profile(p).targets} for p in BUNDLED}
    assert t["qitaihe-2020"]["daycare_coverage"].min_share == 0.9
    assert (t["qitaihe-2020"]["service_space"].new_m2, t["qitaihe-2020"]["service_space"].existing_m2) == (20, 15)
    assert t["qitaihe-2020"]["nursing_beds"].min_share == 0.5
    assert t["qitaihe-2020"]["rural_stations"].min_share == 0.1
    assert t["qiqihar-2025"]["home_community_coverage"].min_share == 1.0
    assert t["qiqihar-2025"]["beds_per_1000"].min_beds == 41
    assert t["qiqihar-2025"]["nursing_beds"].min_share == 0.55
    assert t["qiqihar-2025"]["service_space_new"].new_m2 == 30
    assert t["qiqihar-2025"]["childcare_places"].min_places == 4.5
    assert t["qiqihar-2025"]["childcare_coverage"].min_share == 0.2
    assert t["jingzhou-2025"]["subdistrict_complex"].min_share == 1.0
    assert t["jingzhou-2025"]["township_facility"].min_share == 0.8
    assert (t["shenyang-2021"]["service_space"].new_m2, t["shenyang-2021"]["service_space"].existing_m2) == (35, None)
    existing = t["shenyang-2021"]["service_space_existing"]
    assert existing.existing_m2 == 25 and "three-year catch-up plan" in existing.unevaluable  # 配建三年达标计划
    assert t["shenyang-2021"]["community_station"].types == ("home_care_station", "comprehensive_centre")
    assert t["shenyang-2021"]["childcare_size"].min_m2 == 200
    assert set(t["shenyang-2021"]["childcare_size"].facility_where.values) >= {"新建", "改建", "扩建"}
    assert t["shenyang-2021"]["nursing_beds"].min_share == 0.4
    three = t["chishui-2020"]["three_stations"]  # 三站合一: a health centre and a 护理站 both near (二、(七))
    assert (three.near_types, three.near_all, three.area_type, three.unevaluable) == (
        ("health_centre", "nursing_station"), True, "urban", None)
    assert "实现社区居家养老服务中心(站)、社区卫生服务中心、社区护理站联合建设" in three.description_zh
    homes = t["chishui-2020"]["township_care_homes"]  # 二、(三) "10个乡镇敬老院": public homes in townships
    assert (homes.min_count, homes.area_type, homes.source.clause) == (10, "rural", "二、(三)")
    assert "公办" in homes.facility_where.values and "10个乡镇敬老院" in homes.description_zh
    assert "embedded_facility" not in t["chishui-2020"]  # the plan speaks of pilots (试点)
    assert t["qiqihar-2025"]["beds_per_1000"].types == ("care_home",)  # institutional beds only
    assert "care_home_15min" not in t["gb50180-2018"]  # no care-home radius in the standard
    assert t["gb50180-2018"]["daycare_5min"].distance_m == 300
    assert t["gb50437"]["beds_per_1000"].min_beds == 40


def test_types_in_any_spelling_become_codes():
    profile = parse_profile(MINIMAL)
    assert profile.targets[0].types == ("home_care_station",)
    assert profile.targets[0].levels == ("overall", "community")  # coarsest first
    assert profile.lang == "zh" and profile.target_share == 0.9 and profile.thresholds_min == (5, 10, 15)
    assert profile.target_source(profile.targets[0]) == "我的规划 二、(一)"


def test_type_minutes_keys_become_codes():
    profile = parse_profile(MINIMAL + "type_minutes: {日照中心: 5, any: 12}\n")
    assert profile.type_minutes == {"day_care": 5.0, "any": 12.0}


def test_user_profile_file(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text(MINIMAL, encoding="utf-8")
    assert load_profile(path).id == "my-city"
    assert load_profile(str(path)).id == "my-city"


def _edit(**changes) -> str:
    data = yaml.safe_load(MINIMAL)
    target = data["targets"][0]
    for key, value in changes.items():
        where = target if key not in Profile.model_fields else data
        if value is None:
            where.pop(key, None)
        else:
            where[key] = value
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


@pytest.mark.parametrize(("text", "match"), [
    (_edit(kind="bed_count"), r"targets\[0\] \(stations\)\.kind \(line \d+\): unknown kind 'bed_count'; use one of "
                              r"coverage, facility_count, floor_area_per_100_households"),
    (_edit(kind=None), r"targets\[0\] \(stations\)\.kind \(line \d+\): kind missing; use one of coverage"),
    (_edit(types=["养老驿站", "spa"]), r"\.types \(line \d+\): unknown facility type 'spa'; use one of "
                                     r"comprehensive_centre \(街道综合养老服务中心\), day_care"),
    (_edit(levels=["city"]), r"levels\[0\] \(line \d+\): Input should be 'overall', 'district', 'subdistrict' or "
                             r"'community'"),
    (_edit(per="district"), r"levels community are finer than per: district"),
    (_edit(colour="red"), r"targets\[0\] \(stations\)\.colour \(line \d+\): unknown key; allowed keys are id, "
                          r"levels, .*per, min_count"),
    (_edit(name_en=None), r"^standards profile profile: 1 problem: name_en \(line 1\): missing\.$"),
    (_edit(target_share=1.5), r"target_share \(line \d+\): Input should be less than or equal to 1"),
    (_edit(min_count="one"), r"min_count \(line \d+\): Input should be a valid integer.*\(got 'one'\)"),
    (MINIMAL.replace("year: 2024", "year: 2024, publisher: x"),
     r"source\.publisher \(line 4\): unknown key; allowed keys are title, issuer, year, number, url"),
    (MINIMAL + "  - {id: stations, kind: coverage, min_share: 0.9, description_zh: a, description_en: b, "
               "source: {}}\n",
     r"targets\[1\] \(stations\) \(line 14\): give exactly one of minutes or distance_m\.$"),
    (MINIMAL + "  - {id: stations, kind: coverage, minutes: 5, min_share: 0.9, description_zh: a, description_en: b, "
               "source: {}}\n",
     r"1 problem: targets \(line 6\): duplicate target ids stations; each target needs its own id"),
    (_edit(targets=[]), r"targets \(line \d+\): no targets; give at least one"),
    ("id: [", r"not valid YAML at line 1"),
    ("- 1\n- 2\n", r"expected a mapping of keys"),
])
def test_bad_profile(text, match):
    with pytest.raises(InputError, match=match) as info:
        parse_profile(text)
    assert "\n" not in str(info.value)


def test_every_problem_at_once():
    text = _edit(kind="nope", target_share=2, lang="fr")
    with pytest.raises(InputError, match=r"3 problems: lang \(line \d+\).*target_share.*unknown kind 'nope'"):
        parse_profile(text)


def test_line_numbers_point_at_the_value():
    text = MINIMAL.replace("per: community", "per: street")
    with pytest.raises(InputError, match=r"targets\[0\] \(stations\)\.per \(line 9\)"):
        parse_profile(text)


@pytest.mark.parametrize(("name", "match"), [
    ("qitaihe", r"unknown standards profile 'qitaihe'; use one of chishui-2020, gb50180-2018, gb50437, "
                r"jingzhou-2025, qiqihar-2025, qitaihe-2020, shenyang-2021, or the path of a \.yaml profile"),
    ("nowhere/mine.yaml", r"standards profile file nowhere/mine\.yaml not found"),
])
def test_unknown_profile(name, match):
    with pytest.raises(InputError, match=match):
        load_profile(name)


def test_error_names_the_file(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text(_edit(kind="x"), encoding="utf-8")
    with pytest.raises(InputError, match=r"^standards profile broken\.yaml: 1 problem: "):
        load_profile(path)


def test_every_kind_is_documented():
    readme = (PROFILES / "README.md").read_text(encoding="utf-8")
    for kind, cls in TARGET_KINDS.items():
        assert f"`{kind}`" in readme, kind
        for field in cls.model_fields:
            assert f"`{field}`" in readme, (kind, field)


def test_readme_example_is_a_valid_profile():
    readme = (PROFILES / "README.md").read_text(encoding="utf-8")
    example = readme.split("```yaml\n", 1)[1].split("```", 1)[0]
    profile = parse_profile(example)
    assert {t.kind for t in profile.targets} == set(TARGET_KINDS)


# ------------------------------------------------------------------------------------- townships and villages

@pytest.mark.parametrize(("written", "code"), [("urban", "urban"), ("rural", "rural"), ("乡镇", "rural"),
                                               ("村", "rural"), ("城镇", "urban"), ("街道", "urban")])
def test_area_type_in_any_spelling(written, code):
    assert parse_profile(_edit(area_type=written)).targets[0].area_type == code


def test_area_type_absent_means_both():
    assert parse_profile(MINIMAL).targets[0].area_type is None


def test_unknown_area_type_names_the_key_and_line():
    with pytest.raises(InputError, match=r"targets\[0\] \(stations\)\.area_type \(line \d+\): area_type 'suburb' is "
                                         r"neither urban \(城镇, 街道, 社区\) nor rural \(农村, 乡镇, 村\)"):
        parse_profile(_edit(area_type="suburb"))


def test_facility_count_without_types_is_any_elder_care_and_takes_facility_where():
    target = parse_profile(_edit(types=None, facility_where={"column": "ownership", "values": ["公办"]})).targets[0]
    assert target.types is None and target.facility_where.values == ("公办",)


def test_co_location_near_all():
    kw = {"kind": "co_location", "per": None, "types": ["养老服务站"], "near_types": ["卫生服务中心", "护理站"],
          "max_distance_m": 100}
    target = parse_profile(_edit(**kw, near_all=True)).targets[0]
    assert (target.near_types, target.near_all) == (("health_centre", "nursing_station"), True)
    assert parse_profile(_edit(**kw)).targets[0].near_all is False


def test_profile_mends_cite_the_plans_clauses():
    """The targets issue 11 item 3 and 4 added or mended, each with the clause of its seed."""
    t = {p: {x.id: x for x in load_profile(p).targets} for p in BUNDLED}
    qitaihe = t["qitaihe-2020"]
    # 二、(三) "确保市本级和勃利县均建有…特困人员供养服务设施(敬老院)": two places, public homes only
    for tid, place in (("city_care_home", "新兴区"), ("boli_care_home", "勃利县")):
        target = qitaihe[tid]
        assert (target.per, target.source.clause, target.types) == ("overall", "二、(三)", ("care_home",))
        assert place in target.where.values and "公办" in target.facility_where.values
    assert "county_care_home" not in qitaihe  # not "every district"
    # 三、(一)2 "17个乡镇居家和社区养老服务中心"; "城市社区…居家养老服务站"; "农村养老服务站…村委会数量的10%"
    assert (qitaihe["township_centre"].area_type, qitaihe["township_centre"].per) == ("rural", "subdistrict")
    assert qitaihe["township_centre"].source.clause == "三、(一)2"
    assert qitaihe["community_station"].area_type == "urban" and qitaihe["subdistrict_centre"].area_type == "urban"
    assert qitaihe["rural_stations"].area_type == "rural" and qitaihe["rural_stations"].where is None
    # jingzhou 二、(四)17: 100% of 街道, 80% of 乡镇; the guidance centre listed, not checked; 二、(四)14 public homes
    jingzhou = t["jingzhou-2025"]
    assert (jingzhou["subdistrict_complex"].area_type, jingzhou["township_facility"].area_type) == ("urban", "rural")
    assert jingzhou["county_guidance_centre"].source.clause == "二、(四)17"
    guidance = jingzhou["county_guidance_centre"]  # "成立县级养老服务指导中心": one per 县(市、区)
    assert (guidance.types, guidance.per, guidance.min_count, guidance.unevaluable) == (
        ("guidance_centre",), "district", 1, None)
    assert "成立县级养老服务指导中心" in guidance.description_zh
    assert "公办" in jingzhou["county_care_home"].facility_where.values
    # qiqihar: 四、(八)1 public nursing beds 60% and ≥ 10 public childcare, ≥ 50 childcare (三、(七); 四、(八)2),
    # 老年大学 tiers of 四、(十一)1 checked with the elder-education types, each tier counting the higher ones
    qiqihar = t["qiqihar-2025"]
    public_nursing = qiqihar["public_nursing_beds"]
    assert (public_nursing.min_share, public_nursing.source.clause) == (0.6, "四、(八)1")
    assert (qiqihar["public_childcare"].min_count, qiqihar["childcare_facilities"].min_count) == (10, 50)
    for tid, per in (("elder_university_county", "district"), ("elder_school_subdistrict", "subdistrict"),
                     ("elder_learning_point", "community")):
        assert (qiqihar[tid].per, qiqihar[tid].source.clause) == (per, "四、(十一)1")
        assert qiqihar[tid].unevaluable is None
    assert qiqihar["elder_university_county"].types == ("elder_university",)
    assert set(qiqihar["elder_school_subdistrict"].types) == {"elder_school", "elder_university"}
    assert set(qiqihar["elder_learning_point"].types) == {"elder_learning_point", "elder_school", "elder_university"}
    assert (qiqihar["elder_school_subdistrict"].min_share, round(qiqihar["elder_learning_point"].min_share, 6)) == (
        0.5, 0.333333)
    assert "各县(市)区至少建有1所老年大学" in qiqihar["elder_university_county"].description_zh
    assert "50%以上街道(乡镇)建有老年学校" in qiqihar["elder_school_subdistrict"].description_zh
    assert "1/3以上社区(村)建有老年大学学习点" in qiqihar["elder_learning_point"].description_zh
    assert qiqihar["rural_mutual_aid"].area_type == "rural"
    # shenyang 二、(一)4 "社区养老服务站在城市社区全覆盖"
    assert t["shenyang-2021"]["community_station"].area_type == "urban"
