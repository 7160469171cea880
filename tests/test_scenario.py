"""Scenario files: the examples run on the bundled demo, reruns are identical, validation reports everything."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml

import carecircle.core.network
import carecircle.runner
from carecircle.errors import InputError
from carecircle.io.coords import to_wgs84
from carecircle.io.default_data import default_data_dir, default_network_path
from carecircle.outputs.export import MANIFEST
from carecircle.scenario import (
    COLUMN_KEYS,
    ColumnsSpec,
    Scenario,
    example_scenario,
    load_scenario,
    load_scenarios,
    run_scenario,
    scenario_facilities,
    write_example,
)

SCENARIOS = Path(__file__).resolve().parents[1] / "data" / "scenarios"
EXAMPLES = sorted(SCENARIOS.glob("*.yaml"))


def _write(folder: Path, text: str, name: str = "s.yaml") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def _problems(path: Path) -> list[str]:
    with pytest.raises(InputError) as info:
        load_scenario(path)
    message = str(info.value)
    assert "\n" not in message
    # problems are joined by "; ", and a problem may itself hold "; " (its hint): split before each file name
    return re.split(r"; (?=\S+\.yaml line \d)", message)


# ------------------------------------------------------------------------------------- example scenarios


def test_examples_are_there():
    assert {p.name for p in EXAMPLES} >= {"baseline.yaml", "plan.yaml"}


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_scenarios_load(path):
    scenario = load_scenario(path)
    assert scenario.path == path.resolve()
    assert scenario.area is None  # the bundled demo
    assert scenario.label == path.stem


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Every example scenario, run once into its own folder."""
    out = tmp_path_factory.mktemp("scenarios")
    return {p.stem: run_scenario(load_scenario(p), out_dir=out / p.stem, quiet=True) for p in EXAMPLES}


def test_example_scenarios_run_and_write_their_outputs(runs):
    for name, run in runs.items():
        files = {p.relative_to(run.folder).as_posix() for p in run.folder.rglob("*")
                 if p.is_file() and p.name != MANIFEST}
        assert files == set(run.written), name
        assert {"map.html", "summary.json", "communities.csv", "facilities.csv", "demand.csv"} <= files
        assert not [p for p in run.folder.rglob(".carecircle-*") if p.is_dir()]  # no temporary folder left
    assert runs["baseline"].suggestion is None
    plan = runs["plan"]
    assert plan.suggestion is not None and 1 <= len(plan.suggestion.sites) <= 3
    assert {"suggest/sites.csv", "suggest/curve.csv", "suggest/map.html"} <= set(plan.written)


def test_plan_changes_the_facilities(runs):
    base = set(runs["baseline"].study.coverage.facilities["facility_id"])
    plan = set(runs["plan"].study.coverage.facilities["facility_id"])
    assert plan == (base - {"F06"}) | {"N01", "N02"}
    assert "N01" in runs["plan"].study.inputs["facilities"]
    assert runs["plan"].study.inputs["scenario"].endswith("plan.yaml")


def test_rerunning_a_scenario_gives_byte_identical_tables(runs, tmp_path):
    first = runs["plan"]
    again = run_scenario(first.scenario, out_dir=tmp_path / "again", quiet=True)
    tables = sorted(name for name in first.written if name.endswith(".csv"))
    assert len(tables) >= 6
    for name in tables:
        assert (again.folder / name).read_bytes() == (first.folder / name).read_bytes(), name


def test_example_written_by_init_runs_as_is(tmp_path):
    path = write_example(tmp_path / "scenario.yaml")
    text = path.read_text(encoding="utf-8")
    assert text == example_scenario()
    scenario = load_scenario(path)
    # every option of the schema is shown (most commented out)
    for key in [*Scenario.model_fields, *COLUMN_KEYS, "place", "bbox", "polygon", "network", "subdistricts",
                "speed_mps", "preset", "max_snap_m", "add", "remove", "change", "crs", "candidates", "budget",
                "cost_col", "site_capacity_col", "exclude", "time_limit_s", "folder", "lang", "title",
                "isochrones"]:
        assert re.search(rf"^\s*#?\s*-?\s*{key}:", text, flags=re.MULTILINE), key
    run = run_scenario(scenario, write=False)
    assert run.written == {}
    ids = set(run.study.coverage.facilities["facility_id"])
    assert "N01" in ids and "F06" not in ids
    assert run.suggestion is not None


