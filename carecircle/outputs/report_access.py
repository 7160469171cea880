"""The report's accessibility section (:func:`access_section`), for studies run with capacity-aware accessibility
(:mod:`carecircle.core.access`): the method in one paragraph, headline figures, the Lorenz curve (plain SVG), the
need-and-supply table of the communities and the ranking of subdistricts and districts.

:mod:`carecircle.outputs.report` places it; everything here renders what the
:class:`~carecircle.core.access.AccessibilityResult` holds, and escapes every text it writes.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from carecircle.core.access import MISMATCH_CLASSES, AccessibilityResult
from carecircle.core.coverage import threshold_label
from carecircle.formats import fmt_persons, fmt_share, fmt_text, is_missing
from carecircle.io.facility_types import type_label
from carecircle.outputs.i18n import ACCESS_TERMS, access_term, in_language

__all__ = ["access_section", "fmt_access", "for_population", "lorenz_svg"]

_CURVE_COLOR = "#08519c"
_EQUAL_COLOR = "#8c8c8c"


def fmt_access(value: Any, labels: Mapping[str, str]) -> str:
    """An accessibility score (supply per 1,000 elderly) with one decimal and thousands separators."""
    if is_missing(value) or not np.isfinite(float(value)):
        return labels["na"]
    return f"{float(value):,.1f}"


def access_section(access: AccessibilityResult, *, communities: pd.DataFrame | None,
                   thresholds_min: Sequence[float], lang: str, labels: Mapping[str, str]) -> str:
    """The accessibility section's HTML (without its heading).

    Parameters
    ----------
    access : AccessibilityResult
        ``StudyResult.accessibility``.
    communities : pandas.DataFrame, optional
        The study's communities, for the names to show (``community_id``, ``name``, ``subdistrict``, and in English
        ``name_en``, ``subdistrict_en``, ``district_en`` where given); the scores come from ``access.communities``.
    thresholds_min : sequence of float
        The study's walking times: the bounds of the enhanced 2SFCA's bands.
    lang : {"en", "zh"}
    labels : mapping
        ``REPORT_LABELS[lang]``.
    """
    labels = for_population(labels, getattr(access, "population", "elderly"), lang)
    terms = for_population(in_language(ACCESS_TERMS, lang), getattr(access, "population", "elderly"), lang)
    summary = access.summary
    supply = access_term(terms, "supply", summary.get("supply_col", access.supply_col))
    level = fmt_access(summary.get("level", access.level), labels)
    source = access_term(terms, "level", summary.get("level_source", access.level_source))
    parts = [f"<p class=access-method>{_esc(_method_text(access, thresholds_min, lang, labels, terms))}</p>"]
    per = labels["access_per"].format(supply=supply)
    cards = [
        _card(labels["access_mean"], fmt_access(summary.get("mean"), labels), per, "access-mean"),
        _card(labels["access_median"], fmt_access(summary.get("median"), labels), labels["access_median_detail"],
              "access-median"),
        _card(labels["access_gini"], _fmt_gini(summary.get("gini"), labels), labels["access_gini_detail"],
              "access-gini"),
        _card(labels["access_share_below"], fmt_share(summary.get("share_below_level"), labels),
              labels["access_below_detail"].format(n=fmt_persons(summary.get("elderly_below_level"), labels),
                                                   level=level, source=source),
              "access-below"),
        _card(labels["access_none"], fmt_persons(summary.get("elderly_no_access"), labels),
              labels["access_none_detail"], "access-none", alert=_num(summary.get("elderly_no_access")) > 0),
    ]
    parts.append(f'<div class="cards">{"".join(cards)}</div>')
    unreached = [fmt_text(f) for f in summary.get("facilities_unreached") or []]
    if unreached:
        parts.append(f'<p class="note">{_esc(labels["access_unreached"].format(ids=", ".join(unreached)))}</p>')
    parts.append(lorenz_svg(access.lorenz, summary.get("gini"), labels))
    if len(access.communities):
        parts.append(f"<h3>{_esc(labels['access_mismatch_heading'])}</h3>")
        parts.append(_mismatch_table(access.communities, communities, level, source, lang, labels, terms))
    for unit in ("subdistrict", "district"):
        table = access.rollups.get(unit)
        # A ranking of one district says nothing the headline does not.
        if table is not None and len(table) > (1 if unit == "district" else 0) and unit in table.columns:
            parts.append(f"<h3>{_esc(labels[f'access_ranking_{unit}'])}</h3>")
            parts.append(_ranking_table(_local_units(table, unit, communities, lang), unit, labels))
    return "".join(parts)


#: How the labels written for the elderly name children 0–3 instead (longest phrases first).
_CHILDREN = {"en": (("the elderly", "children aged 0–3"), ("elderly", "children aged 0–3")),
             "zh": (("老年人口", "婴幼儿"), ("老年人", "婴幼儿"), ("老人", "婴幼儿"))}


def for_population(labels: Mapping[str, str], population: str, lang: str) -> Mapping[str, str]:
    """``labels`` as they read for ``population``: unchanged for the elderly; for ``"children"`` (the childcare
    circle's accessibility) every mention of the elderly names children aged 0–3 instead.

    >>> for_population({"x": "{supply} per 1,000 elderly"}, "children", "en")["x"]
    '{supply} per 1,000 children aged 0–3'
    >>> for_population({"x": "每千名老人可达{supply}"}, "children", "zh")["x"]
    '每千名婴幼儿可达{supply}'
    """
    if population != "children":
        return labels
    out = {}
    for key, text in labels.items():
        if isinstance(text, str):
            for old, new in _CHILDREN.get(lang, _CHILDREN["en"]):
                text = text.replace(old, new)
        out[key] = text
    return out


# --- parts ------------------------------------------------------------------------------------------------------


def _method_text(access: AccessibilityResult, thresholds_min: Sequence[float], lang: str,
                 labels: Mapping[str, str], terms: Mapping[str, str]) -> str:
    summary = access.summary
    method = summary.get("method", access.method)
    supply_col = summary.get("supply_col", access.supply_col)
    catchments = labels["access_list_sep"].join(
        labels["access_catchment"].format(type=type_label(str(code), lang), m=threshold_label(float(minutes)))
        for code, minutes in (summary.get("catchment_min") or {}).items())
    decay = labels.get(f"access_decay_{method}", "")
    if method == "e2sfca":
        weights = list(summary.get("band_weights") or [])
        bounds = [0.0, *sorted(float(t) for t in thresholds_min)]
        bands = [labels["access_band"].format(w=f"{float(w):.2f}", a=threshold_label(bounds[i]),
                                              b=threshold_label(bounds[i + 1]))
                 for i, w in enumerate(weights) if i + 1 < len(bounds)]
        decay = decay.format(bands=labels["access_list_sep"].join(bands) or labels["na"])
    return labels["access_lead"].format(method=access_term(terms, "method", method),
                                        supply=access_term(terms, "supply", supply_col),
                                        supply_col=fmt_text(supply_col), catchments=catchments or labels["na"],
                                        decay=decay)


def lorenz_svg(lorenz: pd.DataFrame, gini: Any, labels: Mapping[str, str]) -> str:
    """The Lorenz curve of accessibility (``population_share``, ``access_share``, both 0..1) as a captioned
    ``<figure>`` of plain SVG, with the equality diagonal; the empty string without finite points."""
    x = pd.to_numeric(lorenz.get("population_share"), errors="coerce").to_numpy(dtype=float)
    y = pd.to_numeric(lorenz.get("access_share"), errors="coerce").to_numpy(dtype=float)
    ok = np.isfinite(x) & np.isfinite(y)
    if not ok.any():
        return ""
    x, y = np.clip(x[ok], 0, 1), np.clip(y[ok], 0, 1)
    if x[0] > 0 or y[0] > 0:
        x, y = np.r_[0.0, x], np.r_[0.0, y]
    width, height, left, right, top, bottom = 460, 380, 64, 20, 16, 58
    pw, ph = width - left - right, height - top - bottom

    def sx(v: float) -> float:
        return left + v * pw

    def sy(v: float) -> float:
        return top + (1 - v) * ph

    parts = []
    for f in (0.0, 0.25, 0.5, 0.75, 1.0):
        parts.append(f'<line x1="{sx(f):.1f}" y1="{top}" x2="{sx(f):.1f}" y2="{top + ph}" stroke="#e3e3e3"/>')
        parts.append(f'<line x1="{left}" y1="{sy(f):.1f}" x2="{left + pw}" y2="{sy(f):.1f}" stroke="#e3e3e3"/>')
        parts.append(f'<text x="{sx(f):.1f}" y="{top + ph + 16}" text-anchor="middle" font-size="11" '
                     f'fill="#555">{100 * f:.0f}%</text>')
        parts.append(f'<text x="{left - 6}" y="{sy(f) + 4:.1f}" text-anchor="end" font-size="11" '
                     f'fill="#555">{100 * f:.0f}%</text>')
    parts.append(f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="none" stroke="#888"/>')
    area = " ".join(f"{sx(a):.1f},{sy(b):.1f}" for a, b in zip(x, y, strict=True))
    parts.append(f'<polygon class="lorenz-gap" points="{sx(0):.1f},{sy(0):.1f} {sx(1):.1f},{sy(1):.1f} {area}" '
                 f'fill="{_CURVE_COLOR}" fill-opacity="0.10" stroke="none"/>')
    parts.append(f'<line class="lorenz-equality" x1="{sx(0):.1f}" y1="{sy(0):.1f}" x2="{sx(1):.1f}" '
                 f'y2="{sy(1):.1f}" stroke="{_EQUAL_COLOR}" stroke-width="1.5" stroke-dasharray="6 4"/>')
    parts.append(f'<text x="{sx(0.5) - 6:.1f}" y="{sy(0.5) - 8:.1f}" text-anchor="end" font-size="11" '
                 f'fill="{_EQUAL_COLOR}" transform="rotate(-{np.degrees(np.arctan2(ph, pw)):.1f} '
                 f'{sx(0.5):.1f} {sy(0.5):.1f})">{_esc(labels["lorenz_equal"])}</text>')
    parts.append(f'<polyline class="lorenz-curve" points="{area}" fill="none" stroke="{_CURVE_COLOR}" '
                 'stroke-width="2.2" stroke-linejoin="round"/>')
    parts.append(f'<text x="{left + pw / 2:.1f}" y="{height - 22}" text-anchor="middle" font-size="12" '
                 f'fill="#222">{_esc(labels["lorenz_x"])}</text>')
    parts.append(f'<text transform="translate(16,{top + ph / 2:.1f}) rotate(-90)" text-anchor="middle" '
                 f'font-size="12" fill="#222">{_esc(labels["lorenz_y"])}</text>')
    caption = _esc(labels["lorenz_caption"].format(gini=_fmt_gini(gini, labels)))
    return (f'<figure class="chart lorenz"><svg class="lorenz-chart" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" role="img" aria-label="{caption}">{"".join(parts)}</svg>'
            f"<figcaption class=meta>{caption}</figcaption></figure>")


def _mismatch_table(scores: pd.DataFrame, communities: pd.DataFrame | None, level: str, source: str, lang: str,
                    labels: Mapping[str, str], terms: Mapping[str, str]) -> str:
    """Communities with their elderly, score and need/supply class: many elderly and little supply first, then by
    class and score (lowest first)."""
    table = scores.copy()
    table["community_id"] = table["community_id"].astype(str)
    names = [c for c in ("name", "subdistrict") if communities is not None and c in communities.columns]
    if names:
        named = pd.DataFrame(communities).assign(community_id=communities["community_id"].astype(str))
        if lang == "en":
            for col in names:
                if f"{col}_en" in named:
                    named[col] = named[f"{col}_en"].where(named[f"{col}_en"].notna(), named[col])
        table = table.merge(named[["community_id", *names]].drop_duplicates("community_id"), on="community_id",
                            how="left")
    order = {c: i for i, c in enumerate(MISMATCH_CLASSES)}
    table = table.assign(_order=table["mismatch"].map(order).fillna(len(order)))
    table = table.sort_values(["_order", "access"], kind="stable", na_position="first")
    show_sub = "subdistrict" in table and table["subdistrict"].notna().any()
    head = [(labels["community_id"], False), (labels["name"], False)]
    head += [(labels["subdistrict"], False)] if show_sub else []
    head += [(labels["elderly_short"], True), (labels["access_col"], True), (labels["access_below_col"], False),
             (labels["access_class"], False)]
    rows = []
    for _, r in table.iterrows():
        cls = str(r["mismatch"])
        cells = [_esc(fmt_text(r["community_id"])), _esc(fmt_text(r.get("name")))]
        cells += [_esc(fmt_text(r.get("subdistrict")))] if show_sub else []
        cells += [_esc(fmt_persons(r["elderly"], labels)), _esc(fmt_access(r["access"], labels)),
                  _esc(labels["yes"] if bool(r["below_level"]) else labels["no"]),
                  f'<span class="mismatch mismatch-{_esc(cls)}">{_esc(access_term(terms, "class", cls))}</span>']
        row_cls = ' class="below"' if bool(r["below_level"]) else ""
        rows.append(f'<tr{row_cls} data-mismatch="{_esc(cls)}">' + "".join(
            f'<td class="num">{c}</td>' if num else f"<td>{c}</td>" for c, (_, num) in zip(cells, head, strict=True))
                    + "</tr>")
    caption = labels["access_mismatch_caption"].format(level=level, source=source)
    return _table_html("access-mismatch", head, rows, caption)


def _local_units(table: pd.DataFrame, unit: str, communities: pd.DataFrame | None, lang: str) -> pd.DataFrame:
    """In English, the subdistrict/district names from the communities' ``<unit>_en`` where they give them."""
    if lang != "en" or communities is None or unit not in communities or f"{unit}_en" not in communities:
        return table
    pairs = communities[[unit, f"{unit}_en"]].dropna().drop_duplicates(unit)
    english = dict(zip(pairs[unit], pairs[f"{unit}_en"], strict=True))
    return table.assign(**{unit: [english.get(u, u) for u in table[unit]]})


def _ranking_table(table: pd.DataFrame, unit: str, labels: Mapping[str, str]) -> str:
    table = table.sort_values("rank", kind="stable")
    head = [(labels["access_rank"], True), (labels[unit], False),
            (labels["elderly_short"], True), (labels["access_col"], True), (labels["access_gini_col"], True),
            (labels["access_share_below_col"], True)]
    rows = []
    for _, r in table.iterrows():
        cells = [_esc(fmt_persons(r["rank"], labels)), _esc(fmt_text(r[unit])), _esc(fmt_persons(r["elderly"], labels)),
                 _esc(fmt_access(r["access"], labels)), _esc(_fmt_gini(r["gini"], labels)),
                 _esc(fmt_share(r["share_below"], labels))]
        rows.append("<tr>" + "".join(f'<td class="num">{c}</td>' if num else f"<td>{c}</td>"
                                     for c, (_, num) in zip(cells, head, strict=True)) + "</tr>")
    caption = labels["access_ranking_caption"].format(level=labels[unit])
    return _table_html(f"access-ranking access-ranking-{unit}", head, rows, caption)


# --- formatting -------------------------------------------------------------------------------------------------


def _table_html(css: str, head: list[tuple[str, bool]], rows: list[str], caption: str) -> str:
    heads = "".join(f'<th class="num">{_esc(h)}</th>' if num else f"<th>{_esc(h)}</th>" for h, num in head)
    return (f'<table class="{_esc(css)}"><caption>{_esc(caption)}</caption><thead><tr>{heads}</tr></thead>'
            f"<tbody>{''.join(rows)}</tbody></table>")


def _card(label: str, figure: str, detail: str, key: str, *, alert: bool = False) -> str:
    cls = "card alert" if alert else "card"
    return (f'<div class="{cls}" data-key="{_esc(key)}"><div class="label">{_esc(label)}</div>'
            f'<div class="figure">{_esc(figure)}</div><div class="detail">{_esc(detail)}</div></div>')


def _fmt_gini(value: Any, labels: Mapping[str, str]) -> str:
    return labels["na"] if is_missing(value) else f"{float(value):.2f}"


def _num(value: Any) -> float:
    return 0.0 if is_missing(value) else float(value)


def _esc(value: Any) -> str:
    return html.escape(str(value), quote=True)
