"""Walking models: how long an older person takes on each piece of the network.

The **plain** model walks every segment at the study's speed: time = length / speed (today's results, unchanged).

The **older** model (``--walk-model older``) adds what studies of older people's walking in Chinese cities name as
the barriers of the 15-minute circle — stairs, road crossings, closed gates — each rule a parameter of
:class:`WalkModel` that a scenario or the CLI can change:

``stairs`` (``highway=steps``)
    ``step_s`` seconds per step (default 1.0 s: older adults climb public stairs at about one step a second, i.e.
    0.3 m/s of horizontal progress on 0.3 m treads — assumed, cf. Fruin's stair speeds of 0.4–0.5 m/s for all
    ages). The steps are the way's ``step_count`` shared over its segments by length, else the length over
    ``tread_m`` (0.3 m). ``avoid_steps`` makes stairs impassable (wheelchair and walker users).
crossings of major roads
    A node where a walkway or minor street (any segment that is not a trunk/primary/secondary road or link) meets a
    major road is a crossing; passing through it from one minor segment to another costs the wait of its control:
    ``wait_signals_s`` (30 s: the Highway Capacity Manual's mean pedestrian delay (C − g)² / 2C for a 120 s cycle
    with a 30 s walk phase), ``wait_marked_s`` (15 s, zebra or marked uncontrolled crossings, where drivers must
    yield: Road Traffic Safety Law art. 47) or ``wait_unmarked_s`` (25 s: waiting for a gap; also where no
    crossing is mapped). The wait is paid half on entering and half on leaving the node along a minor segment, so
    a person walking on along the major road pays nothing and one turning onto it pays half. ``crossing=no``
    closes the node to minor segments.
barriers
    A node with ``barrier=gate|fence|wall|lift_gate|swing_gate`` and ``access=private|no`` (without ``foot=yes``)
    closes every segment at it; a major road tagged ``sidewalk=no`` is not walked along. (``access=private``
    compound roads are not read at all: see :func:`carecircle.core.osm_tags.walkable`.)

**Slopes**, with either model when a digital elevation model is given (``dem``, a GeoTIFF read with rasterio;
nothing is downloaded): each node's elevation is read from the DEM cell it falls in, and a segment's grade
``S = Δz / length`` (clipped to ±``max_grade``, 0.3, against DEM noise on short segments) scales its walking time
by Tobler's hiking function relative to flat ground, ``exp(3.5 |S + 0.05|) / exp(3.5 · 0.05)``: 1 on the flat,
faster gently downhill, slower uphill — so the network becomes directed. Bridges and tunnels read the terrain's
elevation, not the deck's (a limitation, stated).

Costs are stored on the network in metres walked at the study's speed (seconds × speed,
:class:`~carecircle.core.network.WalkNetwork` ``edge_cost_*``/``edge_pen_*``), so every consumer keeps comparing
them with ``minutes × 60 × speed``. Trips are timed from home to the facility.
"""

from __future__ import annotations

import logging
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from pyproj import Transformer

from carecircle.core.network import WalkNetwork, without_edges
from carecircle.core.osm_tags import (
    CROSSING_MARKED,
    CROSSING_NO,
    CROSSING_SIGNALS,
    EDGE_MAJOR,
    EDGE_MAJOR_NO_SIDEWALK,
    EDGE_STEPS,
)
from carecircle.errors import InputError

log = logging.getLogger(__name__)

#: The walking models; the first is the default.
WALK_MODELS = ("plain", "older")


