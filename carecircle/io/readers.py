"""Read and validate the user's inputs: facilities, communities and demand points.

Every reader returns a new GeoDataFrame in WGS-84 with the project's standard column names, or raises
:class:`~carecircle.errors.InputError` with a one-line message naming the file, the offending rows or values,
and the fix. Rows are numbered from 1 as a spreadsheet user counts data rows.
"""

from __future__ import annotations

import logging
import os
import unicodedata
from collections.abc import Mapping
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from carecircle.errors import InputError
from carecircle.io.coords import normalise_crs, to_wgs84
from carecircle.io.facility_types import RESIDENTIAL, normalise_types
from carecircle.io.tables import CSV_SUFFIXES, TABLE_SUFFIXES, read_table, resolve_column, split_location

log = logging.getLogger(__name__)

VECTOR_SUFFIXES = (".geojson", ".json", ".gpkg", ".shp", ".fgb", ".zip")
_LON_ALIASES = ("lon", "lng", "longitude", "x", "经度")
_LAT_ALIASES = ("lat", "latitude", "y", "纬度")
_ONE = {"facilities": "facility", "demand points": "demand point"}  # a row of each kind of point file
#: Communities overlapping by more than this share of the smaller one are refused (their elderly would be
#: counted twice); slivers below it are digitising noise and ignored.
MAX_OVERLAP_SHARE = 0.01


def read_facilities(
    path: str | os.PathLike | pd.DataFrame,
    *,
    id_col: str = "facility_id",
    name_col: str = "name",
    type_col: str | None = "type",
    capacity_col: str = "capacity",
    area_col: str = "floor_area_m2",
    beds_col: str = "beds",
    nursing_beds_col: str = "nursing_beds",
    ownership_col: str = "ownership",
    lon_col: str | None = None,
    lat_col: str | None = None,
    crs: str = "EPSG:4326",
    source: str | None = None,
    sheet: str | int | None = None,
    type_map: Mapping[str, str] | None = None,
) -> gpd.GeoDataFrame:
    """Read care facilities from CSV or Excel (lon/lat columns), GeoJSON, GeoPackage or Shapefile.

    Parameters
    ----------
    path : the file, or a table already in memory with lon/lat columns (checked exactly like a CSV).
    id_col, name_col, type_col, capacity_col, area_col, beds_col, nursing_beds_col : source column names. Only
        coordinates are required. Ids are text, read as written (``001`` stays ``001``, distinct from ``1``); a
        missing id column numbers the facilities ``F1, F2, ...``; missing
        name/capacity/area/beds are left empty, a missing or empty type is ``"unspecified"`` (an elder-care
        facility of no stated type). Types may be written in Chinese or English
        (:mod:`carecircle.io.facility_types`); an unknown type is an error. ``type_col=None`` keeps a ``type``
        column unchecked (candidate sites).
    lon_col, lat_col : CSV coordinate columns; default: the first of lon/lng/longitude/x and lat/latitude/y.
    crs : coordinate system of CSV coordinates: ``wgs84`` (default), ``gcj02`` (Amap, Tencent), ``bd09``
        (Baidu) or an EPSG code; vector files carry their own CRS (GCJ-02/BD-09 can be forced on them too).
    source : what to call the input in messages (default: the file name).
    type_map : a place's own type names → codes (:func:`carecircle.io.facility_types.read_type_map`), looked up
        before the built-in names.
    sheet : the Excel sheet to read (name, or number from 0); default the first. Tables are read as described
        in :mod:`carecircle.io.tables` (UTF-8, GB18030/GBK or UTF-16; comma, tab or semicolon; ``.xlsx``).
        A standard column that is absent and not named explicitly is found under its Chinese or English alias
        (``编号``/``id`` → facility_id, ``名称``, ``类型``, ``床位数``, ``护理型床位``, ``建筑面积`` ...,
        :data:`carecircle.io.tables.ALIASES`); an Amap/Tencent ``location``/``经纬度`` column ``"lon,lat"`` is
        split into lon/lat.
    ownership_col : public or private (公办 / 民办, 公建民营 …), kept as written under the name ``ownership``
        (found under 机构性质, 性质, 举办性质 …); standards profiles select public facilities with it.

    Returns
    -------
    GeoDataFrame in EPSG:4326 with ``facility_id`` (str), ``name``, ``type`` (code), ``capacity`` (places),
    ``beds``, ``nursing_beds``, ``floor_area_m2`` and any other source columns; polygon footprints are reduced
    to a point inside them.
    """
    name = source or _name(path)
    gdf = _read_points(path, lon_col=lon_col, lat_col=lat_col, crs=crs, what="facilities", name=name,
                       text=(id_col, name_col, type_col or "type"), sheet=sheet)
    cols = gdf.columns
    id_col = resolve_column(cols, "facility_id", id_col, file=name, option="--facility-id-col")
    name_col = resolve_column(cols, "name", name_col, file=name, option="--name-col")
    if type_col is not None:
        type_col = resolve_column(cols, "type", type_col, file=name, option="--type-col")
    capacity_col = resolve_column(cols, "capacity", capacity_col, file=name, option="--capacity-col")
    area_col = resolve_column(cols, "floor_area_m2", area_col, file=name, option="--area-col")
    beds_col = resolve_column(cols, "beds", beds_col, file=name, option="--beds-col")
    nursing_beds_col = resolve_column(cols, "nursing_beds", nursing_beds_col, file=name, option="--nursing-beds-col")
    # Columns only some standards read (public or private; new, rebuilt or existing): found under their aliases
    # and kept under their standard names; two candidate columns leave both as they are.
    for standard, given in (("ownership", ownership_col), ("build_status", "build_status")):
        try:
            given = resolve_column(cols, standard, given, file=name, option=f"a column named {standard}")
        except InputError:
            log.info("%s: several columns could be %r; name one %r to use it", name, standard, standard)
        if given in gdf and given != standard and standard not in gdf:
            gdf = gdf.rename(columns={given: standard})
    out = _standard_id(gdf, id_col, "facility_id", prefix="F", file=name)
    out["name"] = gdf[name_col].astype("string") if name_col in gdf else out["facility_id"]
    if type_col is None:  # candidate sites: their type (e.g. 闲置办公楼) is kept as written, not checked
        out["type"] = gdf["type"].astype("string") if "type" in gdf else "unspecified"
    else:
        out["type"] = (normalise_types(gdf[type_col], file=name, column=type_col, type_map=type_map)
                       if type_col in gdf else "unspecified")
    numeric = ((capacity_col, "capacity", "--capacity-col"), (beds_col, "beds", "--beds-col"),
               (nursing_beds_col, "nursing_beds", "--nursing-beds-col"), (area_col, "floor_area_m2", "--area-col"))
    for src, dst, option in numeric:
        out[dst] = _non_negative(gdf, src, file=name, option=option) if src in gdf else np.nan
    over = np.flatnonzero((out["nursing_beds"] > out["beds"]).to_numpy())
    if len(over):
        raise InputError(f"{name}: {len(over)} facilities have more nursing beds than beds (rows {_rows(over)}); "
                         f"check the {nursing_beds_col!r} and {beds_col!r} columns.")
    used = {id_col, name_col, type_col, "geometry", *(src for src, _, _ in numeric)}
    extra = [c for c in gdf.columns if c not in used and c not in out.columns]
    _finite_extras(gdf, extra, file=name)
    out = pd.concat([out, gdf[extra]], axis=1)
    return gpd.GeoDataFrame(out, geometry=gdf.geometry.values, crs="EPSG:4326", index=gdf.index)


