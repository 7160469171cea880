"""The command line, called in-process as a user would call it: `carecircle run ...`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from browser import open_browser, severe_console_errors

from carecircle.cli import main
from carecircle.io.default_data import default_data_dir, default_network_path
from carecircle.outputs.export import MANIFEST, OUTPUT_FILES

DATA = default_data_dir()


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The two-command promise: `carecircle run` with no options, on the bundled demo."""
    out = tmp_path_factory.mktemp("demo") / "out"
    cache = tmp_path_factory.mktemp("cache")
    code = main(["run", "--output", str(out), "--cache-dir", str(cache), "--quiet"])
    assert code == 0
    return out


def test_demo_run_writes_every_file_and_nothing_else(demo):
    # the demo names subdistricts and a district, and gives children 0-3 and a childcare centre
    extra = ("by_type.csv", "subdistricts.csv", "districts.csv", "childcare.csv")
    assert sorted(p.name for p in demo.iterdir()) == sorted(OUTPUT_FILES + extra + (MANIFEST,))


def test_summary_agrees_with_the_demand_table(demo):
    summary = json.loads((demo / "summary.json").read_text(encoding="utf-8"))
    demand = pd.read_csv(demo / "demand.csv", encoding="utf-8-sig")
    communities = pd.read_csv(demo / "communities.csv", encoding="utf-8-sig")
    assert summary["elderly_population"] == pytest.approx(communities["pop_60plus"].sum())
    assert summary["elderly_population"] == pytest.approx(demand["population"].sum(), abs=0.01)
    for lab in ("5", "10", "15"):
        covered = demand.loc[demand["time_min"] <= float(lab), "population"].sum()
        assert summary["covered"][lab] == pytest.approx(covered, abs=0.01)
        assert summary["share"][lab] == pytest.approx(covered / demand["population"].sum(), abs=1e-6)
        assert communities[f"covered_{lab}"].sum() == pytest.approx(covered, abs=0.01)
    assert summary["share"]["5"] <= summary["share"]["10"] <= summary["share"]["15"]
    below = communities.loc[communities["share_15"] < 0.9, "community_id"].tolist()
    assert summary["communities_below_target"] == below
    assert summary["inputs"]["network"].startswith("OpenStreetMap file Helsinki.osm.pbf")
    assert "illustrative" in summary["note"]


def test_demo_map_names_its_layers_and_the_illustrative_data(demo):
    html = (demo / "map.html").read_text(encoding="utf-8")
    for label in ("Community coverage", "5-minute walk", "15-minute walk", "Care facilities", "illustrative"):
        assert label in html
    assert "cdn.jsdelivr" not in html and "code.jquery" not in html