@dataclass(frozen=True)
class WalkModel:
    """A walking model and its parameters (see the module docstring for each rule and its source)."""

    name: str = "plain"
    step_s: float = 1.0
    tread_m: float = 0.3
    avoid_steps: bool = False
    wait_signals_s: float = 30.0
    wait_marked_s: float = 15.0
    wait_unmarked_s: float = 25.0
    dem: Path | None = None
    max_grade: float = 0.3

    def __post_init__(self):
        if self.name not in WALK_MODELS:
            raise InputError(f"walking model {self.name!r} is not known; use one of {', '.join(WALK_MODELS)}.")
        for key in ("step_s", "tread_m", "wait_signals_s", "wait_marked_s", "wait_unmarked_s", "max_grade"):
            value = getattr(self, key)
            if not (value >= 0 and math.isfinite(value)) or (key == "tread_m" and value == 0):
                raise InputError(f"walking model: {key} = {value!r} must be a finite number above 0.")

    @property
    def is_plain(self) -> bool:
        """Whether it walks like the plain model: every segment at the walking speed, both ways."""
        return self.name == "plain" and self.dem is None and not self.avoid_steps

    def describe(self) -> dict:
        """The model and its parameters, for ``summary.json`` and the report."""
        out = {"name": self.name, **{k: v for k, v in asdict(self).items() if k != "name"}}
        out["dem"] = str(self.dem) if self.dem is not None else None
        if self.name == "plain":
            for key in ("step_s", "tread_m", "wait_signals_s", "wait_marked_s", "wait_unmarked_s"):
                out.pop(key)
        return out


def apply_walk_model(network: WalkNetwork, model: WalkModel, walk_speed_mps: float) -> WalkNetwork:
    """``network`` with each segment's costs under ``model`` at ``walk_speed_mps`` (the same network, untouched,
    for the plain model). Impassable segments are removed and the largest connected part kept."""
    if model.is_plain:
        return network
    if model.name == "older" and network.edge_kind is None:
        log.warning("walking model 'older': the network's source carries no OSM tags (steps, crossings, barriers); "
                    "only slopes apply")
    kind = network.edge_kind if network.edge_kind is not None else np.zeros(network.n_edges, dtype=np.int8)
    drop = np.zeros(network.n_edges, dtype=bool)
    if model.name == "older" or model.avoid_steps:
        drop |= (kind == EDGE_STEPS) & model.avoid_steps
    if model.name == "older":
        drop |= kind == EDGE_MAJOR_NO_SIDEWALK
        if network.node_blocked is not None:
            drop |= network.node_blocked[network.edge_u] | network.node_blocked[network.edge_v]
        closed = _closed_crossings(network, kind)
        drop |= (closed[network.edge_u] | closed[network.edge_v]) & (kind != EDGE_MAJOR)
    if drop.any():
        log.info("walking model %s: %d segments closed (stairs avoided, barriers, closed crossings, major roads "
                 "without sidewalk)", model.name, int(drop.sum()))
        network = without_edges(network, drop)
        kind = network.edge_kind if network.edge_kind is not None else np.zeros(network.n_edges, dtype=np.int8)
    length = network.edge_length_m
    fwd, bwd = length.copy(), length.copy()
    if model.dem is not None:
        up, down = slope_factors(network, model.dem, max_grade=model.max_grade)
        fwd, bwd = length * up, length * down
    if model.name == "older":
        stairs = kind == EDGE_STEPS
        steps = np.where(np.isfinite(network.edge_steps), network.edge_steps, length / model.tread_m) \
            if network.edge_steps is not None else length / model.tread_m
        stair_cost = np.maximum(steps * model.step_s * walk_speed_mps, length)
        fwd, bwd = np.where(stairs, stair_cost, fwd), np.where(stairs, stair_cost, bwd)
    pen_u, pen_v = np.zeros(network.n_edges), np.zeros(network.n_edges)
    if model.name == "older":
        wait = _crossing_wait_s(network, kind, model) * walk_speed_mps / 2.0
        minor = kind != EDGE_MAJOR
        pen_u, pen_v = np.where(minor, wait[network.edge_u], 0.0), np.where(minor, wait[network.edge_v], 0.0)
    out = WalkNetwork(node_xy=network.node_xy, edge_u=network.edge_u, edge_v=network.edge_v, crs=network.crs,
                      source=network.source, edge_kind=network.edge_kind, edge_steps=network.edge_steps,
                      node_crossing=network.node_crossing, node_blocked=network.node_blocked,
                      edge_cost_fwd=fwd, edge_cost_bwd=bwd, edge_pen_u=pen_u, edge_pen_v=pen_v,
                      barrier_xy=network.barrier_xy)
    log.info("walking model %s: %d crossings of major roads, %d stair segments, slopes %s", model.name,
             int((pen_u > 0).sum() + (pen_v > 0).sum()) // 2, int((kind == EDGE_STEPS).sum()),
             "from " + Path(model.dem).name if model.dem is not None else "not modelled")
    return out


