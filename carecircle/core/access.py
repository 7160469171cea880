"""Capacity-aware accessibility: the two-step floating catchment area (2SFCA) family on network walking times.

Coverage asks whether a person reaches *any* facility; accessibility asks how much supply (beds, places, floor
area) each person can reach, shared with everyone else who reaches the same facilities. For facility ``j`` with
supply ``Sⱼ`` and catchment ``dⱼ`` (walking minutes), and demand point ``i`` with ``Pᵢ`` elderly at walking time
``tᵢⱼ``:

1. ``Rⱼ = Sⱼ / Σᵢ w(tᵢⱼ) Pᵢ`` — the facility's supply per person weighted within its catchment;
2. ``Aᵢ = Σⱼ w(tᵢⱼ) Rⱼ`` — the supply a person at ``i`` can reach, reported per 1,000 elderly.

The weight ``w`` is 0 beyond the catchment and within it

- ``2sfca`` (Luo & Wang 2003): 1;
- ``e2sfca`` (enhanced, Luo & Qi 2009): one step per threshold band — with thresholds 5/10/15 minutes, ``w`` is
  1 up to 5 minutes, 0.68 up to 10, 0.22 up to 15 (the paper's weights, configurable);
- ``g2sfca`` (Gaussian, Dai 2010): ``(exp(−½ (t/d)²) − exp(−½)) / (1 − exp(−½))``, 1 at the door, 0 at the
  catchment's edge.

Since every person's supply comes from the facilities' ratios, ``Σᵢ Pᵢ Aᵢ = Σⱼ Sⱼ`` over the facilities someone
reaches: the population-weighted mean score is the study area's supply per 1,000 elderly. Walking times are the
coverage step's (off-network walks included), from one bounded search per group of facilities
(:func:`~carecircle.core.travel.source_demand_distances`): the facility × demand times within the largest
catchment are held as a sparse matrix, never a dense one.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
import scipy.sparse as sp

from carecircle.core.coverage import CoverageResult, population_noun, projected_xy
from carecircle.core.equity import gini, lorenz
from carecircle.core.network import WalkNetwork
from carecircle.core.travel import snap_points, source_demand_distances
from carecircle.defaults import (
    ACCESS_METHODS,
    ACCESS_PER,
    DEFAULT_BAND_WEIGHTS,
    DEFAULT_MAX_SNAP_M,
    DEFAULT_SUPPLY_COL,
    DEFAULT_THRESHOLDS_MIN,
    DEFAULT_WALK_SPEED_MPS,
)
from carecircle.errors import InputError
from carecircle.io.facility_types import TYPES

log = logging.getLogger(__name__)

#: Mismatch classes of a community: elderly above or below the median community, reachable supply above or below
#: the level (the target, or the study-wide supply per 1,000 elderly).
MISMATCH_CLASSES = ("high_need_low_access", "high_need_high_access", "low_need_low_access", "low_need_high_access",
                    "no_elderly")


@dataclass(frozen=True)
class AccessibilityResult:
    """Accessibility scores of one study (all scores in supply per :data:`~carecircle.defaults.ACCESS_PER` elderly).

    Attributes
    ----------
    method, supply_col : the 2SFCA variant and the facility column counted as supply.
    level : the level scores are judged against (per 1,000 elderly); ``level_source`` says where it came from:
        ``"given"``, ``"target"`` (the standards profile) or ``"mean"`` (the study-wide supply per 1,000 elderly).
    demand : per demand point (indexed like the demand input): ``access`` (score), ``below_level`` (bool).
    communities : per community (when communities are given): ``community_id``, ``elderly``, ``access``
        (population-weighted mean of its points), ``below_level``, ``mismatch`` (one of :data:`MISMATCH_CLASSES`).
    facilities : per facility: ``facility_id``, ``type``, ``supply``, ``catchment_min``, ``demand_in_catchment``
        (elderly within the catchment, weighted), ``supply_ratio`` (supply per 1,000 of them; NaN when nobody
        is within reach).
    rollups : per ``subdistrict`` / ``district`` (when communities name them): population-weighted ``access``,
        ``gini`` across its elderly, ``share_below`` (of its elderly below the level) and ``rank`` (1 = highest
        access).
    lorenz : the Lorenz curve of scores across the elderly (``population_share``, ``access_share``).
    summary : headline figures (JSON-serialisable).
    """

    method: str
    supply_col: str
    level: float
    level_source: str
    demand: pd.DataFrame
    communities: pd.DataFrame
    facilities: pd.DataFrame
    rollups: dict[str, pd.DataFrame]
    lorenz: pd.DataFrame
    summary: dict = field(repr=False)
    population: str = "elderly"


def band_weight_fn(method: str, catchment_min: float, thresholds_min: Sequence[float] = DEFAULT_THRESHOLDS_MIN,
                   band_weights: Sequence[float] | None = None):
    """The distance-decay weight of ``method`` for a catchment of ``catchment_min``, as a vectorised function of
    walking minutes (0 beyond the catchment).

    >>> w = band_weight_fn("e2sfca", 15, (5, 10, 15))
    >>> w(np.array([0.0, 5.0, 7.0, 15.0, 16.0])).tolist()
    [1.0, 1.0, 0.68, 0.22, 0.0]
    >>> band_weight_fn("g2sfca", 15)(np.array([0.0, 15.0])).round(6).tolist()
    [1.0, 0.0]
    """
    d = float(catchment_min)
    if method == "2sfca":
        return lambda t: np.where(np.asarray(t) <= d + 1e-9, 1.0, 0.0)
    if method == "g2sfca":
        edge = math.exp(-0.5)
        return lambda t: np.where(np.asarray(t) <= d + 1e-9,
                                  np.maximum((np.exp(-0.5 * (np.asarray(t) / d) ** 2) - edge) / (1 - edge), 0.0), 0.0)
    if method == "e2sfca":
        bounds, weights = _bands(thresholds_min, band_weights)

        def stepwise(t):
            t = np.asarray(t, dtype=float)
            band = np.searchsorted(bounds, t - 1e-9, side="left")  # t ≤ bounds[k] + 1e-9 → band k
            w = np.where(band < len(weights), weights[np.minimum(band, len(weights) - 1)], 0.0)
            return np.where(t <= d + 1e-9, w, 0.0)
        return stepwise
    raise InputError(f"accessibility method {method!r} is not known; use one of {', '.join(ACCESS_METHODS)}.")


def two_step_scores(weights: sp.csr_array, supply: np.ndarray, population: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The two steps on a sparse facility × demand weight matrix: facility ratios ``R`` and demand scores ``A``
    (supply per person). A facility nobody reaches has ratio NaN and gives nothing.

    >>> w = sp.csr_array(np.array([[1.0, 1.0, 0.0], [0.0, 1.0, 1.0]]))
    >>> r, a = two_step_scores(w, np.array([10.0, 30.0]), np.array([10.0, 10.0, 20.0]))
    >>> r.tolist(), a.tolist()
    ([0.5, 1.0], [0.5, 1.5, 1.0])
    """
    reached = weights @ population
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(reached > 0, supply / reached, np.nan)
    return ratio, weights.T @ np.nan_to_num(ratio, nan=0.0)