def test_second_run_is_identical_and_uses_the_cache(tmp_path, capsys):
    cache = tmp_path / "cache"
    args = ["run", "--cache-dir", str(cache), "--quiet", "--no-isochrones"]
    assert main([*args, "--output", str(tmp_path / "a")]) == 0
    assert len(list(cache.glob("network-*.npz"))) == 1
    stamp = next(cache.glob("network-*.npz")).stat().st_mtime_ns
    assert main([*args, "--output", str(tmp_path / "b")]) == 0
    assert next(cache.glob("network-*.npz")).stat().st_mtime_ns == stamp
    for name in ("summary.json", "communities.csv", "facilities.csv", "demand.csv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


def test_local_network_file_with_user_inputs(tmp_path, capsys):
    out = tmp_path / "out"
    code = main(["run", "--network", str(default_network_path()), "--facilities", str(DATA / "facilities.csv"),
                 "--communities", str(DATA / "communities.geojson"), "--output", str(out), "--no-cache",
                 "--minutes", "10,20", "--speed", "slow", "--lang", "zh", "--merged-isochrones-only"])
    assert code == 0
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["thresholds_min"] == [10.0, 20.0]
    assert summary["walk_speed_mps"] == 0.8
    assert "20分钟" in (out / "map.html").read_text(encoding="utf-8") or "20 分钟" in (
        out / "map.html").read_text(encoding="utf-8")
    printed = capsys.readouterr().out
    assert "步行  20分钟内" in printed  # --lang zh: the console is Chinese too (issue 15)


def test_demand_points_instead_of_communities(tmp_path):
    demand = pd.DataFrame({"lon": [24.9414, 24.9460, 24.9500], "lat": [60.1690, 60.1720, 60.1660],
                           "population": [10, 20, 30]})
    demand.to_csv(tmp_path / "points.csv", index=False)
    out = tmp_path / "out"
    code = main(["run", "--demand", str(tmp_path / "points.csv"), "--output", str(out), "--no-cache",
                 "--no-isochrones", "--quiet"])
    assert code == 0
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["elderly_population"] == 60
    assert summary["n_demand_points"] == 3


# ---------------------------------------------------------------------------------------------- bad input


def _far_facilities(tmp_path: Path) -> Path:
    """The demo's facilities moved 5 km east of the network (a file of the wrong area, or wrong coordinates)."""
    df = pd.read_csv(DATA / "facilities.csv")
    df["lon"] = df["lon"] + 0.09
    path = tmp_path / "far.csv"
    df.to_csv(path, index=False)
    return path


def _facilities(tmp_path: Path, **changes) -> Path:
    df = pd.read_csv(DATA / "facilities.csv")
    for col, (row, value) in changes.items():
        df.loc[row, col] = value
    path = tmp_path / "facilities.csv"
    df.to_csv(path, index=False)
    return path


BAD = [
    # (name, argv builder, exit code, message fragment)
    ("missing facilities file", lambda t: ["--facilities", str(t / "nope.csv")], 3, "does not exist"),
    ("empty facilities file", lambda t: ["--facilities", str(_write(t / "f.csv", ""))], 3, "empty"),
    ("header only", lambda t: ["--facilities", str(_write(t / "f.csv", "facility_id,lon,lat\n"))], 3, "no rows"),
    ("NaN coordinates", lambda t: ["--facilities", str(_facilities(t, lon=(2, np.nan)))], 3, r"rows 3\b"),
    ("duplicate ids", lambda t: ["--facilities", str(_facilities(t, facility_id=(1, "F01")))], 3, "'F01'"),
    ("every facility far from the network", lambda t: ["--facilities", str(_far_facilities(t))], 4,
     r"F01 \(\d+ m\).*no facility is left"),
    ("missing elderly column", lambda t: ["--communities", str(DATA / "communities.geojson"),
                                          "--elderly-col", "old"], 3, "'old'.*--elderly-col"),
    ("unreadable network", lambda t: ["--network", str(_write(t / "x.osm.pbf", "not a pbf")),
                                      "--facilities", str(DATA / "facilities.csv"),
                                      "--communities", str(DATA / "communities.geojson")], 5, "x.osm.pbf"),
    ("unknown network type", lambda t: ["--network", str(_write(t / "x.shp", "")),
                                        "--facilities", str(DATA / "facilities.csv"),
                                        "--communities", str(DATA / "communities.geojson")], 5, "unknown type"),
    ("area without facilities", lambda t: ["--network", str(default_network_path())], 3, "--facilities"),
    ("bbox malformed", lambda t: ["--bbox", "1,2,3", "--facilities", "f.csv", "--demand", "d.csv"], 3, "four"),
    ("bbox out of order", lambda t: ["--bbox", "24.96,60.16,24.93,60.18", "--facilities", str(DATA / "facilities.csv"),
                                     "--demand", str(DATA / "facilities.csv"), "--no-cache"], 3, "west<east"),
]


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(("name", "argv", "code", "match"), BAD, ids=[b[0] for b in BAD])
def test_bad_input_one_line_exit_code_no_output(tmp_path, capsys, name, argv, code, match):
    out = tmp_path / "out"
    result = main(["run", *argv(tmp_path), "--output", str(out), "--no-cache"])
    err = capsys.readouterr().err.strip()
    assert result == code, err
    assert err.startswith("carecircle: error: ")
    assert len(err.splitlines()) == 1, err
    assert "Traceback" not in err
    import re

    assert re.search(match, err), err
    assert not out.exists()


@pytest.mark.parametrize("argv", [["--minutes", "5,x"], ["--minutes", "-5"], ["--speed", "fast"],
                                  ["--speed", "30"], ["--lang", "fr"]])
def test_bad_options_are_usage_errors(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["run", *argv])
    assert exc.value.code == 2
    assert "carecircle run: error:" in capsys.readouterr().err


def test_failed_run_keeps_previous_results(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["run", "--output", str(out), "--no-cache", "--no-isochrones", "--quiet"]) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    bad = _far_facilities(tmp_path)
    assert main(["run", "--facilities", str(bad), "--output", str(out), "--no-cache"]) == 4
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_output_path_that_is_a_file_is_an_output_error(tmp_path, capsys):
    blocker = _write(tmp_path / "taken", "keep me")
    assert main(["run", "--output", str(blocker), "--no-cache", "--no-isochrones"]) == 6
    assert blocker.read_text() == "keep me"
    assert "--output" in capsys.readouterr().err


def test_debug_shows_the_traceback(tmp_path):
    from carecircle.errors import InputError

    with pytest.raises(InputError):
        main(["run", "--facilities", str(tmp_path / "nope.csv"), "--debug", "--no-cache"])


def test_quiet_prints_only_the_map_path(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["run", "--output", str(out), "--no-cache", "--no-isochrones", "--quiet"]) == 0
    assert capsys.readouterr().out.strip() == str(out / "map.html")


def test_no_command_prints_help(capsys):
    assert main([]) == 2
    assert "run" in capsys.readouterr().out


@pytest.mark.browser
def test_demo_map_opens_in_chromium(demo, tmp_path):
    driver = open_browser(tmp_path)
    try:
        driver.get((demo / "map.html").as_uri())
        driver.implicitly_wait(5)
        assert driver.execute_script("return typeof L") == "object"
        labels = driver.execute_script(
            "return Array.from(document.querySelectorAll('.leaflet-control-layers-overlays label'))"
            ".map(l => l.textContent.trim())")
        assert {"Community coverage", "5-minute walk", "10-minute walk", "15-minute walk",
                "Care facilities"} <= set(labels)
        # 7 communities + 6 facilities + uncovered points are drawn as interactive SVG paths
        assert driver.execute_script("return document.querySelectorAll('.leaflet-interactive').length") > 13
        assert severe_console_errors(driver) == []
        png = tmp_path / "demo.png"
        driver.save_screenshot(str(png))
        assert png.stat().st_size > 20_000
    finally:
        driver.quit()


@pytest.mark.online
def test_online_place(tmp_path):
    facilities = pd.DataFrame({"facility_id": ["A"], "lon": [24.9316], "lat": [60.1690]})
    facilities.to_csv(tmp_path / "f.csv", index=False)
    demand = pd.DataFrame({"lon": [24.9350], "lat": [60.1675], "population": [5]})
    demand.to_csv(tmp_path / "d.csv", index=False)
    code = main(["run", "--place", "Kamppi, Helsinki, Finland", "--facilities", str(tmp_path / "f.csv"),
                 "--demand", str(tmp_path / "d.csv"), "--output", str(tmp_path / "out"),
                 "--cache-dir", str(tmp_path / "cache")])
    assert code == 0


def test_progress_bar_counts_long_steps_on_a_terminal():
    import io

    from rich.console import Console

    from carecircle.commands import _ProgressDisplay

    screen = io.StringIO()
    display = _ProgressDisplay(Console(file=screen, force_terminal=True, width=100))
    with display as progress:
        progress("Reading inputs")
        progress("Drawing isochrones", 2, 5)
        assert display._bar.tasks[0].completed == 2 and display._bar.tasks[0].total == 5
        display._bar.refresh()
    assert "Drawing isochrones" in screen.getvalue() and "2/5" in screen.getvalue()


def test_quiet_or_piped_runs_print_no_progress(tmp_path, capsys):
    assert main(["run", "--no-cache", "--no-isochrones", "--quiet", "--output", str(tmp_path / "q")]) == 0
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out.strip() == str(tmp_path / "q" / "map.html")


# ------------------------------------------------------------------------- scenarios, compare, standards

SCENARIOS = Path(__file__).resolve().parents[1] / "data" / "scenarios"


def test_init_writes_an_example_that_runs_and_never_overwrites(tmp_path, capsys):
    path = tmp_path / "s.yaml"
    assert main(["init", str(path)]) == 0
    text = path.read_text(encoding="utf-8")
    assert main(["init", str(path)]) == 3
    assert "already exists" in capsys.readouterr().err
    assert path.read_text(encoding="utf-8") == text
    assert main(["run", str(path), "--output", str(tmp_path / "out"), "--no-cache", "--quiet"]) == 0
    assert (tmp_path / "out" / "report.html").is_file()


def test_several_scenarios_with_errors_are_all_reported_before_any_work(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nwalking:\n  speed_mps: 9\nfacilities:\n  crs: gcj-2\n", encoding="utf-8")
    assert main(["run", str(SCENARIOS / "baseline.yaml"), str(bad), "--no-cache", "--quiet"]) == 3
    err = capsys.readouterr().err.strip()
    assert "line 3" in err and "walking.speed_mps" in err and "line 5" in err and "facilities.crs" in err
    assert "\n" not in err


def test_output_folder_cannot_hold_two_scenarios(tmp_path, capsys):
    args = ["run", str(SCENARIOS / "baseline.yaml"), str(SCENARIOS / "plan.yaml"), "--output", str(tmp_path)]
    assert main(args) == 3
    assert "several scenarios" in capsys.readouterr().err


def test_compare_baseline_with_plan(tmp_path, capsys):
    out = tmp_path / "cmp"
    assert main(["compare", str(SCENARIOS / "baseline.yaml"), str(SCENARIOS / "plan.yaml"), "--output", str(out),
                 "--no-cache"]) == 0
    text = capsys.readouterr().out
    assert "比较“baseline”（现状）与“plan”（规划）" in text and str(out) in text  # the scenarios say lang: zh
    headline = pd.read_csv(out / "headline.csv", encoding="utf-8-sig")
    assert len(headline) == 3
    assert (out / "map.html").is_file() and (out / "compliance.csv").is_file()


def test_standards_lists_the_bundled_profiles(capsys):
    assert main(["standards"]) == 0
    listed = capsys.readouterr().out
    for pid in ("qitaihe-2020", "qiqihar-2025", "jingzhou-2025", "shenyang-2021", "chishui-2020", "gb50180-2018",
                "gb50437"):
        assert pid in listed
    assert main(["standards", "qitaihe-2020"]) == 0
    assert "daycare_coverage" in capsys.readouterr().out
    assert main(["standards", "nope"]) == 3


def test_run_with_a_standard_writes_compliance_in_the_profiles_language(tmp_path):
    out = tmp_path / "q"
    assert main(["run", "--standard", "qitaihe-2020", "--output", str(out), "--no-cache", "--no-isochrones",
                 "--quiet"]) == 0
    table = pd.read_csv(out / "compliance.csv", encoding="utf-8-sig")
    assert {"指标编号", "评估", "差距"} <= set(table.columns)             # zh from the profile
    assert set(table["评估"]) <= {"达标", "未达标", "无法评估"}
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["compliance"]["standard"] == "qitaihe-2020"
    assert summary["thresholds_min"] == [5, 10, 15] and summary["target_share"] == 0.9
    out_en = tmp_path / "q-en"
    assert main(["run", "--standard", "qitaihe-2020", "--lang", "en", "--output", str(out_en), "--no-cache",
                 "--no-isochrones", "--quiet"]) == 0
    table = pd.read_csv(out_en / "compliance.csv", encoding="utf-8-sig")
    assert set(table["status"]) <= {"pass", "fail", "unevaluable"} and "needs" in " ".join(table["shortfall"].dropna())


def test_run_prints_the_targets_not_met_and_those_it_cannot_check(tmp_path, capsys):
    assert main(["run", "--standard", "qiqihar-2025", "--lang", "en", "--output", str(tmp_path), "--no-cache",
                 "--no-isochrones"]) == 0
    out = capsys.readouterr().out
    assert "Standard qiqihar-2025:" in out
    # 11,127 elderly × 41 / 1,000 = 456.2 beds needed; institutional beds only: F05 120 (F01's 30 are a
    # centre's) → 10.8 per 1,000, 337 more
    assert "not met  beds_per_1000: 10.8 per 1,000" in out and "needs 337 beds more" in out
    assert "unknown  rural_mutual_aid" in out and "area_type" in out


def test_a_rerun_into_the_same_folder_removes_only_files_the_earlier_run_wrote(tmp_path):
    out = tmp_path / "out"
    common = ["--output", str(out), "--no-cache", "--no-isochrones", "--quiet"]
    assert main(["run", "--standard", "shenyang-2021", *common]) == 0
    assert (out / "compliance.csv").is_file()
    (out / "my notes.txt").write_text("keep me", encoding="utf-8")
    assert main(["run", *common]) == 0                       # no standard: no compliance table
    assert not (out / "compliance.csv").exists()
    assert (out / "my notes.txt").read_text(encoding="utf-8") == "keep me"
    assert (out / "report.html").is_file()


def test_scenario_files_refuse_options_they_would_ignore(capsys):
    path = str(SCENARIOS / "baseline.yaml")
    assert main(["run", path, "--standard", "shenyang-2021", "--minutes", "20", "--no-cache"]) == 3
    err = capsys.readouterr().err
    assert "--minutes, --standard cannot be combined with scenario files" in err


@pytest.mark.parametrize("value", ["-5", "0", "abc"])
def test_max_snap_must_be_positive_metres(value, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["run", "--max-snap-m", value])
    assert exit_.value.code == 2 and "metres" in capsys.readouterr().err


def test_help_says_which_speed_the_maps_use(capsys):
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--speed M/S[,M/S]" in text and "the maps and tables use the first speed" in text
    assert "--distance M,M,M" in text and "GB 50180" in text


def test_scenario_with_sensitivity_speeds_and_distances(tmp_path, capsys):
    scenario = _write(tmp_path / "plan.yaml", "name: speeds\nwalking:\n  preset: typical\n  sensitivity_speeds: "
                      "[slow, 1.0, brisk]\ndistances_m: [400, 800]\noutputs:\n  isochrones: false\n")
    assert main(["run", str(scenario), "--output", str(tmp_path / "out")]) == 0
    printed = capsys.readouterr().out
    assert "within   400 m:" in printed and "at 0.8 m/s" in printed and "at 1.2 m/s" in printed
    table = pd.read_csv(tmp_path / "out" / "sensitivity.csv", encoding="utf-8-sig")
    assert table["speed_mps"].tolist() == [0.8, 0.8, 1.0, 1.0, 1.2, 1.2]
    assert table["metres"].tolist() == [400, 800] * 3
    summary = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))
    assert summary["walk_speed_mps"] == 1.0 and summary["sensitivity"]["main_speed_mps"] == 1.0
