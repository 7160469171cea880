"""Time the carecircle pipeline on generated street grids against a bare scipy multi-source Dijkstra.

Usage::

    python benchmarks/bench_coverage.py --sizes 10000 100000 400000 --repeat 3
    python benchmarks/bench_coverage.py --quick            # small smoke run

Each size runs in a fresh child process (so its peak RSS is its own). The network is a square street grid of
100 m blocks in EPSG:32651 (Shenyang's UTM zone), node positions jittered by up to ±``--jitter-m`` and a few
percent of segments removed with a seeded RNG; it is built directly as a ``WalkNetwork`` from numpy arrays. 150
facilities and 10,000 demand points sit at seeded random places along random streets, up to 40 m off them, and
are handed to the pipeline as WGS-84 GeoDataFrames, as a user would.

Timed steps (best of ``--repeat`` runs, ``time.perf_counter``):

- ``build``: node/edge arrays -> ``WalkNetwork`` (dedupe, largest component, renumbering) + its CSR adjacency;
- ``tree`` / ``snap``: STRtree over the segments, then nearest-edge queries for facilities and demand;
- ``travel``: ``travel_times`` (facility and demand snapping queries, facility source rows appended to the
  cached CSR, one multi-source Dijkstra, demand read off its segment ends) on a network whose tree is already
  built; ``travel_15``: the same bounded at 15 minutes (``max_minutes=15``); ``travel_presnap``: the same with
  ``demand_snap=snap_points(network, demand_xy)`` computed once outside the timed call (the design's separate
  "snap to the walking network" step, reused by scenarios that change only the facilities);
- ``coverage``: ``measure_coverage`` end to end (CRS conversion, travel times, per-community/facility tables);
- ``iso``: ``isochrones(per_facility=False, thresholds_min=(15,))`` - the merged 15-minute polygon;
- ``dijkstra`` / ``dijkstra_15``: the reference, ``scipy.sparse.csgraph.dijkstra(network.csr,
  indices=<nearest nodes of the 150 facilities>, min_only=True)``, unbounded and with ``limit`` = 15 minutes.

A second table splits ``travel`` into its parts (facility snap, demand snap, ``_with_sources``, the Dijkstra
call, the demand read-out and its same-segment step - the same code as ``travel_times``, checked to give the same
minutes) so the ratio to the reference can be explained. Nothing here is a unit test; the figures are
recorded in ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as _dt
import json
import os
import platform
import resource
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

CRS = "EPSG:32651"  # UTM 51N (Shenyang)
ORIGIN = (500_000.0, 4_600_000.0)
BLOCK_M = 100.0
WALK_MPS = 1.0
THRESHOLDS = (5.0, 10.0, 15.0)


# ------------------------------------------------------------------------------------------- generation


def grid_arrays(n_nodes: int, *, seed: int, jitter_m: float, drop_frac: float):
    """Node coordinates and segment end arrays of a jittered square grid with about ``n_nodes`` nodes."""
    rng = np.random.default_rng(seed)
    side = max(2, int(np.rint(np.sqrt(n_nodes))))
    jj, ii = np.meshgrid(np.arange(side), np.arange(side))
    xy = np.column_stack([jj.ravel(), ii.ravel()]).astype(np.float64) * BLOCK_M
    xy += np.asarray(ORIGIN)
    if jitter_m > 0:
        xy += rng.uniform(-jitter_m, jitter_m, size=xy.shape)
    ids = np.arange(side * side).reshape(side, side)
    u = np.concatenate([ids[:, :-1].ravel(), ids[:-1, :].ravel()])
    v = np.concatenate([ids[:, 1:].ravel(), ids[1:, :].ravel()])
    keep = rng.random(len(u)) >= drop_frac
    return xy, u[keep], v[keep]


def build_network(xy, u, v, source: str):
    from carecircle.core.network import _finish

    net = _finish(xy, u, v, CRS, source, keep_largest=True)
    net.csr  # noqa: B018 - build and cache the CSR adjacency
    return net


def points_near_streets(net, k: int, rng, max_off_m: float = 40.0) -> np.ndarray:
    """``k`` points at random places along random segments, shifted sideways by up to ``max_off_m``."""
    e = rng.integers(0, net.n_edges, size=k)
    a = net.node_xy[net.edge_u[e]]
    d = net.node_xy[net.edge_v[e]] - a
    length = np.hypot(d[:, 0], d[:, 1])[:, None]
    normal = np.column_stack([-d[:, 1], d[:, 0]]) / length
    along = rng.random(k)[:, None]
    off = rng.uniform(-max_off_m, max_off_m, size=k)[:, None]
    return a + d * along + normal * off


def study_inputs(net, *, seed: int, n_facilities: int, n_demand: int, community_m: float = 1000.0):
    """Facilities, demand and community squares as WGS-84 GeoDataFrames (plus the projected coordinates)."""
    import geopandas as gpd
    import shapely

    rng = np.random.default_rng(seed + 1)
    fac_xy = points_near_streets(net, n_facilities, rng)
    dem_xy = points_near_streets(net, n_demand, rng)

    def wgs(xy):
        lon, lat = net.to_wgs84.transform(xy[:, 0], xy[:, 1])
        return shapely.points(np.column_stack([lon, lat]))

    facilities = gpd.GeoDataFrame(
        {"facility_id": [f"F{i:04d}" for i in range(n_facilities)],
         "type": rng.choice(["day_care", "station", "centre"], size=n_facilities)},
        geometry=wgs(fac_xy), crs="EPSG:4326",
    )
    cell = np.floor((dem_xy - np.asarray(ORIGIN)) / community_m).astype(np.int64)
    cid = np.char.add(np.char.add("C", cell[:, 1].astype(str)), np.char.add("_", cell[:, 0].astype(str)))
    demand = gpd.GeoDataFrame(
        {"community_id": cid, "population": rng.integers(1, 200, size=n_demand).astype(float)},
        geometry=wgs(dem_xy), crs="EPSG:4326",
    )
    cells = np.unique(cell, axis=0)
    x0 = ORIGIN[0] + cells[:, 0] * community_m
    y0 = ORIGIN[1] + cells[:, 1] * community_m
    boxes = shapely.box(x0, y0, x0 + community_m, y0 + community_m)
    communities = gpd.GeoDataFrame(
        {"community_id": [f"C{r}_{c}" for c, r in cells]}, geometry=boxes, crs=CRS
    ).to_crs("EPSG:4326")
    # Projected coordinates exactly as measure_coverage will see them (after the WGS-84 round trip).
    fac_xy = np.column_stack(net.from_wgs84.transform(*shapely.get_coordinates(facilities.geometry.values).T))
    dem_xy = np.column_stack(net.from_wgs84.transform(*shapely.get_coordinates(demand.geometry.values).T))
    return facilities, demand, communities, fac_xy, dem_xy


# ---------------------------------------------------------------------------------------------- timing


def best_of(fn, repeat: int):
    """Smallest wall time of ``repeat`` calls of ``fn`` and the last result."""
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def run_size(n_nodes: int, *, repeat: int, seed: int, jitter_m: float, drop_frac: float,
             n_facilities: int, n_demand: int, iso: bool) -> dict:
    from scipy.sparse.csgraph import dijkstra
    from scipy.spatial import cKDTree

    from carecircle.core.coverage import measure_coverage
    from carecircle.core.isochrones import isochrones
    from carecircle.core.travel import snap_points, travel_times

    r: dict = {"target_nodes": n_nodes}
    xy, u, v = grid_arrays(n_nodes, seed=seed, jitter_m=jitter_m, drop_frac=drop_frac)
    source = f"grid {n_nodes} seed {seed}"
    r["build"], net = best_of(lambda: build_network(xy, u, v, source), repeat)
    r["nodes"], r["segments"] = net.n_nodes, net.n_edges

    facilities, demand, communities, fac_xy, dem_xy = study_inputs(
        net, seed=seed, n_facilities=n_facilities, n_demand=n_demand)
    r["communities"] = len(communities)

    def fresh_tree():
        fresh = dataclasses.replace(net)  # same arrays, no cached tree
        fresh.edge_length_m  # noqa: B018
        t0 = time.perf_counter()
        fresh.tree  # noqa: B018
        return time.perf_counter() - t0

    r["tree"] = min(fresh_tree() for _ in range(repeat))
    net.tree  # noqa: B018 - warm: every later step reuses the cached tree, as a session does
    r["snap"], _ = best_of(lambda: (snap_points(net, fac_xy), snap_points(net, dem_xy)), repeat)

    r["travel"], tt = best_of(lambda: travel_times(net, fac_xy, dem_xy, walk_speed_mps=WALK_MPS), repeat)
    # Demand snapped once, outside the timed call (the design's separate "snap to the walking network" step;
    # scenarios that change only the facilities reuse it).
    dem_snap = snap_points(net, dem_xy)
    r["travel_presnap"], tt_pre = best_of(
        lambda: travel_times(net, fac_xy, dem_xy, walk_speed_mps=WALK_MPS, demand_snap=dem_snap), repeat)
    assert np.array_equal(tt.minutes, tt_pre.minutes) and np.array_equal(tt.nearest, tt_pre.nearest)
    r["travel_15"], tt15 = best_of(
        lambda: travel_times(net, fac_xy, dem_xy, walk_speed_mps=WALK_MPS, max_minutes=THRESHOLDS[-1]), repeat)
    r["coverage"], cov = best_of(
        lambda: measure_coverage(net, facilities, demand, communities, thresholds_min=THRESHOLDS,
                                 walk_speed_mps=WALK_MPS), repeat)
    r["share_15"] = cov.summary["share"]["15"]
    r["reached"] = int(np.isfinite(tt.minutes).sum())
    assert np.array_equal(tt.minutes <= 15 + 1e-9, tt15.minutes <= 15 + 1e-9)
    if iso:
        r["iso"], poly = best_of(
            lambda: isochrones(net, facilities, thresholds_min=(THRESHOLDS[-1],), walk_speed_mps=WALK_MPS,
                               per_facility=False), repeat)
        r["iso_area_km2"] = float(poly.to_crs(CRS).area.sum() / 1e6)

    # The reference: bare multi-source Dijkstra from the facilities' nearest network nodes.
    sources = np.unique(cKDTree(net.node_xy).query(fac_xy)[1])
    csr = net.csr
    r["dijkstra"], _ = best_of(lambda: dijkstra(csr, indices=sources, min_only=True), repeat)
    limit = THRESHOLDS[-1] * 60.0 * WALK_MPS
    r["dijkstra_15"], _ = best_of(lambda: dijkstra(csr, indices=sources, min_only=True, limit=limit), repeat)
    r["dijkstra_pred"], _ = best_of(
        lambda: dijkstra(csr, indices=sources, min_only=True, return_predecessors=True), repeat)

    # travel_times split into its parts: the same calls, in the same order, as carecircle.core.travel.travel_times.
    from carecircle.core.travel import _same_segment_pairs, _with_sources

    n = net.n_nodes

    def parts():
        out = {}
        t0 = time.perf_counter()
        fs = snap_points(net, fac_xy)
        out["p_snap_fac"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        ds = snap_points(net, dem_xy)
        out["p_snap_dem"] = time.perf_counter() - t0
        fac = np.flatnonzero(fs.ok)
        t0 = time.perf_counter()
        g = _with_sources(net, fs, fac)
        out["p_sources"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        dist, _, origin = dijkstra(g, indices=n + np.arange(len(fac)), min_only=True, return_predecessors=True,
                                   limit=np.inf)
        out["p_dijkstra"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        dem = np.flatnonzero(ds.ok)
        e, along, off = ds.edge[dem], ds.along_m[dem], ds.offset_m[dem]
        u, v = net.edge_u[e], net.edge_v[e]
        via_u, via_v = dist[u] + along, dist[v] + net.edge_length_m[e] - along
        best = np.minimum(via_u, via_v) + off
        src = np.where(via_u <= via_v, origin[u], origin[v])
        who = np.where(np.isfinite(best) & (src >= n), fac[np.maximum(src - n, 0)], -1)
        out["p_ends"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        d_pos, f_pos = _same_segment_pairs(e, fs.edge[fac])
        if len(d_pos):
            direct = np.abs(along[d_pos] - fs.along_m[fac[f_pos]]) + off[d_pos] + fs.offset_m[fac[f_pos]]
            order = np.lexsort((f_pos, direct, d_pos))
            d_pos, f_pos, direct = d_pos[order], f_pos[order], direct[order]
            first = np.r_[True, d_pos[1:] != d_pos[:-1]]
            d_pos, f_pos, direct = d_pos[first], f_pos[first], direct[first]
            better = direct < best[d_pos]
            best[d_pos[better]] = direct[better]
            who[d_pos[better]] = fac[f_pos[better]]
        out["p_same"] = time.perf_counter() - t0
        out["same_pairs"] = len(d_pos)  # demand points sharing a segment with a facility
        minutes = np.full(len(dem_xy), np.inf)
        minutes[dem] = best / WALK_MPS / 60.0
        # The split must compute what travel_times computes, or its figures explain nothing.
        assert np.array_equal(minutes, tt.minutes), "the split differs from travel_times"
        return out

    runs = [parts() for _ in range(repeat)]
    for key in runs[0]:
        r[key] = min(run[key] for run in runs)
    r["p_readout"] = r["p_ends"] + r["p_same"]

    # Memory: peak traced (numpy/Python) allocation of one measure_coverage call, and the process peak RSS.
    tracemalloc.start()
    measure_coverage(net, facilities, demand, communities, thresholds_min=THRESHOLDS, walk_speed_mps=WALK_MPS)
    r["coverage_peak_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    r["dense_mb"] = net.n_nodes * n_facilities * 8 / 2**20  # what a dense facility × node matrix would need
    r["maxrss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return r


# --------------------------------------------------------------------------------------------- reporting


def machine() -> dict:
    import numpy
    import scipy
    import shapely

    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        mem_kb = int(next(x for x in Path("/proc/meminfo").read_text().splitlines()
                          if x.startswith("MemTotal")).split()[1])
        ram = f"{mem_kb / 2**20:.1f} GiB"
    except (OSError, StopIteration, ValueError):
        ram = "?"
    return {"cpus": os.cpu_count(), "cpu": cpu, "ram": ram, "python": platform.python_version(),
            "numpy": numpy.__version__, "scipy": scipy.__version__, "shapely": shapely.__version__,
            "platform": platform.platform()}


def fmt_s(x: float | None) -> str:
    if x is None:
        return "–"
    if x < 0.01:
        return f"{x * 1000:.1f} ms"
    return f"{x * 1000:.0f} ms" if x < 1 else f"{x:.2f} s"


def markdown(results: list[dict], args) -> str:
    m = machine()
    lines = [
        f"Machine: {m['cpus']} CPUs, {m['cpu']}, {m['ram']} RAM, {m['platform']}; Python {m['python']}, "
        f"numpy {m['numpy']}, scipy {m['scipy']}, shapely {m['shapely']}. "
        f"Best of {args.repeat}; {args.facilities} facilities, {args.demand:,} demand points; "
        f"date {_dt.date.today().isoformat()}.",
        "",
        "| nodes | segments | build | STRtree | snap | travel_times | travel_times, demand pre-snapped "
        "| travel_times ≤15 min | coverage | isochrone 15 (merged) | bare dijkstra | bare dijkstra ≤15 min "
        "| travel / dijkstra | travel pre-snapped / dijkstra | coverage / dijkstra | travel≤15 / dijkstra≤15 "
        "| peak RSS | coverage peak traced |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r['nodes']:,} | {r['segments']:,} | {fmt_s(r['build'])} | {fmt_s(r['tree'])} | {fmt_s(r['snap'])} "
            f"| {fmt_s(r['travel'])} | {fmt_s(r['travel_presnap'])} | {fmt_s(r['travel_15'])} "
            f"| {fmt_s(r['coverage'])} | {fmt_s(r.get('iso'))} "
            f"| {fmt_s(r['dijkstra'])} | {fmt_s(r['dijkstra_15'])} "
            f"| {r['travel'] / r['dijkstra']:.2f}× | {r['travel_presnap'] / r['dijkstra']:.2f}× "
            f"| {r['coverage'] / r['dijkstra']:.2f}× | {r['travel_15'] / r['dijkstra_15']:.2f}× "
            f"| {r['maxrss_mb']:.0f} MB | {r['coverage_peak_mb']:.0f} MB |"
        )
    lines += [
        "",
        "travel_times split into its parts (best of each; the same code as `travel_times`), against the reference:",
        "",
        "| nodes | facility snap | demand snap | `_with_sources` (append facility rows to the CSR) "
        "| dijkstra from the source rows (with predecessors) | demand read-out: segment ends "
        "| same-segment step (demand points on a facility's segment) | bare dijkstra "
        "| bare dijkstra with predecessors | 15-min share | dense f×n matrix would need |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r['nodes']:,} | {fmt_s(r['p_snap_fac'])} | {fmt_s(r['p_snap_dem'])} | {fmt_s(r['p_sources'])} "
            f"| {fmt_s(r['p_dijkstra'])} | {fmt_s(r['p_ends'])} | {fmt_s(r['p_same'])} ({r['same_pairs']:,}) "
            f"| {fmt_s(r['dijkstra'])} | {fmt_s(r['dijkstra_pred'])} | {r['share_15']:.1%} "
            f"| {r['dense_mb']:.0f} MB |"
        )
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 400_000], help="grid node counts")
    p.add_argument("--repeat", type=int, default=3, help="runs per step; the best is reported")
    p.add_argument("--facilities", type=int, default=150)
    p.add_argument("--demand", type=int, default=10_000)
    p.add_argument("--seed", type=int, default=2026)
    p.add_argument("--jitter-m", type=float, default=10.0, help="node jitter, ± metres")
    p.add_argument("--drop-frac", type=float, default=0.03, help="share of grid segments removed")
    p.add_argument("--no-isochrones", action="store_true", help="skip the (slow) isochrone step")
    p.add_argument("--quick", action="store_true", help="smoke run: 2,500 and 10,000 nodes, one repeat")
    p.add_argument("--json", type=Path, help="also write the raw figures to this JSON file")
    p.add_argument("--in-process", action="store_true", help="run all sizes in this process (peak RSS is shared)")
    p.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.quick:
        args.sizes, args.repeat = [2_500, 10_000], 1
    common = dict(repeat=args.repeat, seed=args.seed, jitter_m=args.jitter_m, drop_frac=args.drop_frac,
                  n_facilities=args.facilities, n_demand=args.demand, iso=not args.no_isochrones)

    if args.child is not None:
        print(json.dumps(run_size(args.child, **common)))
        return 0

    results = []
    for size in args.sizes:
        print(f"… {size:,} nodes", file=sys.stderr, flush=True)
        if args.in_process:
            results.append(run_size(size, **common))
            continue
        cmd = [sys.executable, __file__, "--child", str(size), "--repeat", str(args.repeat),
               "--facilities", str(args.facilities), "--demand", str(args.demand), "--seed", str(args.seed),
               "--jitter-m", str(args.jitter_m), "--drop-frac", str(args.drop_frac)]
        if args.no_isochrones:
            cmd.append("--no-isochrones")
        out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True)
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    if args.json:
        args.json.write_text(json.dumps({"machine": machine(), "results": results}, indent=2))
    print(markdown(results, args))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
