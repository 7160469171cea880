"""Facility types of the municipal plans, their Chinese and English names, roles and default thresholds.

A facility's ``type`` may be written as the canonical code (``day_care``), its Chinese name (日间照料中心), its
English name or a common alias (日照中心, 敬老院, 助餐点, ...); :func:`normalise_types` maps every spelling to the
code, or names the unknown values and the accepted ones.

Roles decide which circle a facility serves: ``elder_care`` facilities make the elder-care circle (coverage of
"any elder-care facility"), ``childcare`` facilities the childcare circle of "一老一小", and ``health`` facilities
are only used for co-location targets (三站合一, 毗邻建设).

Default thresholds (minutes of walking) follow the plans' "15-minute circle", with the services people use
daily (home-care station, canteen) expected within 10 minutes; a standards profile overrides them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from carecircle.errors import InputError


@dataclass(frozen=True)
class FacilityType:
    """One facility type: canonical ``code``, names, other accepted spellings, role and default threshold."""

    code: str
    zh: str
    en: str
    aliases: tuple[str, ...]
    role: str  # "elder_care", "childcare" or "health"
    minutes: float

    def label(self, lang: str = "en") -> str:
        return self.zh if lang == "zh" else self.en


TYPES: dict[str, FacilityType] = {t.code: t for t in (
    FacilityType("comprehensive_centre", "街道综合养老服务中心", "Subdistrict comprehensive elder-care centre",
                 ("综合养老服务中心", "街道养老服务中心", "区域养老服务中心", "养老服务综合体", "综合体",
                  "街道综合养老服务综合体", "comprehensive centre", "elder-care complex", "complex"),
                 "elder_care", 15),
    FacilityType("day_care", "日间照料中心", "Day-care centre",
                 ("社区日间照料中心", "日间照料", "日照中心", "托老所", "day care", "daycare", "day-care centre"),
                 "elder_care", 15),
    FacilityType("home_care_station", "社区居家养老服务站", "Community home-care station",
                 ("居家养老服务站", "社区养老服务站", "养老服务站", "嵌入式养老服务站", "养老服务驿站", "养老驿站",
                  "居家养老服务中心", "home care station", "home-care station", "station"),
                 "elder_care", 10),
    FacilityType("care_home", "养老机构", "Care institution (beds)",
                 ("养老院", "敬老院", "福利院", "社会福利院", "老年养护院", "护理院", "养老公寓", "乡镇敬老院",
                  "care home", "nursing home", "elderly home", "institution"),
                 "elder_care", 15),
    FacilityType("canteen", "老年食堂", "Elder canteen",
                 ("助餐点", "长者食堂", "老年助餐点", "助餐服务点", "社区食堂", "老年餐桌", "elder canteen",
                  "meal point", "meal service"),
                 "elder_care", 10),
    FacilityType("rural_station", "农村养老服务站", "Rural elder-care station",
                 ("幸福院", "互助幸福院", "农村幸福院", "村级养老服务站", "农村互助养老服务站", "农村养老服务点",
                  "rural station", "village station"),
                 "elder_care", 15),
    FacilityType("childcare", "托育机构", "Childcare",
                 ("托育", "托育中心", "托育服务点", "社区托育点", "托儿所", "普惠托育", "nursery", "childcare centre",
                  "child care"),
                 "childcare", 15),
    FacilityType("health_centre", "社区卫生服务中心", "Community health centre",
                 ("社区卫生服务站", "卫生服务中心", "卫生服务站", "卫生院", "乡镇卫生院", "村卫生室", "护理站",
                  "health centre", "health station", "clinic"),
                 "health", 15),
    FacilityType("unspecified", "养老服务设施", "Elder-care facility (type not given)",
                 ("", "unknown", "未分类"), "elder_care", 15),
)}

#: Codes serving elderly people: the elder-care circle is coverage by any of these.
ELDER_CARE = tuple(code for code, t in TYPES.items() if t.role == "elder_care")


def _key(text: str) -> str:
    return re.sub(r"[\s_\-/()（）]+", "", str(text).casefold())


_LOOKUP: dict[str, str] = {}
for _t in TYPES.values():
    for _name in (_t.code, _t.zh, _t.en, *_t.aliases):
        _LOOKUP.setdefault(_key(_name), _t.code)


def accepted_values() -> str:
    """The accepted type values for error messages: each code with its Chinese name."""
    return ", ".join(f"{t.code} ({t.zh})" for t in TYPES.values() if t.code != "unspecified")


def normalise_types(values: Iterable, *, file: str = "facilities", column: str = "type") -> np.ndarray:
    """Canonical type codes for ``values`` (empty or missing → ``unspecified``).

    Raises
    ------
    InputError naming the unknown values, their first rows and the accepted values.
    """
    series = pd.Series(list(values), dtype="object")
    keys = series.map(lambda v: "" if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA else _key(v))
    codes = keys.map(_LOOKUP)
    bad = codes.isna().to_numpy()
    if bad.any():
        rows = np.flatnonzero(bad)
        shown = ", ".join(repr(str(v)) for v in pd.unique(series[bad])[:6])
        raise InputError(
            f"{file}: unknown facility {column} {shown} (rows {', '.join(str(r + 1) for r in rows[:8])}); "
            f"use one of {accepted_values()}, in Chinese or English."
        )
    return codes.to_numpy(dtype=object)


def check_codes(codes: Iterable[str], *, where: str) -> tuple[str, ...]:
    """``codes`` as canonical codes (any spelling accepted); raise InputError naming unknown ones."""
    return tuple(normalise_types(list(codes), file=where, column="type"))


def type_label(code: str, lang: str = "en") -> str:
    """Display name of a type code (the code itself when unknown)."""
    t = TYPES.get(code)
    return t.label(lang) if t else code
