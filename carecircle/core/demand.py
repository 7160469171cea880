"""Demand: where the elderly population of each community lives, as weighted points.

A community's 60+ population is a total for a polygon; walking times need places. It is spread over points
inside the polygon by one of three documented estimates (dasymetric mapping):

``buildings``
    residential buildings inside the community, each weighted by floor area = footprint area (m², in the UTM
    CRS) × ``building:levels`` (``default_levels`` when the tag is missing or not a number). Buildings whose
    ``building`` tag names a non-residential use (shop, school, church, ...) are left out. Each building
    becomes one point at a position inside its footprint. Communities with no such building fall back to
    ``nodes``.
``nodes``
    walking-network nodes inside the community, equal shares. Communities with no node fall back to
    ``centroid``.
``centroid``
    one point inside each polygon (its representative point) holding the whole population.

The estimate used for each community is recorded in the ``method`` column of the returned points.

Before placing, communities are checked against the network's area (the convex hull of its nodes grown by
:data:`FAR_BEYOND_NETWORK_M`): a community with more than half of its area beyond it is refused (swapped
longitude/latitude, a wrong CRS, a polygon spanning the globe, or a network of another area); one with a smaller
part beyond it is placed in the part the network covers, with a warning naming it.
"""

from __future__ import annotations

import itertools
import logging
import os
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from carecircle.core.network import WalkNetwork, cache_file, file_key, network_cache_dir, save_npz
from carecircle.core.osm_buildings import read_pbf_buildings
from carecircle.errors import InputError, NetworkError

log = logging.getLogger(__name__)

METHODS = ("buildings", "nodes", "centroid")

#: Communities and demand points more than this far beyond the network's area (the convex hull of its nodes)
#: are not a walking question but a coordinate error: they are refused. Metres.
FAR_BEYOND_NETWORK_M = 5_000.0
#: Share of a community's area that may lie beyond the network's area before it is refused (above 1%: warned).
MAX_SHARE_BEYOND = 0.5

#: Bumped whenever the buildings reader or their cached form changes, so that old cache entries are not reused.
BUILDINGS_CACHE_VERSION = 2

#: ``building`` tag values that are not homes (others, including ``yes``, count as possibly residential).
NON_RESIDENTIAL = frozenset({
    "commercial", "industrial", "retail", "office", "warehouse", "church", "cathedral", "chapel", "mosque",
    "temple", "shrine", "religious", "school", "university", "college", "kindergarten", "hospital", "public",
    "civic", "government", "train_station", "transportation", "parking", "garage", "garages", "shed", "roof",
    "hangar", "stadium", "sports_hall", "service", "utility", "construction", "ruins", "museum", "hotel",
    "supermarket", "kiosk", "toilets", "bunker", "carport", "greenhouse", "farm_auxiliary", "barn",
})


def place_demand(
    communities: gpd.GeoDataFrame,
    network: WalkNetwork,
    *,
    method: str = "buildings",
    buildings: gpd.GeoDataFrame | None = None,
    default_levels: float = 3.0,
) -> gpd.GeoDataFrame:
    """Spread each community's elderly population (``pop_60plus``) over points inside it.

    Parameters
    ----------
    communities : polygons with ``community_id`` and ``pop_60plus`` (see :func:`carecircle.read_communities`).
    network : the walking network (its nodes serve the ``nodes`` estimate; its CRS measures areas).
    method : ``"buildings"``, ``"nodes"`` or ``"centroid"`` (see the module docstring).
    buildings : building footprints (any CRS) with optional ``building`` and ``building:levels`` columns;
        needed for ``"buildings"`` (without them every community falls back to ``nodes``).
    default_levels : storeys assumed for a building without a usable ``building:levels`` tag.

    Returns
    -------
    GeoDataFrame of points in EPSG:4326 with ``community_id``, ``population`` (elderly persons, float; the sum
    per community equals its ``pop_60plus``) and ``method``.
    """
    if method not in METHODS:
        raise InputError(f"demand method {method!r} is unknown; use one of {', '.join(METHODS)}.")
    _check_within_network(communities, network)
    polys = communities.to_crs(network.crs)
    ids = communities["community_id"].to_numpy()
    elderly = communities["pop_60plus"].to_numpy(dtype=float)
    parts: list[pd.DataFrame] = []
    todo = np.ones(len(polys), dtype=bool)

    if method == "buildings":
        if buildings is None or len(buildings) == 0:
            log.info("demand: no building footprints; placing population on network nodes")
        else:
            part, done = _on_buildings(polys, buildings, default_levels=default_levels)
            parts.append(part)
            todo &= ~done
    if method in ("buildings", "nodes") and todo.any():
        part, done = _on_nodes(polys, network, todo)
        parts.append(part)
        todo &= ~done
    if todo.any():
        rows = np.flatnonzero(todo)
        pts = shapely.point_on_surface(polys.geometry.values[rows])
        parts.append(pd.DataFrame({"row": rows, "weight": 1.0, "x": shapely.get_x(pts),
                                   "y": shapely.get_y(pts), "method": "centroid"}))

    placed = pd.concat(parts, ignore_index=True)
    total_w = placed.groupby("row")["weight"].transform("sum")
    placed["population"] = elderly[placed["row"]] * placed["weight"] / total_w
    placed["community_id"] = ids[placed["row"]]
    placed = placed.sort_values(["row", "x", "y"], kind="stable").reset_index(drop=True)
    counts = placed.groupby("method")["row"].nunique().to_dict()
    log.info("demand: %d points; communities by estimate: %s", len(placed), counts)
    gdf = gpd.GeoDataFrame(
        placed[["community_id", "population", "method"]],
        geometry=gpd.points_from_xy(placed["x"], placed["y"]),
        crs=network.crs,
    )
    return gdf.to_crs("EPSG:4326")


