"""The one study configuration: CLI flags, scenario files and the Python API build it with the same defaults
and refuse the same bad values with the same message."""

from __future__ import annotations

from pathlib import Path

import pytest

from carecircle.cli import main
from carecircle.config import StudyConfig
from carecircle.defaults import DEFAULT_THRESHOLDS_MIN
from carecircle.errors import InputError
from carecircle.pipeline import run_study, study_config
from carecircle.scenario import load_scenario

#: (CLI flag and text, scenario YAML, run_study keyword, the message all three must show)
BAD = [
    (["--speed", "5"], "walking:\n  speed_mps: 5\n", {"walk_speed_mps": 5.0}, "5 m/s is not a walking speed"),
    (["--speed", "0.05"], "walking:\n  speed_mps: 0.05\n", {"walk_speed_mps": 0.05}, "0.05 m/s is not a walking speed"),
    (["--max-snap-m", "-5"], "walking:\n  max_snap_m: -5\n", {"max_snap_m": -5.0},
     "-5 is not a distance to the network (give a positive number of metres"),
    (["--max-snap-m", "inf"], "walking:\n  max_snap_m: .inf\n", {"max_snap_m": float("inf")},
     "give a positive number of metres"),
    (["--minutes", "5,0"], "thresholds_min: [5, 0]\n", {"thresholds_min": (5, 0)},
     "thresholds must be above 0 and at most 120 minutes, got 0"),
    (["--minutes", "5,5"], "thresholds_min: [5, 5]\n", {"thresholds_min": (5, 5)}, "thresholds repeat: 5, 5"),
    (["--minutes", "200"], "thresholds_min: [200]\n", {"thresholds_min": (200,)}, "at most 120 minutes, got 200"),
    (["--target", "1.5"], "target_share: 1.5\n", {"target_share": 1.5}, "1.5 is not a share (give a number"),
]


@pytest.mark.parametrize(("argv", "yaml_text", "kwargs", "message"), BAD, ids=[" ".join(b[0]) for b in BAD])
def test_cli_yaml_and_api_refuse_a_bad_value_with_the_same_message(tmp_path, capsys, argv, yaml_text, kwargs,
                                                                   message):
    with pytest.raises(SystemExit) as exit_:
        main(["run", *argv, "--output", str(tmp_path / "out")])
    cli = capsys.readouterr().err
    assert exit_.value.code == 2 and message in cli, cli

    path = tmp_path / "s.yaml"
    path.write_text(yaml_text, encoding="utf-8")
    with pytest.raises(InputError) as from_yaml:
        load_scenario(path)
    assert message in str(from_yaml.value) and "s.yaml line " in str(from_yaml.value)

    with pytest.raises(InputError) as from_api:
        run_study(**kwargs)  # refused before any input is read or any network loaded
    assert message in str(from_api.value)
    assert not (tmp_path / "out").exists()


def test_api_messages_name_the_keyword_the_caller_used():
    with pytest.raises(InputError, match=r"^walk_speed_mps: 9 m/s is not a walking speed"):
        study_config(walk_speed_mps=9)
    with pytest.raises(InputError, match=r"inputs\.demand_method|demand_method: 'walking' is not one of"):
        study_config(demand_method="walking")


def test_every_problem_is_reported_at_once():
    with pytest.raises(InputError) as exc:
        StudyConfig.build({"walking": {"speed_mps": 9, "max_snap_m": 0}, "target_share": 2, "colour": "red"})
    text = str(exc.value)
    for part in ("walking.speed_mps: 9 m/s", "walking.max_snap_m: 0 is not a distance", "target_share: 2 is not",
                 "colour: unknown key"):
        assert part in text, text


def test_defaults_are_stated_once_and_the_profile_supplies_what_is_left_unset():
    plain = StudyConfig.build({})
    assert (plain.thresholds, plain.target, plain.lang) == (DEFAULT_THRESHOLDS_MIN, 0.9, "en")
    assert (plain.walking.walk_speed_mps, plain.walking.max_snap_m) == (1.0, 300.0)
    assert plain.suggest_minutes == 15.0 and plain.label == "helsinki"
    # qiqihar-2025 is written in Chinese; its own thresholds and target apply unless the study sets them
    profiled = StudyConfig.build({"standard": "qiqihar-2025"})
    assert profiled.lang == "zh" and profiled.profile.id == "qiqihar-2025"
    assert profiled.thresholds == tuple(profiled.profile.thresholds_min)
    assert profiled.target == profiled.profile.target_share
    mine = StudyConfig.build({"standard": "qiqihar-2025", "thresholds_min": [10, 5], "target_share": 0.5,
                              "outputs": {"lang": "en"}, "suggest": {"new_sites": 2}})
    assert (mine.thresholds, mine.target, mine.lang) == ((5.0, 10.0), 0.5, "en")
    assert (mine.suggest_minutes, mine.suggest_target) == (10.0, 0.5)


def test_cli_flags_and_a_scenario_file_build_the_same_configuration(tmp_path, monkeypatch):
    """``carecircle run --speed slow --minutes 5,10 …`` and the equivalent YAML give equal configurations."""
    import carecircle.commands as commands

    built = []
    monkeypatch.setattr(commands, "run_scenario", lambda config, **_kw: built.append(config) or (_ for _ in ()).throw(
        KeyboardInterrupt))
    main(["run", "--speed", "slow", "--minutes", "10,5", "--target", "0.8", "--standard", "qitaihe-2020",
          "--lang", "zh", "--demand-method", "nodes", "--elderly-col", "pop_60plus", "--no-isochrones"])
    path = tmp_path / "s.yaml"
    path.write_text("walking:\n  speed_mps: 0.8\nthresholds_min: [5, 10]\ntarget_share: 0.8\n"
                    "standard: qitaihe-2020\ninputs:\n  demand_method: nodes\ncolumns:\n  elderly_col: pop_60plus\n"
                    "outputs:\n  lang: zh\n  isochrones: false\n", encoding="utf-8")
    from_yaml = load_scenario(path)
    (from_cli,) = built
    assert from_cli.model_dump() == from_yaml.model_dump()
    assert Path(from_cli.output_folder("x")) == Path("x")
