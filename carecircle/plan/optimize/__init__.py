"""Numeric core of site suggestion: MCLP, partial set cover and p-median over a sparse coverage matrix.

No geo imports: everything works on a sparse ``cover`` matrix (candidates × demand points, nonzero where
the candidate is within the walking threshold of the demand point), demand weights ``w`` (elderly persons)
and the demand already covered by existing facilities (``covered0``), which stay fixed. ``carecircle.plan.siting``
wraps these functions at the GeoDataFrame level.

Every solver returns a :class:`SitingSolution` that says what it is: ``method`` ("exact", "greedy" or
"greedy+swap"), ``status`` (text) and ``status_kind`` (a :class:`SolverStatus`), and a proven ``bound`` with
the relative ``gap``. Exact solutions come from ``scipy.optimize.milp`` (HiGHS) on a reduced, sparse model:
demand that is already covered, has no weight or is out of every candidate's reach is dropped, and demand points
reached by exactly the same candidates are merged (weights summed), which changes no objective value. A greedy
solution (improved by 1-swap local search) is always computed first and kept when the MILP stops at its time limit
with something worse.

Bounds: greedy's submodular bound, then a Lagrangian (subgradient) bound; on large MCLP models whose gap stays
above 0.2%, the LP bound from HiGHS's interior-point solver, evaluated by our own code at the LP dual's
multipliers (so it is valid whatever the solver's tolerances), and the exact MILP over the LP's support ("lp+milp").
Set cover's lower bound is the least ``p`` whose MCLP bound reaches the target. While a solver runs, an iterated
swap search improves the best set. The time limit is hard: MILPs and LPs of 20,000+ nonzeros run in a child
process that is killed at the deadline, and the answer then says the exact solve was cut off.

Nothing here builds a dense candidate × demand matrix. Ties are broken by the lowest candidate index.

Modules: one per problem (:mod:`.mclp`, :mod:`.set_cover`, :mod:`.pmedian`, :mod:`.curve`), the results
(:mod:`.solution`), the size thresholds (:mod:`.limits`), and private shared parts: input checks and model
reduction (``_model``), greedy and swap searches (``_search``), bounds and gaps (``_bounds``), the time-limited
HiGHS solves and their child process (``_milp``).

Example
-------
>>> import numpy as np, scipy.sparse as sp
>>> cover = sp.csr_array(np.array([[1, 1, 0, 0], [0, 1, 1, 0], [0, 0, 1, 1]]))
>>> sol = maximal_covering(cover, np.array([10.0, 5.0, 5.0, 10.0]), 2)
>>> sol.chosen, sol.gains, sol.method, sol.status
((0, 2), (15.0, 15.0), 'greedy+swap', 'optimal')
>>> sol.status_kind is SolverStatus.OPTIMAL
True
"""

from carecircle.plan.optimize import limits
from carecircle.plan.optimize._model import reduce_demand
from carecircle.plan.optimize.curve import CoverageCurve, coverage_curve
from carecircle.plan.optimize.mclp import maximal_covering
from carecircle.plan.optimize.pmedian import p_median
from carecircle.plan.optimize.set_cover import set_covering
from carecircle.plan.optimize.solution import SitingSolution, SolverStatus

__all__ = [
    "CoverageCurve",
    "SitingSolution",
    "SolverStatus",
    "coverage_curve",
    "limits",
    "maximal_covering",
    "p_median",
    "reduce_demand",
    "set_covering",
]
