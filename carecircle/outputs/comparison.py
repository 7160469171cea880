"""Writing a baseline-versus-plan comparison: its tables, summary and map, all files or none."""

from __future__ import annotations

import base64
import functools
import html
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from carecircle.errors import InputError
from carecircle.formats import fmt_covered, fmt_text, is_missing, person_flows
from carecircle.outputs.export import write_all, write_csv, write_json
from carecircle.outputs.i18n import (
    COMPARISON_HEADERS_ZH,
    COMPARISON_REPORT_LABELS,
    COMPARISON_SUFFIX_ZH,
    COMPLIANCE_STATUS_ZH,
    CONSOLE_LABELS,
    FACILITY_CHANGE_ZH,
    LANGUAGES,
    TARGET_CHANGE_ZH,
)
from carecircle.outputs.maps import comparison_map, save_map
from carecircle.outputs.staticmap_compare import comparison_map_bytes
from carecircle.outputs.tables import localise, unit_names
from carecircle.plan.compare import Comparison
from carecircle.version import __version__

#: Comparison files, in the order a reader wants them (subdistricts.csv, districts.csv and compliance.csv are
#: written when available).
COMPARISON_FILES = ("report.html", "map.html", "map.png", "summary.json", "headline.csv", "communities.csv",
                    "communities_change.csv", "facilities_changed.csv", "newly_covered.csv", "no_longer_covered.csv")


def write_comparison(cmp: Comparison, out_dir: str | os.PathLike, *, lang: str = "en",
                     title: str | None = None) -> dict[str, Path]:
    """Write a comparison into ``out_dir``, all files or none.

    Files: ``report.html`` (the coverage per threshold side by side with the change in percentage points, the
    standards targets that flip, the communities that now meet or miss the target, the facility changes and the
    map), ``map.html`` (both studies on one map: isochrones of each, newly covered and no longer covered
    elderly, added / removed / changed facilities, communities coloured by the change in coverage), ``map.png``
    (the same on a static map, for documents: :func:`carecircle.outputs.staticmap_compare.comparison_map_bytes`),
    ``summary.json`` (headline per threshold, communities and compliance rows that changed, facility changes),
    ``headline.csv``, ``communities.csv`` (side by side with differences), ``communities_change.csv``
    (differences only), ``subdistricts.csv`` / ``districts.csv`` (when the studies have them),
    ``compliance.csv`` (both statuses, ``changed``; when both checked a standard), ``accessibility.csv``
    (average, median, Gini, share below the level … in both, when both measured it), ``facilities_changed.csv``,
    ``newly_covered.csv`` and ``no_longer_covered.csv`` (demand points, with lon/lat). Headers are Chinese
    with ``lang="zh"``.

    Returns
    -------
    dict mapping each file name to its final path.
    """
    if lang not in LANGUAGES:
        raise InputError(f"language {lang!r} is not supported; use zh or en.")
    summary = {"carecircle_version": __version__, **cmp.summary()}
    names = {"base": cmp.base_name, "plan": cmp.plan_name}
    tables: dict[str, tuple[pd.DataFrame, bool]] = {
        "headline.csv": (cmp.headline, False),
        "communities.csv": (cmp.communities, False),
        "communities_change.csv": (cmp.communities_change, False),
    }
    for level, table in cmp.rollups.items():
        tables[f"{level}s.csv"] = (table, False)
    if cmp.compliance is not None:
        tables["compliance.csv"] = (cmp.compliance, False)
    if cmp.accessibility is not None:
        tables["accessibility.csv"] = (cmp.accessibility, False)
    tables["facilities_changed.csv"] = (cmp.facilities, True)
    tables["newly_covered.csv"] = (cmp.newly_covered, True)
    tables["no_longer_covered.csv"] = (cmp.no_longer_covered, True)

    the_png = functools.cache(lambda: comparison_map_bytes(cmp, lang=lang, title=title))  # drawn once, used twice
    writers = {
        "report.html": lambda path: path.write_text(comparison_report(cmp, lang=lang, title=title,
                                                                      map_png=the_png()), encoding="utf-8"),
        "map.html": lambda path: save_map(comparison_map(cmp, lang=lang, title=title), path),
        "map.png": lambda path: path.write_bytes(the_png()),
        "summary.json": lambda path: write_json(summary, path),
    }
    for name, (table, lonlat) in tables.items():
        writers[name] = lambda path, t=table, ll=lonlat: _table(t, path, lang=lang, names=names, with_lonlat=ll)
    return write_all(out_dir, writers)


