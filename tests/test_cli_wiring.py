"""The command line's wiring, called in-process on the bundled demo (offline) and checked through what it writes.

Interrupts and internal errors are raised from the computation the command reaches (the pipeline's coverage
run, the siting's walking search), so the tests hold however the CLI is arranged inside. Every ``suggest``
option is checked in the files of its run (``summary.json``, ``sites.csv``); the runs are shared per module.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

import carecircle.pipeline
import carecircle.plan.siting
from carecircle.cli import main

#: Six candidate sites inside the demo area (central Helsinki), with a cost and a capacity each.
CANDIDATES = pd.DataFrame({
    "candidate_id": ["K1", "K2", "K3", "K4", "K5", "K6"],
    "name": [f"Site {i}" for i in range(1, 7)],
    "lon": [24.9360, 24.9420, 24.9480, 24.9360, 24.9420, 24.9480],
    "lat": [60.1650, 60.1650, 60.1650, 60.1720, 60.1720, 60.1780],
    "cost": [100.0, 200.0, 300.0, 150.0, 250.0, 120.0],
    "places": [10.0, 20.0, 30.0, 40.0, 50.0, 60.0],
}).set_index("candidate_id")


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> Path:
    """One network cache for the whole module: the demo network is built once."""
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="module")
def candidates_csv(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("inputs") / "candidates.csv"
    CANDIDATES.reset_index().to_csv(path, index=False)
    return path


def _raise(exc: BaseException):
    def raising(*_args, **_kwargs):
        raise exc
    return raising


def _suggest(folder: Path, cache: Path, *options: str) -> tuple[dict, pd.DataFrame]:
    """Run ``suggest`` on the demo and read back its summary and sites."""
    assert main(["suggest", "--output", str(folder), "--cache-dir", str(cache), "--quiet", *options]) == 0
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    sites = pd.read_csv(folder / "sites.csv", encoding="utf-8-sig")
    assert sites["candidate_id"].tolist() == [s["candidate_id"] for s in summary["sites"]]
    return summary, sites


# ---------------------------------------------------------------------------------- interrupts and bugs

#: Per command, a computation the run reaches, patched where the calling module looks it up.
SEAMS = {
    "run": (carecircle.pipeline, "measure_coverage", ["--no-isochrones"]),
    "suggest": (carecircle.plan.siting, "source_demand_distances", []),
}


@pytest.mark.parametrize("command", sorted(SEAMS))
def test_ctrl_c_exits_130_with_a_message_and_writes_nothing(command, tmp_path, cache, monkeypatch, capsys):
    module, name, options = SEAMS[command]
    monkeypatch.setattr(module, name, _raise(KeyboardInterrupt()))
    out = tmp_path / "out"
    assert main([command, "--output", str(out), "--cache-dir", str(cache), "--quiet", *options]) == 130
    err = capsys.readouterr().err.strip()
    assert "interrupted" in err and "\n" not in err
    assert list(tmp_path.rglob("*")) == []  # no output folder, no temporary folder


def test_unexpected_exception_exits_70_and_points_to_debug(tmp_path, cache, monkeypatch, capsys):
    monkeypatch.setattr(carecircle.pipeline, "measure_coverage", _raise(RuntimeError("boom in coverage")))
    out = tmp_path / "out"
    assert main(["run", "--output", str(out), "--cache-dir", str(cache), "--quiet", "--no-isochrones"]) == 70
    err = capsys.readouterr().err.strip()
    assert "RuntimeError: boom in coverage" in err and "--debug" in err and "\n" not in err
    assert list(tmp_path.rglob("*")) == []


def test_with_debug_the_exception_propagates(tmp_path, cache, monkeypatch):
    monkeypatch.setattr(carecircle.pipeline, "measure_coverage", _raise(RuntimeError("boom in coverage")))
    with pytest.raises(RuntimeError, match="boom in coverage"):
        main(["run", "--output", str(tmp_path / "out"), "--cache-dir", str(cache), "--quiet", "--no-isochrones",
              "--debug"])
    assert list(tmp_path.rglob("*")) == []


# ------------------------------------------------------------------------------------ suggest options
# Five minutes, so that the demo's existing facilities leave most elderly uncovered and the sites matter.


@pytest.fixture(scope="module")
def from_file(tmp_path_factory, cache, candidates_csv):
    """Two sites from the candidates file, with a time limit; the solver's arguments are recorded."""
    calls = []
    original = carecircle.plan.siting.maximal_covering

    def recording(*args, **kwargs):
        calls.append(kwargs)
        return original(*args, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(carecircle.plan.siting, "maximal_covering", recording)
        summary, sites = _suggest(tmp_path_factory.mktemp("from_file"), cache, "--candidates", str(candidates_csv),
                                  "--minutes", "5", "--new-sites", "2", "--time-limit-s", "7.5")
    return summary, sites, calls


def test_candidates_file_supplies_the_sites(from_file):
    summary, sites, _ = from_file
    assert summary["method"] == "mclp" and summary["candidates"] == len(CANDIDATES)
    assert len(sites) == 2 and set(sites["candidate_id"]) <= set(CANDIDATES.index)
    chosen = CANDIDATES.loc[sites["candidate_id"]]
    assert sites["name"].tolist() == chosen["name"].tolist()
    assert sites["lon"].to_numpy() == pytest.approx(chosen["lon"].to_numpy(), abs=1e-4)
    assert sites["lat"].to_numpy() == pytest.approx(chosen["lat"].to_numpy(), abs=1e-4)
    assert summary["share_after"] > summary["share_before"]


def test_time_limit_reaches_the_solver(from_file):
    summary, _, calls = from_file
    assert calls and all(c["time_limit_s"] == 7.5 for c in calls)
    assert "time_limit_s" not in json.dumps(summary)  # not recorded in the summary, hence the recording solver


@pytest.fixture(scope="module")
def within_budget(tmp_path_factory, cache, candidates_csv):
    return {budget: _suggest(tmp_path_factory.mktemp(f"budget{budget}"), cache, "--candidates", str(candidates_csv),
                             "--minutes", "5", "--new-sites", "2", "--cost-col", "cost", "--budget", str(budget))
            for budget in (260, 120)}


def test_cost_column_and_budget_bound_the_sites(within_budget, from_file):
    unbounded = CANDIDATES.loc[from_file[1]["candidate_id"], "cost"].sum()
    assert unbounded > 260  # so the budget changes the answer
    summary, sites = within_budget[260]
    assert len(sites) == 2 and CANDIDATES.loc[sites["candidate_id"], "cost"].sum() <= 260
    assert summary["share_after"] < from_file[0]["share_after"]
    # 120 pays for K1 or K6 but for no two sites: one site
    summary, sites = within_budget[120]
    assert len(sites) == 1 and summary["new_sites"] == 1
    assert CANDIDATES.loc[sites["candidate_id"], "cost"].sum() <= 120


def test_site_capacity_column_caps_what_the_sites_serve(tmp_path, cache, candidates_csv, from_file):
    # Capacities of 10..60 elderly, far below the hundreds each site reaches: the two largest serve 60 + 50.
    summary, sites = _suggest(tmp_path / "out", cache, "--candidates", str(candidates_csv), "--minutes", "5",
                              "--new-sites", "2", "--site-capacity-col", "places")
    assert sorted(sites["candidate_id"]) == ["K5", "K6"]
    assert summary["solver"]["objective"] == pytest.approx(110)
    assert from_file[0]["solver"]["objective"] > 1000  # without capacities
    # sites.csv says what each site serves within its capacity, beside the walking coverage it adds.
    assert sorted(sites["served"]) == pytest.approx([50, 60]) and (sites["gain"] > sites["served"]).all()
    assert sites["share_served_after"].iloc[-1] < sites["share_after"].iloc[-1]


@pytest.fixture(scope="module")
def p_median(tmp_path_factory, cache):
    """p-median on the generated candidate grid, at two spacings."""
    return {spacing: _suggest(tmp_path_factory.mktemp(f"spacing{spacing}"), cache, "--method", "p-median",
                              "--minutes", "5", "--new-sites", "2", "--spacing-m", str(spacing))
            for spacing in (200, 400)}


def test_larger_spacing_gives_fewer_candidates(p_median):
    dense, sparse = p_median[200][0]["candidates"], p_median[400][0]["candidates"]
    assert 0 < sparse < dense


def test_p_median_is_run_and_reports_minutes_saved(p_median):
    summary, sites = p_median[400]
    assert summary["method"] == "p-median" and summary["new_sites"] == 2
    assert (sites["minutes_saved"] > 0).all()
    assert all(s["minutes_saved"] > 0 for s in summary["sites"])
