"""The HTML report of a study: one self-contained, printable page (the only module that renders reports).

:func:`render_report` returns one HTML document holding everything inline: the CSS, the charts (plain SVG),
the interactive map (the self-contained map document of :mod:`carecircle.outputs.maps` in an ``<iframe srcdoc>``) and,
optionally, a static PNG of the map (a ``data:`` URI) that replaces the interactive map on paper. Nothing is
fetched from the network when the page opens, except the map's background tiles, which simply stay blank offline.

Sections, each present only when the study has its data: headline figures; compliance with the standards
profile; coverage by facility type; the map; suggested new sites with the coverage curve; subdistrict and
district roll-ups; every community; the childcare circle ("一老一小"); method and data sources (what is measured
and what is estimated, from the study's own inputs and summary).

:func:`map_iframe_snippet` gives the ``<iframe>`` that embeds a saved map in another page.
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import logging
import os
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from carecircle.version import __version__
from carecircle.core.coverage import CoverageResult, threshold_label
from carecircle.errors import InputError
from carecircle.outputs.files import write_atomically
from carecircle.outputs.formats import fmt_bool, fmt_num, fmt_persons, fmt_share, is_missing

if TYPE_CHECKING:
    from carecircle.plan.results import StudyResult
    from carecircle.plan.siting import Suggestion

logger = logging.getLogger(__name__)

__all__ = ["map_iframe_snippet", "render_report", "write_report"]

#: Every piece of text the report shows, per language. ``{m}`` is a threshold in minutes.
_LABELS: dict[str, dict[str, str]] = {
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
        "compliance_counts": "{passed} passed, {failed} failed, {unevaluable} could not be evaluated.",
        "overall": "overall",
        "community": "community",
        "map_note": "The interactive map is in the HTML version of this report (open it in a browser).",
        "map_png_caption": "Static map",
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
        "compliance_counts": "达标{passed}项，未达标{failed}项，无法评估{unevaluable}项。",
        "overall": "全域",
        "community": "社区",
        "map_note": "交互地图见本报告的HTML版本（请用浏览器打开）。",
        "map_png_caption": "静态地图",
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
    },
}

_CSS = """
:root{--ink:#222;--muted:#5b5b5b;--line:#d9d9d9;--pass:#1a7f37;--pass-bg:#e6f4ea;--fail:#b42318;
--fail-bg:#fdecea;--unev:#8a6d00;--unev-bg:#fff6d6;--accent:#08519c;--below-bg:#fdecea}
*{box-sizing:border-box}
body{margin:0;color:var(--ink);background:#fff;font:15px/1.55 "Helvetica Neue",Arial,"PingFang SC",
"Hiragino Sans GB","Microsoft YaHei","Noto Sans CJK SC","Source Han Sans SC","WenQuanYi Zen Hei",sans-serif}
main{max-width:1120px;margin:0 auto;padding:24px 28px 48px}
h1{font-size:26px;margin:0 0 4px}
h2{font-size:20px;margin:32px 0 10px;padding-bottom:4px;border-bottom:2px solid var(--accent)}
h3{font-size:16px;margin:18px 0 6px}
.meta{color:var(--muted);margin:0}
.note{background:#f4f6f8;border-left:4px solid #8c96a0;padding:8px 12px;margin:14px 0;font-size:14px}
nav.toc{font-size:14px;margin:14px 0}
nav.toc a{color:var(--accent);text-decoration:none;margin-right:14px;white-space:nowrap}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin:10px 0}
.card{flex:1 1 170px;border:1px solid var(--line);border-radius:6px;padding:10px 14px}
.card .label{font-size:13px;color:var(--muted)}
.card .figure{font-size:26px;font-weight:700;line-height:1.2}
.card .detail{font-size:12.5px;color:var(--muted)}
.card.alert .figure{color:var(--fail)}
table{border-collapse:collapse;width:100%;font-size:13.5px;margin:6px 0 4px}
caption{caption-side:bottom;text-align:left;color:var(--muted);font-size:12.5px;padding-top:4px}
th,td{border-bottom:1px solid var(--line);padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f2f4f7;font-weight:600}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
tr.below td{background:var(--below-bg)}
.status{display:inline-block;padding:0 7px;border-radius:9px;font-size:12.5px;font-weight:600;white-space:nowrap}
.status-pass{color:var(--pass);background:var(--pass-bg)}
.status-fail{color:var(--fail);background:var(--fail-bg)}
.status-unevaluable{color:var(--unev);background:var(--unev-bg)}
tr.status-row-fail td{background:#fff8f7}
.map-frame iframe{display:block;width:100%;border:1px solid var(--line);border-radius:4px}
.map-print{display:none}
.map-print img{max-width:100%}
.chart svg{max-width:100%;height:auto}
.curve .carecircle-curve{box-shadow:none!important;padding:0!important}
.curve svg.carecircle-curve-chart{width:520px;height:auto}
dl.method dt{font-weight:600;margin-top:10px}
dl.method dd{margin:2px 0 0 0}
footer{margin-top:36px;color:var(--muted);font-size:12.5px}
@page{size:A4;margin:14mm 12mm}
@media print{
  body{font-size:10.5pt}
  main{max-width:none;padding:0}
  nav.toc{display:none}
  .map-frame{display:none}
  .map-print{display:block}
  h2{break-after:avoid;page-break-after:avoid}
  h3{break-after:avoid;page-break-after:avoid}
  section{break-inside:auto}
  .cards,.card,.chart,.curve,figure{break-inside:avoid;page-break-inside:avoid}
  table{font-size:9pt}
  thead{display:table-header-group}
  tr{break-inside:avoid;page-break-inside:avoid}
  a{color:inherit;text-decoration:none}
  tr.below td,.status,th{-webkit-print-color-adjust:exact;print-color-adjust:exact}
}
"""

_BELOW_COLOR = "#67001f"
_BAR_COLOR = "#08519c"


# --- public API --------------------------------------------------------------------------------------


def render_report(
    study: StudyResult,
    *,
    suggestion: Suggestion | None = None,
    compliance: pd.DataFrame | None = None,
    lang: str | None = None,
    title: str | None = None,
    map_html: str | None = None,
    map_png: str | os.PathLike[str] | bytes | None = None,
    generated: _dt.date | str | None = None,
) -> str:
    """One self-contained HTML report of a study: figures, tables, charts and the interactive map.

    Everything is inline (CSS, SVG charts, the map document in an ``<iframe srcdoc>``, the PNG as a ``data:``
    URI); nothing is loaded from a CDN. Sections appear only when the study has their data: compliance
    (``compliance`` or ``study.compliance``), coverage by facility type (``study.by_type``), roll-ups
    (``study.rollups``), suggested sites and the coverage curve (``suggestion``), the childcare circle
    (``study.childcare``). On paper (A4) the interactive map is replaced by ``map_png`` or by a note.

    Parameters
    ----------
    study : StudyResult
        Output of :func:`carecircle.run_study`.
    suggestion : Suggestion, optional
        Output of :func:`carecircle.plan.siting.suggest_sites` for this study: sites table and coverage curve.
    compliance : pandas.DataFrame, optional
        Compliance table (``carecircle.plan.compliance.evaluate``); default ``study.compliance``.
    lang : {"en", "zh"}, optional
        Language of every label; default the study's (``study.lang``), else English.
    title : str, optional
        Page title; default "15-minute elder-care circle report" in ``lang``.
    map_html : str, optional
        The map document to embed (e.g. the text of a saved ``map.html``); default: built with
        :func:`carecircle.outputs.maps.coverage_map` (with the suggested sites and curve when ``suggestion`` is given).
    map_png : path or bytes, optional
        Static map (:func:`carecircle.outputs.staticmap.static_map_png`) shown instead of the interactive map in print.
    generated : date or str, optional
        Date printed under the title; default today.

    Returns
    -------
    str
        The whole HTML document (UTF-8 text; write it with :func:`write_report`).

    Raises
    ------
    InputError
        Unknown ``lang``; a compliance table without its ``status`` column.

    Examples
    --------
    >>> study = carecircle.run_study()  # doctest: +SKIP
    >>> Path("report.html").write_text(render_report(study, lang="zh"), encoding="utf-8")  # doctest: +SKIP
    """
    lang = lang or getattr(study, "lang", None) or "en"
    labels = _labels(lang)
    cov: CoverageResult = study.coverage
    title = title or labels["title"]
    if compliance is None:
        compliance = getattr(study, "compliance", None)
    if compliance is not None and "status" not in compliance.columns:
        raise InputError(f"compliance table has no 'status' column (columns: {', '.join(map(str, compliance))}); "
                         "pass the output of carecircle.plan.compliance.evaluate.")
    by_type = getattr(study, "by_type", None)
    rollups = getattr(study, "rollups", None) or {}
    childcare = getattr(study, "childcare", None)
    profile = getattr(study, "profile", None)
    if map_html is None:
        map_html = _map_document(study, suggestion, lang=lang)
    date = generated if generated is not None else _dt.date.today()
    date_text = date.isoformat() if isinstance(date, _dt.date) else str(date)

    sections: list[tuple[str, str, str]] = [("headline", labels["sec_headline"], _headline_section(study, labels))]
    if compliance is not None and len(compliance):
        sections.append(("compliance", labels["sec_compliance"], _compliance_section(compliance, lang, labels)))
    if by_type is not None and len(by_type):
        sections.append(("by-type", labels["sec_by_type"], _by_type_section(by_type, lang, labels)))
    sections.append(("map", labels["sec_map"], _map_section(map_html, map_png, title, labels)))
    if suggestion is not None:
        sections.append(("suggestion", labels["sec_suggestion"], _suggestion_section(suggestion, lang, labels)))
    for level in ("subdistrict", "district"):
        table = rollups.get(level)
        if table is not None and len(table):
            sections.append((f"rollup-{level}", labels[f"sec_rollup_{level}"],
                             _rollup_section(table, level, cov, labels)))
    if cov.communities is not None and len(cov.communities):
        sections.append(("communities", labels["sec_communities"], _communities_section(cov, lang, labels)))
    if childcare is not None:
        sections.append(("childcare", labels["sec_childcare"], _childcare_section(childcare, lang, labels)))
    sections.append(("method", labels["sec_method"], _method_section(study, profile, lang, labels)))

    meta = [labels["study_line"].format(name=_esc(getattr(study, "name", "")), date=_esc(date_text),
                                        version=_esc(__version__))]
    if profile is not None or (getattr(study, "inputs", None) or {}).get("standard"):
        meta.append(labels["standard_line"].format(standard=_esc(_profile_name(study, profile, lang))))
    note = getattr(study, "note", None)
    toc = "".join(f'<a href="#{sid}">{_esc(heading)}</a>' for sid, heading, _ in sections)
    body = "".join(
        f'<section id="{sid}"><h2>{_esc(heading)}</h2>{content}</section>' for sid, heading, content in sections
    )
    html_lang = "zh-CN" if lang == "zh" else "en"
    page = (
        f'<!DOCTYPE html>\n<html lang="{html_lang}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta name="generator" content="carecircle {_esc(__version__)}">'
        f"<title>{_esc(title)}</title><style>{_CSS}</style></head><body><main>"
        f'<header><h1>{_esc(title)}</h1>{"".join(f"<p class=meta>{m}</p>" for m in meta)}'
        + (f'<div class="note">{_esc(note)}</div>' if note else "")
        + f'<nav class="toc" aria-label="{_esc(labels["contents"])}">{toc}</nav></header>'
        f"{body}<footer>{_esc(labels['m_attribution'])} carecircle {_esc(__version__)}</footer>"
        "</main></body></html>\n"
    )
    logger.info("report: %d sections (%s), %d kB", len(sections), lang, len(page.encode("utf-8")) // 1024)
    return page


def write_report(study: StudyResult, path: str | os.PathLike[str], **kwargs: Any) -> Path:
    """Render the report (:func:`render_report` keywords) and write it to ``path`` as UTF-8, atomically.

    The page goes to a temporary file in the same directory, which then replaces ``path``.

    Raises
    ------
    OutputError
        The directory does not exist or cannot be written.
    """
    data = render_report(study, **kwargs).encode("utf-8")
    return write_atomically(path, lambda f: f.write(data), what="the report")


def map_iframe_snippet(map_path_or_html: Any, *, height: int | str = 600, inline: bool = True) -> str:
    """An ``<iframe>`` embedding a map in another page (a report, a CMS, a notebook cell).

    Parameters
    ----------
    map_path_or_html : path, str or folium.Map
        A saved ``map.html`` (path), the map document itself (a string starting with ``<``), or a
        :class:`folium.Map` (then this is :func:`carecircle.outputs.maps.map_fragment`).
    height : int or str
        Height in pixels, or any CSS length.
    inline : bool
        ``True`` (default): the whole map document goes into ``srcdoc``, so the snippet needs no other file.
        ``False`` (paths only): ``src`` points at the file as given, to be published beside the page.

    Returns
    -------
    str
        One ``<iframe>`` element; width 100%.

    Raises
    ------
    InputError
        The path does not exist, or ``inline=False`` without a path.

    Examples
    --------
    >>> map_iframe_snippet("maps/helsinki/map.html", height=480)  # doctest: +SKIP
    """
    css_height = f"{height}px" if isinstance(height, int | float) else str(height)
    if not isinstance(map_path_or_html, str | os.PathLike):
        from carecircle.outputs.maps import map_fragment  # a folium.Map

        return map_fragment(map_path_or_html, height=css_height)
    is_doc = isinstance(map_path_or_html, str) and map_path_or_html.lstrip().startswith("<")
    if not inline:
        if is_doc:
            raise InputError("map_iframe_snippet: inline=False needs the path of a saved map, not its HTML.")
        src = Path(map_path_or_html).as_posix()
        return (f'<iframe src="{_esc(src)}" title="map" style="width:100%;height:{_esc(css_height)};border:none;" '
                "allowfullscreen></iframe>")
    if is_doc:
        doc = str(map_path_or_html)
    else:
        path = Path(map_path_or_html)
        if not path.is_file():
            raise InputError(f"{path}: no such map file; write it first (carecircle run or save_map).")
        doc = path.read_text(encoding="utf-8")
    return _iframe(doc, css_height)


# --- sections ----------------------------------------------------------------------------------------


def _headline_section(study: StudyResult, labels: Mapping[str, str]) -> str:
    cov = study.coverage
    summary = cov.summary or {}
    thresholds = [float(t) for t in cov.thresholds_min]
    top = threshold_label(max(thresholds))
    target = fmt_share(cov.target_share, labels)
    cards = [_card(labels["elderly"], fmt_persons(summary.get("elderly_population"), labels), "", "elderly")]
    for t in thresholds:
        lab = threshold_label(t)
        cards.append(_card(labels["within"].format(m=lab), fmt_share(summary.get("share", {}).get(lab), labels),
                           labels["persons"].format(n=fmt_persons(summary.get("covered", {}).get(lab), labels)),
                           f"share-{lab}"))
    n_communities = len(cov.communities) if cov.communities is not None else 0
    if n_communities:
        below = len(summary.get("communities_below_target", []))
        cards.append(_card(labels["below_target"], f"{below:,d}",
                           labels["below_detail"].format(total=f"{n_communities:,d}", target=target, m=top),
                           "below-target", alert=below > 0))
    n_fac = summary.get("n_facilities", len(cov.facilities))
    cards.append(_card(labels["facilities"], f"{int(n_fac):,d}", labels["facilities_detail"], "facilities"))
    chart = _share_chart(summary, thresholds, cov.target_share, labels)
    return f'<div class="cards">{"".join(cards)}</div>{chart}'


def _card(label: str, figure: str, detail: str, key: str, *, alert: bool = False) -> str:
    cls = "card alert" if alert else "card"
    return (f'<div class="{cls}" data-key="{_esc(key)}"><div class="label">{_esc(label)}</div>'
            f'<div class="figure">{_esc(figure)}</div><div class="detail">{_esc(detail)}</div></div>')


def _share_chart(summary: Mapping[str, Any], thresholds: Sequence[float], target_share: float,
                 labels: Mapping[str, str]) -> str:
    """Horizontal bars: share of elderly within each threshold, with the target as a dashed line (plain SVG)."""
    bar_h, gap, left, right, top_pad = 24, 10, 150, 70, 24
    width = 640
    pw = width - left - right
    height = top_pad + len(thresholds) * (bar_h + gap) + 22
    parts = []
    for f in (0.0, 0.25, 0.5, 0.75, 1.0):
        x = left + f * pw
        parts.append(f'<line x1="{x:.1f}" y1="{top_pad - 4}" x2="{x:.1f}" y2="{height - 18}" stroke="#e3e3e3"/>')
        parts.append(f'<text x="{x:.1f}" y="{height - 4}" text-anchor="middle" font-size="11" fill="#555">'
                     f"{100 * f:.0f}%</text>")
    for i, t in enumerate(thresholds):
        lab = threshold_label(t)
        share = summary.get("share", {}).get(lab)
        y = top_pad + i * (bar_h + gap)
        w = 0.0 if is_missing(share) else max(0.0, min(1.0, float(share))) * pw
        parts.append(f'<text x="{left - 8}" y="{y + bar_h / 2 + 4:.1f}" text-anchor="end" font-size="12" '
                     f'fill="#222">{_esc(labels["within"].format(m=lab))}</text>')
        parts.append(f'<rect class="share-bar" x="{left}" y="{y}" width="{w:.1f}" height="{bar_h}" '
                     f'fill="{_BAR_COLOR}"><title>{_esc(fmt_share(share, labels))}</title></rect>')
        parts.append(f'<text x="{left + w + 6:.1f}" y="{y + bar_h / 2 + 4:.1f}" font-size="12" font-weight="600" '
                     f'fill="#222">{_esc(fmt_share(share, labels))}</text>')
    if not is_missing(target_share) and 0 <= float(target_share) <= 1:
        x = left + float(target_share) * pw
        parts.append(f'<line class="target-line" x1="{x:.1f}" y1="{top_pad - 8}" x2="{x:.1f}" y2="{height - 18}" '
                     f'stroke="{_BELOW_COLOR}" stroke-width="1.5" stroke-dasharray="5 3"/>')
        target_text = labels["target_line"].format(target=fmt_share(target_share, labels))
        parts.append(f'<text x="{x:.1f}" y="{top_pad - 11}" text-anchor="middle" font-size="11" '
                     f'fill="{_BELOW_COLOR}">{_esc(target_text)}</text>')
    caption = _esc(labels["share_chart"])
    return (f'<figure class="chart"><svg class="share-chart" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" role="img" aria-label="{caption}">{"".join(parts)}</svg>'
            f"<figcaption class=meta>{caption}</figcaption></figure>")


def _compliance_section(table: pd.DataFrame, lang: str, labels: Mapping[str, str]) -> str:
    status = table["status"].astype(str)
    counts = labels["compliance_counts"].format(passed=int((status == "pass").sum()),
                                                failed=int((status == "fail").sum()),
                                                unevaluable=int((status == "unevaluable").sum()))
    desc_col = next((c for c in (f"description_{lang}", "description_en", "description_zh", "target_id")
                     if c in table.columns), None)
    head = [labels["indicator"], labels["level"], labels["unit"], labels["target"], labels["value"],
            labels["status"], labels["shortfall"], labels["source"]]
    rows = []
    for _, r in table.iterrows():
        st = str(r.get("status", ""))
        level = str(r.get("level", ""))
        cells = [
            _esc(_text(r.get(desc_col)) if desc_col else ""),
            _esc(labels.get(level, level) if level in ("overall", "community", "subdistrict", "district") else level),
            _esc(_text(r.get("unit"))),
            _esc(_text(r.get("target"))),
            f'<span class="num">{_esc(_text(r.get("value")))}</span>',
            f'<span class="status status-{_esc(st)}">{_esc(labels.get(st, st))}</span>',
            _esc(_text(r.get("shortfall"))),
            _esc(_text(r.get("source"))),
        ]
        rows.append(f'<tr class="status-row-{_esc(st)}" data-status="{_esc(st)}">'
                    + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    return (f"<p>{_esc(counts)}</p><table class=compliance><thead><tr>"
            + "".join(f"<th>{_esc(h)}</th>" for h in head) + f"</tr></thead><tbody>{''.join(rows)}</tbody></table>")


def _by_type_section(by_type: pd.DataFrame, lang: str, labels: Mapping[str, str]) -> str:
    label_col = "label_zh" if lang == "zh" else "label_en"
    cols: list[tuple[str, str, Callable[[Any], str], bool]] = [
        (label_col if label_col in by_type else "type", labels["type"], _text, False),
        ("minutes", labels["minutes"], lambda v: fmt_num(v, labels), True),
        ("facilities", labels["n_facilities"], lambda v: fmt_persons(v, labels), True),
        ("population", labels["population"], lambda v: fmt_persons(v, labels), True),
        ("covered", labels["covered"], lambda v: fmt_persons(v, labels), True),
        ("share", labels["share"], lambda v: fmt_share(v, labels), True),
    ]
    return _table(by_type, cols, "by-type", caption=labels["by_type_caption"])


def _map_section(map_html: str, map_png: Any, title: str, labels: Mapping[str, str]) -> str:
    if map_png is not None:
        data = map_png if isinstance(map_png, bytes) else Path(map_png).read_bytes()
        uri = "data:image/png;base64," + base64.b64encode(data).decode("ascii")
        printed = (f'<figure><img src="{uri}" alt="{_esc(labels["map_png_caption"])}">'
                   f'<figcaption class=meta>{_esc(labels["map_png_caption"])}</figcaption></figure>')
    else:
        printed = f'<p class="note">{_esc(labels["map_note"])}</p>'
    return (f'<div class="map-frame"><p class=meta>{_esc(labels["map_hint"])}</p>'
            f"{_iframe(map_html, '620px', title=title)}</div>"
            f'<div class="map-print">{printed}</div>')


def _suggestion_section(suggestion: Suggestion, lang: str, labels: Mapping[str, str]) -> str:
    lab = threshold_label(suggestion.minutes)
    before = suggestion.before.summary or {}
    after = suggestion.after.summary or {}
    gain = _num(after.get("covered", {}).get(lab)) - _num(before.get("covered", {}).get(lab))
    method = labels.get(f"method_{suggestion.method}", suggestion.method)
    lead = labels["sites_lead"].format(n=len(suggestion.sites), method=method, m=lab,
                                       before=fmt_share(before.get("share", {}).get(lab), labels),
                                       after=fmt_share(after.get("share", {}).get(lab), labels),
                                       gain=fmt_persons(gain, labels))
    parts = [f"<p>{_esc(lead)}</p>"]
    sol = getattr(suggestion, "solution", None)
    if sol is not None:
        gap = "" if is_missing(getattr(sol, "gap", None)) else f"{100 * float(sol.gap):.2f}%"
        line = labels["solver_line"].format(method=sol.method, status=sol.status, gap=gap or labels["na"],
                                            candidates=f"{int(getattr(suggestion, 'n_candidates', 0)):,d}")
        parts.append(f"<p class=meta>{_esc(line)}</p>")
    from carecircle.outputs.maps import curve_svg  # the map's own chart: map and report look alike

    curve = curve_svg(suggestion.curve, suggestion.after.target_share, lang=lang)
    if curve:
        parts.append(f'<figure class="curve">{curve}<figcaption class=meta>{_esc(labels["curve_caption"])}'
                     "</figcaption></figure>")
    sites = suggestion.sites
    if len(sites):
        table = pd.DataFrame(sites.drop(columns=sites.geometry.name))
        id_col = next((c for c in ("candidate_id", "facility_id") if c in table.columns), None)
        if sites.crs is not None:
            pts = sites.to_crs(4326).geometry.representative_point()
            table["_lonlat"] = [f"{p.x:.5f}, {p.y:.5f}" for p in pts]
        cols: list[tuple[str, str, Callable[[Any], str], bool]] = [
            ("rank", labels["rank"], lambda v: fmt_num(v, labels), True)]
        if id_col:
            cols.append((id_col, labels["site_id"], _text, False))
        if "name" in table:
            cols.append(("name", labels["name"], _text, False))
        cols += [("gain", labels["gain"], lambda v: fmt_persons(v, labels), True),
                 ("share_after", labels["share_after"], lambda v: fmt_share(v, labels), True)]
        if "minutes_saved" in table:
            cols.append(("minutes_saved", labels["minutes_saved"], lambda v: fmt_persons(v, labels), True))
        if "_lonlat" in table:
            cols.append(("_lonlat", labels["lonlat"], _text, True))
        parts.append(_table(table, cols, "sites"))
    return "".join(parts)


def _rollup_section(table: pd.DataFrame, level: str, cov: CoverageResult, labels: Mapping[str, str]) -> str:
    thresholds = [threshold_label(t) for t in cov.thresholds_min]
    top = thresholds[-1]
    pop_col = next((c for c in ("elderly", "population", "children") if c in table.columns), None)
    cols: list[tuple[str, str, Callable[[Any], str], bool]] = [
        (level, labels.get(level, level), _text, False),
        ("n_communities", labels["n_communities"], lambda v: fmt_persons(v, labels), True),
    ]
    cols += _coverage_columns(table, pop_col, labels["elderly_short"], thresholds, labels)
    caption = labels["rollup_caption"].format(level=labels.get(level, level), m=top,
                                              target=fmt_share(cov.target_share, labels))
    return _table(table, cols, f"rollup rollup-{level}", caption=caption, highlight="below_target")


def _coverage_columns(table: pd.DataFrame, pop_col: str | None, pop_label: str, thresholds: list[str],
                      labels: Mapping[str, str]) -> list[tuple[str, str, Callable[[Any], str], bool]]:
    """Population, share per threshold, uncovered at the largest and below-target columns, where present."""
    top = thresholds[-1]
    cols = [(pop_col, pop_label, lambda v: fmt_persons(v, labels), True)] if pop_col else []
    cols += [(f"share_{lab}", labels["share_m"].format(m=lab), lambda v: fmt_share(v, labels), True)
             for lab in thresholds if f"share_{lab}" in table]
    if f"uncovered_{top}" in table:
        cols.append((f"uncovered_{top}", labels["uncovered_m"].format(m=top), lambda v: fmt_persons(v, labels),
                     True))
    if "below_target" in table:
        cols.append(("below_target", labels["below"], lambda v: fmt_bool(v, labels), False))
    return cols


def _communities_section(cov: CoverageResult, lang: str, labels: Mapping[str, str]) -> str:
    com = _local_names(pd.DataFrame(cov.communities.drop(columns=cov.communities.geometry.name, errors="ignore")),
                       lang)
    return _community_table(com, [threshold_label(t) for t in cov.thresholds_min], "elderly", cov.target_share,
                            labels, "communities")


def _community_table(com: pd.DataFrame, thresholds: list[str], pop_col: str, target_share: float,
                     labels: Mapping[str, str], css: str) -> str:
    top = thresholds[-1]
    if f"share_{top}" in com:
        com = com.sort_values(f"share_{top}", kind="stable", na_position="first")
    cols: list[tuple[str, str, Callable[[Any], str], bool]] = [
        ("community_id", labels["community_id"], _text, False),
        ("name", labels["name"], _text, False),
    ]
    if "subdistrict" in com and com["subdistrict"].notna().any():
        cols.append(("subdistrict", labels["subdistrict"], _text, False))
    pop_label = labels["children"] if pop_col == "children" else labels["elderly_short"]
    cols += _coverage_columns(com, pop_col, pop_label, thresholds, labels)
    cols = [c for c in cols if c[0] in com.columns]
    caption = labels["communities_caption"].format(m=top, target=fmt_share(target_share, labels))
    return _table(com, cols, css, caption=caption, highlight="below_target")


def _local_names(com: pd.DataFrame, lang: str) -> pd.DataFrame:
    """In English, ``name``/``subdistrict`` from ``name_en``/``subdistrict_en`` where the communities give them."""
    if lang != "en":
        return com
    out = com.copy()
    for col in ("name", "subdistrict"):
        if f"{col}_en" in out.columns:
            out[col] = out[f"{col}_en"].where(out[f"{col}_en"].notna(), out[col]) if col in out else out[f"{col}_en"]
    return out


def _childcare_section(childcare: CoverageResult, lang: str, labels: Mapping[str, str]) -> str:
    summary = childcare.summary or {}
    thresholds = [threshold_label(t) for t in childcare.thresholds_min]
    top = thresholds[-1]
    pop = summary.get("children_population", summary.get("elderly_population"))
    lead = labels["childcare_lead"].format(pop=fmt_persons(pop, labels), m=top,
                                           share=fmt_share(summary.get("share", {}).get(top), labels))
    parts = [f"<p>{_esc(lead)}</p>"]
    cards = [_card(labels["within"].format(m=lab), fmt_share(summary.get("share", {}).get(lab), labels),
                   labels["persons"].format(n=fmt_persons(summary.get("covered", {}).get(lab), labels)),
                   f"childcare-share-{lab}") for lab in thresholds]
    parts.append(f'<div class="cards">{"".join(cards)}</div>')
    com = childcare.communities
    if com is not None and len(com):
        frame = _local_names(pd.DataFrame(com.drop(columns=com.geometry.name, errors="ignore")), lang)
        pop_col = "children" if "children" in frame else "elderly"
        parts.append(_community_table(frame, thresholds, pop_col, childcare.target_share, labels, "childcare"))
    return "".join(parts)


def _method_section(study: StudyResult, profile: Any, lang: str, labels: Mapping[str, str]) -> str:
    cov = study.coverage
    summary = cov.summary or {}
    inputs = dict(getattr(study, "inputs", None) or {})
    network = summary.get("network") or {}
    net = getattr(study, "network", None)
    thresholds = [float(t) for t in cov.thresholds_min]
    top = max(thresholds)
    items: list[tuple[str, str]] = []

    source = network.get("source") or inputs.get("network") or getattr(net, "source", "")
    items.append((labels["m_network"], labels["m_network_text"].format(
        source=_text(source) or labels["na"],
        nodes=_fmt_count(network.get("nodes", getattr(net, "n_nodes", None)), labels),
        segments=_fmt_count(network.get("segments", getattr(net, "n_edges", None)), labels),
        crs=_text(network.get("crs", getattr(net, "crs", ""))) or labels["na"])))

    speed = float(summary.get("walk_speed_mps", cov.walk_speed_mps))
    items.append((labels["m_speed"], labels["m_speed_text"].format(v=speed, mpm=60 * speed, dist=60 * speed * top,
                                                                    m=threshold_label(top))))
    items.append((labels["m_thresholds"], labels["m_thresholds_text"].format(
        minutes=" / ".join(threshold_label(t) for t in thresholds), m=threshold_label(top),
        target=fmt_share(cov.target_share, labels))))

    demand_text = labels["m_demand_text"].format(demand=_text(inputs.get("demand")) or labels["na"])
    methods = _demand_methods(cov.demand)
    if methods:
        counts = ", ".join(f"{m} {n}" for m, n in methods.items())
        demand_text += " " + labels["m_demand_methods"].format(counts=counts)
        demand_text += " " + "; ".join(labels[f"m_method_{m}"] for m in methods if f"m_method_{m}" in labels) + "."
    items.append((labels["m_demand"], demand_text))

    snap = labels["m_snap_text"]
    max_snap = summary.get("max_snap_m", inputs.get("max_snap_m"))
    if not is_missing(max_snap):
        snap += labels["m_snap_limit"].format(max_snap=float(max_snap))
    if "off_network_points" in summary:
        snap += labels["m_snap_off"].format(points=_fmt_count(summary.get("off_network_points"), labels),
                                            pop=fmt_persons(summary.get("off_network_population"), labels),
                                            unreachable=fmt_persons(summary.get("unreachable_population"), labels))
    items.append((labels["m_snap"], snap))
    items.append((labels["m_isochrones"], labels["m_isochrones_text"]))

    files = [(k, v) for k, v in inputs.items() if k not in ("network",) and not is_missing(v) and v != ""]
    if files:
        listed = "; ".join(f"{labels.get(f'{k}_input', k)}: {_text(v)}" for k, v in files)
        items.append((labels["m_inputs"], listed))
    if profile is not None:
        items.append((labels["m_standard"], _profile_name(study, profile, lang)))
    note = getattr(study, "note", None)
    if note:
        items.append((labels["m_note"], note))
    items.append(("OpenStreetMap", labels["m_attribution"]))
    return '<dl class="method">' + "".join(f"<dt>{_esc(k)}</dt><dd>{_esc(v)}</dd>" for k, v in items) + "</dl>"


def _demand_methods(demand: pd.DataFrame | None) -> dict[str, int]:
    """Number of communities per demand-placement method (from the ``method`` column of the demand points)."""
    if demand is None or "method" not in demand.columns or len(demand) == 0:
        return {}
    if "community_id" in demand.columns:
        per = demand.groupby(demand["community_id"].astype(str))["method"].first()
    else:
        per = demand["method"]
    counts = per.astype(str).value_counts()
    return {str(k): int(v) for k, v in counts.items()}


def _profile_name(study: StudyResult, profile: Any, lang: str) -> str:
    if profile is None:
        return _text((getattr(study, "inputs", None) or {}).get("standard"))
    name = None
    for attr in (f"name_{lang}", "name", "title"):
        name = getattr(profile, attr, None)
        if name:
            break
    pid = getattr(profile, "id", None)
    return f"{name} ({pid})" if name and pid and name != pid else str(name or pid or profile)


# --- the map ----------------------------------------------------------------------------------------


def _map_document(study: StudyResult, suggestion: Suggestion | None, *, lang: str) -> str:
    """The self-contained map document of the study (with the suggested sites and curve when given)."""
    from carecircle.outputs.maps import coverage_map

    note = getattr(study, "note", None)
    if suggestion is None:
        m = coverage_map(study.coverage, study.isochrones, lang=lang, note=note)
        return m.get_root().render()
    iso = None
    network = getattr(study, "network", None)
    if network is not None and len(suggestion.sites):
        from carecircle.core.isochrones import isochrones

        sites = suggestion.sites.rename(columns={"candidate_id": "facility_id"})
        iso = isochrones(network, sites, thresholds_min=(suggestion.minutes,),
                         walk_speed_mps=suggestion.after.walk_speed_mps, per_facility=True)
        iso = iso[iso["facility_id"].notna()]
    m = coverage_map(suggestion.after, None, lang=lang, note=note, suggested=suggestion.sites,
                     suggested_isochrones=iso, curve=suggestion.curve)
    return m.get_root().render()


def _iframe(doc: str, height: str, *, title: str | None = None) -> str:
    """``<iframe srcdoc>`` holding a whole document; quotes and ampersands escaped so it cannot break out."""
    if title is None:
        found = re.search(r"<title>(.*?)</title>", doc, flags=re.IGNORECASE | re.DOTALL)
        title = html.unescape(found.group(1).strip()) if found else "map"
    return (f'<iframe srcdoc="{html.escape(doc, quote=True)}" title="{_esc(title)}" '
            f'style="width:100%;height:{_esc(height)};border:none;" allowfullscreen></iframe>')


# --- tables and formatting ---------------------------------------------------------------------------


def _table(df: pd.DataFrame, cols: list[tuple[str, str, Callable[[Any], str], bool]], css: str, *,
           caption: str | None = None, highlight: str | None = None) -> str:
    """An HTML table of the ``cols`` present in ``df``: (column, header, formatter, numeric)."""
    cols = [c for c in cols if c[0] in df.columns]
    head = "".join(f'<th class="num">{_esc(h)}</th>' if num else f"<th>{_esc(h)}</th>" for _, h, _, num in cols)
    rows = []
    flags = (df[highlight].fillna(False).astype(bool).to_numpy() if highlight and highlight in df.columns
             else np.zeros(len(df), dtype=bool))
    for flag, (_, r) in zip(flags, df.iterrows(), strict=True):
        cells = "".join(f'<td class="num">{_esc(fmt(r[key]))}</td>' if num else f"<td>{_esc(fmt(r[key]))}</td>"
                        for key, _, fmt, num in cols)
        rows.append(f'<tr class="below">{cells}</tr>' if flag else f"<tr>{cells}</tr>")
    cap = f"<caption>{_esc(caption)}</caption>" if caption else ""
    return (f'<table class="{_esc(css)}">{cap}<thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(rows)}</tbody></table>")


def _labels(lang: str) -> dict[str, str]:
    if lang not in _LABELS:
        accepted = ", ".join(repr(k) for k in _LABELS)
        raise InputError(f"lang={lang!r} is not supported; use one of {accepted}.")
    return _LABELS[lang]


def _esc(value: Any) -> str:
    return html.escape(str(value), quote=True)




def _num(value: Any) -> float:
    return 0.0 if is_missing(value) else float(value)


def _text(value: Any) -> str:
    if is_missing(value):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)




def _fmt_count(value: Any, labels: Mapping[str, str]) -> str:
    return fmt_persons(value, labels)
