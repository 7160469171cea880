"""A place's own facility names (--type-map) and the sheet of an Excel input (--sheet), from the user's side."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from carecircle.cli import main
from carecircle.errors import InputError
from carecircle.io.facility_types import normalise_types, read_type_map

DATA = Path(__file__).resolve().parents[1] / "data" / "helsinki"


def test_the_map_is_looked_up_first_and_settles_ambiguous_names(tmp_path):
    table = tmp_path / "types.csv"
    rows = ["本地类型,标准类型", "老年活动驿站,养老服务站", "居家养老服务中心,街道综合养老服务中心"]
    table.write_text("\n".join(rows), encoding="utf-8")
    mapping = read_type_map(table)
    codes = normalise_types(["老年活动驿站", "居家养老服务中心", "日照中心"], type_map=mapping)
    assert codes.tolist() == ["home_care_station", "comprehensive_centre", "day_care"]
    # Without the map the ambiguous name keeps the built-in reading, the local one is unknown.
    assert normalise_types(["居家养老服务中心"]).tolist() == ["home_care_station"]
    with pytest.raises(InputError, match=r"'老年活动驿站' \(1 row: rows 1\).*--type-map"):
        normalise_types(["老年活动驿站"])


def test_bad_maps_get_one_line(tmp_path):
    unknown = tmp_path / "unknown.csv"
    unknown.write_text("name,type\n老年活动驿站,养老驿站站\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"unknown\.csv: unknown facility type values: '养老驿站站'"):
        read_type_map(unknown)
    twice = tmp_path / "twice.csv"
    twice.write_text("name,type\n驿站,养老服务站\n驿站,日间照料中心\n", encoding="utf-8")
    with pytest.raises(InputError, match="names mapped to two different types: 驿站"):
        read_type_map(twice)
    one = tmp_path / "one.csv"
    one.write_text("name\n驿站\n", encoding="utf-8")
    with pytest.raises(InputError, match="needs two columns"):
        read_type_map(one)


def test_a_bureau_workbook_with_local_names_runs_with_the_map(tmp_path):
    fac = pd.read_csv(DATA / "facilities.csv", dtype={"facility_id": str})
    fac["type"] = fac["type"].replace({"home_care_station": "老年活动驿站"})
    book = tmp_path / "养老设施.xlsx"
    with pd.ExcelWriter(book) as writer:
        pd.DataFrame({"说明": ["封面"]}).to_excel(writer, sheet_name="说明", index=False)
        fac.to_excel(writer, sheet_name="设施清单", index=False)
    types = tmp_path / "类型对照.csv"
    types.write_text("name,type\n老年活动驿站,养老服务站\n", encoding="utf-8")
    base = ["run", "--no-isochrones", "--no-cache", "--quiet"]
    assert main([*base, "--output", str(tmp_path / "plain")]) == 0
    assert main([*base, "--facilities", str(book), "--sheet", "设施清单", "--type-map", str(types),
                 "--output", str(tmp_path / "mapped")]) == 0
    plain = json.loads((tmp_path / "plain" / "summary.json").read_text(encoding="utf-8"))
    mapped = json.loads((tmp_path / "mapped" / "summary.json").read_text(encoding="utf-8"))
    assert mapped["share"] == plain["share"] and mapped["by_type"] == plain["by_type"]
    assert mapped["inputs"]["type_map"].endswith("类型对照.csv")
    # The per-input sheet wins over --sheet; without the map the local name is refused, naming the fix.
    assert main([*base, "--facilities", str(book), "--sheet", "说明", "--facilities-sheet", "设施清单",
                 "--type-map", str(types), "--output", str(tmp_path / "own")]) == 0
    assert main([*base, "--facilities", str(book), "--sheet", "设施清单", "--output", str(tmp_path / "no")]) == 3


def test_sheet_does_not_apply_to_csv_inputs(tmp_path):
    assert main(["run", "--no-isochrones", "--no-cache", "--quiet", "--sheet", "设施清单",
                 "--facilities", str(DATA / "facilities.csv"), "--output", str(tmp_path / "csv")]) == 0
