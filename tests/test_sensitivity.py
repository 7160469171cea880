"""Speed sensitivity in one run and distance thresholds (issue 12 item 3), on the bundled demo."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from carecircle.cli import main
from carecircle.config import StudyConfig
from carecircle.core.osm_tags import EDGE_STEPS
from carecircle.pipeline import prepare, run, walking_features
from carecircle.plan.results import SENSITIVITY_COLUMNS

SPEEDS = [0.8, 1.0, 1.2]


def _config(**walking) -> StudyConfig:
    extra = walking.pop("top", {})
    return StudyConfig.build({"walking": walking, "outputs": {"isochrones": False}, **extra})


@pytest.fixture(scope="module")
def plain():
    return run(_config(speed_mps=0.8, sensitivity_speeds=SPEEDS))


@pytest.fixture(scope="module")
def older():
    return run(_config(speed_mps=1.0, model="older", sensitivity_speeds=SPEEDS))


def _shares(table: pd.DataFrame, speed: float) -> list[float]:
    return table[table["speed_mps"] == speed]["share"].tolist()


# ------------------------------------------------------------------------------------------ configuration


def test_presets_and_numbers_make_the_same_speeds():
    assert _config(sensitivity_speeds=["slow", "typical", 1.2]).walking.speeds_mps == (0.8, 1.0, 1.2)
    assert _config().walking.speeds_mps == (1.0,)


@pytest.mark.parametrize(("data", "match"), [
    ({"walking": {"sensitivity_speeds": [1.0, "typical"]}}, "none repeated"),
    ({"walking": {"sensitivity_speeds": ["fast"]}}, "'fast' is neither m/s nor a preset"),
    ({"walking": {"sensitivity_speeds": [9]}}, "not a walking speed"),
    ({"thresholds_min": [5], "distances_m": [300]}, "give thresholds_min .minutes. or distances_m .metres., not both"),
    ({"distances_m": [300, 300]}, "none repeated"),
    ({"distances_m": [0]}, "above 0"),
])
def test_bad_values_name_the_key(data, match):
    with pytest.raises(ValueError, match=match):
        StudyConfig.build(data)


def test_distances_become_minutes_at_each_speed():
    config = StudyConfig.build({"distances_m": [1000, 300, 500], "walking": {"speed_mps": 1.25}})
    assert config.thresholds == pytest.approx((4.0, 500 / 75, 1000 / 75))
    assert config.thresholds_at(1.0) == pytest.approx((5.0, 500 / 60, 1000 / 60))


# ------------------------------------------------------------------------------------------ the pipeline


def test_one_row_per_speed_and_threshold(plain):
    table = plain.sensitivity
    assert list(table.columns) == list(SENSITIVITY_COLUMNS)
    assert table["speed_mps"].tolist() == [s for s in SPEEDS for _ in range(3)]
    assert table["minutes"].tolist() == [5.0, 10.0, 15.0] * 3
    assert table["metres"].isna().all()


def test_main_study_is_the_first_speed(plain):
    assert plain.coverage.walk_speed_mps == 0.8
    assert _shares(plain.sensitivity, 0.8) == [plain.coverage.summary["share"][k] for k in ("5", "10", "15")]


def test_each_speed_equals_a_study_run_at_that_speed(plain, older):
    for speed in (1.0, 1.2):
        alone = run(_config(speed_mps=speed))
        assert _shares(plain.sensitivity, speed) == pytest.approx(list(alone.coverage.summary["share"].values()))
    # the older model is applied again at each speed: its waits cost more metres when walking faster
    alone = run(_config(speed_mps=1.2, model="older"))
    assert _shares(older.sensitivity, 1.2) == pytest.approx(list(alone.coverage.summary["share"].values()))


def test_coverage_never_falls_as_speed_rises(plain, older):
    for study in (plain, older):
        for minutes, rows in study.sensitivity.groupby("minutes"):
            assert np.all(np.diff(rows["share"].to_numpy()) >= -1e-12), minutes


def test_older_model_never_covers_more_than_plain_at_the_same_speed(plain, older):
    assert np.all(older.sensitivity["covered"].to_numpy() <= plain.sensitivity["covered"].to_numpy() + 1e-9)


def test_plain_distance_coverage_does_not_depend_on_speed():
    study = run(_config(sensitivity_speeds=SPEEDS, top={"distances_m": [300, 500, 1000]}))
    table = study.sensitivity
    assert table["metres"].tolist() == [300.0, 500.0, 1000.0] * 3
    assert table["minutes"].iloc[:3].tolist() == pytest.approx([300 / 48, 500 / 48, 1000 / 48])
    assert _shares(table, 0.8) == pytest.approx(_shares(table, 1.2))
    assert study.distances_m == (300.0, 500.0, 1000.0)
    by_minutes = run(_config(top={"thresholds_min": [5, 500 / 60, 1000 / 60]}))
    assert list(study.coverage.summary["share"].values()) == pytest.approx(
        list(by_minutes.coverage.summary["share"].values()))


def test_walking_features_are_the_stairs_and_the_penalised_crossings(older):
    study = prepare(_config(model="older"))
    net = study.network
    found = walking_features(net, 1.0)
    assert (found["kind"] == "steps").sum() == (net.edge_kind == EDGE_STEPS).sum() > 0
    ends = set(net.edge_u[net.edge_pen_u > 0]) | set(net.edge_v[net.edge_pen_v > 0])
    crossings = found[found["kind"] == "crossing"]
    assert len(crossings) == len(ends) > 0
    assert set(crossings["wait_s"]) <= {15.0, 25.0, 30.0}
    assert found.crs.to_epsg() == 4326
    assert older.walking_features is not None and len(older.walking_features) == len(found)


# ------------------------------------------------------------------------------------------ what is written


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    out = tmp_path_factory.mktemp("sens") / "out"
    cache = tmp_path_factory.mktemp("cache")
    code = main(["run", "--speed", "slow,typical,brisk", "--walk-model", "older", "--no-isochrones",
                 "--output", str(out), "--cache-dir", str(cache), "--quiet"])
    assert code == 0
    return out


def test_sensitivity_csv_and_summary_agree(written):
    table = pd.read_csv(written / "sensitivity.csv", encoding="utf-8-sig")
    assert list(table.columns) == ["speed_mps", "minutes", "population", "covered", "share"]
    summary = json.loads((written / "summary.json").read_text(encoding="utf-8"))
    block = summary["sensitivity"]
    assert block["main_speed_mps"] == summary["walk_speed_mps"] == 0.8 and block["unit"] == "min"
    assert [s["speed_mps"] for s in block["speeds"]] == SPEEDS
    top = table[table["minutes"] == 15]
    assert top["share"].tolist() == pytest.approx([s["share"]["15"] for s in block["speeds"]], abs=1e-4)
    assert summary["share"]["15"] == pytest.approx(block["speeds"][0]["share"]["15"])
    assert summary["walking_model"]["name"] == "older" and summary["walking_model"]["wait_signals_s"] == 30


def test_report_says_it_in_one_sentence_with_a_chart(written):
    page = (written / "report.html").read_text(encoding="utf-8")
    summary = json.loads((written / "summary.json").read_text(encoding="utf-8"))
    shares = [f"{s['share']['15']:.1%}" for s in summary["sensitivity"]["speeds"]]
    assert (f"15-minute coverage {shares[0]} at 0.8 m/s, {shares[1]} at 1.0 m/s, {shares[2]} at 1.2 m/s."
            in page)
    assert 'class="sensitivity-chart"' in page and "first speed given" in page


def test_one_speed_keeps_todays_outputs(tmp_path):
    out = tmp_path / "out"
    assert main(["run", "--speed", "0.9", "--no-isochrones", "--output", str(out), "--quiet"]) == 0
    assert not (out / "sensitivity.csv").exists()
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert "sensitivity" not in summary and summary["walk_speed_mps"] == 0.9
    assert summary["walking_model"]["name"] == "plain"


def test_distances_in_metres_everywhere_the_console_and_report_speak(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["run", "--distance", "300,500,1000", "--speed", "1.0,1.2", "--no-isochrones", "--lang", "zh",
                 "--output", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "300米内" in printed and "1000米内" in printed and "分钟" not in printed
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["distances_m"] == [300, 500, 1000]
    assert summary["sensitivity"]["unit"] == "m" and list(summary["sensitivity"]["speeds"][0]["share"]) == [
        "300", "500", "1000"]
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "300米内步行可达" in page and "1000米内覆盖率：" in page and "GB 50180" in page
    table = pd.read_csv(out / "sensitivity.csv", encoding="utf-8-sig")
    assert list(table.columns) == ["步行速度(米/秒)", "阈值(分钟)", "阈值(米)", "人口", "覆盖人口", "覆盖率"]


@pytest.mark.parametrize(("argv", "match"), [
    (["run", "--minutes", "5", "--distance", "300"], "not allowed with argument"),
    (["run", "--speed", "1.0,1.0"], "speeds repeat"),
    (["run", "--speed", "0.8,fast"], "neither m/s nor a preset"),
    (["run", "--distance", "300,-5"], "above 0 metres"),
])
def test_bad_flags_are_usage_errors(argv, match, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    assert match in capsys.readouterr().err


def test_suggest_takes_one_speed(tmp_path, capsys):
    code = main(["suggest", "--speed", "0.8,1.0", "--output", str(tmp_path / "s")])
    assert code != 0
    assert "chooses sites at one walking speed" in capsys.readouterr().err
