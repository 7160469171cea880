"""Batch runs: N generated regions of ~100k-node street grids, serially and on a LocalCluster, same files.

    python benchmarks/bench_batch.py                       # 20 regions × 100k nodes, 2 workers
    python benchmarks/bench_batch.py --regions 4 --nodes 10000   # a quick look

Each region is a square street grid with 100 m blocks written as OSM XML (so every region builds its own
network from a file, as a district extract would), 30 elder-care stations and 10 × 10 communities (demand at
their centroids; no isochrones: they only serve the map). The batch runs once with ``--executor serial`` and
once on a LocalCluster of ``--workers`` processes; the script prints wall time, the speed-up, the peak memory
of each worker process (from the manifest's ``peak_memory_mb``) and checks that both runs wrote the same
summary table.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from test_batch import DLAT, DLON, LAT0, LON0, write_region  # noqa: E402  (the tests' region generator)

from carecircle.batch import run_batch  # noqa: E402


def make_batch(folder: Path, regions: int, nodes: int) -> Path:
    side = max(int(math.sqrt(nodes)), 4)
    entries = []
    for r in range(regions):
        lon0 = LON0 + (r % 5) * (side + 2) * DLON
        lat0 = LAT0 + (r // 5) * (side + 2) * DLAT
        rng = [(int(side * (0.1 + 0.8 * ((k * 7919) % 97) / 97)), int(side * (0.1 + 0.8 * ((k * 104729) % 89) / 89)))
               for k in range(30)]
        files = write_region(folder, f"r{r:02d}", nx=side, ny=side, lon0=lon0, lat0=lat0, facilities=rng,
                             communities=10, pop=[100.0 + (k * 37) % 400 for k in range(100)])
        entries.append({"name": f"district-{r:02d}", "network": files["network"].name,
                        "facilities": files["facilities"].name, "communities": files["communities"].name})
    data = {"name": f"{regions} generated districts", "regions": entries,
            "defaults": {"inputs": {"demand_method": "centroid"}, "outputs": {"isochrones": False}}}
    path = folder / "batch.yaml"
    path.write_text(json.dumps(data, indent=1), encoding="utf-8")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--regions", type=int, default=20)
    parser.add_argument("--nodes", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--memory-limit", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-batch-") as tmp:
        folder = Path(tmp)
        t0 = time.perf_counter()
        path = make_batch(folder, args.regions, args.nodes)
        print(f"generated {args.regions} regions of ~{args.nodes:,} nodes in {time.perf_counter() - t0:.1f} s "
              f"({sum(p.stat().st_size for p in folder.glob('*.osm')) / 1e6:.0f} MB of OSM XML)")
        times, results = {}, {}
        for executor in ("serial", "dask"):
            t0 = time.perf_counter()
            results[executor] = run_batch([path], folder / executor, executor=executor, workers=args.workers,
                                          memory_limit=args.memory_limit, compare=False)
            times[executor] = time.perf_counter() - t0
            failed = results[executor].failed
            print(f"{executor:>6}: {times[executor]:6.1f} s for {len(results[executor].ran)} tasks"
                  + (f", {len(failed)} failed: {next(iter(failed.values()))}" if failed else ""))
        print(f"speed-up with {args.workers} workers: {times['serial'] / times['dask']:.2f}×")
        for executor, result in results.items():
            tasks = result.manifest["tasks"].values()
            by_worker: dict[str, float] = {}
            for t in tasks:
                peak = (t.get("timings") or {}).get("peak_memory_mb")
                if peak is not None:
                    by_worker[t["worker"]] = max(by_worker.get(t["worker"], 0.0), peak)
            seconds = sorted(t["timings"]["seconds"] for t in tasks)
            print(f"{executor:>6}: peak memory per process {', '.join(f'{v:,.0f} MB' for v in by_worker.values())}; "
                  f"per task {seconds[0]:.1f}–{seconds[-1]:.1f} s (median {seconds[len(seconds) // 2]:.1f} s)")
        a = (folder / "serial" / "summary.csv").read_bytes()
        b = (folder / "dask" / "summary.csv").read_bytes()
        print("summary.csv identical:", a == b)


if __name__ == "__main__":
    main()