def network_area_wgs84(network: WalkNetwork) -> shapely.Geometry:
    """The network's area in WGS-84: the convex hull of its nodes grown by :data:`FAR_BEYOND_NETWORK_M`."""
    grown = shapely.buffer(network.hull, FAR_BEYOND_NETWORK_M)
    return shapely.transform(grown, lambda xy: np.column_stack(network.to_wgs84.transform(xy[:, 0], xy[:, 1])))


def km_from_network(lon: np.ndarray, lat: np.ndarray, network: WalkNetwork) -> np.ndarray:
    """Geodesic distance in km from the centre of the network's nodes to each WGS-84 point (for messages)."""
    cx, cy = network.to_wgs84.transform(*network.node_xy.mean(axis=0))
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    _, _, dist = pyproj.Geod(ellps="WGS84").inv(np.full(len(lon), cx), np.full(len(lat), cy), lon, lat)
    return np.asarray(dist) / 1000.0


def far_hint() -> str:
    """What to do about inputs far beyond the network (shared by the communities' and demand points' messages)."""
    return ("swapped longitude and latitude, or coordinates in another CRS than declared? check them, or load a "
            "network that covers them")


def _check_within_network(communities: gpd.GeoDataFrame, network: WalkNetwork) -> None:
    """Refuse communities mostly beyond the network's area; warn about those partly beyond it."""
    if network.n_nodes == 0:
        return
    area = network_area_wgs84(network)
    geoms = np.asarray(communities.to_crs("EPSG:4326").geometry.array)
    with np.errstate(invalid="ignore", divide="ignore"):  # areas in degrees²: a ratio, see io.readers
        beyond = 1.0 - shapely.area(shapely.intersection(geoms, area)) / shapely.area(geoms)
    ids = communities["community_id"].astype(str).to_numpy()
    far = np.flatnonzero(~(beyond <= MAX_SHARE_BEYOND))
    if len(far):
        pts = shapely.point_on_surface(geoms[far])
        km = km_from_network(shapely.get_x(pts), shapely.get_y(pts), network)
        shown = ", ".join(f"{ids[i]} ({k:,.0f} km away)" for i, k in zip(far[:8], km[:8], strict=False))
        more = f", … {len(far) - 8} more" if len(far) > 8 else ""
        raise InputError(
            f"communities: {len(far)} lie mostly more than {FAR_BEYOND_NETWORK_M / 1000:g} km beyond the walking "
            f"network's area: {shown}{more}; {far_hint()}."
        )
    partly = np.flatnonzero(beyond > 0.01)
    if len(partly):
        log.warning("demand: %d communities extend more than %g km beyond the walking network (%s); their elderly "
                    "are placed in the part it covers", len(partly), FAR_BEYOND_NETWORK_M / 1000,
                    ", ".join(f"{ids[i]} {beyond[i]:.0%}" for i in partly[:8]))


