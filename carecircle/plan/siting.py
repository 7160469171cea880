"""Site suggestion on the map: candidates, their sparse coverage of demand, and the solvers' answer.

The solvers themselves (:mod:`carecircle.plan.optimize`) see only a sparse candidate × demand matrix and weights;
this module builds that matrix from the walking network, runs them with the existing facilities fixed, and
checks the answer by recomputing coverage from scratch with the suggested sites added.
"""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from carecircle.core.coverage import measure_coverage, projected_xy, threshold_label
from carecircle.core.isochrones import isochrones
from carecircle.core.network import Progress, WalkNetwork
from carecircle.core.travel import (
    DEFAULT_MAX_SNAP_M,
    DEFAULT_WALK_SPEED_MPS,
    snap_points,
    source_demand_distances,
    travel_times,
)
from carecircle.errors import InputError
from carecircle.plan.optimize import coverage_curve, maximal_covering, p_median, set_covering
from carecircle.plan.results import Suggestion

log = logging.getLogger(__name__)

METHODS = ("mclp", "set-cover", "p-median")


def candidate_grid(network: WalkNetwork, *, spacing_m: float = 150.0,
                   within: gpd.GeoDataFrame | None = None) -> gpd.GeoDataFrame:
    """Candidate sites generated from the network: in each ``spacing_m`` square, the node nearest its centre.

    Every candidate stands on the walking network. ``within`` (polygons, any CRS) keeps only candidates inside
    the study area (e.g. the communities). Ids are ``S1, S2, ...`` ordered by position (south-west first).
    """
    if not spacing_m > 0:
        raise InputError(f"candidate spacing {spacing_m!r} m must be positive (e.g. 150).")
    xy = network.node_xy
    cell = np.floor(xy / spacing_m).astype(np.int64)
    centre = (cell + 0.5) * spacing_m
    dist = np.hypot(*(xy - centre).T)
    key = (cell[:, 1] - cell[:, 1].min()) * (cell[:, 0].max() - cell[:, 0].min() + 1) + (cell[:, 0] - cell[:, 0].min())
    order = np.lexsort((np.arange(len(xy)), dist, key))
    first = np.r_[True, key[order][1:] != key[order][:-1]]
    pick = order[first]
    pts = shapely.points(xy[pick])
    if within is not None and len(within):
        area = shapely.union_all(within.to_crs(network.crs).geometry.values)
        pick, pts = pick[shapely.contains(area, pts)], pts[shapely.contains(area, pts)]
    gdf = gpd.GeoDataFrame({"candidate_id": [f"S{i + 1}" for i in range(len(pick))],
                            "name": [f"Candidate S{i + 1}" for i in range(len(pick))]},
                           geometry=pts, crs=network.crs)
    log.info("siting: %d candidate sites on a %g m grid", len(gdf), spacing_m)
    return gdf.to_crs("EPSG:4326")


