"""One study, end to end: network → demand → coverage → isochrones, as plain function composition.

The CLI and (later) the scenario runner call :func:`run_study`; Python users may call it too, or the steps
themselves. Nothing here writes files (see ``export.py``).
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from carecircle.io.coords import gcj_offset_suspected, normalise_crs
from carecircle.core.coverage import CoverageFacts, CoverageResult, coverage_by_type, measure_coverage, rollup
from carecircle.core.demand import osm_buildings, place_demand
from carecircle.errors import InputError
from carecircle.io.facility_types import ELDER_CARE, normalise_types
from carecircle.io.default_data import DEFAULT_NOTE, default_data_dir, default_network_path, localised_note
from carecircle.io.readers import read_communities, read_demand, read_facilities, read_polygons
from carecircle.core.isochrones import isochrones
from carecircle.core.network import Progress, WalkNetwork, download_network, load_network
from carecircle.core.travel import snap_points
from carecircle.plan.results import StudyInputs, StudyResult

log = logging.getLogger(__name__)

@dataclass(frozen=True)
class Area:
    """Where the walking network comes from: exactly one of a local file, a place name, a bbox or a polygon."""

    network: Path | None = None
    place: str | None = None
    bbox: tuple[float, float, float, float] | None = None
    polygon: Path | None = None

    def __post_init__(self):
        given = [x is not None for x in (self.network, self.place, self.bbox, self.polygon)]
        if sum(given) > 1:
            raise InputError("give only one of --network, --place, --bbox or --polygon.")

    @property
    def is_default(self) -> bool:
        return not any(x is not None for x in (self.network, self.place, self.bbox, self.polygon))

    def name(self) -> str:
        """A folder-safe study name: ``helsinki`` by default, else from the file stem or place name."""
        if self.is_default:
            return "helsinki"
        if self.network is not None:
            raw = self.network.name.split(".")[0]
        elif self.polygon is not None:
            raw = self.polygon.stem
        elif self.place is not None:
            raw = self.place.split(",")[0]
        else:
            raw = "bbox_" + "_".join(f"{v:.3f}" for v in self.bbox)
        return re.sub(r"[^\w.-]+", "_", raw).strip("_") or "study"


def load_area(area: Area, *, cache_dir: str | os.PathLike | None = None,
              progress: Progress | None = None) -> WalkNetwork:
    """The walking network of ``area`` (the bundled Helsinki extract when the area is the default)."""
    if area.is_default:
        return load_network(default_network_path(), cache_dir=cache_dir, progress=progress)
    if area.network is not None:
        return load_network(area.network, cache_dir=cache_dir, progress=progress)
    polygon = _read_polygon(area.polygon) if area.polygon is not None else None
    return download_network(place=area.place, bbox=area.bbox, polygon=polygon, cache_dir=cache_dir,
                            progress=progress)


def prepare_study(
    area: Area = Area(),
    *,
    facilities: str | os.PathLike | gpd.GeoDataFrame | None = None,
    communities: str | os.PathLike | gpd.GeoDataFrame | None = None,
    demand: str | os.PathLike | gpd.GeoDataFrame | None = None,
    buildings: str | os.PathLike | gpd.GeoDataFrame | None = None,
    demand_method: str = "buildings",
    subdistricts: str | os.PathLike | gpd.GeoDataFrame | None = None,
    columns: dict | None = None,
    cache_dir: str | os.PathLike | None = None,
    progress: Progress | None = None,
) -> StudyInputs:
    """Read and check the inputs (before any heavy work), load the network and place demand.

    Parameters are those of :func:`run_study`.
    """
    columns = dict(columns or {})
    step = progress or (lambda _msg: None)
    if area.is_default:
        folder = default_data_dir()
        facilities = facilities if facilities is not None else folder / "facilities.csv"
        if communities is None and demand is None:
            communities = folder / "communities.geojson"
    if facilities is None:
        raise InputError("no facilities given; pass --facilities with a CSV (lon/lat) or GeoJSON of care facilities.")
    if communities is None and demand is None:
        raise InputError("no demand given; pass --communities (polygons with elderly population) or --demand (points).")

    step("Reading inputs")
    fac = _as_gdf(facilities, read_facilities, _pick(columns, "facility_id_col", "name_col", "type_col",
                                                    "capacity_col", "area_col", "beds_col", "nursing_beds_col",
                                                    "lon_col", "lat_col", "crs"))
    fac = fac.assign(type=normalise_types(fac["type"], file="facilities") if "type" in fac else "unspecified")
    elder = fac[fac["type"].isin(ELDER_CARE).to_numpy()]
    if len(elder) == 0:
        raise InputError(f"none of the {len(fac)} facilities is an elder-care facility (types found: "
                         f"{', '.join(sorted(set(fac['type'])))}); add elder-care facilities of types "
                         f"{', '.join(ELDER_CARE[:-1])}.")
    com = None
    if communities is not None:
        com = _as_gdf(communities, read_communities, _pick(columns, "community_id_col", "community_name_col",
                                                          "elderly_col", "pop_col", "households_col",
                                                          "subdistrict_col", "district_col", "residential_col",
                                                          "children_col"))
        if subdistricts is not None:
            com = join_subdistricts(com, subdistricts)
    dem = None
    if demand is not None:
        dem = _as_gdf(demand, read_demand, _pick(columns, "population_col", "demand_community_col", "lon_col",
                                                 "lat_col", "crs"))

    network = load_area(area, cache_dir=cache_dir, progress=progress)
    if normalise_crs(columns.get("crs") or "wgs84") == "wgs84":  # declared WGS-84: do they look GCJ-shifted?
        _warn_if_gcj_offset(fac, network)
    if dem is None:
        step("Placing elderly population inside communities")
        blds = _buildings_for(area, buildings) if demand_method == "buildings" else None
        dem = place_demand(com, network, method=demand_method, buildings=blds)
    kids = children_demand(dem, com)
    inputs = {
        "network": network.source,
        "facilities": _describe(facilities),
        "communities": _describe(communities),
        "demand": _describe(demand) if demand is not None else f"placed inside communities ({demand_method})",
    }
    if subdistricts is not None:
        inputs["subdistricts"] = _describe(subdistricts)
    return StudyInputs(name=area.name(), network=network, facilities=elder, communities=com, demand=dem,
                       inputs=inputs, note=DEFAULT_NOTE if area.is_default else None, all_facilities=fac,
                       children=kids)


def run_study(
    area: Area = Area(),
    *,
    facilities: str | os.PathLike | gpd.GeoDataFrame | None = None,
    communities: str | os.PathLike | gpd.GeoDataFrame | None = None,
    demand: str | os.PathLike | gpd.GeoDataFrame | None = None,
    buildings: str | os.PathLike | gpd.GeoDataFrame | None = None,
    demand_method: str = "buildings",
    subdistricts: str | os.PathLike | gpd.GeoDataFrame | None = None,
    standard: str | os.PathLike | None = None,
    thresholds_min: Sequence[float] | None = None,
    walk_speed_mps: float = 1.0,
    max_snap_m: float = 300.0,
    target_share: float | None = None,
    with_isochrones: bool = True,
    per_facility_isochrones: bool = True,
    lang: str | None = None,
    columns: dict | None = None,
    cache_dir: str | os.PathLike | None = None,
    progress: Progress | None = None,
) -> StudyResult:
    """Run one coverage study.

    Parameters
    ----------
    area : where the network comes from; the default is the bundled Helsinki demo.
    facilities, communities, demand : files or GeoDataFrames. With the default area they default to the
        bundled demo files; with any other area ``facilities`` and one of ``communities``/``demand`` are needed.
    buildings : footprints for the ``buildings`` demand estimate; default: those in the local OSM file.
    demand_method : ``buildings``, ``nodes`` or ``centroid`` (see :mod:`carecircle.core.demand`).
    subdistricts : subdistrict (街道) polygons with a ``name`` (or ``subdistrict``) column and optional
        ``district``; each community is assigned to the one holding its interior point.
    standard : a standards profile (bundled id such as ``qitaihe-2020``, or a YAML file) whose targets are
        checked; it also supplies the thresholds, target share and language unless they are given here.
    thresholds_min, walk_speed_mps, max_snap_m, target_share : see :func:`carecircle.measure_coverage`
        (defaults without a profile: 5/10/15 minutes and 0.9).
    with_isochrones, per_facility_isochrones : draw isochrone polygons (display only).
    lang : ``zh`` or ``en`` for labels (default: the profile's, else ``en``).
    columns : column-name options passed to the readers, e.g. ``{"elderly_col": "60岁以上人口"}``.
    cache_dir : network cache folder (``None``: no cache).
    progress : optional callback receiving a description of each step.
    """
    profile = None
    if standard is not None:
        from carecircle.plan.standards import load_profile

        profile = load_profile(standard)
    thresholds = tuple(thresholds_min) if thresholds_min is not None else (
        tuple(profile.thresholds_min) if profile is not None else (5, 10, 15))
    target = target_share if target_share is not None else (profile.target_share if profile is not None else 0.9)
    lang = lang or (profile.lang if profile is not None else "en")
    if lang not in ("en", "zh"):
        raise InputError(f"language {lang!r} is not supported; use zh or en.")
    study = prepare_study(area, facilities=facilities, communities=communities, demand=demand,
                          buildings=buildings, demand_method=demand_method, subdistricts=subdistricts,
                          columns=columns, cache_dir=cache_dir, progress=progress)
    step = progress or (lambda _msg: None)
    step("Computing walking times and coverage")
    cov = measure_coverage(study.network, study.facilities, study.demand, study.communities,
                           thresholds_min=thresholds, walk_speed_mps=walk_speed_mps, max_snap_m=max_snap_m,
                           target_share=target)
    facts = CoverageFacts(study.network, study.all_facilities, study.demand, cov.communities
                          if study.communities is not None else None, children=study.children,
                          walk_speed_mps=walk_speed_mps, max_snap_m=max_snap_m)
    by_type = coverage_by_type(facts, profile.type_minutes if profile is not None else None)
    rollups = {}
    if study.communities is not None:
        for level in ("subdistrict", "district"):
            if cov.communities[level].notna().any():
                rollups[level] = rollup(cov.communities, level, thresholds, target_share=target)
    childcare = _childcare_circle(study, thresholds, walk_speed_mps=walk_speed_mps, max_snap_m=max_snap_m,
                                  target_share=target)
    compliance = None
    if profile is not None:
        from carecircle.plan.compliance import evaluate

        step(f"Checking the standards of {profile.id}")
        compliance = evaluate(profile, facts, lang=lang)
    iso = None
    if with_isochrones:
        step("Drawing isochrones")
        iso = isochrones(study.network, study.facilities, thresholds_min=thresholds,
                         walk_speed_mps=walk_speed_mps, max_snap_m=max_snap_m, per_facility=per_facility_isochrones,
                         progress=progress)
    inputs = {**study.inputs, **({"standard": profile.id} if profile is not None else {})}
    return StudyResult(name=study.name, network=study.network, coverage=cov, isochrones=iso, inputs=inputs,
                       note=localised_note(study.note, lang), by_type=by_type, rollups=rollups, childcare=childcare,
                       profile=profile, compliance=compliance, lang=lang, facilities=study.all_facilities)


def children_demand(demand: gpd.GeoDataFrame, communities: gpd.GeoDataFrame | None) -> gpd.GeoDataFrame | None:
    """Children 0–3 placed like the elderly: each demand point gets its community's ``pop_0_3`` in proportion
    to its share of the community's elderly (the same building/node weights). ``None`` without ``pop_0_3``."""
    if communities is None or "pop_0_3" not in communities or communities["pop_0_3"].isna().all():
        return None
    kids = communities.set_index(communities["community_id"].astype(str))["pop_0_3"].fillna(0.0)
    ids = demand["community_id"].astype(str)
    elderly = demand.groupby(ids)["population"].transform("sum").to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        weight = np.where(elderly > 0, demand["population"].to_numpy(dtype=float) / elderly, 0.0)
    return demand.assign(population=weight * kids.reindex(ids.to_numpy()).fillna(0.0).to_numpy())


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


def _warn_if_gcj_offset(facilities: gpd.GeoDataFrame, network: WalkNetwork) -> None:
    """Warn when facilities declared WGS-84 sit where GCJ-02 (Amap/Tencent) coordinates would."""

    def distance_m(lon, lat):
        x, y = network.from_wgs84.transform(lon, lat)
        return snap_points(network, np.column_stack([x, y]), max_snap_m=5_000.0).offset_m

    check = gcj_offset_suspected(facilities.geometry.x.to_numpy(), facilities.geometry.y.to_numpy(), distance_m)
    if check.suspected:
        log.warning(check.message("facilities"))


def _childcare_circle(study: StudyInputs, thresholds, *, walk_speed_mps, max_snap_m, target_share):
    """The childcare circle of "一老一小": children 0–3 to childcare facilities, when both are given."""
    fac = study.all_facilities
    care = fac[(fac["type"] == "childcare").to_numpy()]
    if study.children is None or len(care) == 0:
        return None
    cov = measure_coverage(study.network, care, study.children, study.communities, thresholds_min=thresholds,
                           walk_speed_mps=walk_speed_mps, max_snap_m=max_snap_m, target_share=target_share)
    summary = {**cov.summary, "population_group": "children 0-3"}
    return replace(cov, communities=cov.communities.rename(columns={"elderly": "children"}), summary=summary)


# ----------------------------------------------------------------------------------------------- helpers

_READER_ARGS = {
    "facility_id_col": "id_col", "community_id_col": "id_col", "community_name_col": "name_col",
    "demand_community_col": "community_col",
}


def _pick(columns: dict, *names: str) -> dict:
    return {_READER_ARGS.get(k, k): columns[k] for k in names if columns.get(k) is not None}


def _as_gdf(value, reader, kwargs) -> gpd.GeoDataFrame:
    if isinstance(value, gpd.GeoDataFrame):
        return value
    return reader(value, **kwargs)


def _describe(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, gpd.GeoDataFrame):
        return f"GeoDataFrame ({len(value)} rows)"
    return str(value)


def _buildings_for(area: Area, buildings) -> gpd.GeoDataFrame | None:
    if isinstance(buildings, gpd.GeoDataFrame):
        return buildings
    if buildings is not None:
        path = Path(buildings)
        if not path.is_file():
            raise InputError(f"buildings file {str(path)!r} does not exist; check the path or drop --buildings.")
        return gpd.read_file(path)
    if area.is_default:
        return osm_buildings(default_network_path())
    if area.network is not None:
        return osm_buildings(area.network)
    return None  # online areas: population goes on network nodes unless a buildings file is given


def _read_polygon(path: Path) -> shapely.Geometry:
    return shapely.union_all(read_polygons(path).geometry.values)
