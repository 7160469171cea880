"""Maximal covering (MCLP): at most ``p`` new sites covering the most persons, with budget or capacities."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable
from time import perf_counter

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike
from scipy.optimize import LinearConstraint, linprog

from carecircle.plan.optimize import limits
from carecircle.plan.optimize._bounds import Lagrange, exact_status, lagrangian_mclp, mclp_lp_dual, milp_bound, rel_gap
from carecircle.plan.optimize._milp import MilpStatus, run_milp
from carecircle.plan.optimize._model import (
    MatrixLike,
    check_common,
    check_cost_budget,
    check_cover,
    check_covered0,
    check_p,
    check_vector,
    reduce_demand,
    rows_of,
)
from carecircle.plan.optimize._search import Greedy, LocalSearch, swap
from carecircle.plan.optimize.solution import SitingSolution, SolverStatus

log = logging.getLogger(__name__)


def maximal_covering(
    cover: MatrixLike,
    w: ArrayLike,
    p: int,
    *,
    covered0: ArrayLike | None = None,
    cost: ArrayLike | None = None,
    budget: float | None = None,
    capacity: ArrayLike | None = None,
    time_limit_s: float = 30.0,
    method: str = "auto",
    seed: int = 0,
    mip_rel_gap: float = 1e-4,
) -> SitingSolution:
    """Maximal covering (MCLP): at most ``p`` new sites (total cost ≤ ``budget``) covering the most persons.

    Parameters
    ----------
    cover : sparse (n_candidates × n_demand), nonzero where the candidate covers the demand point (within the
        walking threshold).
    w : demand weights (elderly persons, ≥ 0), one per demand point.
    p : largest number of new sites.
    covered0 : bool per demand point already covered by existing facilities (kept fixed).
    cost, budget : per-candidate cost and the total budget (same unit); ``budget`` needs ``cost``.
    capacity : per-candidate largest number of persons a site can serve (``inf`` = no limit); turns on the
        capacitated variant, where a demand point's persons may be split between sites.
    time_limit_s : wall-time limit for the whole call, seconds.
    method : "auto" (exact unless the reduced model is huge, then "greedy+swap"), "exact", "greedy",
        "greedy+swap".
    seed : seed of the iterated swap search that runs on large models while a child process solves the LP
        or MILP (a search not stopped by the clock gives the same sites every time).
    mip_rel_gap : relative gap at which HiGHS stops (0 = prove optimality).

    Returns
    -------
    SitingSolution with ``objective`` = persons newly covered (served) and ``bound`` an upper bound on it
    (persons); ``status_kind`` says whether it is proven optimal, stopped by the time limit or heuristic.

    Raises
    ------
    InputError
        On a malformed matrix or vector, ``p`` outside ``1..n_candidates``, or a budget without costs.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> cover = sp.csr_array(np.eye(3))
    >>> maximal_covering(cover, np.array([1.0, 3.0, 2.0]), 1).chosen
    (1,)
    """
    t0 = perf_counter()
    deadline = t0 + float(time_limit_s) if isinstance(time_limit_s, int | float) else None
    check_common(time_limit_s, method, mip_rel_gap)
    A0 = check_cover(cover)
    n, m0 = A0.shape
    w = check_vector(w, m0, "w", "demand points")
    p = check_p(p, n)
    covered0 = check_covered0(covered0, m0)
    cost, budget = check_cost_budget(cost, budget, n)
    if capacity is not None:
        capacity = check_vector(capacity, n, "capacity", "candidates", allow_inf=True)
    total = float(w.sum())
    base = float(w[covered0].sum())
    reach = np.diff(sp.csc_array(A0).indptr) > 0
    A, v = reduce_demand(A0, w, (~covered0) & (w > 0) & reach)
    if capacity is not None:
        return _mclp_capacitated(A, v, p, capacity, cost, budget, base, total, method, deadline, mip_rel_gap, t0)

    g = Greedy(A, v)
    chosen, _, value, bound = g.run(p, cost=cost, budget=budget, deadline=deadline)
    if budget is not None:  # ratio greedy can be fooled by one big expensive site: also try starting from it
        gains0 = A @ v
        afford = np.flatnonzero(cost <= budget)
        best1 = int(afford[np.argmax(gains0[afford])])
        alt, _, alt_value, alt_bound = g.run(p, cost=cost, budget=budget, start=(best1,), deadline=deadline)
        bound = min(bound, alt_bound)
        if alt_value > value + 1e-12 * max(value, 1.0):
            chosen, value = alt, alt_value
    used = "greedy"
    if method != "greedy" and chosen:
        chosen, _ = swap(A, g.Ac, v, chosen, cost=cost, budget=budget, deadline=deadline)
        used = "greedy+swap"
        value = g.value(chosen)
    status: str | None = "greedy: submodular bound"
    kind = SolverStatus.HEURISTIC
    res_status = None
    model_nnz = A.nnz
    if method != "greedy" and A.shape[1] and value > 0:
        # Lagrangian bound (relaxing z_j <= sum_i a_ij y_i): the LP bound in O(nnz) per step, no LP solve
        unc = np.ones(A.shape[1], dtype=bool)
        pos, _ = rows_of(A.indptr, np.asarray(chosen))
        unc[A.indices[pos]] = False
        lag_deadline = perf_counter() + 0.25 * max(deadline - perf_counter(), 0.0)
        lag = lagrangian_mclp(A, v, p, value, np.where(unc, v, 0.0), lag_deadline)
        bound = min(bound, max(lag.bound, value))
        status = "greedy+swap: Lagrangian bound"
        gap = rel_gap(value, bound, True)
        if gap <= mip_rel_gap:
            kind = SolverStatus.OPTIMAL if gap == 0 else SolverStatus.OPTIMAL_WITHIN_GAP
            status = kind.value
        elif method in ("auto", "exact"):
            ils = None
            if A.nnz >= limits.MILP_CHILD_MIN_NNZ:  # large: the parent searches while a child solves
                ils = LocalSearch(g, chosen, p, cost=cost, budget=budget, seed=seed)

                def background():
                    return ils.step(deadline)

                # the LP bound, when the subgradient's is far from the best value (it stalls above the LP bound on
                # large overlapping models); a small gap goes straight to the MILP
                if budget is None and gap > limits.LP_BOUND_MIN_GAP:
                    lp = mclp_lp_dual(A, v, p, perf_counter() + 0.5 * max(deadline - perf_counter(), 0.0),
                                       background)
                    if lp is not None:
                        lam, y = lp
                        r = A @ lam
                        const = float((v - lam).sum())
                        lp_bound = const + float(np.sort(r)[::-1][:p].sum())
                        if lp_bound < lag.bound:
                            lag = Lagrange(bound=lp_bound, r=r, const=const, lam=lam)
                            bound = min(bound, max(lag.bound, ils.value))
                            status = "greedy+swap: LP bound"
                        if ils.value > value:
                            chosen, value = ils.best, ils.value
                        # the best sites among the LP's support and the best set so far: a small exact MILP
                        sup = np.union1d(np.flatnonzero(y > 1e-6), np.asarray(chosen, dtype=np.int64))
                        if sup.size > len(chosen) and rel_gap(value, bound, True) > mip_rel_gap:
                            As, vs = reduce_demand(A[sup], v, np.ones(A.shape[1], dtype=bool))
                            slice_end = perf_counter() + 0.5 * max(deadline - perf_counter(), 0.0)
                            x_sup, _, _ = _mclp_milp(As, vs, p, None, None, slice_end - perf_counter(), mip_rel_gap,
                                                     background)
                            if x_sup is not None and g.value(sup[x_sup]) > value + 1e-9 * max(value, 1.0):
                                chosen, value, used = sup[x_sup].tolist(), g.value(sup[x_sup]), "lp+milp"
                if ils.value > value:
                    chosen, value, used = ils.best, ils.value, "greedy+swap"
            gap = rel_gap(value, bound, True)
            kept = lag.keep(value, p)  # candidates that can be in a solution better than the best one so far
            Ak, vk = reduce_demand(A[kept], v, np.ones(A.shape[1], dtype=bool))
            model_nnz = Ak.nnz
            if gap <= mip_rel_gap:
                kind = SolverStatus.OPTIMAL if gap == 0 else SolverStatus.OPTIMAL_WITHIN_GAP
                status = kind.value
            elif method == "exact" or model_nnz <= limits.EXACT_MAX_NNZ:
                x_chosen, milp_bound, res_status = _mclp_milp(Ak, vk, p, None if cost is None else cost[kept],
                                                              budget, deadline - perf_counter(), mip_rel_gap,
                                                              None if ils is None else background)
                if np.isfinite(milp_bound):
                    bound = min(bound, max(milp_bound, value))
                if ils is not None and ils.value > value:
                    chosen, value, used = ils.best, ils.value, "greedy+swap"
                if x_chosen is not None:
                    x_chosen = kept[x_chosen].tolist()
                    x_value = g.value(x_chosen)
                    if x_value >= value - 1e-9 * max(value, 1.0):
                        chosen, value, used = x_chosen, x_value, "exact"
                status = None
            else:
                while ils is not None and perf_counter() < deadline and ils.step(deadline):
                    pass
                if ils is not None and ils.value > value:
                    chosen, value, used = ils.best, ils.value, "greedy+swap"
                kind = SolverStatus.TOO_LARGE
                status = (f"{status}; model too large for exact ({model_nnz:,} nonzeros "
                          f"after fixing {A.shape[0] - kept.size} candidates)")
    bound = max(bound, value)
    gap = rel_gap(value, bound, True)
    if status is None or gap == 0:
        kind = exact_status(res_status, gap)
        status = kind.value
    order, gains = g.order(chosen)
    sol = SitingSolution(chosen=tuple(order), gains=tuple(gains), covered=base + float(sum(gains)), total=total,
                         objective=float(sum(gains)), bound=float(bound), gap=float(gap), method=used,
                         status=status, time_s=perf_counter() - t0, status_kind=kind)
    log.info("MCLP p=%d: %d sites add %.1f persons (%s, %s, gap %.3g%%, %.2fs; model %d×%d)", p, len(order),
             sol.objective, sol.method, sol.status, 100 * sol.gap, sol.time_s, A.shape[0], A.shape[1])
    return sol


def _mclp_milp(A: sp.csr_array, v: np.ndarray, p: int, cost: np.ndarray | None, budget: float | None,
               time_limit_s: float, mip_rel_gap: float, background: Callable[[], bool] | None = None,
               ) -> tuple[list[int] | None, float, MilpStatus]:
    """Exact MCLP on the reduced model. Returns (chosen or None, upper bound, HiGHS status)."""
    m = A.shape[1]
    useful = np.flatnonzero(np.diff(A.indptr) > 0)
    if budget is not None:
        useful = useful[cost[useful] <= budget]
    if useful.size == 0 or m == 0:
        return [], 0.0, MilpStatus.OPTIMAL
    Ar = sp.csr_array(A[useful])
    k = useful.size
    c = np.concatenate([np.zeros(k), -v])
    integrality = np.concatenate([np.ones(k), np.zeros(m)])
    link = sp.hstack([-sp.csr_array(Ar.T), sp.eye_array(m, format="csr")], format="csr")
    cons = [LinearConstraint(link, -np.inf, 0.0)]
    rows = [np.concatenate([np.ones(k), np.zeros(m)])]
    ubs = [float(min(p, k))]
    if budget is not None:
        rows.append(np.concatenate([cost[useful], np.zeros(m)]))
        ubs.append(budget)
    cons.append(LinearConstraint(sp.csr_array(np.vstack(rows)), -np.inf, np.array(ubs)))
    res = run_milp(c, integrality, cons, np.ones(k + m), time_limit_s, mip_rel_gap, background,
                   child_min_nnz=limits.MILP_CHILD_MIN_NNZ)
    bound = milp_bound(res, -1.0)
    if res.x is None:
        return None, bound, res.status
    chosen = useful[res.x[:k] > 0.5].tolist()
    return chosen, bound, res.status


def _mclp_capacitated(A: sp.csr_array, v: np.ndarray, p: int, capacity: np.ndarray, cost: np.ndarray | None,
                      budget: float | None, base: float, total: float, method: str, deadline: float,
                      mip_rel_gap: float, t0: float) -> SitingSolution:
    """Capacitated MCLP: greedy on capacity-capped gains, then the exact MILP unless the model is huge."""
    n = A.shape[0]
    reachable = A @ v
    cap = np.minimum(capacity, reachable)  # a site never serves more than it reaches
    # greedy: best min(cap, residual reachable), serve hard-to-reach demand first, then re-optimise assignment
    resid = v.copy()
    ncov = np.diff(sp.csc_array(A).indptr)
    chosen: list[int] = []
    spent = 0.0
    for _ in range(p):
        score = np.minimum(cap, A @ resid)
        if budget is not None:
            score = np.where(cost <= budget - spent + 1e-12 * max(budget, 1.0), score, -math.inf)
        score[chosen] = -math.inf
        s = int(np.argmax(score))
        if not score[s] > 0:
            break
        chosen.append(s)
        spent += 0.0 if cost is None else float(cost[s])
        cols = A.indices[A.indptr[s]:A.indptr[s + 1]]
        cols = cols[np.argsort(ncov[cols], kind="stable")]
        left = cap[s]
        take = np.minimum(resid[cols], np.maximum(left - (np.cumsum(resid[cols]) - resid[cols]), 0.0))
        resid[cols] -= take
    served, _ = _assign(A, v, cap, chosen)
    value = float(served.sum())
    k = min(p, n)
    bound = min(float(v.sum()), float(np.sort(cap)[n - k:].sum()))
    used, status, res_status = "greedy", "greedy: capacity bound", None
    huge = A.nnz > limits.EXACT_MAX_NNZ // 2
    kind = SolverStatus.TOO_LARGE if method == "auto" and huge else SolverStatus.HEURISTIC
    if method == "exact" or (method == "auto" and not huge):
        x_chosen, x_served, milp_bound, res_status = _cmclp_milp(A, v, p, cap, cost, budget,
                                                                  deadline - perf_counter(), mip_rel_gap)
        if np.isfinite(milp_bound):
            bound = min(bound, max(milp_bound, value))
        if x_chosen is not None:
            x_served, _ = _assign(A, v, cap, x_chosen)
            if x_served.sum() >= value - 1e-9 * max(value, 1.0):
                chosen, served, value, used = x_chosen, x_served, float(x_served.sum()), "exact"
    bound = max(bound, value)
    gap = rel_gap(value, bound, True)
    if res_status is not None or gap == 0:
        kind = exact_status(res_status, gap)
        status = kind.value
    keep = [i for i, s in enumerate(served) if s > 1e-12 * max(value, 1.0)]
    order = sorted(keep, key=lambda i: (-served[i], chosen[i]))
    gains = [float(served[i]) for i in order]
    sol = SitingSolution(chosen=tuple(int(chosen[i]) for i in order), gains=tuple(gains),
                         covered=base + float(sum(gains)), total=total, objective=float(sum(gains)),
                         bound=float(bound), gap=float(gap), method=used, status=status,
                         time_s=perf_counter() - t0, status_kind=kind)
    log.info("capacitated MCLP p=%d: %d sites serve %.1f persons (%s, %s, gap %.3g%%, %.2fs)", p,
             len(sol.chosen), sol.objective, sol.method, sol.status, 100 * sol.gap, sol.time_s)
    return sol


def _assign(A: sp.csr_array, v: np.ndarray, cap: np.ndarray, chosen: Iterable[int]) -> tuple[np.ndarray, float]:
    """Best assignment of demand to the chosen capacitated sites (an LP). Returns persons served per site."""
    chosen = list(chosen)
    if not chosen:
        return np.zeros(0), 0.0
    sub = sp.coo_array(A[chosen])
    ne = sub.nnz
    if ne == 0:
        return np.zeros(len(chosen)), 0.0
    # x_e ≤ v_j ; Σ_j x_ij ≤ cap_i ; Σ_i x_ij ≤ v_j
    e = np.arange(ne)
    by_site = sp.csr_array((np.ones(ne), (sub.row, e)), shape=(len(chosen), ne))
    by_dem = sp.csr_array((np.ones(ne), (sub.col, e)), shape=(A.shape[1], ne))
    A_ub = sp.vstack([by_site, by_dem], format="csr")
    b_ub = np.concatenate([cap[chosen], v])
    res = linprog(-np.ones(ne), A_ub=A_ub, b_ub=b_ub, bounds=np.c_[np.zeros(ne), v[sub.col]], method="highs")
    x = res.x if res.x is not None else np.zeros(ne)
    return np.bincount(sub.row, weights=x, minlength=len(chosen)), float(x.sum())


def _cmclp_milp(A: sp.csr_array, v: np.ndarray, p: int, cap: np.ndarray, cost: np.ndarray | None,
                budget: float | None, time_limit_s: float, mip_rel_gap: float,
                ) -> tuple[list[int] | None, None, float, MilpStatus]:
    """Exact capacitated MCLP (sites binary, persons served per pair continuous). Returns (chosen or None, None,
    upper bound, HiGHS status)."""
    m = A.shape[1]
    useful = np.flatnonzero((np.diff(A.indptr) > 0) & (cap > 0))
    if budget is not None:
        useful = useful[cost[useful] <= budget]
    if useful.size == 0 or m == 0:
        return [], None, 0.0, MilpStatus.OPTIMAL
    sub = sp.coo_array(A[useful])
    k, ne = useful.size, sub.nnz
    e = np.arange(ne)
    # variables: y (k, binary), x (ne, persons served, 0..v_j)
    c = np.concatenate([np.zeros(k), -np.ones(ne)])
    integrality = np.concatenate([np.ones(k), np.zeros(ne)])
    ub = np.concatenate([np.ones(k), v[sub.col]])
    site_rows = sp.hstack([sp.csr_array(sp.diags_array(-cap[useful])),
                           sp.csr_array((np.ones(ne), (sub.row, e)), shape=(k, ne))], format="csr")
    dem_rows = sp.hstack([sp.csr_array((m, k)), sp.csr_array((np.ones(ne), (sub.col, e)), shape=(m, ne))],
                         format="csr")
    vub_rows = sp.hstack([sp.csr_array((-v[sub.col], (e, sub.row)), shape=(ne, k)), sp.eye_array(ne, format="csr")],
                         format="csr")
    rows = [np.concatenate([np.ones(k), np.zeros(ne)])]
    ubs = [float(min(p, k))]
    if budget is not None:
        rows.append(np.concatenate([cost[useful], np.zeros(ne)]))
        ubs.append(budget)
    cons = [LinearConstraint(site_rows, -np.inf, 0.0), LinearConstraint(dem_rows, -np.inf, v),
            LinearConstraint(vub_rows, -np.inf, 0.0), LinearConstraint(sp.csr_array(np.vstack(rows)), -np.inf, ubs)]
    res = run_milp(c, integrality, cons, ub, time_limit_s, mip_rel_gap, child_min_nnz=limits.MILP_CHILD_MIN_NNZ)
    bound = milp_bound(res, -1.0)
    if res.x is None:
        return None, None, bound, res.status
    chosen = useful[res.x[:k] > 0.5].tolist()
    return chosen, None, bound, res.status

