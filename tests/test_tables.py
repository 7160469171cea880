"""Tables in Chinese or English, and the Excel workbook a bureau exchanges."""

from __future__ import annotations

import pandas as pd
import pytest
from openpyxl import load_workbook

from carecircle.cli import main
from carecircle.outputs.tables import localise, write_workbook


def test_chinese_headers_name_the_threshold_and_translate_values():
    df = pd.DataFrame({"community_id": ["C1"], "share_15": [0.5], "covered_7.5": [3.0], "share_10_before": [0.1],
                       "type": ["day_care"], "status": ["unevaluable"], "level": ["subdistrict"], "odd": [1]})
    zh = localise(df, "zh")
    assert zh.columns.tolist() == ["社区编号", "15分钟覆盖率", "7.5分钟内覆盖人口", "10分钟覆盖率(新增前)",
                                   "类型", "评估", "层级", "odd"]
    assert zh.iloc[0].tolist()[4:7] == ["日间照料中心", "无法评估", "街道"]
    assert localise(df, "en") is df
    assert df.columns[1] == "share_15"  # input untouched


def test_workbook_has_a_sheet_per_table_with_chinese_headers(tmp_path):
    tables = {"communities": pd.DataFrame({"community_id": ["C1", "C2"], "share_15": [0.25, 1.0]}),
              "compliance": None,
              "facilities": pd.DataFrame({"facility_id": ["F1"], "name": ["示例日间照料中心"], "type": ["day_care"]})}
    path = tmp_path / "t.xlsx"
    write_workbook(tables, path, lang="zh")
    book = load_workbook(path)
    assert book.sheetnames == ["社区", "设施"]
    rows = list(book["社区"].values)
    assert rows == [("社区编号", "15分钟覆盖率"), ("C1", 0.25), ("C2", 1.0)]
    assert list(book["设施"].values)[1] == ("F1", "示例日间照料中心", "日间照料中心")
    assert book["社区"].freeze_panes == "A2"


@pytest.fixture(scope="module")
def demo_zh(tmp_path_factory):
    out = tmp_path_factory.mktemp("zh") / "out"
    assert main(["run", "--lang", "zh", "--output", str(out), "--no-cache", "--no-isochrones", "--quiet"]) == 0
    return out


def test_cli_in_chinese_writes_chinese_tables_and_workbook(demo_zh):
    com = pd.read_csv(demo_zh / "communities.csv", encoding="utf-8-sig")
    assert {"社区编号", "15分钟覆盖率", "街道"} <= set(com.columns)
    sub = pd.read_csv(demo_zh / "subdistricts.csv", encoding="utf-8-sig")
    assert sub["社区数"].sum() == len(com)
    book = load_workbook(demo_zh / "tables.xlsx", read_only=True)
    assert book.sheetnames == ["概要", "分类型覆盖", "社区", "街道汇总", "区县汇总", "设施", "托育圈"]
    overview = list(book["概要"].values)
    assert overview[0] == ("阈值(分钟)", "人口", "覆盖人口", "覆盖率")
    assert [row[0] for row in overview[1:]] == [5, 10, 15]
    html = (demo_zh / "map.html").read_text(encoding="utf-8")
    assert "养老" in html


