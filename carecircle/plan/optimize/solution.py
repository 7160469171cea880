"""Solver results: :class:`SitingSolution` and the typed :class:`SolverStatus` that says how it ended."""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass

__all__ = ["SitingSolution", "SolverStatus"]


class SolverStatus(enum.StrEnum):
    """How a solver call ended. Each member's value is the text users see for it (``SitingSolution.status``)
    except :attr:`HEURISTIC` and :attr:`TOO_LARGE`, whose text also names the bound's source, and p-median's
    :attr:`OPTIMAL_WITHIN_GAP` when its Lagrangian bound alone proves it (text "greedy: Lagrangian bound").

    Proven answers: :attr:`OPTIMAL` (gap 0) and :attr:`OPTIMAL_WITHIN_GAP` (HiGHS stopped at ``mip_rel_gap``).
    Stopped exact solves (the answer is the best found, with its proven bound): :attr:`TIME_LIMIT` (HiGHS's own
    limit), :attr:`CUT_OFF` (the child process was killed at the deadline, or no time was left to start it) and
    :attr:`SOLVER_STOPPED` (any other stop, or a failed child process). No exact solve: :attr:`HEURISTIC`
    (``method`` "greedy" or "greedy+swap") and :attr:`TOO_LARGE` (``method="auto"`` on a model too large for it).
    """

    OPTIMAL = "optimal"
    OPTIMAL_WITHIN_GAP = "optimal within mip_rel_gap"
    TIME_LIMIT = "time limit"
    CUT_OFF = "time limit (exact solve cut off; heuristic answer with its proven bound)"
    SOLVER_STOPPED = "solver stopped"
    HEURISTIC = "heuristic"
    TOO_LARGE = "model too large for exact"


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
    status : short text for people, e.g. "optimal", "time limit", "greedy: submodular bound" (the bound's source,
        and why no exact solve ran when the model was too large); what summary.json, the CLI and report show.
    time_s : wall time in seconds.
    status_kind : the same as a :class:`SolverStatus` member, for code to test.
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
    status_kind: SolverStatus

    @property
    def share(self) -> float:
        """Covered share of the total weight (0..1; NaN when the total is 0)."""
        return self.covered / self.total if self.total > 0 else math.nan