def read_communities(
    path: str | os.PathLike,
    *,
    id_col: str = "community_id",
    name_col: str = "name",
    elderly_col: str = "pop_60plus",
    pop_col: str = "pop_total",
    households_col: str = "households",
    subdistrict_col: str = "subdistrict",
    district_col: str = "district",
    residential_col: str = "residential",
    children_col: str = "pop_0_3",
    area_type_col: str = "area_type",
    require_elderly: bool = True,
) -> gpd.GeoDataFrame:
    """Read community (社区) polygons with their population from a GeoJSON, GeoPackage or Shapefile.

    Parameters
    ----------
    path : the file; it must carry a CRS.
    id_col, name_col : identifier and name columns; ids are text (``001`` stays ``001``); a missing id column
        numbers rows ``C1, C2, ...``.
    elderly_col : population aged 60+, non-negative; required unless ``require_elderly`` is False (population
        placed from a raster: the column, when present, only scales the raster to the community totals).
    pop_col, households_col : total population and households, optional (NaN when absent).
    subdistrict_col, district_col : parent units (街道, 区/县) for roll-ups, optional.
    residential_col : ``new`` or ``existing`` residential area (新建 / 既有, 老旧), for floor-area standards
        (found under 小区类型, 居住区类型, 新建/既有 …).
    children_col : children aged 0–3, the demand of the childcare circle (一老一小), optional.
    area_type_col : urban community (社区) or rural village (村), written as in :data:`AREA_TYPES` (urban/rural,
        城镇/城市社区/街道, 农村/农村社区/村/乡镇 …; found under 城乡类型, 城乡属性, 社区类型, urban_rural); absent or
        empty: urban. A subdistrict whose communities are rural is a township (乡镇); standards may apply to one
        kind. A 社区类型 column that says no urban/rural is not taken as the area type: saying new/existing
        residential areas (老旧小区, 新建小区) it is the residential column (when there is none), else it is kept as
        it is, with a warning.

    Returns
    -------
    GeoDataFrame in EPSG:4326 with ``community_id``, ``name``, ``subdistrict``, ``district``, ``pop_total``,
    ``pop_60plus``, ``households``, ``residential``, ``pop_0_3``, ``area_type`` (``urban`` or ``rural``), the
    other source columns, and (Multi)Polygon geometry.

    Communities that overlap by more than :data:`MAX_OVERLAP_SHARE` of the smaller one (duplicates included)
    are refused: each person must be counted in one community. A community may have 0 elderly (its coverage
    share is then n/a), but not every community.
    """
    name = Path(path).name
    gdf = _read_vector(path, what="communities")
    cols = gdf.columns
    id_col = resolve_column(cols, "community_id", id_col, file=name, option="--community-id-col")
    name_col = resolve_column(cols, "name", name_col, file=name, option="--community-name-col")
    elderly_col = resolve_column(cols, "pop_60plus", elderly_col, file=name, option="--elderly-col")
    pop_col = resolve_column(cols, "pop_total", pop_col, file=name, option="--pop-col")
    households_col = resolve_column(cols, "households", households_col, file=name, option="--households-col")
    subdistrict_col = resolve_column(cols, "subdistrict", subdistrict_col, file=name, option="--subdistrict-col")
    district_col = resolve_column(cols, "district", district_col, file=name, option="--district-col")
    children_col = resolve_column(cols, "pop_0_3", children_col, file=name, option="--children-col")
    area_type_col = resolve_column(cols, "area_type", area_type_col, file=name, option="a column named area_type")
    residential_col = resolve_column(cols, "residential", residential_col, file=name, option="--residential-col")
    area_type_col, residential_col = _kind_columns(gdf, area_type_col, residential_col, file=name)
    types = gdf.geom_type.to_numpy()
    bad = np.flatnonzero(~np.isin(types, ["Polygon", "MultiPolygon"]))
    if len(bad):
        raise InputError(
            f"{name}: communities must be polygons, but {len(bad)} rows are {_values(types[bad])} "
            f"(rows {_rows(bad)}); give community boundaries, or pass points with --demand."
        )
    invalid = np.flatnonzero(~gdf.geometry.is_valid.to_numpy())
    if len(invalid):
        reasons = shapely.is_valid_reason(gdf.geometry.values[invalid[:3]])
        raise InputError(
            f"{name}: {len(invalid)} community polygons are invalid (rows {_rows(invalid)}: {'; '.join(reasons)}); "
            "repair them (QGIS 'Fix geometries' or shapely.make_valid) and run again."
        )
    if elderly_col not in gdf and require_elderly:
        raise InputError(
            f"{name}: no elderly-population column {elderly_col!r}; "
            f"columns are {_values(gdf.columns.drop('geometry'))}; "
            "name the right one with --elderly-col."
        )
    gdf = gdf.to_crs("EPSG:4326")
    out = _standard_id(gdf, id_col, "community_id", prefix="C", file=name)
    out["name"] = gdf[name_col].astype("string") if name_col in gdf else out["community_id"]
    out["pop_total"] = _non_negative(gdf, pop_col, file=name, option="--pop-col") if pop_col in gdf else np.nan
    out["pop_60plus"] = (_non_negative(gdf, elderly_col, file=name, option="--elderly-col", required=require_elderly)
                         if elderly_col in gdf else np.nan)
    if households_col in gdf:
        out["households"] = _non_negative(gdf, households_col, file=name, option="--households-col")
    else:
        out["households"] = np.nan
    out["pop_0_3"] = _non_negative(gdf, children_col, file=name, option="--children-col") if children_col in gdf \
        else np.nan
    for src, dst in ((subdistrict_col, "subdistrict"), (district_col, "district")):
        out[dst] = gdf[src].astype("string").str.strip().replace("", pd.NA) if src in gdf else pd.NA
    out["residential"] = _residential(gdf[residential_col], file=name, column=residential_col) \
        if residential_col in gdf else pd.NA
    out["area_type"] = (normalise_area_types(gdf[area_type_col], file=name, column=area_type_col).to_numpy()
                        if area_type_col in gdf else "urban")
    over = np.flatnonzero((out["pop_60plus"] > out["pop_total"]).to_numpy())
    if len(over):
        raise InputError(
            f"{name}: {len(over)} communities have more people aged 60+ than in total (rows {_rows(over)}); "
            f"check the {elderly_col!r} and {pop_col!r} columns."
        )
    if require_elderly and not (out["pop_60plus"] > 0).any():  # one at 0 is fine (coverage n/a), all at 0 not
        raise InputError(
            f"{name}: no elderly population in any community (column {elderly_col!r} is 0 in all "
            f"{len(out)} rows); check the {elderly_col!r} column or name the right one with --elderly-col."
        )
    used = {id_col, name_col, elderly_col, pop_col, households_col, subdistrict_col, district_col,
            residential_col, children_col, area_type_col, "geometry"}
    extra = [c for c in gdf.columns if c not in used and c not in out]
    _finite_extras(gdf, extra, file=name)
    _check_overlaps(gdf.geometry.values, out["community_id"].to_numpy(), file=name)
    out = pd.concat([out, gdf[extra]], axis=1)
    return gpd.GeoDataFrame(out, geometry=gdf.geometry.values, crs="EPSG:4326", index=gdf.index)