def suggest_sites(
    network: WalkNetwork,
    facilities: gpd.GeoDataFrame,
    demand: gpd.GeoDataFrame,
    communities: gpd.GeoDataFrame | None = None,
    *,
    candidates: gpd.GeoDataFrame | None = None,
    method: str = "mclp",
    new_sites: int = 5,
    target_share: float = 0.9,
    minutes: float = 15.0,
    walk_speed_mps: float = DEFAULT_WALK_SPEED_MPS,
    max_snap_m: float = DEFAULT_MAX_SNAP_M,
    spacing_m: float = 150.0,
    cost_col: str | None = None,
    budget: float | None = None,
    capacity_col: str | None = None,
    curve_sites: int | None = None,
    time_limit_s: float = 30.0,
    exclude: gpd.GeoDataFrame | None = None,
    progress: Progress | None = None,
) -> Suggestion:
    """Suggest where new facilities close the coverage gaps, existing facilities kept.

    Parameters
    ----------
    network, facilities, demand, communities : as for :func:`carecircle.measure_coverage`.
    candidates : candidate sites (points with ``candidate_id``); default: :func:`candidate_grid` inside the
        communities at ``spacing_m``.
    method : ``"mclp"`` (best ``new_sites`` sites for covered elderly), ``"set-cover"`` (fewest sites to
        reach ``target_share``) or ``"p-median"`` (``new_sites`` sites for least total walking time; it takes
        every demand point's time to the nearest existing facility from an unbounded walk, also beyond the cap
        of the coverage search, :func:`carecircle.core.coverage.search_cap_min`).
    minutes : the walking-time threshold of coverage (default 15).
    cost_col, budget : per-site cost column of ``candidates`` and the total budget (MCLP).
    capacity_col : per-site capacity (elderly served) column of ``candidates`` (capacitated MCLP).
    curve_sites : length of the coverage curve (default ``max(new_sites, 10)``).
    time_limit_s : solver time limit; the result states the proven gap.
    exclude : polygons (any CRS) where no new site may go (water, protected land, sites already refused).
    progress : optional callback for the long steps (see :data:`carecircle.core.network.Progress`).

    Returns
    -------
    Suggestion
    """
    if method not in METHODS:
        raise InputError(f"method {method!r} is unknown; use one of {', '.join(METHODS)}.")
    before = measure_coverage(network, facilities, demand, communities, thresholds_min=(minutes,),
                              walk_speed_mps=walk_speed_mps, max_snap_m=max_snap_m, target_share=target_share)
    if candidates is None:
        candidates = candidate_grid(network, spacing_m=spacing_m, within=communities)
    if exclude is not None and len(exclude) and len(candidates):
        zone = shapely.union_all(exclude.to_crs(candidates.crs).geometry.values)
        inside = shapely.intersects(zone, candidates.geometry.values)
        log.info("siting: %d candidate sites lie in excluded zones and are left out", int(inside.sum()))
        candidates = candidates[~inside]
    if len(candidates) == 0:
        raise InputError("no candidate sites; give a candidate file with points inside the study area, "
                         "or a smaller --spacing-m.")
    # A canonical order (id, then position) so that ties between equal sites never depend on input order.
    cand_xy = shapely.get_coordinates(candidates.to_crs(network.crs).geometry.values)
    canon = np.lexsort((cand_xy[:, 1], cand_xy[:, 0], candidates[_id_col(candidates)].astype(str).to_numpy()))
    candidates, cand_xy = candidates.iloc[canon], cand_xy[canon]
    dem_xy = shapely.get_coordinates(demand.to_crs(network.crs).geometry.values)
    c_snap = snap_points(network, cand_xy, max_snap_m=max_snap_m)
    if not c_snap.ok.any():
        raise InputError(f"none of the {len(candidates)} candidate sites lies within {max_snap_m:g} m of the "
                         "walking network; check their coordinates.")
    dropped = int((~c_snap.ok).sum())
    if dropped:
        log.warning("siting: %d candidate sites lie farther than %g m from the network and are left out",
                    dropped, max_snap_m)
    keep = np.flatnonzero(c_snap.ok)
    cands = candidates.iloc[keep]
    d_snap = snap_points(network, dem_xy, max_snap_m=max_snap_m)
    limit_m = minutes * 60.0 * walk_speed_mps
    dist = source_demand_distances(network, c_snap, d_snap, limit_m=limit_m, progress=progress)[keep]
    cover = dist.copy()
    cover.data = np.ones_like(cover.data)
    w = demand["population"].to_numpy(dtype=float)
    lab = threshold_label(minutes)
    covered0 = before.demand[f"covered_{lab}"].to_numpy(dtype=bool)
    cost = cands[cost_col].to_numpy(dtype=float) if cost_col else None
    capacity = cands[capacity_col].to_numpy(dtype=float) if capacity_col else None

    if method == "mclp":
        if budget is not None:  # the budget bounds the number of sites; a site count above the candidates is moot
            new_sites = min(new_sites, len(cands)) if isinstance(new_sites, int) and new_sites > 0 else new_sites
        sol = maximal_covering(cover, w, new_sites, covered0=covered0, cost=cost, budget=budget, capacity=capacity,
                               time_limit_s=time_limit_s)
    elif method == "set-cover":
        sol = set_covering(cover, w, target_share, covered0=covered0, cost=cost, time_limit_s=time_limit_s)
    else:
        minutes_matrix = dist.copy()
        minutes_matrix.data = minutes_matrix.data / walk_speed_mps / 60.0
        # Total walking time needs every demand point's time to its nearest existing facility, also beyond the
        # coverage search's cap (measure_coverage reads those as not reached): one unbounded walk, snaps reused.
        current = travel_times(network, projected_xy(facilities, network), dem_xy, walk_speed_mps=walk_speed_mps,
                               max_snap_m=max_snap_m, demand_snap=d_snap).minutes
        sol = p_median(minutes_matrix, w, new_sites, current=current, time_limit_s=time_limit_s)

    chosen = np.asarray(sol.chosen, dtype=np.int64)
    sites = cands.iloc[chosen].copy()
    sites["rank"] = np.arange(1, len(chosen) + 1)
    sites["gain"] = _newly_covered(cover, w, covered0, chosen)
    if method == "p-median":
        sites["minutes_saved"] = np.asarray(sol.gains, dtype=float)  # person-minutes each site saves
    total = float(w.sum())
    sites["share_after"] = (float(w[covered0].sum()) + np.cumsum(sites["gain"].to_numpy())) / total if total else np.nan
    if capacity is not None:  # a site serves at most its capacity: what the solver counted, beside the walk's gain
        sites["served"] = np.asarray(sol.gains, dtype=float)
        sites["share_served_after"] = ((float(w[covered0].sum()) + np.cumsum(sites["served"].to_numpy())) / total
                                       if total else np.nan)

    new_fac = gpd.GeoDataFrame(
        {"facility_id": sites[_id_col(sites)].astype(str).to_numpy(), "name": sites["name"].astype(str).to_numpy()
         if "name" in sites else sites[_id_col(sites)].astype(str).to_numpy(), "type": "suggested"},
        geometry=sites.geometry.values, crs=sites.crs).to_crs(facilities.crs)
    both = pd.concat([facilities, new_fac], ignore_index=True)
    after = measure_coverage(network, both, demand, communities, thresholds_min=(minutes,),
                             walk_speed_mps=walk_speed_mps, max_snap_m=max_snap_m, target_share=target_share)

    n_curve = curve_sites if curve_sites is not None else max(new_sites, 10)
    n_curve = min(n_curve, len(cands))
    curve_x, curve_share = coverage_curve(cover, w, n_curve, covered0=covered0)
    curve = pd.DataFrame({"sites": np.asarray(curve_x, dtype=int), "share": np.asarray(curve_share, dtype=float)})
    curve["covered"] = curve["share"] * total
    log.info("siting: %s chose %d sites; %s share %.1f%% → %.1f%% (%s, gap %.2g)", method, len(chosen), lab,
             100 * before.summary["share"][lab], 100 * after.summary["share"][lab], sol.status, sol.gap)
    sites = sites.to_crs("EPSG:4326")
    return Suggestion(method=method, minutes=float(minutes), sites=sites, curve=curve, before=before, after=after,
                      solution=sol, n_candidates=len(cands),
                      isochrones=_site_isochrones(network, sites, minutes, walk_speed_mps, max_snap_m))


