"""Tables as a bureau reads them: Chinese or English headers, and one Excel workbook with a sheet per table.

Column names inside carecircle are English identifiers (``share_15``); :func:`localise` renames them for
output with ``lang="zh"`` (``15分钟覆盖率``) and shows facility types by their Chinese names and yes/no values as
是/否. CSV files and the ``tables.xlsx`` workbook use the same headers and values, so a table reads the same in
both.
"""

from __future__ import annotations

import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from carecircle.formats import covered_persons, uncovered_persons
from carecircle.io.facility_types import type_label

#: First characters that make a spreadsheet read a text cell as a formula (OWASP, "CSV Injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"^[+-]?((\d+\.?\d*|\.\d+)([eE][+-]?\d+)?)?$")  # also a lone sign: "-" for none

#: Header of each fixed column, in Chinese.
HEADERS_ZH = {
    "community_id": "社区编号", "name": "名称", "name_en": "英文名称", "subdistrict": "街道", "district": "区县",
    "subdistrict_en": "街道（英文）", "district_en": "区县（英文）", "pop_total": "常住人口",
    "pop_60plus": "60岁及以上人口", "households": "户数",
    "residential": "新建/既有小区", "area_type": "城乡类型", "pop_0_3": "0–3岁婴幼儿",
    "residential_floor_area_m2": "住宅建筑面积(m²)",
    "elderly": "老年人口(已布点)", "children": "婴幼儿(已布点)", "below_target": "未达目标",
    "n_communities": "社区数",
    "facility_id": "设施编号", "type": "类型", "capacity": "容量（床位/位）", "beds": "床位",
    "nursing_beds": "护理型床位", "floor_area_m2": "建筑面积(m²)", "snap_m": "距路网(m)", "lon": "经度",
    "lat": "纬度",
    "population": "人口", "on_network": "可达路网", "time_min": "步行时间(分钟)", "nearest_facility": "最近设施",
    "method": "方法", "label_zh": "类型名称", "label_en": "英文名称", "minutes": "阈值(分钟)", "facilities": "设施数",
    "covered": "覆盖人口", "share": "覆盖率",
    "target_id": "指标编号", "level": "层级", "unit": "单元", "description_zh": "指标",
    "description_en": "指标（英文）", "target": "目标", "value": "现状", "status": "评估", "shortfall": "差距",
    "source": "依据",
    "value_num": "现状值", "target_num": "目标值",
    "rank": "序号", "candidate_id": "候选点编号", "gain": "新增覆盖老人", "share_after": "覆盖率(新增后)",
    "minutes_saved": "节省步行分钟", "sites": "新增站点数", "cost": "成本",
    "access_per_1000": "可达供给(每千名老人)", "access_below_level": "低于可达性水平", "access_mismatch": "供需类型",
    "access_catchment_min": "服务半径(分钟)", "access_demand": "服务范围内老人(加权)",
    "access_supply_ratio": "供需比(每千名老人)", "access_gini": "可达性基尼系数",
    "access_share_below": "低于水平老人占比", "access_rank": "可达性排名",
    "population_share": "累计人口占比", "access_share": "累计可达供给占比",
    "access_supply": "新增供给", "access_mean_after": "平均可达供给(新增后)", "access_gini_after": "基尼系数(新增后)",
    "access_below_after": "低于水平老人(新增后)", "site": "站点", "access_mean": "平均可达供给(每千名老人)",
    "access_share_below_level": "低于水平老人占比", "access_below": "低于水平老人", "site_supply": "站点供给",
    "site_supply_estimated": "站点供给为估计值",
    "speed_mps": "步行速度(米/秒)", "metres": "阈值(米)",
}
_PER_THRESHOLD_ZH = {
    "covered": "{m}分钟内覆盖人口", "share": "{m}分钟覆盖率", "uncovered": "{m}分钟未覆盖人口",
    "served": "{m}分钟服务人口",
}
_STATUS_ZH = {"pass": "达标", "fail": "未达标", "unevaluable": "无法评估"}
#: Need/supply classes of :data:`carecircle.core.access.MISMATCH_CLASSES`, in Chinese.
MISMATCH_ZH = {"high_need_low_access": "高需求-低供给", "high_need_high_access": "高需求-高供给",
               "low_need_low_access": "低需求-低供给", "low_need_high_access": "低需求-高供给",
               "no_elderly": "无老年人口"}
