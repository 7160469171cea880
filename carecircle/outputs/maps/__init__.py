"""Interactive maps: one self-contained, offline HTML file each, built with folium.

Only this package imports folium. :func:`coverage_map` (:mod:`.coverage`) shows communities coloured by
coverage share, merged isochrones per threshold, per-facility isochrones (hidden by default), uncovered elderly
demand and the care facilities by type, with a layer control, a legend, a title, a note and headline figures.
Optionally it adds suggested new sites (numbered by rank), their isochrones, and a coverage curve drawn as plain
inline SVG (:func:`curve_svg`, which the HTML report uses too). :func:`comparison_map` (:mod:`.comparison`)
draws a baseline-versus-plan comparison (:mod:`carecircle.plan.compare`) in the same style. What both share
(inline Leaflet, colours, boxes, popups, writing and embedding) is in :mod:`.common`.
"""

from carecircle.outputs.maps.common import (
    SHARE_COLORS,
    TYPE_COLORS,
    curve_svg,
    map_document,
    map_fragment,
    save_map,
    srcdoc_iframe,
    type_colors,
)
from carecircle.outputs.maps.comparison import comparison_map
from carecircle.outputs.maps.coverage import coverage_map

__all__ = ["SHARE_COLORS", "TYPE_COLORS", "comparison_map", "coverage_map", "curve_svg", "map_document", "map_fragment",
           "save_map", "srcdoc_iframe", "type_colors"]
