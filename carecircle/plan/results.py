"""What a study run produced: the objects the outputs render (built by :mod:`carecircle.pipeline`)."""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import pandas as pd

from carecircle.core.access import AccessibilityResult
from carecircle.core.coverage import CoverageResult
from carecircle.core.network import WalkNetwork
from carecircle.plan.optimize import SitingSolution
from carecircle.plan.standards import Profile

#: Columns of :attr:`StudyResult.sensitivity`: the speed (m/s), the threshold in minutes at that speed and in
#: metres (``NaN`` for time thresholds), the elderly population, those covered within it and their share.
SENSITIVITY_COLUMNS = ("speed_mps", "minutes", "metres", "population", "covered", "share")


@dataclass(frozen=True)
class StudyInputs:
    """A study's inputs, read, checked and placed on its network.

    ``all_facilities`` holds every facility read; ``facilities`` the elder-care ones that make the elder-care
    circle (childcare and health centres excluded). ``children`` is the childcare demand (children 0–3 placed
    like the elderly), when the communities give ``pop_0_3``. ``unmodelled_network`` is the network before the
    walking model was applied (the same object with the plain model), to apply it again at other speeds.
    """

    name: str
    network: WalkNetwork
    facilities: gpd.GeoDataFrame
    communities: gpd.GeoDataFrame | None
    demand: gpd.GeoDataFrame
    inputs: dict
    note: str | None
    all_facilities: gpd.GeoDataFrame | None = None
    children: gpd.GeoDataFrame | None = None
    unmodelled_network: WalkNetwork | None = None


@dataclass(frozen=True)
class StudyResult:
    """Everything one study run produced.

    ``coverage`` is the elder-care circle (any elder-care facility); ``by_type`` the coverage per facility type
    at each type's threshold; ``rollups`` the community figures summed per ``subdistrict`` / ``district`` (when
    the communities name them); ``childcare`` the childcare circle of "一老一小" (children 0–3 and childcare
    facilities, when both are given); ``compliance`` the standards profile's checks (when a profile is chosen);
    ``accessibility`` the capacity-aware 2SFCA scores (when asked for); ``sensitivity`` the coverage at each of
    several walking speeds (when asked for; :data:`SENSITIVITY_COLUMNS`, one row per speed and threshold, the
    main study at ``coverage.walk_speed_mps``). ``distances_m`` are the distance thresholds, metres, when the
    study was asked in metres (``coverage.thresholds_min`` are then those distances in minutes at the speed).
    """

    name: str
    network: WalkNetwork
    coverage: CoverageResult
    isochrones: gpd.GeoDataFrame | None
    inputs: dict = field(default_factory=dict)
    note: str | None = None
    by_type: pd.DataFrame | None = None
    rollups: dict[str, pd.DataFrame] = field(default_factory=dict)
    childcare: CoverageResult | None = None
    profile: Profile | None = None
    compliance: pd.DataFrame | None = None
    lang: str = "en"
    facilities: gpd.GeoDataFrame | None = None  # every facility read, childcare and health centres included
    accessibility: AccessibilityResult | None = None  # capacity-aware accessibility, when asked for
    sensitivity: pd.DataFrame | None = None  # coverage per walking speed, when several were asked for
    distances_m: tuple[float, ...] | None = None  # distance thresholds, metres, when given in metres
    walking_features: gpd.GeoDataFrame | None = None  # stairs and penalised crossings (not the plain model)


@dataclass(frozen=True)
class Suggestion:
    """Suggested new sites and what they change (built by :func:`carecircle.plan.siting.suggest_sites`).

    Attributes
    ----------
    method : ``"mclp"``, ``"set-cover"`` or ``"p-median"``.
    minutes : the coverage threshold the sites were chosen for.
    sites : chosen candidates in choice order (EPSG:4326) with ``rank``, ``gain`` (elderly newly covered by
        this site within ``minutes``, given the earlier ones), ``share_after`` (cumulative coverage share) and,
        for p-median, ``minutes_saved`` (person-minutes of walking each site saves); with site capacities also
        ``served`` (elderly the site serves within its capacity, as the solver assigned them) and
        ``share_served_after`` (the cumulative share served).
    curve : coverage after 0, 1, 2, ... new sites (greedy sequence): ``sites``, ``covered``, ``share``.
    before, after : coverage without and with the chosen sites, each computed from scratch.
    solution : the solver's result (objective, bound, gap, method, status).
    n_candidates : candidates considered (after dropping those too far from the network).
    isochrones : the chosen sites' walking isochrones at ``minutes`` (EPSG:4326), one polygon per site with
        ``facility_id`` (the site's id) and ``minutes``; empty when no site was chosen. Drawn by the maps.
    accessibility : with accessibility asked for, accessibility after 0, 1, … N of the sites, each recomputed
        from scratch (:func:`carecircle.plan.access_sites.accessibility_with_sites`); ``sites`` then also has
        ``access_supply``, ``access_mean_after``, ``access_gini_after`` and ``access_below_after``.
    existing_isochrones : the existing facilities' merged walking areas at each of the study's thresholds
        (EPSG:4326, ``minutes``), drawn by the maps as bands under the new sites' ranges; ``None`` when not drawn.
    """

    method: str
    minutes: float
    sites: gpd.GeoDataFrame
    curve: pd.DataFrame
    before: CoverageResult
    after: CoverageResult
    solution: SitingSolution
    n_candidates: int
    isochrones: gpd.GeoDataFrame
    accessibility: pd.DataFrame | None = None
    existing_isochrones: gpd.GeoDataFrame | None = None
