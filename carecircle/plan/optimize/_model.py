"""Input checks and the exact model reduction (dropping and merging demand columns) every solver shares."""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike

from carecircle.errors import InputError

#: A candidate × demand matrix as the solvers accept it: any scipy.sparse matrix or array, or a 2-D array.
MatrixLike = sp.sparray | sp.spmatrix | np.ndarray

METHODS = ("auto", "exact", "greedy", "greedy+swap")


def check_matrix(mat: MatrixLike, name: str) -> sp.csr_array:
    """``mat`` as a CSR array with sorted indices; a one-line :class:`InputError` when it is not 2-D or empty."""
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


def check_cover(cover: MatrixLike) -> sp.csr_array:
    """The cover matrix as 0/1 floats (nonzero = covers), CSR with sorted indices."""
    mat = check_matrix(cover, "cover")
    mat = sp.csr_array(mat != 0, dtype=np.float64)
    mat.eliminate_zeros()
    mat.sort_indices()
    return mat


def check_vector(x: ArrayLike, n: int, name: str, what: str, *, allow_inf: bool = False) -> np.ndarray:
    """``x`` as ``n`` floats >= 0 (finite unless ``allow_inf``); ``what`` names what there is one value per."""
    arr = np.asarray(x, dtype=np.float64)
    if arr.shape != (n,):
        raise InputError(f"{name} has shape {arr.shape} but the matrix has {n} {what}; pass one value per {what[:-1]}")
    bad = np.flatnonzero(np.isnan(arr) | (arr < 0) | (~allow_inf & np.isinf(arr)))
    if bad.size:
        shown = ", ".join(f"[{i}]={arr[i]:g}" for i in bad[:5])
        raise InputError(f"{name} must be finite and >= 0; {bad.size} values are not ({shown}); fix or drop them")
    return arr


def check_covered0(covered0: ArrayLike | None, n: int) -> np.ndarray:
    """One bool per demand point (all False when ``None``)."""
    if covered0 is None:
        return np.zeros(n, dtype=bool)
    arr = np.asarray(covered0)
    if arr.shape != (n,):
        raise InputError(f"covered0 has shape {arr.shape} but the matrix has {n} demand points; "
                         "pass one bool per demand point")
    return arr.astype(bool)


def check_p(p: int, n: int) -> int:
    """The number of new sites asked, an integer in ``1..n``."""
    if isinstance(p, bool) or not isinstance(p, int | np.integer):
        raise InputError(f"p must be an integer number of new sites, got {p!r}")
    if p < 1:
        raise InputError(f"{p} new sites asked (--new-sites); ask for at least 1")
    if p > n:
        raise InputError(f"{p} new sites asked (--new-sites) but there are only {n} candidate sites; ask for fewer "
                         "or add candidates")
    return int(p)


def check_common(time_limit_s: float, method: str, mip_rel_gap: float) -> None:
    """The time limit (seconds > 0), ``method`` and ``mip_rel_gap`` every solver takes."""
    if not (isinstance(time_limit_s, int | float) and time_limit_s > 0 and math.isfinite(time_limit_s)):
        raise InputError(f"time_limit_s={time_limit_s!r} must be a positive number of seconds")
    if method not in METHODS:
        raise InputError(f"method={method!r} is not one of {', '.join(METHODS)}")
    if not (0 <= mip_rel_gap < 1):
        raise InputError(f"mip_rel_gap={mip_rel_gap!r} must be in [0, 1)")


def check_cost_budget(cost: ArrayLike | None, budget: float | None, n: int) -> tuple[np.ndarray | None, float | None]:
    """Per-candidate ``cost`` and the ``budget`` (same unit); a budget needs costs and must afford one site."""
    if cost is not None:
        cost = check_vector(cost, n, "cost", "candidates")
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


def rows_of(indptr: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions into ``indices`` of the given rows (CSR) and the row (position in ``rows``) of each."""
    starts, ends = indptr[rows], indptr[rows + 1]
    lens = ends - starts
    total = int(lens.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    owner = np.repeat(np.arange(rows.size), lens)
    offs = np.arange(total) - np.repeat(np.cumsum(lens) - lens, lens)
    return np.repeat(starts, lens) + offs, owner


def reduce_demand(A: sp.csr_array, v: np.ndarray, keep: np.ndarray) -> tuple[sp.csr_array, np.ndarray]:
    """Drop demand columns not in ``keep``; merge columns with identical candidate sets (weights summed).

    The reduction every solver applies before it works: it changes no objective value.

    Parameters
    ----------
    A : sparse 0/1 cover (candidates × demand points), CSR.
    v : demand weights (persons), one per demand point.
    keep : bool per demand point; False drops it (already covered, no weight, out of every candidate's reach).

    Returns
    -------
    The reduced cover (candidates × groups, float 0/1, CSR) and the group weights (persons, summed).

    Notes
    -----
    Grouping is exact: columns are hashed on their candidate sets and every member is then compared with its
    group's representative; a (practically impossible) hash collision leaves the member in a group of its own.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> A, v = reduce_demand(sp.csr_array(np.array([[1.0, 1.0, 0.0]])), np.array([1.0, 2.0, 4.0]), np.ones(3, bool))
    >>> A.shape, v.tolist()
    ((1, 2), [4.0, 3.0])
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
    pos_j, own_j = rows_of(D.indptr, np.arange(m))
    pos_r, _ = rows_of(D.indptr, rep)
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



def covered_weight(A: sp.csr_array, v: np.ndarray, chosen: Iterable[int]) -> float:
    """Weight (persons) of the demand points any of the ``chosen`` rows of ``A`` covers."""
    chosen = np.asarray(list(chosen), dtype=np.int64)
    if chosen.size == 0 or A.shape[1] == 0:
        return 0.0
    pos, _ = rows_of(A.indptr, chosen)
    hit = np.zeros(A.shape[1], dtype=bool)
    hit[A.indices[pos]] = True
    return float(v[hit].sum())
