"""Heuristic search shared by the solvers: greedy, 1-swap local search and the iterated swap searches."""

from __future__ import annotations

import math
from collections.abc import Iterable
from time import perf_counter

import numpy as np
import scipy.sparse as sp

from carecircle.plan.optimize._model import covered_weight, rows_of


class Greedy:
    """Vectorised greedy on a reduced 0/1 cover ``A`` (candidates × demand) with weights ``v`` (persons)."""

    def __init__(self, A: sp.csr_array, v: np.ndarray) -> None:
        self.A = A
        self.Ac = sp.csc_array(A)
        self.Ac.sort_indices()
        self.v = v

    def run(self, p: int, *, cost: np.ndarray | None = None, budget: float | None = None, start: Iterable[int] = (),
            stop_at: float | None = None, deadline: float | None = None) -> tuple[list[int], list[float], float, float]:
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
        pos, own = rows_of(Ac.indptr, new)
        if pos.size:
            gains -= np.bincount(Ac.indices[pos], weights=v[new][own], minlength=gains.size)
        np.maximum(gains, 0.0, out=gains)
        gains[s] = 0.0
        return g

    @staticmethod
    def _optimistic(gains: np.ndarray, p: int, cost: np.ndarray | None, budget: float | None) -> float:
        """Upper bound on what ``p`` more sites (within the remaining budget) can add, by submodularity."""
        k = min(p, gains.size)
        top = float(np.partition(gains, gains.size - k)[gains.size - k:].sum()) if k else 0.0
        if budget is None:
            return top
        return min(top, fractional_knapsack(gains, cost, budget))

    def value(self, chosen: Iterable[int]) -> float:
        """Weight (persons) the ``chosen`` sites cover together."""
        return covered_weight(self.A, self.v, chosen)

    def order(self, chosen: Iterable[int]) -> tuple[list[int], list[float]]:
        """Greedy order of ``chosen`` among themselves; sites adding nothing are dropped."""
        chosen = sorted(int(c) for c in chosen)
        if not chosen:
            return [], []
        sub = Greedy(sp.csr_array(self.A[chosen]), self.v)
        idx, gains, _, _ = sub.run(len(chosen))
        return [chosen[i] for i in idx], gains


def fractional_knapsack(gains: np.ndarray, cost: np.ndarray, budget: float) -> float:
    """Largest total gain of sites within ``budget`` when a site may be taken in part (an upper bound)."""
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


def swap(A: sp.csr_array, Ac: sp.csc_array, v: np.ndarray, chosen: list[int], *, cost: np.ndarray | None = None,
         budget: float | None = None, deadline: float | None = None, max_passes: int = 10_000) -> tuple[list[int], int]:
    """1-swap local search (best improving swap per pass). Returns the improved set and the number of swaps."""
    n, m = A.shape
    chosen = list(chosen)
    if not chosen:
        return chosen, 0
    cnt = np.zeros(m, dtype=np.int64)
    pos, _ = rows_of(A.indptr, np.asarray(chosen))
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
            p2, own = rows_of(Ac.indptr, jj)
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


class LocalSearch:
    """Iterated swap search: drop a few of the best set's sites at random, refill greedily, 1-swap; keep the
    result if it covers more. ``step()`` is one such round; it returns False after ``max_stall`` rounds without
    improvement. Seeded, so a run that is not stopped by the clock is reproducible."""

    def __init__(self, g: Greedy, chosen: Iterable[int], p: int, *, cost: np.ndarray | None = None,
                 budget: float | None = None, seed: int = 0, max_stall: int = 300) -> None:
        self.g, self.p, self.cost, self.budget = g, p, cost, budget
        self.best = list(chosen)
        self.value = g.value(self.best)
        self.rng = np.random.default_rng(seed)
        self.stall, self.max_stall, self.rounds = 0, max_stall, 0

    def step(self, deadline: float | None = None) -> bool:
        """One round of the search; False once it has stalled."""
        if self.stall >= self.max_stall or len(self.best) < 2:
            return False
        self.rounds += 1
        k = int(self.rng.integers(2, max(2, len(self.best) // 4) + 1))
        drop = set(self.rng.choice(len(self.best), k, replace=False).tolist())
        keep = [s for i, s in enumerate(sorted(self.best)) if i not in drop]
        cand, _, _, _ = self.g.run(self.p, cost=self.cost, budget=self.budget, start=keep, deadline=deadline)
        cand, _ = swap(self.g.A, self.g.Ac, self.g.v, cand, cost=self.cost, budget=self.budget, deadline=deadline)
        val = self.g.value(cand)
        if val > self.value + 1e-9 * max(self.value, 1.0):
            self.best, self.value, self.stall = cand, val, 0
        else:
            self.stall += 1
        return self.stall < self.max_stall


class CoverSearch:
    """Fewer sites for a set cover: an iterated swap search (:class:`LocalSearch`) for ``len(best) - 1`` sites
    that still add ``need``, started from the best cover less its least useful site; on success, again."""

    def __init__(self, g: Greedy, chosen: Iterable[int], need: float, *, seed: int = 0, max_stall: int = 200) -> None:
        self.g, self.need, self.seed, self.max_stall = g, need, seed, max_stall
        self.best = list(chosen)
        self._next()

    def _next(self) -> None:
        self.ils: LocalSearch | None = None
        if len(self.best) < 3:
            return
        full = self.g.value(self.best)
        loss = [full - self.g.value([c for c in self.best if c != s]) for s in self.best]
        start = [c for i, c in enumerate(self.best) if i != int(np.argmin(loss))]
        self.ils = LocalSearch(self.g, start, len(start), seed=self.seed, max_stall=self.max_stall)

    def step(self, deadline: float | None = None) -> bool:
        """One round of the search; False when no fewer sites are being looked for any more."""
        if self.ils is None:
            return False
        more = self.ils.step(deadline)
        if self.ils.value >= self.need:
            self.best = prune(self.g.A, self.g.v, self.ils.best, self.need, np.ones(self.g.A.shape[0]))
            self._next()
            return self.ils is not None
        return more



def prune(A: sp.csr_array, v: np.ndarray, chosen: Iterable[int], need: float, unit: np.ndarray) -> list[int]:
    """Drop sites (most expensive, latest first) while the rest still reach ``need``."""
    chosen = list(chosen)
    for s in sorted(chosen, key=lambda s: (-unit[s], -chosen.index(s))):
        rest = [c for c in chosen if c != s]
        if covered_weight(A, v, rest) >= need:
            chosen = rest
    return chosen