def measure_accessibility(
    network: WalkNetwork,
    facilities: pd.DataFrame,
    demand: pd.DataFrame,
    communities: pd.DataFrame | None = None,
    *,
    method: str = ACCESS_METHODS[0],
    supply_col: str = DEFAULT_SUPPLY_COL,
    thresholds_min: Sequence[float] = DEFAULT_THRESHOLDS_MIN,
    band_weights: Sequence[float] | None = None,
    catchment_min: float | None = None,
    type_minutes: Mapping[str, float] | None = None,
    level: float | None = None,
    target: float | None = None,
    walk_speed_mps: float = DEFAULT_WALK_SPEED_MPS,
    max_snap_m: float = DEFAULT_MAX_SNAP_M,
    population: str = "elderly",
) -> AccessibilityResult:
    """Accessibility of every demand point, community and subdistrict to facility supply (2SFCA family).

    Parameters
    ----------
    network : the walking network.
    facilities : facility points (GeoDataFrame) with ``facility_id``, ``type`` and the ``supply_col`` column.
    demand : demand points with ``population`` (and ``community_id`` when ``communities`` is given).
    communities : optional community table with ``community_id`` (and ``subdistrict`` / ``district`` for
        roll-ups).
    method : ``"e2sfca"`` (default), ``"g2sfca"`` or ``"2sfca"`` (see the module docstring).
    supply_col : facility column of supply (``capacity``, ``beds``, ``nursing_beds``, ``floor_area_m2`` …).
        Empty cells count as no supply (the facilities are named in the log).
    thresholds_min : the bands of ``e2sfca`` (one weight per threshold).
    band_weights : ``e2sfca`` weights, one per threshold (default 1, 0.68, 0.22 for three thresholds).
    catchment_min : one catchment for every facility, minutes; ``None``: each facility's type's threshold
        (``type_minutes``, else the type's default in :mod:`carecircle.io.facility_types`; a station's 10
        minutes, a centre's 15), at most the largest threshold.
    type_minutes : catchment per facility type code (a standards profile's ``type_minutes``).
    level : judge scores against this many per 1,000 elderly; ``None``: ``target`` if given, else the
        study-wide supply per 1,000 elderly.
    target : the standards profile's target for this supply (e.g. 39 beds per 1,000 elderly), when one exists.
    walk_speed_mps, max_snap_m : as in :func:`~carecircle.core.coverage.measure_coverage`.
    population : whom ``demand`` counts: ``"elderly"`` (60+, with elder-care facilities) or ``"children"`` (0–3,
        with childcare facilities: the childcare circle of 一老一小); it names the result, the arithmetic is the
        same. The summary's ``elderly_*`` keys then count children.
    """
    if method not in ACCESS_METHODS:
        raise InputError(f"accessibility method {method!r} is not known; use one of {', '.join(ACCESS_METHODS)}.")
    thresholds = tuple(sorted(float(t) for t in thresholds_min))
    if method == "e2sfca":
        _bands(thresholds, band_weights)  # a wrong count of weights fails before any walking
    supply = supply_values(facilities, supply_col)
    pop = demand["population"].to_numpy(dtype=float)
    if not pop.sum() > 0:
        raise InputError(f"the demand holds no {population} ({len(demand)} points, population 0 in all); "
                         "accessibility needs people: check the population column of the communities or demand file.")
    catchment = facility_catchments(facilities, thresholds, catchment_min=catchment_min, type_minutes=type_minutes)
    shortest_m = float(catchment.min()) * 60.0 * walk_speed_mps
    if shortest_m < max_snap_m:
        raise InputError(f"a catchment of {catchment.min():g} min at {walk_speed_mps:g} m/s is {shortest_m:.0f} m, "
                         f"shorter than the snapping distance ({max_snap_m:g} m): points could meet the network yet "
                         "reach nothing; give a longer catchment or a smaller --max-snap-m.")

    minutes = facility_demand_minutes(network, facilities, demand, limit_min=float(catchment.max()),
                                      walk_speed_mps=walk_speed_mps, max_snap_m=max_snap_m)
    weights = decay_weights(minutes, catchment, method, thresholds, band_weights)
    ratio, score = two_step_scores(weights, supply, pop)
    score = score * ACCESS_PER

    mean = float((pop * score).sum() / pop.sum())
    if level is not None:
        level_value, source = float(level), "given"
    elif target is not None:
        level_value, source = float(target), "target"
    else:
        level_value, source = mean, "mean"
    below = score < level_value - 1e-9
    dem = pd.DataFrame({"access": score, "below_level": below}, index=demand.index)
    if "community_id" in demand:
        dem.insert(0, "community_id", demand["community_id"].astype(str).to_numpy())

    fac = pd.DataFrame({
        "facility_id": facilities["facility_id"].astype(str).to_numpy(),
        "type": facilities["type"].to_numpy() if "type" in facilities else "unspecified",
        "supply": supply,
        "catchment_min": catchment,
        "demand_in_catchment": weights @ pop,
        "supply_ratio": ratio * ACCESS_PER,
    })
    com = _community_scores(communities, dem, pop, level_value) if communities is not None else _no_communities()
    rollups = {}
    if communities is not None:
        for unit in ("subdistrict", "district"):
            if unit in communities and communities[unit].notna().any():
                rollups[unit] = access_rollup(communities, dem, pop, unit, level_value)
    curve_p, curve_a = lorenz(score, pop) if mean > 0 else (np.array([0.0, 1.0]), np.array([0.0, 1.0]))
    curve = pd.DataFrame({"population_share": curve_p, "access_share": curve_a})
    summary = {
        "method": method,
        "population": population,
        "supply_col": supply_col,
        "per": ACCESS_PER,
        "band_weights": list(_bands(thresholds, band_weights)[1]) if method == "e2sfca" else None,
        "catchment_min": {str(t): float(catchment[(fac["type"] == t).to_numpy()][0]) for t in sorted(set(fac["type"]))},
        "supply_total": round(float(supply.sum()), 3),
        "supply_reached": round(float(supply[np.isfinite(ratio)].sum()), 3),
        "mean": mean,
        "median": _weighted_median(score, pop),
        "gini": gini(score, pop),
        "level": level_value,
        "level_source": source,
        "share_below_level": float(pop[below].sum() / pop.sum()),
        "elderly_below_level": round(float(pop[below].sum()), 3),
        "elderly_no_access": round(float(pop[score <= 0].sum()), 3),
        "facilities_unreached": fac.loc[~np.isfinite(ratio), "facility_id"].tolist(),
    }
    log.info("accessibility (%s, %s): %.1f per %d %s on average, Gini %.3f, %.1f%% below %.1f", method,
             supply_col, mean, ACCESS_PER, population_noun(population), summary["gini"],
             100 * summary["share_below_level"], level_value)
    return AccessibilityResult(method=method, supply_col=supply_col, level=level_value, level_source=source,
                               demand=dem, communities=com, facilities=fac, rollups=rollups, lorenz=curve,
                               summary=summary, population=population)


