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
``carecircle.load_scenario`` / ``run_scenario`` and ``carecircle.compare``; the report with ``render_report``;
many regions × scenarios at once, on Dask, with ``carecircle.run_batch``.
A whole study is one :class:`StudyConfig` (what CLI flags and scenario files build too), run with
``carecircle.run(config)``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from carecircle.defaults import SPEED_PRESETS_MPS
from carecircle.errors import CarecircleError, InputError, NetworkError, OutputError, SnapError
from carecircle.version import __version__  # noqa: F401 (carecircle.__version__)

#: Where each public name lives. They are imported on first use (PEP 562), so that ``import carecircle`` and
#: ``carecircle --help`` do not pay for geopandas, scipy and folium before they are needed.
_PUBLIC = {
    "Area": "config", "StudyConfig": "config",
    "CoverageResult": "core.coverage", "measure_coverage": "core.coverage",
    "osm_buildings": "core.demand", "place_demand": "core.demand",
    "isochrones": "core.isochrones",
    "WalkNetwork": "core.network", "download_network": "core.network", "load_network": "core.network",
    "TravelTimes": "core.travel", "snap_points": "core.travel", "travel_times": "core.travel",
    "read_communities": "io.readers", "read_demand": "io.readers", "read_facilities": "io.readers",
    "run": "pipeline", "run_study": "pipeline",
    "StudyResult": "plan.results", "Suggestion": "plan.results",
    "suggest_sites": "plan.siting", "list_profiles": "plan.standards", "load_profile": "plan.standards",
    "compare": "plan.compare",
    "coverage_map": "outputs.maps", "save_map": "outputs.maps", "map_fragment": "outputs.maps",
    "write_outputs": "outputs.export", "write_suggestion": "outputs.export",
    "render_report": "outputs.report", "write_report": "outputs.report",
    "static_map_png": "outputs.staticmap", "write_comparison": "outputs.comparison",
    "load_scenario": "scenario", "run_scenario": "runner",
    "run_batch": "batch", "BatchResult": "batch",
}

if TYPE_CHECKING:  # what type checkers and IDEs see; at run time the names come from __getattr__
    from carecircle.batch import BatchResult, run_batch
    from carecircle.config import Area, StudyConfig
    from carecircle.core.coverage import CoverageResult, measure_coverage
    from carecircle.core.demand import osm_buildings, place_demand
    from carecircle.core.isochrones import isochrones
    from carecircle.core.network import WalkNetwork, download_network, load_network
    from carecircle.core.travel import TravelTimes, snap_points, travel_times
    from carecircle.io.readers import read_communities, read_demand, read_facilities
    from carecircle.outputs.comparison import write_comparison
    from carecircle.outputs.export import write_outputs, write_suggestion
    from carecircle.outputs.maps import coverage_map, map_fragment, save_map
    from carecircle.outputs.report import render_report, write_report
    from carecircle.outputs.staticmap import static_map_png
    from carecircle.pipeline import run, run_study
    from carecircle.plan.compare import compare
    from carecircle.plan.results import StudyResult, Suggestion
    from carecircle.plan.siting import suggest_sites
    from carecircle.plan.standards import list_profiles, load_profile
    from carecircle.runner import run_scenario
    from carecircle.scenario import load_scenario


def __getattr__(name: str):
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'carecircle' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"carecircle.{module}"), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_PUBLIC])


__all__ = [
    "SPEED_PRESETS_MPS",
    "Area",
    "BatchResult",
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
    "run_batch",
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
