"""What the walking model changes, on the coverage map: an overlay of the stairs and the penalised crossings of
major roads, and the legend's line naming the model and its parameters (:func:`carecircle.pipeline.walking_features`
finds them; this module only draws)."""

from __future__ import annotations

import html
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import folium
import geopandas as gpd

from carecircle.outputs.maps.common import add_layer, popup_frame, swatch
from carecircle.outputs.maps.elements import geojson_layer

#: Colours of the overlay: stairs (a warm red, drawn over the streets) and crossings (a dark amber).
STAIRS_COLOR = "#d7301f"
CROSSING_COLOR = "#7f2704"


def add_walking_layer(m: folium.Map, features: gpd.GeoDataFrame | None, labels: Mapping[str, str]) -> bool:
    """The "Stairs and crossings" layer (hidden at first): stair segments as red lines, penalised crossings as
    small dark circles whose tooltip gives the wait. ``features`` has ``kind`` (``steps``/``crossing``) and
    ``wait_s`` in EPSG:4326. Returns whether a layer was added (nothing to show: none)."""
    if features is None or features.empty:
        return False
    group = add_layer(m, labels["walking_layer"], show=False)
    stairs = features[(features["kind"] == "steps").to_numpy()]
    if len(stairs):
        geojson_layer(
            stairs[["geometry"]].assign(_what=labels["legend_stairs"]),
            style_function=lambda _f: {"color": STAIRS_COLOR, "weight": 5, "opacity": 0.9},
            tooltip=folium.GeoJsonTooltip(fields=["_what"], labels=False),
            control=False,
        ).add_to(group)
    crossings = features[(features["kind"] == "crossing").to_numpy()]
    if len(crossings):
        slim, keys, _ = popup_frame(
            crossings, [("wait_s", labels["crossing_wait"], lambda v: labels["crossing_tip"].format(s=float(v)))], {})
        geojson_layer(
            slim,
            marker=folium.CircleMarker(radius=4, color="#ffffff", weight=1, fill=True, fill_color=CROSSING_COLOR,
                                       fill_opacity=0.95),
            tooltip=folium.GeoJsonTooltip(fields=keys, labels=False),
            control=False,
        ).add_to(group)
    return True


def walking_legend(model: Mapping[str, Any] | None, labels: Mapping[str, str], *, layer: bool = False) -> str:
    """The legend's part on the walking model: its name and parameters, and the overlay's symbols when drawn."""
    if not model:
        return ""
    if model.get("name") == "older":
        text = labels["model_older"].format(step_s=float(model["step_s"]), signals=float(model["wait_signals_s"]),
                                            marked=float(model["wait_marked_s"]),
                                            unmarked=float(model["wait_unmarked_s"]))
    else:
        text = labels["model_plain"]
    extras = ([labels["model_avoid"]] if model.get("avoid_steps") else []) + (
        [labels["model_dem"].format(dem=Path(str(model["dem"])).name)] if model.get("dem") else [])
    if extras:
        text += "; " + "; ".join(extras)
    parts = [f'<div class="carecircle-walking-model" style="margin-top:6px;font-size:11px">'
             f'<b>{html.escape(labels["legend_model"])}</b> {html.escape(text)}</div>']
    if layer:
        parts.append(f'<div style="font-size:11px">{swatch(STAIRS_COLOR)}{html.escape(labels["legend_stairs"])}'
                     f' &nbsp; {swatch(CROSSING_COLOR, circle=True)}{html.escape(labels["legend_crossing"])}</div>')
    return "".join(parts)