def read_demand(
    path: str | os.PathLike,
    *,
    population_col: str = "population",
    community_col: str | None = "community_id",
    lon_col: str | None = None,
    lat_col: str | None = None,
    crs: str = "EPSG:4326",
    sheet: str | int | None = None,
) -> gpd.GeoDataFrame:
    """Read demand points (elderly persons at a location) from CSV or Excel (lon/lat) or a vector file.

    Tables are read as :func:`read_facilities` reads them (encodings, delimiters, ``sheet``, column aliases
    such as ``人口`` → population, ``location`` split into lon/lat).

    Returns a GeoDataFrame in EPSG:4326 with ``population`` (float, non-negative) and ``community_id``
    (text, as written in ``community_col`` when present, else ``"all"``).
    """
    name = Path(path).name
    gdf = _read_points(path, lon_col=lon_col, lat_col=lat_col, crs=crs, what="demand points", name=name,
                       text=(community_col,) if community_col else (), sheet=sheet)
    population_col = resolve_column(gdf.columns, "population", population_col, file=name, option="--population-col")
    if population_col not in gdf:
        raise InputError(
            f"{name}: no population column {population_col!r}; columns are "
            f"{_values(gdf.columns.drop('geometry'))}; name it with --population-col."
        )
    out = pd.DataFrame(index=gdf.index)
    if community_col and community_col in gdf:
        ids = _id_text(gdf[community_col])
        missing = np.flatnonzero((gdf[community_col].isna() | (ids == "")).to_numpy())
        if len(missing):
            raise InputError(f"{name}: {len(missing)} demand points have no {community_col} (rows {_rows(missing)}); "
                             "fill them or drop the column.")
        out["community_id"] = ids.to_numpy()
    else:
        out["community_id"] = "all"
    out["population"] = _non_negative(gdf, population_col, file=name, option="--population-col", required=True)
    if not (out["population"] > 0).any():
        raise InputError(
            f"{name}: no elderly population at any demand point (column {population_col!r} is 0 in all "
            f"{len(out)} rows); check the {population_col!r} column or name the right one with --population-col."
        )
    return gpd.GeoDataFrame(out, geometry=gdf.geometry.values, crs="EPSG:4326", index=gdf.index)


