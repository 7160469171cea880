"""Writing a baseline-versus-plan comparison: its tables, summary and map, all files or none."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from carecircle.errors import InputError
from carecircle.outputs.export import write_all, write_csv, write_json
from carecircle.outputs.i18n import (
    COMPARISON_HEADERS_ZH,
    COMPARISON_SUFFIX_ZH,
    COMPLIANCE_STATUS_ZH,
    FACILITY_CHANGE_ZH,
    LANGUAGES,
    TARGET_CHANGE_ZH,
)
from carecircle.outputs.maps import comparison_map, save_map
from carecircle.outputs.tables import localise
from carecircle.plan.compare import Comparison
from carecircle.version import __version__

#: Comparison files, in the order a reader wants them (subdistricts.csv, districts.csv and compliance.csv are
#: written when available).
COMPARISON_FILES = ("map.html", "summary.json", "headline.csv", "communities.csv", "communities_change.csv",
                    "facilities_changed.csv", "newly_covered.csv", "no_longer_covered.csv")


def write_comparison(cmp: Comparison, out_dir: str | os.PathLike, *, lang: str = "en",
                     title: str | None = None) -> dict[str, Path]:
    """Write a comparison into ``out_dir``, all files or none.

    Files: ``map.html`` (both studies on one map: isochrones of each, newly covered and no longer covered
    elderly, added / removed / changed facilities, communities coloured by the change in coverage),
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

    writers = {
        "map.html": lambda path: save_map(comparison_map(cmp, lang=lang, title=title), path),
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
