"""The HTML report of a study: one self-contained, printable page (the only module that renders reports, with its
accessibility section in :mod:`carecircle.outputs.report_access`).

:func:`render_report` returns one HTML document holding everything inline: the CSS, the charts (plain SVG),
the interactive map (the self-contained map document of :mod:`carecircle.outputs.maps` in an ``<iframe srcdoc>``) and,
optionally, a static PNG of the map (a ``data:`` URI) that replaces the interactive map on paper. Nothing is
fetched from the network when the page opens, except the map's background tiles, which simply stay blank offline.

Sections, each present only when the study has its data: headline figures; compliance with the standards
profile; coverage by facility type; the map; suggested new sites with the coverage curve; capacity-aware
accessibility (method, figures, Lorenz curve, need and supply per community, ranking); subdistrict and district
roll-ups; every community; the childcare circle ("一老一小"); method and data sources (what is measured and what
is estimated, from the study's own inputs and summary).

:func:`map_iframe_snippet` gives the ``<iframe>`` that embeds a saved map in another page.
"""

from __future__ import annotations

import base64
import datetime as _dt
import functools
import html
import logging
import os
import re
from collections.abc import Callable, Mapping
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from carecircle.core.coverage import CoverageResult, threshold_label
from carecircle.errors import InputError
from carecircle.formats import (
    fmt_bool,
    fmt_covered,
    fmt_num,
    fmt_persons,
    fmt_share,
    fmt_text,
    fmt_uncovered,
    is_missing,
)
from carecircle.io.default_data import default_data_dir
from carecircle.outputs.files import write_atomically
from carecircle.outputs.i18n import REPORT_LABELS, in_language, in_metres
from carecircle.outputs.maps import coverage_map, curve_svg, map_document, map_fragment, srcdoc_iframe
from carecircle.outputs.maps.common import share_chart_svg
from carecircle.outputs.report_access import access_section
from carecircle.outputs.report_sensitivity import sensitivity_section, speed_text
from carecircle.outputs.tables import unit_names
from carecircle.version import __version__

if TYPE_CHECKING:
    from carecircle.plan.results import StudyResult, Suggestion

logger = logging.getLogger(__name__)

