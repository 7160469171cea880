"""Population rasters (issue 11 item 5): rasters the tests write, whose demand sums are worked out exactly."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from generate import GRID_CRS, ORIGIN, grid_network, north_up

from carecircle.cli import main
from carecircle.core.raster_demand import raster_demand
from carecircle.errors import InputError

rasterio = pytest.importorskip("rasterio")

DATA = Path(__file__).resolve().parents[1] / "data" / "helsinki"
X0, Y1 = ORIGIN[0] - 100, ORIGIN[1] + 1100  # the raster's north-west corner: 12 × 12 cells of 100 m



def write_raster(path: Path, bands: np.ndarray, *, crs=GRID_CRS, transform=None, nodata=-9999.0) -> Path:
    bands = np.atleast_3d(bands.T).T if bands.ndim == 2 else bands
    with rasterio.open(path, "w", driver="GTiff", width=bands.shape[2], height=bands.shape[1], count=bands.shape[0],
                       dtype="float64", crs=crs, transform=transform or north_up(X0, Y1, 100, 100),
                       nodata=nodata) as dst:
        dst.write(bands)
    return path


def by_hand(values: np.ndarray, polygon) -> float:
    """The exact share of the raster inside ``polygon``: each cell's value times its area fraction inside."""
    total = 0.0
    for r in range(values.shape[0]):
        for c in range(values.shape[1]):
            cell = shapely.box(X0 + c * 100, Y1 - (r + 1) * 100, X0 + (c + 1) * 100, Y1 - r * 100)
            total += values[r, c] * shapely.area(shapely.intersection(cell, polygon)) / 1e4
    return total


@pytest.fixture(scope="module")
def net():
    return grid_network(11, 11)


@pytest.fixture
def halves():
    """Two communities split in the middle of a cell column, with edges through cells."""
    return gpd.GeoDataFrame({"community_id": ["A", "B"], "pop_60plus": [np.nan, np.nan]},
                            geometry=[shapely.box(ORIGIN[0] + 50, ORIGIN[1] + 30, ORIGIN[0] + 525, ORIGIN[1] + 990),
                                      shapely.box(ORIGIN[0] + 525, ORIGIN[1] + 30, ORIGIN[0] + 990, ORIGIN[1] + 990)],
                            crs=GRID_CRS)


def test_partial_pixels_are_shared_exactly(tmp_path, net, halves):
    values = np.arange(1.0, 145.0).reshape(12, 12)
    demand = raster_demand([write_raster(tmp_path / "pop.tif", values)], net, halves)
    sums = demand.groupby("community_id")["population"].sum()
    for cid, geom in zip(halves["community_id"], halves.geometry, strict=True):
        # exactextract keeps cell coverage fractions in single precision: exact to ~1e-8 of a person per cell.
        assert sums[cid] == pytest.approx(by_hand(values, geom), rel=1e-7)
    # Every point stands inside its community, including those of boundary cells.
    owner = halves.set_index("community_id").geometry
    inside = shapely.within(demand.to_crs(GRID_CRS).geometry.values, owner.reindex(demand["community_id"]).values)
    assert inside.all() and set(demand["method"]) == {"raster"}


def test_bands_and_files_are_summed(tmp_path, net, halves):
    women, men = np.full((12, 12), 2.0), np.full((12, 12), 3.0)
    one = raster_demand([write_raster(tmp_path / "two_bands.tif", np.stack([women, men]))], net, halves)
    two = raster_demand([write_raster(tmp_path / "f.tif", women), write_raster(tmp_path / "m.tif", men)], net, halves)
    assert one["population"].sum() == pytest.approx(two["population"].sum())
    assert one["population"].sum() == pytest.approx(5.0 * (halves.area.sum() / 1e4))


def test_scaled_to_community_totals(tmp_path, net, halves):
    values = np.arange(1.0, 145.0).reshape(12, 12)
    path = write_raster(tmp_path / "pop.tif", values)
    scaled = raster_demand([path], net, halves.assign(pop_60plus=[100.0, 300.0]))
    assert scaled.groupby("community_id")["population"].sum().to_dict() == pytest.approx({"A": 100.0, "B": 300.0})
    assert set(scaled["method"]) == {"raster, scaled"}
    # The raster says where: within a community, points keep the raster's proportions.
    plain = raster_demand([path], net, halves)
    a = plain["community_id"] == "A"
    np.testing.assert_allclose(scaled.loc[a.to_numpy(), "population"],
                               plain.loc[a, "population"] * 100.0 / plain.loc[a, "population"].sum())