def tobler_factor(grade: np.ndarray) -> np.ndarray:
    """Walking time on ``grade`` relative to flat ground, by Tobler's hiking function (1 at grade 0).

    >>> tobler_factor(np.array([0.0, 0.1, -0.05])).round(3).tolist()
    [1.0, 1.419, 0.839]
    """
    return np.exp(3.5 * np.abs(np.asarray(grade, dtype=float) + 0.05)) / math.exp(3.5 * 0.05)


def slope_factors(network: WalkNetwork, dem: Path, *, max_grade: float = 0.3) -> tuple[np.ndarray, np.ndarray]:
    """Per segment, the time factor of walking it ``u → v`` and ``v → u`` on the DEM's terrain."""
    z = node_elevations(network, dem)
    grade = np.clip((z[network.edge_v] - z[network.edge_u]) / np.maximum(network.edge_length_m, 1e-9),
                    -max_grade, max_grade)
    return tobler_factor(grade), tobler_factor(-grade)


def node_elevations(network: WalkNetwork, dem: Path) -> np.ndarray:
    """Elevation of every node, metres, from the DEM cell it falls in (one vectorised read).

    Raises :class:`~carecircle.errors.InputError` when the DEM cannot be read, has no CRS, or leaves nodes
    uncovered or on nodata."""
    import rasterio  # lazy: only studies with a DEM pay for GDAL

    dem = Path(dem)
    try:
        with rasterio.open(dem) as src:
            if src.crs is None:
                raise InputError(f"{dem.name}: the DEM has no coordinate system; assign one and run again.")
            to_dem = Transformer.from_crs(network.crs, src.crs, always_xy=True)
            x, y = to_dem.transform(network.node_xy[:, 0], network.node_xy[:, 1])
            rows, cols = rasterio.transform.rowcol(src.transform, x, y)
            rows, cols = np.asarray(rows), np.asarray(cols)
            inside = (rows >= 0) & (rows < src.height) & (cols >= 0) & (cols < src.width)
            if not inside.all():
                raise InputError(f"{dem.name}: {int((~inside).sum()):,} of {network.n_nodes:,} network nodes lie "
                                 "outside the DEM; give a DEM covering the whole study area.")
            band = src.read(1, masked=True)
    except rasterio.errors.RasterioIOError as exc:
        raise InputError(f"{dem.name}: cannot read as a raster ({exc}); give a GeoTIFF DEM.") from None
    z = band[rows, cols]
    if np.ma.is_masked(z) and np.ma.getmaskarray(z).any():
        raise InputError(f"{dem.name}: {int(np.ma.getmaskarray(z).sum()):,} network nodes fall on nodata cells; "
                         "fill the DEM's voids (gdal_fillnodata) and run again.")
    return np.asarray(z, dtype=float)


def _closed_crossings(network: WalkNetwork, kind: np.ndarray) -> np.ndarray:
    if network.node_crossing is None:
        return np.zeros(network.n_nodes, dtype=bool)
    return (network.node_crossing == CROSSING_NO) & _meets_major(network, kind)


def _meets_major(network: WalkNetwork, kind: np.ndarray) -> np.ndarray:
    """Nodes where a major road and a minor segment meet."""
    major = kind == EDGE_MAJOR
    on_major = np.zeros(network.n_nodes, dtype=bool)
    on_minor = np.zeros(network.n_nodes, dtype=bool)
    on_major[network.edge_u[major]] = on_major[network.edge_v[major]] = True
    on_minor[network.edge_u[~major]] = on_minor[network.edge_v[~major]] = True
    return on_major & on_minor


def _crossing_wait_s(network: WalkNetwork, kind: np.ndarray, model: WalkModel) -> np.ndarray:
    """The wait at each node where a minor segment meets a major road, seconds (0 elsewhere)."""
    crossing = network.node_crossing if network.node_crossing is not None else np.zeros(network.n_nodes, np.int8)
    wait = np.select([crossing == CROSSING_SIGNALS, crossing == CROSSING_MARKED],
                     [model.wait_signals_s, model.wait_marked_s], model.wait_unmarked_s)
    return np.where(_meets_major(network, kind), wait, 0.0)
