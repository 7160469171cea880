"""How evenly a value is shared across a population: the population-weighted Gini coefficient and Lorenz curve.

Used for accessibility scores (:mod:`carecircle.core.access`): each demand point holds ``weight`` persons who all
have the point's ``value``. The Lorenz curve orders the persons from the lowest value up and plots the share of the
population against the share of the value they hold; the Gini coefficient is one minus twice the area under it
(0: everybody has the same; towards 1: a few hold everything).

>>> round(gini([0, 0, 1, 1], [1, 1, 1, 1]), 6)   # half the people hold everything
0.5
>>> round(gini([2, 2, 2], [5, 1, 9]), 6)
0.0
"""

from __future__ import annotations

import numpy as np


def lorenz(values, weights) -> tuple[np.ndarray, np.ndarray]:
    """The population-weighted Lorenz curve: cumulative population share and cumulative value share.

    Both arrays start at 0 and end at 1 (one point per distinct value, ties merged, so the curve does not depend
    on how equal values are ordered). Points with zero weight are left out. Raises ``ValueError`` when no one
    has a weight, a value or weight is negative, or the total value is zero (no curve to draw).
    """
    x, w = _checked(values, weights)
    order = np.argsort(x, kind="stable")
    x, w = x[order], w[order]
    starts = np.flatnonzero(np.r_[True, x[1:] != x[:-1]])  # one step per distinct value
    pop = np.add.reduceat(w, starts)
    held = np.add.reduceat(w * x, starts)
    if held.sum() <= 0:
        raise ValueError("the total value is zero: every weighted value is 0, so there is nothing to share")
    return np.r_[0.0, np.cumsum(pop) / pop.sum()], np.r_[0.0, np.cumsum(held) / held.sum()]


def gini(values, weights) -> float:
    """Population-weighted Gini coefficient of ``values`` (0 = equal, → 1 = concentrated).

    Computed as one minus twice the trapezoid area under :func:`lorenz`, which for a weighted discrete population
    equals the mean absolute difference over twice the mean, ``ΣΣ wᵢwⱼ|xᵢ−xⱼ| / (2 (Σw)² x̄)``. Returns 0 when
    every value is 0 (nobody has anything, equally).
    """
    x, w = _checked(values, weights)
    if (w * x).sum() <= 0:
        return 0.0
    p, share = lorenz(x, w)
    return float(1.0 - np.sum(np.diff(p) * (share[1:] + share[:-1])))


def _checked(values, weights) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(values, dtype=float).ravel()
    w = np.asarray(weights, dtype=float).ravel()
    if x.shape != w.shape:
        raise ValueError(f"{len(x)} values but {len(w)} weights")
    if not (np.isfinite(x).all() and np.isfinite(w).all()):
        raise ValueError("values and weights must be finite numbers")
    if (x < 0).any() or (w < 0).any():
        raise ValueError("values and weights must be zero or more")
    keep = w > 0
    if not keep.any():
        raise ValueError("no one to compare: every weight is 0")
    return x[keep], w[keep]
