"""What the console tells a planner (issue 15, "Commands and console"; issue 11 item 6): the README's commands work
as written, suggest explains itself, folders do not collide, --lang zh speaks Chinese, compare reads as a table,
the help texts say what is true, --verbose shows steps with their times and no library internals.

Every test runs the CLI in-process as a user would (``main([...])``) and reads what it printed.
"""

from __future__ import annotations

import json
import logging
import re
import shlex
from pathlib import Path

import pandas as pd
import pytest

from carecircle.cli import main
from carecircle.commands import _pcts, _people_down, _people_up
from carecircle.outputs.i18n import CONSOLE_LABELS

REPO = Path(__file__).resolve().parents[1]
SCENARIOS = REPO / "data" / "scenarios"


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return str(tmp_path_factory.mktemp("console-cache"))


def _run(capsys, *argv) -> str:
    capsys.readouterr()
    assert main(list(argv)) == 0
    return capsys.readouterr().out


# ------------------------------------------------------------------------------------------- 1. README, init


def _readme_commands(section: str) -> list[list[str]]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    part = text.split(f"## {section}", 1)[1].split("\n## ", 1)[0]
    block = part.split("```bash", 1)[1].split("```", 1)[0]
    return [shlex.split(line.split("#", 1)[0]) for line in block.splitlines() if line.startswith("carecircle ")]


def test_readme_scenario_commands_name_files_that_exist_from_the_repository_root():
    commands = _readme_commands("Scenarios and comparison")
    assert any(c[1] == "compare" for c in commands)
    made = {c[2] for c in commands if c[1] == "init"}
    for command in commands:
        for arg in command[2:]:
            if arg.endswith(".yaml") and arg not in made:
                assert (REPO / arg).is_file(), f"README: `{' '.join(command)}` names {arg}, which does not exist"


def test_readme_compare_command_runs_as_written(capsys, cache, tmp_path, monkeypatch):
    command = next(c for c in _readme_commands("Scenarios and comparison") if c[1] == "compare")
    monkeypatch.chdir(REPO)
    out = _run(capsys, *command[1:], "--output", str(tmp_path / "cmp"), "--cache-dir", cache)
    assert str(tmp_path / "cmp") in out


def test_init_writes_a_scenario_that_names_itself(capsys, tmp_path):
    path = tmp_path / "plan.yaml"
    out = _run(capsys, "init", str(path))
    text = path.read_text(encoding="utf-8")
    assert "Run it with:   carecircle run plan.yaml" in text
    assert "carecircle run scenario.yaml" not in text
    assert f"carecircle run {path}" in out


# --------------------------------------------------------------------------------------------- 2. suggest


def test_set_cover_says_when_the_target_is_already_met(capsys, cache, tmp_path):
    out = _run(capsys, "suggest", "--method", "set-cover", "--target", "0.95", "--output", str(tmp_path / "a"),
               "--cache-dir", cache)
    assert re.search(r"the target 95% is already met: 9\d\.\d+% within 15 min; no new site needed", out), out
    out = _run(capsys, "suggest", "--method", "set-cover", "--target", "0.95", "--lang", "zh",
               "--output", str(tmp_path / "b"), "--cache-dir", cache)
    assert "已达到 95% 的目标" in out and "无需新增站点" in out


def test_fewer_sites_than_asked_says_why_and_never_rounds_to_100(capsys, cache, tmp_path):
    out = _run(capsys, "suggest", "--new-sites", "3", "--output", str(tmp_path / "s"), "--cache-dir", cache)
    shown = re.search(r"(\d+) new sites from", out)
    assert shown and int(shown.group(1)) < 3, out  # the demo's candidates cover everyone they can with 2
    assert f"{shown.group(1)} of the 3 sites asked for: " in out
    assert "no other candidate adds coverage" in out or "every elderly person is now within" in out
    assert "→ 99.9" in out  # a share just under 100% keeps decimals rather than read 100%
    if "100.0%" in out:  # only when it is exactly so
        assert "every elderly person is now within 15 min" in out


