"""Numeric core of site suggestion: MCLP, partial set cover and p-median over a sparse coverage matrix.

No geo imports: everything works on a sparse ``cover`` matrix (candidates × demand points, nonzero where
the candidate is within the walking threshold of the demand point), demand weights ``w`` (elderly persons)
and the demand already covered by existing facilities (``covered0``), which stay fixed. ``siting.py`` wraps
these functions at the GeoDataFrame level.

Every solver returns a :class:`SitingSolution` that says what it is: ``method`` ("exact", "greedy" or
"greedy+swap"), ``status`` and a proven ``bound`` with the relative ``gap``. Exact solutions come from
``scipy.optimize.milp`` (HiGHS) on a reduced, sparse model: demand that is already covered, has no weight or
is out of every candidate's reach is dropped, and demand points reached by exactly the same candidates are
merged (weights summed), which changes no objective value. A greedy solution (improved by 1-swap local
search) is always computed first and kept when the MILP stops at its time limit with something worse.

Bounds: greedy's submodular bound, then a Lagrangian (subgradient) bound; on large MCLP models whose gap stays
above 0.2%, the LP bound from HiGHS's interior-point solver, evaluated by our own code at the LP dual's
multipliers (so it is valid whatever the solver's tolerances), and the exact MILP over the LP's support ("lp+milp").
Set cover's lower bound is the least ``p`` whose MCLP bound reaches the target. While a solver runs, an iterated
swap search improves the best set. The time limit is hard: MILPs and LPs of 20,000+ nonzeros run in a child
process that is killed at the deadline, and the answer then says the exact solve was cut off.

Nothing here builds a dense candidate × demand matrix. Ties are broken by the lowest candidate index.

Example
-------
>>> import numpy as np, scipy.sparse as sp
>>> cover = sp.csr_array(np.array([[1, 1, 0, 0], [0, 1, 1, 0], [0, 0, 1, 1]]))
>>> sol = maximal_covering(cover, np.array([10.0, 5.0, 5.0, 10.0]), 2)
>>> sol.chosen, sol.gains, sol.method, sol.status
((0, 2), (15.0, 15.0), 'greedy+swap', 'optimal')
"""

from __future__ import annotations

import heapq
import logging
import math
import pickle
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from time import perf_counter

import numpy as np
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, linprog, milp

from carecircle.errors import InputError

log = logging.getLogger(__name__)

__all__ = ["CoverageCurve", "SitingSolution", "coverage_curve", "maximal_covering", "p_median", "set_covering"]

#: Above this many nonzeros in the reduced model, ``method="auto"`` answers with greedy + swap and a
#: Lagrangian/LP bound instead of a MILP: HiGHS does not get through presolve and the root LP of larger models in
#: the time (measured: 657k nonzeros, 30 s limit, 44-67 s wall before the limit was made hard).
EXACT_MAX_NNZ = 600_000

#: p-median: ``method="auto"`` solves the MILP only up to this many (candidate, demand) pairs after fixing
#: (the strong formulation has ~3 nonzeros per pair, and HiGHS overruns its time limit on larger ones).
PMEDIAN_EXACT_MAX_PAIRS = 300_000

#: Large MCLP models whose Lagrangian gap exceeds this get the LP bound from a child process before the MILP.
LP_BOUND_MIN_GAP = 0.002

_METHODS = ("auto", "exact", "greedy", "greedy+swap")


@dataclass(frozen=True)
class SitingSolution:
    """Chosen sites and how good they provably are.

    Attributes
    ----------
    chosen : candidate indices (rows of the matrix), in greedy marginal-gain order among themselves.
    gains : what each chosen site adds in that order: persons newly covered (MCLP, set cover), persons
        served (capacitated MCLP: order is most served first), or person-minutes saved (p-median).
    covered : persons covered after adding the sites, including ``covered0`` (p-median: persons with a finite
        walking time after).
    total : total weight (persons).
    objective : MCLP: persons newly covered (or served); set cover: number of sites (or their total cost);
        p-median: total person-minutes.
    bound : best proven bound on ``objective`` (upper for MCLP, lower for set cover and p-median).
    gap : relative gap ``|bound - objective| / objective``; 0 when proven optimal.
    method : "exact", "greedy", "greedy+swap" (greedy, 1-swap and, on large models, an iterated swap search) or
        "lp+milp" (the exact best sites among those the LP relaxation uses) — which algorithm produced ``chosen``.
    status : short text, e.g. "optimal", "time limit", "greedy: submodular bound".
    time_s : wall time in seconds.
    """

    chosen: tuple[int, ...]
    gains: tuple[float, ...]
    covered: float
    total: float
    objective: float
    bound: float
    gap: float
    method: str
    status: str
    time_s: float

    @property
    def share(self) -> float:
        """Covered share of the total weight (0..1; NaN when the total is 0)."""
        return self.covered / self.total if self.total > 0 else math.nan


@dataclass(frozen=True)
class CoverageCurve:
    """Greedy coverage curve: ``share[k]`` is the covered share after the first ``k`` sites of ``chosen``.

    ``sites`` is ``0, 1, ..., k_max``; the curve stops early once no candidate adds anything. Unpacks as
    ``sites, share = coverage_curve(...)``.
    """

    sites: np.ndarray
    share: np.ndarray
    chosen: tuple[int, ...]
    gains: tuple[float, ...]

    def __iter__(self) -> Iterator[np.ndarray]:
        yield self.sites
        yield self.share


# --------------------------------------------------------------------------------------------- validation


def _check_matrix(mat, name: str) -> sp.csr_array:
    if sp.issparse(mat):
        out = sp.csr_array(mat)
    else:
        arr = np.asarray(mat)
        if arr.ndim != 2:
            raise InputError(f"{name} must be a 2-D (candidates × demand) matrix, got shape {arr.shape}; "
                             "pass a scipy.sparse matrix")
        out = sp.csr_array(arr)
    if out.shape[0] == 0 or out.shape[1] == 0:
        raise InputError(f"{name} matrix is empty ({out.shape[0]} candidates × {out.shape[1]} demand points); "
                         "pass at least one candidate site and one demand point")
    out.sum_duplicates()
    out.sort_indices()
    return out


def _check_cover(cover) -> sp.csr_array:
    mat = _check_matrix(cover, "cover")
    mat = sp.csr_array(mat != 0, dtype=np.float64)
    mat.eliminate_zeros()
    mat.sort_indices()
    return mat


def _check_vector(x, n: int, name: str, what: str, *, allow_inf: bool = False) -> np.ndarray:
    arr = np.asarray(x, dtype=np.float64)
    if arr.shape != (n,):
        raise InputError(f"{name} has shape {arr.shape} but the matrix has {n} {what}; pass one value per {what[:-1]}")
    bad = np.flatnonzero(np.isnan(arr) | (arr < 0) | (~allow_inf & np.isinf(arr)))
    if bad.size:
        shown = ", ".join(f"[{i}]={arr[i]:g}" for i in bad[:5])
        raise InputError(f"{name} must be finite and >= 0; {bad.size} values are not ({shown}); fix or drop them")
    return arr


def _check_covered0(covered0, n: int) -> np.ndarray:
    if covered0 is None:
        return np.zeros(n, dtype=bool)
    arr = np.asarray(covered0)
    if arr.shape != (n,):
        raise InputError(f"covered0 has shape {arr.shape} but the matrix has {n} demand points; "
                         "pass one bool per demand point")
    return arr.astype(bool)