def _site_isochrones(network: WalkNetwork, sites: gpd.GeoDataFrame, minutes: float, walk_speed_mps: float,
                     max_snap_m: float) -> gpd.GeoDataFrame:
    """One walking isochrone per chosen site at ``minutes`` (EPSG:4326; ``facility_id`` is the site's id)."""
    if len(sites) == 0:
        return gpd.GeoDataFrame({"facility_id": pd.Series(dtype=object), "minutes": pd.Series(dtype=float)},
                                geometry=gpd.GeoSeries([], crs="EPSG:4326"))
    points = sites.rename(columns={"candidate_id": "facility_id"})
    iso = isochrones(network, points, thresholds_min=(minutes,), walk_speed_mps=walk_speed_mps,
                     max_snap_m=max_snap_m, per_facility=True)
    return iso[iso["facility_id"].notna()]


def _newly_covered(cover, w: np.ndarray, covered0: np.ndarray, chosen: np.ndarray) -> np.ndarray:
    """Elderly newly covered by each chosen site in turn (a loop over the few chosen sites, not demand)."""
    covered = covered0.copy()
    gains = np.zeros(len(chosen))
    for k, i in enumerate(chosen):
        cols = cover.indices[cover.indptr[i]:cover.indptr[i + 1]]
        new = cols[~covered[cols]]
        gains[k] = w[new].sum()
        covered[new] = True
    return gains


def _id_col(gdf) -> str:
    for col in ("candidate_id", "facility_id"):
        if col in gdf:
            return col
    raise InputError("candidate sites need an id column (candidate_id or facility_id).")
