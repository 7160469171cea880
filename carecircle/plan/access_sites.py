"""What suggested sites do to accessibility: the Gini and the elderly below the level after each new site.

Site suggestion chooses sites for coverage (:mod:`carecircle.plan.siting`); a planner who weighs capacity also
wants to know how each site changes the distribution of reachable supply. After the first ``k`` suggested sites
(``k = 0 … N``, in the order chosen) accessibility is recomputed from scratch with those sites added as
facilities, like the coverage ``after`` figures. The level stays the one of ``k = 0`` (the target, the given
level, or the study-wide average before any new site), so the counts below it compare across ``k``.

A new site's supply is read from the candidates' supply column when they have it; otherwise it is estimated as
the median supply of the existing facilities that have some (a "typical" facility), and the estimate is stated
in the result.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

import geopandas as gpd
import numpy as np
import pandas as pd

from carecircle.core.access import measure_accessibility, supply_values
from carecircle.core.network import Progress, WalkNetwork

log = logging.getLogger(__name__)


def accessibility_with_sites(network: WalkNetwork, facilities: gpd.GeoDataFrame, sites: gpd.GeoDataFrame,
                             demand: gpd.GeoDataFrame, communities: gpd.GeoDataFrame | None, *, method: str,
                             supply_col: str, thresholds_min: Sequence[float],
                             band_weights: Sequence[float] | None = None, catchment_min: float | None = None,
                             type_minutes: Mapping[str, float] | None = None, level: float | None = None,
                             target: float | None = None, walk_speed_mps: float, max_snap_m: float,
                             progress: Progress | None = None) -> tuple[pd.DataFrame, float]:
    """Accessibility after 0, 1, … N of ``sites`` (in ``rank`` order), each recomputed from scratch.

    Returns the table (``sites``, ``site``, ``access_mean``, ``access_gini``, ``access_share_below``,
    ``access_below`` [elderly below the level], ``site_supply``, ``site_supply_estimated``) and the supply a new
    site was given when the candidates had no ``supply_col`` (NaN when they had it).
    """
    existing = supply_values(facilities, supply_col)
    if supply_col in sites and pd.to_numeric(sites[supply_col], errors="coerce").notna().all():
        site_supply = pd.to_numeric(sites[supply_col]).to_numpy(dtype=float)
        estimate = float("nan")
    else:
        estimate = float(np.median(existing[existing > 0]))
        site_supply = np.full(len(sites), estimate)
        log.info("accessibility after new sites: the candidates have no %s; each new site counts as a typical "
                 "facility (median %s %.0f)", supply_col, supply_col, estimate)
    ids = sites["candidate_id" if "candidate_id" in sites else "facility_id"].astype(str).to_numpy()
    new = gpd.GeoDataFrame({"facility_id": ids, "type": "suggested", supply_col: site_supply},
                           geometry=sites.geometry.values, crs=sites.crs).to_crs(facilities.crs)
    base = facilities.assign(**{supply_col: existing})
    rows, fixed = [], level
    for k in range(len(sites) + 1):
        if progress is not None:
            progress("Accessibility after each new site", k, len(sites) + 1)
        both = pd.concat([base, new.iloc[:k]], ignore_index=True) if k else base
        result = measure_accessibility(
            network, both, demand, communities, method=method, supply_col=supply_col, thresholds_min=thresholds_min,
            band_weights=band_weights, catchment_min=catchment_min, type_minutes=type_minutes, level=fixed,
            target=target, walk_speed_mps=walk_speed_mps, max_snap_m=max_snap_m)
        fixed = result.level  # every later k is judged against the level before any new site
        s = result.summary
        rows.append({"sites": k, "site": ids[k - 1] if k else "", "access_mean": s["mean"], "access_gini": s["gini"],
                     "access_share_below": s["share_below_level"], "access_below": s["elderly_below_level"],
                     "site_supply": float(site_supply[k - 1]) if k else np.nan,
                     "site_supply_estimated": bool(k and np.isfinite(estimate))})
    return pd.DataFrame(rows), estimate
