"""Time site suggestion (coverage matrix, MCLP, coverage curve) on generated street grids.

Usage::

    python benchmarks/bench_siting.py           # full: 100k/400k nodes × 10k/50k demand × 300/2,000 candidates
    python benchmarks/bench_siting.py --quick   # small smoke run
    python benchmarks/bench_siting.py --sizes 100000 --demand 10000 --candidates 300 --repeat 1
    python benchmarks/bench_siting.py --spopt /path/to/python   # also time PySAL spopt's MCLP (see below)
    python benchmarks/bench_siting.py --hard    # the harder instances: clustered demand, random 1% matrix

The grids, the network build and the random points come from ``bench_coverage.py`` (same generator, seed 2026).
Each instance (nodes × demand points × candidates) runs in a fresh child process, so its peak RSS is its own.
150 existing facilities and the demand points (population 1–199 each) lie at seeded random places along random
streets, up to 40 m off them; candidates lie at seeded random points on the streets. Walking speed 1 m/s, so the
15-minute threshold is 900 m.

Timed steps:

- ``matrix``: the sparse candidate × demand coverage matrix, as ``siting.suggest_sites`` builds it:
  ``snap_points`` for the candidates and the demand (no snap remembered), then
  ``source_demand_distances(limit_m=900)`` (median of ``--repeat``; the network's segment index is built once
  beforehand, as in a session, and timed on its own); beside it the **previous build** (issue 10: chunks of
  bounded Dijkstras on the whole network, as ``source_demand_distances`` did before), and whether the two
  matrices are the same entry for entry (indices and float values);
  its nonzeros and the tracemalloc peak of one build;
- ``mclp``: ``maximal_covering(cover, w, N, covered0=..., time_limit_s=30)`` for each N, with ``covered0`` the
  demand within 15 minutes of the existing facilities (one ``travel_times`` run); run once (it is deterministic
  and its time limit dominates), reporting time, method, status and proven gap;
- ``curve``: ``coverage_curve(cover, w, 40, covered0=...)`` (median of ``--repeat``).

``--hard`` runs two harder MCLP / set-cover instances instead (each in its own child process):

- ``clustered``: a 14,400-node grid (12 × 12 km, 100 m blocks); 90% of 50,000 demand points in 60 residential
  clusters (Gaussian, 150–500 m spread, Pareto-distributed sizes), 10% scattered; candidates on a regular
  44 × 44 grid (~270 m apart) snapped to the network; existing facilities at ~30% of the cluster centres.
  Coverage by ``source_demand_distances`` (900 m), so about 1% of candidate × demand pairs are covered and
  neighbouring candidates overlap heavily: the realistic case.
- ``random``: a uniformly random 2,000 × 50,000 cover matrix with 1% density (no geography, nothing to
  aggregate), 20% of demand already covered: a stress test with a large LP gap.

Each runs ``maximal_covering`` for N = 10, 40 and ``set_covering`` to 90% (clustered) or 50% (random) share.

``--spopt PYTHON`` runs PySAL spopt's ``MCLP.from_cost_matrix(...).solve(PULP_CBC_CMD)`` on one instance
(``--spopt-instance``, default 100k nodes / 10k demand / 300 candidates) with the interpreter ``PYTHON`` (a
separate environment with ``spopt`` installed; it is no project dependency), under a hard wall-time limit
(``--spopt-timeout``, default 300 s for all N together). spopt takes a dense demand × candidate cost matrix; it
gets the same coverage (distance ≤ 900 m, from ``source_demand_distances``) and only the demand points not
already covered by the existing facilities, which is the same MCLP.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
for _p in (HERE, HERE.parent):
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))

from bench_coverage import (  # noqa: E402
    build_network,
    fmt_s,
    forget_snaps,
    grid_arrays,
    machine,
    median_of,
    points_near_streets,
)

WALK_MPS = 1.0
MINUTES = 15.0
LIMIT_M = MINUTES * 60.0 * WALK_MPS
N_FACILITIES = 150


def instance(n_nodes: int, n_demand: int, n_cand: int, *, seed: int):
    """Network, existing facility / demand / candidate coordinates and demand weights of one instance."""
    xy, u, v = grid_arrays(n_nodes, seed=seed, jitter_m=10.0, drop_frac=0.03)
    net = build_network(xy, u, v, f"grid {n_nodes} seed {seed}")
    rng = np.random.default_rng(seed + 1)
    fac_xy = points_near_streets(net, N_FACILITIES, rng)
    dem_xy = points_near_streets(net, n_demand, rng)
    w = rng.integers(1, 200, size=n_demand).astype(float)
    cand_xy = points_near_streets(net, n_cand, np.random.default_rng(seed + 2), max_off_m=0.0)
    return net, fac_xy, dem_xy, w, cand_xy


def previous_distances(net, c_snap, d_snap, limit_m: float, chunk_cells: float = 4e7):
    """The matrix as ``source_demand_distances`` built it before issue 10: chunks of bounded Dijkstras on the
    whole network (a dense chunk × nodes block each), kept here to check the new build gives the same matrix."""
    from scipy.sparse.csgraph import dijkstra

    from carecircle.core.travel import _min_duplicates, _same_segment_pairs, _with_sources

    n, k = net.n_nodes, len(d_snap.ok)
    src, dem = np.flatnonzero(c_snap.ok), np.flatnonzero(d_snap.ok)
    e, along, off = d_snap.edge[dem], d_snap.along_m[dem], d_snap.offset_m[dem]
    u, v, rest = net.edge_u[e], net.edge_v[e], net.edge_length_m[e] - along
    step = max(1, int(chunk_cells // max(n, 1)))
    rows, cols, vals = [], [], []
    for start in range(0, len(src), step):
        idx = src[start:start + step]
        dist = dijkstra(_with_sources(net, c_snap, idx), indices=n + np.arange(len(idx)), limit=limit_m)
        best = np.minimum(dist[:, u] + along, dist[:, v] + rest) + off
        r, c = np.nonzero(best <= limit_m)
        rows.append(idx[r])
        cols.append(dem[c])
        vals.append(best[r, c])
    d_pos, s_pos = _same_segment_pairs(e, c_snap.edge[src])
    direct = np.abs(along[d_pos] - c_snap.along_m[src[s_pos]]) + off[d_pos] + c_snap.offset_m[src[s_pos]]
    near = direct <= limit_m
    rows.append(src[s_pos[near]])
    cols.append(dem[d_pos[near]])
    vals.append(direct[near])
    r, c, x = (np.concatenate(a) for a in (rows, cols, vals))
    return _min_duplicates(r.astype(np.int64), c.astype(np.int64), x, (len(c_snap.ok), k))


def coverage_matrix(net, cand_xy, dem_xy, *, forget: bool = False):
    from carecircle.core.travel import snap_points, source_demand_distances

    if forget:
        forget_snaps(net)
    t0 = time.perf_counter()
    c_snap = snap_points(net, cand_xy)
    d_snap = snap_points(net, dem_xy)
    t1 = time.perf_counter()
    dist = source_demand_distances(net, c_snap, d_snap, limit_m=LIMIT_M)
    t2 = time.perf_counter()
    cover = dist.copy()
    cover.data = np.ones_like(cover.data)
    return cover, t1 - t0, t2 - t1, dist


def run_instance(n_nodes: int, n_demand: int, n_cand: int, *, repeat: int, seed: int, sites: list[int],
                 curve_sites: int, time_limit: float, dump: Path | None) -> dict:
    from carecircle.core.travel import travel_times
    from carecircle.plan.optimize import coverage_curve, maximal_covering

    r: dict = {"target_nodes": n_nodes, "demand": n_demand, "candidates": n_cand}
    net, fac_xy, dem_xy, w, cand_xy = instance(n_nodes, n_demand, n_cand, seed=seed)
    r["nodes"], r["segments"] = net.n_nodes, net.n_edges
    from carecircle.core.travel import segment_index

    t0 = time.perf_counter()
    segment_index(net)  # built once, kept on the network and reused by every later step, as in a session
    r["tree"] = time.perf_counter() - t0

    runs = [coverage_matrix(net, cand_xy, dem_xy, forget=True) for _ in range(repeat)]
    cover, dist = runs[-1][0], runs[-1][3]
    r["snap"] = statistics.median(x[1] for x in runs)
    r["distances"] = statistics.median(x[2] for x in runs)
    r["matrix"] = statistics.median(x[1] + x[2] for x in runs)
    # The build before issue 10 (whole-network chunks), timed and compared entry for entry.
    from carecircle.core.travel import snap_points

    c_snap, d_snap = snap_points(net, cand_xy), snap_points(net, dem_xy)
    r["previous"], old = median_of(lambda: previous_distances(net, c_snap, d_snap, LIMIT_M), repeat)
    r["same_as_previous"] = bool(np.array_equal(old.indptr, dist.indptr) and np.array_equal(old.indices, dist.indices)
                                 and np.array_equal(old.data, dist.data))
    del old
    r["nnz"] = int(cover.nnz)
    r["dense_mb"] = n_cand * n_demand * 8 / 2**20
    del runs
    tracemalloc.start()
    coverage_matrix(net, cand_xy, dem_xy)
    r["matrix_peak_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()

    tt = travel_times(net, fac_xy, dem_xy, walk_speed_mps=WALK_MPS, max_minutes=MINUTES)
    covered0 = tt.minutes <= MINUTES + 1e-9
    r["share0"] = float(w[covered0].sum() / w.sum())
    reach = np.diff(cover.tocsc().indptr) > 0
    r["open_demand"] = int((reach & ~covered0).sum())  # reachable by some candidate and not yet covered

    r["mclp"] = []
    for p in sites:
        sol = maximal_covering(cover, w, p, covered0=covered0, time_limit_s=time_limit)
        r["mclp"].append({"p": p, "time": sol.time_s, "method": sol.method, "status": sol.status, "gap": sol.gap,
                          "objective": sol.objective, "bound": sol.bound, "share": sol.share,
                          "chosen": [int(i) for i in sol.chosen]})
    r["curve"], curve = median_of(lambda: coverage_curve(cover, w, curve_sites, covered0=covered0), repeat)
    r["curve_sites"] = int(curve.sites[-1])
    r["curve_share"] = float(curve.share[-1])
    r["maxrss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if dump is not None:  # the instance for the spopt child
        np.savez(dump, indptr=cover.indptr, indices=cover.indices, shape=np.array(cover.shape), w=w,
                 covered0=covered0)
    return r


# ------------------------------------------------------------------------------------------ hard instances


def clustered_instance(*, seed: int, n_nodes: int = 14_400, n_demand: int = 50_000, n_cand: int = 2_000,
                       n_clusters: int = 60):
    """Cover matrix, weights and existing coverage of the clustered-demand instance (see the module docstring)."""
    from carecircle.core.travel import snap_points, source_demand_distances, travel_times

    xy, u, v = grid_arrays(n_nodes, seed=seed, jitter_m=10.0, drop_frac=0.03)
    net = build_network(xy, u, v, f"clustered grid {n_nodes} seed {seed}")
    rng = np.random.default_rng(seed + 1)
    lo, hi = net.node_xy.min(0), net.node_xy.max(0)
    centres = lo + rng.random((n_clusters, 2)) * (hi - lo)
    size = rng.pareto(1.5, n_clusters) + 1.0
    k = rng.multinomial(int(n_demand * 0.9), size / size.sum())
    radius = rng.uniform(150.0, 500.0, n_clusters)
    pts = np.concatenate([c + rng.normal(0.0, r, (kk, 2)) for c, r, kk in zip(centres, radius, k, strict=True)]
                         + [lo + rng.random((n_demand - int(k.sum()), 2)) * (hi - lo)])
    pts = np.clip(pts, lo, hi)
    w = rng.integers(1, 200, size=n_demand).astype(float)
    side = int(np.sqrt(n_cand))
    gx = np.linspace(lo[0], hi[0], side + 2)[1:-1]
    gy = np.linspace(lo[1], hi[1], side + 2)[1:-1]
    cand = np.stack(np.meshgrid(gx, gy), -1).reshape(-1, 2)
    dist = source_demand_distances(net, snap_points(net, cand), snap_points(net, pts), limit_m=LIMIT_M)
    cover = dist.copy()
    cover.data = np.ones_like(cover.data)
    fac = centres[rng.random(n_clusters) < 0.3]
    covered0 = travel_times(net, fac, pts, walk_speed_mps=WALK_MPS, max_minutes=MINUTES).minutes <= MINUTES + 1e-9
    return cover, w, covered0


def random_instance(*, seed: int, n_cand: int = 2_000, n_demand: int = 50_000, density: float = 0.01):
    import scipy.sparse as sp

    rng = np.random.default_rng(seed)
    cover = sp.random_array((n_cand, n_demand), density=density, rng=rng, format="csr")
    cover.data[:] = 1.0
    return cover, rng.integers(1, 200, size=n_demand).astype(float), rng.random(n_demand) < 0.2


def run_hard(kind: str, *, seed: int, sites: list[int], time_limit: float) -> dict:
    from carecircle.plan.optimize import maximal_covering, set_covering

    t0 = time.perf_counter()
    cover, w, covered0 = clustered_instance(seed=seed) if kind == "clustered" else random_instance(seed=seed)
    r = {"kind": kind, "build": time.perf_counter() - t0, "shape": list(cover.shape), "nnz": int(cover.nnz),
         "share0": float(w[covered0].sum() / w.sum()), "runs": []}
    for p in sites:
        t0 = time.perf_counter()
        sol = maximal_covering(cover, w, p, covered0=covered0, time_limit_s=time_limit)
        r["runs"].append({"what": f"MCLP N={p}", "wall": time.perf_counter() - t0, "method": sol.method,
                          "status": sol.status, "gap": sol.gap, "objective": sol.objective, "bound": sol.bound,
                          "share": sol.share})
    target = 0.9 if kind == "clustered" else 0.5
    t0 = time.perf_counter()
    sol = set_covering(cover, w, target, covered0=covered0, time_limit_s=time_limit)
    r["runs"].append({"what": f"set cover {target:.0%}", "wall": time.perf_counter() - t0, "method": sol.method,
                      "status": sol.status, "gap": sol.gap, "objective": sol.objective, "bound": sol.bound,
                      "share": sol.share})
    return r


def hard_markdown(results: list[dict], time_limit: float) -> str:
    lines = [f"time_limit_s={time_limit:g}; wall = measured around the call.", "",
             "| instance | matrix | nnz | covered before | request | wall | method | status | gap | objective "
             "| bound | share after |",
             "|---|---:|---:|---:|---|---:|---|---|---:|---:|---:|---:|"]
    for r in results:
        for s in r["runs"]:
            lines.append(f"| {r['kind']} | {r['shape'][0]:,} × {r['shape'][1]:,} | {r['nnz']:,} | {r['share0']:.1%} "
                         f"| {s['what']} | {fmt_s(s['wall'])} | {s['method']} | {s['status']} | {s['gap']:.2%} "
                         f"| {s['objective']:,.0f} | {s['bound']:,.1f} | {s['share']:.1%} |")
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------------ spopt


def spopt_child(path: Path, sites: list[int]) -> None:
    """Solve the dumped instance with spopt's MCLP; print one JSON line per N (flushed, so a timeout keeps some)."""
    import pulp
    import scipy.sparse as sp
    import spopt
    from spopt.locate import MCLP

    d = np.load(path)
    cover = sp.csr_array((np.ones(len(d["indices"])), d["indices"], d["indptr"]), shape=tuple(d["shape"]))
    open_ = ~d["covered0"]
    # spopt wants a dense clients × facilities cost matrix; 0 where covered, 1 (> radius 0.5) where not.
    cost = np.where(cover[:, open_].T.toarray() > 0, 0.0, 1.0)
    weights = d["w"][open_]
    print(json.dumps({"versions": {"spopt": spopt.__version__, "pulp": pulp.__version__},
                      "clients": int(cost.shape[0]), "facilities": int(cost.shape[1])}), flush=True)
    for p in sites:
        t0 = time.perf_counter()
        model = MCLP.from_cost_matrix(cost, weights, service_radius=0.5, p_facilities=p)
        t1 = time.perf_counter()
        model = model.solve(pulp.PULP_CBC_CMD(msg=False))
        t2 = time.perf_counter()
        chosen = [j for j in range(cost.shape[1]) if model.fac_vars[j].value() > 0.5]
        print(json.dumps({"p": p, "build": t1 - t0, "solve": t2 - t1, "time": t2 - t0,
                          "status": pulp.LpStatus[model.problem.status],
                          "objective": float(pulp.value(model.problem.objective)), "chosen": chosen}), flush=True)


