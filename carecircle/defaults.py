"""Every default and limit of a study, and the checks of single values, in plain Python.

:mod:`carecircle.config` builds the study configuration from these, the core's function signatures take their
defaults from here, and the CLI reads them for its help and option parsing before it imports anything heavy
(so ``carecircle --help`` starts fast). A value's default lives here and nowhere else.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

#: Walking-speed presets, m/s (older pedestrians walk about 0.8–1.2 m/s; 1.0 is the planning convention).
SPEED_PRESETS_MPS = {"slow": 0.8, "typical": 1.0, "brisk": 1.2}
#: The default walking speed, m/s: the planning convention for older pedestrians (60 m/min).
DEFAULT_WALK_SPEED_MPS = SPEED_PRESETS_MPS["typical"]
#: The default farthest distance from a point to the walking network, metres.
DEFAULT_MAX_SNAP_M = 300.0
#: How community population is placed inside a community (see :mod:`carecircle.core.demand`); the first is the default.
DEMAND_METHODS = ("buildings", "nodes", "centroid")
#: Site-suggestion problems; the first is the default.
SUGGEST_METHODS = ("mclp", "set-cover", "p-median")
#: Site suggestion: new sites asked for, spacing of generated candidates (m) and solver time limit (s).
DEFAULT_NEW_SITES = 5
DEFAULT_SPACING_M = 150.0
DEFAULT_TIME_LIMIT_S = 30.0
#: Capacity-aware accessibility (two-step floating catchment area family, :mod:`carecircle.core.access`); the first
#: is the default: enhanced 2SFCA (stepwise weights per threshold band), Gaussian 2SFCA, classic 2SFCA.
ACCESS_METHODS = ("e2sfca", "g2sfca", "2sfca")
#: The facility column accessibility counts as supply when none is named: service places (床位/服务容量).
DEFAULT_SUPPLY_COL = "capacity"
#: Enhanced 2SFCA weights of the 5/10/15-minute bands: Luo & Qi (2009)'s 1, 0.68, 0.22 (their Gaussian-derived
#: steps for three equal bands of a catchment), one weight per threshold.
DEFAULT_BAND_WEIGHTS = (1.0, 0.68, 0.22)
#: Accessibility is reported as supply per this many elderly (e.g. reachable beds per 1,000 elderly).
ACCESS_PER = 1000
#: Languages of labels and headers.
LANGS = ("en", "zh")
#: Walking-time thresholds, target share and language when neither the study nor its profile gives them.
DEFAULT_THRESHOLDS_MIN = (5.0, 10.0, 15.0)
DEFAULT_TARGET_SHARE = 0.9
DEFAULT_LANG = LANGS[0]
#: Walking speeds a study accepts, m/s.
WALK_SPEED_RANGE_MPS = (0.1, 3.0)
#: Longest walking-time threshold accepted, minutes.
MAX_THRESHOLD_MIN = 120.0
#: How far coverage walks search, as (factor, floor): up to ``max(factor × the largest threshold, floor)`` minutes
#: (60 minutes for thresholds up to 15). Every covered flag and coverage share is exact (the cap is far beyond
#: the largest threshold); ``time_min`` is reported up to the cap, and a demand point farther from every facility
#: reads as not reached (``inf``), like one the network does not connect. Bounding the search keeps city-scale
#: runs from walking the whole network for times nobody plans with.
SEARCH_CAP = (4.0, 60.0)
#: Above this many facilities only the merged isochrones are drawn (one per threshold): per-facility ones cost
#: about 0.2 s each, so 5,000 facilities would take a quarter of an hour for a display-only layer.
MAX_PER_FACILITY_ISOCHRONES = 300
#: Where a batch runs (:mod:`carecircle.batch`); the first is the default: a ``dask.distributed`` cluster (a
#: LocalCluster of worker processes unless a scheduler is given), or one region after another in this process.
BATCH_EXECUTORS = ("dask", "serial")
#: A batch region whose worker dies (killed, out of memory) is tried this many more times on another worker.
BATCH_WORKER_RETRIES = 1
#: Exit code of ``carecircle batch`` when some tasks failed (the others finished; see the summary and manifest).
EXIT_SOME_FAILED = 8


# ------------------------------------------------------------------------------- checks of single values
# Each raises ValueError with the message every front door shows (the CLI's option parser calls them too).


def check_walk_speed(value: float) -> float:
    """A walking speed in m/s within :data:`WALK_SPEED_RANGE_MPS`."""
    low, high = WALK_SPEED_RANGE_MPS
    if not low <= value <= high:
        raise ValueError(f"{value:g} m/s is not a walking speed (give {low:g}–{high:g} m/s, older people walk "
                         f"about 0.8–1.2, or a preset: {', '.join(SPEED_PRESETS_MPS)})")
    return float(value)


def check_max_snap_m(value: float) -> float:
    """The farthest a point may lie from the walking network: a positive, finite number of metres."""
    if not (value > 0 and math.isfinite(value)):
        raise ValueError(f"{value:g} is not a distance to the network (give a positive number of metres, e.g. 300)")
    return float(value)


def check_minutes(values: Sequence[float]) -> list[float]:
    """Walking-time thresholds: at least one, each above 0 and at most :data:`MAX_THRESHOLD_MIN`, none repeated;
    returned sorted."""
    values = [float(v) for v in values]
    if not values:
        raise ValueError("give at least one threshold in minutes, e.g. 5, 10, 15")
    bad = [v for v in values if not 0 < v <= MAX_THRESHOLD_MIN]
    if bad:
        raise ValueError(f"thresholds must be above 0 and at most {MAX_THRESHOLD_MIN:g} minutes, got "
                         f"{', '.join(f'{v:g}' for v in bad)}")
    if len(set(values)) != len(values):
        raise ValueError(f"thresholds repeat: {', '.join(f'{v:g}' for v in values)}")
    return sorted(values)


def check_non_negative(value: float) -> float:
    """A finite number of zero or more (places, beds, floor area)."""
    if not (value >= 0 and math.isfinite(value)):
        raise ValueError(f"{value:g} is not a finite number of zero or more")
    return float(value)


def check_share(value: float) -> float:
    """A share of the population, 0–1."""
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{value:g} is not a share (give a number from 0 to 1, e.g. 0.9 for 90%)")
    return float(value)


MAX_THRESHOLD_M = 5_000.0  #: the largest distance threshold, metres (a 15-minute circle is about 1,000 m)

def check_metres(values: Sequence[float]) -> list[float]:
    """Distance thresholds, metres: one or more, above 0, at most :data:`MAX_THRESHOLD_M`, none repeated; sorted."""
    values = [float(v) for v in values]
    if not values or any(not 0 < v <= MAX_THRESHOLD_M for v in values) or len(set(values)) != len(values):
        raise ValueError(f"give distances above 0 and at most {MAX_THRESHOLD_M:,.0f} m, none repeated, e.g. 300, "
                         f"500, 1000 (got {', '.join(f'{v:g}' for v in values) or 'none'})")
    return sorted(values)


def check_speeds(values: Sequence[float | str]) -> list[float]:
    """Walking speeds to compare (m/s or presets): one or more, none repeated, in the order given."""
    values = [check_walk_speed(SPEED_PRESETS_MPS[v] if v in SPEED_PRESETS_MPS else speed_value(v)) for v in values]
    if not values or len(set(values)) != len(values):
        raise ValueError(f"give one or more walking speeds, none repeated, e.g. 0.8, 1.0, 1.2 (got "
                         f"{', '.join(f'{v:g}' for v in values) or 'none'})")
    return values


def speed_value(value: float | str) -> float:
    """A speed written as a number or numeric text, m/s (presets are looked up by the caller)."""
    try:
        return float(value)
    except ValueError:
        raise ValueError(f"{value!r} is neither m/s nor a preset ({', '.join(SPEED_PRESETS_MPS)})") from None


def check_band_weights(values: list[float]) -> list[float]:
    """Enhanced 2SFCA band weights: each in (0, 1]."""
    bad = [v for v in values if not 0 < v <= 1]
    if bad or not values:
        raise ValueError(f"band weights must each lie in (0, 1], got {', '.join(f'{v:g}' for v in values) or 'none'} "
                         "(e.g. 1, 0.68, 0.22)")
    return values
