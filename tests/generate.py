"""Generated inputs whose answers can be worked out by hand: street grids, random networks, point tables.

Grids sit in UTM zone 50 (EPSG:32650, eastern China) with their south-west corner at ``ORIGIN``; blocks are
``block`` metres, so at 1.0 m/s fifteen minutes reach exactly 900 m (nine blocks). Every random generator takes
a seed.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely

from carecircle.core.network import WalkNetwork, network_from_lines

GRID_CRS = "EPSG:32650"
ORIGIN = (500_000.0, 4_600_000.0)


def grid_lines(nx: int, ny: int, *, block: float = 100.0, origin=ORIGIN) -> np.ndarray:
    """Streets of an ``nx`` × ``ny``-node grid: one LineString per street, a vertex at every crossing."""
    x0, y0 = origin
    xs = x0 + block * np.arange(nx)
    ys = y0 + block * np.arange(ny)
    rows = [shapely.LineString(np.column_stack([xs, np.full(nx, y)])) for y in ys]
    cols = [shapely.LineString(np.column_stack([np.full(ny, x), ys])) for x in xs]
    return np.array(rows + cols, dtype=object)


def grid_network(nx: int = 11, ny: int = 11, *, block: float = 100.0, extra_lines=(), origin=ORIGIN) -> WalkNetwork:
    """A street grid with 100 m blocks (by default 11 × 11 nodes: 1 km × 1 km)."""
    lines = np.concatenate([grid_lines(nx, ny, block=block, origin=origin), np.array(list(extra_lines), dtype=object)])
    return network_from_lines(lines, crs=GRID_CRS, source="grid")


def at(x: float, y: float) -> tuple[float, float]:
    """Grid coordinates (metres from the grid's south-west corner) to projected coordinates."""
    return ORIGIN[0] + x, ORIGIN[1] + y


def random_network(seed: int, *, nx: int = 12, ny: int = 10, block: float = 100.0) -> WalkNetwork:
    """A jittered grid with ~15% of its block segments removed and a few diagonal short cuts."""
    rng = np.random.default_rng(seed)
    gx, gy = np.meshgrid(np.arange(nx), np.arange(ny), indexing="ij")
    xy = np.stack([gx, gy], axis=-1).astype(float) * block
    xy += rng.uniform(-0.2 * block, 0.2 * block, size=xy.shape)
    xy += np.array(ORIGIN)
    segs = []
    for i in range(nx):
        for j in range(ny):
            if i + 1 < nx:
                segs.append((xy[i, j], xy[i + 1, j]))
            if j + 1 < ny:
                segs.append((xy[i, j], xy[i, j + 1]))
    segs = [s for s in segs if rng.random() > 0.15]
    for _ in range(max(1, nx * ny // 20)):
        i, j = rng.integers(0, nx - 1), rng.integers(0, ny - 1)
        segs.append((xy[i, j], xy[i + 1, j + 1]))
    lines = shapely.linestrings(np.array(segs))
    return network_from_lines(lines, crs=GRID_CRS, source=f"random grid {seed}")


def random_points(seed: int, network: WalkNetwork, k: int, *, margin: float = 60.0) -> np.ndarray:
    """``k`` points uniformly spread over the network's bounding box grown by ``margin`` metres."""
    rng = np.random.default_rng(seed)
    lo = network.node_xy.min(axis=0) - margin
    hi = network.node_xy.max(axis=0) + margin
    return rng.uniform(lo, hi, size=(k, 2))


def facilities_gdf(xy, ids=None, *, crs: str = GRID_CRS, **columns) -> gpd.GeoDataFrame:
    """Facility points with ``facility_id`` (``F1, F2, ...`` unless given)."""
    xy = np.asarray(xy, dtype=float).reshape(-1, 2)
    ids = list(ids) if ids is not None else [f"F{i + 1}" for i in range(len(xy))]
    return gpd.GeoDataFrame({"facility_id": ids, **columns}, geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]),
                            crs=crs)


def demand_gdf(xy, population=None, community_id=None, *, crs: str = GRID_CRS) -> gpd.GeoDataFrame:
    """Demand points with ``population`` (1 each unless given) and ``community_id`` (``"all"`` unless given)."""
    xy = np.asarray(xy, dtype=float).reshape(-1, 2)
    population = np.ones(len(xy)) if population is None else np.asarray(population, dtype=float)
    community_id = ["all"] * len(xy) if community_id is None else list(community_id)
    return gpd.GeoDataFrame({"community_id": community_id, "population": population},
                            geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=crs)


def quadrant_communities(network: WalkNetwork, pop_60plus=(100, 200, 300, 400), *,
                         crs: str = GRID_CRS) -> gpd.GeoDataFrame:
    """Four rectangular communities Q1..Q4 splitting the network's bounding box (grown by 100 m) in quarters."""
    (x0, y0), (x1, y1) = network.node_xy.min(axis=0) - 100, network.node_xy.max(axis=0) + 100
    xm, ym = (x0 + x1) / 2, (y0 + y1) / 2
    boxes = [shapely.box(x0, y0, xm, ym), shapely.box(xm, y0, x1, ym), shapely.box(x0, ym, xm, y1),
             shapely.box(xm, ym, x1, y1)]
    pop = np.asarray(pop_60plus, dtype=float)
    return gpd.GeoDataFrame({"community_id": ["Q1", "Q2", "Q3", "Q4"], "pop_60plus": pop, "pop_total": pop * 4},
                            geometry=boxes, crs=crs)


def community_of(xy: np.ndarray, communities: gpd.GeoDataFrame) -> np.ndarray:
    """Community id of each point (``"none"`` outside all of them), by plain containment."""
    out = np.full(len(xy), "none", dtype=object)
    pts = shapely.points(xy)
    for cid, geom in zip(communities["community_id"], communities.geometry.values, strict=True):
        out[shapely.covers(geom, pts)] = cid
    return out


def north_up(west: float, north: float, dx: float, dy: float):
    """A north-up raster transform for the GeoTIFFs tests write (rasterio's ``from_origin`` without the Affine
    product it deprecates)."""
    from affine import Affine  # rasterio's own dependency; only raster tests need it

    return Affine(dx, 0.0, west, 0.0, -dy, north)