def test_write_example_never_overwrites(tmp_path):
    path = tmp_path / "scenario.yaml"
    path.write_text("mine", encoding="utf-8")
    with pytest.raises(InputError, match="already exists"):
        write_example(path)
    assert path.read_text(encoding="utf-8") == "mine"


# --------------------------------------------------------------------------------------------- validation

MANY_ERRORS = """\
name: many errors
walking:
  preset: fast
  max_snap_m: -5
facilities:
  crs: gcj-2
  add:
    - facility_id: N1
      type: 日间照料中心
      lon: east
      lat: 60.17
thresholds: [5, 10]
target_share: 1.5
outputs:
  lang: fr
  colour: red
"""


def test_every_problem_is_reported_at_once_with_line_and_key(tmp_path):
    problems = _problems(_write(tmp_path, MANY_ERRORS, "plan.yaml"))
    expected = [
        "plan.yaml line 3, walking.preset: 'fast' is not one of slow, typical, brisk",
        "plan.yaml line 4, walking.max_snap_m: -5 is not a distance to the network",
        "plan.yaml line 6, facilities.crs: 'gcj-2' is not one of wgs84, gcj02, bd09",
        "plan.yaml line 10, facilities.add[0].lon: 'east' is not a number",
        "plan.yaml line 12, thresholds: unknown key 'thresholds' (did you mean 'thresholds_min'?)",
        "plan.yaml line 13, target_share: 1.5 is not a share",
        "plan.yaml line 15, outputs.lang: 'fr' is not one of en, zh",
        "plan.yaml line 16, outputs.colour: unknown key 'colour'",
    ]
    assert len(problems) == len(expected), problems
    for got, want in zip(problems, expected, strict=True):
        assert got.startswith(want), (got, want)


@pytest.mark.parametrize(("text", "line", "key", "match"), [
    ("area:\n  place: x\n  bbox: [1, 2, 3, 4]\ninputs: {facilities: f.csv, communities: c.geojson}\n",
     1, "area", "exactly one of place, bbox, polygon or network"),
    ("area:\n  bbox: [124, 41, 123, 42]\n", 2, "area.bbox", "west<east"),
    ("area:\n  bbox: [1, 2]\n", 2, "area.bbox", "four numbers"),
    ("walking:\n  speed_mps: 9\n", 2, "walking.speed_mps", "9 m/s is not a walking speed (give 0.1–3 m/s"),
    ("walking:\n  speed_mps: 0.9\n  preset: slow\n", 3, "walking.preset", "not both"),
    ("thresholds_min: [5, 0]\n", 1, "thresholds_min", "above 0 and at most 120 minutes, got 0"),
    ("thresholds_min: [5, 5]\n", 1, "thresholds_min", "repeat"),
    ("suggest:\n  method: greedy\n", 2, "suggest.method", "not one of mclp, set-cover, p-median"),
    ("suggest:\n  budget: 100\n", 2, "suggest.budget", "needs cost_col"),
    ("suggest:\n  new_sites: 0\n", 2, "suggest.new_sites", "greater than or equal to 1"),
    ("facilities:\n  add:\n    - {facility_id: N1, type: 游泳馆, lon: 24.94, lat: 60.17}\n", 3,
     "facilities.add[0].type", "游泳馆"),
    ("facilities:\n  add:\n    - {facility_id: N1, lon: 24.94, lat: 60.17}\n", 3, "facilities.add[0].type",
     "required key is missing"),
    ("facilities:\n  change:\n    F01: {lon: 24.9}\n", 3, "facilities.change.F01", "lon and lat together"),
    ("facilities:\n  change:\n    F01: {colour: red}\n", 3, "facilities.change.F01.colour", "unknown key"),
    ("facilities:\n  remove: [F01]\n  change:\n    F01: {capacity: 3}\n", 2, "facilities.remove",
     "both removed and changed"),
    ("standard: nowhere-2030\n", 1, "standard", "unknown standards profile"),
    ("facilities:\n  add:\n    - {facility_id: N1, type: day_care, lon: 60.17, lat: 124.94}\n", 2,
     "facilities.add", "added or moved by the scenario"),
    ("name: x\nname: y\n", 2, "name", "key given twice"),
    ("- just\n- a list\n", 1, None, "a scenario is a mapping"),
])
def test_bad_values(tmp_path, text, line, key, match):
    problems = _problems(_write(tmp_path, text))
    where = f"s.yaml line {line}" + (f", {key}: " if key else ": ")
    assert any(p.startswith(where) and match in p for p in problems), problems


