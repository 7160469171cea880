"""Accessibility in a whole study: CLI, scenario file and Python API give it; every table, summary and comparison
carries it; bad options get one line and their exit code."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from carecircle.cli import main
from carecircle.errors import InputError
from carecircle.pipeline import run_study
from carecircle.plan.compare import compare
from carecircle.scenario import load_scenarios, run_scenario

SCENARIOS = Path(__file__).resolve().parents[1] / "data" / "scenarios"


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    out = tmp_path_factory.mktemp("access") / "run"
    code = main(["run", "--accessibility", "e2sfca", "--supply-col", "capacity", "--no-isochrones", "--no-cache",
                 "--output", str(out), "--quiet"])
    assert code == 0
    return out


def test_run_writes_scores_in_every_table(written):
    com = pd.read_csv(written / "communities.csv", encoding="utf-8-sig")
    dem = pd.read_csv(written / "demand.csv", encoding="utf-8-sig")
    fac = pd.read_csv(written / "facilities.csv", encoding="utf-8-sig")
    sub = pd.read_csv(written / "subdistricts.csv", encoding="utf-8-sig")
    summary = json.loads((written / "summary.json").read_text(encoding="utf-8"))["accessibility"]
    assert {"access_per_1000", "access_below_level", "access_mismatch"} <= set(com.columns)
    assert "access_per_1000" in dem and "access_supply_ratio" in fac
    assert {"access_per_1000", "access_gini", "access_rank"} <= set(sub.columns)
    # The population-weighted mean of the points' scores is the summary's average, and each community's score is
    # the weighted mean of its points.
    pop = dem["population"].to_numpy(float)
    assert np.average(dem["access_per_1000"], weights=pop) == pytest.approx(summary["mean"], rel=1e-6)
    per = dem.groupby("community_id").apply(lambda d: np.average(d["access_per_1000"], weights=d["population"]),
                                            include_groups=False)
    np.testing.assert_allclose(com.set_index("community_id").loc[per.index, "access_per_1000"], per, rtol=1e-4)
    # Everyone's share of the supply adds up to the supply the facilities give (capacity of elder-care facilities).
    elder = fac[fac["access_catchment_min"].notna()]
    assert summary["supply_reached"] == pytest.approx(elder["capacity"].sum())
    assert summary["lorenz"]["population_share"][0] == 0 and summary["lorenz"]["access_share"][-1] == 1
    lorenz = pd.read_csv(written / "lorenz.csv", encoding="utf-8-sig")
    assert list(lorenz.columns) == ["population_share", "access_share"]
    sheets = pd.ExcelFile(written / "tables.xlsx").sheet_names
    assert "Accessibility Lorenz" in sheets


def test_without_the_option_nothing_changes(tmp_path):
    assert main(["run", "--no-isochrones", "--no-cache", "--output", str(tmp_path / "plain"), "--quiet"]) == 0
    com = pd.read_csv(tmp_path / "plain" / "communities.csv", encoding="utf-8-sig")
    assert not any(c.startswith("access_") for c in com.columns)
    assert "accessibility" not in json.loads((tmp_path / "plain" / "summary.json").read_text(encoding="utf-8"))
    assert not (tmp_path / "plain" / "lorenz.csv").exists()


def test_console_states_the_figures(tmp_path, capsys):
    assert main(["run", "--accessibility", "2sfca", "--no-isochrones", "--no-cache",
                 "--output", str(tmp_path / "c")]) == 0
    out = capsys.readouterr().out
    summary = json.loads((tmp_path / "c" / "summary.json").read_text(encoding="utf-8"))["accessibility"]
    assert f"Accessibility (2sfca, supply: capacity): {summary['mean']:,.1f} per 1,000 elderly" in out
    assert f"Gini {summary['gini']:.2f}" in out
    assert "the study-wide average" in out


def test_chinese_headers_and_classes(tmp_path):
    assert main(["run", "--accessibility", "g2sfca", "--lang", "zh", "--no-isochrones", "--no-cache",
                 "--output", str(tmp_path / "zh"), "--quiet"]) == 0
    com = pd.read_csv(tmp_path / "zh" / "communities.csv", encoding="utf-8-sig")
    assert "可达供给(每千名老人)" in com.columns
    assert set(com["供需类型"]) <= {"高需求-低供给", "高需求-高供给", "低需求-低供给", "低需求-高供给", "无老年人口"}


def test_api_and_scenario_give_the_same_scores(tmp_path):
    api = run_study(accessibility={"method": "e2sfca", "supply_col": "beds", "level": 20}, with_isochrones=False)
    scenario = tmp_path / "s.yaml"
    scenario.write_text("accessibility:\n  method: e2sfca\n  supply_col: beds\n  level: 20\noutputs:\n"
                        "  isochrones: false\n", encoding="utf-8")
    (config,) = load_scenarios([scenario])
    from_file = run_scenario(config, write=False).study
    assert api.accessibility.summary == from_file.accessibility.summary
    assert api.accessibility.level == 20 and api.accessibility.level_source == "given"


def test_the_profiles_beds_target_is_the_level():
    study = run_study(standard="qiqihar-2025", supply_col="beds", with_isochrones=False)
    target = next(t.min_beds for t in study.profile.targets if t.kind == "beds_per_1000_elderly")
    assert study.accessibility.level == target and study.accessibility.level_source == "target"


def test_compare_reports_the_change_in_accessibility(tmp_path):
    texts = {}
    for name in ("baseline", "plan"):
        text = (SCENARIOS / f"{name}.yaml").read_text(encoding="utf-8")
        texts[name] = tmp_path / f"{name}.yaml"
        texts[name].write_text(text + "\naccessibility:\n  method: 2sfca\n  supply_col: beds\n", encoding="utf-8")
        for data in SCENARIOS.glob("*.csv"):
            (tmp_path / data.name).write_bytes(data.read_bytes())
    base, plan = (run_scenario(s, write=False).study for s in load_scenarios([texts["baseline"], texts["plan"]]))
    cmp = compare(base, plan)
    table = cmp.accessibility.set_index("measure")
    assert table.loc["mean", "base"] == pytest.approx(base.accessibility.summary["mean"])
    assert table.loc["gini", "change"] == pytest.approx(plan.accessibility.summary["gini"]
                                                       - base.accessibility.summary["gini"])
    # The plan adds a centre with 30 beds (the canteen it closes has none): 30 more beds reached, a higher average.
    assert table.loc["supply_reached", "change"] == pytest.approx(30) and table.loc["mean", "change"] > 0
    assert "access_per_1000_change" in cmp.communities
    assert cmp.summary()["accessibility"]["gini"]["plan"] == pytest.approx(plan.accessibility.summary["gini"])


def test_compare_refuses_different_methods():
    a = run_study(accessibility="2sfca", with_isochrones=False)
    b = run_study(accessibility="g2sfca", with_isochrones=False)
    with pytest.raises(InputError, match="measure accessibility differently"):
        compare(a, b)


@pytest.mark.parametrize(("argv", "text"), [
    (["--accessibility", "3sfca"], "invalid choice"),
    (["--supply-col", "places"], "supply column 'places' is not in the facilities"),
    (["--band-weights", "1,0.5"], "2 band weights for 3 thresholds"),
    (["--band-weights", "1,x,0.2"], "is not a list of numbers"),
    (["--band-weights", "1,1.5,0.2"], "--band-weights"),
    (["--catchment-min", "0"], "--catchment-min"),
    (["--catchment-min", "2"], "shorter than the snapping distance"),
])
def test_bad_options_get_one_line(tmp_path, capsys, argv, text):
    try:
        code = main(["run", *argv, "--no-isochrones", "--no-cache", "--output", str(tmp_path / "bad")])
    except SystemExit as exc:  # argparse's usage errors
        code = exc.code
    err = capsys.readouterr().err
    assert code in (2, 3)
    assert text in err
    assert "Traceback" not in err
    assert not (tmp_path / "bad").exists()


# ------------------------------------------------------------------------ site suggestion that sees capacity


def test_accessibility_after_each_site_is_recomputed_from_scratch():
    from generate import at, demand_gdf, facilities_gdf, grid_network

    from carecircle.core.access import measure_accessibility
    from carecircle.plan.access_sites import accessibility_with_sites

    net = grid_network(21, 3)
    fac = facilities_gdf([at(0, 100)], ["F1"], type="day_care", beds=[40.0])
    dem = demand_gdf([at(x, 100) for x in (100, 700, 1300, 1900)], [50, 60, 70, 80])
    sites = facilities_gdf([at(1500, 100), at(800, 100)], ["S1", "S2"], beds=[20.0, 10.0]).rename(
        columns={"facility_id": "candidate_id"})
    kwargs = dict(method="2sfca", supply_col="beds", thresholds_min=(5, 10, 15), walk_speed_mps=1.0, max_snap_m=50)
    table, estimate = accessibility_with_sites(net, fac, sites, dem, None, **kwargs)
    assert np.isnan(estimate) and table["site_supply"].tolist()[1:] == [20.0, 10.0]
    before = measure_accessibility(net, fac, dem, **kwargs)
    assert table["access_mean"].iloc[0] == pytest.approx(before.summary["mean"])
    both = pd.concat([fac, facilities_gdf([at(1500, 100), at(800, 100)], ["S1", "S2"], type="suggested",
                                          beds=[20.0, 10.0])], ignore_index=True)
    after = measure_accessibility(net, both, dem, level=before.level, **kwargs)
    assert table["access_gini"].iloc[-1] == pytest.approx(after.summary["gini"])
    assert table["access_below"].iloc[-1] == pytest.approx(after.summary["elderly_below_level"])
    # All 40 + 20 + 10 beds are reached by someone, so the average is their total per 1,000 of the 260 elderly.
    assert table["access_mean"].iloc[-1] == pytest.approx(70 / 260 * 1000)
    # Without a supply column the new sites count as a typical facility: the median of the existing ones.
    guessed, estimate = accessibility_with_sites(net, fac, sites.drop(columns="beds"), dem, None, **kwargs)
    assert estimate == 40.0 and guessed["site_supply_estimated"].tolist() == [False, True, True]


def test_suggest_reports_accessibility_per_site(tmp_path, capsys):
    assert main(["suggest", "--accessibility", "e2sfca", "--supply-col", "beds", "--new-sites", "2", "--no-cache",
                 "--output", str(tmp_path / "s")]) == 0
    out = capsys.readouterr().out
    sites = pd.read_csv(tmp_path / "s" / "sites.csv", encoding="utf-8-sig")
    table = pd.read_csv(tmp_path / "s" / "accessibility.csv", encoding="utf-8-sig")
    assert {"access_supply", "access_mean_after", "access_gini_after", "access_below_after"} <= set(sites.columns)
    assert list(table["sites"]) == list(range(len(sites) + 1))
    np.testing.assert_allclose(sites["access_gini_after"], table["access_gini"].iloc[1:], rtol=1e-4)
    assert "accessibility before new sites" in out and "estimated" in out


# ------------------------------------------------------------------------ the childcare circle (一老一小)


def test_childrens_accessibility_to_childcare(tmp_path, capsys):
    out = tmp_path / "kids"
    assert main(["run", "--accessibility", "2sfca", "--access-population", "children", "--lang", "zh",
                 "--no-isochrones", "--no-cache", "--output", str(out)]) == 0
    console = capsys.readouterr().out
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))["accessibility"]
    assert summary["population"] == "children"
    kids = pd.read_csv(out / "childcare.csv", encoding="utf-8-sig")
    assert "可达供给(每千名老人)" not in pd.read_csv(out / "communities.csv", encoding="utf-8-sig").columns
    assert "可达供给(每千名老人)" in kids.columns  # the childcare table carries the children's scores
    # The demo's one childcare centre (F07, 40 places) is all the supply, shared over every child of the district.
    children = kids["婴幼儿(已布点)"].sum()
    assert summary["supply_total"] == summary["supply_reached"] == 40.0
    assert summary["mean"] == pytest.approx(40.0 / children * 1000, rel=1e-6)
    report = (out / "report.html").read_text(encoding="utf-8")
    assert "每千名婴幼儿" in report and "0–3岁婴幼儿" in console


def test_childrens_accessibility_needs_children():
    with pytest.raises(InputError, match="needs the communities' 0–3 population"):
        run_study(facilities=str(Path(__file__).resolve().parents[1] / "data" / "helsinki" / "facilities.csv"),
                  communities=None, demand=None, with_isochrones=False,
                  accessibility={"method": "2sfca", "population": "children"},
                  columns={"children_col": "no_such_column"})