def run_spopt(python: str, dump: Path, sites: list[int], timeout: float) -> dict:
    cmd = [python, __file__, "--spopt-child", str(dump), "--sites", *map(str, sites)]
    out: dict = {"python": python, "timeout": timeout, "runs": []}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    t0 = time.perf_counter()
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
        out["returncode"] = proc.returncode
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # the child and its CBC process
        stdout, stderr = proc.communicate()
        out["timed_out"] = True
    out["wall"] = time.perf_counter() - t0
    for line in stdout.splitlines():
        rec = json.loads(line)
        if "p" in rec:
            out["runs"].append(rec)
        else:
            out.update(rec)
    if out.get("returncode"):
        out["error"] = stderr.strip().splitlines()[-1] if stderr.strip() else f"exit code {out['returncode']}"
    return out


# --------------------------------------------------------------------------------------------- reporting


def markdown(results: list[dict], args, spopt: dict | None) -> str:
    m = machine()
    lines = [
        f"Machine: {m['cpus']} CPUs, {m['cpu']}, {m['ram']} RAM, {m['platform']}; Python {m['python']}, "
        f"numpy {m['numpy']}, scipy {m['scipy']}, shapely {m['shapely']}. Date {_dt.date.today().isoformat()}; "
        f"median of {args.repeat} for the matrix and the curve, MCLP run once with time_limit_s={args.time_limit:g}.",
        "",
        "Coverage matrix (candidate × demand, pairs within 900 m) and coverage curve:",
        "",
        "| nodes | demand | candidates | segment index (once) | snap (cand. + demand) | source_demand_distances "
        "| previous build (whole network) | same matrix | matrix build | nnz | dense would need "
        "| matrix peak traced | covered by 150 existing "
        f"| curve to {args.curve} sites | share at {args.curve} | peak RSS |",
        "|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r['nodes']:,} | {r['demand']:,} | {r['candidates']:,} | {fmt_s(r['tree'])} | {fmt_s(r['snap'])} "
            f"| {fmt_s(r['distances'])} | {fmt_s(r['previous'])} | {'yes' if r['same_as_previous'] else 'NO'} "
            f"| {fmt_s(r['matrix'])} | {r['nnz']:,} | {r['dense_mb']:.0f} MB "
            f"| {r['matrix_peak_mb']:.0f} MB | {r['share0']:.1%} | {fmt_s(r['curve'])} | {r['curve_share']:.1%} "
            f"| {r['maxrss_mb']:.0f} MB |")
    lines += [
        "",
        "maximal_covering (existing facilities fixed):",
        "",
        "| nodes | demand | candidates | N | time | method | status | gap | newly covered | upper bound "
        "| share after |",
        "|---:|---:|---:|---:|---:|---|---|---:|---:|---:|---:|",
    ]
    for r in results:
        for s in r["mclp"]:
            lines.append(
                f"| {r['nodes']:,} | {r['demand']:,} | {r['candidates']:,} | {s['p']} | {fmt_s(s['time'])} "
                f"| {s['method']} | {s['status']} | {s['gap']:.3%} | {s['objective']:,.0f} | {s['bound']:,.1f} "
                f"| {s['share']:.1%} |")
    if spopt is not None:
        lines += ["", f"PySAL spopt {spopt.get('versions', {}).get('spopt', '?')} (PuLP "
                  f"{spopt.get('versions', {}).get('pulp', '?')}, bundled CBC) on the same instance "
                  f"({spopt.get('clients', '?')} open demand points × {spopt.get('facilities', '?')} candidates), "
                  f"hard limit {spopt['timeout']:g} s for all N; wall {spopt['wall']:.1f} s"
                  + (" — TIMED OUT" if spopt.get("timed_out") else "")
                  + (f" — error: {spopt['error']}" if spopt.get("error") else "") + ":",
                  "",
                  "| N | spopt model build | spopt CBC solve | spopt total | spopt status | spopt newly covered "
                  "| carecircle time | carecircle newly covered |",
                  "|---:|---:|---:|---:|---|---:|---:|---:|"]
        theirs = {s["p"]: s for s in spopt["runs"]}
        for o in spopt["ours"]:
            s = theirs.get(o["p"])
            if s is None:
                lines.append(f"| {o['p']} | – | – | did not finish | – | – | {fmt_s(o['time'])} "
                             f"| {o['objective']:,.0f} |")
            else:
                lines.append(f"| {o['p']} | {fmt_s(s['build'])} | {fmt_s(s['solve'])} | {fmt_s(s['time'])} "
                             f"| {s['status']} | {s['objective']:,.0f} | {fmt_s(o['time'])} | {o['objective']:,.0f} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[100_000, 400_000], help="grid node counts")
    p.add_argument("--demand", type=int, nargs="+", default=[10_000, 50_000], help="demand point counts")
    p.add_argument("--candidates", type=int, nargs="+", default=[300, 2_000], help="candidate counts")
    p.add_argument("--sites", type=int, nargs="+", default=[10, 40], help="N for maximal_covering")
    p.add_argument("--curve", type=int, default=40, help="coverage curve length")
    p.add_argument("--time-limit", type=float, default=30.0, help="maximal_covering time_limit_s")
    p.add_argument("--repeat", type=int, default=3, help="runs of the matrix build and the curve; best reported")
    p.add_argument("--seed", type=int, default=2026)
    p.add_argument("--quick", action="store_true", help="smoke run: 10,000 nodes, 2,000 demand, 100 candidates")
    p.add_argument("--json", type=Path, help="also write the raw figures to this JSON file")
    p.add_argument("--spopt", metavar="PYTHON", nargs="?", const=sys.executable,
                   help="also time spopt's MCLP with this interpreter (default: this one)")
    p.add_argument("--spopt-instance", type=int, nargs=3, default=[100_000, 10_000, 300],
                   metavar=("NODES", "DEMAND", "CANDIDATES"))
    p.add_argument("--spopt-timeout", type=float, default=300.0, help="hard wall-time limit for spopt, seconds")
    p.add_argument("--hard", action="store_true", help="the clustered and random 1%% instances instead")
    p.add_argument("--hard-child", choices=["clustered", "random"], help=argparse.SUPPRESS)
    p.add_argument("--child", type=int, nargs=3, help=argparse.SUPPRESS)
    p.add_argument("--dump", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--spopt-child", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.quick:
        args.sizes, args.demand, args.candidates, args.repeat = [10_000], [2_000], [100], 1
        args.spopt_instance = [10_000, 2_000, 100]
    common = dict(repeat=args.repeat, seed=args.seed, sites=args.sites, curve_sites=args.curve,
                  time_limit=args.time_limit)
    if args.spopt_child is not None:
        spopt_child(args.spopt_child, args.sites)
        return 0
    if args.hard_child is not None:
        print(json.dumps(run_hard(args.hard_child, seed=args.seed, sites=args.sites, time_limit=args.time_limit)))
        return 0
    if args.hard:
        results = []
        for kind in ("clustered", "random"):
            print(f"… {kind}", file=sys.stderr, flush=True)
            cmd = [sys.executable, __file__, "--hard-child", kind, "--seed", str(args.seed), "--sites",
                   *map(str, args.sites), "--time-limit", str(args.time_limit)]
            out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True)
            results.append(json.loads(out.stdout.strip().splitlines()[-1]))
        if args.json:
            args.json.write_text(json.dumps({"machine": machine(), "results": results}, indent=2))
        print(hard_markdown(results, args.time_limit))
        return 0
    if args.child is not None:
        print(json.dumps(run_instance(*args.child, dump=args.dump, **common)))
        return 0

    tmp = Path(tempfile.mkdtemp(prefix="bench_siting_"))
    dump = tmp / "spopt_instance.npz"
    results = []
    for n in args.sizes:
        for k in args.demand:
            for c in args.candidates:
                print(f"… {n:,} nodes, {k:,} demand, {c:,} candidates", file=sys.stderr, flush=True)
                cmd = [sys.executable, __file__, "--child", str(n), str(k), str(c), "--repeat", str(args.repeat),
                       "--seed", str(args.seed), "--sites", *map(str, args.sites), "--curve", str(args.curve),
                       "--time-limit", str(args.time_limit)]
                if args.spopt and [n, k, c] == args.spopt_instance:
                    cmd += ["--dump", str(dump)]
                out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True)
                results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    spopt = None
    if args.spopt:
        if dump.exists():
            print(f"… spopt on {args.spopt_instance}", file=sys.stderr, flush=True)
            spopt = run_spopt(args.spopt, dump, args.sites, args.spopt_timeout)
            ours = next(r for r in results if [r["target_nodes"], r["demand"], r["candidates"]] == args.spopt_instance)
            spopt["ours"] = [{"p": s["p"], "time": s["time"], "objective": s["objective"]} for s in ours["mclp"]]
        else:
            print("spopt instance not among the instances run; skipped", file=sys.stderr)
    if args.json:
        args.json.write_text(json.dumps({"machine": machine(), "results": results, "spopt": spopt}, indent=2))
    print(markdown(results, args, spopt))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