def test_bad_yaml_syntax_is_one_line_with_its_line(tmp_path):
    path = _write(tmp_path, "name: x\ninputs:\n  facilities: a.csv\n   communities: b.geojson\n")
    (problem,) = _problems(path)
    assert problem.startswith("s.yaml line 4, column ")
    assert "not valid YAML" in problem


def test_missing_files_are_reported_in_the_same_pass(tmp_path):
    text = ("inputs:\n  facilities: nowhere.csv\n  communities: missing/communities.geojson\n"
            "suggest:\n  candidates: sites.csv\n  exclude: river.geojson\nstandard: profiles/mine.yaml\n"
            "outputs:\n  lang: fr\n")
    problems = _problems(_write(tmp_path, text))
    for line, key, name in ((2, "inputs.facilities", "nowhere.csv"),
                            (3, "inputs.communities", "missing/communities.geojson"),
                            (5, "suggest.candidates", "sites.csv"), (6, "suggest.exclude", "river.geojson"),
                            (7, "standard", "profiles/mine.yaml")):
        assert any(p.startswith(f"s.yaml line {line}, {key}: file '{name}' does not exist") for p in problems), (
            key, problems)
    assert any("outputs.lang" in p for p in problems)
    assert len(problems) == 6, problems


def test_missing_scenario_file(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        load_scenario(tmp_path / "nope.yaml")


def test_problems_of_several_files_come_together(tmp_path):
    a = _write(tmp_path, "walking:\n  preset: fast\n", "a.yaml")
    b = _write(tmp_path, "target_share: 2\n", "b.yaml")
    with pytest.raises(InputError) as info:
        load_scenarios([a, b])
    assert "a.yaml line 2, walking.preset" in str(info.value)
    assert "b.yaml line 1, target_share" in str(info.value)


def test_two_scenarios_may_not_write_into_one_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the default folder maps/<name> is relative to the working folder
    a = _write(tmp_path, "name: same\n", "a.yaml")
    b = _write(tmp_path, "outputs:\n  folder: maps/same\n", "b.yaml")
    with pytest.raises(InputError, match=r"a\.yaml and b\.yaml both write into"):
        load_scenarios([a, b])


def test_relative_paths_resolve_against_the_scenario_folder(tmp_path, monkeypatch):
    folder = tmp_path / "project" / "scenarios"
    (folder / "data").mkdir(parents=True)
    shutil.copy(default_data_dir() / "facilities.csv", folder / "data" / "f.csv")
    path = _write(folder, "inputs:\n  facilities: data/f.csv\noutputs:\n  folder: ../results\n")
    monkeypatch.chdir(tmp_path)
    scenario = load_scenario(path)
    assert scenario.inputs.facilities == folder / "data" / "f.csv"
    assert scenario.output_folder().resolve() == (tmp_path / "project" / "results").resolve()
    assert scenario.output_folder("elsewhere") == Path("elsewhere")


def test_empty_sections_mean_their_defaults(tmp_path):
    scenario = load_scenario(_write(tmp_path, "columns:\ninputs:\nwalking:\nsuggest:\n"))
    assert scenario.walking.walk_speed_mps == 1.0
    assert scenario.suggest is None


# ------------------------------------------------------------------------------------- facility changes


def test_unknown_facility_ids_are_named_with_their_lines(tmp_path):
    text = ("facilities:\n  remove: [F01, F99]\n  change:\n    F77: {capacity: 3}\n  add:\n"
            "    - {facility_id: F02, type: day_care, lon: 24.94, lat: 60.17}\n")
    problems = _problems(_write(tmp_path, text))
    assert any(p.startswith("s.yaml line 2, facilities.remove[1]: no facility 'F99'") for p in problems)
    assert any(p.startswith("s.yaml line 4, facilities.change.F77: no facility 'F77'") for p in problems)
    assert any(p.startswith("s.yaml line 6, facilities.add[0].facility_id: 'F02' is already a facility")
               for p in problems)
    assert all("F01" not in p.split(":")[0] for p in problems)


def test_add_remove_change_are_applied_to_the_facilities_read(tmp_path):
    text = """\
facilities:
  add:
    - {facility_id: N1, name: 新站, type: 日照中心, lon: 24.9465, lat: 60.1640, capacity: 25, beds: 10}
  remove: [F06]
  change:
    F04: {capacity: 40, name: 改名站, type: day_care}
    F03: {lon: 24.9410, lat: 60.1700}
"""
    scenario = load_scenario(_write(tmp_path, text))
    original = scenario_facilities(load_scenario(_write(tmp_path, "name: plain\n", "plain.yaml")))
    fac = scenario_facilities(scenario).set_index("facility_id")
    assert list(fac.index) == [*[f for f in original["facility_id"] if f != "F06"], "N1"]
    assert fac.loc["N1", "type"] == "day_care" and fac.loc["N1", "name"] == "新站"
    assert fac.loc["N1", "capacity"] == 25 and fac.loc["N1", "beds"] == 10 and np.isnan(fac.loc["N1", "nursing_beds"])
    assert (fac.loc["N1"].geometry.x, fac.loc["N1"].geometry.y) == pytest.approx((24.9465, 60.1640), abs=1e-9)
    assert (fac.loc["F04", "capacity"], fac.loc["F04", "name"], fac.loc["F04", "type"]) == (40, "改名站", "day_care")
    assert (fac.loc["F03"].geometry.x, fac.loc["F03"].geometry.y) == pytest.approx((24.9410, 60.1700), abs=1e-9)
    # the others untouched, and the facilities as read too
    orig = original.set_index("facility_id")
    assert fac.loc["F01"].geometry.equals(orig.loc["F01"].geometry)
    assert orig.loc["F04", "capacity"] == 20


def test_added_and_moved_facilities_are_in_the_facilities_crs(tmp_path):
    # Amap (GCJ-02) coordinates in Shenyang: the file, the added and the moved facility are converted alike
    (tmp_path / "f.csv").write_text("facility_id,name,type,lon,lat\nA,甲,日间照料中心,123.4000,41.7900\n"
                                    "B,乙,老年食堂,123.4100,41.7950\n", encoding="utf-8")
    text = ("inputs:\n  facilities: f.csv\nfacilities:\n  crs: gcj02\n  add:\n"
            "    - {facility_id: N, type: 养老驿站, lon: 123.4200, lat: 41.8000}\n"
            "  change:\n    B: {lon: 123.4150, lat: 41.7960}\n")
    fac = scenario_facilities(load_scenario(_write(tmp_path, text))).set_index("facility_id")
    lon, lat = to_wgs84(np.array([123.4000, 123.4150, 123.4200]), np.array([41.7900, 41.7960, 41.8000]), "gcj02")
    got = np.array([[fac.loc[f].geometry.x, fac.loc[f].geometry.y] for f in ("A", "B", "N")])
    assert got == pytest.approx(np.column_stack([lon, lat]), abs=1e-9)
    assert abs(got[2, 0] - 123.4200) > 1e-3  # converted: GCJ-02 is 300-600 m off


# ------------------------------------------------------------------------------------ mapping and running


def test_scenario_maps_onto_the_study_configuration(tmp_path):
    shutil.copy(default_data_dir() / "communities.geojson", tmp_path / "sub.geojson")
    columns = "\n".join(f"  {k}: my_{k}" for k in COLUMN_KEYS)
    text = (f"columns:\n{columns}\nfacilities:\n  crs: bd09\ninputs:\n  subdistricts: sub.geojson\n"
            "  demand_method: nodes\nwalking:\n  preset: slow\n  max_snap_m: 150\nthresholds_min: [15, 5]\n"
            "target_share: 0.8\nstandard: qitaihe-2020\noutputs:\n  lang: zh\n  isochrones: off\n")
    config = load_scenario(_write(tmp_path, text))
    assert config.reader_columns == {**{k: f"my_{k}" for k in COLUMN_KEYS}, "crs": "bd09"}
    assert config.inputs.subdistricts == tmp_path / "sub.geojson"
    assert (config.standard, config.lang, config.outputs.isochrones) == ("qitaihe-2020", "zh", False)
    assert (config.walking.walk_speed_mps, config.walking.max_snap_m) == (0.8, 150)
    assert (config.thresholds, config.target, config.inputs.demand_method) == ((5, 15), 0.8, "nodes")
    assert set(ColumnsSpec.model_fields) == set(COLUMN_KEYS)
    # unset values fall to the standards profile, else the defaults
    plain = load_scenario(_write(tmp_path, "name: x\n", "plain.yaml"))
    assert plain.thresholds_min is None and plain.target_share is None and plain.outputs.lang is None
    assert (plain.thresholds, plain.target, plain.lang) == ((5, 10, 15), 0.9, "en")
    assert plain.standard is None and plain.inputs.subdistricts is None


def test_several_scenarios_load_the_network_once(tmp_path, monkeypatch):
    # Count every build of a network from the OSM file (the demo is a .pbf), starting from a fresh in-process
    # cache: without it an earlier test of this process may have loaded the demo already.
    calls = []
    original = carecircle.core.network._from_pbf

    def counting(path, *rest):
        calls.append(Path(path))
        return original(path, *rest)

    monkeypatch.setattr(carecircle.core.network, "_from_pbf", counting)
    monkeypatch.setattr(carecircle.runner, "_PROCESS_CACHE", None)
    text = "inputs:\n  demand_method: centroid\noutputs:\n  isochrones: false\nwalking:\n  preset: {speed}\n"
    paths = [_write(tmp_path, text.format(speed=s), f"{s}.yaml") for s in ("slow", "brisk")]
    runs = []
    for scenario in load_scenarios(paths):
        runs.append(run_scenario(scenario, write=False))
        assert [p.name for p in calls] == [default_network_path().name]  # read by the first, reused by the second
    slow, brisk = runs
    assert slow.study.network.n_edges == brisk.study.network.n_edges > 0
    assert slow.study.coverage.summary["share"]["10"] <= brisk.study.coverage.summary["share"]["10"]


def test_scenario_yaml_round_trips_through_the_model(tmp_path):
    data = yaml.safe_load(example_scenario())
    scenario = Scenario.model_validate(data, context={"folder": tmp_path})
    assert scenario.facilities.add[0].type == "home_care_station"  # 社区居家养老服务站, normalised
    assert scenario.walking.walk_speed_mps == 1.0
    with pytest.raises(Exception, match="frozen"):
        scenario.name = "other"


def test_candidate_sites_keep_their_own_type_column(tmp_path):
    from carecircle.pipeline import read_suggestion_inputs

    (tmp_path / "cands.csv").write_text("candidate_id,type,lon,lat\nK1,闲置办公楼,24.945,60.170\n", encoding="utf-8")
    path = _write(tmp_path, "name: c\nsuggest:\n  candidates: cands.csv\n  new_sites: 1\n")
    candidates = read_suggestion_inputs(load_scenario(path)).candidates
    assert candidates["type"].tolist() == ["闲置办公楼"]


def _alias_bomb(levels: int) -> str:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, levels + 1)]
    return "\n".join([*lines, f"description: *a{levels}"]) + "\n"


@pytest.mark.parametrize("levels", [5, 7, 30])
def test_a_yaml_alias_bomb_is_refused_at_once(tmp_path, levels):
    import time

    path = _write(tmp_path, _alias_bomb(levels))
    start = time.perf_counter()
    with pytest.raises(InputError, match=r"s\.yaml: the scenario expands to more than 100,000 values through YAML "
                                         r"aliases"):
        load_scenario(path)
    assert time.perf_counter() - start < 1.0  # was 2.2 s at 7 levels and exponential beyond


def test_a_recursive_alias_is_refused_and_ordinary_aliases_still_work(tmp_path):
    with pytest.raises(InputError, match="expands to more than"):
        load_scenario(_write(tmp_path, "description: &d [1, *d]\n"))
    text = "thresholds_min: &t [5, 10, 15]\nsuggest:\n  method: mclp\nname: &n aliased\ndescription: *n\n"
    scenario = load_scenario(_write(tmp_path, text, "ok.yaml"))
    assert scenario.description == "aliased" and scenario.thresholds == (5.0, 10.0, 15.0)
