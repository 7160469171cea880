"""Greedy coverage curve: the covered share after each of the first new sites, by lazy greedy."""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike

from carecircle.plan.optimize._model import (
    MatrixLike,
    check_cover,
    check_covered0,
    check_p,
    check_vector,
    reduce_demand,
)


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


def coverage_curve(cover: MatrixLike, w: ArrayLike, max_sites: int, *,
                   covered0: ArrayLike | None = None) -> CoverageCurve:
    """Greedy coverage curve: covered share after 0, 1, ..., ``max_sites`` new sites.

    Lazy greedy with a heap (each candidate's gain is recomputed only when it reaches the top), so a curve
    over thousands of candidates costs little more than one pass over the matrix.

    Parameters
    ----------
    cover, w, covered0 : as in :func:`~carecircle.plan.optimize.maximal_covering` (weights in persons).
    max_sites : largest number of new sites on the curve.

    Returns
    -------
    CoverageCurve whose ``share`` is the covered share of the total weight (0..1) after 0, 1, ... sites.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> sites, share = coverage_curve(sp.csr_array(np.eye(2)), np.array([3.0, 1.0]), 2)
    >>> sites.tolist(), share.tolist()
    ([0, 1, 2], [0.0, 0.75, 1.0])
    """
    A0 = check_cover(cover)
    n, m = A0.shape
    w = check_vector(w, m, "w", "demand points")
    max_sites = check_p(max_sites, n)
    covered0 = check_covered0(covered0, m)
    total = float(w.sum())
    base = float(w[covered0].sum())
    reach = np.diff(sp.csc_array(A0).indptr) > 0
    A, v = reduce_demand(A0, w, (~covered0) & (w > 0) & reach)
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
