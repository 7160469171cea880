"""Coverage: who reaches care within each threshold, per demand point, community and overall.

Coverage numbers come from network walking times (``travel.py``), never from isochrone polygons.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from carecircle.core.demand import FAR_BEYOND_NETWORK_M, far_hint, km_from_network, network_area_wgs84
from carecircle.core.network import WalkNetwork
from carecircle.core.travel import DEFAULT_MAX_SNAP_M, DEFAULT_WALK_SPEED_MPS, travel_times
from carecircle.defaults import SEARCH_CAP
from carecircle.errors import InputError, SnapError
from carecircle.io.facility_types import ELDER_CARE, TYPES, check_codes
from carecircle.io.readers import check_community_ids

log = logging.getLogger(__name__)


def threshold_label(minutes: float) -> str:
    """Column suffix for a threshold: ``5`` for 5.0 minutes, ``7.5`` for 7.5."""
    return f"{minutes:g}"


def search_cap_min(thresholds_min: Sequence[float]) -> float:
    """How far a coverage search walks, minutes: ``max(4 × the largest threshold, 60)`` (:data:`SEARCH_CAP`).

    >>> search_cap_min([5, 10, 15]), search_cap_min([30])
    (60.0, 120.0)
    """
    factor, floor = SEARCH_CAP
    return max(factor * max(float(t) for t in thresholds_min), floor)


@dataclass(frozen=True)
class CoverageResult:
    """Walking-time coverage of elderly demand by care facilities.

    All GeoDataFrames are in WGS-84 (EPSG:4326) and indexed like the inputs they come from.

    Attributes
    ----------
    thresholds_min : thresholds in minutes, ascending, e.g. ``(5.0, 10.0, 15.0)``.
    walk_speed_mps : walking speed used, metres per second.
    target_share : coverage share a community should reach (e.g. 0.9) at the largest threshold.
    demand : one row per demand point: ``community_id``, ``population`` (elderly persons, float),
        ``snap_m`` (off-network walk, m), ``time_min`` (walking minutes to the nearest facility, ``inf`` when
        not reached: unreachable, or beyond the search cap :func:`search_cap_min`, 60 minutes for thresholds up
        to 15), ``nearest_facility`` (facility id, missing when not reached), ``covered_<m>`` (bool).
    communities : the community polygons with their input columns plus ``elderly`` (persons placed),
        ``covered_<m>`` (persons), ``share_<m>`` (0..1, NaN without elderly), ``uncovered_<m>`` (persons)
        and ``below_target`` (bool, at the largest threshold).
    facilities : facility points with their input columns plus ``snap_m`` and ``served_<m>`` (elderly persons
        whose nearest facility this is, within ``m`` minutes).
    summary : headline figures (JSON-serialisable), see :func:`summary_dict`.
    """

    thresholds_min: tuple[float, ...]
    walk_speed_mps: float
    target_share: float
    demand: gpd.GeoDataFrame
    communities: gpd.GeoDataFrame
    facilities: gpd.GeoDataFrame
    summary: dict = field(repr=False)


#: How the log names each population a coverage or accessibility counts.
POPULATION_NOUNS = {"elderly": "elderly", "children": "children aged 0-3"}


def population_noun(population: str) -> str:
    """The words for ``population`` (``"elderly"`` or ``"children"``) in a log line; an InputError otherwise."""
    if population not in POPULATION_NOUNS:
        raise InputError(f"population {population!r} is unknown; use elderly or children.")
    return POPULATION_NOUNS[population]


def measure_coverage(
    network: WalkNetwork,
    facilities: gpd.GeoDataFrame,
    demand: gpd.GeoDataFrame,
    communities: gpd.GeoDataFrame | None = None,
    *,
    thresholds_min: Sequence[float] = (5, 10, 15),
    walk_speed_mps: float = DEFAULT_WALK_SPEED_MPS,
    max_snap_m: float = DEFAULT_MAX_SNAP_M,
    target_share: float = 0.9,
    population: str = "elderly",
) -> CoverageResult:
    """Population-weighted walking-time coverage of elderly demand by facilities.

    Parameters
    ----------
    network : the walking network (:func:`carecircle.load_network`).
    facilities : facility points with ``facility_id`` (:func:`carecircle.read_facilities`).
    demand : demand points with ``community_id`` and ``population`` (:func:`carecircle.place_demand` or
        :func:`carecircle.read_demand`).
    communities : optional community polygons with ``community_id`` for per-community figures; every demand
        point's ``community_id`` must name one of them (else an InputError names the strays).
    thresholds_min : walking-time thresholds in minutes.
    walk_speed_mps : walking speed in metres per second (presets 0.8 / 1.0 / 1.2).
    max_snap_m : a facility farther than this from the network is left out of the walk and named in a warning
        (and in the summary's ``facilities_off_network``; none left is a :class:`SnapError`); a demand point
        farther is counted as not covered and reported as ``off_network`` in the summary (but one more than
        :data:`~carecircle.core.demand.FAR_BEYOND_NETWORK_M` beyond the network's area is an InputError: a
        coordinate error, not a walk).
    target_share : the share a community should reach at the largest threshold (0..1).
    population : whom ``demand`` counts: ``"elderly"`` (60+) or ``"children"`` (0–3, the childcare circle of
        一老一小); the log names them (the result's columns keep the elderly's names).

    The walk from the facilities is searched up to :func:`search_cap_min` (``max(4 × the largest threshold,
    60)`` minutes): coverage at every threshold is exact, and a demand point farther than the cap from every
    facility reads as not reached (``time_min`` ``inf``, no nearest facility, counted in the summary's
    ``unreachable_population``), like one the network does not connect.

    Returns
    -------
    CoverageResult

    Examples
    --------
    >>> result = measure_coverage(net, facilities, demand, communities)  # doctest: +SKIP
    >>> result.summary["share"]["15"]  # doctest: +SKIP
    0.93
    """
    thresholds = check_thresholds(thresholds_min)
    who = population_noun(population)
    if not 0 <= target_share <= 1:
        raise InputError(f"target share {target_share!r} must be between 0 and 1 (e.g. 0.9 for 90%).")
    if len(facilities) == 0:
        raise InputError("no facilities given; add at least one facility point.")
    if communities is not None:
        check_community_ids(demand, communities)
    _check_near_network(demand, network)
    tt = travel_times(
        network,
        projected_xy(facilities, network),
        projected_xy(demand, network),
        walk_speed_mps=walk_speed_mps,
        max_snap_m=max_snap_m,
        max_minutes=search_cap_min(thresholds),
    )
    off_network = check_facility_snaps(facilities, tt.facility_snap, max_snap_m)

    fac_ids = facilities["facility_id"].astype(str).to_numpy()
    out = demand.copy()
    out["snap_m"] = tt.demand_snap.offset_m
    out["on_network"] = tt.demand_snap.ok
    out["time_min"] = tt.minutes
    out["nearest_facility"] = np.where(tt.nearest >= 0, fac_ids[np.maximum(tt.nearest, 0)], None)
    pop = out["population"].to_numpy(dtype=float)
    labels = [threshold_label(t) for t in thresholds]
    for t, lab in zip(thresholds, labels, strict=True):
        out[f"covered_{lab}"] = tt.minutes <= t + 1e-9
    top = labels[-1]

    fac_out = facilities.copy()
    fac_out["snap_m"] = tt.facility_snap.offset_m
    fac_out["on_network"] = tt.facility_snap.ok
    for lab in labels:
        served = pd.Series(pop * out[f"covered_{lab}"].to_numpy(), index=out["nearest_facility"].to_numpy())
        served = served[served.index.notna()].groupby(level=0).sum()
        fac_out[f"served_{lab}"] = served.reindex(fac_ids).fillna(0.0).to_numpy()

    com_out = None
    if communities is not None:
        com_out = communities.copy()
        frame = pd.DataFrame({"community_id": out["community_id"].astype(str).to_numpy(), "elderly": pop})
        for lab in labels:
            frame[f"covered_{lab}"] = pop * out[f"covered_{lab}"].to_numpy()
        sums = frame.groupby("community_id").sum()
        sums = sums.reindex(communities["community_id"].astype(str).to_numpy()).fillna(0.0)
        com_out["elderly"] = sums["elderly"].to_numpy()
        with np.errstate(invalid="ignore", divide="ignore"):
            for lab in labels:
                covered = sums[f"covered_{lab}"].to_numpy()
                com_out[f"covered_{lab}"] = covered
                com_out[f"share_{lab}"] = np.where(com_out["elderly"] > 0, covered / com_out["elderly"], np.nan)
                com_out[f"uncovered_{lab}"] = com_out["elderly"].to_numpy() - covered
        com_out["below_target"] = (com_out[f"share_{top}"] < target_share - 1e-12).to_numpy()

    summary = summary_dict(out, com_out, thresholds, walk_speed_mps=walk_speed_mps, target_share=target_share,
                           network=network, n_facilities=len(facilities))
    summary["max_snap_m"] = float(max_snap_m)
    summary["facilities_off_network"] = off_network
    share = summary["share"][top]
    log.info("coverage: %s of %.0f %s within %s min", "n/a" if share is None else f"{share:.1%}",
             summary["elderly_population"], who, top)
    return CoverageResult(
        thresholds_min=thresholds,
        walk_speed_mps=float(walk_speed_mps),
        target_share=float(target_share),
        demand=out,
        communities=com_out if com_out is not None else _no_communities(),
        facilities=fac_out,
        summary=summary,
    )


#: A facility farther than this from the nearest street is named in a warning: its straight walk to the street
#: (through a compound, across water?) is assumed, and may not exist. Metres.
LONG_FACILITY_WALK_M = 100.0


def check_facility_snaps(facilities: gpd.GeoDataFrame, snap, max_snap_m: float) -> list[str]:
    """Facilities the walk leaves out: those farther than ``max_snap_m`` from the network (a detached piece of
    street, or wrong coordinates) are named in a warning and returned; the run goes on without them unless none
    is left (:class:`~carecircle.errors.SnapError`). Those more than :data:`LONG_FACILITY_WALK_M` from the
    street but within ``max_snap_m`` are named in a warning too."""
    ids = facilities["facility_id"].astype(str).to_numpy()
    off = snap.offset_m

    def shown(idx):
        return ", ".join(f"{ids[i]} ({off[i]:.0f} m)" for i in idx[:8]) + (" …" if len(idx) > 8 else "")

    far = np.flatnonzero(~snap.ok)
    if len(far) == len(ids):
        raise SnapError(
            f"{len(far)} facilities lie farther than {max_snap_m:g} m from the walking network: {shown(far)}; no "
            "facility is left to walk to. Check that the network covers their area and that their coordinates "
            "are right (their coordinate system: --crs), or raise --max-snap-m."
        )
    if len(far):
        log.warning("%d %s farther than %g m from the walking network and %s left out of the walk: %s; check %s "
                    "coordinates, or the network (a street missing in OpenStreetMap?), or raise --max-snap-m",
                    len(far), "facility lies" if len(far) == 1 else "facilities lie", max_snap_m,
                    "is" if len(far) == 1 else "are", shown(far), "its" if len(far) == 1 else "their")
    long = np.flatnonzero(snap.ok & (off > LONG_FACILITY_WALK_M))
    if len(long):
        log.warning("%d %s more than %g m from the nearest street; a straight walk to it is assumed: %s",
                    len(long), "facility is" if len(long) == 1 else "facilities are", LONG_FACILITY_WALK_M,
                    shown(long))
    return ids[far].tolist()


def projected_xy(points: gpd.GeoDataFrame, network: WalkNetwork) -> np.ndarray:
    """(k, 2) coordinates of point geometries in ``network.crs``, the same numbers as ``to_crs`` gives.

    WGS-84 points (what the readers return) go through the network's cached transformer on the coordinate
    arrays, skipping the geometry rebuild of ``GeoDataFrame.to_crs`` (a third of the coverage step's time at
    40,000 demand points); anything else goes through ``to_crs``.
    """
    geoms = points.geometry.values
    if points.crs is not None and points.crs.to_epsg() == 4326 and len(points):
        xy = shapely.get_coordinates(geoms)
        if len(xy) == len(points):
            return np.column_stack(network.from_wgs84.transform(xy[:, 0], xy[:, 1]))
    return shapely.get_coordinates(points.to_crs(network.crs).geometry.values)


def _check_near_network(demand: gpd.GeoDataFrame, network: WalkNetwork) -> None:
    """Refuse demand points far beyond the network's area (swapped coordinates, a wrong CRS, another area)."""
    if network.n_nodes == 0 or len(demand) == 0:
        return
    pts = np.asarray(demand.to_crs("EPSG:4326").geometry.array)
    area = network_area_wgs84(network)
    shapely.prepare(area)  # tens of thousands of points against one polygon
    far = np.flatnonzero(~shapely.intersects(area, pts))
    if len(far):
        km = km_from_network(shapely.get_x(pts[far]), shapely.get_y(pts[far]), network)
        rows = ", ".join(f"{int(i) + 1} ({k:,.0f} km away)" for i, k in zip(far[:8], km[:8], strict=False))
        more = f", … {len(far) - 8} more" if len(far) > 8 else ""
        raise InputError(
            f"demand points: {len(far)} lie more than {FAR_BEYOND_NETWORK_M / 1000:g} km beyond the walking "
            f"network's area (rows {rows}{more}); {far_hint()}."
        )


def summary_dict(demand, communities, thresholds, *, walk_speed_mps, target_share, network, n_facilities) -> dict:
    """Headline figures: totals, covered persons and shares per threshold, communities below target."""
    pop = demand["population"].to_numpy(dtype=float)
    total = float(pop.sum())
    labels = [threshold_label(t) for t in thresholds]
    covered = {lab: float(pop[demand[f"covered_{lab}"].to_numpy()].sum()) for lab in labels}
    below = []
    if communities is not None and len(communities):
        below = communities.loc[communities["below_target"].to_numpy(), "community_id"].astype(str).tolist()
    off = ~demand["on_network"].to_numpy(dtype=bool)
    return {
        "elderly_population": round(total, 3),
        "thresholds_min": list(thresholds),
        "walk_speed_mps": float(walk_speed_mps),
        "covered": {k: round(v, 3) for k, v in covered.items()},
        "share": {k: (v / total if total > 0 else None) for k, v in covered.items()},
        "uncovered": {k: round(total - v, 3) for k, v in covered.items()},
        "target_share": float(target_share),
        "communities_below_target": below,
        "n_facilities": int(n_facilities),
        "n_demand_points": len(demand),
        "unreachable_population": round(float(pop[~np.isfinite(demand["time_min"].to_numpy())].sum()), 3),
        "off_network_points": int(off.sum()),
        "off_network_population": round(float(pop[off].sum()), 3),
        "network": {"source": network.source, "crs": network.crs, "nodes": network.n_nodes,
                    "segments": network.n_edges},
    }


def check_thresholds(thresholds_min) -> tuple[float, ...]:
    try:
        values = tuple(sorted({float(t) for t in thresholds_min}))
    except (TypeError, ValueError) as exc:
        raise InputError(f"thresholds {thresholds_min!r} must be numbers of minutes, e.g. 5,10,15.") from exc
    if not values or any(not np.isfinite(t) or t <= 0 for t in values):
        raise InputError(f"thresholds {thresholds_min!r} must be positive minutes, e.g. 5,10,15.")
    return values


def _no_communities() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"community_id": []}, geometry=[], crs="EPSG:4326")


