"""Model sizes at which the solvers change strategy (module attributes, read at call time, so tests can lower them)."""

#: Above this many nonzeros in the reduced model, ``method="auto"`` answers with greedy + swap and a
#: Lagrangian/LP bound instead of a MILP: HiGHS does not get through presolve and the root LP of larger models in
#: the time (measured: 657k nonzeros, 30 s limit, 44-67 s wall before the limit was made hard).
EXACT_MAX_NNZ = 600_000

#: p-median: ``method="auto"`` solves the MILP only up to this many (candidate, demand) pairs after fixing
#: (the strong formulation has ~3 nonzeros per pair, and HiGHS overruns its time limit on larger ones).
PMEDIAN_EXACT_MAX_PAIRS = 300_000

#: Large MCLP models whose Lagrangian gap exceeds this get the LP bound from a child process before the MILP.
LP_BOUND_MIN_GAP = 0.002

#: Models with at least this many constraint nonzeros are solved in a child process that is killed at the
#: call's deadline (HiGHS can overrun its own ``time_limit`` in presolve and the root LP: 44-67 s on a 30 s
#: limit, measured). Smaller models run in-process, where starting a child (about 1 s to import scipy) would cost
#: more than the solve; HiGHS checks its limit between branch-and-bound nodes, and their presolve takes
#: milliseconds. Models this large also get an iterated swap search in the parent while the child solves.
MILP_CHILD_MIN_NNZ = 20_000
