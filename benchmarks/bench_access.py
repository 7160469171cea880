"""Time the accessibility step (enhanced 2SFCA) against the coverage step on the same inputs, and check its scores
against a plain scipy reference.

Usage::

    python benchmarks/bench_access.py                      # 100k and 400k nodes, medians of 3
    python benchmarks/bench_access.py --sizes 100k --repeat 1
    python benchmarks/bench_access.py --quick              # smoke run: 10k nodes

Issue 13: "the accessibility step at 100k and 400k network nodes with 10k–50k demand points and 2k facilities,
reported as a ratio to the coverage step on the same inputs (it should cost at most a few times the coverage
step, since it needs bounded distances from every facility)". The grids, facilities and demand are
``bench_coverage.py``'s (same generator, seed 2026): ``100k`` = 99,855 nodes, 2,000 facilities, 10,000 demand
points; ``400k`` = 399,424 nodes, 2,000 facilities, 50,000 demand points. Each size runs in its own child
process. Facility supply is a seeded random capacity of 10–200 places; every facility's catchment is 15 minutes
(one catchment, so the reference needs no per-type rule), thresholds 5/10/15, weights 1 / 0.68 / 0.22.

**carecircle**: ``measure_accessibility(..., method="e2sfca")`` end to end, snapping included (every call starts
with no snap remembered on the network), beside ``measure_coverage`` on the same inputs.

**The plain reference** is written here without ``carecircle.core``: points snapped with a shapely STRtree and
inserted into the graph as nodes (``bench_coverage.reference_graph``), then ``scipy.sparse.csgraph.dijkstra``
from the facility nodes bounded at 900 m in chunks of 64 facilities (a dense chunk × nodes block each), demand
distances read off, weights and the two steps in numpy. Only the Dijkstra chunks and the two steps are timed
(**ref.**); snapping and graph building are shown apart (**ref. prep**). The benchmark stops unless the scores
of every demand point agree to 1e-9 (relative).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from bench_coverage import (  # noqa: E402
    THRESHOLDS,
    WALK_MPS,
    build_network,
    fmt_s,
    forget_snaps,
    grid_arrays,
    machine,
    median_of,
    reference_graph,
    reference_snap,
    study_inputs,
)

#: name -> (grid nodes, facilities, demand points)
SIZES = {"10k": (10_000, 200, 2_500), "100k": (100_000, 2_000, 10_000), "400k": (400_000, 2_000, 50_000)}
WEIGHTS = (1.0, 0.68, 0.22)


def reference_scores(graph, sources, targets, supply, pop, limit_m: float, chunk: int = 64) -> np.ndarray:
    """Enhanced 2SFCA scores per 1,000 from chunked bounded Dijkstras and numpy (sparse pairs kept per chunk)."""
    import scipy.sparse as sp
    from scipy.sparse.csgraph import dijkstra

    rows, cols, vals = [], [], []
    for start in range(0, len(sources), chunk):
        dist = dijkstra(graph, indices=sources[start:start + chunk], limit=limit_m)[:, targets]
        r, c = np.nonzero(dist <= limit_m)
        rows.append(r + start)
        cols.append(c)
        vals.append(dist[r, c] / WALK_MPS / 60.0)
    minutes = np.concatenate(vals)
    band = np.searchsorted(np.asarray(THRESHOLDS), minutes - 1e-9)
    w = np.asarray(WEIGHTS)[np.minimum(band, 2)] * (band < 3)
    weights = sp.csr_array((w, (np.concatenate(rows), np.concatenate(cols))), shape=(len(sources), len(targets)))
    reached = weights @ pop
    ratio = np.where(reached > 0, supply / np.where(reached > 0, reached, 1.0), 0.0)
    return (weights.T @ ratio) * 1000.0


def run_size(name: str, *, repeat: int, seed: int) -> dict:
    from carecircle.core.access import measure_accessibility
    from carecircle.core.coverage import measure_coverage

    n_nodes, n_facilities, n_demand = SIZES[name]
    r: dict = {"size": name, "facilities": n_facilities, "demand": n_demand, "repeat": repeat}
    xy, u, v = grid_arrays(n_nodes, seed=seed, jitter_m=10.0, drop_frac=0.03)
    net = build_network(xy, u, v, f"grid {n_nodes} seed {seed}")
    r["nodes"] = net.n_nodes
    facilities, demand, communities, fac_xy, dem_xy = study_inputs(
        net, seed=seed, n_facilities=n_facilities, n_demand=n_demand)
    rng = np.random.default_rng(seed + 7)
    facilities = facilities.assign(capacity=rng.integers(10, 200, size=n_facilities).astype(float))
    supply = facilities["capacity"].to_numpy(float)
    pop = demand["population"].to_numpy(float)
    limit_m = THRESHOLDS[-1] * 60.0 * WALK_MPS

    t0 = time.perf_counter()
    f_edge, f_along, f_off = reference_snap(net, fac_xy)
    d_edge, d_along, d_off = reference_snap(net, dem_xy)
    graph, point_node = reference_graph(net, np.r_[f_edge, d_edge], np.r_[f_along, d_along], np.r_[f_off, d_off])
    r["ref_prep"] = time.perf_counter() - t0
    sources, targets = point_node[:n_facilities], point_node[n_facilities:]
    r["ref"], ref = median_of(lambda: reference_scores(graph, sources, targets, supply, pop, limit_m), repeat)

    net.csr  # noqa: B018
    from carecircle.core.travel import segment_index
    segment_index(net)  # built once per network, like reading it (bench_coverage's "index")
    cold = lambda: forget_snaps(net)  # noqa: E731
    r["coverage"], _ = median_of(lambda: measure_coverage(net, facilities, demand, communities,
                                                          thresholds_min=THRESHOLDS, walk_speed_mps=WALK_MPS),
                                 repeat, cold)
    r["access"], res = median_of(lambda: measure_accessibility(
        net, facilities, demand, communities, method="e2sfca", supply_col="capacity", thresholds_min=THRESHOLDS,
        band_weights=WEIGHTS, catchment_min=THRESHOLDS[-1], walk_speed_mps=WALK_MPS), repeat, cold)
    ours = res.demand["access"].to_numpy()
    r["max_rel_diff"] = float(np.max(np.abs(ours - ref) / np.maximum(np.abs(ref), 1e-12)))
    r["equal"] = bool(np.allclose(ours, ref, rtol=1e-9, atol=1e-9))
    r["mean"], r["gini"] = res.summary["mean"], res.summary["gini"]
    r["maxrss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if not r["equal"]:
        raise SystemExit(f"{name}: accessibility differs from the reference (max relative difference "
                         f"{r['max_rel_diff']:.2e})")
    return r


def markdown(results: list[dict], load: str) -> str:
    m = machine()
    lines = [f"Machine: {m['cpus']} vCPUs, {m['cpu']}, {m['ram']}; Python {m['python']}, numpy {m['numpy']}, "
             f"scipy {m['scipy']}, shapely {m['shapely']}. Load average at start: {load}.", "",
             "| grid | nodes | facilities | demand | coverage | accessibility (e2sfca) | access / coverage | "
             "ref. (chunked Dijkstra + numpy) | ref. prep | access / ref. | equal (max rel. diff) | mean per 1,000 "
             "| Gini | peak RSS |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|"]
    for r in results:
        lines.append(
            f"| {r['size']} | {r['nodes']:,} | {r['facilities']:,} | {r['demand']:,} | {fmt_s(r['coverage'])} | "
            f"{fmt_s(r['access'])} | {r['access'] / r['coverage']:.1f}× | {fmt_s(r['ref'])} | {fmt_s(r['ref_prep'])} "
            f"| {r['access'] / r['ref']:.2f}× | {'yes' if r['equal'] else 'NO'} ({r['max_rel_diff']:.1e}) | "
            f"{r['mean']:.1f} | {r['gini']:.3f} | {r['maxrss_mb']:.0f} MB |")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", nargs="+", default=["100k", "400k"], choices=sorted(SIZES))
    p.add_argument("--repeat", type=int, default=3, help="runs per step; the median is reported")
    p.add_argument("--seed", type=int, default=2026)
    p.add_argument("--quick", action="store_true", help="smoke run: 10k nodes, one repeat")
    p.add_argument("--json", type=Path, help="also write the raw figures to this JSON file")
    p.add_argument("--child", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.quick:
        args.sizes, args.repeat = ["10k"], 1
    if args.child is not None:
        print(json.dumps(run_size(args.child, repeat=args.repeat, seed=args.seed)))
        return 0
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    results = []
    for size in args.sizes:
        print(f"… {size} nodes", file=sys.stderr, flush=True)
        out = subprocess.run([sys.executable, __file__, "--child", size, "--repeat", str(args.repeat),
                              "--seed", str(args.seed)], check=True, stdout=subprocess.PIPE, text=True)
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    if args.json:
        args.json.write_text(json.dumps({"machine": machine(), "load": load, "results": results}, indent=2))
    print(markdown(results, load))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
