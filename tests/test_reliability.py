"""Issue 16, the items on the top layer: hostile scenario names stay inside maps/, suggestion columns are checked
before the heavy work, per-facility isochrones are capped, the demo note only describes the demo."""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd
import pytest

import carecircle.pipeline
from carecircle.cli import main
from carecircle.io.default_data import DEFAULT_NOTE, default_data_dir
from carecircle.pipeline import run_study


def test_compare_keeps_hostile_scenario_names_inside_maps(tmp_path, monkeypatch, capsys):
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    for name, file in (("x/../../../../tmp/elsewhere", "a.yaml"), ("../../b", "b.yaml")):
        text = f"name: {name!r}\ninputs:\n  demand_method: centroid\noutputs:\n  isochrones: false\n"
        (work / file).write_text(text.replace("'", '"'), encoding="utf-8")
    assert main(["compare", "a.yaml", "b.yaml", "--no-cache", "--quiet"]) == 0
    written = Path(capsys.readouterr().out.strip()).resolve()
    assert written.parent.parent == (work / "maps").resolve()
    assert ".." not in written.parent.name and "/" not in written.parent.name
    assert sorted(p.name for p in tmp_path.iterdir()) == ["work"]  # nothing beside the working folder


def test_a_missing_cost_column_is_refused_before_any_work(tmp_path, capsys, monkeypatch):
    candidates = tmp_path / "sites.csv"
    candidates.write_text("candidate_id,lon,lat,price\nK1,24.945,60.170,100\n", encoding="utf-8")
    monkeypatch.setattr(carecircle.pipeline, "load_area", lambda *a, **k: pytest.fail("network loaded"))
    code = main(["suggest", "--candidates", str(candidates), "--cost-col", "cost", "--budget", "500",
                 "--output", str(tmp_path / "out"), "--no-cache"])
    err = capsys.readouterr().err
    assert code == 3 and "sites.csv: no column 'cost' (suggest.cost_col)" in err and "price" in err, err
    assert not (tmp_path / "out").exists()


def test_per_facility_isochrones_are_capped_with_a_warning(monkeypatch, caplog):
    monkeypatch.setattr(carecircle.pipeline, "MAX_PER_FACILITY_ISOCHRONES", 3)
    with caplog.at_level(logging.WARNING, logger="carecircle.pipeline"):
        study = run_study(demand_method="centroid", thresholds_min=(10,))
    assert len(study.coverage.facilities) > 3
    assert study.isochrones["facility_id"].isna().all()  # merged walking areas only
    assert "drawing the merged walking areas only" in caplog.text


def test_the_demo_note_describes_only_the_demo(tmp_path):
    assert run_study(demand_method="centroid", with_isochrones=False).note == DEFAULT_NOTE
    mine = tmp_path / "my_facilities.csv"
    pd.read_csv(default_data_dir() / "facilities.csv").to_csv(mine, index=False)
    assert run_study(facilities=mine, demand_method="centroid", with_isochrones=False).note is None