def check_community_ids(demand: pd.DataFrame, communities: pd.DataFrame) -> None:
    """Refuse demand points whose ``community_id`` names no community (their elderly would count in the total
    but in no community). Raises :class:`~carecircle.errors.InputError` naming the ids and rows."""
    known = set(communities["community_id"].astype(str))
    ids = demand["community_id"].astype(str).to_numpy()
    bad = np.flatnonzero(~pd.Index(ids).isin(pd.Index(list(known))))  # hashed: np.isin sorts strings (1.4 s at 40k)
    if not len(bad):
        return
    example = _values(sorted(known)[:3]) + (", …" if len(known) > 3 else "")
    if (ids == "all").all():
        raise InputError(
            f"demand points: no community_id column, so none of the {len(ids)} points can be counted in a "
            f"community; add a community_id column with the communities' ids ({example}), or leave out the "
            "communities."
        )
    raise InputError(
        f"demand points: {len(bad)} of {len(ids)} have a community_id that matches no community "
        f"({_values(pd.unique(ids[bad]))}; rows {_rows(bad)}); use the communities' ids ({example}) or leave out "
        "the communities."
    )


#: Spellings of a community's ``area_type``: an urban community (社区, in a 街道) or a rural village (村, in a
#: 乡镇). Keys are casefolded and stripped; shared by the community reader and the compliance checker.
AREA_TYPES: dict[str, str] = {
    **dict.fromkeys(("urban", "city", "城镇", "城市", "城区", "社区", "街道", "居委会", "居民委员会", "城市社区",
                     "城镇社区"), "urban"),
    **dict.fromkeys(("rural", "village", "township", "农村", "乡村", "村", "乡镇", "镇", "乡", "行政村", "建制村",
                     "村委会", "村民委员会", "农村社区"), "rural"),
}