__all__ = ["map_iframe_snippet", "render_report", "write_report"]



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
    labels = in_language(REPORT_LABELS, lang)
    distances = getattr(study, "distances_m", None)
    if distances:
        labels = in_metres(labels, {threshold_label(t): f"{d:g}" for t, d in zip(study.coverage.thresholds_min,
                                                                                  distances, strict=True)})
    cov: CoverageResult = study.coverage
    title = title or (labels["suggest_title"].format(title=labels["title"]) if suggestion is not None
                      else labels["title"])
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

    sections: list[tuple[str, str, str]] = [("headline", labels["sec_headline"],
                                             _headline_section(study, labels, suggestion))]
    if compliance is not None and len(compliance):
        sections.append(("compliance", labels["sec_compliance"],
                         _compliance_section(compliance, lang, labels, getattr(study.coverage, "communities", None))))
    if getattr(study, "sensitivity", None) is not None and len(study.sensitivity):
        sections.append(("sensitivity", labels["sec_sensitivity"], sensitivity_section(study, lang, labels)))
    if by_type is not None and len(by_type):
        sections.append(("by-type", labels["sec_by_type"], _by_type_section(by_type, lang, labels)))
    sections.append(("map", labels["sec_map"], _map_section(map_html, map_png, title, labels,
                                                             note_shown=bool(getattr(study, "note", None)))))
    if suggestion is not None:
        sections.append(("suggestion", labels["sec_suggestion"], _suggestion_section(suggestion, lang, labels)))
    access = getattr(study, "accessibility", None)
    if access is not None:
        sections.append(("accessibility", labels["sec_access"],
                         access_section(access, communities=cov.communities, thresholds_min=cov.thresholds_min,
                                        lang=lang, labels=labels)))
    for level in ("subdistrict", "district"):
        table = rollups.get(level)
        if table is not None and len(table):
            sections.append((f"rollup-{level}", labels[f"sec_rollup_{level}"],
                             _rollup_section(_local_names(table, lang, cov.communities), level, cov, labels)))
    if cov.communities is not None and len(cov.communities):
        sections.append(("communities", labels["sec_communities"], _communities_section(cov, lang, labels, suggestion)))
    if childcare is not None:
        sections.append(("childcare", labels["sec_childcare"],
                         _childcare_section(childcare, lang, labels, _childcare_target(profile))))
    sections.append(("method", labels["sec_method"], _method_section(study, profile, lang, labels)))

    meta = [labels["study_line"].format(name=_esc(getattr(study, "name", "")), date=_esc(date_text),
                                        version=_esc(__version__))]
    if profile is not None or (getattr(study, "inputs", None) or {}).get("standard"):
        meta.append(labels["standard_line"].format(standard=_esc(_profile_name(study, profile, lang))))
    note = getattr(study, "note", None)
    toc = "".join(f'<a href="#{sid}">{_esc(heading)}</a>' for sid, heading, _ in sections)
    # The map's heading names what each medium shows: the interactive map on screen, the static map on paper
    # (report.css shows one heading or the other).
    printed = f'<h2 class="print-heading">{_esc(labels["sec_map_print"])}</h2>'
    body = "".join(f'<section id="{sid}">{printed if sid == "map" else ""}<h2>{_esc(heading)}</h2>{content}'
                   "</section>" for sid, heading, content in sections)
    html_lang = "zh-CN" if lang == "zh" else "en"
    page = (
        f'<!DOCTYPE html>\n<html lang="{html_lang}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta name="generator" content="carecircle {_esc(__version__)}">'
        f"<title>{_esc(title)}</title><style>{_stylesheet(access is not None)}</style></head><body><main>"
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
    return srcdoc_iframe(doc, title=_doc_title(doc), height=css_height)


# --- sections ----------------------------------------------------------------------------------------


def _headline_section(study: StudyResult, labels: Mapping[str, str], suggestion: Suggestion | None = None) -> str:
    cov = study.coverage
    summary = cov.summary or {}
    thresholds = [float(t) for t in cov.thresholds_min]
    top = threshold_label(max(thresholds))
    target = fmt_share(cov.target_share, labels)
    within = _within_texts(study, labels)
    cards = [_card(labels["elderly"], fmt_persons(summary.get("elderly_population"), labels), "", "elderly")]
    before = (suggestion.before.summary or {}) if suggestion is not None else None
    for t in thresholds:
        lab = threshold_label(t)
        detail = labels["persons"].format(n=fmt_covered(summary.get("covered", {}).get(lab), labels))
        if before is not None:  # a suggestion: the share before the new sites beside the one after
            detail = labels["before_after"].format(before=fmt_share(before.get("share", {}).get(lab), labels),
                                                   detail=detail)
        cards.append(_card(within[lab], fmt_share(summary.get("share", {}).get(lab), labels), detail,
                           f"share-{lab}"))
    n_communities = len(cov.communities) if cov.communities is not None else 0
    if n_communities:
        below = len(summary.get("communities_below_target", []))
        metres = getattr(study, "distances_m", None)
        detail = labels["below_detail_m"].format(total=f"{n_communities:,d}", target=target, m=f"{max(metres):g}") \
            if metres else labels["below_detail"].format(total=f"{n_communities:,d}", target=target, m=top)
        cards.append(_card(labels["below_target"], f"{below:,d}", detail,
                           "below-target", alert=below > 0))
    n_fac = summary.get("n_facilities", len(cov.facilities))
    cards.append(_card(labels["facilities"], f"{int(n_fac):,d}", labels["facilities_detail"], "facilities"))
    chart = share_chart_svg(summary.get("share", {}), thresholds, cov.target_share, labels, within,
                            before=before.get("share") if before is not None else None)
    return _cards(cards) + chart


def _within_texts(study: StudyResult, labels: Mapping[str, str]) -> dict[str, str]:
    """"Within 15 min walk" (or "Within 300 m walk" for distance thresholds) per threshold label."""
    minutes = [float(t) for t in study.coverage.thresholds_min]
    metres = getattr(study, "distances_m", None)
    if metres:
        return {threshold_label(t): labels["within_m"].format(m=f"{d:g}") for t, d in zip(minutes, metres, strict=True)}
    return {threshold_label(t): labels["within"].format(m=threshold_label(t)) for t in minutes}


def _walking_model_text(model: Mapping[str, Any] | None, labels: Mapping[str, str]) -> str | None:
    """The walking model and each of its rules with its value, in words (``None``: not recorded)."""
    if not model:
        return None
    older = model.get("name") == "older"
    rules = []
    if older:
        rules.append(labels["m_rule_avoid"] if model.get("avoid_steps") else labels["m_rule_stairs"].format(
            step_s=float(model["step_s"]), tread_m=float(model["tread_m"])))
        rules.append(labels["m_rule_crossings"].format(signals=float(model["wait_signals_s"]),
                                                       marked=float(model["wait_marked_s"]),
                                                       unmarked=float(model["wait_unmarked_s"])))
        rules.append(labels["m_rule_barriers"])
    elif model.get("avoid_steps"):
        rules.append(labels["m_rule_avoid"])
    if model.get("dem"):
        rules.append(labels["m_rule_dem"].format(dem=Path(str(model["dem"])).name,
                                                 grade=float(model.get("max_grade", 0.3))))
    if not rules:
        return labels["m_model_plain"]
    head = labels["m_model_older"] if older else labels["m_model_plain_dem"]
    return head + labels["m_rule_sep"].join(rules) + labels["m_rule_end"]


def _cards(cards: list[str]) -> str:
    """The cards in one grid row of equal columns (two rows when more than six), none stretched alone."""
    n = len(cards) if len(cards) <= 6 else -(-len(cards) // 2)
    return f'<div class="cards" style="--cols:{n}">{"".join(cards)}</div>'


def _card(label: str, figure: str, detail: str, key: str, *, alert: bool = False) -> str:
    cls = "card alert" if alert else "card"
    return (f'<div class="{cls}" data-key="{_esc(key)}"><div class="label">{_esc(label)}</div>'
            f'<div class="figure">{_esc(figure)}</div><div class="detail">{_esc(detail)}</div></div>')


def _compliance_section(table: pd.DataFrame, lang: str, labels: Mapping[str, str],
                        communities: pd.DataFrame | None = None) -> str:
    status = table.loc[table["level"] == "overall", "status"].astype(str)  # targets counted as the console does
    counts = labels["compliance_counts"].format(total=len(status), passed=int((status == "pass").sum()),
                                                failed=int((status == "fail").sum()),
                                                unevaluable=int((status == "unevaluable").sum()), rows=len(table))
    desc_col = next((c for c in (f"description_{lang}", "description_en", "description_zh", "target_id")
                     if c in table.columns), None)
    head = [labels["indicator"], labels["level"], labels["unit"], labels["target"], labels["value"],
            labels["status"], labels["shortfall"], labels["source"]]
    rows = []
    units = unit_names(table, lang, communities) if "unit" in table else pd.Series("", index=table.index)
    for i, r in table.iterrows():
        st = str(r.get("status", ""))
        level = str(r.get("level", ""))
        level_text = labels.get(level, level) if level in _LEVELS else level
        cells = [
            _esc(fmt_text(r.get(desc_col)) if desc_col else ""),
            _esc(level_text[:1].upper() + level_text[1:] if lang == "en" else level_text),
            _esc(fmt_text(units[i])),
            _esc(fmt_text(r.get("target"))),
            f'<span class="num">{_esc(fmt_text(r.get("value")))}</span>',
            f'<span class="status status-{_esc(st)}">{_esc(labels.get(st, st))}</span>',
            _esc(fmt_text(r.get("shortfall"))),
            _esc(fmt_text(r.get("source"))),
        ]
        rows.append(f'<tr class="status-row-{_esc(st)}" data-status="{_esc(st)}">'
                    + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    return (f"<p>{_esc(counts)}</p><table class=compliance><thead><tr>"
            + "".join(f"<th>{_esc(h)}</th>" for h in head) + f"</tr></thead><tbody>{''.join(rows)}</tbody></table>")


def _by_type_section(by_type: pd.DataFrame, lang: str, labels: Mapping[str, str]) -> str:
    label_col = "label_zh" if lang == "zh" else "label_en"
    cols: list[tuple[str, str, Callable[[Any], str], bool]] = [
        (label_col if label_col in by_type else "type", labels["type"], fmt_text, False),
        ("minutes", labels["minutes"], lambda v: fmt_num(v, labels), True),
        ("facilities", labels["n_facilities"], lambda v: fmt_persons(v, labels), True),
        ("population", labels["population"], lambda v: fmt_persons(v, labels), True),
        ("covered", labels["covered"], lambda v: fmt_covered(v, labels), True),
        ("share", labels["share"], lambda v: fmt_share(v, labels), True),
    ]
    return _table(by_type, cols, "by-type", caption=labels["by_type_caption"])


def _map_section(map_html: str, map_png: Any, title: str, labels: Mapping[str, str], *,
                 note_shown: bool = False) -> str:
    """The interactive map on screen, ``map_png`` on paper. With ``note_shown`` (the report states the data note at
    its top) the embedded map leaves out its own copy of the note, which would cover part of the area."""
    if note_shown:
        map_html = map_html.replace("</head>", "<style>.carecircle-note{display:none}</style></head>", 1)
    if map_png is not None:
        data = map_png if isinstance(map_png, bytes) else Path(map_png).read_bytes()
        uri = "data:image/png;base64," + base64.b64encode(data).decode("ascii")
        printed = (f'<figure><img src="{uri}" alt="{_esc(labels["map_png_caption"])}">'
                   f'<figcaption class=meta>{_esc(labels["map_png_caption"])}</figcaption></figure>')
    else:
        printed = f'<p class="note">{_esc(labels["map_note"])}</p>'
    return (f'<div class="map-frame"><p class=meta>{_esc(labels["map_hint"])}</p>'
            f"{srcdoc_iframe(map_html, title=title, height='780px')}</div>"
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
            cols.append((id_col, labels["site_id"], fmt_text, False))
        if "name" in table:
            cols.append(("name", labels["name"], fmt_text, False))
        cols += [("gain", labels["gain"], lambda v: fmt_persons(v, labels), True),
                 ("share_after", labels["share_after"], lambda v: fmt_share(v, labels), True)]
        if "minutes_saved" in table:
            cols.append(("minutes_saved", labels["minutes_saved"], lambda v: fmt_persons(v, labels), True))
        if "_lonlat" in table:
            cols.append(("_lonlat", labels["lonlat"], fmt_text, True))
        parts.append(_table(table, cols, "sites"))
    return "".join(parts)


def _rollup_section(table: pd.DataFrame, level: str, cov: CoverageResult, labels: Mapping[str, str]) -> str:
    thresholds = [threshold_label(t) for t in cov.thresholds_min]
    top = thresholds[-1]
    pop_col = next((c for c in ("elderly", "population", "children") if c in table.columns), None)
    cols: list[tuple[str, str, Callable[[Any], str], bool]] = [
        (level, labels.get(level, level), fmt_text, False),
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
    cols += [(f"share_{lab}{when}", labels["share_m" + when].format(m=lab), lambda v: fmt_share(v, labels), True)
             for lab in thresholds for when in ("_before", "") if f"share_{lab}{when}" in table]
    if f"uncovered_{top}" in table:
        cols.append((f"uncovered_{top}", labels["uncovered_m"].format(m=top), lambda v: fmt_uncovered(v, labels),
                     True))
    if "below_target" in table:
        cols.append(("below_target", labels["below"], lambda v: fmt_bool(v, labels), False))
    return cols


def _communities_section(cov: CoverageResult, lang: str, labels: Mapping[str, str],
                         suggestion: Suggestion | None = None) -> str:
    com = _local_names(pd.DataFrame(cov.communities.drop(columns=cov.communities.geometry.name, errors="ignore")),
                       lang)
    if suggestion is not None:  # the share before the new sites beside the share after
        lab = threshold_label(suggestion.minutes)
        com[f"share_{lab}_before"] = suggestion.before.communities[f"share_{lab}"].to_numpy()
    return _community_table(com, [threshold_label(t) for t in cov.thresholds_min], "elderly", cov.target_share,
                            labels, "communities")


def _community_table(com: pd.DataFrame, thresholds: list[str], pop_col: str, target_share: float | None,
                     labels: Mapping[str, str], css: str) -> str:
    top = thresholds[-1]
    if f"share_{top}" in com:
        com = com.sort_values(f"share_{top}", kind="stable", na_position="first")
    cols: list[tuple[str, str, Callable[[Any], str], bool]] = [
        ("community_id", labels["community_id"], fmt_text, False),
        ("name", labels["name"], fmt_text, False),
    ]
    if "subdistrict" in com and com["subdistrict"].notna().any():
        cols.append(("subdistrict", labels["subdistrict"], fmt_text, False))
    pop_label = labels["children"] if pop_col == "children" else labels["elderly_short"]
    cols += _coverage_columns(com, pop_col, pop_label, thresholds, labels)
    cols = [c for c in cols if c[0] in com.columns]
    caption = labels["communities_caption" if target_share is not None else "communities_caption_plain"].format(
        m=top, target=fmt_share(target_share, labels))
    return _table(com, cols, css, caption=caption, highlight="below_target")


def _local_names(com: pd.DataFrame, lang: str, communities: pd.DataFrame | None = None) -> pd.DataFrame:
    """In English, ``name``/``subdistrict``/``district`` from ``name_en``/``subdistrict_en``/``district_en`` where
    given; a roll-up (no ``_en`` columns of its own) takes them from the ``communities`` it sums."""
    if lang != "en":
        return com
    out = com.copy()
    for col in ("name", "subdistrict", "district"):
        if f"{col}_en" not in out.columns and communities is not None and col != "name" and col in out \
                and {col, f"{col}_en"} <= set(communities.columns):
            pairs = communities[[col, f"{col}_en"]].dropna().drop_duplicates(col)
            out[f"{col}_en"] = out[col].map(dict(zip(pairs[col], pairs[f"{col}_en"], strict=True)))
        if f"{col}_en" in out.columns:
            out[col] = out[f"{col}_en"].where(out[f"{col}_en"].notna(), out[col]) if col in out else out[f"{col}_en"]
    return out


def _childcare_target(profile: Any) -> tuple[float, float | None] | None:
    """``(min_share, minutes)`` of the profile's coverage target for children (childcare), else ``None``."""
    for target in getattr(profile, "targets", None) or ():
        if getattr(target, "kind", None) == "coverage" and (
                getattr(target, "population", None) == "children" or "childcare" in (target.types or ())):
            return float(target.min_share), target.minutes
    return None


def _childcare_section(childcare: CoverageResult, lang: str, labels: Mapping[str, str],
                       target: tuple[float, float | None] | None = None) -> str:
    """The childcare circle; communities judged against the profile's childcare target, else with no verdict (the
    elder-care target is not a childcare one)."""
    summary = childcare.summary or {}
    thresholds = [threshold_label(t) for t in childcare.thresholds_min]
    top = thresholds[-1]
    pop = summary.get("children_population", summary.get("elderly_population"))
    lead = labels["childcare_lead"].format(pop=fmt_persons(pop, labels), m=top,
                                           share=fmt_share(summary.get("share", {}).get(top), labels))
    parts = [f"<p>{_esc(lead)}</p>"]
    cards = [_card(labels["within"].format(m=lab), fmt_share(summary.get("share", {}).get(lab), labels),
                   labels["persons"].format(n=fmt_covered(summary.get("covered", {}).get(lab), labels)),
                   f"childcare-share-{lab}") for lab in thresholds]
    parts.append(_cards(cards))
    com = childcare.communities
    if com is not None and len(com):
        frame = _local_names(pd.DataFrame(com.drop(columns=com.geometry.name, errors="ignore")), lang)
        pop_col = "children" if "children" in frame else "elderly"
        frame = frame.drop(columns="below_target", errors="ignore")
        share, minutes = target if target is not None else (None, None)
        if share is not None:
            lab = threshold_label(minutes) if minutes is not None and f"share_{threshold_label(minutes)}" in frame \
                else top
            frame["below_target"] = pd.to_numeric(frame[f"share_{lab}"], errors="coerce") < share - 1e-9
        parts.append(_community_table(frame, thresholds, pop_col, share, labels, "childcare"))
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

    source = _source_text(network.get("source") or inputs.get("network") or getattr(net, "source", ""), labels)
    items.append((labels["m_network"], labels["m_network_text"].format(
        source=fmt_text(source) or labels["na"],
        nodes=fmt_persons(network.get("nodes", getattr(net, "n_nodes", None)), labels),
        segments=fmt_persons(network.get("segments", getattr(net, "n_edges", None)), labels),
        crs=fmt_text(network.get("crs", getattr(net, "crs", ""))) or labels["na"])))

    speed = float(summary.get("walk_speed_mps", cov.walk_speed_mps))
    model = inputs.pop("walking_model", None)
    plain = not model or (model.get("name") == "plain" and not model.get("dem") and not model.get("avoid_steps"))
    items.append((labels["m_speed"], labels["m_speed_text" if plain else "m_speed_model"].format(
        v=speed, mpm=60 * speed, dist=60 * speed * top, m=threshold_label(top))))
    model_text = _walking_model_text(model, labels)
    if model_text:
        items.append((labels["m_model"], model_text))
    sensitivity = getattr(study, "sensitivity", None)
    if sensitivity is not None:
        speeds = " / ".join(speed_text(v) for v in dict.fromkeys(sensitivity["speed_mps"]))
        items.append((labels["m_sensitivity"], labels["m_sensitivity_text"].format(speeds=speeds,
                                                                                   v=speed_text(speed))))
    metres = getattr(study, "distances_m", None)
    if metres:
        items.append((labels["m_thresholds"], labels["m_distances_text"].format(
            metres=" / ".join(f"{d:g}" for d in metres), minutes=" / ".join(f"{t:.3g}" for t in thresholds),
            m=f"{max(metres):g}", target=fmt_share(cov.target_share, labels))))
    else:
        items.append((labels["m_thresholds"], labels["m_thresholds_text"].format(
            minutes=" / ".join(threshold_label(t) for t in thresholds), m=threshold_label(top),
            target=fmt_share(cov.target_share, labels))))

    demand_text = labels["m_demand_text"].format(demand=_source_text(inputs.get("demand"), labels) or labels["na"])
    methods = _demand_methods(cov.demand)
    if methods:
        zh = lang == "zh"
        counts = ("、" if zh else ", ").join(f"{labels.get(f'dm_{m}', m)} {n}" for m, n in methods.items())
        demand_text += " " + labels["m_demand_methods"].format(counts=counts)
        demand_text += " " + ("；" if zh else "; ").join(labels[f"m_method_{m}"] for m in methods
                                                          if f"m_method_{m}" in labels) + ("。" if zh else ".")
    items.append((labels["m_demand"], demand_text))

    snap = labels["m_snap_text"]
    max_snap = summary.get("max_snap_m", inputs.get("max_snap_m"))
    if not is_missing(max_snap):
        snap += labels["m_snap_limit"].format(max_snap=float(max_snap))
    if "off_network_points" in summary:
        snap += labels["m_snap_off"].format(points=fmt_persons(summary.get("off_network_points"), labels),
                                            pop=fmt_persons(summary.get("off_network_population"), labels),
                                            unreachable=fmt_persons(summary.get("unreachable_population"), labels))
    items.append((labels["m_snap"], snap))
    items.append((labels["m_isochrones"], labels["m_isochrones_text"]))

    files = [(k, v) for k, v in inputs.items() if k not in ("network",) and not is_missing(v) and v != ""]
    if files:
        colon, sep = ("：", "；") if lang == "zh" else (": ", "; ")
        listed = sep.join(f"{labels.get(f'{k}_input', k)}{colon}{_source_text(v, labels)}" for k, v in files)
        items.append((labels["m_inputs"], listed))
    if profile is not None:
        items.append((labels["m_standard"], _profile_name(study, profile, lang)))
    note = getattr(study, "note", None)
    if note:
        items.append((labels["m_note"], note))
    items.append(("OpenStreetMap", labels["m_attribution"]))
    return '<dl class="method">' + "".join(f"<dt>{_esc(k)}</dt><dd>{_esc(v)}</dd>" for k, v in items) + "</dl>"


_LEVELS = ("overall", "community", "subdistrict", "district", "township", "village")
_SOURCES = (("OpenStreetMap file ", "m_osm_file"), ("placed inside communities (", "m_placed"))


def _source_text(value: Any, labels: Mapping[str, str]) -> str:
    """An input as the reader needs it: a file by its name (the bundled demo's marked so, not a path into
    site-packages), the pipeline's own phrases ("OpenStreetMap file …") in the report's language."""
    text = fmt_text(value)
    for prefix, key in _SOURCES:
        if text.startswith(prefix):
            name = text[len(prefix):].rstrip(")")
            return labels[key].format(name=labels.get(f"dm_{name}", name) if key == "m_placed" else name)
    if not text or ("/" not in text and "\\" not in text):
        return text
    path = Path(text)
    try:
        demo = path.resolve().is_relative_to(default_data_dir().resolve())
    except (OSError, ValueError):
        demo = False
    return labels["m_demo_file"].format(name=path.name) if demo else path.name


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
        return fmt_text((getattr(study, "inputs", None) or {}).get("standard"))
    name = None
    for attr in (f"name_{lang}", "name", "title"):
        name = getattr(profile, attr, None)
        if name:
            break
    pid = getattr(profile, "id", None)
    return f"{name} ({pid})" if name and pid and name != pid else str(name or pid or profile)


# --- the map ----------------------------------------------------------------------------------------


def _map_document(study: StudyResult, suggestion: Suggestion | None, *, lang: str) -> str:
    """The self-contained map document of the study, drawn from the result objects (with the suggested sites,
    their isochrones and the coverage curve when a suggestion is given)."""
    note = getattr(study, "note", None)
    access = getattr(study, "accessibility", None)
    if suggestion is None:
        return map_document(coverage_map(study.coverage, study.isochrones, lang=lang, note=note,
                                         accessibility=access,
                                         walking_model=(getattr(study, "inputs", None) or {}).get("walking_model"),
                                         walking_features=getattr(study, "walking_features", None),
                                         distances_m=getattr(study, "distances_m", None)))
    return map_document(coverage_map(suggestion.after, None, lang=lang, note=note, suggested=suggestion.sites,
                                     suggested_isochrones=suggestion.isochrones, curve=suggestion.curve,
                                     before=suggestion.before))


def _doc_title(doc: str) -> str:
    """The ``<title>`` of an HTML document, or "map"."""
    found = re.search(r"<title>(.*?)</title>", doc, flags=re.IGNORECASE | re.DOTALL)
    return html.unescape(found.group(1).strip()) if found else "map"


_ACCESS_CSS_MARK = "/* accessibility section:"


@functools.cache
def _stylesheet(accessibility: bool = False) -> str:
    """The report's CSS (``report.css``, shipped beside this module), read once; the rules of the accessibility
    section (the file's last part) only when the report has it."""
    css = resources.files("carecircle.outputs").joinpath("report.css").read_text(encoding="utf-8")
    base, _mark, access = css.partition(_ACCESS_CSS_MARK)
    return base + access.partition("\n")[2] if accessibility else base


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


def _esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _num(value: Any) -> float:
    return 0.0 if is_missing(value) else float(value)