def supply_values(facilities: pd.DataFrame, supply_col: str) -> np.ndarray:
    """The supply column as floats: empty cells are 0 (logged); a missing column, negative values or no supply
    at all are an :class:`~carecircle.errors.InputError` naming the values and the fix."""
    if supply_col not in facilities:
        numeric = [c for c in facilities.columns if c != "geometry" and pd.api.types.is_numeric_dtype(facilities[c])
                   and c not in ("lon", "lat", "snap_m") and not str(c).startswith("served_")]
        raise InputError(f"supply column {supply_col!r} is not in the facilities (columns with numbers: "
                         f"{', '.join(map(str, numeric)) or 'none'}); give --supply-col with one of them.")
    values = pd.to_numeric(facilities[supply_col], errors="coerce").to_numpy(dtype=float)
    ids = facilities["facility_id"].astype(str).to_numpy()
    raw = facilities[supply_col].astype("string")
    text = np.isnan(values) & raw.notna().to_numpy() & (raw.str.strip() != "").fillna(False).to_numpy()
    if text.any():
        shown = ", ".join(f"{i}={v!r}" for i, v in zip(ids[text][:8], raw[text].iloc[:8], strict=False))
        raise InputError(f"supply column {supply_col!r} holds values that are not numbers: {shown}; give numbers "
                         "(e.g. 120 beds) or leave the cell empty.")
    negative = values < 0
    if negative.any():
        shown = ", ".join(f"{i} ({v:g})" for i, v in zip(ids[negative][:8], values[negative][:8], strict=False))
        raise InputError(f"supply column {supply_col!r} has negative values: {shown}; supply must be zero or more.")
    empty = np.isnan(values)
    if empty.any():
        n = int(empty.sum())
        log.warning("accessibility: %d %s no %s value and count as no supply: %s", n,
                    "facility has" if n == 1 else "facilities have", supply_col, ", ".join(ids[empty][:8]))
    values = np.where(empty, 0.0, values)
    if not values.sum() > 0:
        raise InputError(f"supply column {supply_col!r} is zero for all {len(values)} facilities; choose a column "
                         "that holds their capacity (e.g. --supply-col beds or capacity).")
    return values