_LEVEL_ZH = {"overall": "全域", "subdistrict": "街道", "district": "区县", "community": "社区", "township": "乡镇",
             "village": "村"}
#: Values of the communities' ``area_type`` (urban community or rural village), in Chinese.
_AREA_TYPE_ZH = {"urban": "城镇", "rural": "农村"}
#: Values of the communities' ``residential`` (new or existing residential area), in Chinese.
_RESIDENTIAL_ZH = {"new": "新建", "existing": "既有"}
_BOOL_ZH = {True: "是", False: "否"}
#: How the demand points were placed (:data:`carecircle.core.demand.METHODS`, raster demand), in Chinese.
_DEMAND_METHOD_ZH = {"buildings": "按建筑分布", "nodes": "按路网节点", "centroid": "社区中心点", "raster": "人口栅格",
                     "raster, scaled": "人口栅格（按社区人口校准）"}
#: Cell formats of the workbook: shares as percentages, persons as whole numbers (by the internal column name).
_PERCENT, _WHOLE = "0.0%", "#,##0"
_SHARE_COLUMN = re.compile(r"^(share(_.*)?|share_after|population_share|access_share(_.*)?)$")
_PERSONS_COLUMN = re.compile(r"^((un)?covered|served)(_[0-9.]+m?)?(_before)?$|^(elderly|children|population|"
                             r"pop_total|pop_60plus|pop_0_3|households|gain|access_demand|covered_before|"
                             r"covered_after|access_below)$")
#: Floor areas (m²), shown with thousands separators like persons (the cells keep their exact values).
_AREA_COLUMN = re.compile(r"^(residential_)?floor_area_m2$")
#: Covered persons rounded down and uncovered ones up (a person partly covered is not counted), as the console and
#: the report show them (:mod:`carecircle.formats`): the workbook's cells hold those whole numbers.
_WHOLE_PERSONS = {"covered": covered_persons, "uncovered": uncovered_persons}
_PERSONS_KIND = re.compile(r"^(covered|uncovered)(_[0-9.]+m?)?$")
_THRESHOLD_COLUMN = re.compile(r"^(covered|share|uncovered|served)_([0-9.]+)(m?)(_before)?$")

#: Sheet names of the workbook, per table key.
SHEETS = {
    "summary": ("概要", "Summary"), "by_type": ("分类型覆盖", "By type"), "communities": ("社区", "Communities"),
    "subdistricts": ("街道汇总", "Subdistricts"), "districts": ("区县汇总", "Districts"),
    "facilities": ("设施", "Facilities"), "compliance": ("达标评估", "Compliance"),
    "childcare": ("托育圈", "Childcare"), "sites": ("建议站点", "Suggested sites"), "curve": ("覆盖曲线", "Curve"),
    "lorenz": ("可达性洛伦兹曲线", "Accessibility Lorenz"), "sensitivity": ("速度敏感性", "Speed sensitivity"),
}


def localise(df: pd.DataFrame, lang: str) -> pd.DataFrame:
    """``df`` with headers (and type, status and level values, and yes/no as 是/否) in ``lang``; English leaves it
    unchanged (True/False)."""
    if lang != "zh":
        return df
    out = df.copy()
    if "type" in out:
        out["type"] = out["type"].map(lambda code: type_label(code, "zh") if isinstance(code, str) else code)
    if "status" in out:
        out["status"] = out["status"].map(lambda v: _STATUS_ZH.get(v, v))
    if "level" in out:
        out["level"] = out["level"].map(lambda v: _LEVEL_ZH.get(v, v))
    if "area_type" in out:
        out["area_type"] = out["area_type"].map(lambda v: _AREA_TYPE_ZH.get(v, v))
    if "residential" in out:
        out["residential"] = out["residential"].map(lambda v: _RESIDENTIAL_ZH.get(v, v))
    if "access_mismatch" in out:
        out["access_mismatch"] = out["access_mismatch"].map(lambda v: MISMATCH_ZH.get(v, v))
    if "method" in out:
        out["method"] = out["method"].map(lambda v: _DEMAND_METHOD_ZH.get(v, v))
    reached = {}
    for c in [c for c in out.columns if is_yes_no(out[c])]:  # below_target, on_network, covered_15 …: 是/否
        out[c] = out[c].map(lambda v: _BOOL_ZH.get(bool(v), v), na_action="ignore").astype(object)
        if (match := _THRESHOLD_COLUMN.match(str(c))) is not None and match.group(1) == "covered":
            # a demand point's covered_15 says whether it is reached, not how many
            reached[c] = _header_zh(c).replace("覆盖人口", "可达")
    return out.rename(columns=lambda c: reached.get(c) or _header_zh(c))


