"""p-median: ``p`` new sites minimising total person-weighted walking time, existing facilities kept."""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from time import perf_counter

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike
from scipy.optimize import LinearConstraint

from carecircle.errors import InputError
from carecircle.plan.optimize import limits
from carecircle.plan.optimize._bounds import exact_status, milp_bound, rel_gap, subgradient
from carecircle.plan.optimize._milp import MilpStatus, run_milp
from carecircle.plan.optimize._model import MatrixLike, check_common, check_matrix, check_p, check_vector, rows_of
from carecircle.plan.optimize.solution import SitingSolution, SolverStatus

log = logging.getLogger(__name__)


def p_median(
    time: MatrixLike,
    w: ArrayLike,
    p: int,
    *,
    current: ArrayLike | None = None,
    unreachable_min: float | None = None,
    time_limit_s: float = 30.0,
    method: str = "auto",
    mip_rel_gap: float = 1e-4,
) -> SitingSolution:
    """p-median: ``p`` new sites minimising total person-weighted walking time (existing facilities kept).

    Parameters
    ----------
    time : sparse (n_candidates × n_demand) walking minutes; only pairs within the cut-off are stored
        (a stored 0 is a pair at 0 minutes; unstored pairs are out of reach).
    w : demand weights (persons ≥ 0).
    p : largest number of new sites.
    current : minutes from each demand point to its nearest existing facility (``inf`` if none); default all
        ``inf``.
    unreachable_min : minutes charged to a demand point that neither an existing nor a new site reaches;
        default twice the largest stored or finite current time (at least 1).
    time_limit_s, method, mip_rel_gap : as in :func:`maximal_covering` ("greedy+swap": greedy, then 1-swap).

    Returns
    -------
    SitingSolution with ``objective`` = total person-minutes (a lower ``bound``), ``gains`` = person-minutes
    saved by each site in greedy order, ``covered`` = persons with a finite walking time after.

    Raises
    ------
    InputError
        On a malformed matrix or vector, stored times that are not finite minutes >= 0, or ``p`` outside
        ``1..n_candidates``.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> T = sp.csr_array(np.array([[1.0, 9.0], [4.0, 4.0]]))
    >>> sol = p_median(T, np.array([1.0, 1.0]), 1, unreachable_min=30.0)
    >>> sol.chosen, sol.objective
    ((1,), 8.0)
    """
    t0 = perf_counter()
    check_common(time_limit_s, method, mip_rel_gap)
    deadline = t0 + float(time_limit_s)
    T = check_matrix(time, "time")
    n, m = T.shape
    T = sp.csr_array(T, dtype=np.float64)
    T.sort_indices()
    bad = np.flatnonzero(~np.isfinite(T.data) | (T.data < 0))
    if bad.size:
        raise InputError(f"time has {bad.size} stored values that are not finite minutes >= 0 "
                         f"(e.g. {T.data[bad[0]]:g}); store only reachable pairs")
    w = check_vector(w, m, "w", "demand points")
    p = check_p(p, n)
    cur = np.full(m, np.inf) if current is None else check_vector(current, m, "current", "demand points",
                                                                   allow_inf=True)
    if unreachable_min is None:
        finite = np.concatenate([T.data, cur[np.isfinite(cur)], [0.5]])
        unreachable_min = 2.0 * float(finite.max())
    elif not (isinstance(unreachable_min, int | float) and math.isfinite(unreachable_min) and unreachable_min >= 0):
        raise InputError(f"unreachable_min={unreachable_min!r} must be a finite number of minutes >= 0")
    c = np.where(np.isfinite(cur), cur, float(unreachable_min))
    total = float(w.sum())
    base_total = float(w @ c)
    # reduce: keep stored pairs that beat the current time, for demand with weight
    coo = sp.coo_array(T)
    keep = (coo.data < c[coo.col]) & (w[coo.col] > 0)
    rows, cols, tt = coo.row[keep], coo.col[keep], coo.data[keep]
    sav = w[cols] * (c[cols] - tt)  # person-minutes saved by each pair when it serves
    R = sp.csr_array((sav, (rows, cols)), shape=(n, m))  # savings matrix; entries > 0
    R.sort_indices()
    # greedy on savings (submodular)
    best = np.zeros(m)  # best saving per demand so far, in person-minutes
    row_of = np.repeat(np.arange(n), np.diff(R.indptr))
    chosen: list[int] = []
    value, bound = 0.0, math.inf

    def marginal(best_):
        return np.bincount(row_of, weights=np.maximum(R.data - best_[R.indices], 0.0), minlength=n)

    for _ in range(p + 1):
        gains = marginal(best)
        k = min(p, n)
        bound = min(bound, value + float(np.partition(gains, n - k)[n - k:].sum()))
        if len(chosen) >= p:
            break
        gains[chosen] = -math.inf
        s = int(np.argmax(gains))
        if not gains[s] > 0:
            break
        cs = R.indices[R.indptr[s]:R.indptr[s + 1]]
        best[cs] = np.maximum(best[cs], R.data[R.indptr[s]:R.indptr[s + 1]])
        value += float(gains[s])
        chosen.append(s)
    used = "greedy"
    if method != "greedy" and len(chosen) >= 1 and len(chosen) < n:
        chosen, _ = _pmedian_swap(R, chosen, deadline)
        value = _savings(R, chosen)
        used = "greedy+swap"
    status = "greedy: submodular bound"
    kind = SolverStatus.HEURISTIC
    res_status = None
    if method != "greedy" and R.nnz and value > 0:
        # Lagrangian bound (relaxing sum_i x_ij <= 1), started from the greedy savings per demand point
        dmax = np.zeros(m)
        np.maximum.at(dmax, R.indices, R.data)

        def evaluate(lam):
            d = R.data - lam[R.indices]
            r = np.bincount(row_of, weights=np.maximum(d, 0.0), minlength=n)

            def grad(top):
                pos, _ = rows_of(R.indptr, np.sort(top))
                hit = R.indices[pos][d[pos] > 0]
                return 1.0 - np.bincount(hit, minlength=m)

            return float(lam.sum()), r, grad

        lag_deadline = perf_counter() + 0.25 * max(deadline - perf_counter(), 0.0)
        lag = subgradient(evaluate, best.copy(), dmax, p, value, lag_deadline)
        bound = min(bound, max(lag.bound, value))
        status = "greedy: Lagrangian bound"
        if method in ("auto", "exact") and rel_gap(value, bound, True) <= mip_rel_gap:
            kind = SolverStatus.OPTIMAL_WITHIN_GAP  # the text keeps naming the bound
        if rel_gap(value, bound, True) > mip_rel_gap and method in ("auto", "exact"):
            kept = lag.keep(value, p)
            Rk = sp.csr_array(R[kept])
            if method == "exact" or Rk.nnz <= limits.PMEDIAN_EXACT_MAX_PAIRS:
                x_chosen, ub, res_status = _pmedian_milp(Rk, p, deadline - perf_counter(), mip_rel_gap)
                if np.isfinite(ub):
                    bound = min(bound, max(ub, value))
                if x_chosen is not None:
                    x_chosen = kept[x_chosen].tolist()
                    x_value = _savings(R, x_chosen)
                    if x_value >= value - 1e-9 * max(value, 1.0):
                        chosen, value, used = x_chosen, x_value, "exact"
            else:
                kind = SolverStatus.TOO_LARGE
                status = (f"greedy: Lagrangian bound; model too large for exact ({Rk.nnz:,} pairs after fixing "
                          f"{n - kept.size} candidates)")
    bound = max(bound, value)
    # greedy order among the chosen sites
    order: list[int] = []
    glist: list[float] = []
    best = np.zeros(m)
    pool = sorted(int(s) for s in chosen)
    while pool:
        sub = [_marginal_one(R, s, best) for s in pool]
        i = int(np.argmax(sub))
        if not sub[i] > 0:
            break
        s = pool.pop(i)
        cs = R.indices[R.indptr[s]:R.indptr[s + 1]]
        best[cs] = np.maximum(best[cs], R.data[R.indptr[s]:R.indptr[s + 1]])
        order.append(s)
        glist.append(float(sub[i]))
    saved = float(sum(glist))
    objective = base_total - saved
    lower = base_total - bound
    gap = rel_gap(objective, min(lower, objective), False)
    if res_status is not None or gap == 0:
        kind = exact_status(res_status, gap)
        status = kind.value
    reached = np.isfinite(cur)
    for s in order:
        reached[T.indices[T.indptr[s]:T.indptr[s + 1]]] = True
    sol = SitingSolution(chosen=tuple(order), gains=tuple(glist), covered=float(w[reached].sum()), total=total,
                         objective=objective, bound=float(min(lower, objective)), gap=float(gap), method=used,
                         status=status, time_s=perf_counter() - t0, status_kind=kind)
    log.info("p-median p=%d: %d sites save %.1f person-minutes (%s, %s, gap %.3g%%, %.2fs)", p, len(order),
             saved, sol.method, sol.status, 100 * sol.gap, sol.time_s)
    return sol