@pytest.fixture(scope="module")
def demo_en(tmp_path_factory):
    out = tmp_path_factory.mktemp("en") / "out"
    assert main(["run", "--output", str(out), "--no-cache", "--no-isochrones", "--quiet"]) == 0
    return out


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_workbook_holds_no_geometry_formats_cells_and_speaks_the_language(demo_zh, demo_en, lang):
    """Issue 15: no polygon text, shares as percentages and persons as whole numbers, Chinese values in the
    Chinese workbook, no two identical type columns; points keep their lon/lat."""
    book = load_workbook((demo_zh if lang == "zh" else demo_en) / "tables.xlsx")
    sheet = book["社区" if lang == "zh" else "Communities"]
    head = [c.value for c in sheet[1]]
    assert "geometry" not in head and len(head) == len(set(head))
    assert not any(isinstance(c.value, str) and c.value.startswith(("POLYGON", "MULTIPOLYGON"))
                   for row in sheet.iter_rows(min_row=2) for c in row)
    share = head.index("15分钟覆盖率" if lang == "zh" else "share_15") + 1
    persons = head.index("15分钟内覆盖人口" if lang == "zh" else "covered_15") + 1
    assert {sheet.cell(r, share).number_format for r in range(2, sheet.max_row + 1)} == {"0.0%"}
    assert {sheet.cell(r, persons).number_format for r in range(2, sheet.max_row + 1)} == {"#,##0"}
    area = head.index("住宅建筑面积(m²)" if lang == "zh" else "residential_floor_area_m2") + 1
    assert {sheet.cell(r, area).number_format for r in range(2, sheet.max_row + 1)} == {"#,##0"}  # 179,917
    values = {c.value for row in sheet.iter_rows(min_row=2) for c in row}
    if lang == "zh":
        assert not values & {"existing", "new", "TRUE", "FALSE"} and not any(isinstance(v, bool) for v in values)
        assert "既有" in values and "否" in values
    facilities = book["设施" if lang == "zh" else "Facilities"]
    fhead = [c.value for c in facilities[1]]
    assert "geometry" not in fhead and {"经度", "纬度"} <= set(fhead) if lang == "zh" else {"lon", "lat"} <= set(fhead)
    by_type = book["分类型覆盖" if lang == "zh" else "By type"]
    columns = [tuple(c.value for c in col[1:]) for col in by_type.iter_cols()]
    assert len(columns) == len(set(columns)), [c.value for c in by_type[1]]  # the type shown once


def _cells(folder, name) -> set:
    return set(pd.read_csv(folder / name, encoding="utf-8-sig", dtype=str, keep_default_na=False).to_numpy().ravel())


def test_chinese_csvs_say_yes_and_no_in_chinese_and_read_back_as_input(demo_zh, demo_en, tmp_path):
    """Issue 15: a Chinese CSV holds 是/否 where the English one holds True/False (below target, on the network,
    covered within each threshold), and a Chinese facilities.csv still serves as the facilities of a new run."""
    for name in ("communities.csv", "subdistricts.csv", "districts.csv", "childcare.csv", "facilities.csv",
                 "demand.csv"):
        zh, en = _cells(demo_zh, name), _cells(demo_en, name)
        assert not zh & {"True", "False", "TRUE", "FALSE"}, name
        assert zh & {"是", "否"} and en & {"True", "False"} and not en & {"是", "否"}, name
    com = pd.read_csv(demo_zh / "communities.csv", encoding="utf-8-sig")
    en_com = pd.read_csv(demo_en / "communities.csv", encoding="utf-8-sig")
    assert com["未达目标"].tolist() == en_com["below_target"].map({True: "是", False: "否"}).tolist()
    demand = pd.read_csv(demo_zh / "demand.csv", encoding="utf-8-sig")
    assert set(demand["15分钟内可达"]) == {"是", "否"} and set(demand["可达路网"]) <= {"是", "否"}
    assert set(demand["方法"]) <= {"按建筑分布", "按路网节点", "社区中心点"}  # how each point was placed, in Chinese
    out = tmp_path / "again"
    assert main(["run", "--facilities", str(demo_zh / "facilities.csv"), "--output", str(out), "--no-cache",
                 "--no-isochrones", "--quiet"]) == 0
    again = pd.read_csv(out / "communities.csv", encoding="utf-8-sig")
    assert again["covered_15"].round(3).tolist() == en_com["covered_15"].round(3).tolist()


def test_one_chinese_label_for_capacity_and_one_spelling_of_0_to_3():
    """Issue 11: the capacity column reads the same in the tables as on the map; 0–3岁 is written one way."""
    from carecircle.outputs import i18n, tables

    assert tables.HEADERS_ZH["capacity"] == i18n.MAP_LABELS["zh"]["capacity"]
    written = [*tables.HEADERS_ZH.values(), *i18n.MAP_LABELS["zh"].values(), *i18n.REPORT_LABELS["zh"].values()]
    assert not [t for t in written if "0-3岁" in t or "0～3岁" in t or "0—3岁" in t]
    assert any("0–3岁" in t for t in written)