def unit_names(table: pd.DataFrame, lang: str, communities: pd.DataFrame | None) -> pd.Series:
    """The units of compliance rows (``level``, ``unit``); in English, a community's, subdistrict's or district's
    English name where the communities give one (``name_en``, ``subdistrict_en``, ``district_en``), as the other
    tables show them."""
    units = table["unit"]
    if lang != "en" or communities is None:
        return units
    out = units.copy()
    for col, levels in (("name", ("community", "village")), ("subdistrict", ("subdistrict", "township")),
                        ("district", ("district",))):
        if {col, f"{col}_en"} <= set(communities.columns):
            pairs = communities[[col, f"{col}_en"]].dropna().drop_duplicates(col, keep=False if col == "name"
                                                                             else "first")
            at = table["level"].isin(levels)
            out[at] = units[at].map(dict(zip(pairs[col], pairs[f"{col}_en"], strict=True))).fillna(units[at])
    return out


def is_yes_no(values: pd.Series) -> bool:
    """Whether a column holds yes/no values: a boolean dtype, or Python/NumPy booleans with gaps (``None``)."""
    if pd.api.types.is_bool_dtype(values.dtype):
        return True
    if values.dtype != object or not values.notna().any():
        return False
    return bool(values.map(lambda v: isinstance(v, bool | np.bool_), na_action="ignore").fillna(True).all())