def _table(df: pd.DataFrame, path: Path, *, lang: str, names: Mapping[str, str], with_lonlat: bool) -> None:
    if lang == "zh":  # comparison columns here; the study tables' own columns and types in export.write_csv
        df = df.copy()
        for col, mapping in (("target_change", TARGET_CHANGE_ZH), ("change", FACILITY_CHANGE_ZH),
                             ("status_base", COMPLIANCE_STATUS_ZH), ("status_plan", COMPLIANCE_STATUS_ZH)):
            if col in df:
                df[col] = df[col].map(lambda v, m=mapping: m.get(v, v))
        df = df.rename(columns=lambda c: _header_zh(str(c), names))
    write_csv(df, path, with_lonlat=with_lonlat, lang=lang)


def _header_zh(column: str, names: Mapping[str, str]) -> str:
    """Chinese header of a comparison column: the study table's header plus （现状）/（规划）/（变化）.

    Columns that are not comparison columns come back unchanged (``export.write_csv`` translates them).
    """
    if column in COMPARISON_HEADERS_ZH:
        return COMPARISON_HEADERS_ZH[column]
    stem, _, suffix = column.rpartition("_")
    if stem and suffix in COMPARISON_SUFFIX_ZH:
        head = COMPARISON_HEADERS_ZH.get(stem) or str(localise(pd.DataFrame(columns=[stem]), "zh").columns[0])
        return head + COMPARISON_SUFFIX_ZH[suffix].format(**names)
    kind, _, minutes = column.partition("_")
    if kind in ("newly", "lost") and minutes.replace(".", "").isdigit():
        return f"{minutes}分钟内{'新增覆盖' if kind == 'newly' else '失去覆盖'}"
    return column


def share_texts(shares: Sequence) -> list[str]:
    """Shares as percentages with one decimal, or more (up to four) where one decimal would show a share below
    100% as 100.0%, one above 0 as 0.0%, or two different shares alike ("99.97%", never "100.0%")."""
    values = [None if s is None or s != s else float(s) for s in shares]
    known = [v for v in values if v is not None]
    for places in range(1, 5):
        texts = {v: f"{v * 100:.{places}f}%" for v in known}
        full, zero = f"{100:.{places}f}%", f"{0:.{places}f}%"
        clash = any((v < 1 and t == full) or (v > 0 and t == zero) for v, t in texts.items())
        if not clash and len(set(texts.values())) == len({round(v, 6) for v in known}):
            break
    return ["n/a" if v is None else f"{v * 100:.{places}f}%" for v in values]


def flip_order(flips: pd.DataFrame) -> pd.DataFrame:
    """Flipped compliance rows study-wide first, then district, subdistrict, community; by target within each."""
    order = {"overall": 0, "district": 1, "subdistrict": 2, "community": 3}
    rank = flips["level"].map(order).fillna(len(order))
    return flips.iloc[sorted(range(len(flips)), key=lambda i: (rank.iloc[i], str(flips["target_id"].iloc[i])))]


def _persons(x: float) -> str:
    """Whole persons covered, as the console and every other output count them (:func:`fmt_covered`)."""
    return fmt_covered(x, {"na": ""})


_CSS = """body{font-family:system-ui,"Noto Sans CJK SC","WenQuanYi Zen Hei",sans-serif;margin:2rem auto;max-width:
60rem;padding:0 1rem;color:#222}table{border-collapse:collapse;margin:.5rem 0 1.5rem}th,td{border-bottom:1px solid
#ddd;padding:.3rem .6rem;text-align:left;vertical-align:top}td.n,th.n{text-align:right;font-variant-numeric:
tabular-nums}td.u{white-space:nowrap}.up{color:#1a7f37}.down{color:#b42318}
iframe{width:100%;height:42rem;border:1px solid #ccc}img.print-map{display:none;max-width:100%}
td.n{white-space:nowrap}@media print{iframe{display:none}img.print-map{display:block;break-inside:avoid}
h2{break-after:avoid}tr{break-inside:avoid}}"""


