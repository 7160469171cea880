"""A 1M-node city end to end: network from the cache, snapping, coverage, summary; wall time and peak RSS.

Usage::

    python benchmarks/bench_city.py                  # 1M nodes, 1,500 facilities, 100,000 demand points, 3 runs
    python benchmarks/bench_city.py --nodes 100000 --repeat 1 --json city.json

The parent process generates the street grid (``bench_coverage.grid_arrays``: 100 m blocks, ±10 m jitter, 3% of
segments removed, seed 2026; 1,000 × 1,000 nodes, about 100 × 100 km), writes it into a network cache folder
through carecircle's own cache (``network._cached``, the ``.npz`` a second ``load_network`` reads) and saves
the facilities, demand points and 1 km community squares as WGS-84 coordinates in an ``.npz``. Each timed run is
a fresh child process (so its peak RSS is its own and nothing is warm) that does what a session does:

- **load**: the network from the cache;
- **inputs**: facilities, demand and communities as WGS-84 GeoDataFrames from the saved coordinates;
- **coverage**: ``measure_coverage`` at 5/10/15 minutes (its search capped at 60 minutes), which builds the
  network's CSR and segment index, snaps every point and walks; the figures below split it into **csr**,
  **index** (built first, untimed inside coverage) and the **coverage** call itself;
- **summary**: the summary as JSON text.

**total** is the child's wall time from before ``import carecircle`` to the summary (imports included); **peak
RSS** is the child's ``ru_maxrss``. Medians of ``--repeat`` children. Not a unit test; figures go in
``benchmarks/README.md``.

``--outputs`` also times what ``carecircle run`` draws and writes for such a study, after the summary:
**isochrones** (the merged 5/10/15 layers, ``per_facility=False``, as the pipeline draws them for more than
``MAX_PER_FACILITY_ISOCHRONES`` facilities), **mpl import** (matplotlib, loaded only for the PNG), **png**
(``static_map_bytes``: ``map.png``, 1500 × 1200), **gpkg** (``write_layers``: ``layers.gpkg``, the
communities, facilities, demand and isochrone layers), **html** (``coverage_map`` rendered: ``map.html``) and
**report** (``write_report`` with that map and PNG). ``--keep DIR`` leaves the files there.

``--demo`` times the same for the bundled demo instead (network and buildings from a warm cache): the analysis
(``pipeline.run``, isochrones included), the PNG and the GeoPackage, each child running the demo once cold
(first call in the process) and once warm::

    python benchmarks/bench_city.py --nodes 100000 --facilities 150 --demand 10000 --outputs --repeat 3
    python benchmarks/bench_city.py --demo --repeat 3
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
for _p in (HERE, HERE.parent):
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))

from bench_coverage import build_network, fmt_s, grid_arrays, machine, study_inputs  # noqa: E402

THRESHOLDS = (5.0, 10.0, 15.0)
KEY = {"kind": "benchmark grid"}


def prepare(folder: Path, n_nodes: int, n_facilities: int, n_demand: int, seed: int) -> dict:
    """Write the network into the cache folder and the inputs into ``inputs.npz``; return the sizes."""
    import shapely

    from carecircle.core.network import _cached

    xy, u, v = grid_arrays(n_nodes, seed=seed, jitter_m=10.0, drop_frac=0.03)
    net = build_network(xy, u, v, f"grid {n_nodes} seed {seed}")
    _cached({**KEY, "nodes": n_nodes, "seed": seed}, lambda: net, folder)
    fac, dem, com, _, _ = study_inputs(net, seed=seed, n_facilities=n_facilities, n_demand=n_demand)
    np.savez(folder / "inputs.npz", fac=shapely.get_coordinates(fac.geometry.values),
             fac_type=fac["type"].to_numpy().astype(str), dem=shapely.get_coordinates(dem.geometry.values),
             dem_pop=dem["population"].to_numpy(), dem_cid=dem["community_id"].to_numpy().astype(str),
             com_bounds=com.geometry.bounds.to_numpy(), com_id=com["community_id"].to_numpy().astype(str))
    return {"nodes": net.n_nodes, "segments": net.n_edges, "facilities": n_facilities, "demand": n_demand,
            "communities": len(com)}


def child(folder: Path, n_nodes: int, seed: int, outputs: bool = False, keep: Path | None = None) -> dict:
    import resource

    t_start = time.perf_counter()
    import geopandas as gpd
    import shapely

    from carecircle.core import travel
    from carecircle.core.coverage import measure_coverage
    from carecircle.core.network import _cached

    r: dict = {"imports": time.perf_counter() - t_start}
    t0 = time.perf_counter()

    def missing():
        raise SystemExit("the network is not in the cache folder; run without --child")

    net = _cached({**KEY, "nodes": n_nodes, "seed": seed}, missing, folder)
    r["load"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    with np.load(folder / "inputs.npz") as z:
        fac = gpd.GeoDataFrame({"facility_id": [f"F{i:05d}" for i in range(len(z["fac"]))], "type": z["fac_type"]},
                               geometry=shapely.points(z["fac"]), crs="EPSG:4326")
        dem = gpd.GeoDataFrame({"community_id": z["dem_cid"], "population": z["dem_pop"]},
                               geometry=shapely.points(z["dem"]), crs="EPSG:4326")
        com = gpd.GeoDataFrame({"community_id": z["com_id"]}, geometry=shapely.box(*z["com_bounds"].T),
                               crs="EPSG:4326")
    r["inputs"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    net.csr  # noqa: B018 - what the first walk builds
    r["csr"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    travel.segment_index(net)
    r["index"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    cov = measure_coverage(net, fac, dem, com, thresholds_min=THRESHOLDS, walk_speed_mps=1.0)
    r["coverage"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    text = json.dumps(cov.summary)
    r["summary"] = time.perf_counter() - t0
    r["total"] = time.perf_counter() - t_start
    r["summary_bytes"] = len(text)
    r["share"] = {k: cov.summary["share"][k] for k in ("5", "10", "15")}
    r["not_reached"] = cov.summary["unreachable_population"]
    if outputs:
        r.update(draw_and_write(net, fac, cov, keep))
    r["maxrss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return r


def draw_and_write(net, fac, cov, keep: Path | None) -> dict:
    """Time the merged isochrones, then ``map.png`` and ``layers.gpkg`` of the study (into ``keep`` if given)."""
    from carecircle.core.isochrones import isochrones
    from carecircle.plan.results import StudyResult

    r = {}
    t0 = time.perf_counter()
    iso = isochrones(net, fac, thresholds_min=THRESHOLDS, walk_speed_mps=1.0, per_facility=False)
    r["isochrones"] = time.perf_counter() - t0
    study = StudyResult(name="benchmark grid", network=net, coverage=cov, isochrones=iso, facilities=fac)
    r.update(time_outputs(study, keep))
    return r


def time_outputs(study, keep: Path | None) -> dict:
    """Seconds for importing matplotlib, drawing ``map.png``, writing ``layers.gpkg``, drawing ``map.html`` and
    writing ``report.html`` (with that map and PNG) of ``study``."""
    from carecircle.outputs.export import write_layers
    from carecircle.outputs.maps import coverage_map
    from carecircle.outputs.maps.common import map_document
    from carecircle.outputs.report import write_report
    from carecircle.outputs.staticmap import static_map_bytes

    r = {}
    t0 = time.perf_counter()
    import matplotlib.figure  # noqa: F401 - what the first PNG of a process loads
    r["mpl import"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    png = static_map_bytes(study)
    r["png"] = time.perf_counter() - t0
    cov = study.coverage
    with tempfile.TemporaryDirectory(prefix="bench_city_out_") as tmp:
        folder = keep if keep is not None else Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        gpkg = folder / "layers.gpkg"
        gpkg.unlink(missing_ok=True)
        t0 = time.perf_counter()
        write_layers(gpkg, communities=cov.communities, facilities=cov.facilities, demand=cov.demand,
                     isochrones=study.isochrones)
        r["gpkg"] = time.perf_counter() - t0
        r["gpkg_mb"] = gpkg.stat().st_size / 1e6
        (folder / "map.png").write_bytes(png)
        t0 = time.perf_counter()
        html = map_document(coverage_map(cov, study.isochrones))
        (folder / "map.html").write_text(html, encoding="utf-8")
        r["html"] = time.perf_counter() - t0
        r["html_mb"] = len(html.encode()) / 1e6
        t0 = time.perf_counter()
        write_report(study, folder / "report.html", map_html=html, map_png=png)
        r["report"] = time.perf_counter() - t0
    r["png_kb"] = len(png) / 1e3
    return r


def demo_child(cache: Path, keep: Path | None) -> dict:
    """The bundled demo in this process: the analysis cold then warm, the PNG and the GeoPackage of the last."""
    import resource

    t_start = time.perf_counter()
    from carecircle.pipeline import run, study_config

    r: dict = {"imports": time.perf_counter() - t_start}
    for label in ("analysis cold", "analysis warm"):
        t0 = time.perf_counter()
        study = run(study_config(), cache_dir=cache)
        r[label] = time.perf_counter() - t0
    r.update(time_outputs(study, keep))
    r["maxrss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return r


def run_demo(args) -> int:
    """``--demo``: warm the network and buildings cache once, then time the demo in fresh processes."""
    from carecircle.pipeline import run, study_config

    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    with tempfile.TemporaryDirectory(prefix="bench_demo_") as tmp:
        cache = Path(tmp) / "cache"
        run(study_config(), cache_dir=cache)
        runs = []
        for i in range(args.repeat):
            print(f"… demo run {i + 1}", file=sys.stderr, flush=True)
            cmd = [sys.executable, __file__, "--demo-child", str(cache)]
            if args.keep:
                cmd += ["--keep", str(args.keep)]
            out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True)
            runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    steps = ["imports", "analysis cold", "analysis warm", "mpl import", "png", "gpkg", "html", "report"]
    med = {k: statistics.median(r[k] for r in runs) for k in steps}
    print(f"Demo, medians of {args.repeat} fresh processes; load average before the run {load}.\n")
    print("| " + " | ".join(steps) + " | png size | gpkg size |")
    print("|" + "---:|" * (len(steps) + 2))
    print("| " + " | ".join(fmt_s(med[k]) for k in steps)
          + f" | {runs[-1]['png_kb']:.0f} kB | {runs[-1]['gpkg_mb']:.2f} MB |")
    if args.json:
        args.json.write_text(json.dumps({"machine": machine(), "load": load, "runs": runs}, indent=2))
    return 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--nodes", type=int, default=1_000_000)
    p.add_argument("--facilities", type=int, default=1_500)
    p.add_argument("--demand", type=int, default=100_000)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--seed", type=int, default=2026)
    p.add_argument("--json", type=Path)
    p.add_argument("--outputs", action="store_true", help="also time the isochrones, map.png and layers.gpkg")
    p.add_argument("--demo", action="store_true", help="time the bundled demo's analysis, map.png and layers.gpkg")
    p.add_argument("--keep", type=Path, help="write map.png, layers.gpkg, map.html and report.html into this folder")
    p.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--demo-child", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child is not None:
        print(json.dumps(child(args.child, args.nodes, args.seed, args.outputs, args.keep)))
        return 0
    if args.demo_child is not None:
        print(json.dumps(demo_child(args.demo_child, args.keep)))
        return 0
    if args.demo:
        return run_demo(args)
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    with tempfile.TemporaryDirectory(prefix="bench_city_") as tmp:
        folder = Path(tmp)
        print(f"… generating {args.nodes:,} nodes", file=sys.stderr, flush=True)
        sizes = prepare(folder, args.nodes, args.facilities, args.demand, args.seed)
        runs = []
        for i in range(args.repeat):
            print(f"… run {i + 1}", file=sys.stderr, flush=True)
            cmd = [sys.executable, __file__, "--child", str(folder), "--nodes", str(args.nodes), "--seed",
                   str(args.seed)] + (["--outputs"] if args.outputs else []) + (["--keep", str(args.keep)] if args.keep
                                                                             else [])
            out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True)
            runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    steps = ["imports", "load", "inputs", "csr", "index", "coverage", "summary", "total"]
    if args.outputs:
        steps += ["isochrones", "mpl import", "png", "gpkg", "html", "report"]
    med = {k: statistics.median(r[k] for r in runs) for k in steps}
    rss = statistics.median(r["maxrss_mb"] for r in runs)
    m = machine()
    print(f"Machine: {m['cpus']} CPUs, {m['cpu']}, {m['ram']} RAM; Python {m['python']}, numpy {m['numpy']}, "
          f"scipy {m['scipy']}, shapely {m['shapely']}. Medians of {args.repeat} fresh processes; load average "
          f"before the run {load}.\n")
    print("| nodes | segments | facilities | demand | communities | " + " | ".join(steps) + " | peak RSS | share 15 |")
    print("|" + "---:|" * (len(steps) + 7))
    print(f"| {sizes['nodes']:,} | {sizes['segments']:,} | {sizes['facilities']:,} | {sizes['demand']:,} "
          f"| {sizes['communities']:,} | " + " | ".join(fmt_s(med[k]) for k in steps)
          + f" | {rss:.0f} MB | {runs[-1]['share']['15']:.1%} |")
    if args.json:
        args.json.write_text(json.dumps({"machine": m, "load": load, "sizes": sizes, "runs": runs}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
