"""HiGHS MILP (and LP) solves within a hard wall-time limit: in-process, or in a child process killed at the deadline.

This module imports only the standard library, numpy and scipy, never carecircle: the child process runs this
very file as a script (``python -P .../_milp.py``), so that it starts in the time it takes to import scipy
(about 0.4 s) rather than carecircle's (about 1 s, with geopandas). The child and the in-process path call the
same :func:`solve_milp` / :func:`solve_lp_duals`. ``multiprocessing`` (spawn or forkserver) is not used: both
re-run the caller's ``__main__`` script in the child, which a script without an ``if __name__ == "__main__"``
guard would not survive.

Protocol: the parent writes the pickled ``(kind, args, deadline_epoch, mip_rel_gap)`` to the child's stdin; the
child writes the pickled ``(x, status, mip_dual_bound)`` (plain ``int`` status) to stdout.
"""

from __future__ import annotations

import enum
import logging
import math
import pickle
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from time import perf_counter

import numpy as np
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, linprog, milp

log = logging.getLogger(__name__)

#: Seconds a child process needs to start and import scipy; no child is started with less time left.
CHILD_START_S = 1.5

#: A constraint block as the child receives it: (sparse matrix, lower bounds, upper bounds).
ConstraintBlock = tuple[sp.csr_array, np.ndarray, np.ndarray]


class MilpStatus(enum.IntEnum):
    """How a MILP or LP solve ended: HiGHS's own ``res.status`` codes (as ``scipy.optimize.milp`` returns them),
    plus :attr:`CUT_OFF`, ours, when the solve was not run to HiGHS's own end."""

    OPTIMAL = 0
    LIMIT = 1  #: HiGHS stopped at its own time (or iteration) limit
    INFEASIBLE = 2
    UNBOUNDED = 3
    FAILED = 4  #: any other HiGHS stop, or the child process failed
    CUT_OFF = 5  #: cut off at the call's deadline (the child killed) or not started for lack of time


@dataclass(frozen=True)
class MilpResult:
    """Result of one solve: the solution vector (``None`` when there is none), status, HiGHS's dual bound."""

    x: np.ndarray | None
    status: MilpStatus
    mip_dual_bound: float


def _status(code: int) -> MilpStatus:
    try:
        return MilpStatus(int(code))
    except ValueError:
        return MilpStatus.FAILED


def solve_milp(c: np.ndarray, integrality: np.ndarray, cons: Sequence[ConstraintBlock], ub: np.ndarray,
               time_limit_s: float, mip_rel_gap: float) -> MilpResult:
    """Minimise ``c @ x`` with HiGHS, ``0 <= x <= ub``, constraints ``lo <= a @ x <= hi``, within ``time_limit_s``
    seconds (HiGHS's own limit, checked between branch-and-bound nodes; not hard)."""
    res = milp(c, integrality=integrality, bounds=Bounds(np.zeros_like(c), ub),
               constraints=[LinearConstraint(a, lo, hi) for a, lo, hi in cons],
               options={"time_limit": max(float(time_limit_s), 0.01), "mip_rel_gap": float(mip_rel_gap),
                        "disp": False})
    b = getattr(res, "mip_dual_bound", None)
    return MilpResult(None if res.x is None else np.asarray(res.x), _status(res.status),
                      math.nan if b is None else float(b))


def solve_lp_duals(c: np.ndarray, a_ub: sp.csr_array, b_ub: np.ndarray, bounds: np.ndarray,
                   time_limit_s: float) -> MilpResult:
    """Minimise ``c @ x`` subject to ``a_ub @ x <= b_ub`` and ``bounds`` with HiGHS's interior-point solver.

    ``x`` of the result is the primal solution followed by the row duals (``-marginals``, so >= 0), or ``None``
    (status :attr:`MilpStatus.CUT_OFF`) when the solver gave no duals.
    """
    res = linprog(c, A_ub=a_ub, b_ub=b_ub, bounds=bounds, method="highs-ipm",
                  options={"time_limit": float(time_limit_s)})
    marg = getattr(getattr(res, "ineqlin", None), "marginals", None)
    if res.x is None or marg is None:
        return MilpResult(None, MilpStatus.CUT_OFF, math.nan)
    return MilpResult(np.concatenate([res.x, -np.asarray(marg)]), _status(res.status), math.nan)