def comparison_report(cmp: Comparison, *, lang: str = "en", title: str | None = None,
                      map_png: bytes | None = None) -> str:
    """The comparison as one HTML page a planner reads: coverage per threshold (base, plan, change in percentage
    points, people), the standards targets that flip, communities now meeting or missing the target, the facility
    changes, and the comparison map (``map.html`` beside it; in print, ``map_png``, the static map, instead)."""
    R, C = COMPARISON_REPORT_LABELS[lang], CONSOLE_LABELS[lang]
    e = html.escape
    metres = dict(zip(cmp.plan.coverage.thresholds_min, cmp.plan.distances_m or (), strict=False))

    def within(minutes: float) -> str:  # "10 min", or "500 m" when the thresholds were given as distances
        if minutes in metres:
            return C["within_m"].format(m=f"{metres[minutes]:g}").strip()
        return C["within_min"].format(m=f"{minutes:g}").strip()

    names = {"base": cmp.base_name, "plan": cmp.plan_name}
    heading = title or R["title"].format(**names)
    out = [f"<!doctype html><html lang=\"{lang}\"><head><meta charset=\"utf-8\"><title>{e(heading)}</title>"
           f"<style>{_CSS}</style></head><body><h1>{e(heading)}</h1>", f"<h2>{e(R['coverage'])}</h2><table><tr>"]
    cols = [c[:1].upper() + c[1:] for c in C["cmp_cols"]]  # the console's columns, as a table's headers
    out.append("".join(f"<th{'' if i == 0 else ' class=n'}>{e(c)}</th>" for i, c in enumerate(cols)) + "</tr>")
    for _, r in cmp.headline.iterrows():
        base_t, plan_t = share_texts([r["share_base"], r["share_plan"]])
        change = (r["share_plan"] - r["share_base"]) * 100
        cls = "up" if change > 0.05 else "down" if change < -0.05 else ""
        newly, lost = person_flows(r["covered_base"], r["covered_plan"], r["newly_covered"], r["no_longer_covered"])
        cells = [within(float(r["minutes"])), base_t, plan_t, C["pp"].format(v=change),
                 f"{_persons(r['covered_base'])} → {_persons(r['covered_plan'])}", f"{newly:,}", f"{lost:,}"]
        attrs = [""] + [' class="n"'] * (len(cells) - 1)
        attrs[3] = f' class="n {cls}"'
        out.append("<tr>" + "".join(f"<td{a}>{e(c)}</td>" for a, c in zip(attrs, cells, strict=True))
                   + "</tr>")
    out.append("</table>")
    flips = cmp.compliance_flips
    out.append(f"<h2>{e(R['flips'])}</h2>")
    if flips is None or not len(flips):
        out.append(f"<p>{e(R['no_flips'])}</p>")
    else:
        desc = "description_zh" if lang == "zh" else "description_en"
        out.append(f"<table><tr><th>{e(R['target'])}</th><th>{e(R['unit'])}</th><th>{e(cmp.base_name)}</th>"
                   f"<th>{e(cmp.plan_name)}</th><th>{e(R['description'])}</th></tr>")
        flips = flip_order(flips)
        units = unit_names(flips, lang, cmp.plan.coverage.communities)
        for i, r in flips.iterrows():
            unit = C["unit_overall"] if r["level"] == "overall" else str(units[i])
            out.append(f"<tr><td>{e(str(r['target_id']))}</td><td class=u>{e(unit)}</td>"
                       f"<td>{e(C.get('status_' + str(r['status_base']), str(r['status_base'])))}</td>"
                       f"<td>{e(C.get('status_' + str(r['status_plan']), str(r['status_plan'])))}</td>"
                       f"<td>{e(str(r[desc]))}</td></tr>")
        out.append("</table>")
    summary = cmp.summary()
    out.append(f"<h2>{e(R['communities'].format(target=within(float(summary['threshold_for_targets']))))}</h2><ul>")
    for key, label in (("communities_now_meeting_target", "now_meet"), ("communities_now_below_target", "now_below")):
        ids = summary.get(key) or []
        out.append(f"<li>{e(R[label])}{e(R['colon'])}{e(C['list_sep'].join(map(str, ids)) or R['none'])}</li>")
    out.append("</ul>")
    fac = cmp.facilities
    if len(fac):
        details = ["" if is_missing(d) else str(d) for d in fac.get("details", pd.Series([None] * len(fac)))]
        shown = any(details)  # a column of empty cells only when something was changed in place
        out.append(f"<h2>{e(R['facilities'])}</h2><table><tr><th>{e(R['facility'])}</th><th>{e(R['name'])}</th>"
                   f"<th>{e(R['change'])}</th>" + (f"<th>{e(R['details'])}</th>" if shown else "") + "</tr>")
        for (_, r), detail in zip(fac.iterrows(), details, strict=True):
            out.append(f"<tr><td>{e(str(r['facility_id']))}</td><td>{e(fmt_text(r.get('name')))}</td>"
                       f"<td>{e(R.get(str(r['change']), str(r['change'])))}</td>"
                       + (f"<td>{e(detail)}</td>" if shown else "") + "</tr>")
        out.append("</table>")
    png = "" if map_png is None else (f'<img class="print-map" alt="{e(R["map"])}" '
                                      f'src="data:image/png;base64,{base64.b64encode(map_png).decode("ascii")}">')
    out.append(f"<h2>{e(R['map'])}</h2><iframe src=\"map.html\" title=\"{e(R['map'])}\"></iframe>{png}"
               f"<p><a href=\"map.html\">{e(R['open_map'])}</a>. {e(R['files'])}</p></body></html>")
    return "\n".join(out)
