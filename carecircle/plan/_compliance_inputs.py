"""The study's inputs as standards targets read them: communities with their units (街道/乡镇, 社区/村, 区县),
facilities with the community containing them, and the restriction of a target to urban or rural units.

Used by :mod:`carecircle.plan.compliance` only.
"""

from __future__ import annotations

from functools import cached_property

import geopandas as gpd
import numpy as np
import pandas as pd

from carecircle.errors import InputError
from carecircle.io.facility_types import ELDER_CARE, type_label
from carecircle.io.readers import AREA_TYPES, normalise_area_types
from carecircle.io.tables import ALIASES
from carecircle.plan.standards import Where

COLUMN_HINTS = {
    "subdistrict": "subdistrict (街道)", "district": "district (区/县)", "households": "households (户数)",
    "residential": "residential (new/existing, 新建/既有)", "pop_total": "pop_total (常住人口)",
    "pop_60plus": "pop_60plus (60岁及以上人口)",
}
#: Chinese names of the input columns the targets read, for the Chinese texts ("社区数据缺少户数（households）列").
COLUMN_ZH = {
    "subdistrict": "街道", "district": "区县", "households": "户数", "residential": "新建/既有小区",
    "pop_total": "常住人口", "pop_60plus": "60岁及以上人口", "pop_0_3": "0—3岁人口", "beds": "床位数",
    "nursing_beds": "护理型床位数", "capacity": "托位数", "floor_area_m2": "建筑面积", "ownership": "机构性质",
    "build_status": "建设状态", "area_type": "城乡类型",
}
#: Unit names per level, for urban units, rural ones and both at once: (singular, plural, Chinese).
NOUNS = {
    "district": [("district", "districts", "区县")] * 3,
    "overall": [("area", "areas", "区域")] * 3,
    "subdistrict": [("subdistrict", "subdistricts", "街道"), ("township", "townships", "乡镇"),
                    ("subdistrict or township", "subdistricts and townships", "街道（乡镇）")],
    "community": [("community", "communities", "社区"), ("village", "villages", "村"),
                  ("community or village", "communities and villages", "社区（村）")],
}
#: The ``level`` of a rural unit's rows: a rural subdistrict is a township (乡镇), a rural community a village (村).
RURAL_LEVELS = {"subdistrict": "township", "community": "village"}