def facility_catchments(facilities: pd.DataFrame, thresholds_min: Sequence[float], *,
                        catchment_min: float | None = None,
                        type_minutes: Mapping[str, float] | None = None) -> np.ndarray:
    """Catchment of each facility, minutes: ``catchment_min`` for all, else its type's minutes (``type_minutes``,
    else the type's default), at most the largest threshold."""
    largest = max(float(t) for t in thresholds_min)
    if catchment_min is not None:
        if not catchment_min > 0:
            raise InputError(f"catchment {catchment_min!r} min is not a walking time; give a positive number of "
                             "minutes, e.g. 15.")
        return np.full(len(facilities), float(catchment_min))
    given = dict(type_minutes or {})
    types = facilities["type"].astype(str).to_numpy() if "type" in facilities else np.full(len(facilities), "")
    default = given.get("any", largest)
    minutes = [given.get(t, TYPES[t].minutes if t in TYPES else default) for t in types]
    return np.minimum(np.asarray(minutes, dtype=float), largest)


def facility_demand_minutes(network: WalkNetwork, facilities: pd.DataFrame, demand: pd.DataFrame, *,
                            limit_min: float, walk_speed_mps: float = DEFAULT_WALK_SPEED_MPS,
                            max_snap_m: float = DEFAULT_MAX_SNAP_M) -> sp.csr_array:
    """Sparse facility × demand walking minutes, pairs within ``limit_min`` only (off-network walks included; the
    same times as the coverage step). Facilities or demand points farther than ``max_snap_m`` from the network
    reach nothing."""
    fac_snap = snap_points(network, projected_xy(facilities, network), max_snap_m=max_snap_m)
    dem_snap = snap_points(network, projected_xy(demand, network), max_snap_m=max_snap_m)
    metres = source_demand_distances(network, fac_snap, dem_snap, limit_m=limit_min * 60.0 * walk_speed_mps)
    return sp.csr_array((metres.data / (60.0 * walk_speed_mps), metres.indices, metres.indptr), shape=metres.shape)