def _on_buildings(polys: gpd.GeoDataFrame, buildings: gpd.GeoDataFrame, *, default_levels: float):
    b = buildings.to_crs(polys.crs)
    b = b[b.geom_type.isin(["Polygon", "MultiPolygon"]).to_numpy()]
    if "building" in b:
        b = b[~b["building"].astype(str).str.lower().isin(NON_RESIDENTIAL).to_numpy()]
    levels = np.full(len(b), float(default_levels))
    if "building:levels" in b:
        parsed = pd.to_numeric(b["building:levels"], errors="coerce").to_numpy(dtype=float)
        usable = np.isfinite(parsed) & (parsed > 0)
        levels[usable] = parsed[usable]
    geoms = b.geometry.values
    weight = shapely.area(geoms) * levels
    pts = shapely.point_on_surface(geoms)
    b_idx, p_idx = shapely.STRtree(polys.geometry.values).query(pts, predicate="within")
    # A point on a shared border lies in no polygon's interior; within never matches twice.
    part = pd.DataFrame({"row": p_idx, "weight": weight[b_idx], "x": shapely.get_x(pts[b_idx]),
                         "y": shapely.get_y(pts[b_idx]), "method": "buildings"})
    part = part[part["weight"] > 0]
    done = np.zeros(len(polys), dtype=bool)
    done[part["row"].unique()] = True
    return part, done


def _on_nodes(polys: gpd.GeoDataFrame, network: WalkNetwork, todo: np.ndarray):
    rows = np.flatnonzero(todo)
    pts = shapely.points(network.node_xy)
    n_idx, p_idx = shapely.STRtree(polys.geometry.values[rows]).query(pts, predicate="within")
    part = pd.DataFrame({"row": rows[p_idx], "weight": 1.0, "x": network.node_xy[n_idx, 0],
                         "y": network.node_xy[n_idx, 1], "method": "nodes"})
    done = np.zeros(len(polys), dtype=bool)
    done[part["row"].unique()] = True
    return part, done


# ------------------------------------------------------------------------------------------------ reading


def osm_buildings(path: str | os.PathLike, *, cache_dir: str | os.PathLike | None = None) -> gpd.GeoDataFrame:
    """Building footprints from a local OSM file (``.osm.pbf`` with libosmium, :mod:`carecircle.core.osm_buildings`;
    OSM XML with osmnx).

    Returns an empty GeoDataFrame when the file holds no buildings (the ``nodes`` estimate is used then).

    The footprints (WKB) and their ``building`` / ``building:levels`` tags are cached as ``buildings-*.npz`` in
    ``cache_dir``, by default in the folder :func:`carecircle.core.network.load_network` last used for the same
    file in this process (no cache when it used none). An entry is keyed like the network's: the file's
    absolute path, size and modification time, and :data:`BUILDINGS_CACHE_VERSION`. An unreadable entry is
    ignored (with a warning) and written again; a cache that cannot be written is only logged.
    """
    path = Path(path)
    folder = cache_dir if cache_dir is not None else network_cache_dir(path)
    if folder is None or not path.is_file():
        return _read_buildings(path)
    file = cache_file(folder, "buildings", {"kind": "buildings", **file_key(path),
                                            "version": BUILDINGS_CACHE_VERSION})
    if file.is_file():
        try:
            gdf = _load_buildings(file)
            log.info("demand: reused buildings cache %s", file)
            return gdf
        except Exception as exc:  # a truncated or foreign file: zipfile, numpy, shapely and our checks all raise
            log.warning("demand: ignoring unreadable buildings cache %s (%s: %s); rebuilding it", file,
                        type(exc).__name__, str(exc)[:160])
            file.unlink(missing_ok=True)
    gdf = _read_buildings(path)
    try:
        _save_buildings(gdf, file)
    except Exception as exc:  # the cache only saves time: a full disk or odd tag values must not stop the study
        log.warning("demand: could not write buildings cache %s (%s: %s)", file, type(exc).__name__, exc)
    return gdf


