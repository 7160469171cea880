"""Facility types of the municipal plans, their Chinese and English names, roles and default thresholds.

A facility's ``type`` may be written as the canonical code (``day_care``), its Chinese name (日间照料中心), its
English name or a common alias (日照中心, 敬老院, 助餐点, ...); :func:`normalise_types` maps every spelling to the
code, or names the unknown values and the accepted ones.

Roles decide which circle a facility serves: ``elder_care`` facilities make the elder-care circle (coverage of
"any elder-care facility"), ``childcare`` facilities the childcare circle of "一老一小", and ``health`` facilities
and ``nursing_station`` facilities are only used for co-location targets (三站合一, 毗邻建设). Elder education
(``education``: 老年大学 ``elder_university``, 老年学校 ``elder_school``, 老年大学学习点 ``elder_learning_point``, the
tiers of a "市、县(市)区、街道(乡镇)、社区(村)" education network) and guidance centres (``guidance``:
养老服务指导中心, an agency with an office) serve no circle: standards only count them.

The plans' vocabulary (the five plans in the seeds, GB 50180 / GB 50437) is mapped by level and function:
a subdistrict-level complex or 街道综合性养老服务设施 is ``comprehensive_centre``; 社区居家养老服务中心,
居家和社区养老服务中心, 长者驿家 and 嵌入式养老服务机构 are the community's station (``home_care_station``);
日间照料 in any wording is ``day_care``; 特困人员供养服务设施, 农村福利院, 光荣院, 老年护理院 and 医养结合机构
keep beds (``care_home``); 养老大院, 互助养老服务设施, 村组睦邻点 and 互助养老点 are village mutual-aid points
(``rural_station``); 社区护理站 is a nursing station (``nursing_station``), not a health centre.

Ambiguous names follow two documented rules:

* 居家养老服务中心 (a community station in most cities, the subdistrict centre in some) is ``home_care_station``;
  write 街道综合养老服务中心 (or the code ``comprehensive_centre``) for a subdistrict-level centre.
* 社区养老托育综合体 (elder care and childcare in one building) is ``comprehensive_centre``; list its childcare
  part as a second row of type 托育机构 to count it in the childcare circle.

Unknown values stop the run with one error listing each value with its row count and pointing to the user
mapping file for local names (``--type-map``, :func:`read_type_map`), which is looked up first.

Default thresholds (minutes of walking) follow the plans' "15-minute circle", with the services people use
daily (home-care station, canteen) expected within 10 minutes; a standards profile overrides them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from carecircle.errors import InputError
from carecircle.io.tables import read_table


@dataclass(frozen=True)
class FacilityType:
    """One facility type: canonical ``code``, names, other accepted spellings, role and default threshold."""

    code: str
    zh: str
    en: str
    aliases: tuple[str, ...]
    role: str  # "elder_care", "childcare", "health" (co-location only), "education" or "guidance" (counts only)
    minutes: float

    def label(self, lang: str = "en") -> str:
        return self.zh if lang == "zh" else self.en


TYPES: dict[str, FacilityType] = {t.code: t for t in (
    FacilityType("comprehensive_centre", "街道综合养老服务中心", "Subdistrict comprehensive elder-care centre",
                 ("综合养老服务中心", "街道养老服务中心", "区域养老服务中心", "养老服务综合体", "综合体",
                  "街道综合养老服务综合体", "街道综合性养老服务设施", "社区养老托育综合体",
                  "comprehensive centre", "elder-care complex", "complex"),
                 "elder_care", 15),
    FacilityType("day_care", "日间照料中心", "Day-care centre",
                 ("社区日间照料中心", "日间照料", "日照中心", "老年人日间照料中心", "城镇老年人日间照料中心",
                  "社区日间照料机构", "托老所", "day care", "daycare", "day-care centre"),
                 "elder_care", 15),
    FacilityType("home_care_station", "社区居家养老服务站", "Community home-care station",
                 ("居家养老服务站", "社区养老服务站", "养老服务站", "嵌入式养老服务站", "养老服务驿站", "养老驿站",
                  "居家养老服务中心", "社区居家养老服务中心", "居家和社区养老服务中心", "嵌入式养老服务机构",
                  "长者驿家", "社区养老服务机构", "社区养老服务设施",
                  "home care station", "home-care station", "station"),
                 "elder_care", 10),
    FacilityType("care_home", "养老机构", "Care institution (beds)",
                 ("养老院", "敬老院", "福利院", "社会福利院", "老年养护院", "护理院", "养老公寓", "乡镇敬老院",
                  "特困人员供养服务设施", "农村福利院", "光荣院", "老年护理院", "医养结合机构", "养老服务机构",
                  "公办养老机构", "民办养老机构",
                  "care home", "nursing home", "elderly home", "institution"),
                 "elder_care", 15),
    FacilityType("canteen", "老年食堂", "Elder canteen",
                 ("助餐点", "长者食堂", "老年助餐点", "助餐服务点", "社区食堂", "老年餐桌", "社区老年食堂",
                  "elder canteen",
                  "meal point", "meal service"),
                 "elder_care", 10),
    FacilityType("rural_station", "农村养老服务站", "Rural elder-care station",
                 ("幸福院", "互助幸福院", "农村幸福院", "村级养老服务站", "农村互助养老服务站", "农村养老服务点",
                  "养老大院", "互助养老服务设施",
                  "村组睦邻点", "互助养老点",
                  "rural station", "village station"),
                 "elder_care", 15),
    FacilityType("childcare", "托育机构", "Childcare",
                 ("托育", "托育中心", "托育服务点", "社区托育点", "托儿所", "普惠托育", "托育点", "家庭托育点", "托班",
                  "普惠托育机构", "nursery", "childcare centre",
                  "child care"),
                 "childcare", 15),
    FacilityType("health_centre", "社区卫生服务中心", "Community health centre",
                 ("社区卫生服务站", "卫生服务中心", "卫生服务站", "卫生院", "乡镇卫生院", "村卫生室",
                  "health centre", "health station", "clinic"),
                 "health", 15),
    FacilityType("nursing_station", "护理站", "Nursing station",
                 ("社区护理站", "nursing station"), "health", 15),
    FacilityType("elder_university", "老年大学", "Elder university",
                 ("老年开放大学", "老年人大学", "老干部大学", "老年（老干部）大学", "县级老年大学", "市老年大学",
                  "elder university", "university for the elderly", "university of the third age"),
                 "education", 15),
    FacilityType("elder_school", "老年学校", "Elder school",
                 ("老年人学校", "街道老年学校", "乡镇老年学校", "elder school"), "education", 15),
    FacilityType("elder_learning_point", "老年大学学习点", "Elder-university learning point",
                 ("老年学习点", "老年教育学习点", "社区老年学习点", "村老年学习点", "老年大学教学点", "老年教育教学点",
                  "elder learning point", "learning point"), "education", 15),
    FacilityType("guidance_centre", "养老服务指导中心", "Elder-care guidance centre",
                 ("县级养老服务指导中心", "养老指导中心", "elder-care guidance centre", "guidance centre"),
                 "guidance", 15),
    FacilityType("unspecified", "养老服务设施", "Elder-care facility (type not given)",
                 ("", "unknown", "未分类"), "elder_care", 15),
)}

#: Codes serving elderly people: the elder-care circle is coverage by any of these.
ELDER_CARE = tuple(code for code, t in TYPES.items() if t.role == "elder_care")
#: Codes a facilities table of care services need not list (elder education, guidance centres): a count of these
#: alone is unevaluable, not failed, when the table holds none of them.
OPTIONAL_TYPES = tuple(code for code, t in TYPES.items() if t.role in ("education", "guidance"))


#: Spellings of the ``residential`` column (new or existing residential area), shared by the community reader
#: and the compliance checker; keys are casefolded and stripped.
RESIDENTIAL: dict[str, str] = {
    "new": "new", "新建": "new", "新建小区": "new", "新建住宅区": "new", "新建住宅小区": "new", "新建居住区": "new",
    "新区": "new",
    "existing": "existing", "old": "existing", "既有": "existing", "既有小区": "existing", "已建": "existing",
    "已建成": "existing", "已建成小区": "existing", "已建成居住区": "existing", "建成": "existing",
    "老旧": "existing", "老旧小区": "existing", "老城区": "existing",
}


def _key(text: str) -> str:
    return re.sub(r"[\s_\-/()（）]+", "", str(text).casefold())


_LOOKUP: dict[str, str] = {}
for _t in TYPES.values():
    for _name in (_t.code, _t.zh, _t.en, *_t.aliases):
        _LOOKUP.setdefault(_key(_name), _t.code)


def accepted_values() -> str:
    """The accepted type values for error messages: each code with its Chinese name."""
    return ", ".join(f"{t.code} ({t.zh})" for t in TYPES.values() if t.code != "unspecified")


def normalise_types(values: Iterable, *, file: str = "facilities", column: str = "type",
                    type_map: Mapping[str, str] | None = None) -> np.ndarray:
    """Canonical type codes for ``values`` (empty or missing → ``unspecified``).

    ``type_map`` (from :func:`read_type_map`) maps a place's own names to codes and is looked up first, so it
    also settles the ambiguous names (a city whose 居家养老服务中心 are subdistrict centres maps it to
    ``comprehensive_centre``).

    Raises
    ------
    InputError naming the unknown values with their row counts and first rows, the accepted values and the
    mapping file that would name them.
    """
    series = pd.Series(list(values), dtype="object")
    keys = series.map(lambda v: "" if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA else _key(v))
    codes = keys.map(_LOOKUP)
    if type_map:
        codes = keys.map(type_map).fillna(codes)
    bad = codes.isna().to_numpy()
    if bad.any():
        bad_rows = pd.Series(np.arange(1, len(series) + 1)[bad], index=series[bad].map(str).to_numpy())
        shown = ", ".join(
            f"{v!r} ({len(r)} row{'s' if len(r) != 1 else ''}: rows {', '.join(map(str, r[:8]))}"
            f"{', ...' if len(r) > 8 else ''})"
            for v, r in ((v, bad_rows[[v]].to_numpy()) for v in pd.unique(bad_rows.index)))
        raise InputError(
            f"{file}: unknown facility {column} values: {shown}. Rename them to one of {accepted_values()} "
            "(in Chinese or English, or a listed alias), or map your names to these in a two-column table "
            "(name,type) given with --type-map (scenario: inputs.type_map)."
        )
    return codes.to_numpy(dtype=object)


#: Header spellings of a type-mapping table's two columns (else its first two columns are taken).
TYPE_MAP_COLUMNS = (("name", "local_name", "local", "名称", "本地名称", "本地类型", "原类型", "设施名称"),
                    ("type", "code", "类型", "标准类型", "设施类型"))


def read_type_map(path: str | Path) -> dict[str, str]:
    """A place's own facility-type names mapped to type codes, from a two-column CSV or Excel table.

    The columns are ``name`` and ``type`` (or 名称/本地类型 and 类型/标准类型; else the first two columns); each
    ``type`` may be written as any accepted spelling (``day_care``, 日间照料中心, 日照中心 …). Names are matched as
    the built-in ones are: case, spaces and brackets ignored.

    >>> import tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "types.csv"
    >>> rows = ["name,type", "老年活动驿站,养老服务站", "居家养老服务中心,街道综合养老服务中心"]
    >>> _ = f.write_text("\\n".join(rows), encoding="utf-8")
    >>> read_type_map(f)
    {'老年活动驿站': 'home_care_station', '居家养老服务中心': 'comprehensive_centre'}
    """
    path = Path(path)
    name = path.name
    table = read_table(path, text=TYPE_MAP_COLUMNS[0] + TYPE_MAP_COLUMNS[1])
    if table.shape[1] < 2:
        raise InputError(f"{name}: a type map needs two columns, your name and its type (name,type); found "
                         f"{', '.join(map(str, table.columns)) or 'none'}.")
    cols = [next((c for c in table.columns if _key(c) in {_key(a) for a in spellings}), None)
            for spellings in TYPE_MAP_COLUMNS]
    local_col, type_col = (cols if None not in cols and cols[0] != cols[1] else list(table.columns[:2]))
    table = table.dropna(subset=[local_col])
    codes = normalise_types(table[type_col], file=name, column=str(type_col))
    keys = table[local_col].astype(str).map(_key).to_numpy()
    mapping: dict[str, str] = {}
    clash = set()
    for key, code, raw in zip(keys, codes, table[local_col].astype(str), strict=True):
        if mapping.get(key, code) != code:
            clash.add(raw)
        mapping[key] = str(code)
    if clash:
        raise InputError(f"{name}: names mapped to two different types: {', '.join(sorted(clash))}; keep one row "
                         "for each name.")
    return mapping


def check_codes(codes: Iterable[str], *, where: str) -> tuple[str, ...]:
    """``codes`` as canonical codes (any spelling accepted); raise InputError naming unknown ones."""
    return tuple(normalise_types(list(codes), file=where, column="type"))


def type_label(code: str, lang: str = "en") -> str:
    """Display name of a type code (the code itself when unknown)."""
    t = TYPES.get(code)
    return t.label(lang) if t else code