def decay_weights(minutes: sp.csr_array, catchment_min: np.ndarray, method: str,
                  thresholds_min: Sequence[float] = DEFAULT_THRESHOLDS_MIN,
                  band_weights: Sequence[float] | None = None) -> sp.csr_array:
    """The weight of every stored facility × demand pair (rows: facilities with their own catchments); pairs
    weighted 0 are dropped."""
    rows = np.repeat(np.arange(minutes.shape[0]), np.diff(minutes.indptr))
    w = np.zeros(len(minutes.data))
    for d in np.unique(catchment_min):
        at = np.flatnonzero(catchment_min[rows] == d)
        w[at] = band_weight_fn(method, d, thresholds_min, band_weights)(minutes.data[at])
    keep = w > 0
    return sp.csr_array((w[keep], (rows[keep], minutes.indices[keep])), shape=minutes.shape)


def access_rollup(communities: pd.DataFrame, demand_scores: pd.DataFrame, population: np.ndarray, unit: str,
                  level: float) -> pd.DataFrame:
    """Accessibility per ``unit`` (``subdistrict`` or ``district``): population-weighted mean score, Gini across
    its elderly, the share of its elderly below ``level`` and a rank (1 = highest access)."""
    names = communities[unit].astype("string").fillna("(unassigned)")
    parent = dict(zip(communities["community_id"].astype(str), names, strict=True))
    units = demand_scores["community_id"].map(parent).fillna("(unassigned)").to_numpy()
    score = demand_scores["access"].to_numpy(dtype=float)
    rows = []
    for name in sorted(set(units)):
        at = units == name
        p, s = population[at], score[at]
        total = float(p.sum())
        rows.append({
            unit: name,
            "elderly": total,
            "access": float((p * s).sum() / total) if total > 0 else np.nan,
            "gini": gini(s, p) if total > 0 else np.nan,
            "share_below": float(p[s < level - 1e-9].sum() / total) if total > 0 else np.nan,
        })
    out = pd.DataFrame(rows, columns=[unit, "elderly", "access", "gini", "share_below"])
    out["rank"] = out["access"].rank(ascending=False, method="min").astype("Int64")
    return out


def _community_scores(communities: pd.DataFrame, dem: pd.DataFrame, pop: np.ndarray, level: float) -> pd.DataFrame:
    ids = communities["community_id"].astype(str).to_numpy()
    frame = pd.DataFrame({"community_id": dem["community_id"].to_numpy(), "elderly": pop,
                          "weighted": pop * dem["access"].to_numpy()})
    sums = frame.groupby("community_id").sum().reindex(ids).fillna(0.0)
    elderly = sums["elderly"].to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        access = np.where(elderly > 0, sums["weighted"].to_numpy() / elderly, np.nan)
    out = pd.DataFrame({"community_id": ids, "elderly": elderly, "access": access,
                        "below_level": np.where(elderly > 0, access < level - 1e-9, False)})
    out["mismatch"] = mismatch_classes(elderly, access, level)
    return out


