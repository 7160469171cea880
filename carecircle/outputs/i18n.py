"""Every text the outputs show, per language: the maps, the comparison map, the static map, the report and the
comparison tables' Chinese headers. One place, so a translation is checked and changed in one file.

Label tables map a key to a text; ``{m}`` in a text is a threshold in minutes, ``{name}``, ``{base}`` and
``{plan}`` are study names. :func:`in_language` picks a table's language and says which languages exist.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from carecircle.errors import InputError
from carecircle.outputs.console_labels import COMPARISON_REPORT_LABELS, CONSOLE_LABELS

__all__ = ["ACCESS_TERMS", "COMPARISON_HEADERS_ZH", "COMPARISON_MAP_LABELS", "COMPARISON_REPORT_LABELS",
           "COMPARISON_SUFFIX_ZH",
           "COMPLIANCE_STATUS_ZH", "CONSOLE_LABELS",
           "DEFAULT_MAP_TITLE", "FACILITY_CHANGE_ZH", "LANGUAGES", "MAP_LABELS",
           "REPORT_LABELS", "STATIC_MAP_LABELS", "TARGET_CHANGE_ZH", "access_term", "in_language"]

#: Languages every label table has.
LANGUAGES = ("en", "zh")

#: Title of a coverage map when none is given (shown translated in Chinese).
DEFAULT_MAP_TITLE = "15-minute elder-care circle"


def in_language(table: Mapping[str, dict[str, str]], lang: str) -> dict[str, str]:
    """The texts of ``table`` in ``lang``; an :class:`~carecircle.errors.InputError` naming the choices if none.

    Examples
    --------
    >>> in_language(MAP_LABELS, "zh")["title"]
    '15分钟养老服务圈'
    """
    if lang not in table:
        accepted = ", ".join(repr(k) for k in table)
        raise InputError(f"lang={lang!r} is not supported; use one of {accepted}.")
    return table[lang]


class _DistanceText(str):
    """A per-threshold text rewritten in metres (see :func:`in_metres`): ``format(m=...)`` shows the distance of
    the threshold whose minute label is given."""

    metres: Mapping[str, str] = {}

    def format(self, *args: Any, **kwargs: Any) -> str:
        if "m" in kwargs:
            kwargs["m"] = self.metres.get(str(kwargs["m"]), kwargs["m"])
        return str.format(self, *args, **kwargs)


#: Minute wordings of a threshold ``{m}`` and their distance wordings, tried in order.
_IN_METRES = ((re.compile(r"\{m\}-minute"), "{m} m"), (re.compile(r"\{m\} minutes?\b"), "{m} m"),
              (re.compile(r"\{m\} min\b"), "{m} m"), (re.compile(r"\{m\}分钟(?=[内外])"), "{m}米"),
              (re.compile(r"\{m\}分钟"), "{m}米内"))
#: Texts whose ``{m}`` is a walking time, not a threshold, or that say metres already.
_NOT_THRESHOLDS = ("minutes_unit", "m_", "sens_", "within_m", "below_detail_m")


def in_metres(labels: Mapping[str, str], metres: Mapping[str, str]) -> dict[str, str]:
    """``labels`` for a study whose thresholds were given as distances: every text naming a threshold in minutes
    ("Within {m} min walk", "{m}分钟覆盖率") names it in metres ("Within 300 m walk", "300米内覆盖率").
    ``metres`` maps each threshold's minute label (``threshold_label``) to its distance (``"300"``).

    >>> in_metres(MAP_LABELS["en"], {"5": "300"})["legend_share"].format(m="5")
    'Elderly within 300 m walk'
    """
    out = dict(labels)
    for key, text in labels.items():
        if not isinstance(text, str) or "{m}" not in text or key.startswith(_NOT_THRESHOLDS):
            continue
        new = text
        for pattern, repl in _IN_METRES:
            new = pattern.sub(repl, new)
        if new != text:
            out[key] = _DistanceText(new)
            out[key].metres = dict(metres)
    return out


#: The interactive coverage map (:mod:`carecircle.outputs.maps`): layers, legend, popups and boxes.
MAP_LABELS: dict[str, dict[str, str]] = {
    "en": {
        "_lang": "en",
        "title": DEFAULT_MAP_TITLE,
        "iso_layer": "{m}-minute walk",
        "iso_band": "{lo}–{m} min walk",
        "share_at_target": "at or above the target",
        "newly_covered": "Newly covered by the new sites",
        "iso_facility_layer": "Per-facility isochrones",
        "communities_layer": "Community coverage",
        "uncovered_layer": "Uncovered elderly",
        "facilities_layer": "Care facilities",
        "legend_share": "Elderly within {m} min walk",
        "legend_iso": "Walking isochrones",
        "legend_types": "Facility type",
        "legend_uncovered": "Elderly beyond {m} min",
        "below_target_note": "below target {target}",
        "name": "Name",
        "community": "Community",
        "elderly": "Elderly (60+)",
        "covered": "Covered within {m} min",
        "share": "Share within {m} min",
        "below_target": "Below target",
        "population": "Elderly persons",
        "minutes": "Minutes to nearest facility",
        "nearest": "Nearest facility",
        "facility": "Facility",
        "type": "Type",
        "capacity": "Capacity (beds/places)",
        "served": "Served within {m} min",
        "isochrone": "Isochrone",
        "headline_elderly": "Elderly population",
        "headline_share": "Within {m} min",
        "headline_target": "Target",
        "yes": "yes",
        "no": "no",
        "na": "n/a",
        "unreachable": "unreachable",
        "minutes_unit": "{m} min",
        "suggested_layer": "Suggested new sites",
        "suggested_iso_layer": "New sites' {m}-minute walk",
        "legend_suggested": "Suggested new site (number: rank)",
        "walking_layer": "Stairs and crossings",
        "legend_model": "Walking model:",
        "model_plain": "plain (every street at the walking speed, no extra time for stairs or crossings)",
        "model_older": "older pedestrians: stairs {step_s:g} s per step; waits crossing major roads {signals:g} s "
                       "at signals, {marked:g} s marked, {unmarked:g} s unmarked; closed gates and roads without "
                       "sidewalk not walked",
        "model_avoid": "stairs impassable",
        "model_dem": "slopes from {dem}",
        "legend_stairs": "Stairs",
        "legend_crossing": "Crossing of a major road (wait)",
        "crossing_wait": "Wait",
        "crossing_tip": "Crossing a major road: wait {s:g} s",
        "rank": "Rank",
        "site_id": "Site ID",
        "gain": "Elderly newly covered",
        "share_after": "Coverage share after",
        "minutes_saved": "Walking saved (person-minutes)",
        "curve_title": "Coverage curve",
        "curve_x": "Number of new sites",
        "curve_y": "Elderly covered",
        "curve_target": "target {target}",
        "curve_point": "{n} new sites: {share}",
        "access_layer": "Accessibility ({supply} per 1,000 elderly)",
        "access_points_layer": "Accessibility of homes (demand points)",
        "access_score": "{supply} reachable per 1,000 elderly",
        "access_class": "Need and supply",
        "access_below": "Below the level ({level})",
        "access_level_note": "level {level}: {source}",
        "access_below_note": "below the level",
        "access_no_elderly": "no elderly",
        "access_catchment": "Catchment (walking minutes)",
        "access_demand": "Elderly within the catchment (weighted)",
        "access_ratio": "{supply} per 1,000 elderly within the catchment",
        "headline_access": "{supply} per 1,000 elderly (mean)",
        "headline_gini": "Gini {gini}",
        "access_supply": "supply",
    },
    "zh": {
        "_lang": "zh",
        "title": "15分钟养老服务圈",
        "iso_layer": "{m}分钟步行覆盖",
        "iso_band": "步行{lo}–{m}分钟",
        "share_at_target": "达到目标",
        "newly_covered": "新增站点后新覆盖的老年人",
        "iso_facility_layer": "各设施步行等时圈",
        "communities_layer": "社区覆盖率",
        "uncovered_layer": "未覆盖老年人",
        "facilities_layer": "养老设施",
        "legend_share": "{m}分钟步行可达老年人比例",
        "legend_iso": "步行等时圈",
        "legend_types": "设施类型",
        "legend_uncovered": "{m}分钟外的老年人",
        "below_target_note": "低于目标 {target}",
        "name": "名称",
        "community": "社区",
        "elderly": "老年人口（60岁以上）",
        "covered": "{m}分钟内覆盖人数",
        "share": "{m}分钟覆盖率",
        "below_target": "未达标",
        "population": "老年人数",
        "minutes": "至最近设施步行分钟",
        "nearest": "最近设施",
        "facility": "设施",
        "type": "类型",
        "capacity": "容量（床位/位）",
        "served": "{m}分钟内服务老年人",
        "isochrone": "等时圈",
        "headline_elderly": "老年人口",
        "headline_share": "{m}分钟内可达",
        "headline_target": "目标",
        "yes": "是",
        "no": "否",
        "na": "无数据",
        "unreachable": "不可达",
        "minutes_unit": "{m}分钟",
        "suggested_layer": "建议新增站点",
        "suggested_iso_layer": "新增站点{m}分钟步行范围",
        "legend_suggested": "建议新增站点（数字为序号）",
        "walking_layer": "台阶与过街",
        "legend_model": "步行模型：",
        "model_plain": "普通（所有道路按步行速度计时，不计台阶、过街的额外时间）",
        "model_older": "老年人步行：台阶每级{step_s:g}秒；穿越主要道路等候：信号灯{signals:g}秒、有标线{marked:g}秒、"
                       "无标线{unmarked:g}秒；关闭的大门和无人行道的道路不可通行",
        "model_avoid": "台阶不可通行",
        "model_dem": "坡度取自{dem}",
        "legend_stairs": "台阶",
        "legend_crossing": "主要道路过街点（需等候）",
        "crossing_wait": "等候",
        "crossing_tip": "穿越主要道路：等候{s:g}秒",
        "rank": "序号",
        "site_id": "站点编号",
        "gain": "新增覆盖老年人",
        "share_after": "新增后覆盖率",
        "minutes_saved": "节省步行（人·分钟）",
        "curve_title": "覆盖率曲线",
        "curve_x": "新增站点数",
        "curve_y": "老年人覆盖率",
        "curve_target": "目标 {target}",
        "curve_point": "新增{n}个站点：{share}",
        "access_layer": "可达性（每千名老人可达{supply}）",
        "access_points_layer": "居住点可达性（需求点）",
        "access_score": "每千名老人可达{supply}",
        "access_class": "供需类型",
        "access_below": "低于可达性水平（{level}）",
        "access_level_note": "水平 {level}：{source}",
        "access_below_note": "低于可达性水平",
        "access_no_elderly": "无老年人口",
        "access_catchment": "服务半径（步行分钟）",
        "access_demand": "服务半径内老年人（加权）",
        "access_ratio": "服务半径内每千名老人{supply}",
        "headline_access": "每千名老人可达{supply}（均值）",
        "headline_gini": "基尼系数 {gini}",
        "access_supply": "供给",
    },
}

#: Terms of capacity-aware accessibility (:mod:`carecircle.core.access`) shared by the map and the report: the
#: supply column as a noun (``supply_<column>``; other columns are shown by their own name), the method, where
#: the level comes from (``level_<source>``) and the need/supply class of a community (``class_<class>``; the
#: Chinese ones are :data:`carecircle.outputs.tables.MISMATCH_ZH`).
ACCESS_TERMS: dict[str, dict[str, str]] = {
    "en": {
        "supply_capacity": "service places",
        "supply_beds": "beds",
        "supply_nursing_beds": "nursing beds",
        "supply_floor_area_m2": "m² of floor area",
        "supply_": "supply",
        "method_2sfca": "two-step floating catchment area method (2SFCA)",
        "method_e2sfca": "enhanced two-step floating catchment area method (E2SFCA)",
        "method_g2sfca": "Gaussian two-step floating catchment area method (Gaussian 2SFCA)",
        "level_target": "the standard's target",
        "level_given": "the level set for this study",
        "level_mean": "the study-wide average",
        "class_high_need_low_access": "Many elderly, little supply",
        "class_high_need_high_access": "Many elderly, ample supply",
        "class_low_need_low_access": "Few elderly, little supply",
        "class_low_need_high_access": "Few elderly, ample supply",
        "class_no_elderly": "No elderly",
    },
    "zh": {
        "supply_capacity": "服务容量",
        "supply_beds": "床位",
        "supply_nursing_beds": "护理型床位",
        "supply_floor_area_m2": "设施建筑面积（平方米）",
        "supply_": "供给",
        "method_2sfca": "两步移动搜索法（2SFCA）",
        "method_e2sfca": "增强型两步移动搜索法（E2SFCA）",
        "method_g2sfca": "高斯两步移动搜索法（高斯2SFCA）",
        "level_target": "规划标准指标",
        "level_given": "本研究设定的水平",
        "level_mean": "全域平均水平",
        "class_high_need_low_access": "高需求-低供给",
        "class_high_need_high_access": "高需求-高供给",
        "class_low_need_low_access": "低需求-低供给",
        "class_low_need_high_access": "低需求-高供给",
        "class_no_elderly": "无老年人口",
    },
}


def access_term(terms: Mapping[str, str], kind: str, key: Any) -> str:
    """The ``kind`` term of ``key`` in ``terms`` (a language of :data:`ACCESS_TERMS`), else ``key`` as text (a
    supply column the table does not know is shown by its name; a missing one as ``supply_``).

    Examples
    --------
    >>> access_term(ACCESS_TERMS["zh"], "supply", "beds"), access_term(ACCESS_TERMS["en"], "supply", "places")
    ('床位', 'places')
    """
    if key is None or key == "":
        return terms.get(f"{kind}_", "")
    return terms.get(f"{kind}_{key}", str(key))


#: The comparison map, on top of :data:`MAP_LABELS`.
COMPARISON_MAP_LABELS: dict[str, dict[str, str]] = {
    "en": {
        "title": "Scenario comparison: {base} → {plan}",
        "change_layer": "Change in coverage ({m} min)",
        "base_iso": "{name}: {m}-minute walk",
        "plan_iso": "{name}: {m}-minute walk",
        "newly_layer": "Newly covered elderly ({m} min)",
        "lost_layer": "No longer covered ({m} min)",
        "added_layer": "Added facilities",
        "removed_layer": "Removed facilities",
        "changed_layer": "Changed facilities",
        "legend_change": "Change in share within {m} min (points)",
        "community": "Community", "share_base": "Share, {name}", "share_plan": "Share, {name}",
        "covered_change": "Change in covered persons", "target": "Target",
        "now meets": "now meets the target", "now below": "now below the target",
        "population": "Elderly persons", "minutes_base": "Minutes, {name}", "minutes_plan": "Minutes, {name}",
        "facility": "Facility", "type": "Type", "details": "Change",
        "headline_minutes": "Within", "headline_new": "newly covered", "headline_lost": "no longer covered",
        "list_sep": ", ",
        "minutes_unit": "{m} min", "unreachable": "unreachable", "na": "n/a",
    },
    "zh": {
        "title": "方案比较：{base} → {plan}",
        "change_layer": "覆盖率变化（{m}分钟）",
        "base_iso": "{name}：{m}分钟步行范围",
        "plan_iso": "{name}：{m}分钟步行范围",
        "newly_layer": "新增覆盖老年人（{m}分钟）",
        "lost_layer": "失去覆盖老年人（{m}分钟）",
        "added_layer": "新增设施",
        "removed_layer": "撤除设施",
        "changed_layer": "调整设施",
        "legend_change": "{m}分钟覆盖率变化（百分点）",
        "community": "社区", "share_base": "覆盖率（{name}）", "share_plan": "覆盖率（{name}）",
        "covered_change": "覆盖人数变化", "target": "达标",
        "now meets": "新达标", "now below": "新不达标",
        "population": "老年人数", "minutes_base": "步行分钟（{name}）", "minutes_plan": "步行分钟（{name}）",
        "facility": "设施", "type": "类型", "details": "变化",
        "headline_minutes": "步行", "headline_new": "新增覆盖", "headline_lost": "失去覆盖", "list_sep": "，",
        "minutes_unit": "{m}分钟", "unreachable": "不可达", "na": "无数据",
    },
}

#: The static PNG map (:mod:`carecircle.outputs.staticmap`).
STATIC_MAP_LABELS: dict[str, dict[str, str]] = {
    "en": {
        "title": "15-minute elder-care circle",
        "share": "Elderly within {m} min walk",
        "iso": "{m}-minute walk (all facilities)",
        "below": "Below target {target}",
        "no_data": "No elderly",
        "suggested": "Suggested new site (number: rank)",
    },
    "zh": {
        "title": "15分钟养老服务圈",
        "share": "{m}分钟步行可达老年人比例",
        "iso": "{m}分钟步行范围（全部设施）",
        "below": "低于目标 {target}",
        "no_data": "无老年人",
        "suggested": "建议新增站点（数字为序号）",
    },
}

#: The HTML report (:mod:`carecircle.outputs.report`).
REPORT_LABELS: dict[str, dict[str, str]] = {
    "en": {
        "title": "15-minute elder-care circle report",
        "study_line": "Study: {name} · generated {date} · carecircle {version}",
        "standard_line": "Standard: {standard}",
        "contents": "Contents",
        "sec_headline": "Headline figures",
        "sec_compliance": "Compliance with the standards",
        "sec_by_type": "Coverage by facility type",
        "sec_map": "Interactive map",
        "sec_suggestion": "Suggested new sites",
        "sec_rollup_subdistrict": "Subdistricts",
        "sec_rollup_district": "Districts",
        "sec_communities": "Communities",
        "sec_childcare": "Childcare circle (children aged 0–3)",
        "sec_method": "Method and data sources",
        "elderly": "Elderly population (60+)",
        "elderly_short": "Elderly",
        "children": "Children 0–3",
        "within": "Within {m} min walk",
        "persons": "{n} persons",
        "below_target": "Communities below target",
        "below_detail": "of {total}; target: {target} within {m} min",
        "facilities": "Elder-care facilities",
        "facilities_detail": "used for the elder-care circle",
        "share_chart": "Share of elderly within each walking time",
        "target_line": "target {target}",
        "type": "Facility type",
        "minutes": "Minutes",
        "n_facilities": "Facilities",
        "population": "Population",
        "covered": "Covered",
        "share": "Share",
        "share_m": "Within {m} min",
        "share_m_before": "Within {m} min before",
        "uncovered_m": "Beyond {m} min",
        "covered_m": "Covered, {m} min",
        "community_id": "ID",
        "name": "Name",
        "subdistrict": "Subdistrict",
        "district": "District",
        "n_communities": "Communities",
        "below": "Below target",
        "yes": "yes",
        "no": "no",
        "na": "n/a",
        "communities_caption": "Sorted by the share within {m} minutes, lowest first; rows below the target of "
                               "{target} are highlighted.",
        "rollup_caption": "Community figures summed per {level}; rows below the target of {target} within {m} "
                          "minutes are highlighted.",
        "by_type_caption": "Each type at its own walking time; population is the elderly (children 0–3 for "
                           "childcare).",
        "level": "Level",
        "unit": "Unit",
        "indicator": "Indicator",
        "target": "Target",
        "value": "Value",
        "status": "Status",
        "shortfall": "Shortfall",
        "source": "Source",
        "pass": "pass",
        "fail": "fail",
        "unevaluable": "cannot evaluate",
        "compliance_counts": "Of {total} targets (study-wide), {passed} met, {failed} not met, {unevaluable} could not "
                             "be evaluated; the table lists them at every level ({rows} rows).",
        "overall": "overall",
        "community": "community",
        "township": "township", "village": "village",
        "dm_buildings": "buildings", "dm_nodes": "nodes", "dm_centroid": "centroid",
        "map_note": "The interactive map is in the HTML version of this report (open it in a browser).",
        "map_png_caption": "Static map",
        "sec_map_print": "Map",
        "suggest_title": "New sites: {title}",
        "before_after": "before: {before}; {detail}",
        "communities_caption_plain": "Sorted by the share within {m} minutes, lowest first.",
        "m_osm_file": "OpenStreetMap file {name}",
        "m_placed": "placed inside communities ({name})",
        "m_demo_file": "{name} (bundled demo)",
        "map_hint": "Layers can be switched in the control at the top right; click a community or facility for "
                    "its figures.",
        "sites_lead": "{n} new sites chosen by {method} for the {m}-minute walk: coverage rises from "
                      "{before} to {after} ({gain} more elderly within {m} min).",
        "solver_line": "Solver: {method}, {status}; gap {gap}; {candidates} candidate sites considered.",
        "curve_caption": "Coverage after 0, 1, 2, … new sites (each chosen to add the most).",
        "rank": "Rank",
        "site_id": "Site ID",
        "gain": "Elderly newly covered",
        "share_after": "Share after",
        "minutes_saved": "Walking saved (person-minutes)",
        "lonlat": "Lon, lat",
        "childcare_lead": "{pop} children aged 0–3; within {m} min walk of a childcare facility: {share}.",
        "m_network": "Walking network",
        "m_network_text": "{source}; {nodes} nodes and {segments} street segments in {crs}. Ways are filtered "
                          "with the OpenStreetMap walking rules and only the largest connected part is kept.",
        "m_speed": "Walking speed",
        "m_speed_text": "{v:g} m/s ({mpm:.0f} m per minute: {dist:,.0f} m in {m} minutes). Walking time is "
                        "network length ÷ speed, without extra cost for steps or crossings.",
        "m_speed_model": "{v:g} m/s ({mpm:.0f} m per minute: {dist:,.0f} m in {m} minutes) on the flat; the "
                         "walking model below adds the time of stairs, crossings and slopes.",
        "m_distances_text": "Walking distances {metres} m (as GB 50180 writes the life circles), walked at the "
                            "speed above ({minutes} minutes); a community is below target when fewer than {target} "
                            "of its elderly are within {m} m of a facility.",
        "m_model": "Walking model",
        "m_model_plain": "plain: every street walked at the walking speed, both ways; no extra time for stairs, "
                         "crossings or slopes.",
        "m_model_older": "older pedestrians (--walk-model older): ",
        "m_rule_sep": "; ",
        "m_rule_end": ".",
        "m_rule_stairs": "stairs: {step_s:g} s per step (the tagged step count, else the length ÷ {tread_m:g} m "
                         "treads)",
        "m_rule_avoid": "stairs impassable (--avoid-steps: wheelchair and walker users)",
        "m_rule_crossings": "crossing a major road (trunk, primary, secondary): a wait of {signals:g} s at traffic "
                            "signals, {marked:g} s at marked or zebra crossings, {unmarked:g} s unmarked or unmapped; "
                            "crossing=no is closed",
        "m_rule_barriers": "closed gates and fences (access=private|no) and major roads with sidewalk=no are not "
                           "walked",
        "m_rule_dem": "slopes from the elevation model {dem}: Tobler's hiking function relative to flat ground "
                      "(uphill slower, gently downhill faster), grades clipped to ±{grade:.0%}",
        "m_model_plain_dem": "plain with slopes: ",
        "m_sensitivity": "Speed sensitivity",
        "m_sensitivity_text": "Coverage recomputed at {speeds} m/s (sensitivity.csv); the maps and tables use "
                              "{v} m/s.",
        "sec_sensitivity": "Walking speed sensitivity",
        "sens_pair": "{share} at {v} m/s",
        "sens_sentence": "{what} coverage {pairs}.",
        "sens_what_min": "{m}-minute",
        "sens_what_m": "{m} m",
        "sens_note": "The maps, tables and figures above use {v} m/s (the first speed given). Older people walk "
                     "about 0.8–1.2 m/s; with the older walking model its waits and stairs are timed again at each "
                     "speed.",
        "sens_note_m": " Distance thresholds are timed at each speed, so with the plain model their coverage "
                       "does not change with speed.",
        "sens_chart": "Share of the elderly within each threshold, by walking speed",
        "sens_speed_axis": "walking speed, m/s",
        "within_m": "Within {m} m walk",
        "below_detail_m": "of {total}; target: {target} within {m} m",
        "m_thresholds": "Thresholds and target",
        "m_thresholds_text": "Walking times {minutes} minutes; a community is below target when fewer than {target} "
                             "of its elderly are within {m} minutes of a facility.",
        "m_demand": "Where the elderly live (estimated)",
        "m_demand_text": "Each community's 60+ population is a total for its area; it is spread over points "
                         "inside the community, so walking times are an estimate. Method: {demand}.",
        "m_demand_methods": "Communities per method: {counts}.",
        "m_method_buildings": "buildings — residential buildings weighted by floor area (footprint × levels)",
        "m_method_nodes": "nodes — walking-network nodes inside the community, equal shares",
        "m_method_centroid": "centroid — one point inside the community holding its whole population",
        "m_snap": "Snapping to the network",
        "m_snap_text": "Facilities and homes join the nearest street segment (not node); the straight walk to it "
                       "counts as part of the trip.",
        "m_snap_limit": " Points farther than {max_snap:g} m count as not covered.",
        "m_snap_off": " {points} demand points ({pop} elderly) lie too far from the network to join it; "
                      "{unreachable} elderly cannot reach any facility.",
        "m_isochrones": "Isochrones",
        "m_isochrones_text": "The coloured walking areas on the map are drawn from reachable streets for display; "
                             "every figure comes from network walking times, not from the polygons.",
        "m_inputs": "Input files",
        "m_standard": "Standards profile",
        "m_note": "About the data",
        "m_attribution": "Map data © OpenStreetMap contributors (ODbL).",
        "facilities_input": "facilities",
        "communities_input": "communities",
        "demand_input": "demand",
        "network_input": "network",
        "subdistricts_input": "subdistricts",
        "standard_input": "standard",
        "method_mclp": "maximal covering (MCLP)",
        "method_set-cover": "set covering",
        "method_p-median": "p-median",
        "sec_access": "Accessibility",
        "access_lead": "Method: the {method}, on network walking times. Supply: {supply} (facility column "
                       "“{supply_col}”). Catchment per facility type: {catchments}. {decay} Each score counts the "
                       "{supply} within reach per 1,000 elderly: every facility's supply is shared "
                       "among all the elderly who reach it (weighted as above), and a person's score adds up the "
                       "shares of the facilities they reach.",
        "access_catchment": "{type} {m} min",
        "access_list_sep": "; ",
        "access_decay_2sfca": "Everyone within a catchment counts in full.",
        "access_decay_e2sfca": "Weights by walking time: {bands}.",
        "access_band": "{w} for {a}–{b} min",
        "access_decay_g2sfca": "Weights fall with walking time along a Gaussian curve, from 1 at the facility to 0 "
                               "at the edge of the catchment.",
        "access_mean": "Average accessibility",
        "access_per": "{supply} per 1,000 elderly",
        "access_median": "Median",
        "access_median_detail": "half the elderly reach less",
        "access_gini": "Gini coefficient",
        "access_gini_detail": "0: everyone reaches the same; 1: one person reaches all",
        "access_share_below": "Elderly below the level",
        "access_below_detail": "{n} persons reach less than {level} per 1,000 ({source})",
        "access_none": "Elderly reaching no supply",
        "access_none_detail": "within no facility's catchment",
        "access_unreached": "No elderly within the catchment of: {ids}.",
        "lorenz_x": "Cumulative share of the elderly (lowest accessibility first)",
        "lorenz_y": "Cumulative share of reachable supply",
        "lorenz_equal": "equality",
        "lorenz_caption": "Lorenz curve of accessibility across the elderly; Gini {gini}. The farther the curve "
                          "sags below the diagonal, the more unequal the access.",
        "access_mismatch_heading": "Need and supply per community",
        "access_col": "Access per 1,000",
        "access_below_col": "Below the level",
        "access_class": "Need and supply",
        "access_mismatch_caption": "Many elderly: more than the median community. Little supply: less than the "
                                   "level of {level} per 1,000 elderly ({source}). Communities with many elderly "
                                   "and little supply first; rows below the level are highlighted.",
        "access_ranking_subdistrict": "Subdistrict ranking",
        "access_ranking_district": "District ranking",
        "access_gini_col": "Gini",
        "access_share_below_col": "Elderly below the level",
        "access_rank": "Rank",
        "access_ranking_caption": "Rank 1 has the highest average accessibility (population-weighted); the Gini is "
                                  "across the {level}'s own elderly.",
    },
    "zh": {
        "title": "15分钟养老服务圈评估报告",
        "study_line": "研究区：{name} · 生成日期 {date} · carecircle {version}",
        "standard_line": "评估标准：{standard}",
        "contents": "目录",
        "sec_headline": "主要指标",
        "sec_compliance": "规划指标达标评估",
        "sec_by_type": "分类型设施覆盖",
        "sec_map": "交互地图",
        "sec_suggestion": "建议新增站点",
        "sec_rollup_subdistrict": "街道汇总",
        "sec_rollup_district": "区县汇总",
        "sec_communities": "社区明细",
        "sec_childcare": "托育服务圈（0–3岁婴幼儿）",
        "sec_method": "方法与数据来源",
        "elderly": "老年人口（60岁及以上）",
        "elderly_short": "老年人口",
        "children": "0–3岁婴幼儿",
        "within": "{m}分钟步行可达",
        "persons": "{n}人",
        "below_target": "未达标社区",
        "below_detail": "共{total}个社区；目标：{m}分钟覆盖率{target}",
        "facilities": "养老服务设施",
        "facilities_detail": "计入养老服务圈",
        "share_chart": "各步行时间内可达的老年人比例",
        "target_line": "目标 {target}",
        "type": "设施类型",
        "minutes": "步行分钟",
        "n_facilities": "设施数",
        "population": "人口",
        "covered": "覆盖人口",
        "share": "覆盖率",
        "share_m": "{m}分钟覆盖率",
        "share_m_before": "新增前{m}分钟覆盖率",
        "uncovered_m": "{m}分钟外人数",
        "covered_m": "{m}分钟覆盖人数",
        "community_id": "编号",
        "name": "名称",
        "subdistrict": "街道",
        "district": "区县",
        "n_communities": "社区数",
        "below": "未达标",
        "yes": "是",
        "no": "否",
        "na": "无数据",
        "communities_caption": "按{m}分钟覆盖率从低到高排列；低于目标{target}的社区以底色标出。",
        "rollup_caption": "按{level}汇总社区数据；{m}分钟覆盖率低于目标{target}的以底色标出。",
        "by_type_caption": "各类型按其步行时间计算；人口为老年人口（托育为0–3岁婴幼儿）。",
        "level": "层级",
        "unit": "单元",
        "indicator": "指标",
        "target": "目标",
        "value": "现状",
        "status": "评估",
        "shortfall": "差距",
        "source": "依据",
        "pass": "达标",
        "fail": "未达标",
        "unevaluable": "无法评估",
        "compliance_counts": "{total}项指标（全域）中达标{passed}项，未达标{failed}项，无法评估{unevaluable}项；"
                             "下表按各层级列出，共{rows}行。",
        "overall": "全域",
        "community": "社区",
        "township": "乡镇", "village": "村",
        "dm_buildings": "建筑", "dm_nodes": "路网节点", "dm_centroid": "中心点",
        "map_note": "交互地图见本报告的HTML版本（请用浏览器打开）。",
        "map_png_caption": "静态地图",
        "sec_map_print": "地图",
        "suggest_title": "新增站点：{title}",
        "before_after": "新增前：{before}；{detail}",
        "communities_caption_plain": "按{m}分钟覆盖率从低到高排列。",
        "m_osm_file": "OpenStreetMap文件 {name}",
        "m_placed": "在社区内布点（{name}）",
        "m_demo_file": "{name}（内置示例数据）",
        "map_hint": "可在右上角图层控件中切换图层；点击社区或设施查看数据。",
        "sites_lead": "按{method}为{m}分钟步行选出{n}个新增站点：覆盖率由{before}提高到{after}"
                      "（{m}分钟内新增覆盖老年人{gain}人）。",
        "solver_line": "求解：{method}，{status}；最优性差距{gap}；候选点{candidates}个。",
        "curve_caption": "新增0、1、2……个站点后的覆盖率（每次选新增覆盖最多者）。",
        "rank": "序号",
        "site_id": "站点编号",
        "gain": "新增覆盖老年人",
        "share_after": "新增后覆盖率",
        "minutes_saved": "节省步行（人·分钟）",
        "lonlat": "经度，纬度",
        "childcare_lead": "0–3岁婴幼儿{pop}人；{m}分钟步行可达托育机构：{share}。",
        "m_network": "步行路网",
        "m_network_text": "{source}；{nodes}个节点、{segments}条路段，坐标系{crs}。按OpenStreetMap步行规则筛选道路，"
                          "只保留最大连通部分。",
        "m_speed": "步行速度",
        "m_speed_text": "{v:g}米/秒（每分钟{mpm:.0f}米，{m}分钟{dist:,.0f}米）。步行时间＝路网长度÷速度，"
                        "未计台阶、过街等额外时间。",
        "m_speed_model": "平地{v:g}米/秒（每分钟{mpm:.0f}米，{m}分钟{dist:,.0f}米）；"
                         "台阶、过街和坡度的时间由下述步行模型计入。",
        "m_distances_text": "步行距离{metres}米（按GB 50180生活圈的写法），以上述速度步行（{minutes}分钟）；"
                            "社区{m}米内可达设施的老年人比例低于{target}即为未达标。",
        "m_model": "步行模型",
        "m_model_plain": "普通（plain）：所有道路按步行速度双向通行，不计台阶、过街和坡度的额外时间。",
        "m_model_older": "老年人步行模型（--walk-model older）：",
        "m_rule_stairs": "台阶：每级{step_s:g}秒（按标注的台阶数，否则按长度÷{tread_m:g}米踏步宽）",
        "m_rule_avoid": "台阶不可通行（--avoid-steps：轮椅和助行器使用者）",
        "m_rule_crossings": "穿越主要道路（干线、主干路、次干路）：信号灯处等候{signals:g}秒，"
                            "斑马线或标线人行横道{marked:g}秒，"
                            "无标线或未标注{unmarked:g}秒；crossing=no处不可穿越",
        "m_rule_barriers": "关闭的大门和围栏（access=private|no）及标注sidewalk=no的主要道路不可步行",
        "m_rule_dem": "坡度取自高程模型{dem}：按Tobler步行函数相对平地计时（上坡慢、缓下坡快），坡度限于±{grade:.0%}",
        "m_model_plain_dem": "普通模型加坡度：",
        "m_rule_sep": "；",
        "m_rule_end": "。",
        "m_sensitivity": "速度敏感性",
        "m_sensitivity_text": "按{speeds}米/秒分别重算覆盖率（sensitivity.csv）；地图和表格采用{v}米/秒。",
        "sec_sensitivity": "步行速度敏感性",
        "sens_pair": "{v}米/秒时{share}",
        "sens_sentence": "{what}覆盖率：{pairs}。",
        "sens_what_min": "{m}分钟",
        "sens_what_m": "{m}米内",
        "sens_note": "上文的地图、表格和数字采用{v}米/秒（所给的第一个速度）。老年人步速约0.8–1.2米/秒；"
                     "采用老年人步行模型时，各速度下的等候和台阶时间分别重新计算。",
        "sens_note_m": "距离阈值在各速度下换算为时间，因此普通模型下其覆盖率不随速度变化。",
        "sens_chart": "各步行速度下各阈值内老年人比例",
        "sens_speed_axis": "步行速度（米/秒）",
        "within_m": "{m}米内步行可达",
        "below_detail_m": "共{total}个社区；目标：{m}米内覆盖率{target}",
        "m_thresholds": "时间阈值与目标",
        "m_thresholds_text": "步行时间{minutes}分钟；社区{m}分钟内可达设施的老年人比例低于{target}即为未达标。",
        "m_demand": "老年人居住位置（估算）",
        "m_demand_text": "各社区60岁及以上人口是整个社区的总数，按下述方法分配到社区内的点位上，因此步行时间为估算值。"
                         "方法：{demand}。",
        "m_demand_methods": "各方法的社区数：{counts}。",
        "m_method_buildings": "buildings（建筑）——按住宅建筑面积（基底面积×层数）分配",
        "m_method_nodes": "nodes（路网节点）——社区内步行路网节点平均分配",
        "m_method_centroid": "centroid（中心点）——全部人口置于社区内一点",
        "m_snap": "接入路网",
        "m_snap_text": "设施和住所接入最近的路段（而非节点），到路段的直线步行计入行程。",
        "m_snap_limit": "距路网超过{max_snap:g}米的点视为未覆盖。",
        "m_snap_off": "有{points}个需求点（老年人{pop}人）距路网过远、无法接入；"
                      "{unreachable}名老年人无法到达任何设施。",
        "m_isochrones": "等时圈",
        "m_isochrones_text": "地图上的步行范围由可达路段绘制，仅用于展示；所有数字均来自路网步行时间，而非多边形。",
        "m_inputs": "输入文件",
        "m_standard": "评估标准",
        "m_note": "数据说明",
        "m_attribution": "地图数据 © OpenStreetMap contributors (ODbL)。",
        "facilities_input": "设施",
        "communities_input": "社区",
        "demand_input": "需求点",
        "network_input": "路网",
        "subdistricts_input": "街道",
        "standard_input": "标准",
        "method_mclp": "最大覆盖模型（MCLP）",
        "method_set-cover": "集合覆盖模型",
        "method_p-median": "P中值模型",
        "sec_access": "可达性（两步移动搜索法）",
        "access_lead": "方法：{method}，基于路网步行时间。供给：{supply}（设施字段“{supply_col}”）。"
                       "各类设施服务半径：{catchments}。{decay}得分为每千名老人可达的{supply}：每处设施的供给由"
                       "可到达它的全部老年人（按上述权重）分享，每人的得分为其可到达各设施所分份额之和。",
        "access_catchment": "{type}{m}分钟",
        "access_list_sep": "；",
        "access_decay_2sfca": "服务半径内的老年人全部计入。",
        "access_decay_e2sfca": "按步行时间分段赋权：{bands}。",
        "access_band": "{a}–{b}分钟 {w}",
        "access_decay_g2sfca": "权重随步行时间按高斯曲线衰减，设施处为1，服务半径边缘为0。",
        "access_mean": "平均可达性",
        "access_per": "每千名老人可达{supply}",
        "access_median": "中位数",
        "access_median_detail": "一半老年人低于此值",
        "access_gini": "基尼系数",
        "access_gini_detail": "0为人人相同，1为全部集中于一人",
        "access_share_below": "低于可达性水平的老年人",
        "access_below_detail": "{n}人低于每千名老人{level}（{source}）",
        "access_none": "无可达供给的老年人",
        "access_none_detail": "不在任何设施服务半径内",
        "access_unreached": "服务半径内无老年人的设施：{ids}。",
        "lorenz_x": "老年人口累计占比（按可达性由低到高）",
        "lorenz_y": "可达供给累计占比",
        "lorenz_equal": "绝对均等线",
        "lorenz_caption": "老年人可达性洛伦兹曲线；基尼系数{gini}。曲线越偏离对角线，可达性越不均衡。",
        "access_mismatch_heading": "各社区供需匹配",
        "access_col": "每千名老人可达供给",
        "access_below_col": "低于水平",
        "access_class": "供需类型",
        "access_mismatch_caption": "高需求：老年人口多于社区中位数；低供给：低于每千名老人{level}的水平（{source}）。"
                                   "高需求-低供给的社区排在最前；低于水平的以底色标出。",
        "access_ranking_subdistrict": "街道可达性排名",
        "access_ranking_district": "区县可达性排名",
        "access_gini_col": "基尼系数",
        "access_share_below_col": "低于水平老年人占比",
        "access_rank": "排名",
        "access_ranking_caption": "排名1为平均可达性（按人口加权）最高；基尼系数按该{level}内老年人计算。",
    },
}


#: The console summaries of ``run``, ``suggest`` and ``compare`` (:mod:`carecircle.commands`), per language.
#: Numbers are formatted by the caller; ``list_sep`` joins lists (、 in Chinese).
COMPARISON_SUFFIX_ZH = {"base": "（{base}）", "plan": "（{plan}）", "change": "（变化）"}
#: Headers of the comparison's own columns.
COMPARISON_HEADERS_ZH = {
    "elderly": "老年人口", "covered": "覆盖人口", "share": "覆盖率", "newly_covered": "新增覆盖人口",
    "no_longer_covered": "失去覆盖人口", "target_change": "达标变化", "changed": "评估是否变化", "details": "变化内容",
    "change": "变化", "time_min": "步行时间(分钟)", "nearest_facility": "最近设施", "value": "指标值",
}
#: Values of the status, target-change and facility-change columns.
COMPLIANCE_STATUS_ZH = {"pass": "达标", "fail": "未达标", "unevaluable": "无法评估"}
TARGET_CHANGE_ZH = {"now meets": "新达标", "now below": "新不达标", "": ""}
FACILITY_CHANGE_ZH = {"added": "新增", "removed": "撤除", "changed": "调整"}