def _pmedian_swap(R: sp.csr_array, chosen: list[int], deadline: float | None,
                  max_passes: int = 10_000) -> tuple[list[int], int]:
    """1-swap local search for p-median on the savings matrix (best improving swap per pass).

    With ``b1_j``/``b2_j`` the best and second-best saving of demand ``j`` among the chosen sites and ``s1_j`` the
    site giving ``b1_j``, swapping ``s`` out and ``t`` in changes the savings by
    ``add(t) - loss(s) + sum_{j: s1_j = s} [(R_tj - b2_j)^+ - (R_tj - b1_j)^+]`` with
    ``add(t) = sum_j (R_tj - b1_j)^+`` and ``loss(s) = sum_{j: s1_j = s} (b1_j - b2_j)``.
    """
    n, m = R.shape
    Rc = sp.csc_array(R)
    Rc.sort_indices()
    row_of = np.repeat(np.arange(n), np.diff(R.indptr))
    chosen = list(chosen)
    tol = 1e-9 * max(float(R.data.sum()) if R.nnz else 0.0, 1.0)
    swaps = 0
    for _ in range(max_passes):
        if deadline is not None and perf_counter() > deadline:
            break
        b1, b2 = np.zeros(m), np.zeros(m)
        s1 = np.full(m, -1)
        for s in chosen:
            lo, hi = R.indptr[s], R.indptr[s + 1]
            j, x = R.indices[lo:hi], R.data[lo:hi]
            top = x > b1[j]
            b2[j] = np.where(top, b1[j], np.maximum(b2[j], x))
            b1[j] = np.where(top, x, b1[j])
            s1[j[top]] = s
        add = np.bincount(row_of, weights=np.maximum(R.data - b1[R.indices], 0.0), minlength=n)
        in_set = np.zeros(n, dtype=bool)
        in_set[chosen] = True
        best = (tol, -1, -1)
        for k, s in enumerate(chosen):
            js = np.flatnonzero(s1 == s)
            loss = float((b1[js] - b2[js]).sum())
            pos, own = rows_of(Rc.indptr, js)
            corr = np.maximum(Rc.data[pos] - b2[js][own], 0.0) - np.maximum(Rc.data[pos] - b1[js][own], 0.0)
            delta = add - loss + np.bincount(Rc.indices[pos], weights=corr, minlength=n)
            delta[in_set] = -math.inf
            t = int(np.argmax(delta))
            if delta[t] > best[0]:
                best = (float(delta[t]), k, t)
        if best[1] < 0:
            break
        chosen[best[1]] = best[2]
        swaps += 1
    return chosen, swaps


