"""Time carecircle's coverage step on generated street grids against one bounded scipy Dijkstra.

Usage::

    python benchmarks/bench_coverage.py                       # 100k and 400k nodes, medians of 3
    python benchmarks/bench_coverage.py --sizes 100k --repeat 3 --json figures.json
    python benchmarks/bench_coverage.py --quick               # small smoke run (10k nodes, one repeat)

Each size runs in a fresh child process (so its peak RSS is its own). The network is a square street grid of
100 m blocks in EPSG:32651 (Shenyang's UTM zone), node positions jittered by up to ±``--jitter-m`` and a few
percent of segments removed with a seeded RNG; it is built directly as a ``WalkNetwork`` from numpy arrays.
Facilities and demand points sit at seeded random places along random streets, up to 40 m off them, and are
handed to ``measure_coverage`` as WGS-84 GeoDataFrames, as a user would. Sizes (``SIZES``): ``100k`` = 100,000
nodes, 150 facilities, 10,000 demand points; ``400k`` = 400,000 nodes, 600 facilities, 40,000 demand points.

**The plain reference** is written here without ``carecircle.core.travel``: facilities and demand points are
snapped with a shapely ``STRtree`` (nearest segment, lowest segment index among equidistant ones), inserted into
the graph as nodes (each snapped segment split at its snap positions, plus one connector per point weighted by
its off-network walk), and *one* multi-source ``scipy.sparse.csgraph.dijkstra(..., min_only=True,
limit=<largest threshold in metres>)`` from the facility nodes gives every demand point its distance. Only that
Dijkstra call is timed as the reference; its snapping and graph building are shown apart (``ref. prep``).

**carecircle's side includes snapping**: the segment index is built once per network (its own column, like
reading the network), and every timed ``snap``/``travel_times``/``measure_coverage`` call starts with no snap
remembered on the network (the cache is emptied before each run), so it pays for snapping facilities and demand.
The benchmark checks that the covered population at every threshold (and the covered set of demand points)
equals the reference's, and that both sides snapped every point to the same segment; it stops otherwise.

Columns (medians of ``--repeat`` runs, ``time.perf_counter``): ``index`` segment index for snapping (once per
network); ``snap`` facilities + demand; ``travel ≤60`` ``travel_times`` as ``measure_coverage`` calls it (bounded
at its search cap, ``coverage.search_cap_min``: 60 minutes for these thresholds; unbounded before issue 10);
``travel ≤15`` the same with ``max_minutes=15``; ``coverage`` ``measure_coverage`` end to end
(CRS conversion, snapping, travel times, per-community and per-facility tables); ``iso`` ``isochrones(...,
thresholds_min=(5, 10, 15), per_facility=False)``, the merged layers; ``ref.`` the reference Dijkstra.
A second table gives floors: ``kd k=1``, one query of the segment index's KD-tree for the nearest sample of
each point (less than any exact snap by it), and ``walk ≤15``/``walk ≤cap``, ``travel_times`` on points
already snapped; ``floor / ref.`` = (kd k=1 + walk ≤15) / ref. Nothing here is a unit test; the figures are
recorded in ``benchmarks/README.md``. A third table times ``CoverageFacts.covered`` for four type sets, as the
standards checks and ``by_type.csv`` ask it.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as _dt
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

#: name -> (grid nodes, facilities, demand points)
SIZES = {"10k": (10_000, 40, 2_500), "100k": (100_000, 150, 10_000), "400k": (400_000, 600, 40_000)}

CRS = "EPSG:32651"  # UTM 51N (Shenyang)
ORIGIN = (500_000.0, 4_600_000.0)
BLOCK_M = 100.0
WALK_MPS = 1.0
THRESHOLDS = (5.0, 10.0, 15.0)
#: The facilities' types, and the type sets whose coverage ``CoverageFacts`` is asked (``None``: any elder care).
TYPE_SETS = (None, "day_care", "home_care_station", "comprehensive_centre")
TYPE_MINUTES = (15.0, 10.0, 15.0, 15.0)


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
         "type": rng.choice(list(TYPE_SETS[1:]), size=n_facilities)},
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



# ---------------------------------------------------------------------------------------------- reference


def reference_snap(net, xy: np.ndarray):
    """Nearest segment by a shapely STRtree over the segments: (edge, along_m, offset_m), lowest index on ties."""
    import shapely

    lines = shapely.linestrings(np.stack([net.node_xy[net.edge_u], net.node_xy[net.edge_v]], axis=1))
    tree = shapely.STRtree(lines)
    (pi, ei), dist = tree.query_nearest(shapely.points(xy), return_distance=True, all_matches=True)
    order = np.lexsort((ei, pi))
    pi, ei, dist = pi[order], ei[order], dist[order]
    first = np.r_[True, pi[1:] != pi[:-1]]
    edge = np.empty(len(xy), dtype=np.int64)
    offset = np.empty(len(xy))
    edge[pi[first]], offset[pi[first]] = ei[first], dist[first]
    a, b = net.node_xy[net.edge_u[edge]], net.node_xy[net.edge_v[edge]]
    d = b - a
    length = np.hypot(d[:, 0], d[:, 1])
    t = np.clip(((xy - a) * d).sum(axis=1) / length**2, 0.0, 1.0)
    return edge, t * length, offset


def reference_graph(net, edge, along, offset):
    """The network with every point inserted as a node: CSR and the node of each point."""
    import scipy.sparse as sp

    n, k = net.n_nodes, len(edge)
    length = np.hypot(*(net.node_xy[net.edge_v] - net.node_xy[net.edge_u]).T)
    snap_node = n + np.arange(k)
    point_node = n + k + np.arange(k)
    order = np.lexsort((along, edge))
    e, a, s = edge[order], along[order], snap_node[order]
    first = np.r_[True, e[1:] != e[:-1]]
    last = np.r_[e[1:] != e[:-1], True]
    prev = np.where(first, net.edge_u[e], np.r_[-1, s[:-1]])
    prev_along = np.where(first, 0.0, np.r_[0.0, a[:-1]])
    split = np.zeros(net.n_edges, dtype=bool)
    split[edge] = True
    u = np.concatenate([net.edge_u[~split], prev, s[last], snap_node])
    v = np.concatenate([net.edge_v[~split], s, net.edge_v[e[last]], point_node])
    w = np.concatenate([length[~split], a - prev_along, length[e[last]] - a[last], offset])
    size = n + 2 * k
    csr = sp.csr_array((np.r_[w, w], (np.r_[u, v], np.r_[v, u])), shape=(size, size))
    return csr, point_node


# ---------------------------------------------------------------------------------------------- timing


def median_of(fn, repeat: int, before=None):
    """Median wall time of ``repeat`` calls of ``fn`` (``before()`` runs untimed ahead of each) and the last result."""
    times, out = [], None
    for _ in range(repeat):
        if before is not None:
            before()
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def forget_snaps(net) -> None:
    """Empty the snaps remembered on the network, so the next call snaps again (no-op on code without them)."""
    index = vars(net).get("_segment_index")
    if index is not None:
        index.snaps.clear()


def run_size(name: str, *, repeat: int, seed: int, jitter_m: float, drop_frac: float, iso: bool) -> dict:
    from scipy.sparse.csgraph import dijkstra

    from carecircle.core import travel
    from carecircle.core.coverage import measure_coverage
    from carecircle.core.isochrones import isochrones
    from carecircle.core.travel import snap_points, travel_times

    n_nodes, n_facilities, n_demand = SIZES[name]
    r: dict = {"size": name, "facilities": n_facilities, "demand": n_demand, "repeat": repeat}
    xy, u, v = grid_arrays(n_nodes, seed=seed, jitter_m=jitter_m, drop_frac=drop_frac)
    net = build_network(xy, u, v, f"grid {n_nodes} seed {seed}")
    r["nodes"], r["segments"] = net.n_nodes, net.n_edges
    facilities, demand, communities, fac_xy, dem_xy = study_inputs(
        net, seed=seed, n_facilities=n_facilities, n_demand=n_demand)
    top = THRESHOLDS[-1]
    limit_m = top * 60.0 * WALK_MPS

    # The reference: snap, insert, then one bounded multi-source Dijkstra (the only timed part).
    t0 = time.perf_counter()
    f_edge, f_along, f_off = reference_snap(net, fac_xy)
    d_edge, d_along, d_off = reference_snap(net, dem_xy)
    graph, point_node = reference_graph(net, np.r_[f_edge, d_edge], np.r_[f_along, d_along], np.r_[f_off, d_off])
    r["ref_prep"] = time.perf_counter() - t0
    sources, targets = point_node[:n_facilities], point_node[n_facilities:]
    r["ref"], dist = median_of(lambda: dijkstra(graph, indices=sources, min_only=True, limit=limit_m), repeat)
    ref_minutes = dist[targets] / WALK_MPS / 60.0

    # carecircle: the segment index once per network, then every call from an empty snap cache.
    def fresh_index():
        fresh = dataclasses.replace(net)  # same arrays, nothing cached
        fresh.edge_length_m  # noqa: B018
        t0 = time.perf_counter()
        if hasattr(travel, "segment_index"):
            travel.segment_index(fresh)
        else:
            fresh.tree  # noqa: B018 - the STRtree snapping used before
        return time.perf_counter() - t0

    r["index"] = statistics.median(fresh_index() for _ in range(repeat))
    fresh_index()
    if hasattr(travel, "segment_index"):
        travel.segment_index(net)
    else:
        net.tree  # noqa: B018
    cold = lambda: forget_snaps(net)  # noqa: E731
    r["snap"], (fs, ds) = median_of(lambda: (snap_points(net, fac_xy), snap_points(net, dem_xy)), repeat, cold)
    same_snaps = bool(np.array_equal(fs.edge, f_edge) and np.array_equal(ds.edge, d_edge)
                      and np.array_equal(fs.offset_m, f_off) and np.array_equal(ds.offset_m, d_off))
    try:
        from carecircle.core.coverage import search_cap_min
        cap = search_cap_min(THRESHOLDS)
    except ImportError:  # code before issue 10's cap: measure_coverage walked unbounded
        cap = None
    r["cap_min"] = cap
    r["travel"], tt = median_of(
        lambda: travel_times(net, fac_xy, dem_xy, walk_speed_mps=WALK_MPS, max_minutes=cap), repeat, cold)
    r["travel_15"], tt15 = median_of(
        lambda: travel_times(net, fac_xy, dem_xy, walk_speed_mps=WALK_MPS, max_minutes=top), repeat, cold)
    # Floors: what no KD-tree snap and no walk to the cap can go below. One nearest-sample query per point (both
    # cores, spatially ordered, not even exact: an exact nearest segment needs more), and the walks alone on
    # points already snapped.
    index = travel.segment_index(net) if hasattr(travel, "segment_index") else None
    if index is not None:
        q = np.r_[fac_xy, dem_xy]
        q = q[np.lexsort((q[:, 0], np.floor(q[:, 1] / 1000.0)))]
        r["kd1"], _ = median_of(lambda: index.tree.query(q, k=1, workers=-1), repeat)
        r["walk_15"], _ = median_of(lambda: travel_times(net, fac_xy, dem_xy, walk_speed_mps=WALK_MPS, max_minutes=top,
                                                         facility_snap=fs, demand_snap=ds), repeat)
        r["walk_cap"], _ = median_of(lambda: travel_times(net, fac_xy, dem_xy, walk_speed_mps=WALK_MPS,
                                                          max_minutes=cap, facility_snap=fs, demand_snap=ds), repeat)
    # Per-type coverage as the standards checks and by_type.csv ask it (one walk per type set, cold snaps).
    from carecircle.core.coverage import CoverageFacts

    def per_type():
        facts = CoverageFacts(net, facilities, demand, communities, walk_speed_mps=WALK_MPS)
        asked = zip(TYPE_SETS, TYPE_MINUTES, strict=True)
        return [facts.covered(None if t is None else [t], m)["covered"].sum() for t, m in asked]

    r["per_type"], per_type_covered = median_of(per_type, repeat, cold)
    r["per_type_covered"] = [float(x) for x in per_type_covered]
    r["coverage"], cov = median_of(
        lambda: measure_coverage(net, facilities, demand, communities, thresholds_min=THRESHOLDS,
                                 walk_speed_mps=WALK_MPS), repeat, cold)
    if iso:
        r["iso"], poly = median_of(
            lambda: isochrones(net, facilities, thresholds_min=THRESHOLDS, walk_speed_mps=WALK_MPS,
                               per_facility=False), repeat, cold)
        areas = poly.to_crs(CRS).area.to_numpy() / 1e6
        r["iso_area_km2"] = [float(a) for a in areas]

    # Equality with the reference: the same snaps, the same covered points and population at every threshold.
    pop = demand["population"].to_numpy(dtype=float)
    checks = {"same snaps": same_snaps}
    for t in THRESHOLDS:
        lab = f"{t:g}"
        ref_cov = ref_minutes <= t + 1e-9
        checks[f"covered set {lab}"] = bool(np.array_equal(cov.demand[f"covered_{lab}"].to_numpy(), ref_cov))
        checks[f"travel ≤15 set {lab}"] = bool(np.array_equal(tt15.minutes <= t + 1e-9, ref_cov))
        ref_pop = float(np.round(pop[ref_cov].sum(), 3))
        checks[f"population {lab}"] = cov.summary["covered"][lab] == ref_pop
        r[f"covered_{lab}"] = cov.summary["covered"][lab]
        r[f"ref_covered_{lab}"] = ref_pop
    checks["travel within 15 min"] = bool(np.allclose(tt.minutes[tt.minutes <= top], ref_minutes[tt.minutes <= top],
                                                      rtol=0, atol=1e-9))
    checks["per-type, any elder care, 15"] = round(r["per_type_covered"][0], 3) == r["ref_covered_15"]
    r["checks"] = checks
    r["equal"] = all(checks.values())
    r["share_15"] = cov.summary["share"][f"{top:g}"]
    r["maxrss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if not r["equal"]:
        raise SystemExit(f"{name}: carecircle differs from the reference: "
                         + ", ".join(k for k, ok in checks.items() if not ok))
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
        f"numpy {m['numpy']}, scipy {m['scipy']}, shapely {m['shapely']}. Medians of {args.repeat}; "
        f"load average before the run {args.load}; date {_dt.date.today().isoformat()}.",
        "",
        "| grid | nodes | facilities | demand | index (once) | snap | travel ≤cap | travel ≤15 | coverage "
        "| iso 5/10/15 | ref. Dijkstra ≤15 | ref. prep | coverage / ref. | travel ≤15 / ref. | covered 15 (ref.) "
        "| equal | peak RSS |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r['size']} | {r['nodes']:,} | {r['facilities']} | {r['demand']:,} | {fmt_s(r['index'])} "
            f"| {fmt_s(r['snap'])} | {fmt_s(r['travel'])} | {fmt_s(r['travel_15'])} | {fmt_s(r['coverage'])} "
            f"| {fmt_s(r.get('iso'))} | {fmt_s(r['ref'])} | {fmt_s(r['ref_prep'])} "
            f"| {r['coverage'] / r['ref']:.1f}× | {r['travel_15'] / r['ref']:.1f}× "
            f"| {r['covered_15']:,.0f} ({r['ref_covered_15']:,.0f}) | {'yes' if r['equal'] else 'NO'} "
            f"| {r['maxrss_mb']:.0f} MB |"
        )
    floors = [r for r in results if "kd1" in r]
    if floors:
        lines += [
            "",
            "Floors (same runs): **kd k=1** one nearest-sample KD-tree query per facility and demand point "
            "(both cores, "
            "spatially ordered; any exact segment snap by this index costs more); **walk ≤15** / **walk ≤cap** "
            "`travel_times` on points already snapped; **floor** = kd k=1 + walk ≤15, the least a coverage step with "
            "snapping could cost on this stack, against the reference.",
            "",
            "| grid | kd k=1 | walk ≤15 | walk ≤cap | ref. Dijkstra ≤15 | floor / ref. | walk ≤cap / ref. |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        for r in floors:
            lines.append(
                f"| {r['size']} | {fmt_s(r['kd1'])} | {fmt_s(r['walk_15'])} | {fmt_s(r['walk_cap'])} "
                f"| {fmt_s(r['ref'])} | {(r['kd1'] + r['walk_15']) / r['ref']:.1f}× | {r['walk_cap'] / r['ref']:.1f}× |"
            )
    lines += ["", "Per-type coverage (`CoverageFacts.covered` for any elder care at 15 minutes, day care at 10, "
              "stations and centres at 15: one walk each, cold snaps), as the standards checks and by_type.csv ask it:",
              "",
              "| grid | per-type coverage | covered, any elder care, 15 min (ref.) |", "|---|---:|---:|"]
    lines += [f"| {r['size']} | {fmt_s(r['per_type'])} | {r['per_type_covered'][0]:,.0f} ({r['ref_covered_15']:,.0f}) |"
              for r in results if "per_type" in r]
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", nargs="+", default=["100k", "400k"], choices=sorted(SIZES), help="grid sizes")
    p.add_argument("--repeat", type=int, default=3, help="runs per step; the median is reported")
    p.add_argument("--seed", type=int, default=2026)
    p.add_argument("--jitter-m", type=float, default=10.0, help="node jitter, ± metres")
    p.add_argument("--drop-frac", type=float, default=0.03, help="share of grid segments removed")
    p.add_argument("--no-isochrones", action="store_true", help="skip the isochrone step")
    p.add_argument("--quick", action="store_true", help="smoke run: 10k nodes, one repeat")
    p.add_argument("--json", type=Path, help="also write the raw figures to this JSON file")
    p.add_argument("--child", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.quick:
        args.sizes, args.repeat = ["10k"], 1
    common = dict(repeat=args.repeat, seed=args.seed, jitter_m=args.jitter_m, drop_frac=args.drop_frac,
                  iso=not args.no_isochrones)
    if args.child is not None:
        print(json.dumps(run_size(args.child, **common)))
        return 0

    args.load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    results = []
    for size in args.sizes:
        print(f"… {size} nodes", file=sys.stderr, flush=True)
        cmd = [sys.executable, __file__, "--child", size, "--repeat", str(args.repeat), "--seed", str(args.seed),
               "--jitter-m", str(args.jitter_m), "--drop-frac", str(args.drop_frac)]
        if args.no_isochrones:
            cmd.append("--no-isochrones")
        out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True)
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    if args.json:
        args.json.write_text(json.dumps({"machine": machine(), "load": args.load, "results": results}, indent=2))
    print(markdown(results, args))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