def child_main() -> None:
    """The child process's program: read the task from stdin, solve it, write the result to stdout."""
    kind, args, deadline_epoch, mip_rel_gap = pickle.loads(sys.stdin.buffer.read())
    left = deadline_epoch - time.time()
    limit = left - min(max(0.1 * left, 0.3), 2.0)  # time to stop, pickle and write back before the kill
    res = MilpResult(None, MilpStatus.CUT_OFF, math.nan)
    if limit > 0.05 and kind == "milp":
        res = solve_milp(*args, limit, mip_rel_gap)
    elif limit > 0.05 and kind == "lp":
        res = solve_lp_duals(*args, limit)
    out = (res.x, int(res.status), res.mip_dual_bound)  # plain types: the parent has no ``__main__.MilpStatus``
    sys.stdout.buffer.write(pickle.dumps(out, protocol=pickle.HIGHEST_PROTOCOL))
    sys.stdout.buffer.flush()


class Child:
    """A child process (``sys.executable`` running this file) solving one pickled task, talked to from a thread
    so that the parent can work meanwhile; killed when its time is up.

    Parameters
    ----------
    kind : "milp" (``args`` as for :func:`solve_milp` less the last two) or "lp" (as for :func:`solve_lp_duals`
        less the last one).
    args : the model.
    deadline : ``time.perf_counter()`` value at which the child is killed (seconds).
    mip_rel_gap : relative gap at which HiGHS stops.

    Raises
    ------
    OSError
        When no child process can be started (e.g. a frozen application without this file on disk).
    """

    def __init__(self, kind: str, args: tuple, deadline: float, mip_rel_gap: float) -> None:
        self.out: bytes | None = None
        self.err = b""
        payload = pickle.dumps((kind, args, time.time() + (deadline - perf_counter()), float(mip_rel_gap)),
                               protocol=pickle.HIGHEST_PROTOCOL)
        # -P: the script's folder (this package) must not shadow top-level modules in the child
        self.proc = subprocess.Popen([sys.executable, "-P", __file__], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self._thread = threading.Thread(target=self._talk, args=(payload,), daemon=True)
        self._thread.start()

    def _talk(self, payload: bytes) -> None:
        try:
            self.out, self.err = self.proc.communicate(payload)
        except (OSError, ValueError):  # the pipes closed under a kill
            self.out = None

    def run(self, deadline: float, background: Callable[[], bool] | None = None) -> MilpResult:
        """Wait until the child answers or ``deadline`` (``perf_counter`` seconds); call ``background()`` (one
        unit of work, False when it has nothing left to do) meanwhile. Killed → status ``CUT_OFF``."""
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
            return MilpResult(None, MilpStatus.CUT_OFF, math.nan)
        if self.proc.returncode != 0 or not self.out:
            last = self.err.decode(errors="replace").strip().splitlines()[-1:] or [f"exit {self.proc.returncode}"]
            log.warning("solver child process failed (%s); keeping the heuristic answer", last[0])
            return MilpResult(None, MilpStatus.FAILED, math.nan)
        x, status, bound = pickle.loads(self.out)
        return MilpResult(x, _status(status), bound)


def run_milp(c: np.ndarray, integrality: np.ndarray, constraints: Sequence[LinearConstraint], ub: np.ndarray,
             time_limit_s: float, mip_rel_gap: float, background: Callable[[], bool] | None = None, *,
             child_min_nnz: int) -> MilpResult:
    """Solve a MILP with HiGHS within ``time_limit_s`` seconds of wall time, enforced.

    Models with at least ``child_min_nnz`` constraint nonzeros run in a child process that is killed when the
    time is up; the result is then ``x=None`` and ``status=CUT_OFF``, and the caller keeps its heuristic answer
    and bound. ``background`` (a callable doing one unit of work) runs in the parent while the child solves.
    """
    remaining = float(time_limit_s)
    deadline = perf_counter() + remaining
    nnz = sum(int(sp.csr_array(con.A).nnz) for con in constraints)
    if remaining <= 0.05:
        return MilpResult(None, MilpStatus.CUT_OFF, math.nan)
    cons = [(sp.csr_array(con.A), np.asarray(con.lb, dtype=float), np.asarray(con.ub, dtype=float))
            for con in constraints]
    if nnz < child_min_nnz:
        return solve_milp(c, integrality, cons, ub, remaining, mip_rel_gap)
    if remaining <= CHILD_START_S:
        return MilpResult(None, MilpStatus.CUT_OFF, math.nan)
    try:
        child = Child("milp", (c, integrality, cons, ub), deadline, mip_rel_gap)
    except OSError as exc:  # no interpreter to start (e.g. a frozen application): HiGHS's own limit only
        log.warning("cannot start a child process for the MILP (%s); solving in-process", exc)
        return solve_milp(c, integrality, cons, ub, remaining, mip_rel_gap)
    log.debug("MILP with %d nonzeros solving in child process %d", nnz, child.proc.pid)
    return child.run(deadline, background)


if __name__ == "__main__":
    child_main()
