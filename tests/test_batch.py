"""Batch runs (carecircle.batch, `carecircle batch`): serial and LocalCluster give the same files, a broken region
fails alone, a killed worker's region is reported, reruns skip what is done and unchanged, region edges."""

from __future__ import annotations

import html
import json
import os
import re
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hostile import HOSTILE_NAMES, HOSTILE_TITLE

from carecircle.batch import load_batch, run_batch
from carecircle.cli import main
from carecircle.config import StudyConfig
from carecircle.defaults import EXIT_SOME_FAILED
from carecircle.errors import InputError
from carecircle.outputs.batch_index import render_batch_index
from carecircle.pipeline import run

#: Grid spacing in degrees near Shenyang (lat 41.8): about 100 m each way.
DLON, DLAT = 0.0012, 0.0009
LON0, LAT0 = 123.40, 41.78


def write_region(folder: Path, name: str, *, nx: int = 12, ny: int = 12, lon0: float = LON0, lat0: float = LAT0,
                 facilities=((2, 2), (8, 7)), communities: int = 3, boundary: tuple | None = None,
                 pop=None) -> dict[str, Path]:
    """A generated region: an ``nx`` × ``ny`` street grid (100 m blocks) as OSM XML, facilities at grid nodes
    (i, j), ``communities`` × ``communities`` rectangular communities with pop_60plus, and optionally a
    boundary rectangle (i0, j0, i1, j1) in grid units. Returns the files, keyed as a region's shorthands."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6" generator="carecircle tests">']
    for j in range(ny):
        for i in range(nx):
            lines.append(f'<node id="{1 + j * nx + i}" lat="{lat0 + j * DLAT:.7f}" lon="{lon0 + i * DLON:.7f}"/>')
    wid = 1
    for j in range(ny):
        lines.append(f'<way id="{wid}">' + "".join(f'<nd ref="{1 + j * nx + i}"/>' for i in range(nx))
                     + '<tag k="highway" v="residential"/></way>')
        wid += 1
    for i in range(nx):
        lines.append(f'<way id="{wid}">' + "".join(f'<nd ref="{1 + j * nx + i}"/>' for j in range(ny))
                     + '<tag k="highway" v="footway"/></way>')
        wid += 1
    lines.append("</osm>")
    network = folder / f"{name}.osm"
    network.write_text("\n".join(lines) + "\n", encoding="utf-8")
    fac = pd.DataFrame({"facility_id": [f"{name}-F{k + 1}" for k in range(len(facilities))],
                        "name": [f"Station {k + 1}" for k in range(len(facilities))],
                        "type": "home_care_station", "capacity": 20,
                        "lon": [round(lon0 + i * DLON, 7) for i, _ in facilities],
                        "lat": [round(lat0 + j * DLAT, 7) for _, j in facilities]})
    fac_path = folder / f"{name}_facilities.csv"
    fac.to_csv(fac_path, index=False)
    w, h = (nx - 1) * DLON / communities, (ny - 1) * DLAT / communities
    boxes, ids = [], []
    for a in range(communities):
        for b in range(communities):
            boxes.append(shapely.box(lon0 + a * w, lat0 + b * h, lon0 + (a + 1) * w, lat0 + (b + 1) * h))
            ids.append(f"{name}-C{a}{b}")
    n = len(boxes)
    pop = np.full(n, 100.0) if pop is None else np.asarray(pop, dtype=float)
    com = gpd.GeoDataFrame({"community_id": ids, "name": ids, "pop_60plus": pop, "pop_total": pop * 4},
                           geometry=boxes, crs="EPSG:4326")
    com_path = folder / f"{name}_communities.geojson"
    com.to_file(com_path, driver="GeoJSON")
    out = {"network": network, "facilities": fac_path, "communities": com_path}
    if boundary is not None:
        i0, j0, i1, j1 = boundary
        poly = shapely.box(lon0 + i0 * DLON, lat0 + j0 * DLAT, lon0 + i1 * DLON, lat0 + j1 * DLAT)
        path = folder / f"{name}_boundary.geojson"
        gpd.GeoDataFrame({"name": [name]}, geometry=[poly], crs="EPSG:4326").to_file(path, driver="GeoJSON")
        out["boundary"] = path
    return out


def write_batch(folder: Path, *, broken: bool = False, demo: bool = True, name: str = "Test batch") -> Path:
    """A batch file: the demo (optional) and two generated regions, crossed with two scenarios."""
    a = write_region(folder, "east")
    b = write_region(folder, "west", lon0=LON0 + 0.02, facilities=((1, 1),))
    regions = ([{"name": "demo"}] if demo else []) + [
        {"name": "east", "network": a["network"].name, "facilities": a["facilities"].name,
         "communities": a["communities"].name},
        {"name": "west", "network": b["network"].name, "facilities": b["facilities"].name,
         "communities": b["communities"].name},
    ]
    if broken:
        regions.append({"name": "broken", "network": a["network"].name, "facilities": "missing.csv",
                        "communities": a["communities"].name})
    data = {"name": name, "defaults": {"inputs": {"demand_method": "nodes"}, "outputs": {"isochrones": False}},
            "regions": regions,
            "variations": {"scenarios": [{"name": "base"}, {"name": "slow", "walking": {"preset": "slow"}}]}}
    path = folder / "batch.yaml"
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")  # JSON is YAML
    return path


def _files(folder: Path) -> dict[str, Path]:
    return {p.relative_to(folder).as_posix(): p for p in sorted(folder.rglob("*"))
            if p.is_file() and not p.name.startswith(".") and p.name != "manifest.json"}


_FOLIUM_ID = re.compile(rb"[0-9a-f]{32}")


def _same_results(a: Path, b: Path) -> None:
    """The same files; CSV, JSON, PNG byte for byte; HTML once folium's random element ids are set aside;
    workbooks cell for cell (their zip holds the time of writing); GeoPackages layer for layer."""
    fa, fb = _files(a), _files(b)
    assert sorted(fa) == sorted(fb)
    for name, path in fa.items():
        other = fb[name]
        if name.endswith((".csv", ".json", ".png")):
            assert path.read_bytes() == other.read_bytes(), name
        elif name.endswith(".html"):
            assert _FOLIUM_ID.sub(b"ID", path.read_bytes()) == _FOLIUM_ID.sub(b"ID", other.read_bytes()), name
        elif name.endswith(".xlsx"):
            x, y = pd.read_excel(path, sheet_name=None), pd.read_excel(other, sheet_name=None)
            assert list(x) == list(y), name
            for sheet in x:
                pd.testing.assert_frame_equal(x[sheet], y[sheet])
        elif name.endswith(".gpkg"):
            import pyogrio

            for layer, _kind in pyogrio.list_layers(path):
                pd.testing.assert_frame_equal(gpd.read_file(path, layer=layer), gpd.read_file(other, layer=layer))


@pytest.fixture(scope="module")
def client():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                                  scheduler_port=0) as cluster, distributed.Client(cluster) as c:
        yield c


def test_a_cluster_gives_the_files_of_a_serial_run_and_a_broken_region_fails_alone(tmp_path, client):
    path = write_batch(tmp_path, broken=True)
    serial = run_batch([path], tmp_path / "serial", executor="serial")
    cluster = run_batch([path], tmp_path / "cluster", client=client)
    assert serial.ran == cluster.ran and len(serial.ran) == 8
    assert "dashboard" in cluster.cluster
    _same_results(tmp_path / "serial", tmp_path / "cluster")
    # the broken region fails alone, with its one-line message; the others are done
    assert set(serial.failed) == {"broken/base", "broken/slow"}
    assert all("missing.csv" in e and "does not exist" in e and "\n" not in e for e in cluster.failed.values())
    table = cluster.summary.set_index(["region", "variation"])
    assert (table.drop(index="broken", level=0)["status"] == "done").all()
    assert 0.9 < table.loc[("demo", "base"), "share_15"] <= 1.0
    assert table.loc[("east", "slow"), "share_15"] <= table.loc[("east", "base"), "share_15"]
    # every region's variations compared with its first
    assert (tmp_path / "cluster" / "east" / "compare-slow" / "headline.csv").is_file()
    page = (tmp_path / "cluster" / "index.html").read_text(encoding="utf-8")
    assert 'href="demo/base/report.html"' in page and "<svg" in page and "missing.csv" in page
    entry = cluster.manifest["tasks"]["east/base"]
    assert entry["status"] == "done" and entry["outputs"]["report.html"] and entry["timings"]["seconds"] > 0
    assert any(k.endswith("east.osm") for k in entry["inputs"])


def test_a_second_run_does_no_work_and_a_changed_input_reruns_only_its_tasks(tmp_path):
    path = write_batch(tmp_path, demo=False)
    first = run_batch([path], tmp_path / "out", executor="serial")
    assert len(first.ran) == 4 and not first.failed
    stamp = (tmp_path / "out" / "east" / "base" / "summary.json").stat().st_mtime_ns
    again = run_batch([path], tmp_path / "out", executor="serial")
    assert again.ran == () and len(again.skipped) == 4
    assert (tmp_path / "out" / "east" / "base" / "summary.json").stat().st_mtime_ns == stamp
    # the west region's facilities move: only its two tasks run again
    fac = tmp_path / "west_facilities.csv"
    fac.write_text(fac.read_text().replace("Station 1", "Station one"), encoding="utf-8")
    changed = run_batch([path], tmp_path / "out", executor="serial")
    assert set(changed.ran) == {"west/base", "west/slow"}
    # an output removed by hand: that task runs again
    (tmp_path / "out" / "east" / "slow" / "communities.csv").unlink()
    assert run_batch([path], tmp_path / "out", executor="serial").ran == ("east/slow",)
    # an option changed in the batch file: the tasks it touches run again
    text = path.read_text(encoding="utf-8").replace('"preset": "slow"', '"speed_mps": 0.7')
    path.write_text(text, encoding="utf-8")
    assert set(run_batch([path], tmp_path / "out", executor="serial").ran) == {"east/slow", "west/slow"}


def test_failed_tasks_run_again_and_the_cli_says_some_failed(tmp_path, capsys):
    path = write_batch(tmp_path, broken=True, demo=False)
    code = main(["batch", str(path), "--output", str(tmp_path / "out"), "--executor", "serial", "--no-cache"])
    out, err = capsys.readouterr()
    assert code == EXIT_SOME_FAILED
    assert "2 failed" in out and "failed  broken / base:" in out and "index.html" in out
    assert "only the failed and changed tasks run" in err
    (tmp_path / "missing.csv").write_text((tmp_path / "east_facilities.csv").read_text(), encoding="utf-8")
    code = main(["batch", str(path), "--output", str(tmp_path / "out"), "--executor", "serial", "--no-cache"])
    out, _ = capsys.readouterr()
    assert code == 0 and "2 run now, 4 skipped" in out


def _kill_plugin():
    from distributed.diagnostics.plugin import WorkerPlugin

    class KillDoomed(WorkerPlugin):
        """Kills its worker process when a region named 'doomed' starts (as the OOM killer would)."""

        def transition(self, key, start, finish, **kwargs):
            if finish == "executing" and "doomed" in str(key):
                os._exit(1)

    return KillDoomed()


def test_a_killed_worker_is_reported_and_the_rest_finish(tmp_path):
    distributed = pytest.importorskip("distributed")
    import cloudpickle
    import dask

    write_region(tmp_path, "doomed")
    write_region(tmp_path, "fine")
    data = {"defaults": {"inputs": {"demand_method": "nodes"}, "outputs": {"isochrones": False}},
            "regions": [{"name": n, "network": f"{n}.osm", "facilities": f"{n}_facilities.csv",
                         "communities": f"{n}_communities.geojson"} for n in ("doomed", "fine")]}
    path = tmp_path / "batch.yaml"
    path.write_text(json.dumps(data), encoding="utf-8")
    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    try:
        with dask.config.set({"distributed.scheduler.allowed-failures": 1}), \
                distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                                         scheduler_port=0) as cluster, distributed.Client(cluster) as c:
            c.register_plugin(_kill_plugin(), name="kill-doomed")
            result = run_batch([path], tmp_path / "out", client=c)
    finally:
        cloudpickle.unregister_pickle_by_value(sys.modules[__name__])
    assert set(result.failed) == {"doomed/study"}
    assert "worker running region doomed died" in result.failed["doomed/study"]
    assert result.manifest["tasks"]["doomed/study"]["worker_died"] is True
    assert result.manifest["tasks"]["fine/study"]["status"] == "done"


def test_a_community_on_the_boundary_is_covered_by_a_facility_just_outside(tmp_path):
    # A 20 × 5 grid (100 m blocks); the region is its west part (x ≤ 900 m). Community EDGE lies just inside the
    # boundary (700–900 m); the only facility near it is 200 m outside (x = 1100 m, y = 200 m): every node of
    # EDGE is within 600 m (10 min at 1.0 m/s) of it, and more than 600 m from the other one at (0, 0).
    files = write_region(tmp_path, "edge", nx=20, ny=5, facilities=((0, 0), (11, 2)), communities=1,
                         boundary=(0, 0, 9, 4))
    com = gpd.GeoDataFrame({"community_id": ["EDGE", "OUT"], "name": ["edge", "beyond"],
                            "pop_60plus": [100.0, 10_000.0], "pop_total": [400.0, 40_000.0]},
                           geometry=[shapely.box(LON0 + 7 * DLON, LAT0, LON0 + 9 * DLON, LAT0 + 4 * DLAT),
                                     shapely.box(LON0 + 14 * DLON, LAT0, LON0 + 19 * DLON, LAT0 + 4 * DLAT)],
                           crs="EPSG:4326")
    com.to_file(tmp_path / "edge_communities.geojson", driver="GeoJSON")
    data = {"area": {"network": files["network"]}, "inputs": {"facilities": files["facilities"],
                                                              "communities": tmp_path / "edge_communities.geojson",
                                                              "demand_method": "nodes"},
            "thresholds_min": [5, 10, 15], "outputs": {"isochrones": False}}
    with_edge = run(StudyConfig.build({**data, "region": {"boundary": files["boundary"]}}))
    cov = with_edge.coverage
    assert list(cov.communities["community_id"]) == ["EDGE"]            # only the region's own elderly count
    assert cov.summary["elderly_population"] == pytest.approx(100.0)
    assert cov.summary["share"]["10"] == pytest.approx(1.0)             # walked across the boundary (≤ 600 m)
    assert "EDGE" not in cov.summary["communities_below_target"]
    assert "only the elderly living inside the boundary are counted" in with_edge.inputs["region"]
    assert "900 m beyond" in with_edge.inputs["region"]                 # default: 15 min at 1.0 m/s
    no_buffer = run(StudyConfig.build({**data, "region": {"boundary": files["boundary"], "buffer_m": 0}}))
    assert no_buffer.coverage.summary["share"]["10"] == pytest.approx(0.0)  # cut at the boundary: not covered
    assert no_buffer.network.node_xy[:, 0].max() < with_edge.network.node_xy[:, 0].max()


@pytest.mark.parametrize(("text", "match"), [
    ("regions: []\n", "regions needs a list"),
    ("regions: [{name: a}]\ncolour: red\n", "unknown key 'colour'"),
    ("regions: [{name: a}, {name: a}]\n", "two regions are named 'a'"),
    ("regions: [{name: a}]\nvariations: {speeds: [fast]}\n", "'fast' is neither m/s nor a preset"),
    ("regions: [{name: '***'}]\n", "needs a name with a letter or digit"),
    ("regions: [{name: a}]\nvariations: {scenarios: [{name: x}, {name: x}]}\n", "repeat a name"),
])
def test_problems_of_the_batch_file_stop_it_before_any_work(tmp_path, text, match):
    path = tmp_path / "batch.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match=match):
        load_batch([path])


def test_scenario_files_on_one_area_form_one_region_crossed_with_speeds_and_standards(tmp_path):
    for name in ("baseline", "plan"):
        (tmp_path / f"{name}.yaml").write_text(f"name: {name}\n", encoding="utf-8")
    batch = load_batch([tmp_path / "baseline.yaml", tmp_path / "plan.yaml"], speeds=["slow", 1.1],
                       standards=["qitaihe-2020"])
    assert list(batch.regions) == ["helsinki"]
    assert [t.variation for t in batch.tasks] == ["baseline_slow_qitaihe-2020", "baseline_1.1mps_qitaihe-2020",
                                                   "plan_slow_qitaihe-2020", "plan_1.1mps_qitaihe-2020"]
    assert batch.tasks[1].config.walking.walk_speed_mps == 1.1 and batch.tasks[0].config.standard == "qitaihe-2020"


def test_the_index_page_escapes_every_name():
    rows = [{"region": n, "variation": n, "status": "done", "rank": i + 1, "elderly": 10.0, "share_15": 0.5,
             "targets_met": None, "targets_not_met": None, "new_sites": None, "share_after_new_sites": None,
             "report": f"{i}/{n}/report.html", "error": None} for i, n in enumerate(HOSTILE_NAMES)]
    rows.append({**rows[0], "status": "failed", "rank": None, "error": HOSTILE_NAMES[0]})
    outline = {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]}
    page = render_batch_index(pd.DataFrame(rows), {n: outline for n in HOSTILE_NAMES}, title=HOSTILE_TITLE)
    assert "<script>alert" not in page and "onerror=alert" not in page.replace("onerror=alert(1)&gt;", "")
    assert "<svg onload" not in page and "<iframe" not in page and 'href="javascript' not in page
    for name in HOSTILE_NAMES:
        assert html.escape(name, quote=True) in page


def test_the_batch_command_documents_its_exit_codes(capsys):
    with pytest.raises(SystemExit):
        main(["batch", "--help"])
    out = capsys.readouterr().out
    assert f"{EXIT_SOME_FAILED} some tasks failed" in out and "--scheduler" in out and "--executor" in out


def test_run_batch_is_public():
    import carecircle

    assert carecircle.run_batch is run_batch and "run_batch" in carecircle.__all__


def _english_words(text: str) -> set[str]:
    """English words of the console, leaving out paths, file names, region / variation names and command lines."""
    code = r"`[^`]*`|\S*[/\\]\S*|\S+\.(csv|xlsx|json|html|yaml)\b|carecircle standards.*|--\S+|http\S+"
    text = re.sub(code, " ", text)
    words = set(re.findall(r"[A-Za-z]{3,}", text))
    return words - {"east", "west", "broken", "base", "slow", "Dask", "missing", "csv", "qiqihar", "city", "yaml",
                    "does", "not", "exist", "file"}


def test_the_batch_console_speaks_chinese(tmp_path, capsys):
    """Issue 15: `carecircle batch --lang zh` prints its summary, ranking, failures and the cluster in Chinese."""
    path = write_batch(tmp_path, broken=True, demo=False)
    code = main(["batch", str(path), "--output", str(tmp_path / "out"), "--executor", "dask", "--workers", "1",
                 "--no-cache", "--lang", "zh"])
    out, err = capsys.readouterr()
    assert code == EXIT_SOME_FAILED
    assert "批量运行 6 项任务，涉及 3 个区域：本次运行 6 项，跳过 0 项（已完成且无变化），失败 2 项" in out
    assert re.search(r"排名\s+区域 / 方案\s+15分钟内覆盖率\s+达标指标\s+新增站点", out)
    assert "失败  broken / base：" in out and "打开索引页：" in out and "汇总表：" in out
    assert "运行于本机 Dask 集群（1 个工作进程）" in err and "只会重跑失败和有变化的任务" in err
    labels = "\n".join(line.split("：")[0] if line.strip().startswith("失败") else line for line in out.splitlines())
    assert not _english_words(labels), _english_words(labels)  # the errors themselves are the library's (English)
    code = main(["batch", str(path), "--output", str(tmp_path / "out"), "--executor", "serial", "--no-cache"])
    out, _ = capsys.readouterr()
    assert "Batch of 6 tasks in 3 regions: 2 run now, 4 skipped (done and unchanged), 2 failed" in out
    assert re.search(r"rank\s+region / variation\s+within 15 min\s+targets met\s+new sites", out)


@pytest.mark.parametrize("args", [[], ["qiqihar-2025"], ["--copy", "qiqihar-2025", "{tmp}/my-city.yaml"]])
def test_the_standards_console_speaks_chinese(args, tmp_path, capsys):
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    assert main(["standards", *args, "--lang", "zh"]) == 0
    out = capsys.readouterr().out
    if not args:
        assert "用 --standard 名称 选用其一" in out and "齐齐哈尔" in out
    elif args[0] == "--copy":
        assert out.startswith("已将标准配置 qiqihar-2025 复制到") and (tmp_path / "my-city.yaml").is_file()
    else:
        assert out.splitlines()[0].startswith("qiqihar-2025：")
    # ids of profiles and of their targets and kinds are identifiers, typed as they are: the rest is Chinese
    text = [" ".join(line.split()[2 if line.startswith("  ") else 1 if re.match(r"[a-z0-9-]+ ", line) else 0:])
            for line in out.splitlines()]
    assert not _english_words(" ".join(text)), out