# ------------------------------------------------------------------------------------ per type and roll-ups

#: How far past a threshold :meth:`CoverageFacts.covered` walks, minutes: more than the 1e-9 minutes a time may
#: exceed the threshold by rounding and still count as covered.
WALK_BEYOND_MIN = 1e-6


class CoverageFacts:
    """Walking-time coverage by any subset of facility types, for standards checks and per-type tables.

    One multi-source walk per (types, population) is computed on first use and cached, so asking for several
    thresholds costs one shortest-path run. :meth:`covered` bounds that walk at the threshold asked for (a
    millionth of a minute beyond it; no time beyond a threshold is ever reported from here), walking again,
    farther, only when a later threshold needs more.

    Parameters
    ----------
    network, facilities : the walking network and *all* facilities (types as codes, see
        :mod:`carecircle.io.facility_types`; childcare and health facilities included).
    demand : elderly demand points (``community_id``, ``population``).
    communities : community polygons (optional).
    children : childcare demand points (children 0–3), optional.
    walk_speed_mps, max_snap_m : as in :func:`measure_coverage`.
    """

    def __init__(self, network: WalkNetwork, facilities: gpd.GeoDataFrame, demand: gpd.GeoDataFrame,
                 communities: gpd.GeoDataFrame | None = None, *, children: gpd.GeoDataFrame | None = None,
                 walk_speed_mps: float = DEFAULT_WALK_SPEED_MPS, max_snap_m: float = DEFAULT_MAX_SNAP_M):
        self.network = network
        self.network_crs = network.crs
        self.facilities = facilities
        self.communities = communities
        self.walk_speed_mps = float(walk_speed_mps)
        self.max_snap_m = float(max_snap_m)
        self._demand = {"elderly": demand, "children": children}
        self._fac_xy = projected_xy(facilities, network)
        self._snap = {}
        self._minutes: dict[tuple, tuple[float, np.ndarray]] = {}

    def minutes(self, types: Sequence[str] | None, population: str = "elderly", *,
                max_minutes: float | None = None) -> np.ndarray:
        """Walking minutes from each demand point to the nearest facility of ``types`` (``inf``: none, or
        beyond ``max_minutes`` when given)."""
        codes = ELDER_CARE if types is None else check_codes(types, where="coverage types")
        key = (tuple(sorted(set(codes))), population)
        cap = np.inf if max_minutes is None else float(max_minutes)
        if key not in self._minutes or self._minutes[key][0] < cap:
            dem = self._points(population)
            mask = self.facilities["type"].isin(codes).to_numpy()
            if not mask.any() or len(dem) == 0:
                self._minutes[key] = (np.inf, np.full(len(dem), np.inf))
            else:
                if population not in self._snap:
                    self._snap[population] = projected_xy(dem, self.network)
                tt = travel_times(self.network, self._fac_xy[mask], self._snap[population],
                                  walk_speed_mps=self.walk_speed_mps, max_snap_m=self.max_snap_m,
                                  max_minutes=None if cap == np.inf else cap)
                self._minutes[key] = (cap, np.where(tt.demand_snap.ok, tt.minutes, np.inf))
        reached, minutes = self._minutes[key]
        return minutes if reached <= cap else np.where(minutes <= cap, minutes, np.inf)

    def covered(self, types: Sequence[str] | None, minutes: float, population: str = "elderly") -> pd.DataFrame:
        """Per community (index ``community_id``; ``"all"`` without communities): ``population`` and ``covered``
        persons within ``minutes`` of the nearest facility of ``types`` (``None``: any elder-care type)."""
        dem = self._points(population)
        within = self.minutes(types, population, max_minutes=minutes + WALK_BEYOND_MIN) <= minutes + 1e-9
        pop = dem["population"].to_numpy(dtype=float)
        ids = dem["community_id"].astype(str).to_numpy() if self.communities is not None else np.full(len(dem), "all")
        frame = pd.DataFrame({"community_id": ids, "population": pop, "covered": pop * within})
        sums = frame.groupby("community_id").sum()
        if self.communities is not None:
            sums = sums.reindex(self.communities["community_id"].astype(str).to_numpy()).fillna(0.0)
        sums.index.name = "community_id"
        return sums

    def has_population(self, population: str) -> bool:
        """Whether demand of ``population`` (``elderly`` or ``children``) was given."""
        return self._demand.get(population) is not None

    def _points(self, population: str) -> gpd.GeoDataFrame:
        if population not in self._demand:
            raise InputError(f"population {population!r} is unknown; use elderly or children.")
        dem = self._demand[population]
        if dem is None:
            raise InputError("no children (0–3) population given; add a pop_0_3 column to the communities "
                             "(or name it with --children-col).")
        return dem