def _read_buildings(path: Path) -> gpd.GeoDataFrame:
    """The footprints and their two tags, read from the OSM file itself."""
    name = path.name.lower()
    try:
        if name.endswith(".pbf"):
            gdf = read_pbf_buildings(path)
        elif name.endswith((".osm", ".osm.bz2", ".xml", ".xml.bz2")):
            import osmnx as ox  # lazy: heavy OSM reader, only for local files

            gdf = ox.features_from_xml(path, tags={"building": True})
        else:
            return _no_buildings()
    except (ValueError, KeyError) as exc:  # "no matching features" in osmnx
        log.info("demand: no buildings read from %s (%s)", path.name, exc)
        return _no_buildings()
    except Exception as exc:  # a broken file is the network reader's business; say so once here
        raise NetworkError(f"cannot read buildings from {path.name} ({type(exc).__name__}: {exc}).") from exc
    if gdf is None or len(gdf) == 0:
        return _no_buildings()
    keep = [c for c in ("building", "building:levels") if c in gdf]
    return gpd.GeoDataFrame(gdf[keep].reset_index(drop=True), geometry=gdf.geometry.values, crs=gdf.crs)


def _no_buildings() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"building": [], "building:levels": []}, geometry=[], crs="EPSG:4326")


def _save_buildings(gdf: gpd.GeoDataFrame, file: Path) -> None:
    """Footprints as one WKB byte buffer with row offsets; each tag column as text plus a missing-value mask."""
    wkb = [b or b"" for b in shapely.to_wkb(gdf.geometry.values)]  # a missing geometry: no bytes
    sizes = np.fromiter(map(len, wkb), dtype=np.int64, count=len(wkb))
    arrays = {"wkb": np.frombuffer(b"".join(wkb), dtype=np.uint8), "offsets": np.concatenate([[0], np.cumsum(sizes)]),
              "columns": np.array([c for c in gdf.columns if c != gdf.geometry.name], dtype=str),
              "crs": np.array(gdf.crs.to_string() if gdf.crs is not None else "")}
    for i, col in enumerate(arrays["columns"]):
        missing = gdf[col].isna().to_numpy()
        arrays[f"missing{i}"] = missing
        arrays[f"text{i}"] = np.where(missing, "", gdf[col].astype(object).to_numpy()).astype(str)
    save_npz(file, **arrays)


def _load_buildings(file: Path) -> gpd.GeoDataFrame:
    """What :func:`_save_buildings` wrote, as the GeoDataFrame it was written from."""
    with np.load(file, allow_pickle=False) as z:
        wkb, offsets, columns, crs = z["wkb"], z["offsets"], [str(c) for c in z["columns"]], str(z["crs"])
        text = {c: (z[f"text{i}"], z[f"missing{i}"]) for i, c in enumerate(columns)}
    n = len(offsets) - 1
    if (offsets.ndim != 1 or n < 0 or offsets[0] != 0 or offsets[-1] != len(wkb) or np.any(np.diff(offsets) < 0)
            or any(t.shape != (n,) or m.shape != (n,) for t, m in text.values())):
        raise ValueError("arrays of inconsistent length")
    if n == 0:
        return _no_buildings()
    data = wkb.tobytes()
    geoms = shapely.from_wkb([data[a:b] if b > a else None for a, b in itertools.pairwise(offsets.tolist())])
    frame = {c: pd.Series(np.where(m, None, t.astype(object))) for c, (t, m) in text.items()}
    return gpd.GeoDataFrame(frame, geometry=geoms, crs=crs or None)


def children_demand(demand: gpd.GeoDataFrame, communities: gpd.GeoDataFrame | None) -> gpd.GeoDataFrame | None:
    """Children 0–3 placed like the elderly: each demand point gets its community's ``pop_0_3`` in proportion
    to its share of the community's elderly (the same building/node weights); in a community with no elderly,
    in equal shares over its points. ``None`` without ``pop_0_3``."""
    if communities is None or "pop_0_3" not in communities or communities["pop_0_3"].isna().all():
        return None
    kids = communities.set_index(communities["community_id"].astype(str))["pop_0_3"].fillna(0.0)
    ids = demand["community_id"].astype(str)
    elderly = demand.groupby(ids)["population"].transform("sum").to_numpy(dtype=float)
    count = demand.groupby(ids)["population"].transform("size").to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        weight = np.where(elderly > 0, demand["population"].to_numpy(dtype=float) / elderly, 1.0 / count)
    return demand.assign(population=weight * kids.reindex(ids.to_numpy()).fillna(0.0).to_numpy())
