"""carecircle: plan the 15-minute elder-care circle (15分钟养老服务圈) on the OpenStreetMap walking network.

The data flow, one plain function per step::

    net = carecircle.load_network("district.osm.pbf")            # or download_network(place=...)
    facilities = carecircle.read_facilities("facilities.csv")
    communities = carecircle.read_communities("communities.geojson")
    demand = carecircle.place_demand(communities, net, buildings=carecircle.osm_buildings("district.osm.pbf"))
    result = carecircle.measure_coverage(net, facilities, demand, communities)
    iso = carecircle.isochrones(net, facilities)
    carecircle.coverage_map(result, iso)                          # a folium.Map; renders in Jupyter

or all at once: ``carecircle.run_study()`` (the bundled demo; ``standard="qitaihe-2020"`` checks a plan) and
``carecircle.write_outputs(study, folder)``; new sites with ``carecircle.suggest_sites``; scenario files with
``carecircle.load_scenario`` / ``run_scenario`` and ``carecircle.compare``; the report with ``render_report``.
A whole study is one :class:`StudyConfig` (what CLI flags and scenario files build too), run with
``carecircle.run(config)``.
"""

from carecircle.config import Area, StudyConfig
from carecircle.core.coverage import CoverageResult, measure_coverage
from carecircle.core.demand import osm_buildings, place_demand
from carecircle.core.isochrones import isochrones
from carecircle.core.network import WalkNetwork, download_network, load_network
from carecircle.core.travel import SPEED_PRESETS_MPS, TravelTimes, snap_points, travel_times
from carecircle.errors import (
    CarecircleError,
    InputError,
    NetworkError,
    OutputError,
    SnapError,
)
from carecircle.io.readers import read_communities, read_demand, read_facilities
from carecircle.pipeline import run, run_study
from carecircle.plan.results import StudyResult
from carecircle.plan.siting import Suggestion, suggest_sites
from carecircle.plan.standards import list_profiles, load_profile
from carecircle.version import __version__  # noqa: F401 (carecircle.__version__)


def __getattr__(name: str):
    # folium is imported only when a map is asked for.
    if name in ("coverage_map", "save_map", "map_fragment"):
        from carecircle.outputs import maps

        return getattr(maps, name)
    lazy = {"write_outputs": "outputs.export", "write_suggestion": "outputs.export", "render_report": "outputs.report",
            "write_report": "outputs.report", "static_map_png": "outputs.staticmap", "load_scenario": "scenario",
            "run_scenario": "runner", "compare": "plan.compare", "write_comparison": "outputs.comparison"}
    if name in lazy:
        import importlib

        return getattr(importlib.import_module(f"carecircle.{lazy[name]}"), name)
    raise AttributeError(f"module 'carecircle' has no attribute {name!r}")


__all__ = [
    "SPEED_PRESETS_MPS",
    "Area",
    "CarecircleError",
    "CoverageResult",
    "InputError",
    "NetworkError",
    "OutputError",
    "SnapError",
    "StudyConfig",
    "StudyResult",
    "Suggestion",
    "TravelTimes",
    "WalkNetwork",
    "compare",
    "coverage_map",
    "download_network",
    "isochrones",
    "list_profiles",
    "load_network",
    "load_profile",
    "load_scenario",
    "map_fragment",
    "measure_coverage",
    "osm_buildings",
    "place_demand",
    "read_communities",
    "read_demand",
    "read_facilities",
    "render_report",
    "run",
    "run_scenario",
    "run_study",
    "save_map",
    "snap_points",
    "static_map_png",
    "suggest_sites",
    "travel_times",
    "write_comparison",
    "write_outputs",
    "write_report",
    "write_suggestion",
]