def test_p_median_explains_sites_that_cover_no_one_new(capsys, cache, tmp_path):
    out = _run(capsys, "suggest", "--method", "p-median", "--new-sites", "3", "--output", str(tmp_path / "p"),
               "--cache-dir", cache)
    assert re.search(r"saves [\d,]+ person-minutes of walking; \+0 elderly newly within 15 min", out), out
    assert "cut total walking time" in out


def test_percentages_keep_a_decimal_more_rather_than_show_100():
    assert _pcts(0.9997) == ["99.97%"]
    assert _pcts(1.0) == ["100.0%"]
    assert _pcts(0.9915, 0.9918) == ["99.15%", "99.18%"]
    assert _pcts(0.5, 0.25) == ["50.0%", "25.0%"]
    assert _pcts(0.00004) == ["0.004%"]


# ---------------------------------------------------------------------------------------- 3. output folders


def test_default_folders_keep_method_standard_and_language_apart(capsys, cache, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for method in ("mclp", "p-median"):
        _run(capsys, "suggest", "--method", method, "--new-sites", "1", "--cache-dir", cache, "--quiet")
    _run(capsys, "run", "--standard", "qitaihe-2020", "--no-isochrones", "--cache-dir", cache, "--quiet")
    _run(capsys, "run", "--standard", "qitaihe-2020", "--lang", "en", "--no-isochrones", "--cache-dir", cache,
         "--quiet")
    folders = sorted(p.name for p in (tmp_path / "maps").iterdir() if not p.name.startswith("."))
    assert folders == ["helsinki-qitaihe-2020", "helsinki-qitaihe-2020-en", "helsinki-suggest-mclp",
                       "helsinki-suggest-p-median"]
    out = _run(capsys, "suggest", "--method", "mclp", "--new-sites", "1", "--cache-dir", cache)
    assert "the earlier results in maps/helsinki-suggest-mclp/ were replaced" in out


# ------------------------------------------------------------------------------------------- 4. --lang zh


def test_chinese_console_is_chinese_and_its_shortfall_agrees_with_the_headline(capsys, cache, tmp_path):
    out = _run(capsys, "run", "--standard", "qiqihar-2025", "--lang", "zh", "--no-isochrones",
               "--output", str(tmp_path / "zh"), "--cache-dir", cache)
    for english in ("within", "not met", "Standard", "Results in", "Open the report", "covered"):
        assert english not in out, english
    assert "未达标  home_community_coverage：现状" in out
    assert re.search(r"标准 qiqihar-2025：\d+ 项指标（全域）中达标 \d+ 项", out)
    assert "C04、C06" in out  # lists joined with 、
    not_covered = re.search(r"步行  15分钟内：.*未覆盖 ([\d,]+) 人", out).group(1)
    needed = re.search(r"home_community_coverage：.*还需 ([\d,]+)名老年人", out).group(1)
    assert not_covered == needed  # the 100% target: both count whole persons the same way


def test_english_console_counts_targets_and_says_what_compliance_csv_holds(capsys, cache, tmp_path):
    out = _run(capsys, "run", "--standard", "qitaihe-2020", "--lang", "en", "--no-isochrones",
               "--output", str(tmp_path / "en"), "--cache-dir", cache)
    assert re.search(r"Standard qitaihe-2020: of \d+ targets \(study-wide\), \d+ met, \d+ not met", out)
    assert re.search(r"compliance.csv has \d+ rows", out)
    assert "未达标" not in out and "还需" not in out


def test_whole_persons_covered_and_not_add_up():
    assert (_people_down(10616.6), _people_up(510.4)) == ("10,616", "511")
    assert _people_up(511.0000001) == "511" and _people_down(3.9999999) == "4"


def test_console_labels_exist_in_both_languages():
    assert set(CONSOLE_LABELS["en"]) == set(CONSOLE_LABELS["zh"]) - {k for k in CONSOLE_LABELS["zh"]
                                                                       if k.startswith("sol_")}
    assert CONSOLE_LABELS["zh"]["list_sep"] == "、"


# --------------------------------------------------------------------------------------------- 5. compare


@pytest.mark.parametrize("lang, unit, head", [("en", " pp", "Targets that flip"),
                                              ("zh", " 个百分点", "评估结果变化的指标")])
def test_compare_prints_a_table_in_points_and_lists_the_flips(capsys, cache, tmp_path, lang, unit, head):
    out = _run(capsys, "compare", str(SCENARIOS / "baseline.yaml"), str(SCENARIOS / "plan.yaml"), "--lang", lang,
               "--output", str(tmp_path / lang), "--cache-dir", cache)
    assert "share_change=" not in out and "covered_change=" not in out
    assert re.search(r"\+\d+\.\d" + unit, out), out
    assert head in out
    assert "subdistrict_centre" in out  # the plan adds the South Subdistrict's centre: that target flips
    assert ("not met → met" if lang == "en" else "未达标 → 达标") in out
    assert ("(South Subdistrict (illustrative))" if lang == "en" else "（示例南街道）") in out  # units in the language
    assert (tmp_path / lang / "report.html").is_file() and "report.html" in out


# ------------------------------------------------------------------------------------------------ 6. help


def test_help_texts_say_what_is_true(capsys):
    for command in ("suggest", "compare", "run"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        text = " ".join(capsys.readouterr().out.split())
        assert "Error" not in text.split("Exit codes:")[1]  # meanings, not Python class names
        assert "3 input error" in text and "4 snap error" in text and "6 output error" in text
        if command == "suggest":
            assert "maps/<study>-suggest-<method>" in text and "report.html" in text and "map.png" in text
            assert re.search(r"--new-sites N sites to add \(mclp, p-median; default: \d+\)", text)
        if command == "compare":
            assert "maps/compare-<base>-<plan>" in text


def test_standards_copy_writes_a_profile_to_edit_and_never_overwrites(capsys, tmp_path):
    out = _run(capsys, "standards")
    assert "carecircle standards --copy" in out and "site-packages" not in out
    target = tmp_path / "my-city.yaml"
    out = _run(capsys, "standards", "--copy", "qiqihar-2025", str(target))
    assert "--standard" in out and "id: qiqihar-2025" in target.read_text(encoding="utf-8")
    target.write_text("mine", encoding="utf-8")
    assert main(["standards", "--copy", "qiqihar-2025", str(target)]) == 3
    assert target.read_text(encoding="utf-8") == "mine"
    assert "already exists" in capsys.readouterr().err
    assert main(["standards", "--copy", "no-such-city", str(tmp_path / "x.yaml")]) == 3


# --------------------------------------------------------------------------------------------- 7. verbose


def test_verbose_logs_steps_with_times_and_no_library_internals(capsys, cache, tmp_path):
    try:
        assert main(["run", "--verbose", "--no-isochrones", "--output", str(tmp_path / "v"),
                     "--cache-dir", cache]) == 0
        logging.getLogger("pyogrio").info("library internals")
        logging.getLogger("carecircle.test").info("own line")
        err = capsys.readouterr().err
    finally:
        root = logging.getLogger()
        for handler in [h for h in root.handlers if getattr(h, "_carecircle", False)]:
            root.removeHandler(handler)
    assert re.search(r"Reading inputs … \d+\.\d s", err), err
    assert re.search(r"Computing walking times and coverage … \d+\.\d s", err)
    assert "library internals" not in err and "own line" in err


def test_verbose_calls_the_children_of_the_childcare_circle_children(capsys, cache, tmp_path):
    """Issue 15: the childcare circle's coverage and accessibility log lines count children aged 0-3, never
    "elderly" (the demo has 1,385 children placed and 11,127 elderly)."""
    try:
        assert main(["run", "--verbose", "--no-isochrones", "--accessibility", "2sfca", "--access-population",
                     "children", "--output", str(tmp_path / "v"), "--cache-dir", cache]) == 0
        err = capsys.readouterr().err
    finally:
        root = logging.getLogger()
        for handler in [h for h in root.handlers if getattr(h, "_carecircle", False)]:
            root.removeHandler(handler)
    coverage = re.findall(r"coverage: [\d.]+% of (\d+) (.+?) within 15 min", err)
    children = pd.read_csv(tmp_path / "v" / "childcare.csv", encoding="utf-8-sig")["children"].sum()
    elderly = pd.read_csv(tmp_path / "v" / "communities.csv", encoding="utf-8-sig")["elderly"].sum()
    assert sorted(coverage) == sorted([(f"{elderly:.0f}", "elderly"), (f"{children:.0f}", "children aged 0-3")]), err
    assert re.search(r"accessibility \(2sfca, capacity\): [\d.]+ per 1000 children aged 0-3 on average", err), err


@pytest.mark.parametrize("lang, who, not_who", [("en", "per 1,000 children aged 0–3", "elderly"),
                                                ("zh", "平均每1,000名0–3岁婴幼儿", "老年人（")])
def test_childcare_accessibility_never_calls_the_children_elderly(capsys, cache, tmp_path, lang, who, not_who):
    out = _run(capsys, "run", "--accessibility", "2sfca", "--access-population", "children", "--lang", lang,
               "--no-isochrones", "--output", str(tmp_path / lang), "--cache-dir", cache)
    lines = [line for line in out.splitlines() if "2sfca" in line or "capacity" in line or "服务容量" in line]
    assert lines and who in lines[0], out
    assert not any(not_who in line for line in lines)


def test_a_scenario_rerun_says_its_folder_is_replaced(capsys, cache, tmp_path):
    scenario = tmp_path / "s.yaml"
    scenario.write_text("name: again\noutputs:\n  folder: out\n  isochrones: false\n", encoding="utf-8")
    first = _run(capsys, "run", str(scenario), "--cache-dir", cache)
    assert "were replaced" not in first
    again = _run(capsys, "run", str(scenario), "--cache-dir", cache)
    assert f"the earlier results in {tmp_path / 'out'}/ were replaced" in again


# ---------------------------------------------------------------------------- 8. persons counted alike everywhere


def test_console_report_map_and_workbook_count_persons_alike(capsys, cache, tmp_path):
    """Issue 15: on one run, the covered persons per threshold read the same in the console, the report's cards and
    the workbook (rounded down: a person partly covered is not counted), and each community's persons beyond the
    largest threshold the same in the report's table and the workbook (rounded up, as the standards' shortfalls)."""
    import html as html_module
    import math

    from openpyxl import load_workbook

    folder = tmp_path / "r"
    out = _run(capsys, "run", "--no-isochrones", "--output", str(folder), "--cache-dir", cache)
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    console = dict(re.findall(r"within\s+(\d+) min:\s+[\d.]+%\s+\(([\d,]+) covered", out))
    page = re.sub(r'srcdoc="[^"]*"', "", (folder / "report.html").read_text(encoding="utf-8"))
    cards = dict(re.findall(r'data-key="share-(\d+)">.*?<div class="detail">([\d,]+) persons</div>', page))
    book = load_workbook(folder / "tables.xlsx")
    rows = list(book["Summary"].values)
    sheet = {f"{r[0]:g}": r[rows[0].index("covered")] for r in rows[1:]}
    for lab, raw in summary["covered"].items():
        whole = math.floor(raw + 1e-6)
        assert console[lab] == cards[lab] == f"{sheet[lab]:,}" == f"{whole:,}", (lab, raw)
    communities = pd.read_csv(folder / "communities.csv", encoding="utf-8-sig").set_index("community_id")
    table = re.search(r'<table class="communities">.*?</table>', page, flags=re.S).group(0)
    head = [html_module.unescape(h) for h in re.findall(r"<th[^>]*>(.*?)</th>", table)]
    beyond = head.index("Beyond 15 min")
    shown = {cells[0]: cells[beyond] for cells in (re.findall(r"<td[^>]*>(.*?)</td>", row)
                                                    for row in re.findall(r"<tr><td.*?</tr>", table))}
    rows = list(book["Communities"].values)
    col, ids = rows[0].index("uncovered_15"), rows[0].index("community_id")
    in_book = {r[ids]: r[col] for r in rows[1:]}
    assert any(0 < v % 1 < 0.5 for v in communities["uncovered_15"])  # a case where rounding up and to nearest differ
    for cid, raw in communities["uncovered_15"].items():
        whole = max(math.ceil(raw - 1e-6), 0)
        assert shown[cid] == f"{whole:,}" and in_book[cid] == whole, (cid, raw, shown[cid], in_book[cid])