def test_a_community_the_raster_leaves_empty_gets_one_point(tmp_path, net, halves):
    values = np.zeros((12, 12))
    values[:, :6] = 4.0  # people only in the west: B (east of x = 525) is empty but for the split column
    values[:, 6] = 0.0
    demand = raster_demand([write_raster(tmp_path / "west.tif", values)], net, halves.assign(pop_60plus=[10.0, 7.0]))
    b = demand[demand["community_id"] == "B"]
    assert len(b) == 1 and b["method"].iloc[0] == "centroid" and b["population"].iloc[0] == 7.0


def test_without_communities_every_cell_in_the_network_area(tmp_path, net):
    values = np.ones((12, 12))
    values[0, 0] = 0.0
    demand = raster_demand([write_raster(tmp_path / "pop.tif", values)], net)
    assert len(demand) == 143 and demand["population"].sum() == 143.0 and set(demand["community_id"]) == {"all"}


def test_nodata_counts_nobody(tmp_path, net, halves):
    values = np.full((12, 12), 1.0)
    values[5, 5] = -9999.0
    demand = raster_demand([write_raster(tmp_path / "pop.tif", values)], net, halves)
    full = by_hand(np.where(values < 0, 0.0, values), halves.geometry.union_all())
    assert demand["population"].sum() == pytest.approx(full)


def test_bad_rasters_get_one_line(tmp_path, net):
    good = write_raster(tmp_path / "good.tif", np.ones((12, 12)))
    shifted = write_raster(tmp_path / "shifted.tif", np.ones((12, 12)), transform=north_up(X0 + 50, Y1, 100, 100))
    with pytest.raises(InputError, match=r"shifted\.tif: its grid .* differs from good\.tif's"):
        raster_demand([good, shifted], net)
    negative = write_raster(tmp_path / "neg.tif", -np.ones((12, 12)), nodata=None)
    with pytest.raises(InputError, match=r"neg\.tif: cells hold negative"):
        raster_demand([negative], net)
    text = tmp_path / "not.tif"
    text.write_text("not a raster", encoding="utf-8")
    with pytest.raises(InputError, match=r"not\.tif: cannot read as a raster"):
        raster_demand([text], net)
    elsewhere = write_raster(tmp_path / "far.tif", np.ones((12, 12)), transform=north_up(X0 + 1e6, Y1, 100, 100))
    with pytest.raises(InputError, match="holds nobody within the walking network's area"):
        raster_demand([elsewhere], net)


def test_the_demo_runs_from_a_raster(tmp_path):
    # A WGS-84 raster over the demo area: 0.001° cells, 2 persons each.
    communities = gpd.read_file(DATA / "communities.geojson")
    west, south, east, north = communities.total_bounds
    cols, rows = int(np.ceil((east - west) / 0.001)) + 2, int(np.ceil((north - south) / 0.001)) + 2
    tif = tmp_path / "worldpop_60plus.tif"
    with rasterio.open(tif, "w", driver="GTiff", width=cols, height=rows, count=1, dtype="float32", crs="EPSG:4326",
                       transform=north_up(west - 0.001, north + 0.001, 0.001, 0.001)) as dst:
        dst.write(np.full((1, rows, cols), 2.0, dtype="float32"))
    base = ["run", "--population-raster", str(tif), "--no-isochrones", "--no-cache", "--quiet"]
    assert main([*base, "--output", str(tmp_path / "scaled")]) == 0
    assert main([*base, "--no-raster-scale", "--output", str(tmp_path / "raw")]) == 0
    scaled = json.loads((tmp_path / "scaled" / "summary.json").read_text(encoding="utf-8"))
    raw = json.loads((tmp_path / "raw" / "summary.json").read_text(encoding="utf-8"))
    assert scaled["elderly_population"] == pytest.approx(communities["pop_60plus"].sum())
    assert "population raster" in scaled["inputs"]["demand"]
    assert raw["elderly_population"] != pytest.approx(scaled["elderly_population"])
    assert main([*base, "--demand", str(tmp_path / "x.csv"), "--output", str(tmp_path / "both")]) == 3
