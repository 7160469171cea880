"""What happens to a map as the page opens: its fit to the study area, and the community names written on it,
moved off the markers at every zoom."""

from __future__ import annotations

import json

import folium

from carecircle.outputs.maps.elements import html_element


def fit_on_load(m: folium.Map, bounds: list[list[float]]) -> None:
    """Fit the map to ``bounds`` ([[south, west], [north, east]]) without the zoom animation (during which the
    drawing is scaled by a transition and a screenshot or a first look catches it small), and again once the
    page has laid out, in case the frame changed size meanwhile (a report's iframe, a slow start)."""
    fit = folium.FitBounds(bounds)
    fit.options["animate"] = False
    fit.add_to(m)
    m.get_root().html.add_child(html_element(
        f"<script>window.addEventListener('load', function () {{ {m.get_name()}.invalidateSize();"
        f" {m.get_name()}.fitBounds({json.dumps(bounds)}, {{animate: false}}); }});</script>"), name="carecircle_fit")


#: Community names are written on the map up to this many communities (beyond, they would hide one another).
MAX_LABELS = 120
#: After the names are bound, and at every zoom: each name moves up or down from its community's centre (0, then
#: ∓16, ∓28 px) to the first place clear of the facility and site markers (features with ``_mark``), or the place
#: with fewest markers under it, as map.png places its names.
_CLEAR_OF_MARKERS_JS = """
  var map = %(map)s;
  function clearOfMarkers() {
    var marks = [];
    map.eachLayer(function (l) {
      if (!(l.feature && l.feature.properties._mark && l.getLatLng)) { return; }
      var p = map.latLngToContainerPoint(l.getLatLng());
      marks.push([p.x, p.y, l.getRadius ? l.getRadius() + 3 : 14]);
    });
    %(layer)s.eachLayer(function (l) {
      var t = l.getTooltip && l.getTooltip(), el = t && t.getElement();
      if (!el || !t.getLatLng()) { return; }
      var at = map.latLngToContainerPoint(t.getLatLng()), w = el.offsetWidth, h = el.offsetHeight;
      var now = L.point(t.options.offset || [0, 0]).y;  // the name is centred on its community, moved by dy
      var x0 = at.x - w / 2, x1 = at.x + w / 2, y0 = at.y - h / 2, y1 = at.y + h / 2;
      var best = 0, fewest = Infinity;
      [0, -16, 16, -28, 28].forEach(function (dy) {
        if (fewest === 0) { return; }
        var hit = marks.filter(function (m) {
          var cx = Math.max(x0, Math.min(m[0], x1)), cy = Math.max(y0 + dy, Math.min(m[1], y1 + dy));
          return Math.hypot(cx - m[0], cy - m[1]) < m[2]; }).length;
        if (hit < fewest) { fewest = hit; best = dy; }
      });
      if (best !== now) { t.options.offset = L.point(0, best); t.update(); }
    });
  }
  clearOfMarkers();
  map.on("zoomend overlayadd", clearOfMarkers);"""


def label_script(layer: str, map_name: str) -> str:
    """Each community's name written on the map: a permanent tooltip (plain haloed text, ``carecircle-label``)
    at its centre, bound per community (a tooltip bound to the whole GeoJSON layer would be one label only), then
    moved clear of the markers (:data:`_CLEAR_OF_MARKERS_JS`)."""
    return (
        "<script>window.addEventListener('load', function () {"
        f"{layer}.eachLayer(function (l) {{ var t = l.feature && l.feature.properties._label;"
        " if (t) { l.bindTooltip(t, {permanent: true, direction: 'center', interactive: false,"
        " className: 'carecircle-label'}); } });"
        + _CLEAR_OF_MARKERS_JS % {"layer": layer, "map": map_name} +
        "});</script>"
    )
