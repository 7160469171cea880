"""What a study run produced: the objects the outputs render (built by :mod:`carecircle.pipeline`)."""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import pandas as pd

from carecircle.core.coverage import CoverageResult
from carecircle.core.network import WalkNetwork
from carecircle.plan.standards import Profile


@dataclass(frozen=True)
class StudyInputs:
    """A study's inputs, read, checked and placed on its network.

    ``all_facilities`` holds every facility read; ``facilities`` the elder-care ones that make the elder-care
    circle (childcare and health centres excluded). ``children`` is the childcare demand (children 0–3 placed
    like the elderly), when the communities give ``pop_0_3``.
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



@dataclass(frozen=True)
class StudyResult:
    """Everything one study run produced.

    ``coverage`` is the elder-care circle (any elder-care facility); ``by_type`` the coverage per facility type
    at each type's threshold; ``rollups`` the community figures summed per ``subdistrict`` / ``district`` (when
    the communities name them); ``childcare`` the childcare circle of "一老一小" (children 0–3 and childcare
    facilities, when both are given); ``compliance`` the standards profile's checks (when a profile is chosen).
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
