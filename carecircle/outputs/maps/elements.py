"""folium elements that write what they are given: markup as a value, and the maps' GeoJSON layers.

branca renders an element's template and then compiles the result as a Jinja template once more
(``MacroElement.render`` wraps it in ``Element(text)``): ``{{ ... }}`` in a user's text would be evaluated, and a
layer of city-size isochrones is megabytes of GeoJSON lexed and compiled only to come out as it was. The maps'
own markup goes in through :func:`html_element`, their GeoJSON layers through :func:`geojson_layer`.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely


def html_element(markup: str) -> folium.Element:
    """A folium element writing ``markup`` as it is.

    ``folium.Element(text)`` compiles ``text`` as a Jinja template, so ``{{ ... }}`` or ``{% ... %}`` in a
    user's title, name or note would be evaluated when the map is rendered; here the markup is a value.
    """
    element = folium.Element("{{ this.markup }}")
    element.markup = markup
    return element


def no_template(markup: str) -> str:
    """``markup`` with every ``{`` written as the character reference ``&#123;`` (the same text on the page).

    branca renders a folium element's script and then compiles the result as a Jinja template once more
    (``MacroElement.render`` wraps it in ``Element(...)``), so ``{{ ... }}`` or ``{% ... %}`` inside a popup's or
    tooltip's alias or a layer name would be evaluated in Python when the map is drawn. A GeoJSON layer's own
    script is not compiled again (:class:`_ScriptAsValue`), but folium unquotes a style value that starts with
    ``{{`` (its mark for an element's name), so its properties, which styles are made of, go through here too.
    Everything a map puts in its layers' text does (:func:`popup_frame`, :func:`add_layer`).
    """
    return markup.replace("{", "&#123;")


#: GeoJSON's name of each shapely type id (GEOS writes a LinearRing as a LineString).
_GEOJSON_TYPES = ("Point", "LineString", "LineString", "Polygon", "MultiPoint", "MultiLineString", "MultiPolygon",
                  "GeometryCollection")


def geojson_parts(frame: gpd.GeoDataFrame, placeholder: str) -> tuple[dict, list[str]]:
    """``frame`` as the GeoJSON dict folium makes of a GeoDataFrame (the same ids, properties, missing values as
    null, boxes), each drawn geometry replaced by a stand-in of its type whose coordinates are the text
    ``f"{placeholder}:{i}"``, and those geometries as GEOS writes them (``shapely.to_geojson``, shortest
    round-trip numbers).

    Several times faster for city-size isochrones and tens of thousands of demand points than folium's
    conversion (coordinate by coordinate and feature by feature in Python, then through JSON text and back):
    the properties are made column by column, and no geometry is read back into Python to be written again.
    """
    if frame.crs is not None and frame.crs.to_epsg() != 4326:
        frame = frame.to_crs(4326)
    geoms = np.asarray(frame.geometry.array, dtype=object)
    if frame.columns.duplicated().any():
        twice = sorted(map(str, set(frame.columns[frame.columns.duplicated()])))
        raise ValueError(f"GeoDataFrame has duplicate columns: {twice}")
    columns = [c for c in frame.columns if c != frame.geometry.name]
    values = []
    for c in columns:
        column = frame[c].astype(object).to_numpy(copy=True)  # Python ints, floats, bools and strings
        column[pd.isna(frame[c]).to_numpy()] = None
        values.append(column.tolist())
    keys = [_json_key(c) for c in columns]
    features = [{"id": str(i), "type": "Feature", "properties": dict(zip(keys, row, strict=True)),
                 "geometry": None, "bbox": None}
                for i, row in zip(frame.index, zip(*values, strict=True) if values else [()] * len(frame),
                                  strict=True)]
    drawn = np.flatnonzero(~(shapely.is_missing(geoms) | shapely.is_empty(geoms)))
    boxes = shapely.bounds(geoms[drawn]).tolist()
    kinds = np.array(_GEOJSON_TYPES)[shapely.get_type_id(geoms[drawn])].tolist()
    for j, (i, kind, box) in enumerate(zip(drawn.tolist(), kinds, boxes, strict=True)):
        features[i]["geometry"] = {"type": kind, "coordinates": f"{placeholder}:{j}"}
        features[i]["bbox"] = box
    collection = {"type": "FeatureCollection", "features": features, "bbox": frame.total_bounds.tolist()}
    return collection, shapely.to_geojson(geoms[drawn]).tolist()


def _json_key(key: Any) -> str:
    """A column name as JSON writes an object's key (``1`` as ``"1"``, ``True`` as ``"true"``)."""
    return key if isinstance(key, str) else next(iter(json.loads(json.dumps({key: None}))))


def geojson_layer(frame: gpd.GeoDataFrame, **kwargs: Any) -> folium.GeoJson:
    """``folium.GeoJson`` of ``frame`` (keywords passed on; a style function sees each feature's properties, not
    its geometry): the one way the maps make a GeoJSON layer. Its ``data`` is :func:`geojson_parts` (properties
    as folium makes them, geometries as stand-ins: the geometries themselves are only in the rendered page), its
    script goes into the page as written (:class:`_ScriptAsValue`)."""
    return _GeoJsonLayer(frame, **kwargs)


class _ScriptAsValue(folium.MacroElement):
    """``MacroElement.render`` that hands the rendered header, html and script to the page as values.

    branca wraps each in ``Element(text)``, which compiles the text as a Jinja template once more: for a layer
    of city-size isochrones or tens of thousands of demand points that is megabytes of GeoJSON lexed and compiled
    to render as it was. The text is the same (Jinja's rendering of it would only have dropped one trailing
    newline, dropped here too), after :meth:`finish`.
    """

    def prepare(self) -> None:
        """What to do before the macros are rendered."""

    def finish(self, part: str, text: str) -> str:
        """The rendered ``part`` (header, html or script) as it goes into the page."""
        return text

    def render(self, **kwargs: Any) -> None:
        self.prepare()
        figure = self.get_root()
        macros = self._template.module.__dict__
        for part in ("header", "html", "script"):
            macro = macros.get(part)
            if macro is not None:
                text = self.finish(part, macro(self, kwargs))
                text = text[:-1] if text.endswith("\n") else text
                getattr(figure, part).add_child(html_element(text), name=self.get_name())
        for element in self._children.values():
            element.render(**kwargs)


class _GeoJsonLayer(folium.GeoJson, _ScriptAsValue):
    """``folium.GeoJson`` of a frame whose geometries are written into the script as GEOS wrote them, and whose
    features find their style in a table.

    folium sees the features with stand-ins (the geometry's type, and a random token and the geometry's number
    as coordinates); :meth:`finish` puts each GEOS text in place of its stand-in. folium's styler is a
    ``switch`` with a ``case`` for every feature whose style is not the commonest: the browser compares each
    feature with the cases before its own, which for 80,000 demand points of different sizes took minutes.
    Here the styler looks the feature up in a ``Map`` of its style's number (:meth:`_tabulate`).
    ``_ScriptAsValue`` comes after folium's own ``render`` methods in the method order, in place of
    ``MacroElement.render``, so it runs after folium has made the style maps.
    """

    def __init__(self, frame: gpd.GeoDataFrame, **kwargs: Any) -> None:
        token = f"carecircle-geometry-{uuid.uuid4().hex}"
        collection, self._shapes = geojson_parts(frame, token)
        # The stand-in geometry object, whatever order and spacing the keys are written in.
        self._placeholder = re.compile(f'{{[^{{}}]*"{token}:([0-9]+)"[^{{}}]*}}')
        self._tables: list[str] = []
        super().__init__(collection, **kwargs)

    def _get_self_bounds(self) -> list[list[float | None]]:
        """``[[south, west], [north, east]]`` from the collection's box (folium reads its coordinates, which are
        stand-ins here), so ``m.fit_bounds(m.get_bounds())`` works as with any folium layer."""
        west, south, east, north = (None if np.isnan(v) else v for v in self.data["bbox"])
        return [[south, west], [north, east]]

    def prepare(self) -> None:
        self._tables = []
        for kind in ("style", "highlight"):
            if getattr(self, kind, None):
                self._tabulate(kind)

    def finish(self, part: str, text: str) -> str:
        if part == "script" and self._tables:
            text = "\n".join(self._tables) + text
        return self._placeholder.sub(lambda match: self._shapes[int(match[1])], text)

    def _tabulate(self, kind: str) -> None:
        """Put ``{kind}_map`` (folium's ``{style text: [feature ids]}`` with the commonest as ``default``) in two
        tables, the styles and a ``Map`` of each other feature's style number, leaving folium's template a
        ``switch`` with only its ``default``: the lookup (a single style stays as it is); styles as
        :func:`_style_text` writes them."""
        mapping = getattr(self, f"{kind}_map", None)
        if not hasattr(mapping, "items"):
            return
        others = [style for style in mapping if style != "default"]
        if not others:
            setattr(self, f"{kind}_map", {"default": _style_text(mapping["default"])})
            return
        numbers = [[feature_id, number] for number, style in enumerate(others, start=1)
                   for feature_id in mapping[style]]
        name = f"{self.get_name()}_{kind}"
        table = ", ".join(_style_text(style) for style in [mapping["default"], *others])
        self._tables.append(f"var {name}s = [{table}];\nvar {name}_number = new Map({_script_json(numbers)});")
        setattr(self, f"{kind}_map", {"default": f"{name}s[{name}_number.get({self.feature_identifier}) || 0]"})


#: folium's mark of an element's name inside a style, ``{{'name'}}``.
_UNQUOTE = re.compile(r"\{\{'([A-Za-z0-9_]+)'\}\}")


def _style_text(style: str) -> str:
    """folium's text of a style (JSON) as it goes into the script: an element's name it marks as ``{{'name'}}``
    for Jinja's second pass (not run here) unquoted, and made :func:`_script_safe`."""
    return _script_safe(_UNQUOTE.sub(r"\1", style))


def _script_json(value: Any) -> str:
    """``value`` as JSON safe inside ``<script>``, as Jinja's ``tojson`` writes it."""
    return _script_safe(json.dumps(value))


def _script_safe(text: str) -> str:
    """JSON ``text`` with ``<``, ``>``, ``&`` and ``'`` escaped (they occur only inside its strings, where
    ``</script>`` would end the script), as Jinja's ``tojson`` does."""
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026").replace("'", "\\u0027")