class Context:
    """The facts as the targets read them: communities with unit labels, facilities with their community."""

    ids: pd.Index | None = None  # the communities a target is restricted to (None: all)

    def __init__(self, facts, lang: str):
        if lang not in ("zh", "en"):
            raise InputError(f"language {lang!r} is not supported; use zh or en.")
        self.facts = facts
        self.lang = lang
        self.zh = lang == "zh"
        self.all = "全部" if self.zh else "all"
        self.base = self

    # ------------------------------------------------------------------------- urban and rural (街道/乡镇, 社区/村)

    @cached_property
    def rural(self) -> pd.Series:
        """Per community id: True for a village (``area_type`` rural); all False without the column."""
        if self.com is None:
            return pd.Series(dtype=bool)
        if "area_type" not in self.com:
            return pd.Series(False, index=self.com.index)
        kind = normalise_area_types(self.com["area_type"], file="communities")
        return pd.Series(kind.to_numpy() == "rural", index=self.com.index)

    @cached_property
    def _rural_subdistricts(self) -> pd.Series:
        unit = self.unit_of("subdistrict") if self.com is not None and "subdistrict" in self.com else None
        if unit is None:
            return pd.Series(dtype=bool)
        return self.rural.groupby(unit.to_numpy()).mean() >= 0.5  # a township: at least half villages

    def rural_units(self, level: str) -> pd.Series:
        """Per unit label at ``level``: True for a village, or a township (at least half of its communities
        villages); empty at the district and overall levels."""
        if self.com is None or level not in RURAL_LEVELS:
            return pd.Series(dtype=bool)
        if level == "community":
            return pd.Series(self.rural.to_numpy(), index=self.com["label"].to_numpy())
        return self._rural_subdistricts

    def nouns(self, level: str, rural, total, index=None) -> tuple[pd.Series, pd.Series, pd.Series]:
        """Names of ``total`` units at ``level`` of which ``rural`` are rural: (singular, plural, Chinese) per row."""
        rural, total = np.atleast_1d(np.asarray(rural, float)), np.atleast_1d(np.asarray(total, float))
        which = np.where(rural <= 0, 0, np.where(rural >= total, 1, 2))
        names = NOUNS[level]
        return tuple(pd.Series([names[w][i] for w in which], index=index, dtype=object) for i in range(3))

    def mix(self, level: str, area_type: str | None) -> tuple[int, int]:
        """(rural, all) units at ``level`` a target's texts speak of: its area type's, else the units present."""
        if area_type is not None:
            return int(area_type == "rural"), 1
        flags = self.rural_units(level)
        return int(flags.sum()), max(len(flags), 1)

    def level_names(self, rows: pd.DataFrame, area_type: str | None) -> np.ndarray:
        """``level`` of each row, ``township`` / ``village`` for a rural unit (and for a rural target's rows
        whose units are not known)."""
        level = rows["level"].to_numpy(dtype=object).copy()
        for name, rural_name in RURAL_LEVELS.items():
            at = level == name
            if not at.any():
                continue
            rural = rows["unit"].map(self.rural_units(name)).eq(True).to_numpy(dtype=bool)
            if area_type is not None:
                rural = rural | (rows["unit"] == "—").to_numpy() & (area_type == "rural")
            level[at & rural] = rural_name
        return level

    def scope(self, area_type: str | None, *, whole_subdistricts: bool = False) -> tuple[Context, str | None]:
        """The context restricted to ``area_type`` (``urban``/``rural``; None: unrestricted), and why it is
        empty. Without communities everything is urban. ``whole_subdistricts``: keep every community of the
        subdistricts of that type (a township's centre may stand in its seat's 社区)."""
        if area_type is None or (self.com is None and area_type == "urban"):
            return self, None
        rural = area_type == "rural"
        level = "subdistrict" if whole_subdistricts else "community"
        _, many, zh = (x.iloc[0] for x in self.nouns(level, int(rural), 1))
        hint = self.say(f"no {many} (area_type {area_type}) among the communities; mark the communities' "
                        "area_type (城乡类型: 社区/村)",
                        f"社区数据中没有{zh}（area_type 为{'农村' if rural else '城镇'}）；请在 area_type（城乡类型）列"
                        "标明社区/村")
        if self.com is None:
            return self, self.say(f"no communities given, so no {many} are known",
                                  f"未提供社区边界，无法识别{zh}")
        keep = self.rural == rural
        if whole_subdistricts and "subdistrict" in self.com:
            own = self.unit_of("subdistrict").map(self.rural_units("subdistrict"))
            keep = own.where(own.notna(), self.rural).astype(bool) == rural
        if not keep.any():
            return self, hint
        return Scope(self, area_type, self.com.index[keep.to_numpy()]), None

    def say(self, en, zh):
        return zh if self.zh else en

    @cached_property
    def com(self) -> pd.DataFrame | None:
        """Communities indexed by ``community_id`` (str), with a unique ``label``; None without communities."""
        gdf = self.facts.communities
        if gdf is None or len(gdf) == 0:
            return None
        com = pd.DataFrame(gdf.drop(columns="geometry")).copy()
        com.index = pd.Index(com["community_id"].astype(str), name="community_id")
        ids = com.index.to_series()
        name = com["name"].astype("string").str.strip() if "name" in com else pd.Series(pd.NA, index=com.index)
        name = name.where(name.notna() & (name != ""), ids)
        dup = name.duplicated(keep=False)
        com["label"] = name.where(~dup, name + " (" + ids + ")").astype(object)
        return com

    def missing_level(self, level: str) -> str | None:
        """Why rows at ``level`` cannot be computed, or None."""
        if level == "overall":
            return None
        if self.com is None:
            return self.say("no communities given (demand points only)", "未提供社区边界（仅有需求点）")
        if level in ("subdistrict", "district") and (level not in self.com or self.com[level].isna().all()):
            return self.no_column(level)
        return None

    def no_column(self, column: str, *, of: str = "communities") -> str:
        """"communities have no households (户数) column" / "社区数据缺少户数（households）列"."""
        zh = COLUMN_ZH.get(column)
        return self.say(f"{of} have no {COLUMN_HINTS.get(column, column)} column",
                        f"{'社区' if of == 'communities' else '设施'}数据缺少"
                        + (f"{zh}（{column}）列" if zh else f" {column} 列"))

    def needed_for(self, where: Where) -> str:
        values = self.values_text(where.values)
        return self.say(f" (needed to select {values})", f"（用于筛选{values}）")

    def values_text(self, values) -> str:
        """Accepted values of a ``where``: all of them in English; in Chinese the Chinese ones (all if none)."""
        values = [str(v) for v in values]
        if not self.zh:
            return ", ".join(values)
        cjk = [v for v in values if any("\u4e00" <= ch <= "\u9fff" for ch in v)]
        return "、".join(cjk or values)

    def unit_of(self, level: str) -> pd.Series:
        """Unit label at ``level`` per community (NA: no parent unit)."""
        if level == "overall":
            return pd.Series(self.all, index=self.com.index, dtype=object)
        if level == "community":
            return self.com["label"]
        values = self.com[level].astype("string").str.strip()
        return values.where(values.notna() & (values != "")).astype(object)

    def in_order(self, rows: pd.DataFrame) -> pd.DataFrame:
        """``rows`` of one level with units in the order they first appear in the communities."""
        if len(rows) < 2 or rows["level"].iloc[0] == "overall" or self.com is None:
            return rows
        first = pd.Index(self.unit_of(rows["level"].iloc[0]).dropna().drop_duplicates())
        position = first.get_indexer(rows["unit"])
        position[position < 0] = len(first)
        return rows.iloc[np.argsort(position, kind="stable")].reset_index(drop=True)

    @cached_property
    def fac(self) -> pd.DataFrame:
        """Facilities (index 0..n-1) with ``community_id`` of the community containing them (NA: none)."""
        gdf = self.facts.facilities.reset_index(drop=True)
        fac = pd.DataFrame(gdf.drop(columns="geometry"))
        if "type" not in fac:
            fac["type"] = pd.Series(dtype=object)
        fac["community_id"] = pd.Series(pd.NA, index=fac.index, dtype=object)
        if self.com is not None and len(gdf):
            polys = self.facts.communities[["geometry"]].copy()
            polys["_cid"] = self.com.index.to_numpy()
            pts = gdf[["geometry"]].to_crs(polys.crs) if gdf.crs is not None and polys.crs is not None else \
                gdf[["geometry"]]
            hit = gpd.sjoin(pts, polys, predicate="intersects", how="inner")
            hit = hit[~hit.index.duplicated(keep="first")]
            fac.loc[hit.index, "community_id"] = hit["_cid"].to_numpy()
        name = fac["name"].astype("string") if "name" in fac else pd.Series(pd.NA, index=fac.index, dtype="string")
        fid = fac["facility_id"].astype(str) if "facility_id" in fac else fac.index.to_series().astype(str)
        fac["label"] = name.where(name.notna() & (name.str.strip() != ""), fid).astype(object)
        return fac

    def fac_unit(self, level: str, index: pd.Index) -> pd.Series:
        """Unit label at ``level`` of the facilities ``index`` (NA: outside every community / no parent)."""
        if level == "overall":
            return pd.Series(self.all, index=index, dtype=object)
        return self.fac.loc[index, "community_id"].map(self.unit_of(level))

    def facilities_of(self, types) -> pd.DataFrame:
        return self.fac[self.fac["type"].isin(ELDER_CARE if types is None else types)]

    def number(self, column: str, frame: pd.DataFrame) -> pd.Series:
        """A numeric column of ``frame`` (NaN where absent)."""
        if column not in frame:
            return pd.Series(np.nan, index=frame.index)
        return pd.to_numeric(frame[column], errors="coerce").astype(float)

    def where_ids(self, where: Where | None) -> tuple[pd.Index | None, str | None]:
        """Community ids passing ``where`` (None: no filter) and the reason when it cannot be applied."""
        if where is None:
            return None, None
        if self.com is None:
            return None, self.missing_level("community")
        column = where.column
        if column not in self.com:  # a header the reader renamed (社区类型 → area_type) names its column
            column = next((std for std, alts in ALIASES.items() if column in alts and std in self.com), column)
        if column not in self.com:
            return None, self.no_column(where.column) + self.needed_for(where)
        wanted = {str(v).strip().casefold() for v in where.values}
        values = self.com[column].astype("string").str.strip().str.casefold()
        if column == "area_type":  # spellings of urban/rural compare as what they mean (村 = rural)
            wanted = {AREA_TYPES.get(v, v) for v in wanted}
            values = values.map(lambda v: AREA_TYPES.get(v, v) if isinstance(v, str) else v).astype("string")
        keep = values.isin(wanted).fillna(False)
        if not keep.any():
            return None, self.say(f"no community has {where.column} in {self.values_text(where.values)}",
                                  f"没有{COLUMN_ZH.get(where.column, ' ' + where.column + ' ')}为"
                                  f"{self.values_text(where.values)}的社区")
        return self.com.index[keep.to_numpy()], None

    def types_text(self, types) -> str:
        if types is None:
            return self.say("any elder-care facility", "任一养老服务设施")
        if self.zh:
            return " / ".join(type_label(code, "zh") for code in types)
        # mid-sentence in English: "no elder university among …", not "no Elder university"
        return " / ".join(label[:1].lower() + label[1:] if label[1:2].islower() else label
                          for label in (type_label(code, "en") for code in types))

    def select(self, fac: pd.DataFrame, where: Where | None) -> tuple[pd.DataFrame, str | None]:
        """Facilities of ``fac`` passing a target's ``facility_where``, and why it cannot be applied."""
        if where is None:
            return fac, None
        if where.column not in fac:
            return fac, self.no_column(where.column, of="facilities") + self.needed_for(where)
        wanted = {v.strip().casefold() for v in where.values}
        keep = fac[where.column].astype("string").str.strip().str.casefold().isin(wanted).fillna(False)
        return fac[keep.to_numpy()], None


class Scope(Context):
    """The facts of one area type: its communities (``ids``), the facilities inside them, and at the subdistrict
    level only subdistricts of that type. Villages and townships are told apart by the unrestricted context."""

    def __init__(self, base: Context, area_type: str, ids: pd.Index):
        self.facts, self.lang, self.zh, self.all = base.facts, base.lang, base.zh, base.all
        self.base, self.area_type, self.ids = base, area_type, ids

    @cached_property
    def com(self) -> pd.DataFrame:
        return self.base.com.loc[self.ids]

    @cached_property
    def fac(self) -> pd.DataFrame:
        fac = self.base.fac
        return fac[fac["community_id"].isin(self.ids).to_numpy()]

    @cached_property
    def rural(self) -> pd.Series:
        return self.base.rural.reindex(self.ids)

    def rural_units(self, level: str) -> pd.Series:
        return self.base.rural_units(level)

    def unit_of(self, level: str) -> pd.Series:
        units = super().unit_of(level)
        if level == "subdistrict":  # only subdistricts of the scope's type
            kind = self.base.rural_units("subdistrict")
            units = units.where(units.map(kind).eq(self.area_type == "rural").to_numpy(dtype=bool))
        return units
