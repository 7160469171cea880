"""One study, end to end: read → network → demand → coverage → standards → isochrones → new sites.

:func:`run` takes a :class:`~carecircle.config.StudyConfig` (built by the CLI, a scenario file or Python) and
returns a :class:`~carecircle.plan.results.StudyResult`; :func:`prepare` stops after placing demand (what site
suggestion starts from) and :func:`suggest` chooses new sites. :func:`run_study` and :func:`prepare_study` are
keyword helpers for Python users that build the configuration first. Every computation happens here or below;
nothing here writes files (see :mod:`carecircle.runner` and :mod:`carecircle.outputs`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from carecircle.config import Area, StudyConfig
from carecircle.core.access import measure_accessibility, with_accessibility
from carecircle.core.coverage import (
    CoverageFacts,
    CoverageResult,
    coverage_by_type,
    measure_coverage,
    rollup,
    threshold_label,
)
from carecircle.core.demand import children_demand, osm_buildings, place_demand
from carecircle.core.isochrones import isochrones
from carecircle.core.network import Progress, WalkNetwork, download_network, load_network, network_from_lines
from carecircle.core.osm_tags import EDGE_STEPS
from carecircle.core.raster_demand import raster_demand
from carecircle.core.travel import snap_points
from carecircle.core.walk_model import apply_walk_model
from carecircle.defaults import MAX_PER_FACILITY_ISOCHRONES
from carecircle.errors import InputError
from carecircle.io.coords import gcj_offset_suspected, normalise_crs
from carecircle.io.default_data import DEFAULT_NOTE, default_data_dir, default_network_path, localised_note
from carecircle.io.facility_edits import apply_facility_edits
from carecircle.io.facility_types import ELDER_CARE, normalise_types, read_type_map
from carecircle.io.readers import (
    check_community_ids,
    join_subdistricts,
    read_communities,
    read_demand,
    read_facilities,
    read_polygons,
)
from carecircle.plan.access_sites import accessibility_with_sites
from carecircle.plan.compliance import evaluate
from carecircle.plan.results import SENSITIVITY_COLUMNS, StudyInputs, StudyResult, Suggestion
from carecircle.plan.siting import suggest_sites

__all__ = ["Area", "SuggestionInputs", "children_demand", "clip_to_region", "join_subdistricts", "load_area", "prepare",
           "prepare_study", "read_suggestion_inputs", "run", "run_study", "speed_sensitivity", "study_config",
           "suggest", "walking_features"]

log = logging.getLogger(__name__)

#: Reader keyword of each column option whose name differs (``columns`` keys → reader arguments).
READER_ARGS = {
    "facility_id_col": "id_col", "community_id_col": "id_col", "community_name_col": "name_col",
    "demand_community_col": "community_col",
}
FACILITY_COLUMNS = ("facility_id_col", "name_col", "type_col", "capacity_col", "area_col", "beds_col",
                    "nursing_beds_col", "lon_col", "lat_col", "crs")
COMMUNITY_COLUMNS = ("community_id_col", "community_name_col", "elderly_col", "pop_col", "households_col",
                     "subdistrict_col", "district_col", "residential_col", "children_col")
DEMAND_COLUMNS = ("population_col", "demand_community_col", "lon_col", "lat_col", "crs")


def reader_args(columns: dict, names: Sequence[str]) -> dict:
    """The reader keyword arguments for the column options ``names`` that ``columns`` gives."""
    return {READER_ARGS.get(k, k): columns[k] for k in names if columns.get(k) is not None}


def load_area(area: Area, *, cache_dir: str | os.PathLike | None = None,
              progress: Progress | None = None) -> WalkNetwork:
    """The walking network of ``area`` (the bundled Helsinki extract when the area is the default)."""
    if area.is_default:
        return load_network(default_network_path(), cache_dir=cache_dir, progress=progress)
    if area.network is not None:
        return load_network(area.network, cache_dir=cache_dir, progress=progress)
    polygon = shapely.union_all(read_polygons(area.polygon).geometry.values) if area.polygon is not None else None
    return download_network(place=area.place, bbox=area.bbox, polygon=polygon, cache_dir=cache_dir,
                            progress=progress)


def read_study_facilities(config: StudyConfig) -> gpd.GeoDataFrame:
    """Every facility of the study: the facility input (the demo's without an area) with the scenario's
    additions, removals and changes applied, types normalised."""
    given = config.inputs.facilities
    if given is None:
        if config.area is not None:  # refused by the configuration already; kept for a config built otherwise
            raise InputError("no facilities given; pass --facilities with a CSV (lon/lat) or GeoJSON of care "
                             "facilities.")
        given = default_data_dir() / "facilities.csv"
    type_map = read_type_map(config.inputs.type_map) if config.inputs.type_map is not None else None
    fac = given if isinstance(given, gpd.GeoDataFrame) else read_facilities(
        given, **reader_args(config.reader_columns, FACILITY_COLUMNS), type_map=type_map,
        sheet=config.inputs.sheet_of("facilities"))
    spec = config.facilities
    if spec.has_changes:
        fac = apply_facility_edits(fac, add=[a.model_dump() for a in spec.add], remove=spec.remove,
                                   change={k: v.model_dump(exclude_unset=True) for k, v in spec.change.items()},
                                   crs=spec.crs)
    return fac.assign(type=normalise_types(fac["type"], file="facilities", type_map=type_map)
                      if "type" in fac else "unspecified")


def prepare(config: StudyConfig, *, cache_dir: str | os.PathLike | None = None,
            progress: Progress | None = None) -> StudyInputs:
    """Read and check the inputs (before any heavy work), load the network and place demand."""
    step = progress or (lambda *_args: None)
    area = config.area_value
    inputs = config.inputs
    communities, demand = inputs.communities, inputs.demand
    if area.is_default and communities is None and demand is None:
        communities = default_data_dir() / "communities.geojson"
    raster = inputs.population_raster
    if raster and demand is not None:
        raise InputError("give demand points (--demand) or a population raster (--population-raster), not both.")
    if communities is None and demand is None and not raster:
        raise InputError("no demand given; pass --communities (polygons with elderly population), --demand (points) "
                         "or --population-raster (GeoTIFF).")

    step("Reading inputs")
    columns = config.reader_columns
    fac = read_study_facilities(config)
    elder = fac[fac["type"].isin(ELDER_CARE).to_numpy()]
    if len(elder) == 0:
        raise InputError(f"none of the {len(fac)} facilities is an elder-care facility (types found: "
                         f"{', '.join(sorted(set(fac['type'])))}); add elder-care facilities of types "
                         f"{', '.join(ELDER_CARE[:-1])}.")
    com = None
    if communities is not None:
        com = _layer(communities, read_communities, {**reader_args(columns, COMMUNITY_COLUMNS),
                                                     **({"require_elderly": False} if raster else {})})
        if inputs.subdistricts is not None:
            com = join_subdistricts(com, inputs.subdistricts)
    dem = _layer(demand, read_demand, {**reader_args(columns, DEMAND_COLUMNS), "sheet": inputs.sheet_of("demand")}
                 ) if demand is not None else None
    if dem is not None and com is not None:
        check_community_ids(dem, com)  # before the network loads, so a mismatch fails fast

    network = load_area(area, cache_dir=cache_dir, progress=progress)
    region_note = None
    if config.region is not None:
        step("Cutting the region out of the network")
        network, fac, com, dem, region_note = clip_to_region(config, network, fac, com, dem)
        elder = fac[fac["type"].isin(ELDER_CARE).to_numpy()]
    unmodelled = network
    model = config.walk_model
    if not model.is_plain:
        step(f"Applying the {model.name} walking model")
        network = apply_walk_model(network, model, config.walking.walk_speed_mps)
    if normalise_crs(config.facilities.crs) == "wgs84":  # declared WGS-84: do they look GCJ-shifted?
        _warn_if_gcj_offset(fac, network)
    if dem is None and raster:
        step("Placing elderly population from the raster")
        dem = raster_demand(raster, network, com, scale=inputs.raster_scale)
    if dem is None:
        step("Placing elderly population inside communities")
        buildings = _buildings_for(area, inputs.buildings) if inputs.demand_method == "buildings" else None
        dem = place_demand(com, network, method=inputs.demand_method, buildings=buildings)
    demo = area.is_default and inputs.facilities is None and inputs.communities is None and inputs.demand is None
    described = _describe_inputs(config, network, communities)
    if region_note is not None:
        described["region"] = region_note
    return StudyInputs(name=config.label, network=network, facilities=elder, communities=com, demand=dem,
                       inputs=described, note=DEFAULT_NOTE if demo else None,
                       all_facilities=fac, children=children_demand(dem, com), unmodelled_network=unmodelled)


def run(config: StudyConfig, *, cache_dir: str | os.PathLike | None = None,
        progress: Progress | None = None) -> StudyResult:
    """Run one coverage study: coverage per threshold, per facility type, roll-ups, the childcare circle, the
    standards profile's checks and the isochrones (unless ``outputs.isochrones`` is off).

    Parameters
    ----------
    config : the study (see :class:`~carecircle.config.StudyConfig`).
    cache_dir : network cache folder (``None``: no cache).
    progress : optional callback receiving a description of each step (see :data:`carecircle.core.network.Progress`).
    """
    study = prepare(config, cache_dir=cache_dir, progress=progress)
    step = progress or (lambda *_args: None)
    thresholds, target, lang, profile = config.thresholds, config.target, config.lang, config.profile
    speed, snap = config.walking.walk_speed_mps, config.walking.max_snap_m
    step("Computing walking times and coverage")
    cov = measure_coverage(study.network, study.facilities, study.demand, study.communities,
                           thresholds_min=thresholds, walk_speed_mps=speed, max_snap_m=snap, target_share=target)
    facts = CoverageFacts(study.network, study.all_facilities, study.demand, cov.communities
                          if study.communities is not None else None, children=study.children,
                          walk_speed_mps=speed, max_snap_m=snap)
    by_type = coverage_by_type(facts, profile.type_minutes if profile is not None else None)
    rollups = {}
    if study.communities is not None:
        for level in ("subdistrict", "district"):
            if cov.communities[level].notna().any():
                rollups[level] = rollup(cov.communities, level, thresholds, target_share=target)
    childcare = _childcare_circle(study, thresholds, walk_speed_mps=speed, max_snap_m=snap, target_share=target)
    access = None
    if config.accessibility is not None:
        spec = config.accessibility
        step(f"Measuring accessibility ({spec.method}, supply: {spec.supply_col})")
        children = spec.population == "children"
        if children and childcare is None:
            raise InputError("accessibility for children needs the communities' 0–3 population (pop_0_3 / "
                             "0–3岁人口) and childcare facilities (type childcare / 托育); give both, or drop "
                             "--access-population children.")
        circle = childcare if children else cov
        fac = study.all_facilities[(study.all_facilities["type"] == "childcare").to_numpy()] if children \
            else study.facilities
        access = measure_accessibility(
            study.network, fac, study.children if children else study.demand,
            circle.communities if study.communities is not None else None,
            method=spec.method, supply_col=spec.supply_col, thresholds_min=thresholds, band_weights=spec.band_weights,
            catchment_min=spec.catchment_min, type_minutes=profile.type_minutes if profile is not None else None,
            level=spec.level, target=config.access_target, walk_speed_mps=speed, max_snap_m=snap,
            population=spec.population)
        if children:
            childcare, _ = with_accessibility(childcare, {}, access)
        else:
            cov, rollups = with_accessibility(cov, rollups, access)
    compliance = None
    if profile is not None:
        step(f"Checking the standards of {profile.id}")
        compliance = evaluate(profile, facts, lang=lang)
    iso = None
    if config.outputs.isochrones:
        step("Drawing isochrones")
        per_facility = config.outputs.per_facility_isochrones
        if per_facility and len(study.facilities) > MAX_PER_FACILITY_ISOCHRONES:
            log.warning("isochrones: %d facilities, more than %d: drawing the merged walking areas only (per-facility "
                        "ones would take minutes and only serve the map; coverage figures are unaffected)",
                        len(study.facilities), MAX_PER_FACILITY_ISOCHRONES)
            per_facility = False
        iso = isochrones(study.network, study.facilities, thresholds_min=thresholds, walk_speed_mps=speed,
                         max_snap_m=snap, per_facility=per_facility, progress=progress)
    features = walking_features(study.network, speed) if config.walk_model.name == "older" else None
    sensitivity = None
    if config.walking.sensitivity_speeds:
        step(f"Coverage at {', '.join(f'{v:g}' for v in config.walking.speeds_mps)} m/s")
        sensitivity = speed_sensitivity(config, study, cov)
    inputs = {**study.inputs, **({"standard": profile.id} if profile is not None else {}),
              **({"scenario": str(config.path)} if config.path is not None else {})}
    return StudyResult(name=study.name, network=study.network, coverage=cov, isochrones=iso, inputs=inputs,
                       note=localised_note(study.note, lang), by_type=by_type, rollups=rollups, childcare=childcare,
                       profile=profile, compliance=compliance, lang=lang, facilities=study.all_facilities,
                       accessibility=access, sensitivity=sensitivity, walking_features=features,
                       distances_m=tuple(config.distances_m) if config.distances_m is not None else None)


def walking_features(network: WalkNetwork, walk_speed_mps: float) -> gpd.GeoDataFrame:
    """What the walking model slows, for the map (EPSG:4326): stair segments (``kind`` ``"steps"``) and the
    penalised crossings (``"crossing"``: nodes at a segment end that costs a wait, with ``wait_s`` the full wait
    of crossing there)."""
    parts = []
    if network.edge_kind is not None:
        steps = network.edge_kind == EDGE_STEPS
        parts.append(gpd.GeoDataFrame({"kind": "steps", "wait_s": np.nan}, index=range(int(steps.sum())),
                                      geometry=network.segments[steps], crs=network.crs))
    if network.edge_pen_u is not None:
        nodes = np.concatenate([network.edge_u[network.edge_pen_u > 0], network.edge_v[network.edge_pen_v > 0]])
        pens = np.concatenate([network.edge_pen_u[network.edge_pen_u > 0], network.edge_pen_v[network.edge_pen_v > 0]])
        wait = pd.Series(pens).groupby(nodes).max() * 2.0 / walk_speed_mps
        xy = network.node_xy[wait.index.to_numpy()]
        parts.append(gpd.GeoDataFrame({"kind": "crossing", "wait_s": wait.round(1).to_numpy()},
                                      geometry=shapely.points(xy), crs=network.crs))
    if not parts:
        return gpd.GeoDataFrame({"kind": [], "wait_s": []}, geometry=[], crs="EPSG:4326")
    return gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs=network.crs).to_crs("EPSG:4326")


def speed_sensitivity(config: StudyConfig, study: StudyInputs, main: CoverageResult | None = None) -> pd.DataFrame:
    """Coverage of ``study`` at each of ``config.walking.speeds_mps``: one row per speed and threshold
    (:data:`~carecircle.plan.results.SENSITIVITY_COLUMNS`).

    The walking model is applied again at each speed (its waits and stairs are times, so they cost more metres
    at a faster pace); with the plain model the network and its snapped points are shared. Distance thresholds
    become minutes at each speed (so with the plain model their coverage is the same at every speed). ``main``
    is the main study's coverage, reused at its own speed.
    """
    model, snap = config.walk_model, config.walking.max_snap_m
    base = study.unmodelled_network if study.unmodelled_network is not None else study.network
    metres = config.distances_m
    rows = []
    for speed in config.walking.speeds_mps:
        thresholds = config.thresholds_at(speed)
        if main is not None and speed == main.walk_speed_mps:
            cov = main
        else:
            network = study.network if model.is_plain else apply_walk_model(base, model, speed)
            cov = measure_coverage(network, study.facilities, study.demand, None, thresholds_min=thresholds,
                                   walk_speed_mps=speed, max_snap_m=snap, target_share=config.target)
        for i, t in enumerate(cov.thresholds_min):
            lab = threshold_label(t)
            rows.append({"speed_mps": speed, "minutes": float(t),
                         "metres": float(metres[i]) if metres is not None else np.nan,
                         "population": cov.summary["elderly_population"], "covered": cov.summary["covered"][lab],
                         "share": cov.summary["share"][lab]})
    table = pd.DataFrame(rows, columns=list(SENSITIVITY_COLUMNS))
    log.info("speed sensitivity: %s", "; ".join(
        f"{r.speed_mps:g} m/s {r.share:.1%}" for r in table.groupby("speed_mps", sort=False).tail(1).itertuples()))
    return table


def clip_to_region(config: StudyConfig, network: WalkNetwork, facilities: gpd.GeoDataFrame,
                   communities: gpd.GeoDataFrame | None, demand: gpd.GeoDataFrame | None):
    """The network, facilities and demand of ``config.region``: the network and the facilities within
    :attr:`~carecircle.config.StudyConfig.region_buffer_m` of the boundary (people near the edge walk across
    it), and only the region's own elderly: the communities whose interior point lies inside the boundary, or
    the demand points inside it.

    Returns ``(network, facilities, communities, demand, note)``; ``note`` says what was done, for the report.
    """
    spec = config.region
    given = spec.boundary
    layer = given if isinstance(given, gpd.GeoDataFrame) else read_polygons(given)
    if layer.crs is None:
        raise InputError("region.boundary: the boundary has no CRS; save it with its CRS (GeoJSON is WGS-84).")
    boundary = shapely.union_all(layer.to_crs(network.crs).geometry.values)
    buffer_m = config.region_buffer_m
    zone = shapely.buffer(boundary, buffer_m) if buffer_m > 0 else boundary
    shapely.prepare(zone)
    keep = shapely.intersects(zone, network.segments)
    name = _describe(given)
    if not keep.any():
        raise InputError(f"region.boundary {name}: no street of the network lies within {buffer_m:,.0f} m of the "
                         "boundary; check that the boundary and the network cover the same place.")
    clipped = network_from_lines(network.segments[keep], crs=network.crs,
                                 source=f"{network.source}, within {buffer_m:,.0f} m of the region")
    inside_zone = shapely.intersects(zone, facilities.to_crs(network.crs).geometry.values)
    fac = facilities[inside_zone]
    if not fac["type"].isin(ELDER_CARE).any():
        raise InputError(f"region.boundary {name}: none of the {len(facilities)} facilities lies within "
                         f"{buffer_m:,.0f} m of the region; check the boundary and the facilities' coordinates.")
    shapely.prepare(boundary)
    com, dem = communities, demand
    if communities is not None:
        points = communities.to_crs(network.crs).geometry.representative_point().values
        com = communities[shapely.intersects(boundary, points)]
        if len(com) == 0:
            raise InputError(f"region.boundary {name}: none of the {len(communities)} communities lies inside it; "
                             "check that the boundary and the communities cover the same place.")
        counted = f"{len(com)} of {len(communities)} communities"
    if demand is not None:
        dem = demand[shapely.intersects(boundary, demand.to_crs(network.crs).geometry.values)]
        if len(dem) == 0:
            raise InputError(f"region.boundary {name}: none of the {len(demand)} demand points lies inside it; "
                             "check that the boundary and the demand points cover the same place.")
        counted = f"{len(dem)} of {len(demand)} demand points"
    note = (f"{name}: the walking network and the facilities extend {buffer_m:,.0f} m beyond the region's boundary "
            f"(older people near it walk to facilities across it; {len(fac)} of {len(facilities)} facilities "
            f"used); only the elderly living inside the boundary are counted ({counted}).")
    log.info("region: %s", note)
    return clipped, fac, com, dem, note


@dataclass(frozen=True)
class SuggestionInputs:
    """A suggestion's own inputs, read before the heavy work so that a bad file fails fast."""

    candidates: gpd.GeoDataFrame | None
    exclude: gpd.GeoDataFrame | None


def read_suggestion_inputs(config: StudyConfig) -> SuggestionInputs:
    """The candidate sites and the excluded zones of ``config.suggest`` (``None`` each when not given)."""
    spec = config.suggest
    if spec is None:
        return SuggestionInputs(None, None)
    exclude = read_polygons(spec.exclude) if spec.exclude is not None else None
    candidates = None
    if spec.candidates is not None:
        candidates = read_facilities(spec.candidates, crs=config.facilities.crs, type_col=None)
        for col, key in ((spec.cost_col, "cost_col"), (spec.site_capacity_col, "site_capacity_col")):
            if col is not None and col not in candidates.columns:
                raise InputError(f"{spec.candidates.name}: no column {col!r} (suggest.{key}); columns: "
                                 f"{', '.join(map(str, candidates.columns))}.")
    return SuggestionInputs(candidates, exclude)


def suggest(config: StudyConfig, study: StudyInputs, *, inputs: SuggestionInputs | None = None,
            progress: Progress | None = None, existing_isochrones: gpd.GeoDataFrame | None = None) -> Suggestion:
    """New sites for ``study`` as ``config.suggest`` asks (method, number or target, candidates, budget, ...).

    The existing facilities' walking areas (``Suggestion.existing_isochrones``, for the maps) are
    ``existing_isochrones`` when given (a finished study's), else drawn here unless ``outputs.isochrones`` is off.
    """
    spec = config.suggest
    if spec is None:
        raise InputError("no site suggestion asked for; add a suggest section (or use `carecircle suggest`).")
    inputs = inputs if inputs is not None else read_suggestion_inputs(config)
    found = suggest_sites(
        study.network, study.facilities, study.demand, study.communities, candidates=inputs.candidates,
        method=spec.method, new_sites=spec.new_sites, target_share=config.suggest_target,
        minutes=config.suggest_minutes, walk_speed_mps=config.walking.walk_speed_mps,
        max_snap_m=config.walking.max_snap_m, spacing_m=spec.spacing_m, cost_col=spec.cost_col, budget=spec.budget,
        capacity_col=spec.site_capacity_col, time_limit_s=spec.time_limit_s, exclude=inputs.exclude,
        progress=progress)
    if existing_isochrones is None and config.outputs.isochrones and len(study.facilities):
        existing_isochrones = isochrones(study.network, study.facilities, thresholds_min=config.thresholds,
                                         walk_speed_mps=config.walking.walk_speed_mps,
                                         max_snap_m=config.walking.max_snap_m, per_facility=False)
    found = replace(found, existing_isochrones=existing_isochrones)
    access = config.accessibility
    if access is None:
        return found
    table, _ = accessibility_with_sites(
        study.network, study.facilities, found.sites, study.demand, study.communities, method=access.method,
        supply_col=access.supply_col, thresholds_min=config.thresholds, band_weights=access.band_weights,
        catchment_min=access.catchment_min, type_minutes=config.profile.type_minutes if config.profile else None,
        level=access.level, target=config.access_target, walk_speed_mps=config.walking.walk_speed_mps,
        max_snap_m=config.walking.max_snap_m, progress=progress)
    after = table.iloc[1:]
    sites = found.sites.assign(access_supply=after["site_supply"].to_numpy(),
                               access_mean_after=after["access_mean"].to_numpy(),
                               access_gini_after=after["access_gini"].to_numpy(),
                               access_below_after=after["access_below"].to_numpy())
    return replace(found, sites=sites, accessibility=table)


def studied_inputs(study: StudyResult) -> StudyInputs:
    """The inputs of a finished study, as site suggestion and :func:`carecircle.outputs.export.write_suggestion`
    take them (communities with their coverage columns)."""
    cov = study.coverage
    return StudyInputs(name=study.name, network=study.network, facilities=cov.facilities,
                       communities=cov.communities if len(cov.communities) else None, demand=cov.demand,
                       inputs=study.inputs, note=study.note, all_facilities=study.facilities)


# ------------------------------------------------------------------------------------ the keyword helpers


def study_config(
    area: Area | None = None,
    *,
    facilities: str | os.PathLike | gpd.GeoDataFrame | None = None,
    communities: str | os.PathLike | gpd.GeoDataFrame | None = None,
    demand: str | os.PathLike | gpd.GeoDataFrame | None = None,
    buildings: str | os.PathLike | gpd.GeoDataFrame | None = None,
    demand_method: str | None = None,
    subdistricts: str | os.PathLike | gpd.GeoDataFrame | None = None,
    standard: str | os.PathLike | None = None,
    thresholds_min: Sequence[float] | None = None,
    distances_m: Sequence[float] | None = None,
    walk_speed_mps: float | None = None,
    sensitivity_speeds: Sequence[float | str] | None = None,
    walk_model: str | dict | None = None,
    max_snap_m: float | None = None,
    target_share: float | None = None,
    with_isochrones: bool | None = None,
    per_facility_isochrones: bool | None = None,
    lang: str | None = None,
    columns: dict | None = None,
    accessibility: str | dict | None = None,
    supply_col: str | None = None,
) -> StudyConfig:
    """A :class:`~carecircle.config.StudyConfig` from keyword arguments (those of :func:`run_study`), checked by
    the same rules and with the same messages as the CLI and scenario files; ``None`` means the default."""
    area = area if area is not None else Area()
    columns = dict(columns or {})
    access = {"method": accessibility} if isinstance(accessibility, str) else dict(accessibility or {})
    if supply_col is not None:
        access["supply_col"] = supply_col
    crs = columns.pop("crs", None)
    data: dict[str, Any] = {
        "area": None if area.is_default else {"network": area.network, "place": area.place, "polygon": area.polygon,
                                              "bbox": list(area.bbox) if area.bbox is not None else None},
        "inputs": {"facilities": facilities, "communities": communities, "demand": demand, "buildings": buildings,
                   "subdistricts": subdistricts, "demand_method": demand_method},
        "columns": columns,
        "facilities": {"crs": crs},
        "walking": {"speed_mps": walk_speed_mps, "max_snap_m": max_snap_m,
                    "sensitivity_speeds": list(sensitivity_speeds) if sensitivity_speeds is not None else None,
                    **({"model": walk_model} if isinstance(walk_model, str) else dict(walk_model or {}))},
        "thresholds_min": list(thresholds_min) if thresholds_min is not None else None,
        "distances_m": list(distances_m) if distances_m is not None else None,
        "target_share": target_share,
        "standard": str(standard) if standard is not None else None,
        "outputs": {"lang": lang, "isochrones": with_isochrones, "per_facility_isochrones": per_facility_isochrones},
        "accessibility": access or None,
    }
    return StudyConfig.build(data, names=API_NAMES)


#: Key paths of the configuration as :func:`run_study`'s keywords, for messages.
API_NAMES = {"walking.speed_mps": "walk_speed_mps", "walking.sensitivity_speeds": "sensitivity_speeds",
             "walking.max_snap_m": "max_snap_m", "outputs.lang": "lang",
             "facilities.crs": "columns['crs']", "outputs.isochrones": "with_isochrones",
             **{f"inputs.{k}": k for k in ("facilities", "communities", "demand", "buildings", "subdistricts",
                                            "demand_method")}}


def run_study(area: Area | None = None, *, cache_dir: str | os.PathLike | None = None,
              progress: Progress | None = None, **options: Any) -> StudyResult:
    """Run one coverage study from keyword arguments: :func:`run` of :func:`study_config` ``(area, **options)``.

    Parameters
    ----------
    area : where the network comes from; the default is the bundled Helsinki demo.
    facilities, communities, demand : files or GeoDataFrames. With the default area they default to the
        bundled demo files; with any other area ``facilities`` and one of ``communities``/``demand`` are needed.
    buildings : footprints for the ``buildings`` demand estimate; default: those in the local OSM file.
    demand_method : ``buildings`` (default), ``nodes`` or ``centroid`` (see :mod:`carecircle.core.demand`).
    subdistricts : subdistrict (街道) polygons with a ``name`` (or ``subdistrict``) column and optional
        ``district``; each community is assigned to the one holding its interior point.
    standard : a standards profile (bundled id such as ``qitaihe-2020``, or a YAML file) whose targets are
        checked; it also supplies the thresholds, target share and language unless they are given here.
    thresholds_min, walk_speed_mps, max_snap_m, target_share : see :func:`carecircle.measure_coverage`
        (defaults without a profile: 5/10/15 minutes, 1.0 m/s, 300 m and 0.9).
    distances_m : thresholds as walking distances, metres, instead of ``thresholds_min`` (timed at the speed;
        labelled in metres).
    sensitivity_speeds : also measure coverage at each of these speeds (m/s or presets): ``StudyResult.sensitivity``.
    with_isochrones, per_facility_isochrones : draw isochrone polygons (display only; default on).
    lang : ``zh`` or ``en`` for labels (default: the profile's, else ``en``).
    columns : column-name options passed to the readers, e.g. ``{"elderly_col": "60岁以上人口"}``, and ``crs``
        of point files.
    accessibility : capacity-aware accessibility: a method (``e2sfca``, ``g2sfca``, ``2sfca``) or the scenario
        file's ``accessibility`` mapping (``method``, ``supply_col``, ``catchment_min``, ``band_weights``,
        ``level``); see :func:`carecircle.core.access.measure_accessibility`.
    supply_col : the facility column counted as supply (default ``capacity``); implies ``accessibility``.
    walk_model : ``"plain"`` or ``"older"`` (:mod:`carecircle.core.walk_model`), or the scenario file's walking
        model keys (``{"model": "older", "avoid_steps": True, "dem": "srtm.tif", "wait_signals_s": 40}``); default:
        the profile's ``walk_model``, else plain.
    cache_dir : network cache folder (``None``: no cache).
    progress : optional callback receiving a description of each step.

    Examples
    --------
    >>> result = run_study(standard="qitaihe-2020")  # doctest: +SKIP
    >>> result.coverage.summary["share"]["15"]  # doctest: +SKIP
    0.954
    """
    return run(study_config(area, **options), cache_dir=cache_dir, progress=progress)


def prepare_study(area: Area | None = None, *, cache_dir: str | os.PathLike | None = None,
                  progress: Progress | None = None, **options: Any) -> StudyInputs:
    """:func:`prepare` of :func:`study_config` ``(area, **options)``: inputs read, network loaded, demand placed."""
    return prepare(study_config(area, **options), cache_dir=cache_dir, progress=progress)


# ----------------------------------------------------------------------------------------------- helpers


def _describe_inputs(config: StudyConfig, network: WalkNetwork, communities) -> dict:
    inputs = config.inputs
    facilities = inputs.facilities if inputs.facilities is not None or config.area is not None else \
        default_data_dir() / "facilities.csv"
    out = {
        "network": network.source,
        "facilities": _describe(facilities),
        "communities": _describe(communities),
        "demand": _describe(inputs.demand) if inputs.demand is not None
        else _describe_raster(inputs) if inputs.population_raster
        else f"placed inside communities ({inputs.demand_method})",
    }
    if inputs.subdistricts is not None:
        out["subdistricts"] = _describe(inputs.subdistricts)
    if inputs.type_map is not None:
        out["type_map"] = str(inputs.type_map)
    out["walking_model"] = config.walk_model.describe()
    spec = config.facilities
    if spec.has_changes:
        source = inputs.facilities or "the demo facilities"
        added = ", ".join(a.facility_id for a in spec.add) or "none"
        out["facilities"] = (f"{source}, changed by the scenario: added {added}; removed "
                             f"{', '.join(spec.remove) or 'none'}; changed {', '.join(spec.change) or 'none'}")
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
                           walk_speed_mps=walk_speed_mps, max_snap_m=max_snap_m, target_share=target_share,
                           population="children")
    summary = {**cov.summary, "population_group": "children 0-3"}
    return replace(cov, communities=cov.communities.rename(columns={"elderly": "children"}), summary=summary)


def _layer(value, reader, kwargs) -> gpd.GeoDataFrame:
    if isinstance(value, gpd.GeoDataFrame):
        return value
    return reader(value, **kwargs)


def _describe_raster(inputs) -> str:
    files = ", ".join(str(p) for p in inputs.population_raster)
    return f"population raster {files}" + (" (scaled to the communities' 60+ totals)" if inputs.raster_scale else "")


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
