"""Time the older-pedestrian walking model against the plain one on the same generated city.

Usage::

    python benchmarks/bench_walk_model.py                    # 100k and 400k nodes, medians of 3
    python benchmarks/bench_walk_model.py --quick            # 10k nodes, one repeat

Issue 12: "the older model's coverage step at 100k/400k nodes as a ratio to the plain model (goal ≤ 1.5×); DEM
sampling for a 400k-node network in seconds, not minutes". The grid, facilities and demand are
``bench_coverage.py``'s (seed 2026). The grid gets what an OSM city has: every tenth street is a major road, 2% of
the other segments are stairs (``step_count`` untagged), the nodes where minor streets meet a major road are
crossings (a third signalised, a third zebra, a third unmarked), 0.5% of nodes are closed gates, and a synthetic
DEM (a 30 m GeoTIFF, two hills of 40 and 25 m) gives slopes.

Columns: ``apply`` = ``apply_walk_model`` (tags to costs; with the DEM: reading it and sampling every node);
``coverage`` = ``measure_coverage`` from an empty snap cache on the plain network and on the older one; the ratio;
covered population at 15 minutes under each; every figure a median of ``--repeat`` runs in one child process per
size.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from affine import Affine

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from bench_coverage import (  # noqa: E402
    CRS,
    SIZES,
    THRESHOLDS,
    WALK_MPS,
    build_network,
    fmt_s,
    forget_snaps,
    grid_arrays,
    machine,
    median_of,
    study_inputs,
)


def north_up(west: float, north: float, dx: float, dy: float):
    """A north-up raster transform (rasterio's from_origin without its deprecated Affine product)."""
    return Affine(dx, 0.0, west, 0.0, -dy, north)


def tagged(net, seed: int):
    """The network with OSM-like tags: major roads every tenth grid line, stairs, crossings, gates."""
    from carecircle.core.osm_tags import CROSSING_MARKED, CROSSING_SIGNALS, CROSSING_UNMARKED, EDGE_MAJOR, EDGE_STEPS

    rng = np.random.default_rng(seed + 3)
    a, b = net.node_xy[net.edge_u], net.node_xy[net.edge_v]
    horizontal = np.abs(a[:, 1] - b[:, 1]) < np.abs(a[:, 0] - b[:, 0])
    line = np.where(horizontal, np.rint((a[:, 1] - a[:, 1].min()) / 100), np.rint((a[:, 0] - a[:, 0].min()) / 100))
    kind = np.where(line % 10 == 0, EDGE_MAJOR, 0).astype(np.int8)
    kind[(kind == 0) & (rng.random(net.n_edges) < 0.02)] = EDGE_STEPS
    crossing = rng.choice([CROSSING_SIGNALS, CROSSING_MARKED, CROSSING_UNMARKED], size=net.n_nodes).astype(np.int8)
    blocked = rng.random(net.n_nodes) < 0.005
    return dataclasses.replace(net, edge_kind=kind, edge_steps=np.full(net.n_edges, np.nan),
                               node_crossing=crossing, node_blocked=blocked)


def write_dem(net, path: Path) -> Path:
    import rasterio

    lo, hi = net.node_xy.min(axis=0) - 100, net.node_xy.max(axis=0) + 100
    cols, rows = int((hi[0] - lo[0]) // 30) + 1, int((hi[1] - lo[1]) // 30) + 1
    x = lo[0] + 30 * (np.arange(cols) + 0.5)
    y = hi[1] - 30 * (np.arange(rows) + 0.5)
    gx, gy = np.meshgrid(x, y)
    c1, c2 = lo + (hi - lo) * 0.3, lo + (hi - lo) * 0.7
    z = 40 * np.exp(-((gx - c1[0]) ** 2 + (gy - c1[1]) ** 2) / (2 * 2000.0**2)) \
        + 25 * np.exp(-((gx - c2[0]) ** 2 + (gy - c2[1]) ** 2) / (2 * 1500.0**2))
    with rasterio.open(path, "w", driver="GTiff", width=cols, height=rows, count=1, dtype="float32", crs=CRS,
                       transform=north_up(lo[0], hi[1], 30, 30)) as dst:
        dst.write(z.astype("float32")[None])
    return path


def run_size(name: str, *, repeat: int, seed: int) -> dict:
    from carecircle.core.coverage import measure_coverage
    from carecircle.core.travel import segment_index
    from carecircle.core.walk_model import WalkModel, apply_walk_model

    n_nodes, n_fac, n_dem = SIZES[name]
    xy, u, v = grid_arrays(n_nodes, seed=seed, jitter_m=10.0, drop_frac=0.03)
    net = tagged(build_network(xy, u, v, f"grid {n_nodes}"), seed)
    facilities, demand, communities, _, _ = study_inputs(net, seed=seed, n_facilities=n_fac, n_demand=n_dem)
    r: dict = {"size": name, "nodes": net.n_nodes, "facilities": n_fac, "demand": n_dem}
    with tempfile.TemporaryDirectory() as tmp:
        dem = write_dem(net, Path(tmp) / "dem.tif")
        r["apply"], older = median_of(lambda: apply_walk_model(net, WalkModel(name="older"), WALK_MPS), repeat)
        r["apply_dem"], hilly = median_of(
            lambda: apply_walk_model(net, WalkModel(name="older", dem=dem), WALK_MPS), repeat)
    results = {}
    for label, walk in (("plain", net), ("older", older), ("older_dem", hilly)):
        walk.csr  # noqa: B018 - built once per network, like reading it
        segment_index(walk)
        r[f"coverage_{label}"], cov = median_of(
            lambda w=walk: measure_coverage(w, facilities, demand, communities, thresholds_min=THRESHOLDS,
                                            walk_speed_mps=WALK_MPS), repeat, lambda w=walk: forget_snaps(w))
        results[label] = cov
        r[f"covered_{label}"] = cov.summary["covered"]["15"]
    r["ratio"] = r["coverage_older"] / r["coverage_plain"]
    r["ratio_dem"] = r["coverage_older_dem"] / r["coverage_plain"]
    r["closed_segments"] = net.n_edges - older.n_edges
    r["maxrss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return r


def markdown(results: list[dict], load: str) -> str:
    m = machine()
    lines = [f"Machine: {m['cpus']} vCPUs, {m['cpu']}, {m['ram']}; Python {m['python']}, numpy {m['numpy']}, "
             f"scipy {m['scipy']}. Load average at start: {load}.", "",
             "| grid | nodes | apply (tags) | apply (tags + DEM) | coverage plain | coverage older | older / plain | "
             "coverage older + DEM | / plain | covered 15 min: plain / older / older + DEM | closed segments | "
             "peak RSS |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|"]
    for r in results:
        lines.append(
            f"| {r['size']} | {r['nodes']:,} | {fmt_s(r['apply'])} | {fmt_s(r['apply_dem'])} | "
            f"{fmt_s(r['coverage_plain'])} | {fmt_s(r['coverage_older'])} | {r['ratio']:.2f}× | "
            f"{fmt_s(r['coverage_older_dem'])} | {r['ratio_dem']:.2f}× | {r['covered_plain']:,.0f} / "
            f"{r['covered_older']:,.0f} / {r['covered_older_dem']:,.0f} | {r['closed_segments']:,} | "
            f"{r['maxrss_mb']:.0f} MB |")
    return "\n".join(lines)


def main(argv=None) -> int:
    import os

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", nargs="+", default=["100k", "400k"], choices=sorted(SIZES))
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--seed", type=int, default=2026)
    p.add_argument("--quick", action="store_true", help="smoke run: 10k nodes, one repeat")
    p.add_argument("--json", type=Path)
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
        t0 = time.perf_counter()
        out = subprocess.run([sys.executable, __file__, "--child", size, "--repeat", str(args.repeat),
                              "--seed", str(args.seed)], check=True, stdout=subprocess.PIPE, text=True)
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
        print(f"  {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    if args.json:
        args.json.write_text(json.dumps({"machine": machine(), "load": load, "results": results}, indent=2))
    print(markdown(results, load))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
