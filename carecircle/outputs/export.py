"""Write a study's results to a folder, all or nothing.

Every file is first written into a new folder beside the destination; only when all of them are complete
does that folder replace the destination, in one swap (:func:`carecircle.outputs.files.write_folder`). A
failed run leaves the previous results untouched and no half-written file behind; a reader never sees a mix
of two runs.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd
from pyogrio.errors import DataLayerError, DataSourceError

from carecircle.core.coverage import threshold_label
from carecircle.errors import OutputError
from carecircle.io.default_data import localised_note
from carecircle.outputs.files import write_folder
from carecircle.outputs.maps import coverage_map, map_document
from carecircle.outputs.report import write_report
from carecircle.outputs.staticmap import static_map_bytes
from carecircle.outputs.tables import guard_formulas, localise, write_workbook
from carecircle.plan.results import StudyInputs, StudyResult, Suggestion
from carecircle.version import __version__

log = logging.getLogger(__name__)

#: Files every run writes, in the order a reader wants them. Also written when the study has them:
#: ``by_type.csv``, ``subdistricts.csv``, ``districts.csv``, ``childcare.csv``, ``compliance.csv``, ``lorenz.csv``
#: (the Lorenz curve of accessibility, with ``--accessibility``), ``sensitivity.csv`` (coverage per walking speed,
#: with several speeds).
OUTPUT_FILES = ("report.html", "map.html", "map.png", "summary.json", "tables.xlsx", "communities.csv",
                "facilities.csv", "demand.csv", "layers.gpkg")


def study_tables(study: StudyResult) -> dict[str, pd.DataFrame | None]:
    """The tables of a study, keyed as the sheets of :data:`carecircle.outputs.tables.SHEETS` (``None``: not
    available)."""
    cov = study.coverage
    summary = pd.DataFrame({
        "minutes": cov.thresholds_min,
        **({"metres": list(study.distances_m)} if study.distances_m is not None else {}),
        "population": cov.summary["elderly_population"],
        "covered": [cov.summary["covered"][threshold_label(t)] for t in cov.thresholds_min],
        "share": [cov.summary["share"][threshold_label(t)] for t in cov.thresholds_min],
    })
    facilities = cov.facilities
    if study.facilities is not None and len(study.facilities) > len(facilities):
        others = study.facilities[~study.facilities["facility_id"].isin(facilities["facility_id"]).to_numpy()]
        facilities = pd.concat([facilities, others], ignore_index=True)
    childcare = study.childcare.communities if study.childcare is not None else None
    access = study.accessibility
    named = functools.partial(in_metres_columns, study=study)
    return {
        "summary": summary, "by_type": study.by_type, "communities": named(cov.communities),
        "subdistricts": named(study.rollups.get("subdistrict")), "districts": named(study.rollups.get("district")),
        "facilities": named(facilities), "compliance": study.compliance, "childcare": named(childcare),
        "lorenz": access.lorenz if access is not None else None,
        "sensitivity": _sensitivity_table(study),
    }


def in_metres_columns(df: pd.DataFrame | None, study: StudyResult) -> pd.DataFrame | None:
    """``df`` with its per-threshold columns named by distance (``share_300m`` for ``share_5``) when the study's
    thresholds were given in metres; unchanged otherwise."""
    if df is None or study.distances_m is None:
        return df
    names = {threshold_label(t): f"{d:g}m" for t, d in zip(study.coverage.thresholds_min, study.distances_m,
                                                           strict=True)}
    pattern = re.compile(r"^(covered|share|uncovered|served)_([0-9.e+-]+)(_before)?$")

    def rename(column):
        match = pattern.match(str(column))
        if match is None or match.group(2) not in names:
            return column
        return f"{match.group(1)}_{names[match.group(2)]}{match.group(3) or ''}"

    return df.rename(columns=rename)


def _sensitivity_table(study: StudyResult) -> pd.DataFrame | None:
    """The coverage per walking speed, without the metres column when the thresholds are minutes."""
    table = study.sensitivity
    if table is None:
        return None
    return table if study.distances_m is not None else table.drop(columns="metres")


def sensitivity_summary(study: StudyResult) -> dict | None:
    """``summary.json``'s ``sensitivity`` block: per speed, the covered persons and share per threshold, keyed
    by the threshold as the study gave it (minutes, or metres with ``unit`` ``"m"``)."""
    table = study.sensitivity
    if table is None:
        return None
    metres = study.distances_m is not None
    speeds = []
    for speed, rows in table.groupby("speed_mps", sort=False):
        keys = [f"{v:g}" for v in (rows["metres"] if metres else rows["minutes"])]
        minutes = dict(zip(keys, rows["minutes"].round(4).tolist(), strict=True))
        speeds.append({"speed_mps": float(speed), **({"minutes": minutes} if metres else {}),
                       "covered": dict(zip(keys, rows["covered"].tolist(), strict=True)),
                       "share": dict(zip(keys, rows["share"].tolist(), strict=True))})
    return {"main_speed_mps": study.coverage.walk_speed_mps, "unit": "m" if metres else "min",
            "population": float(table["population"].iloc[0]), "speeds": speeds}


def write_outputs(study: StudyResult, out_dir: str | os.PathLike, *, lang: str | None = None,
                  title: str | None = None) -> dict[str, Path]:
    """Write the map, the summary and the tables of ``study`` into ``out_dir``.

    Files: ``map.html`` (self-contained interactive map), ``summary.json`` (headline figures and the inputs
    used), ``tables.xlsx`` (every table, a sheet each), ``communities.csv``, ``facilities.csv``, ``demand.csv``
    (UTF-8 with BOM so Excel reads Chinese), ``layers.gpkg`` (every layer, for GIS), and when available
    ``by_type.csv``, ``subdistricts.csv``, ``districts.csv``, ``childcare.csv``, ``compliance.csv`` and
    ``lorenz.csv``. Table headers are Chinese with ``lang="zh"`` (default: the study's language).

    Returns
    -------
    dict mapping each file name to its final path.
    """
    lang = lang or study.lang
    cov = study.coverage
    kwargs = {"lang": lang, "note": study.note, **({"title": title} if title else {})}
    summary = {"study": study.name, "carecircle_version": __version__, "inputs": study.inputs,
               "note": study.note, **cov.summary}
    if study.inputs.get("walking_model") is not None:
        summary["walking_model"] = study.inputs["walking_model"]
    if study.distances_m is not None:
        summary["distances_m"] = list(study.distances_m)
    if study.sensitivity is not None:
        summary["sensitivity"] = sensitivity_summary(study)
    if study.by_type is not None:
        summary["by_type"] = study.by_type.to_dict("records")
    if study.childcare is not None:
        summary["childcare"] = {k: study.childcare.summary[k] for k in ("covered", "share", "uncovered")}
        summary["childcare"]["children_population"] = study.childcare.summary["elderly_population"]
    if study.accessibility is not None:
        summary["accessibility"] = {**study.accessibility.summary,
                                    "lorenz": study.accessibility.lorenz.round(6).to_dict("list")}
    if study.compliance is not None:
        counts = study.compliance["status"].value_counts()
        summary["compliance"] = {"standard": study.profile.id if study.profile is not None else None,
                                 **{k: int(counts.get(k, 0)) for k in ("pass", "fail", "unevaluable")}}
    tables = study_tables(study)
    # The map and the static map are drawn once, for their own files and for the report, whichever comes first.
    the_map = functools.cache(lambda: map_document(coverage_map(
        cov, study.isochrones, accessibility=_elderly_access(study),
        walking_model=study.inputs.get("walking_model"),
        walking_features=study.walking_features, distances_m=study.distances_m, **kwargs)))
    the_png = functools.cache(lambda: static_map_bytes(study, lang=lang, title=title))
    writers = {
        "map.html": lambda path: path.write_text(the_map(), encoding="utf-8"),
        "map.png": lambda path: path.write_bytes(the_png()),
        "report.html": lambda path: write_report(study, path, lang=lang, title=title, map_html=the_map(),
                                                 map_png=the_png()),
        "summary.json": lambda path: write_json(summary, path),
        "tables.xlsx": lambda path: write_workbook(tables, path, lang=lang),
        "communities.csv": lambda path: write_csv(tables["communities"], path, lang=lang),
        "facilities.csv": lambda path: write_csv(tables["facilities"], path, with_lonlat=True, lang=lang),
        "demand.csv": lambda path: write_csv(in_metres_columns(cov.demand, study), path, with_lonlat=True,
                                             lang=lang),
        "layers.gpkg": lambda path: write_layers(path, communities=tables["communities"],
                                                 facilities=in_metres_columns(cov.facilities, study),
                                                 demand=in_metres_columns(cov.demand, study),
                                                 isochrones=study.isochrones),
    }
    for key in ("by_type", "subdistricts", "districts", "childcare", "compliance", "lorenz", "sensitivity"):
        if tables[key] is not None:
            writers[f"{key}.csv"] = lambda path, df=tables[key]: write_csv(df, path, lang=lang)
    return write_all(out_dir, writers)


def write_suggestion(suggestion: Suggestion, study: StudyInputs, out_dir: str | os.PathLike, *,
                     lang: str = "en", title: str | None = None) -> dict[str, Path]:
    """Write suggested sites: ``sites.csv`` (choice order, gain), ``curve.csv`` (coverage after 0..N sites),
    ``communities.csv`` (share before and after), ``summary.json`` (solver status and gap) and ``map.html``
    (coverage with the suggested sites, shown as facilities of type ``suggested``)."""
    lab = threshold_label(suggestion.minutes)
    before, after, sol = suggestion.before, suggestion.after, suggestion.solution
    com = after.communities.copy()
    if len(com):
        com.insert(com.columns.get_loc(f"share_{lab}"), f"share_{lab}_before",
                   before.communities[f"share_{lab}"].to_numpy())
    summary = {
        "study": study.name, "carecircle_version": __version__, "inputs": study.inputs, "note": study.note,
        "method": suggestion.method, "minutes": suggestion.minutes, "candidates": suggestion.n_candidates,
        "new_sites": len(suggestion.sites),
        "share_before": before.summary["share"][lab], "share_after": after.summary["share"][lab],
        "covered_before": before.summary["covered"][lab], "covered_after": after.summary["covered"][lab],
        "elderly_population": after.summary["elderly_population"],
        "solver": {"method": sol.method, "status": sol.status, "objective": sol.objective, "bound": sol.bound,
                   "gap": sol.gap, "time_s": sol.time_s},
        "sites": suggestion.sites.drop(columns="geometry").astype(object).to_dict("records"),
    }
    if suggestion.accessibility is not None:
        summary["accessibility"] = suggestion.accessibility.astype(object).to_dict("records")
    kwargs = {"lang": lang, "note": localised_note(study.note, lang), **({"title": title} if title else {})}
    as_study = _as_study(study, after, lang, isochrones=suggestion.existing_isochrones)
    # Drawn once, for their own files and for the report, whichever comes first.
    the_map = functools.cache(lambda: map_document(coverage_map(
        after, suggestion.existing_isochrones, suggested=suggestion.sites,
        suggested_isochrones=suggestion.isochrones, curve=suggestion.curve, before=before, **kwargs)))
    the_png = functools.cache(lambda: static_map_bytes(as_study, lang=lang, suggestion=suggestion, title=title))
    return write_all(out_dir, {
        "map.html": lambda path: path.write_text(the_map(), encoding="utf-8"),
        "map.png": lambda path: path.write_bytes(the_png()),
        "report.html": lambda path: write_report(as_study, path, suggestion=suggestion, lang=lang, title=title,
                                                 map_html=the_map(), map_png=the_png()),
        "summary.json": lambda path: write_json(summary, path),
        "sites.csv": lambda path: write_csv(suggestion.sites, path, with_lonlat=True, lang=lang),
        "curve.csv": lambda path: write_csv(suggestion.curve, path, lang=lang),
        "communities.csv": lambda path: write_csv(com, path, lang=lang),
        **({"accessibility.csv": lambda path: write_csv(suggestion.accessibility, path, lang=lang)}
           if suggestion.accessibility is not None else {}),
    })


def _as_study(inputs: StudyInputs, coverage, lang: str, *, isochrones=None) -> StudyResult:
    """A suggestion's "after" coverage as a study, for the report and the static map (with the existing
    facilities' walking areas, ``isochrones``)."""
    return StudyResult(name=inputs.name, network=inputs.network, coverage=coverage, isochrones=isochrones,
                       inputs=inputs.inputs, note=localised_note(inputs.note, lang), facilities=inputs.all_facilities,
                       lang=lang)


#: Names of the files the last run wrote into a folder, so that the next run can remove those it no longer
#: writes (a compliance.csv from an earlier run with a standard must not sit beside a run without one).
MANIFEST = ".carecircle-outputs.json"


def write_all(out_dir, writers: dict) -> dict[str, Path]:
    """Run every writer (``{file name: write(path)}``) and put the files into ``out_dir``, all or nothing.

    The files are written into a new folder beside ``out_dir``, which then replaces it in one swap
    (:func:`carecircle.outputs.files.write_folder`): a reader sees the earlier set or the new one; a failure
    leaves the earlier set as it was (and creates no folder); two runs into one folder take turns. Files an
    earlier carecircle run wrote into ``out_dir`` and this one does not are dropped (they are listed in
    :data:`MANIFEST`); other files in the folder are kept.

    Raises
    ------
    OutputError
        A file cannot be written (the message names it and the cause: no space left, permission denied, ...),
        or the folder cannot be replaced (see ``write_folder``).
    """
    def fill(folder: Path) -> list[str]:
        for name, write in writers.items():
            try:
                write(folder / name)
            except (OSError, DataSourceError, DataLayerError) as exc:
                raise OutputError(f"{Path(out_dir) / name}: cannot write it ({_cause(exc)}); check free space and "
                                  "permissions, or choose another folder with --output.") from exc
        return list(writers)

    written = {p.name: p for p in write_folder(out_dir, fill, manifest=MANIFEST)}
    log.info("export: wrote %d files to %s", len(written), out_dir)
    return written


def _cause(exc: BaseException) -> str:
    """The reason of a failed write in a few words ("No space left on device")."""
    for e in (exc, exc.__cause__):
        if isinstance(e, OSError) and e.strerror and not isinstance(e, OutputError):
            return e.strerror
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__


def write_json(data: dict, path: Path) -> None:
    """``data`` as UTF-8 JSON (Chinese kept readable; NaN/inf as null)."""
    path.write_text(json.dumps(_jsonable(data), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def write_csv(gdf, path: Path, *, with_lonlat: bool = False, lang: str = "en") -> None:
    """A table as UTF-8 CSV with BOM (Excel reads Chinese), headers in ``lang``.

    Floats are rounded to 4 decimals, except ``lon``/``lat`` (with ``with_lonlat``: taken from the geometry),
    which keep 7 (OSM's precision, ~1 cm) so that rows join back to the input. Text that a spreadsheet would run as a
    formula is made inert (:func:`carecircle.outputs.tables.guard_formulas`); a carriage return in text is
    written as a line feed, so that every line break sits inside a quoted cell.
    """
    df = pd.DataFrame(gdf.drop(columns="geometry", errors="ignore"))
    if with_lonlat and len(gdf):
        df["lon"] = gdf.geometry.x.round(7).to_numpy()
        df["lat"] = gdf.geometry.y.round(7).to_numpy()
    floats = df.select_dtypes("float").columns
    coords = [c for c in floats if c in ("lon", "lat")]
    df[coords] = df[coords].round(7)
    df[floats.difference(coords, sort=False)] = df[floats.difference(coords, sort=False)].round(4)
    _one_line_break(guard_formulas(localise(df, lang))).to_csv(path, index=False, encoding="utf-8-sig",
                                                                lineterminator="\n")


def _one_line_break(df: pd.DataFrame) -> pd.DataFrame:
    """Line breaks in text as ``\\n``: the csv writer quotes a cell holding ``\\n`` (the line terminator) but not one
    holding a bare ``\\r``, which a spreadsheet would take as the end of the row (and read what follows, perhaps
    a formula, as a new row)."""
    def fix(value):
        return value.replace("\r\n", "\n").replace("\r", "\n") if isinstance(value, str) and "\r" in value else value

    text = [c for c in df.columns if not pd.api.types.is_numeric_dtype(df[c].dtype)
            and not pd.api.types.is_bool_dtype(df[c].dtype)]
    out = df.copy()
    for c in text:
        out[c] = out[c].map(fix, na_action="ignore")
    return out.rename(columns=fix)


def write_layers(path: Path, **layers) -> None:
    """Write each non-empty GeoDataFrame of ``layers`` into the GeoPackage ``path`` as the layer of its name."""
    for name, gdf in layers.items():
        if gdf is None or len(gdf) == 0:
            continue
        if "facility_id" in gdf:  # mixed None/str ids (merged isochrones) need one type in a GPKG column
            gdf = gdf.assign(facility_id=gdf["facility_id"].astype("string"))
        gdf.to_file(path, layer=name, driver="GPKG")


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, float) and not np.isfinite(value):
        return None
    if value is pd.NA or value is pd.NaT:
        return None
    return value


def _elderly_access(study: StudyResult):
    """The accessibility the map draws: the elderly's (children's is in the report and the childcare tables)."""
    access = study.accessibility
    return access if access is not None and getattr(access, "population", "elderly") == "elderly" else None
