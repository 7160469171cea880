"""Walking bands on the interactive map: the merged isochrones as non-overlapping bands, and the per-facility ones."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely import make_valid
from shapely.ops import unary_union

from carecircle.core.coverage import threshold_label
from carecircle.formats import is_missing
from carecircle.outputs.maps.common import (
    ISO_BAND_OUTLINE,
    NO_DATA_COLOR,
    add_layer,
    column_or_missing,
    iso_band_color,
    iso_band_fill_opacity,
    popup_frame,
    popup_text,
)
from carecircle.outputs.maps.elements import geojson_layer


def band_shapes(layers: Sequence) -> list:
    """Non-overlapping bands from the polygons of ascending thresholds: each minus every shorter one.

    The shorter ones are taken off in turn, the nearest first (it takes most): the same set as taking off their
    union, without uniting city-size polygons that differ only by simplification slivers. Each polygon of a
    layer loses only the shorter polygons whose boxes meet it, a thread per core: GEOS's overlay of whole
    city-size layers (hundreds of thousands of holes) takes ten times as long. Parts of no area that an overlay
    can leave where edges nearly meet (a line) are dropped: Leaflet draws polygons only.
    """
    # A valid (Multi)Polygon's polygons are disjoint; a collection's may overlap: united first.
    polygons = [_polygons(np.array([layer if layer.geom_type in ("Polygon", "MultiPolygon")
                                    else shapely.union_all(_polygons(np.array([layer], dtype=object)))], dtype=object))
                for layer in layers]
    workers = max(1, min(os.cpu_count() or 1, 8))
    bands = []
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for i, outer in enumerate(polygons):
            band = outer
            for inner in reversed(polygons[:i]):
                band = _minus(band, inner, pool, workers)
            bands.append(shapely.multipolygons(band))
    return bands


def _polygons(geoms: np.ndarray) -> np.ndarray:
    """The polygons of ``geoms`` that have an area: the parts of each, and of any collection among them."""
    parts = shapely.get_parts(shapely.get_parts(geoms))
    parts = parts[shapely.get_type_id(parts) == 3]
    return parts[shapely.area(parts) > 0]


def _minus(parts: np.ndarray, inner: np.ndarray, pool: ThreadPoolExecutor, workers: int) -> np.ndarray:
    """The polygons of each of ``parts`` minus the polygons of ``inner`` whose boxes meet it (``inner``'s
    polygons are disjoint, as the parts of one valid layer are, so each part's cutters form one multipolygon)."""
    if len(parts) == 0 or len(inner) == 0:
        return parts
    which, cutter = shapely.STRtree(inner).query(parts)
    if len(which) == 0:
        return parts
    hit, group = np.unique(which, return_inverse=True)
    order = np.argsort(group, kind="stable")
    cutters = shapely.multipolygons(inner[cutter[order]], indices=group[order])
    # Largest first, dealt in turn to the threads so each gets a share of the big ones.
    largest_first = np.argsort(-(shapely.get_num_coordinates(parts[hit]) + shapely.get_num_coordinates(cutters)),
                               kind="stable")
    shares = [largest_first[k::workers] for k in range(min(workers, len(hit)))]
    done = parts.copy()
    for share, cut in zip(shares, pool.map(lambda s: shapely.difference(parts[hit[s]], cutters[s]), shares),
                          strict=True):
        done[hit[share]] = cut
    return _polygons(done)


def add_isochrone_bands(m: folium.Map, isochrones: gpd.GeoDataFrame | None, facilities: gpd.GeoDataFrame,
                        labels: Mapping[str, str]) -> dict[str, tuple[str, str]]:
    """The merged isochrones as non-overlapping bands (0–5, 5–10, 10–15 min), one layer each, and the
    per-facility isochrones (a hidden layer, outlines in their band's colour).

    Each band is its isochrone minus every shorter one (:func:`band_shapes`), so the colours never stack and the
    nearest band is not hidden under the farther ones. Returns ``{threshold label: (colour, band text)}`` in
    ascending minutes.
    """
    if isochrones is None:
        return {}
    minutes = pd.to_numeric(isochrones["minutes"], errors="coerce")
    per_facility = isochrones["facility_id"].notna()
    merged = isochrones[~per_facility]
    if merged.empty:
        # Only per-facility polygons: merge them per threshold for display.
        parts = isochrones.assign(_m=minutes).groupby("_m")
        merged = gpd.GeoDataFrame({"minutes": list(parts.groups)},
                                  geometry=[unary_union(g.geometry.to_numpy()) for _, g in parts], crs=4326)
    merged_minutes = pd.to_numeric(merged["minutes"], errors="coerce")
    levels = sorted(float(v) for v in merged_minutes.dropna().unique())
    metres = getattr(labels["iso_band"], "metres", {})
    bands: dict[str, tuple[str, str]] = {}
    layers = []
    for v in levels:
        shapes = list(merged[np.isclose(merged_minutes, v)].geometry)
        layers.append(make_valid(shapes[0] if len(shapes) == 1 else unary_union(shapes)))
    for i, (v, band) in enumerate(zip(levels, band_shapes(layers), strict=True)):
        lab = threshold_label(v)
        lo = threshold_label(levels[i - 1]) if i else "0"
        color = iso_band_color(i, len(levels))
        bands[lab] = (color, labels["iso_band"].format(lo=metres.get(lo, lo), m=lab))
        group = add_layer(m, labels["iso_layer"].format(m=lab))
        if band.is_empty:
            continue
        style = {"color": color, **ISO_BAND_OUTLINE, "fillColor": color,
                 "fillOpacity": iso_band_fill_opacity(i, len(levels))}
        geojson_layer(
            gpd.GeoDataFrame(geometry=[band], crs=4326),
            style_function=lambda _f, st=style: st,
            interactive=False,
            control=False,
        ).add_to(group)
    if per_facility.any():
        rows = isochrones[per_facility]
        names = dict(zip(column_or_missing(facilities, "facility_id"), column_or_missing(facilities, "name"),
                         strict=False))
        row_minutes = minutes[per_facility]
        extra = {"_color": [bands[threshold_label(v)][0] if pd.notna(v) and threshold_label(v) in bands
                            else NO_DATA_COLOR for v in row_minutes]}
        fac = rows.assign(_name=[names.get(f, f) for f in rows["facility_id"]], _minutes=row_minutes)
        slim, keys, aliases = popup_frame(
            fac, [("_name", labels["facility"], lambda v: popup_text(v, labels)),
                  ("_minutes", labels["isochrone"],
                   lambda v: labels["na"] if is_missing(v) else labels["minutes_unit"].format(
                       m=threshold_label(float(v))))], extra)
        group = add_layer(m, labels["iso_facility_layer"], show=False)
        geojson_layer(
            slim,
            style_function=lambda f: {"color": f["properties"]["_color"], "weight": 1,
                                      "fillColor": f["properties"]["_color"], "fillOpacity": 0.08},
            tooltip=folium.GeoJsonTooltip(fields=keys, aliases=aliases, localize=False),
            control=False,
        ).add_to(group)
    return bands
