"""Time the isochrone step on generated street grids, optionally against another version of it, shapes compared.

Usage::

    python benchmarks/bench_isochrones.py                                 # 100k and 400k nodes, medians of 3
    python benchmarks/bench_isochrones.py --sizes 400k --facilities 300 --per-facility
    git show 88bbd49:carecircle/core/isochrones.py > /tmp/old_isochrones.py
    python benchmarks/bench_isochrones.py --against /tmp/old_isochrones.py   # old and new alternating

The grids, facilities and seeds are ``bench_coverage.py``'s (``SIZES``; ``--facilities`` overrides the count).
Each size runs ``isochrones(..., thresholds_min=(5, 10, 15))`` merged only, or merged and per facility with
``--per-facility`` (as ``carecircle run`` draws them for up to 300 facilities). With ``--against FILE``, that
file (another version of ``carecircle/core/isochrones.py``, imported beside the installed one) runs alternately
with the current code in the same process, and every polygon of the two is compared with ``geometry.equals``;
the script stops if any differs. Wall and CPU seconds are medians of ``--repeat`` runs.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import bench_coverage as grids  # noqa: E402  (the grid generator of the coverage benchmark)


def load_version(path: Path):
    spec = importlib.util.spec_from_file_location("isochrones_against", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def timed(fn):
    wall, cpu = time.perf_counter(), os.times()
    out = fn()
    end = os.times()
    return time.perf_counter() - wall, (end.user - cpu.user) + (end.system - cpu.system), out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", nargs="+", default=["100k", "400k"], choices=sorted(grids.SIZES))
    p.add_argument("--facilities", type=int, help="facilities per grid (default: bench_coverage's)")
    p.add_argument("--per-facility", action="store_true", help="also draw one polygon per facility and threshold")
    p.add_argument("--against", type=Path, help="another version of carecircle/core/isochrones.py to compare")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--seed", type=int, default=2026)
    args = p.parse_args(argv)

    from carecircle.core import isochrones as current

    versions = {"current": current}
    if args.against is not None:
        versions = {"against": load_version(args.against), **versions}
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}; per facility: {args.per_facility}")
    print("| grid | facilities | version | wall | CPU | polygons | equal |")
    print("|---|---:|---|---:|---:|---:|---|")
    for size in args.sizes:
        n_nodes, n_fac, _ = grids.SIZES[size]
        n_fac = args.facilities or n_fac
        xy, u, v = grids.grid_arrays(n_nodes, seed=args.seed, jitter_m=10.0, drop_frac=0.03)
        net = grids.build_network(xy, u, v, f"grid {n_nodes}")
        facilities, *_ = grids.study_inputs(net, seed=args.seed, n_facilities=n_fac, n_demand=100)
        runs = {name: [] for name in versions}
        drawn = {}
        for _ in range(args.repeat):
            for name, module in versions.items():
                wall, cpu, out = timed(lambda m=module, net=net, fac=facilities: m.isochrones(
                    net, fac, thresholds_min=(5, 10, 15), walk_speed_mps=grids.WALK_MPS,
                    per_facility=args.per_facility))
                runs[name].append((wall, cpu))
                drawn[name] = out
        equal = "–"
        if len(drawn) == 2:
            a, b = drawn["against"], drawn["current"]
            same_rows = len(a) == len(b) and np.array_equal(a["minutes"].to_numpy(), b["minutes"].to_numpy())
            same = same_rows and all(x.equals(y) for x, y in zip(a.geometry, b.geometry, strict=True))
            if not same:
                raise SystemExit(f"{size}: the two versions draw different polygons")
            equal = "yes"
        for name, times in runs.items():
            wall = statistics.median(t[0] for t in times)
            cpu = statistics.median(t[1] for t in times)
            print(f"| {size} | {n_fac} | {name} | {wall:.2f} s | {cpu:.2f} s | {len(drawn[name])} | {equal} |",
                  flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