def mismatch_classes(elderly: np.ndarray, access: np.ndarray, level: float) -> np.ndarray:
    """Need against supply per community: need is high when its elderly are at least the median community's
    (communities with elderly only), access is high when it reaches ``level``.

    >>> mismatch_classes(np.array([10.0, 50.0, 50.0, 0.0]), np.array([5.0, 1.0, 9.0, np.nan]), 4.0).tolist()
    ['low_need_high_access', 'high_need_low_access', 'high_need_high_access', 'no_elderly']
    """
    has = elderly > 0
    median = float(np.median(elderly[has])) if has.any() else 0.0
    need = np.where(elderly >= median, "high_need", "low_need")
    supply = np.where(np.nan_to_num(access, nan=0.0) >= level - 1e-9, "high_access", "low_access")
    return np.where(has, np.char.add(np.char.add(need, "_"), supply), "no_elderly").astype(object)


def _weighted_median(values: np.ndarray, weights: np.ndarray) -> float:
    order = np.argsort(values, kind="stable")
    cum = np.cumsum(weights[order])
    return float(values[order][np.searchsorted(cum, 0.5 * cum[-1])])


def _bands(thresholds_min: Sequence[float], band_weights: Sequence[float] | None) -> tuple[np.ndarray, np.ndarray]:
    bounds = np.asarray(sorted(float(t) for t in thresholds_min))
    if band_weights is None:
        if len(bounds) != len(DEFAULT_BAND_WEIGHTS):
            raise InputError(f"enhanced 2SFCA needs one band weight per threshold ({len(bounds)} thresholds: "
                             f"{', '.join(f'{t:g}' for t in bounds)}); give --band-weights with {len(bounds)} numbers "
                             "from the nearest band down, e.g. 1,0.68,0.22 for three.")
        return bounds, np.asarray(DEFAULT_BAND_WEIGHTS, dtype=float)
    weights = np.asarray([float(w) for w in band_weights])
    if len(weights) != len(bounds):
        raise InputError(f"{len(weights)} band weights for {len(bounds)} thresholds "
                         f"({', '.join(f'{t:g}' for t in bounds)}); give one weight per threshold band.")
    if not (np.isfinite(weights).all() and (weights > 0).all() and (weights <= 1).all()):
        raise InputError(f"band weights {', '.join(f'{w:g}' for w in weights)} must lie in (0, 1]; e.g. 1,0.68,0.22.")
    return bounds, weights


def _no_communities() -> pd.DataFrame:
    return pd.DataFrame(columns=["community_id", "elderly", "access", "below_level", "mismatch"])


def with_accessibility(coverage: CoverageResult, rollups: Mapping[str, pd.DataFrame], access: AccessibilityResult
                       ) -> tuple[CoverageResult, dict[str, pd.DataFrame]]:
    """The coverage tables with the accessibility columns joined in, so every table, layer and workbook sheet that
    shows a community, demand point, facility or subdistrict also shows its accessibility:

    - communities: ``access_per_1000``, ``access_below_level``, ``access_mismatch``;
    - demand points: ``access_per_1000``, ``access_below_level``;
    - facilities: ``access_catchment_min``, ``access_demand`` (elderly within the catchment, weighted) and
      ``access_supply_ratio`` (supply per 1,000 of them);
    - subdistricts / districts: ``access_per_1000``, ``access_gini``, ``access_share_below``, ``access_rank``.
    """
    dem = coverage.demand.copy()
    dem["access_per_1000"] = access.demand["access"].to_numpy()
    dem["access_below_level"] = access.demand["below_level"].to_numpy()
    fac = coverage.facilities.copy()
    by_id = access.facilities.set_index("facility_id")
    ids = fac["facility_id"].astype(str)
    fac["access_catchment_min"] = ids.map(by_id["catchment_min"]).to_numpy()
    fac["access_demand"] = ids.map(by_id["demand_in_catchment"]).to_numpy()
    fac["access_supply_ratio"] = ids.map(by_id["supply_ratio"]).to_numpy()
    com = coverage.communities
    if len(access.communities):
        com = com.copy()
        scores = access.communities.set_index("community_id")
        cid = com["community_id"].astype(str)
        com["access_per_1000"] = cid.map(scores["access"]).to_numpy()
        com["access_below_level"] = cid.map(scores["below_level"]).astype(bool).to_numpy()
        com["access_mismatch"] = cid.map(scores["mismatch"]).to_numpy()
    out = dict(rollups)
    for unit, table in access.rollups.items():
        if unit in out:
            extra = table.set_index(unit)[["access", "gini", "share_below", "rank"]]
            extra.columns = ["access_per_1000", "access_gini", "access_share_below", "access_rank"]
            out[unit] = out[unit].join(extra, on=unit)
    return replace(coverage, demand=dem, facilities=fac, communities=com), out