def normalise_area_types(values, *, file: str = "communities", column: str = "area_type") -> pd.Series:
    """``urban`` or ``rural`` for each of ``values`` (:data:`AREA_TYPES`); empty or missing is ``urban``.

    Raises
    ------
    InputError naming every unknown value with its row count, and the accepted spellings.

    >>> normalise_area_types(["村", "社区", None, "Rural"]).tolist()
    ['rural', 'urban', 'urban', 'rural']
    """
    series = pd.Series(list(values), dtype="object")
    text = series.astype("string").str.strip().str.casefold()
    mapped = text.map(AREA_TYPES, na_action="ignore")
    blank = text.isna() | (text == "")
    bad = mapped.isna() & ~blank
    if bad.any():
        counts = series[bad.to_numpy()].astype(str).str.strip().value_counts(sort=False)
        shown = ", ".join(f"{v!r} ({n} row{'s' if n != 1 else ''})" for v, n in counts.items())
        urban = "/".join(k for k, v in AREA_TYPES.items() if v == "urban")
        rural = "/".join(k for k, v in AREA_TYPES.items() if v == "rural")
        raise InputError(f"{file}: unknown {column} values {shown}; write urban ({urban}) or rural ({rural}), "
                         "or leave the cell empty for urban.")
    if blank.any() and not blank.all():
        log.warning("%s: %d communities without %s read as urban", file, int(blank.sum()), column)
    return mapped.fillna("urban").astype(object)


# ----------------------------------------------------------------------------------------------- helpers


def _kind_columns(gdf: pd.DataFrame, area_type_col: str, residential_col: str, *, file: str) -> tuple[str, str]:
    """The area-type and residential columns, when the area type was found under an alias (社区类型 …) that may
    mean something else: a column that says new/existing residential areas (老旧小区, 新建小区) and no urban/rural is
    the residential column (when there is none); one that says neither is no area type and is kept as it is."""
    if area_type_col == "area_type" or area_type_col not in gdf:
        return area_type_col, residential_col
    text = gdf[area_type_col].astype("string").str.strip().str.casefold()
    text = text[text.notna() & (text != "")]
    if len(text) == 0 or text.isin(list(AREA_TYPES)).any():
        return area_type_col, residential_col  # urban and rural (any other value is reported as unknown)
    if text.isin(list(RESIDENTIAL)).all() and residential_col not in gdf:
        log.info("%s: column %r says new or existing residential areas; read as residential", file, area_type_col)
        return "area_type", area_type_col
    log.warning("%s: column %r says neither urban nor rural (%s), so it is not read as area_type: every community "
                "counts as urban; add an area_type column (城乡类型: 社区/村) for township and village targets",
                file, area_type_col, _values(gdf[area_type_col].dropna().unique()))
    return "area_type", residential_col


def _residential(values: pd.Series, *, file: str, column: str) -> pd.Series:
    """``new`` / ``existing`` from the shared spellings (``facility_types.RESIDENTIAL``); empty stays missing."""
    text = values.astype("string").str.strip().str.lower()
    mapped = text.map(RESIDENTIAL, na_action="ignore").astype("string")
    bad = np.flatnonzero((mapped.isna() & text.notna() & (text != "")).to_numpy())
    if len(bad):
        raise InputError(
            f"{file}: column {column!r} must say new or existing residential area (新建 / 既有, 老旧), but rows "
            f"{_rows(bad)} have {_values(values.iloc[bad].unique())}; fix the values or choose another column "
            "with --residential-col."
        )
    return mapped



def _read_vector(path, *, what: str) -> gpd.GeoDataFrame:
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{what} file {str(path)!r} does not exist; check the path.")
    try:
        gdf = gpd.read_file(path)
    except Exception as exc:  # pyogrio raises DataSourceError and friends; all mean the same to a user
        raise InputError(
            f"{path.name}: cannot read {what} ({type(exc).__name__}: {str(exc).splitlines()[0]}); "
            "give a GeoJSON, GeoPackage or Shapefile."
        ) from exc
    if len(gdf) == 0:
        raise InputError(f"{path.name}: the {what} file has no rows; add at least one.")
    if not isinstance(gdf, gpd.GeoDataFrame) or gdf.geometry.isna().all():
        raise InputError(f"{path.name}: the {what} file has no geometry column; give a spatial file.")
    if gdf.crs is None:
        raise InputError(
            f"{path.name}: the {what} file has no CRS (a Shapefile without .prj?); "
            "add the .prj or save it as GeoJSON/GeoPackage with its CRS."
        )
    missing = np.flatnonzero((gdf.geometry.isna() | gdf.geometry.is_empty).to_numpy())
    if len(missing):
        raise InputError(f"{path.name}: {len(missing)} {what} rows have no geometry (rows {_rows(missing)}); "
                         "fill them or drop the rows.")
    return gdf.reset_index(drop=True)


def _name(path) -> str:
    return "table" if isinstance(path, pd.DataFrame) else Path(path).name


