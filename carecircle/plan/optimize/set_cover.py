"""Partial set cover: the fewest new sites (or least total cost) that reach a target covered share."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from time import perf_counter

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike
from scipy.optimize import LinearConstraint

from carecircle.errors import InputError
from carecircle.plan.optimize import limits
from carecircle.plan.optimize._bounds import exact_status, lagrangian_mclp, mclp_lp_dual, milp_bound, rel_gap
from carecircle.plan.optimize._milp import MilpStatus, run_milp
from carecircle.plan.optimize._model import (
    MatrixLike,
    check_common,
    check_cost_budget,
    check_cover,
    check_covered0,
    check_vector,
    reduce_demand,
    rows_of,
)
from carecircle.plan.optimize._search import CoverSearch, Greedy, prune
from carecircle.plan.optimize.solution import SitingSolution, SolverStatus

log = logging.getLogger(__name__)


def set_covering(
    cover: MatrixLike,
    w: ArrayLike,
    target_share: float,
    *,
    covered0: ArrayLike | None = None,
    cost: ArrayLike | None = None,
    time_limit_s: float = 30.0,
    method: str = "auto",
    mip_rel_gap: float = 0.0,
    seed: int = 0,
) -> SitingSolution:
    """Fewest new sites (or least total cost) so that the covered share reaches ``target_share``.

    Parameters
    ----------
    cover, w, covered0 : as in :func:`maximal_covering`.
    target_share : share of the total weight to cover, in [0, 1] (existing coverage counts).
    cost : per-candidate cost (any unit, ≥ 0); minimise total cost instead of the number of sites.
    time_limit_s, method, mip_rel_gap, seed : as in :func:`maximal_covering` (on large models an iterated swap
        search for fewer sites runs while a child process solves the MILP; "greedy+swap" when it wins).

    Returns
    -------
    SitingSolution with ``objective`` = number of sites (or their cost) and ``bound`` a lower bound on it;
    ``share`` is the covered share after (0..1).

    Raises
    ------
    InputError
        When even every candidate together cannot reach the target (the message gives the best share).

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> set_covering(sp.csr_array(np.eye(3)), np.array([1.0, 3.0, 2.0]), 0.8).chosen
    (1, 2)
    """
    t0 = perf_counter()
    check_common(time_limit_s, method, mip_rel_gap)
    deadline = t0 + float(time_limit_s)
    A0 = check_cover(cover)
    n, m0 = A0.shape
    w = check_vector(w, m0, "w", "demand points")
    covered0 = check_covered0(covered0, m0)
    cost, _ = check_cost_budget(cost, None, n)
    if not (isinstance(target_share, int | float) and 0 <= target_share <= 1):
        raise InputError(f"target_share={target_share!r} must be a share between 0 and 1 (e.g. 0.9)")
    total = float(w.sum())
    base = float(w[covered0].sum())
    reach = np.diff(sp.csc_array(A0).indptr) > 0
    A, v = reduce_demand(A0, w, (~covered0) & (w > 0) & reach)
    best = base + float(v.sum())
    tol = 1e-9 * max(total, 1.0)
    need = target_share * total - base - tol  # weight the new sites must add
    if best + tol < target_share * total:
        raise InputError(f"target_share={target_share:g} is unreachable: all {n} candidates together reach "
                         f"{best / total:.4%} of the weight (target {target_share:.4%}); lower the target or add "
                         "candidate sites")
    g = Greedy(A, v)
    unit = np.ones(n) if cost is None else cost

    if need <= 0:
        chosen: list[int] = []
        lb, used, status = 0.0, "exact", "optimal"
        kind = SolverStatus.OPTIMAL
    else:
        chosen, _, _, _ = g.run(n, cost=cost, stop_at=need, deadline=None)
        chosen = prune(A, v, chosen, need, unit)
        used = "greedy"
        lb = _cover_lower_bound(A @ v, unit, need, integral=cost is None)
        status = "greedy: bound from best single-site gains"
        obj = float(unit[chosen].sum())
        if cost is None and method != "greedy" and lb < obj:
            lag_deadline = perf_counter() + 0.4 * max(deadline - perf_counter(), 0.0)
            lb = max(lb, _cover_lagrangian_bound(A, v, need, int(lb), int(obj), chosen, lag_deadline))
            status = "greedy: Lagrangian bound"
        search = None
        if cost is None and method != "greedy" and lb < obj and A.nnz >= limits.MILP_CHILD_MIN_NNZ:
            search = CoverSearch(g, chosen, need, seed=seed)  # in the parent while a child solves the MILP

            def background():
                return search.step(deadline)

            # LP bounds: the multipliers of the MCLP LP at p = lb prove p sites too few while U_lam(p) < need
            lp_deadline = perf_counter() + 0.5 * max(deadline - perf_counter(), 0.0)
            while lb < len(search.best) and perf_counter() < lp_deadline:
                lp = mclp_lp_dual(A, v, int(lb), lp_deadline, background)
                if lp is None:
                    break
                lam = lp[0]
                upper = float((v - lam).sum()) + np.cumsum(np.sort(A @ lam)[::-1])  # U_lam(p) for p = 1, 2, ...
                short = np.flatnonzero(upper < need - 1e-9 * max(need, 1.0))
                if short.size == 0 or short[-1] + 2 <= lb:
                    break
                lb = float(short[-1] + 2)  # short[-1] + 1 sites fall short
                status = "greedy: LP bound"
            if len(search.best) < len(chosen):
                chosen, used, obj = search.best, "greedy+swap", float(len(search.best))

        if lb < obj and (method == "exact" or (method == "auto" and A.nnz <= limits.EXACT_MAX_NNZ)):
            x_chosen, milp_lb, res_status = _setcover_milp(A, v, unit, need, deadline - perf_counter(),
                                                           mip_rel_gap, None if search is None else background)
            if search is not None and len(search.best) < len(chosen):
                chosen, used = search.best, "greedy+swap"
            if np.isfinite(milp_lb):
                lb = max(lb, math.ceil(milp_lb - 1e-6) if cost is None else milp_lb)
            if x_chosen is not None and g.value(x_chosen) >= need:
                x_chosen = prune(A, v, x_chosen, need, unit)
                if float(unit[x_chosen].sum()) <= obj + 1e-9 * max(obj, 1.0):
                    chosen, used = x_chosen, "exact"
            obj = float(unit[chosen].sum())
            gap = rel_gap(obj, min(lb, obj), False)
            kind = exact_status(res_status, gap)
            status = kind.value
        else:
            while search is not None and lb < len(search.best) and perf_counter() < deadline and search.step(deadline):
                pass
            if search is not None and len(search.best) < len(chosen):
                chosen, used = search.best, "greedy+swap"
                status = "greedy+swap: Lagrangian bound"
            # auto skips the MILP only when the model is too large for it
            kind = SolverStatus.TOO_LARGE if method == "auto" and lb < obj else SolverStatus.HEURISTIC
            obj = float(unit[chosen].sum())
            if rel_gap(obj, min(lb, obj), False) == 0:
                status = "optimal"
                kind = SolverStatus.OPTIMAL
    order, gains = g.order(chosen)
    obj = float(unit[order].sum()) if order else 0.0
    lb = min(lb, obj)
    gap = rel_gap(obj, lb, False)
    sol = SitingSolution(chosen=tuple(order), gains=tuple(gains), covered=base + float(sum(gains)), total=total,
                         objective=obj, bound=float(lb), gap=float(gap), method=used, status=status,
                         time_s=perf_counter() - t0, status_kind=kind)
    log.info("set cover to %.1f%%: %d sites, %.1f%% covered (%s, %s, %.2fs)", 100 * target_share, len(order),
             100 * sol.share if total else 0.0, sol.method, sol.status, sol.time_s)
    return sol


def _cover_lagrangian_bound(A: sp.csr_array, v: np.ndarray, need: float, lo: int, hi: int, chosen: list[int],
                            deadline: float) -> float:
    """Lower bound on the number of sites that add ``need``: ``p + 1`` for the largest ``p`` in ``[lo, hi)`` whose
    MCLP Lagrangian bound (an upper bound on what any ``p`` sites add) is proven below ``need``.

    Binary search over ``p``; a test that fails to prove only narrows the search (the bound stays valid, as
    every claim rests on one multiplier vector: ``U_lam(p) < need`` proves that no ``p`` sites reach ``need``).
    """
    unc = np.ones(A.shape[1], dtype=bool)
    pos, _ = rows_of(A.indptr, np.asarray(chosen, dtype=np.int64))
    unc[A.indices[pos]] = False
    lam = np.where(unc, v, 0.0)
    tol = 1e-9 * max(need, 1.0)
    best = lo
    lo_p, hi_p = lo - 1, hi - 1  # lo - 1 sites are proven too few (their best single gains fall short)
    while lo_p < hi_p and perf_counter() < deadline:
        mid = (lo_p + hi_p + 1) // 2
        share = (deadline - perf_counter()) / max(math.ceil(math.log2(hi_p - lo_p + 1)), 1)
        lag = lagrangian_mclp(A, v, mid, need - 2 * tol, lam, perf_counter() + share)
        if lag.bound < need - tol:
            best, lo_p, lam = mid + 1, mid, lag.lam
        else:
            hi_p = mid - 1
    return float(best)


def _cover_lower_bound(gains: np.ndarray, unit: np.ndarray, need: float, *, integral: bool) -> float:
    """Least number (cost) of sites whose single-site gains could add up to ``need`` (fractional for costs)."""
    if need <= 0:
        return 0.0
    if integral:
        cum = np.cumsum(np.sort(gains)[::-1])
        return float(min(np.searchsorted(cum, need) + 1, gains.size))
    pos = gains > 0
    g, c = gains[pos], unit[pos]
    order = np.argsort(-(g / np.maximum(c, 1e-300)), kind="stable")
    cumg = np.cumsum(g[order])
    k = int(np.searchsorted(cumg, need))
    if k >= order.size:
        return float(c.sum())
    before = cumg[k - 1] if k else 0.0
    return float(c[order[:k]].sum() + c[order[k]] * (need - before) / g[order[k]])


def _setcover_milp(A: sp.csr_array, v: np.ndarray, unit: np.ndarray, need: float, time_limit_s: float,
                   mip_rel_gap: float, background: Callable[[], bool] | None = None,
                   ) -> tuple[list[int] | None, float, MilpStatus]:
    """Exact least-cost cover adding ``need``. Returns (chosen or None, lower bound, HiGHS status)."""
    m = A.shape[1]
    useful = np.flatnonzero(np.diff(A.indptr) > 0)
    Ar = sp.csr_array(A[useful])
    k = useful.size
    c = np.concatenate([unit[useful], np.zeros(m)])
    integrality = np.concatenate([np.ones(k), np.zeros(m)])
    link = sp.hstack([-sp.csr_array(Ar.T), sp.eye_array(m, format="csr")], format="csr")
    cons = [LinearConstraint(link, -np.inf, 0.0),
            LinearConstraint(sp.csr_array(np.concatenate([np.zeros(k), v])[None, :]), need, np.inf)]
    res = run_milp(c, integrality, cons, np.ones(k + m), time_limit_s, mip_rel_gap, background,
                   child_min_nnz=limits.MILP_CHILD_MIN_NNZ)
    lb = milp_bound(res, 1.0)
    if res.x is None:
        return None, lb, res.status
    return useful[res.x[:k] > 0.5].tolist(), lb, res.status