def coverage_by_type(facts: CoverageFacts, minutes_by_type: dict[str, float] | None = None) -> pd.DataFrame:
    """Coverage per facility type present, each at its own threshold, plus ``any`` elder-care facility.

    ``minutes_by_type`` overrides the default thresholds of :mod:`carecircle.io.facility_types` (the key ``any``
    sets the threshold of the "any elder-care facility" row; default: the largest elder-care threshold).
    Childcare is measured on children 0–3 when they are given; health centres, elder education and guidance
    centres are not coverage types.

    Returns
    -------
    DataFrame with ``type``, ``label_zh``, ``label_en``, ``minutes``, ``facilities``, ``population``,
    ``covered``, ``share``.
    """
    overrides = dict(minutes_by_type or {})
    present = facts.facilities["type"].value_counts()
    rows = []
    for code, t in TYPES.items():
        if code not in present.index or t.role not in ("elder_care", "childcare"):  # counted, not a circle
            continue
        population = "children" if t.role == "childcare" else "elderly"
        if not facts.has_population(population):
            continue
        rows.append((code, t.zh, t.en, float(overrides.get(code, t.minutes)), int(present[code]), (code,), population))
    elder_minutes = [r[3] for r in rows if r[0] in ELDER_CARE]
    n_elder = int(present.reindex(list(ELDER_CARE)).fillna(0).sum())
    rows.append(("any", "任一养老服务设施", "Any elder-care facility",
                 float(overrides.get("any", max(elder_minutes, default=15.0))), n_elder, None, "elderly"))
    out = []
    for code, zh, en, minutes, n, types, population in rows:
        sums = facts.covered(types, minutes, population).sum()
        share = sums["covered"] / sums["population"] if sums["population"] > 0 else np.nan
        out.append({"type": code, "label_zh": zh, "label_en": en, "minutes": minutes, "facilities": n,
                    "population": round(float(sums["population"]), 3), "covered": round(float(sums["covered"]), 3),
                    "share": share})
    return pd.DataFrame(out)