def _read_points(path, *, lon_col, lat_col, crs: str, what: str, name: str, text=(), sheet=None
                 ) -> gpd.GeoDataFrame:
    """Points in EPSG:4326; GCJ-02/BD-09 coordinates (``crs``) are converted to WGS-84 (:mod:`carecircle.io.coords`)."""
    system = normalise_crs(crs)
    gdf = _read_points_as_given(path, lon_col=lon_col, lat_col=lat_col,
                                crs="EPSG:4326" if system in ("wgs84", "gcj02", "bd09") else system, what=what,
                                name=name, text=text, sheet=sheet)
    if system in ("gcj02", "bd09"):
        lon, lat = to_wgs84(gdf.geometry.x.to_numpy(), gdf.geometry.y.to_numpy(), system, source=name)
        gdf = gdf.set_geometry(gpd.points_from_xy(lon, lat), crs="EPSG:4326")
        log.info("%s: %d points converted from %s to WGS-84", name, len(gdf), system.upper())
    return gdf


def _read_points_as_given(path, *, lon_col, lat_col, crs: str, what: str, name: str, text=(), sheet=None
                          ) -> gpd.GeoDataFrame:
    """Points as given; the table columns named in ``text`` (ids, names) are read as text, never through float."""
    if isinstance(path, pd.DataFrame):
        return _points_from_table(path, lon_col=lon_col, lat_col=lat_col, crs=crs, what=what, name=name)
    path = Path(path)
    if path.suffix.lower() not in TABLE_SUFFIXES:
        gdf = _read_vector(path, what=what).to_crs("EPSG:4326")
        types = gdf.geom_type.to_numpy()
        polys = np.isin(types, ["Polygon", "MultiPolygon"])
        if polys.any():
            n = int(polys.sum())
            log.info("%s: %d polygon footprint%s (building outline%s) taken at a point inside %s", path.name, n,
                     *(("", "", "it") if n == 1 else ("s", "s", "each")))
            gdf.loc[polys, "geometry"] = gdf.geometry[polys].representative_point()
        single = gdf.geometry.apply(lambda g: g.geoms[0] if g.geom_type == "MultiPoint" and len(g.geoms) == 1 else g)
        gdf = gdf.set_geometry(single.values, crs="EPSG:4326")
        bad = np.flatnonzero(gdf.geom_type.to_numpy() != "Point")
        if len(bad):
            raise InputError(f"{path.name}: {what} must be points, but rows {_rows(bad)} are "
                             f"{_values(gdf.geom_type.to_numpy()[bad])}; give one point per row.")
        _check_lonlat(gdf.geometry.x.to_numpy(), gdf.geometry.y.to_numpy(), file=path.name)
        return gdf
    if not path.is_file():
        raise InputError(f"{what} file {str(path)!r} does not exist; check the path.")
    kind = "CSV" if path.suffix.lower() in CSV_SUFFIXES else "a table"
    try:
        df = read_table(path, sheet=sheet, text=text)
    except pd.errors.EmptyDataError as exc:
        raise InputError(f"{path.name}: the file is empty; add a header row and one row per {_ONE[what]}.") from exc
    except (UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise InputError(
            f"{path.name}: cannot read as {kind} ({type(exc).__name__}); save it as UTF-8 (or GBK) CSV with a "
            "header row."
        ) from exc
    if len(df) == 0:
        raise InputError(f"{path.name}: the file has a header but no rows; add at least one {_ONE[what]}.")
    df = split_location(df, file=path.name)
    return _points_from_table(df, lon_col=lon_col, lat_col=lat_col, crs=crs, what=what, name=name)


def _points_from_table(df: pd.DataFrame, *, lon_col, lat_col, crs: str, what: str, name: str) -> gpd.GeoDataFrame:
    """Points from a table's lon/lat columns, checked; ``name`` names the table in messages."""
    if len(df) == 0:
        raise InputError(f"{name}: the table has no rows; add at least one {_ONE[what]}.")
    lon_col = _pick(df, lon_col, _LON_ALIASES, file=name, option="--lon-col")
    lat_col = _pick(df, lat_col, _LAT_ALIASES, file=name, option="--lat-col")
    lon, lat = _numbers(df[lon_col]).to_numpy(dtype=float), _numbers(df[lat_col]).to_numpy(dtype=float)
    empty = (_blank(df[lon_col]) | _blank(df[lat_col])).to_numpy()
    missing = np.flatnonzero(empty)
    if len(missing):
        raise InputError(
            f"{name}: {len(missing)} rows have no coordinates (rows {_rows(missing)}); "
            f"fill {lon_col}/{lat_col} or drop them."
        )
    unreadable = np.flatnonzero(~(np.isfinite(lon) & np.isfinite(lat)))
    if len(unreadable):
        found = [df[lon_col].iloc[i] if not np.isfinite(lon[i]) else df[lat_col].iloc[i] for i in unreadable]
        raise InputError(
            f"{name}: {len(unreadable)} rows have coordinates that are not finite numbers (rows "
            f"{_rows(unreadable)}: {_values(found)}); write decimal degrees such as 116.3975 in {lon_col}/{lat_col}."
        )
    gdf = gpd.GeoDataFrame(df.drop(columns=[lon_col, lat_col]), geometry=gpd.points_from_xy(lon, lat), crs=crs)
    gdf = gdf.to_crs("EPSG:4326")
    _check_lonlat(gdf.geometry.x.to_numpy(), gdf.geometry.y.to_numpy(), file=name)
    return gdf


def _check_lonlat(lon: np.ndarray, lat: np.ndarray, *, file: str) -> None:
    bad = np.flatnonzero(~((np.abs(lon) <= 180) & (np.abs(lat) <= 90)))
    if len(bad):
        raise InputError(
            f"{file}: {len(bad)} rows have coordinates outside longitude ±180 / latitude ±90 "
            f"(rows {_rows(bad)}); give WGS-84 degrees, or projected coordinates in a file with a CRS."
        )


def _pick(df: pd.DataFrame, given: str | None, aliases: tuple[str, ...], *, file: str, option: str) -> str:
    if given is not None:
        if given not in df:
            raise InputError(f"{file}: no column {given!r}; columns are {_values(df.columns)}; fix {option}.")
        return given
    lower = {str(c).strip().lower(): c for c in df.columns}
    for alias in aliases:
        if alias in lower:
            return lower[alias]
    raise InputError(
        f"{file}: no coordinate column (looked for {', '.join(aliases)}); columns are {_values(df.columns)}; "
        f"name it with {option}."
    )


def _standard_id(gdf: pd.DataFrame, src: str, dst: str, *, prefix: str, file: str) -> pd.DataFrame:
    out = pd.DataFrame(index=gdf.index)
    if src in gdf:
        ids = _id_text(gdf[src])
        missing = np.flatnonzero((gdf[src].isna() | (ids == "")).to_numpy())
        if len(missing):
            raise InputError(f"{file}: {len(missing)} rows have no {src} (rows {_rows(missing)}); fill them.")
        dup_rows = np.flatnonzero(ids.duplicated(keep=False).to_numpy())
        if len(dup_rows):
            raise InputError(
                f"{file}: duplicate {src} values {_values(ids.iloc[dup_rows].unique())} (rows {_rows(dup_rows)}); "
                "make every id unique."
            )
        out[dst] = ids.astype(str).to_numpy()
    else:
        why = " (Shapefiles cut column names to 10 characters)" if file.lower().endswith(".shp") else ""
        log.warning("%s: no id column %r%s; numbering rows %s1, %s2, ...", file, src, why, prefix, prefix)
        out[dst] = [f"{prefix}{i + 1}" for i in range(len(gdf))]
    return out


def _check_overlaps(geoms: np.ndarray, ids: np.ndarray, *, file: str) -> None:
    """Refuse communities overlapping by more than :data:`MAX_OVERLAP_SHARE` of the smaller one.

    Shares are of areas in degrees²: a ratio of areas of the same small place, which the projection barely
    changes (and no projection is needed, so a polygon spanning the globe cannot break it)."""
    left, right = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    pairs = left < right
    left, right = left[pairs], right[pairs]
    if not len(left):
        return
    smaller = np.minimum(shapely.area(geoms[left]), shapely.area(geoms[right]))
    with np.errstate(invalid="ignore", divide="ignore"):
        share = shapely.area(shapely.intersection(geoms[left], geoms[right])) / smaller
    over = np.flatnonzero(share > MAX_OVERLAP_SHARE)
    if not len(over):
        return
    order = over[np.lexsort((right[over], left[over], -np.round(share[over], 2)))]  # largest first, then rows
    shown = ", ".join(f"{ids[left[k]]} and {ids[right[k]]} ({share[k]:.0%} of the smaller)" for k in order[:5])
    more = f", … {len(order) - 5} more" if len(order) > 5 else ""
    raise InputError(
        f"{file}: {len(order)} pairs of communities overlap: {shown}{more}; each person must be counted in one "
        "community: remove duplicates or fix the boundaries so that neighbours only touch."
    )


def _finite_extras(gdf: pd.DataFrame, columns, *, file: str) -> None:
    """Refuse infinite values in the other numeric columns kept from the input (standards may read them)."""
    for col in columns:
        if not pd.api.types.is_numeric_dtype(gdf[col]) or pd.api.types.is_bool_dtype(gdf[col]):
            continue
        infinite = np.flatnonzero(np.isinf(gdf[col].to_numpy(dtype=float)))
        if len(infinite):
            raise InputError(
                f"{file}: column {col!r} must hold finite numbers, but rows {_rows(infinite)} have "
                f"{_values(gdf[col].iloc[infinite])}; fix the values or leave the column out."
            )


def _id_text(values: pd.Series) -> pd.Series:
    """Ids as text. CSV ids arrive as the text written (``001``); a number stored as such in a vector file or a
    table in memory becomes its digits (``7`` and ``7.0`` are ``"7"``); surrounding spaces are dropped."""
    def text(x) -> str:
        if isinstance(x, float | np.floating) and float(x).is_integer():
            return str(int(x))
        return str(x).strip()
    return values.map(text).astype(str)


def _numbers(values: pd.Series) -> pd.Series:
    """Numbers from a column; text is NFKC-normalised first, so full-width digits (１２３.４５) read as 123.45."""
    if not (pd.api.types.is_object_dtype(values) or pd.api.types.is_string_dtype(values)):
        return pd.to_numeric(values, errors="coerce")
    def clean(v):
        return unicodedata.normalize("NFKC", v).strip().replace("\u2212", "-") if isinstance(v, str) else v
    return pd.to_numeric(values.map(clean).astype(object), errors="coerce")


def _blank(values: pd.Series) -> pd.Series:
    """Missing or only spaces."""
    return values.isna() | values.map(lambda v: isinstance(v, str) and not v.strip()).astype(bool)


def _non_negative(gdf: pd.DataFrame, col: str, *, file: str, option: str, required: bool = False) -> pd.Series:
    values = _numbers(gdf[col])
    infinite = np.flatnonzero(np.isinf(values.to_numpy(dtype=float)))
    if len(infinite):  # inf, -inf, 1e309: a sum over them is inf or nan, never a count
        raise InputError(
            f"{file}: column {col!r} must hold finite numbers, but rows {_rows(infinite)} have "
            f"{_values(gdf[col].iloc[infinite])}; fix the values or choose another column with {option}."
        )
    bad = np.flatnonzero(((values < 0) | (values.isna() & gdf[col].notna())).to_numpy())
    if required:
        bad = np.union1d(bad, np.flatnonzero(values.isna().to_numpy()))
    if len(bad):
        raise InputError(
            f"{file}: column {col!r} must hold non-negative numbers, but rows {_rows(bad)} have "
            f"{_values(gdf[col].iloc[bad])}; fix the values or choose another column with {option}."
        )
    return values.astype(float)


def _rows(idx, most: int = 8) -> str:
    idx = np.asarray(idx)
    shown = ", ".join(str(int(i) + 1) for i in idx[:most])
    return shown + (f", … {len(idx) - most} more" if len(idx) > most else "")


def _values(values, most: int = 6) -> str:
    values = list(values)
    shown = ", ".join(repr(v) if isinstance(v, str) else str(v) for v in values[:most])
    return shown + (f", … {len(values) - most} more" if len(values) > most else "")


def read_polygons(path: str | os.PathLike) -> gpd.GeoDataFrame:
    """Polygons from a vector file (study area, excluded zones), checked, in EPSG:4326."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"polygon file {str(path)!r} does not exist; give a GeoJSON or GeoPackage of polygons.")
    try:
        gdf = gpd.read_file(path)
    except Exception as exc:  # pyogrio's errors
        raise InputError(f"{path.name}: cannot read polygons ({type(exc).__name__}: {exc}).") from exc
    if gdf.crs is None:
        raise InputError(f"{path.name}: the polygon file has no CRS; save it with its CRS (GeoJSON is WGS-84).")
    if len(gdf) == 0 or not gdf.geom_type.isin(["Polygon", "MultiPolygon"]).all():
        raise InputError(f"{path.name}: needs polygons, found {sorted(set(gdf.geom_type.dropna())) or 'no rows'}.")
    return gdf.to_crs("EPSG:4326")


def join_subdistricts(communities: gpd.GeoDataFrame, subdistricts: str | os.PathLike | gpd.GeoDataFrame
                      ) -> gpd.GeoDataFrame:
    """Fill ``subdistrict`` (and ``district`` when the layer has one) from the subdistrict polygon holding each
    community's interior point; communities outside every polygon keep their own value (or none)."""
    layer = subdistricts if isinstance(subdistricts, gpd.GeoDataFrame) else read_polygons(subdistricts)
    name_col = next((c for c in ("subdistrict", "name", "街道", "name_zh") if c in layer), None)
    if name_col is None:
        raise InputError(f"the subdistrict layer needs a name column (subdistrict, name or 街道); columns are "
                         f"{', '.join(map(str, layer.columns.drop('geometry')))}.")
    layer = layer.to_crs("EPSG:4326")
    points = gpd.GeoDataFrame(geometry=communities.geometry.representative_point().values, crs="EPSG:4326")
    hit = gpd.sjoin(points, layer, how="left", predicate="within")
    hit = hit[~hit.index.duplicated(keep="first")]
    out = communities.copy()
    names = hit[name_col].astype("string").to_numpy()
    out["subdistrict"] = pd.Series(names, index=out.index).fillna(out["subdistrict"])
    if "district" in layer:
        out["district"] = pd.Series(hit["district"].astype("string").to_numpy(), index=out.index).fillna(
            out["district"])
    outside = int(pd.isna(names).sum())
    if outside:
        log.warning("subdistricts: %d communities lie outside every subdistrict polygon", outside)
    return out