def _marginal_one(R: sp.csr_array, s: int, best: np.ndarray) -> float:
    """Person-minutes site ``s`` would add on top of the savings ``best`` per demand point."""
    lo, hi = R.indptr[s], R.indptr[s + 1]
    return float(np.maximum(R.data[lo:hi] - best[R.indices[lo:hi]], 0.0).sum())


def _savings(R: sp.csr_array, chosen: Iterable[int]) -> float:
    """Person-minutes the ``chosen`` sites save together."""
    best = np.zeros(R.shape[1])
    for s in chosen:
        lo, hi = R.indptr[s], R.indptr[s + 1]
        np.maximum.at(best, R.indices[lo:hi], R.data[lo:hi])
    return float(best.sum())


def _pmedian_milp(R: sp.csr_array, p: int, time_limit_s: float,
                  mip_rel_gap: float) -> tuple[list[int] | None, float, MilpStatus]:
    """Exact p-median on savings: y_i binary, x_e ∈ [0,1] per useful pair, Σ_i x_ij ≤ 1, x_e ≤ y_i."""
    m = R.shape[1]
    useful = np.flatnonzero(np.diff(R.indptr) > 0)
    if useful.size == 0:
        return [], 0.0, MilpStatus.OPTIMAL
    sub = sp.coo_array(R[useful])
    k, ne = useful.size, sub.nnz
    e = np.arange(ne)
    c = np.concatenate([np.zeros(k), -sub.data])
    integrality = np.concatenate([np.ones(k), np.zeros(ne)])
    dem = sp.hstack([sp.csr_array((m, k)), sp.csr_array((np.ones(ne), (sub.col, e)), shape=(m, ne))], format="csr")
    vub = sp.hstack([sp.csr_array((-np.ones(ne), (e, sub.row)), shape=(ne, k)), sp.eye_array(ne, format="csr")],
                    format="csr")
    card = sp.csr_array(np.concatenate([np.ones(k), np.zeros(ne)])[None, :])
    cons = [LinearConstraint(dem, -np.inf, 1.0), LinearConstraint(vub, -np.inf, 0.0),
            LinearConstraint(card, -np.inf, float(min(p, k)))]
    res = run_milp(c, integrality, cons, np.ones(k + ne), time_limit_s, mip_rel_gap,
                   child_min_nnz=limits.MILP_CHILD_MIN_NNZ)
    ub = milp_bound(res, -1.0)
    if res.x is None:
        return None, ub, res.status
    return useful[res.x[:k] > 0.5].tolist(), ub, res.status