def rollup(communities: gpd.GeoDataFrame, level: str, thresholds_min: Sequence[float], *,
           target_share: float, population: str = "elderly") -> pd.DataFrame:
    """Community coverage summed to a parent level (``subdistrict`` or ``district``).

    Communities without a parent are grouped as ``(unassigned)``. Returns one row per unit with
    ``n_communities``, the population, ``covered_<m>``, ``share_<m>``, ``uncovered_<m>`` and ``below_target``
    (share at the largest threshold below ``target_share``).
    """
    labels = [threshold_label(t) for t in thresholds_min]
    units = communities[level].astype("string").fillna("(unassigned)").to_numpy()
    cols = [population] + [f"covered_{lab}" for lab in labels]
    frame = pd.DataFrame(communities[cols].to_numpy(dtype=float), columns=cols)
    frame.insert(0, level, units)
    frame.insert(1, "n_communities", 1)
    out = frame.groupby(level, sort=True).sum().reset_index()
    with np.errstate(invalid="ignore", divide="ignore"):
        for lab in labels:
            out[f"share_{lab}"] = np.where(out[population] > 0, out[f"covered_{lab}"] / out[population], np.nan)
            out[f"uncovered_{lab}"] = out[population] - out[f"covered_{lab}"]
    out["below_target"] = out[f"share_{labels[-1]}"] < target_share - 1e-12
    per_threshold = [f"{k}_{lab}" for lab in labels for k in ("covered", "share", "uncovered")]
    return out[[level, "n_communities", population, *per_threshold, "below_target"]]