def guard_formulas(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with every text cell (and header) that a spreadsheet would run as a formula made inert.

    A text starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a leading single quote, as
    OWASP recommends for CSV and Excel files (``=HYPERLINK("http://x")`` becomes ``'=HYPERLINK("http://x")``).
    Only ``str`` values are touched: numeric columns, and numbers inside mixed columns, stay numbers (``-2.5``
    is written as ``-2.5``); so does text that is a plain number (``"-2.5"``) or a lone sign (``"-"``), which no
    spreadsheet can run.

    Examples
    --------
    >>> guard_formulas(pd.DataFrame({"name": ["=1+1", "Kamppi", "-2+3"], "x": [-1.5, 2.0, 3.0]}))["name"].tolist()
    ["'=1+1", 'Kamppi', "'-2+3"]
    """
    text_cols = [c for c in df.columns if not pd.api.types.is_numeric_dtype(df[c].dtype)
                 and not pd.api.types.is_bool_dtype(df[c].dtype) and not pd.api.types.is_datetime64_any_dtype(df[c])]
    risky = [c for c in text_cols if df[c].map(_is_formula, na_action="ignore").fillna(False).astype(bool).any()]
    renamed = {c: _inert(c) for c in df.columns if _is_formula(c)}
    if not risky and not renamed:
        return df
    out = df.copy()
    for c in risky:
        out[c] = out[c].map(_inert, na_action="ignore")
    return out.rename(columns=renamed)


def _is_formula(value) -> bool:
    return (isinstance(value, str) and value.startswith(FORMULA_STARTS)
            and not _PLAIN_NUMBER.match(value))


def _inert(value):
    return "'" + value if _is_formula(value) else value


def _header_zh(column: str) -> str:
    match = _THRESHOLD_COLUMN.match(str(column))
    if match:
        kind, value, metres, before = match.groups()
        text = _PER_THRESHOLD_ZH[kind]
        if metres:  # a distance threshold: share_300m → 300米内覆盖率
            text = text.replace("分钟内", "米内").replace("分钟", "米内")
        return text.format(m=value) + ("(新增前)" if before else "")
    return HEADERS_ZH.get(column, column)


def write_workbook(tables: dict[str, pd.DataFrame], path: Path, *, lang: str) -> None:
    """One ``.xlsx`` with a sheet per table (keys of :data:`SHEETS`), headers frozen, columns sized.

    A sheet holds no geometry (points give ``lon``/``lat`` instead), no text column repeating an earlier one,
    shares formatted as percentages and persons as whole numbers (covered persons rounded down and uncovered ones
    up, as the console and the report count them; other values stay exact), floor areas with thousands separators;
    in Chinese, yes/no cells read 是/否.
    """
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        for key, df in tables.items():
            if df is None:
                continue
            zh, en = SHEETS[key]
            sheet = zh if lang == "zh" else en
            frame = _without_geometry(df)
            type_names = None
            if lang == "zh" and {"type", "label_zh"} <= set(frame.columns):  # one type column, in Chinese
                type_names, frame = frame["label_zh"], frame.drop(columns="label_zh")
            out = localise(frame, lang)
            if type_names is not None:
                out[HEADERS_ZH["type"]] = type_names.where(type_names.notna(), out[HEADERS_ZH["type"]]).to_numpy()
            keep = _distinct_columns(out, yes_no=[is_yes_no(frame[c]) for c in frame.columns])
            formats = [_PERCENT if _SHARE_COLUMN.match(str(c)) else _WHOLE if _PERSONS_COLUMN.match(str(c))
                       or _AREA_COLUMN.match(str(c)) else "0.0" if c in ("snap_m", "time_min") else None
                       for c, k in zip(frame.columns, keep, strict=True) if k]
            out = out.loc[:, keep]
            for c, name in zip(out.columns, frame.columns[keep], strict=True):  # whole persons, as shown elsewhere
                if (rounded := _WHOLE_PERSONS.get(_PERSONS_KIND.sub(r"\1", str(name)))) is not None \
                        and pd.api.types.is_numeric_dtype(out[c].dtype) and not is_yes_no(out[c]):
                    out[c] = out[c].map(rounded, na_action="ignore")
            guard_formulas(out).to_excel(writer, sheet_name=sheet, index=False)
            ws = writer.sheets[sheet]
            ws.freeze_panes = "A2"
            for fmt, cells in zip(formats, ws.columns, strict=True):
                if fmt:
                    for cell in cells[1:]:
                        if isinstance(cell.value, int | float):
                            cell.number_format = fmt
                width = max((_display_width(c.value) for c in cells[:200]), default=8)
                ws.column_dimensions[cells[0].column_letter].width = min(max(width + 2, 8), 60)


def _without_geometry(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` without its geometry: points as ``lon``/``lat`` (WGS-84), polygons left out (a GIS reads
    ``layers.gpkg``)."""
    out = pd.DataFrame(df).copy()
    geometry = [c for c in out.columns if isinstance(out[c].dtype, gpd.array.GeometryDtype)]
    for c in geometry:
        geoms = gpd.GeoSeries(out[c], crs=getattr(df, "crs", None))
        if len(geoms) and (geoms.geom_type == "Point").all() and "lon" not in out:
            if geoms.crs is not None and not geoms.crs.is_geographic:
                geoms = geoms.to_crs(4326)
            out["lon"], out["lat"] = geoms.x.round(7).to_numpy(), geoms.y.round(7).to_numpy()
    return out.drop(columns=geometry)


def _distinct_columns(df: pd.DataFrame, *, yes_no: list[bool]) -> list[bool]:
    """Per column: keep it (``False`` for a text column repeating an earlier one, such as a type's Chinese label
    beside the type already shown in Chinese). Yes/no columns (``yes_no``, 是/否 in Chinese) are always kept:
    covered within 10 and within 15 minutes may agree everywhere and still say two things."""
    seen: list[list[str]] = []
    keep = []
    for i in range(df.shape[1]):
        col = df.iloc[:, i]
        if col.dtype != object or yes_no[i]:
            keep.append(True)
            continue
        values = col.astype(str).tolist()
        keep.append(values not in seen)
        seen.append(values)
    return keep


def _display_width(value) -> int:
    text = "" if value is None else str(value)
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)
