"""Demand from a population raster: where the elderly live when no community table gives their numbers.

Analysts often hold gridded population (WorldPop's 100 m age/sex rasters: one GeoTIFF per 5-year band and sex)
rather than community 60+ figures. :func:`raster_demand` sums the given rasters (every band of every file, e.g.
the 60–64 … 80+ bands of both sexes) cell by cell and turns the cells into demand points:

- **with communities**, each community receives the exact share of every cell it covers: the cell's value times
  the fraction of the cell inside the polygon, computed exactly by ``exactextract`` (partial pixels included, so
  the communities' sums add up to the raster's total over them). A cell wholly inside becomes a point at its
  centre; a cell on the boundary a point inside the part of the cell within the community. When the communities
  also give their 60+ totals (``pop_60plus``) and ``scale`` is on, each community's points are scaled so that
  they sum to its total: the raster then only says *where* inside the community people live (dasymetric
  mapping, like the building estimate of :mod:`carecircle.core.demand`). A community the raster leaves empty
  but whose total is above 0 gets one point inside it holding the total (logged).
- **without communities**, every cell with people within the network's area becomes a point at its centre, in
  one community ``all``.

The rasters must share one grid (size, transform, coordinate system; north-up). Cells marked nodata or NaN hold
nobody; a negative or infinite value is an error. The method of each point is recorded in
``method`` (``raster``, ``raster, scaled`` or ``centroid``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from carecircle.core.demand import network_area_wgs84
from carecircle.core.network import WalkNetwork
from carecircle.errors import InputError

log = logging.getLogger(__name__)


def read_population_rasters(paths: Sequence[str | Path]) -> tuple[np.ndarray, tuple[float, float, float, float], str]:
    """The cell-by-cell sum of every band of every raster: (array, bounds (xmin, ymin, xmax, ymax), CRS WKT).

    Raises :class:`~carecircle.errors.InputError` when a file cannot be read, has no CRS or is rotated, the grids
    differ, or a cell is negative."""
    import rasterio  # lazy: only runs that use rasters pay for GDAL

    total, grid = None, None
    for path in map(Path, paths):
        try:
            with rasterio.open(path) as src:
                if src.crs is None:
                    raise InputError(f"{path.name}: the raster has no coordinate system; assign one (e.g. "
                                     "gdal_edit.py -a_srs EPSG:4326) and run again.")
                if src.transform.b != 0 or src.transform.d != 0 or src.transform.e >= 0:
                    raise InputError(f"{path.name}: the raster is rotated or not north-up; warp it to a north-up "
                                     "grid (gdalwarp) and run again.")
                this = (src.width, src.height, tuple(src.transform)[:6], src.crs.to_wkt())
                data = src.read(masked=True).astype(np.float64).filled(0.0)
        except rasterio.errors.RasterioIOError as exc:
            raise InputError(f"{path.name}: cannot read as a raster ({exc}); give a GeoTIFF.") from None
        if grid is not None and this != grid:
            raise InputError(f"{path.name}: its grid (size, cell size, origin or coordinate system) differs from "
                             f"{Path(paths[0]).name}'s; resample the rasters to one grid (gdalwarp -tap).")
        grid = this
        data = np.nan_to_num(data, nan=0.0, posinf=np.nan)
        if np.isnan(data).any() or (data < 0).any():
            raise InputError(f"{path.name}: cells hold negative or infinite values (e.g. {data[data < 0][:3]}); a "
                             "population raster counts people: fix or mask them as nodata.")
        band_sum = data.sum(axis=0)
        total = band_sum if total is None else total + band_sum
    if total is None:
        raise InputError("no population raster given; pass one or more GeoTIFF files.")
    width, height, transform, wkt = grid
    a, _, c, _, e, f = transform
    return total, (c, f + e * height, c + a * width, f), wkt


def raster_demand(paths: Sequence[str | Path], network: WalkNetwork, communities: gpd.GeoDataFrame | None = None,
                  *, scale: bool = True) -> gpd.GeoDataFrame:
    """Demand points from population rasters (see the module docstring).

    Returns a GeoDataFrame in EPSG:4326 with ``community_id``, ``population`` and ``method``.
    """
    values, bounds, wkt = read_population_rasters(paths)
    if communities is None:
        return _cells_in_network_area(values, bounds, wkt, network)
    from exactextract import exact_extract
    from exactextract.raster import NumPyRasterSource

    polys = communities[["community_id", "geometry"]].to_crs(wkt)
    polys = polys.assign(community_id=polys["community_id"].astype(str))
    found = exact_extract(NumPyRasterSource(values, *bounds, srs_wkt=wkt), polys,
                          ["cell_id", "coverage", "values", "center_x", "center_y"],
                          include_cols=["community_id"], output="pandas")
    found = found.explode(["cell_id", "coverage", "values", "center_x", "center_y"], ignore_index=True)
    found = found.dropna(subset=["values"])
    people = found["values"].to_numpy(dtype=float) * found["coverage"].to_numpy(dtype=float)
    keep = people > 0
    found, people = found[keep].reset_index(drop=True), people[keep]
    xy = found[["center_x", "center_y"]].to_numpy(dtype=float)
    points = shapely.points(xy)
    partial = np.flatnonzero(found["coverage"].to_numpy(dtype=float) < 1.0)
    if len(partial):  # a boundary cell's people stand inside the part of the cell within the community
        half = np.abs(np.array([bounds[2] - bounds[0], bounds[3] - bounds[1]])) / np.array(values.shape[::-1]) / 2
        cells = shapely.box(*(xy[partial] - half).T, *(xy[partial] + half).T)
        owner = polys.set_index("community_id").geometry.reindex(found["community_id"].iloc[partial]).to_numpy()
        points[partial] = shapely.point_on_surface(shapely.intersection(cells, owner))
    out = pd.DataFrame({"community_id": found["community_id"].to_numpy(), "population": people, "method": "raster"})
    out = gpd.GeoDataFrame(out, geometry=points, crs=wkt)
    if scale and "pop_60plus" in communities and communities["pop_60plus"].notna().any():
        out = _scaled(out, communities)
    log.info("demand: %d points from %d raster file(s), %.0f persons", len(out), len(paths), out["population"].sum())
    return out.to_crs("EPSG:4326")


def _scaled(points: gpd.GeoDataFrame, communities: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Points scaled so each community's sum is its ``pop_60plus``; a community with a total but no raster
    people gets one point inside it holding the total."""
    totals = communities.set_index(communities["community_id"].astype(str))["pop_60plus"]
    sums = points.groupby("community_id")["population"].sum()
    given = totals.dropna()
    factor = (given / sums.reindex(given.index)).replace([np.inf, -np.inf], np.nan)
    has = points["community_id"].map(factor).notna().to_numpy()
    points.loc[has, "population"] = points["population"].to_numpy()[has] * points["community_id"].map(factor)[has]
    points.loc[has, "method"] = "raster, scaled"
    empty = given[(given > 0) & ~given.index.isin(sums[sums > 0].index)]
    if len(empty):
        log.warning("demand: the raster holds nobody in %d communities with elderly (%s); each gets one point "
                    "inside it", len(empty), ", ".join(empty.index[:8]))
        geoms = communities.set_index(communities["community_id"].astype(str)).geometry.to_crs(points.crs)
        extra = gpd.GeoDataFrame({"community_id": empty.index, "population": empty.to_numpy(dtype=float),
                                  "method": "centroid"},
                                 geometry=shapely.point_on_surface(geoms.reindex(empty.index).to_numpy()),
                                 crs=points.crs)
        points = pd.concat([points, extra], ignore_index=True)
    return points


def _cells_in_network_area(values: np.ndarray, bounds, wkt: str, network: WalkNetwork) -> gpd.GeoDataFrame:
    height, width = values.shape
    xmin, ymin, xmax, ymax = bounds
    dx, dy = (xmax - xmin) / width, (ymax - ymin) / height
    rows, cols = np.nonzero(values > 0)
    centres = gpd.GeoSeries(shapely.points(xmin + (cols + 0.5) * dx, ymax - (rows + 0.5) * dy), crs=wkt)
    inside = shapely.contains_xy(network_area_wgs84(network), *shapely.get_coordinates(
        centres.to_crs("EPSG:4326").geometry.values).T)
    if not inside.any():
        raise InputError("the population raster holds nobody within the walking network's area; check that it "
                         "covers the study area (and its coordinate system).")
    out = gpd.GeoDataFrame({"community_id": "all", "population": values[rows, cols][inside], "method": "raster"},
                           geometry=centres.values[inside], crs=wkt)
    log.info("demand: %d raster cells with people within the network's area, %.0f persons", len(out),
             out["population"].sum())
    return out.to_crs("EPSG:4326")