def _check_p(p, n: int) -> int:
    if isinstance(p, bool) or not isinstance(p, int | np.integer):
        raise InputError(f"p must be an integer number of new sites, got {p!r}")
    if p < 1:
        raise InputError(f"{p} new sites asked (--new-sites); ask for at least 1")
    if p > n:
        raise InputError(f"{p} new sites asked (--new-sites) but there are only {n} candidate sites; ask for fewer "
                         "or add candidates")
    return int(p)


def _check_common(time_limit_s, method, mip_rel_gap) -> None:
    if not (isinstance(time_limit_s, int | float) and time_limit_s > 0 and math.isfinite(time_limit_s)):
        raise InputError(f"time_limit_s={time_limit_s!r} must be a positive number of seconds")
    if method not in _METHODS:
        raise InputError(f"method={method!r} is not one of {', '.join(_METHODS)}")
    if not (0 <= mip_rel_gap < 1):
        raise InputError(f"mip_rel_gap={mip_rel_gap!r} must be in [0, 1)")


def _check_cost_budget(cost, budget, n: int) -> tuple[np.ndarray | None, float | None]:
    if cost is not None:
        cost = _check_vector(cost, n, "cost", "candidates")
    if budget is None:
        return cost, None
    if cost is None:
        raise InputError(f"budget={budget!r} given without cost; pass cost= (one value per candidate site)")
    budget = float(budget)
    if not budget >= 0:
        raise InputError(f"budget={budget!r} must be a number >= 0")
    cheapest = float(cost.min())
    if budget < cheapest:
        raise InputError(f"budget={budget:g} is below the cheapest candidate site (cost {cheapest:g}); "
                         "raise the budget or add cheaper candidates")
    return cost, budget


# ----------------------------------------------------------------------------------------------- helpers


