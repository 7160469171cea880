"""The buildings cache: ``osm_buildings`` keeps the footprints it read beside the network cache, keyed by the
file's path, size and modification time; a changed file is read again, a damaged entry is rebuilt."""

from __future__ import annotations

import io
import os
import shutil

import geopandas as gpd
import numpy as np
import pytest
import shapely
from geopandas.testing import assert_geodataframe_equal

import carecircle.core.demand as demand_module
from carecircle.core.demand import osm_buildings
from carecircle.core.network import load_network


@pytest.fixture
def pbf(tmp_path, helsinki_pbf):
    """A private copy of the demo extract (its modification time is changed by the tests)."""
    return shutil.copy(helsinki_pbf, tmp_path / "helsinki.osm.pbf")


@pytest.fixture
def reads(monkeypatch):
    """Count how often the buildings are really read from the OSM file."""
    calls = []
    real = demand_module._read_buildings

    def counting(path):
        calls.append(path)
        return real(path)

    monkeypatch.setattr(demand_module, "_read_buildings", counting)
    return calls


def _fake_reader(path):
    """Buildings made from a text file's lines (``x y levels``), with a missing geometry and a missing tag."""
    rows = [line.split() for line in path.read_text().splitlines()]
    geoms = [shapely.box(float(x), float(y), float(x) + 10, float(y) + 10) for x, y, _ in rows] + [None]
    return gpd.GeoDataFrame({"building": ["yes"] * len(rows) + ["house"],
                             "building:levels": [lv if lv != "-" else None for *_, lv in rows] + ["2"]},
                            geometry=geoms, crs="EPSG:32635")


@pytest.fixture
def fake(monkeypatch):
    calls = []

    def counting(path):
        calls.append(path)
        return _fake_reader(path)

    monkeypatch.setattr(demand_module, "_read_buildings", counting)
    return calls


def test_second_read_comes_from_the_cache_and_is_identical(tmp_path, pbf, reads):
    cache = tmp_path / "cache"
    first = osm_buildings(pbf, cache_dir=cache)
    assert len(reads) == 1 and len(first) > 400
    assert len(list(cache.glob("buildings-*.npz"))) == 1 and not list(cache.glob("*.part"))
    again = osm_buildings(pbf, cache_dir=cache)
    assert len(reads) == 1
    assert_geodataframe_equal(again, first)
    assert shapely.equals_exact(again.geometry.values, first.geometry.values, tolerance=0).all()
    assert again["building:levels"].isna().sum() == first["building:levels"].isna().sum() > 0


def test_cached_beside_the_network_by_default(tmp_path, pbf, reads):
    cache = tmp_path / "cache"
    load_network(pbf, cache_dir=cache)
    first = osm_buildings(pbf)
    assert len(list(cache.glob("buildings-*.npz"))) == 1 and len(list(cache.glob("network-*.npz"))) == 1
    assert_geodataframe_equal(osm_buildings(pbf), first)
    assert len(reads) == 1

    load_network(pbf)  # loaded without a cache: the buildings are read from the file again, and not cached
    osm_buildings(pbf)
    assert len(reads) == 2 and len(list(cache.glob("buildings-*.npz"))) == 1


def test_no_cache_folder_always_reads(tmp_path, fake):
    src = tmp_path / "b.txt"
    src.write_text("0 0 3\n")
    osm_buildings(src)
    osm_buildings(src)
    assert len(fake) == 2 and not list(tmp_path.rglob("*.npz"))


def test_a_changed_file_is_read_again(tmp_path, fake):
    src, cache = tmp_path / "b.txt", tmp_path / "cache"
    src.write_text("0 0 3\n20 0 -\n")
    first = osm_buildings(src, cache_dir=cache)
    assert_geodataframe_equal(osm_buildings(src, cache_dir=cache), first)
    assert len(fake) == 1

    src.write_text("0 0 3\n20 0 -\n40 0 5\n")  # new size (and time)
    changed = osm_buildings(src, cache_dir=cache)
    assert len(fake) == 2 and len(changed) == 4
    assert len(list(cache.glob("buildings-*.npz"))) == 2

    st = src.stat()  # same size, only a newer modification time
    os.utime(src, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    osm_buildings(src, cache_dir=cache)
    assert len(fake) == 3


def test_missing_geometries_and_tags_survive_the_cache(tmp_path, fake):
    src, cache = tmp_path / "b.txt", tmp_path / "cache"
    src.write_text("0 0 -\n20 0 4\n")
    first = osm_buildings(src, cache_dir=cache)
    again = osm_buildings(src, cache_dir=cache)
    assert len(fake) == 1
    assert_geodataframe_equal(again, first)
    assert again.geometry.isna().tolist() == [False, False, True]
    assert again["building:levels"].isna().tolist() == [True, False, False]


def test_no_buildings_are_cached_too(tmp_path, monkeypatch):
    calls = []

    def nothing(path):
        calls.append(path)
        return demand_module._no_buildings()

    monkeypatch.setattr(demand_module, "_read_buildings", nothing)
    src = tmp_path / "empty.osm"
    src.write_text("<osm/>")
    first = osm_buildings(src, cache_dir=tmp_path / "cache")
    again = osm_buildings(src, cache_dir=tmp_path / "cache")
    assert len(calls) == 1 and len(again) == 0
    assert_geodataframe_equal(again, first)


def _truncated(data: bytes) -> bytes:
    return data[: len(data) // 2]


def _inconsistent(_data: bytes) -> bytes:
    """A valid .npz whose offsets point beyond its WKB bytes."""
    buf = io.BytesIO()
    np.savez(buf, wkb=np.zeros(3, dtype=np.uint8), offsets=np.array([0, 50]), columns=np.array([], dtype=str),
             crs=np.array("EPSG:4326"))
    return buf.getvalue()


def _bad_wkb(_data: bytes) -> bytes:
    """Consistent arrays, but the bytes are no WKB."""
    buf = io.BytesIO()
    np.savez(buf, wkb=np.full(8, 7, dtype=np.uint8), offsets=np.array([0, 8]), columns=np.array([], dtype=str),
             crs=np.array("EPSG:4326"))
    return buf.getvalue()


@pytest.mark.parametrize("damage", [lambda _d: b"not a zip", _truncated, lambda _d: b"", _inconsistent, _bad_wkb],
                         ids=["garbage", "truncated", "empty", "inconsistent", "bad-wkb"])
def test_unreadable_cache_is_ignored_and_rebuilt(tmp_path, fake, caplog, damage):
    src, cache = tmp_path / "b.txt", tmp_path / "cache"
    src.write_text("0 0 3\n")
    first = osm_buildings(src, cache_dir=cache)
    (entry,) = cache.glob("buildings-*.npz")
    entry.write_bytes(damage(entry.read_bytes()))
    with caplog.at_level("WARNING", logger="carecircle.core.demand"):
        again = osm_buildings(src, cache_dir=cache)
    assert len(fake) == 2 and "ignoring unreadable buildings cache" in caplog.text
    assert_geodataframe_equal(again, first)
    assert_geodataframe_equal(osm_buildings(src, cache_dir=cache), first)  # the rewritten entry is good
    assert len(fake) == 2


def test_a_cache_that_cannot_be_written_is_only_logged(tmp_path, fake, caplog):
    src = tmp_path / "b.txt"
    src.write_text("0 0 3\n")
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    with caplog.at_level("WARNING", logger="carecircle.core.demand"):
        got = osm_buildings(src, cache_dir=blocker / "cache")
    assert len(got) == 2 and "could not write buildings cache" in caplog.text
