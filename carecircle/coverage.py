"""Coverage: who reaches care within each threshold, per demand point, community and overall.

Coverage numbers come from network walking times (``travel.py``), never from isochrone polygons.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd


def threshold_label(minutes: float) -> str:
    """Column suffix for a threshold: ``5`` for 5.0 minutes, ``7.5`` for 7.5."""
    return f"{minutes:g}"


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
        unreachable), ``nearest_facility`` (facility id, ``None`` when unreachable), ``covered_<m>`` (bool).
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