def _rows_of(indptr: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions into ``indices`` of the given rows (CSR) and the row (position in ``rows``) of each."""
    starts, ends = indptr[rows], indptr[rows + 1]
    lens = ends - starts
    total = int(lens.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    owner = np.repeat(np.arange(rows.size), lens)
    offs = np.arange(total) - np.repeat(np.cumsum(lens) - lens, lens)
    return np.repeat(starts, lens) + offs, owner


def _reduce_demand(A: sp.csr_array, v: np.ndarray, keep: np.ndarray) -> tuple[sp.csr_array, np.ndarray]:
    """Drop demand columns not in ``keep``; merge columns with identical candidate sets (weights summed).

    Returns the reduced cover (candidates × groups, float 0/1) and the group weights. Grouping is exact:
    columns are hashed on their candidate sets and every member is then compared with its group's
    representative; a (practically impossible) hash collision leaves the member in a group of its own.
    """
    cols = np.flatnonzero(keep)
    D = sp.csr_array(A[:, cols].T)  # demand × candidates
    D.sort_indices()
    m, n = D.shape
    if m == 0:
        return sp.csr_array((n, 0), dtype=np.float64), np.zeros(0)
    rng = np.random.default_rng(12345)  # fixed hash keys; grouping is verified, so this only affects speed
    r1 = rng.integers(0, 2**63, size=n, dtype=np.uint64)
    r2 = rng.integers(0, 2**63, size=n, dtype=np.uint64)
    lens = np.diff(D.indptr)
    owner = np.repeat(np.arange(m), lens)
    h1 = np.zeros(m, dtype=np.uint64)
    h2 = np.zeros(m, dtype=np.uint64)
    np.add.at(h1, owner, r1[D.indices])
    np.add.at(h2, owner, r2[D.indices])
    key = np.stack([lens.astype(np.uint64), h1, h2], axis=1)
    _, first, inv = np.unique(key, axis=0, return_index=True, return_inverse=True)
    inv = inv.ravel()
    rep = first[inv]
    # verify: every member's candidate list equals its representative's
    pos_j, own_j = _rows_of(D.indptr, np.arange(m))
    pos_r, _ = _rows_of(D.indptr, rep)
    mismatch = np.zeros(m, dtype=bool)
    np.logical_or.at(mismatch, own_j, D.indices[pos_j] != D.indices[pos_r])
    if mismatch.any():
        inv = inv.copy()
        inv[mismatch] = inv.max() + 1 + np.arange(int(mismatch.sum()))
        _, first, inv = np.unique(inv, return_index=True, return_inverse=True)
    weights = np.bincount(inv, weights=v[cols], minlength=first.size)
    red = sp.csr_array(D[first].T)
    red.sort_indices()
    return red, weights


class _Greedy:
    """Vectorised greedy on a reduced 0/1 cover ``A`` (candidates × demand) with weights ``v``."""

    def __init__(self, A: sp.csr_array, v: np.ndarray):
        self.A = A
        self.Ac = sp.csc_array(A)
        self.Ac.sort_indices()
        self.v = v

    def run(self, p, *, cost=None, budget=None, start=(), stop_at=None, deadline=None):
        """Add sites one at a time (best gain, or gain/cost under a budget) until ``p`` sites, the budget or
        ``stop_at`` covered weight is reached, or nothing adds anything.

        Returns ``(chosen, gains, value, bound)``; ``bound`` is a valid upper bound on the best value of any
        ``p`` sites within budget (``f(S_k) + `` the best ``p`` marginal gains at every step ``k``).
        """
        A, v = self.A, self.v
        unc = np.ones(A.shape[1], dtype=bool)
        gains = A @ v
        chosen: list[int] = []
        glist: list[float] = []
        value = 0.0
        spent = 0.0
        bound = math.inf
        for s in start:
            g = self._take(s, unc, gains)
            chosen.append(int(s))
            glist.append(g)
            value += g
            spent += 0.0 if cost is None else float(cost[s])
        while True:
            bound = min(bound, value + self._optimistic(gains, p, cost, budget))
            if len(chosen) >= p or (stop_at is not None and value >= stop_at):
                break
            if deadline is not None and perf_counter() > deadline:
                bound = min(bound, value + self._optimistic(gains, p, cost, budget))
                break
            score = gains.copy()
            if budget is not None:
                score[cost > budget - spent + 1e-12 * max(budget, 1.0)] = -math.inf
                with np.errstate(divide="ignore", invalid="ignore"):
                    score = np.where(np.isfinite(score), score / np.maximum(cost, 1e-300), score)
                score[(cost == 0) & (gains > 0)] = math.inf
            elif cost is not None and stop_at is not None:  # least-cost cover: best gain per cost
                with np.errstate(divide="ignore", invalid="ignore"):
                    score = gains / np.maximum(cost, 1e-300)
                score[(cost == 0) & (gains > 0)] = math.inf
            score[chosen] = -math.inf
            s = int(np.argmax(score))
            if not (score[s] > 0) or gains[s] <= 0:
                break
            g = self._take(s, unc, gains)
            chosen.append(s)
            glist.append(g)
            value += g
            spent += 0.0 if cost is None else float(cost[s])
        return chosen, glist, value, bound

    def _take(self, s: int, unc: np.ndarray, gains: np.ndarray) -> float:
        A, Ac, v = self.A, self.Ac, self.v
        cols = A.indices[A.indptr[s]:A.indptr[s + 1]]
        new = cols[unc[cols]]
        g = float(v[new].sum())
        unc[new] = False
        pos, own = _rows_of(Ac.indptr, new)
        if pos.size:
            gains -= np.bincount(Ac.indices[pos], weights=v[new][own], minlength=gains.size)
        np.maximum(gains, 0.0, out=gains)
        gains[s] = 0.0
        return g

    @staticmethod
    def _optimistic(gains, p, cost, budget) -> float:
        """Upper bound on what ``p`` more sites (within the remaining budget) can add, by submodularity."""
        k = min(p, gains.size)
        top = float(np.partition(gains, gains.size - k)[gains.size - k:].sum()) if k else 0.0
        if budget is None:
            return top
        return min(top, _fractional_knapsack(gains, cost, budget))

    def value(self, chosen) -> float:
        return _covered_weight(self.A, self.v, chosen)

    def order(self, chosen) -> tuple[list[int], list[float]]:
        """Greedy order of ``chosen`` among themselves; sites adding nothing are dropped."""
        chosen = sorted(int(c) for c in chosen)
        if not chosen:
            return [], []
        sub = _Greedy(sp.csr_array(self.A[chosen]), self.v)
        idx, gains, _, _ = sub.run(len(chosen))
        return [chosen[i] for i in idx], gains


def _fractional_knapsack(gains: np.ndarray, cost: np.ndarray, budget: float) -> float:
    pos = gains > 0
    g, c = gains[pos], cost[pos]
    free = c <= 0
    total = float(g[free].sum())
    g, c = g[~free], c[~free]
    order = np.argsort(-(g / c), kind="stable")
    cum = np.cumsum(c[order])
    full = np.searchsorted(cum, budget, side="right")
    total += float(g[order[:full]].sum())
    if full < order.size:
        rest = budget - (cum[full - 1] if full else 0.0)
        total += float(g[order[full]] * rest / c[order[full]])
    return total


def _covered_weight(A: sp.csr_array, v: np.ndarray, chosen) -> float:
    chosen = np.asarray(list(chosen), dtype=np.int64)
    if chosen.size == 0 or A.shape[1] == 0:
        return 0.0
    pos, _ = _rows_of(A.indptr, chosen)
    hit = np.zeros(A.shape[1], dtype=bool)
    hit[A.indices[pos]] = True
    return float(v[hit].sum())


def _swap(A: sp.csr_array, Ac: sp.csc_array, v: np.ndarray, chosen: list[int], *, cost=None, budget=None,
          deadline=None, max_passes: int = 10_000) -> tuple[list[int], int]:
    """1-swap local search (best improving swap per pass). Returns the improved set and the number of swaps."""
    n, m = A.shape
    chosen = list(chosen)
    if not chosen:
        return chosen, 0
    cnt = np.zeros(m, dtype=np.int64)
    pos, _ = _rows_of(A.indptr, np.asarray(chosen))
    np.add.at(cnt, A.indices[pos], 1)
    tol = 1e-9 * max(float(v.sum()), 1.0)
    swaps = 0
    spent = 0.0 if cost is None else float(cost[chosen].sum())
    for _ in range(max_passes):
        if deadline is not None and perf_counter() > deadline:
            break
        free = np.where(cnt == 0, v, 0.0)
        gain0 = A @ free
        one = np.where(cnt == 1, v, 0.0)
        in_set = np.zeros(n, dtype=bool)
        in_set[chosen] = True
        best = (tol, -1, -1)
        for k, s in enumerate(chosen):
            cols = A.indices[A.indptr[s]:A.indptr[s + 1]]
            jj = cols[cnt[cols] == 1]
            loss = float(one[jj].sum())
            delta = gain0 - loss
            p2, own = _rows_of(Ac.indptr, jj)
            if p2.size:
                delta = delta + np.bincount(Ac.indices[p2], weights=v[jj][own], minlength=n)
            delta[in_set] = -math.inf
            if budget is not None:
                delta[spent - cost[s] + cost > budget + 1e-12 * max(budget, 1.0)] = -math.inf
            t = int(np.argmax(delta))
            if delta[t] > best[0]:
                best = (float(delta[t]), k, t)
        if best[1] < 0:
            break
        _, k, t = best
        s = chosen[k]
        cols = A.indices[A.indptr[s]:A.indptr[s + 1]]
        cnt[cols] -= 1
        cols = A.indices[A.indptr[t]:A.indptr[t + 1]]
        cnt[cols] += 1
        chosen[k] = t
        if cost is not None:
            spent += float(cost[t] - cost[s])
        swaps += 1
    return chosen, swaps


class _LocalSearch:
    """Iterated swap search: drop a few of the best set's sites at random, refill greedily, 1-swap; keep the
    result if it covers more. ``step()`` is one such round; it returns False after ``max_stall`` rounds without
    improvement. Seeded, so a run that is not stopped by the clock is reproducible."""

    def __init__(self, g: _Greedy, chosen, p, *, cost=None, budget=None, seed=0, max_stall=300):
        self.g, self.p, self.cost, self.budget = g, p, cost, budget
        self.best = list(chosen)
        self.value = g.value(self.best)
        self.rng = np.random.default_rng(seed)
        self.stall, self.max_stall, self.rounds = 0, max_stall, 0

    def step(self, deadline=None) -> bool:
        if self.stall >= self.max_stall or len(self.best) < 2:
            return False
        self.rounds += 1
        k = int(self.rng.integers(2, max(2, len(self.best) // 4) + 1))
        drop = set(self.rng.choice(len(self.best), k, replace=False).tolist())
        keep = [s for i, s in enumerate(sorted(self.best)) if i not in drop]
        cand, _, _, _ = self.g.run(self.p, cost=self.cost, budget=self.budget, start=keep, deadline=deadline)
        cand, _ = _swap(self.g.A, self.g.Ac, self.g.v, cand, cost=self.cost, budget=self.budget, deadline=deadline)
        val = self.g.value(cand)
        if val > self.value + 1e-9 * max(self.value, 1.0):
            self.best, self.value, self.stall = cand, val, 0
        else:
            self.stall += 1
        return self.stall < self.max_stall


class _CoverSearch:
    """Fewer sites for a set cover: an iterated swap search (:class:`_LocalSearch`) for ``len(best) - 1`` sites
    that still add ``need``, started from the best cover less its least useful site; on success, again."""

    def __init__(self, g: _Greedy, chosen, need: float, *, seed: int = 0, max_stall: int = 200):
        self.g, self.need, self.seed, self.max_stall = g, need, seed, max_stall
        self.best = list(chosen)
        self._next()

    def _next(self) -> None:
        self.ils = None
        if len(self.best) < 3:
            return
        full = self.g.value(self.best)
        loss = [full - self.g.value([c for c in self.best if c != s]) for s in self.best]
        start = [c for i, c in enumerate(self.best) if i != int(np.argmin(loss))]
        self.ils = _LocalSearch(self.g, start, len(start), seed=self.seed, max_stall=self.max_stall)

    def step(self, deadline=None) -> bool:
        if self.ils is None:
            return False
        more = self.ils.step(deadline)
        if self.ils.value >= self.need:
            self.best = _prune(self.g.A, self.g.v, self.ils.best, self.need, np.ones(self.g.A.shape[0]))
            self._next()
            return self.ils is not None
        return more


@dataclass(frozen=True)
class _Lagrange:
    bound: float
    r: np.ndarray  # per-candidate Lagrangian reward at the best multipliers
    const: float  # the part of the bound not from the chosen candidates
    lam: np.ndarray  # the multipliers

    def keep(self, lb: float, p: int) -> np.ndarray:
        """Candidates whose forced opening still allows a solution worth ``lb``; the rest are in no better one."""
        r = self.r
        n = r.size
        if p >= n:
            return np.arange(n)
        srt = np.sort(r)[::-1]
        # bound with y_i forced to 1: r_i plus the best p-1 others (unchanged for the top p)
        forced = np.where(r >= srt[p - 1], self.bound, self.const + srt[:p - 1].sum() + r)
        tol = 1e-9 * max(abs(lb), 1.0)
        return np.flatnonzero(forced >= lb - tol)


def _subgradient(evaluate, lam, hi, p, lb, deadline, iters=400) -> _Lagrange:
    """Minimise a Lagrangian dual ``L(lam) = const(lam) + top-p(r(lam))`` over ``0 <= lam <= hi``.

    ``evaluate(lam, top)`` returns ``(const, r, grad)``; ``grad`` (a function of the top-p candidates) is the
    subgradient. Polyak steps towards the known primal value ``lb``.
    """
    best = None
    mu, stall = 2.0, 0
    tol = 1e-7 * max(abs(lb), 1.0)
    for _ in range(iters):
        const, r, grad = evaluate(lam)
        k = min(p, r.size)
        top = np.argpartition(-r, k - 1)[:k]
        L = const + float(r[top].sum())
        if best is None or L < best.bound - 1e-12 * max(abs(L), 1.0):
            best = _Lagrange(bound=L, r=r, const=const, lam=lam)
            stall = 0
        else:
            stall += 1
            if stall >= 10:
                mu, stall = mu / 2, 0
        if best.bound - lb <= tol or mu < 1e-4 or (deadline is not None and perf_counter() > deadline):
            break
        g = grad(top)
        norm = float(g @ g)
        if norm == 0:
            break
        lam = np.clip(lam - mu * (L - lb) / norm * g, 0.0, hi)
    return best


def _lagrangian_mclp(A, v, p, lb, lam0, deadline) -> _Lagrange:
    """MCLP dual: ``L = sum_j (v_j - lam_j)^+ + top-p_i (A lam)_i`` bounds the newly covered weight from above."""

    def evaluate(lam):
        r = A @ lam

        def grad(top):
            pos, _ = _rows_of(A.indptr, np.sort(top))
            return np.bincount(A.indices[pos], minlength=v.size) - (v > lam).astype(np.float64)

        return float(np.maximum(v - lam, 0.0).sum()), r, grad

    return _subgradient(evaluate, lam0, v, p, lb, deadline)


def _mclp_lp_dual(A, v, p, deadline, background) -> tuple[np.ndarray, np.ndarray] | None:
    """Multipliers ``lam`` of the MCLP LP dual (``min sum(v - lam) + p mu + sum s``, ``s_i >= (A lam)_i - mu``)
    and the LP's site values ``y`` (the duals of those rows), by HiGHS's interior-point solver in a child process
    killed at ``deadline``; ``background`` runs meanwhile.

    The subgradient method stalls above the LP bound on large overlapping models (measured: 2.0% vs 1.4% on
    the clustered benchmark); the caller evaluates the Lagrangian at these multipliers itself, so the bound it
    reports is valid whatever the LP solver's tolerances.
    """
    n, m = A.shape
    c = np.concatenate([-np.ones(m), [float(p)], np.ones(n)])
    a_ub = sp.hstack([A, -np.ones((n, 1)), -sp.eye_array(n, format="csr")], format="csr")
    bounds = np.column_stack([np.zeros(m + 1 + n), np.concatenate([v, np.full(1 + n, np.inf)])])
    if deadline - perf_counter() <= _CHILD_START_S:
        return None
    try:
        child = _Child("lp", (c, a_ub, np.zeros(n), bounds), deadline, 0.0)
    except OSError:
        return None
    x, _, _ = child.run(deadline, background)
    if x is None or x.size != 2 * n + m + 1:
        return None
    return np.clip(x[:m], 0.0, v), np.clip(x[m + 1 + n:], 0.0, 1.0)


def _milp_bound(res, sense: float) -> float:
    """Bound on the original objective from a HiGHS result (``sense`` -1 for maximisation models)."""
    b = getattr(res, "mip_dual_bound", None)
    if b is None or not np.isfinite(b):
        return math.nan
    return sense * float(b)


def _rel_gap(objective: float, bound: float, maximise: bool) -> float:
    if not np.isfinite(bound):
        return math.inf
    diff = (bound - objective) if maximise else (objective - bound)
    diff = max(diff, 0.0)
    if diff <= 1e-9 * max(abs(objective), 1.0):
        return 0.0
    return diff / abs(objective) if objective != 0 else math.inf


def _status_text(res_status: int | None, gap: float) -> str:
    if gap == 0:
        return "optimal"
    if res_status == 0:
        return "optimal within mip_rel_gap"
    if res_status == 1:
        return "time limit"
    if res_status == CUT_OFF:
        return "time limit (exact solve cut off; heuristic answer with its proven bound)"
    return "solver stopped"


#: ``_run_milp`` status when the MILP was not run to HiGHS's own end: cut off at the call's deadline (the child
#: process killed) or not started because too little time was left.
CUT_OFF = 5

#: Models with at least this many constraint nonzeros are solved in a child process that is killed at the
#: call's deadline (HiGHS can overrun its own ``time_limit`` in presolve and the root LP: 44-67 s on a 30 s
#: limit, measured). Smaller models run in-process, where starting a child (about 1 s to import scipy) would cost
#: more than the solve; HiGHS checks its limit between branch-and-bound nodes, and their presolve takes
#: milliseconds.
MILP_CHILD_MIN_NNZ = 20_000

#: Seconds a child process needs to start and import scipy; no child is started with less time left.
_CHILD_START_S = 1.5

#: The child process's program: imports numpy and scipy only (not carecircle, whose import pulls in geopandas),
#: reads the pickled model from stdin and writes ``(x, status, mip_dual_bound)`` to stdout.
_CHILD_CODE = """
import math, pickle, sys, time
import numpy as np
from scipy.optimize import Bounds, LinearConstraint, linprog, milp
kind, args, deadline_epoch, mip_rel_gap = pickle.loads(sys.stdin.buffer.read())
left = deadline_epoch - time.time()
limit = left - min(max(0.1 * left, 0.3), 2.0)  # time to stop, pickle and write back before the kill
out = (None, 5, math.nan)
if limit > 0.05 and kind == "milp":
    c, integrality, cons, ub = args
    res = milp(c, integrality=integrality, bounds=Bounds(np.zeros_like(c), ub),
               constraints=[LinearConstraint(a, lo, hi) for a, lo, hi in cons],
               options={"time_limit": limit, "mip_rel_gap": mip_rel_gap, "disp": False})
    b = getattr(res, "mip_dual_bound", None)
    out = (None if res.x is None else np.asarray(res.x), int(res.status), math.nan if b is None else float(b))
elif limit > 0.05 and kind == "lp":
    c, a_ub, b_ub, bounds = args
    res = linprog(c, A_ub=a_ub, b_ub=b_ub, bounds=bounds, method="highs-ipm", options={"time_limit": limit})
    marg = getattr(getattr(res, "ineqlin", None), "marginals", None)
    if res.x is not None and marg is not None:
        out = (np.concatenate([res.x, -np.asarray(marg)]), int(res.status), math.nan)  # x, then row duals
sys.stdout.buffer.write(pickle.dumps(out, protocol=pickle.HIGHEST_PROTOCOL))
sys.stdout.buffer.flush()
"""


@dataclass(frozen=True)
class _MilpResult:
    x: np.ndarray | None
    status: int
    mip_dual_bound: float


class _Child:
    """A child process (``sys.executable``) running ``_CHILD_CODE`` on a pickled task, talked to from a thread
    so that the parent can work meanwhile; killed when its time is up."""

    def __init__(self, kind: str, args, deadline: float, mip_rel_gap: float):
        self.out: bytes | None = None
        self.err = b""
        payload = pickle.dumps((kind, args, time.time() + (deadline - perf_counter()), float(mip_rel_gap)),
                               protocol=pickle.HIGHEST_PROTOCOL)
        self.proc = subprocess.Popen([sys.executable, "-c", _CHILD_CODE], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self._thread = threading.Thread(target=self._talk, args=(payload,), daemon=True)
        self._thread.start()

    def _talk(self, payload: bytes) -> None:
        try:
            self.out, self.err = self.proc.communicate(payload)
        except (OSError, ValueError):  # the pipes closed under a kill
            self.out = None

    def run(self, deadline: float, background=None) -> tuple[np.ndarray | None, int, float]:
        """Wait until the child answers or ``deadline``; call ``background()`` (one unit of work, False when
        it has nothing left to do) meanwhile. Returns ``(x, status, mip_dual_bound)``; killed → ``CUT_OFF``."""
        busy = background is not None
        while self._thread.is_alive() and perf_counter() < deadline:
            if busy:
                busy = bool(background())
            else:
                self._thread.join(max(deadline - perf_counter(), 0.0))
        if self._thread.is_alive():
            self.proc.kill()
            self._thread.join()
            log.info("child process cut off at the time limit")
            return None, CUT_OFF, math.nan
        if self.proc.returncode != 0 or not self.out:
            last = self.err.decode(errors="replace").strip().splitlines()[-1:] or [f"exit {self.proc.returncode}"]
            log.warning("solver child process failed (%s); keeping the heuristic answer", last[0])
            return None, 4, math.nan
        return pickle.loads(self.out)


def _run_milp(c, integrality, constraints, ub, time_limit_s, mip_rel_gap, background=None) -> _MilpResult:
    """Solve a MILP with HiGHS within ``time_limit_s`` seconds of wall time, enforced.

    Large models run in a child process (``sys.executable``) that is killed when the time is up; the result is
    then ``x=None`` and ``status=CUT_OFF``, and the caller keeps its heuristic answer and bound. ``background``
    (a callable doing one unit of work) runs in the parent while the child solves.
    """
    remaining = float(time_limit_s)
    deadline = perf_counter() + remaining
    nnz = sum(int(sp.csr_array(con.A).nnz) for con in constraints)
    if remaining <= 0.05:
        return _MilpResult(None, CUT_OFF, math.nan)
    cons = [(sp.csr_array(con.A), np.asarray(con.lb, dtype=float), np.asarray(con.ub, dtype=float))
            for con in constraints]
    if nnz < MILP_CHILD_MIN_NNZ:
        return _milp_solve(c, integrality, cons, ub, remaining, mip_rel_gap)
    if remaining <= _CHILD_START_S:
        return _MilpResult(None, CUT_OFF, math.nan)
    try:
        child = _Child("milp", (c, integrality, cons, ub), deadline, mip_rel_gap)
    except OSError as exc:  # no interpreter to start (e.g. a frozen application): HiGHS's own limit only
        log.warning("cannot start a child process for the MILP (%s); solving in-process", exc)
        return _milp_solve(c, integrality, cons, ub, remaining, mip_rel_gap)
    x, status, bound = child.run(deadline, background)
    return _MilpResult(x, status, bound)


def _milp_solve(c, integrality, cons, ub, time_limit_s, mip_rel_gap) -> _MilpResult:
    res = milp(c, integrality=integrality, bounds=Bounds(np.zeros_like(c), ub),
               constraints=[LinearConstraint(a, lo, hi) for a, lo, hi in cons],
               options={"time_limit": max(float(time_limit_s), 0.01), "mip_rel_gap": float(mip_rel_gap),
                        "disp": False})
    b = getattr(res, "mip_dual_bound", None)
    return _MilpResult(None if res.x is None else np.asarray(res.x), int(res.status),
                       math.nan if b is None else float(b))


# ------------------------------------------------------------------------------------------------- MCLP


def maximal_covering(
    cover,
    w,
    p: int,
    *,
    covered0=None,
    cost=None,
    budget: float | None = None,
    capacity=None,
    time_limit_s: float = 30.0,
    method: str = "auto",
    seed: int = 0,
    mip_rel_gap: float = 1e-4,
) -> SitingSolution:
    """Maximal covering (MCLP): at most ``p`` new sites (total cost ≤ ``budget``) covering the most persons.

    Parameters
    ----------
    cover : sparse (n_candidates × n_demand), nonzero where the candidate covers the demand point.
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
    SitingSolution with ``objective`` = persons newly covered (served) and ``bound`` an upper bound on it.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> cover = sp.csr_array(np.eye(3))
    >>> maximal_covering(cover, np.array([1.0, 3.0, 2.0]), 1).chosen
    (1,)
    """
    t0 = perf_counter()
    deadline = t0 + float(time_limit_s) if isinstance(time_limit_s, int | float) else None
    _check_common(time_limit_s, method, mip_rel_gap)
    A0 = _check_cover(cover)
    n, m0 = A0.shape
    w = _check_vector(w, m0, "w", "demand points")
    p = _check_p(p, n)
    covered0 = _check_covered0(covered0, m0)
    cost, budget = _check_cost_budget(cost, budget, n)
    if capacity is not None:
        capacity = _check_vector(capacity, n, "capacity", "candidates", allow_inf=True)
    total = float(w.sum())
    base = float(w[covered0].sum())
    reach = np.diff(sp.csc_array(A0).indptr) > 0
    A, v = _reduce_demand(A0, w, (~covered0) & (w > 0) & reach)
    if capacity is not None:
        return _mclp_capacitated(A, v, p, capacity, cost, budget, base, total, method, deadline, mip_rel_gap, t0)

    g = _Greedy(A, v)
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
        chosen, _ = _swap(A, g.Ac, v, chosen, cost=cost, budget=budget, deadline=deadline)
        used = "greedy+swap"
        value = g.value(chosen)
    status = "greedy: submodular bound"
    res_status = None
    model_nnz = A.nnz
    if method != "greedy" and A.shape[1] and value > 0:
        # Lagrangian bound (relaxing z_j <= sum_i a_ij y_i): the LP bound in O(nnz) per step, no LP solve
        unc = np.ones(A.shape[1], dtype=bool)
        pos, _ = _rows_of(A.indptr, np.asarray(chosen))
        unc[A.indices[pos]] = False
        lag_deadline = perf_counter() + 0.25 * max(deadline - perf_counter(), 0.0)
        lag = _lagrangian_mclp(A, v, p, value, np.where(unc, v, 0.0), lag_deadline)
        bound = min(bound, max(lag.bound, value))
        status = "greedy+swap: Lagrangian bound"
        gap = _rel_gap(value, bound, True)
        if gap <= mip_rel_gap:
            status = "optimal" if gap == 0 else "optimal within mip_rel_gap"
        elif method in ("auto", "exact"):
            ils = None
            if A.nnz >= MILP_CHILD_MIN_NNZ:  # large: the parent searches while a child solves
                ils = _LocalSearch(g, chosen, p, cost=cost, budget=budget, seed=seed)

                def background():
                    return ils.step(deadline)

                # the LP bound, when the subgradient's is far from the best value (it stalls above the LP bound on
                # large overlapping models); a small gap goes straight to the MILP
                if budget is None and gap > LP_BOUND_MIN_GAP:
                    lp = _mclp_lp_dual(A, v, p, perf_counter() + 0.5 * max(deadline - perf_counter(), 0.0),
                                       background)
                    if lp is not None:
                        lam, y = lp
                        r = A @ lam
                        const = float((v - lam).sum())
                        lp_bound = const + float(np.sort(r)[::-1][:p].sum())
                        if lp_bound < lag.bound:
                            lag = _Lagrange(bound=lp_bound, r=r, const=const, lam=lam)
                            bound = min(bound, max(lag.bound, ils.value))
                            status = "greedy+swap: LP bound"
                        if ils.value > value:
                            chosen, value = ils.best, ils.value
                        # the best sites among the LP's support and the best set so far: a small exact MILP
                        sup = np.union1d(np.flatnonzero(y > 1e-6), np.asarray(chosen, dtype=np.int64))
                        if sup.size > len(chosen) and _rel_gap(value, bound, True) > mip_rel_gap:
                            As, vs = _reduce_demand(A[sup], v, np.ones(A.shape[1], dtype=bool))
                            slice_end = perf_counter() + 0.5 * max(deadline - perf_counter(), 0.0)
                            x_sup, _, _ = _mclp_milp(As, vs, p, None, None, slice_end - perf_counter(), mip_rel_gap,
                                                     background)
                            if x_sup is not None and g.value(sup[x_sup]) > value + 1e-9 * max(value, 1.0):
                                chosen, value, used = sup[x_sup].tolist(), g.value(sup[x_sup]), "lp+milp"
                if ils.value > value:
                    chosen, value, used = ils.best, ils.value, "greedy+swap"
            gap = _rel_gap(value, bound, True)
            kept = lag.keep(value, p)  # candidates that can be in a solution better than the best one so far
            Ak, vk = _reduce_demand(A[kept], v, np.ones(A.shape[1], dtype=bool))
            model_nnz = Ak.nnz
            if gap <= mip_rel_gap:
                status = "optimal" if gap == 0 else "optimal within mip_rel_gap"
            elif method == "exact" or model_nnz <= EXACT_MAX_NNZ:
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
                status = (f"{status}; model too large for exact ({model_nnz:,} nonzeros "
                          f"after fixing {A.shape[0] - kept.size} candidates)")
    bound = max(bound, value)
    gap = _rel_gap(value, bound, True)
    if status is None or gap == 0:
        status = _status_text(res_status, gap)
    order, gains = g.order(chosen)
    sol = SitingSolution(chosen=tuple(order), gains=tuple(gains), covered=base + float(sum(gains)), total=total,
                         objective=float(sum(gains)), bound=float(bound), gap=float(gap), method=used,
                         status=status, time_s=perf_counter() - t0)
    log.info("MCLP p=%d: %d sites add %.1f persons (%s, %s, gap %.3g%%, %.2fs; model %d×%d)", p, len(order),
             sol.objective, sol.method, sol.status, 100 * sol.gap, sol.time_s, A.shape[0], A.shape[1])
    return sol


def _mclp_milp(A, v, p, cost, budget, time_limit_s, mip_rel_gap, background=None):
    """Exact MCLP on the reduced model. Returns (chosen or None, upper bound, HiGHS status)."""
    m = A.shape[1]
    useful = np.flatnonzero(np.diff(A.indptr) > 0)
    if budget is not None:
        useful = useful[cost[useful] <= budget]
    if useful.size == 0 or m == 0:
        return [], 0.0, 0
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
    res = _run_milp(c, integrality, cons, np.ones(k + m), time_limit_s, mip_rel_gap, background)
    bound = _milp_bound(res, -1.0)
    if res.x is None:
        return None, bound, res.status
    chosen = useful[res.x[:k] > 0.5].tolist()
    return chosen, bound, res.status


def _mclp_capacitated(A, v, p, capacity, cost, budget, base, total, method, deadline, mip_rel_gap, t0):
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
    huge = A.nnz > EXACT_MAX_NNZ // 2
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
    gap = _rel_gap(value, bound, True)
    if res_status is not None or gap == 0:
        status = _status_text(res_status, gap)
    keep = [i for i, s in enumerate(served) if s > 1e-12 * max(value, 1.0)]
    order = sorted(keep, key=lambda i: (-served[i], chosen[i]))
    gains = [float(served[i]) for i in order]
    sol = SitingSolution(chosen=tuple(int(chosen[i]) for i in order), gains=tuple(gains),
                         covered=base + float(sum(gains)), total=total, objective=float(sum(gains)),
                         bound=float(bound), gap=float(gap), method=used, status=status,
                         time_s=perf_counter() - t0)
    log.info("capacitated MCLP p=%d: %d sites serve %.1f persons (%s, %s, gap %.3g%%, %.2fs)", p,
             len(sol.chosen), sol.objective, sol.method, sol.status, 100 * sol.gap, sol.time_s)
    return sol


def _assign(A, v, cap, chosen) -> tuple[np.ndarray, float]:
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


def _cmclp_milp(A, v, p, cap, cost, budget, time_limit_s, mip_rel_gap):
    m = A.shape[1]
    useful = np.flatnonzero((np.diff(A.indptr) > 0) & (cap > 0))
    if budget is not None:
        useful = useful[cost[useful] <= budget]
    if useful.size == 0 or m == 0:
        return [], np.zeros(0), 0.0, 0
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
    res = _run_milp(c, integrality, cons, ub, time_limit_s, mip_rel_gap)
    bound = _milp_bound(res, -1.0)
    if res.x is None:
        return None, None, bound, res.status
    chosen = useful[res.x[:k] > 0.5].tolist()
    return chosen, None, bound, res.status


# -------------------------------------------------------------------------------------------- set cover


def set_covering(
    cover,
    w,
    target_share: float,
    *,
    covered0=None,
    cost=None,
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
    cost : per-candidate cost; minimise total cost instead of the number of sites.
    time_limit_s, method, mip_rel_gap, seed : as in :func:`maximal_covering` (on large models an iterated swap
        search for fewer sites runs while a child process solves the MILP; "greedy+swap" when it wins).

    Returns
    -------
    SitingSolution with ``objective`` = number of sites (or their cost) and ``bound`` a lower bound on it.

    Raises
    ------
    InputError
        When even every candidate together cannot reach the target (the message gives the best share).
    """
    t0 = perf_counter()
    _check_common(time_limit_s, method, mip_rel_gap)
    deadline = t0 + float(time_limit_s)
    A0 = _check_cover(cover)
    n, m0 = A0.shape
    w = _check_vector(w, m0, "w", "demand points")
    covered0 = _check_covered0(covered0, m0)
    cost, _ = _check_cost_budget(cost, None, n)
    if not (isinstance(target_share, int | float) and 0 <= target_share <= 1):
        raise InputError(f"target_share={target_share!r} must be a share between 0 and 1 (e.g. 0.9)")
    total = float(w.sum())
    base = float(w[covered0].sum())
    reach = np.diff(sp.csc_array(A0).indptr) > 0
    A, v = _reduce_demand(A0, w, (~covered0) & (w > 0) & reach)
    best = base + float(v.sum())
    tol = 1e-9 * max(total, 1.0)
    need = target_share * total - base - tol  # weight the new sites must add
    if best + tol < target_share * total:
        raise InputError(f"target_share={target_share:g} is unreachable: all {n} candidates together reach "
                         f"{best / total:.4%} of the weight (target {target_share:.4%}); lower the target or add "
                         "candidate sites")
    g = _Greedy(A, v)
    unit = np.ones(n) if cost is None else cost

    if need <= 0:
        chosen: list[int] = []
        lb, used, status = 0.0, "exact", "optimal"
    else:
        chosen, _, _, _ = g.run(n, cost=cost, stop_at=need, deadline=None)
        chosen = _prune(A, v, chosen, need, unit)
        used = "greedy"
        lb = _cover_lower_bound(A @ v, unit, need, integral=cost is None)
        status = "greedy: bound from best single-site gains"
        obj = float(unit[chosen].sum())
        if cost is None and method != "greedy" and lb < obj:
            lag_deadline = perf_counter() + 0.4 * max(deadline - perf_counter(), 0.0)
            lb = max(lb, _cover_lagrangian_bound(A, v, need, int(lb), int(obj), chosen, lag_deadline))
            status = "greedy: Lagrangian bound"
        search = None
        if cost is None and method != "greedy" and lb < obj and A.nnz >= MILP_CHILD_MIN_NNZ:
            search = _CoverSearch(g, chosen, need, seed=seed)  # in the parent while a child solves the MILP

            def background():
                return search.step(deadline)

            # LP bounds: the multipliers of the MCLP LP at p = lb prove p sites too few while U_lam(p) < need
            lp_deadline = perf_counter() + 0.5 * max(deadline - perf_counter(), 0.0)
            while lb < len(search.best) and perf_counter() < lp_deadline:
                lp = _mclp_lp_dual(A, v, int(lb), lp_deadline, background)
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

        if lb < obj and (method == "exact" or (method == "auto" and A.nnz <= EXACT_MAX_NNZ)):
            x_chosen, milp_lb, res_status = _setcover_milp(A, v, unit, need, deadline - perf_counter(),
                                                           mip_rel_gap, None if search is None else background)
            if search is not None and len(search.best) < len(chosen):
                chosen, used = search.best, "greedy+swap"
            if np.isfinite(milp_lb):
                lb = max(lb, math.ceil(milp_lb - 1e-6) if cost is None else milp_lb)
            if x_chosen is not None and g.value(x_chosen) >= need:
                x_chosen = _prune(A, v, x_chosen, need, unit)
                if float(unit[x_chosen].sum()) <= obj + 1e-9 * max(obj, 1.0):
                    chosen, used = x_chosen, "exact"
            obj = float(unit[chosen].sum())
            gap = _rel_gap(obj, min(lb, obj), False)
            status = _status_text(res_status, gap)
        else:
            while search is not None and lb < len(search.best) and perf_counter() < deadline and search.step(deadline):
                pass
            if search is not None and len(search.best) < len(chosen):
                chosen, used = search.best, "greedy+swap"
                status = "greedy+swap: Lagrangian bound"
            obj = float(unit[chosen].sum())
            if _rel_gap(obj, min(lb, obj), False) == 0:
                status = "optimal"
    order, gains = g.order(chosen)
    obj = float(unit[order].sum()) if order else 0.0
    lb = min(lb, obj)
    gap = _rel_gap(obj, lb, False)
    sol = SitingSolution(chosen=tuple(order), gains=tuple(gains), covered=base + float(sum(gains)), total=total,
                         objective=obj, bound=float(lb), gap=float(gap), method=used, status=status,
                         time_s=perf_counter() - t0)
    log.info("set cover to %.1f%%: %d sites, %.1f%% covered (%s, %s, %.2fs)", 100 * target_share, len(order),
             100 * sol.share if total else 0.0, sol.method, sol.status, sol.time_s)
    return sol


def _prune(A, v, chosen, need, unit) -> list[int]:
    """Drop sites (most expensive, latest first) while the rest still reach ``need``."""
    chosen = list(chosen)
    for s in sorted(chosen, key=lambda s: (-unit[s], -chosen.index(s))):
        rest = [c for c in chosen if c != s]
        if _covered_weight(A, v, rest) >= need:
            chosen = rest
    return chosen


def _cover_lagrangian_bound(A, v, need, lo, hi, chosen, deadline) -> float:
    """Lower bound on the number of sites that add ``need``: ``p + 1`` for the largest ``p`` in ``[lo, hi)`` whose
    MCLP Lagrangian bound (an upper bound on what any ``p`` sites add) is proven below ``need``.

    Binary search over ``p``; a test that fails to prove only narrows the search (the bound stays valid, as
    every claim rests on one multiplier vector: ``U_lam(p) < need`` proves that no ``p`` sites reach ``need``).
    """
    unc = np.ones(A.shape[1], dtype=bool)
    pos, _ = _rows_of(A.indptr, np.asarray(chosen, dtype=np.int64))
    unc[A.indices[pos]] = False
    lam = np.where(unc, v, 0.0)
    tol = 1e-9 * max(need, 1.0)
    best = lo
    lo_p, hi_p = lo - 1, hi - 1  # lo - 1 sites are proven too few (their best single gains fall short)
    while lo_p < hi_p and perf_counter() < deadline:
        mid = (lo_p + hi_p + 1) // 2
        share = (deadline - perf_counter()) / max(math.ceil(math.log2(hi_p - lo_p + 1)), 1)
        lag = _lagrangian_mclp(A, v, mid, need - 2 * tol, lam, perf_counter() + share)
        if lag.bound < need - tol:
            best, lo_p, lam = mid + 1, mid, lag.lam
        else:
            hi_p = mid - 1
    return float(best)


def _cover_lower_bound(gains, unit, need, *, integral: bool) -> float:
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


def _setcover_milp(A, v, unit, need, time_limit_s, mip_rel_gap, background=None):
    m = A.shape[1]
    useful = np.flatnonzero(np.diff(A.indptr) > 0)
    Ar = sp.csr_array(A[useful])
    k = useful.size
    c = np.concatenate([unit[useful], np.zeros(m)])
    integrality = np.concatenate([np.ones(k), np.zeros(m)])
    link = sp.hstack([-sp.csr_array(Ar.T), sp.eye_array(m, format="csr")], format="csr")
    cons = [LinearConstraint(link, -np.inf, 0.0),
            LinearConstraint(sp.csr_array(np.concatenate([np.zeros(k), v])[None, :]), need, np.inf)]
    res = _run_milp(c, integrality, cons, np.ones(k + m), time_limit_s, mip_rel_gap, background)
    lb = _milp_bound(res, 1.0)
    if res.x is None:
        return None, lb, res.status
    return useful[res.x[:k] > 0.5].tolist(), lb, res.status


# --------------------------------------------------------------------------------------------- p-median


def p_median(
    time,
    w,
    p: int,
    *,
    current=None,
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
    """
    t0 = perf_counter()
    _check_common(time_limit_s, method, mip_rel_gap)
    deadline = t0 + float(time_limit_s)
    T = _check_matrix(time, "time")
    n, m = T.shape
    T = sp.csr_array(T, dtype=np.float64)
    T.sort_indices()
    bad = np.flatnonzero(~np.isfinite(T.data) | (T.data < 0))
    if bad.size:
        raise InputError(f"time has {bad.size} stored values that are not finite minutes >= 0 "
                         f"(e.g. {T.data[bad[0]]:g}); store only reachable pairs")
    w = _check_vector(w, m, "w", "demand points")
    p = _check_p(p, n)
    cur = np.full(m, np.inf) if current is None else _check_vector(current, m, "current", "demand points",
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
    res_status = None
    if method != "greedy" and R.nnz and value > 0:
        # Lagrangian bound (relaxing sum_i x_ij <= 1), started from the greedy savings per demand point
        dmax = np.zeros(m)
        np.maximum.at(dmax, R.indices, R.data)

        def evaluate(lam):
            d = R.data - lam[R.indices]
            r = np.bincount(row_of, weights=np.maximum(d, 0.0), minlength=n)

            def grad(top):
                pos, _ = _rows_of(R.indptr, np.sort(top))
                hit = R.indices[pos][d[pos] > 0]
                return 1.0 - np.bincount(hit, minlength=m)

            return float(lam.sum()), r, grad

        lag_deadline = perf_counter() + 0.25 * max(deadline - perf_counter(), 0.0)
        lag = _subgradient(evaluate, best.copy(), dmax, p, value, lag_deadline)
        bound = min(bound, max(lag.bound, value))
        status = "greedy: Lagrangian bound"
        if _rel_gap(value, bound, True) > mip_rel_gap and method in ("auto", "exact"):
            kept = lag.keep(value, p)
            Rk = sp.csr_array(R[kept])
            if method == "exact" or Rk.nnz <= PMEDIAN_EXACT_MAX_PAIRS:
                x_chosen, ub, res_status = _pmedian_milp(Rk, p, deadline - perf_counter(), mip_rel_gap)
                if np.isfinite(ub):
                    bound = min(bound, max(ub, value))
                if x_chosen is not None:
                    x_chosen = kept[x_chosen].tolist()
                    x_value = _savings(R, x_chosen)
                    if x_value >= value - 1e-9 * max(value, 1.0):
                        chosen, value, used = x_chosen, x_value, "exact"
            else:
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
    gap = _rel_gap(objective, min(lower, objective), False)
    if res_status is not None or gap == 0:
        status = _status_text(res_status, gap)
    reached = np.isfinite(cur)
    for s in order:
        reached[T.indices[T.indptr[s]:T.indptr[s + 1]]] = True
    sol = SitingSolution(chosen=tuple(order), gains=tuple(glist), covered=float(w[reached].sum()), total=total,
                         objective=objective, bound=float(min(lower, objective)), gap=float(gap), method=used,
                         status=status, time_s=perf_counter() - t0)
    log.info("p-median p=%d: %d sites save %.1f person-minutes (%s, %s, gap %.3g%%, %.2fs)", p, len(order),
             saved, sol.method, sol.status, 100 * sol.gap, sol.time_s)
    return sol


def _pmedian_swap(R: sp.csr_array, chosen: list[int], deadline, max_passes: int = 10_000) -> tuple[list[int], int]:
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
            pos, own = _rows_of(Rc.indptr, js)
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
    lo, hi = R.indptr[s], R.indptr[s + 1]
    return float(np.maximum(R.data[lo:hi] - best[R.indices[lo:hi]], 0.0).sum())


def _savings(R: sp.csr_array, chosen) -> float:
    best = np.zeros(R.shape[1])
    for s in chosen:
        lo, hi = R.indptr[s], R.indptr[s + 1]
        np.maximum.at(best, R.indices[lo:hi], R.data[lo:hi])
    return float(best.sum())


def _pmedian_milp(R, p, time_limit_s, mip_rel_gap):
    """Exact p-median on savings: y_i binary, x_e ∈ [0,1] per useful pair, Σ_i x_ij ≤ 1, x_e ≤ y_i."""
    m = R.shape[1]
    useful = np.flatnonzero(np.diff(R.indptr) > 0)
    if useful.size == 0:
        return [], 0.0, 0
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
    res = _run_milp(c, integrality, cons, np.ones(k + ne), time_limit_s, mip_rel_gap)
    ub = _milp_bound(res, -1.0)
    if res.x is None:
        return None, ub, res.status
    return useful[res.x[:k] > 0.5].tolist(), ub, res.status


# ------------------------------------------------------------------------------------------ coverage curve


def coverage_curve(cover, w, max_sites: int, *, covered0=None) -> CoverageCurve:
    """Greedy coverage curve: covered share after 0, 1, ..., ``max_sites`` new sites.

    Lazy greedy with a heap (each candidate's gain is recomputed only when it reaches the top), so a curve
    over thousands of candidates costs little more than one pass over the matrix.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> sites, share = coverage_curve(sp.csr_array(np.eye(2)), np.array([3.0, 1.0]), 2)
    >>> sites.tolist(), share.tolist()
    ([0, 1, 2], [0.0, 0.75, 1.0])
    """
    A0 = _check_cover(cover)
    n, m = A0.shape
    w = _check_vector(w, m, "w", "demand points")
    max_sites = _check_p(max_sites, n)
    covered0 = _check_covered0(covered0, m)
    total = float(w.sum())
    base = float(w[covered0].sum())
    reach = np.diff(sp.csc_array(A0).indptr) > 0
    A, v = _reduce_demand(A0, w, (~covered0) & (w > 0) & reach)
    unc = np.ones(A.shape[1], dtype=bool)
    gains0 = A @ v
    heap = [(-float(gains0[i]), i) for i in range(n) if gains0[i] > 0]
    heapq.heapify(heap)
    chosen: list[int] = []
    glist: list[float] = []
    while heap and len(chosen) < max_sites:
        _, i = heapq.heappop(heap)
        cols = A.indices[A.indptr[i]:A.indptr[i + 1]]
        g = float(v[cols[unc[cols]]].sum())
        if g <= 0:
            continue
        if heap and (-g, i) > heap[0]:
            heapq.heappush(heap, (-g, i))
            continue
        unc[cols] = False
        chosen.append(i)
        glist.append(g)
    covered = base + np.concatenate([[0.0], np.cumsum(glist)])
    share = covered / total if total > 0 else np.full(covered.size, math.nan)
    return CoverageCurve(sites=np.arange(covered.size), share=share, chosen=tuple(chosen), gains=tuple(glist))
