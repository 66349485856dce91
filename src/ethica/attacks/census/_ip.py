"""The integer program that rebuilds one block's records from its published counts.

Unknowns: ``x_c``, the number of people in record cell ``c`` (a combination of the
attributes' categories). Each published count ``t_k`` is a sum of cells, ``sum_c A_kc x_c``.

- Exact tables: find integers ``x >= 0`` with ``A x = t`` (any solution).
- Noisy tables (e.g. a DP release): minimise the total deviation ``sum_k |A_k x - t_k|``
  over integers ``x >= 0`` (least absolute deviation, with split slack variables).

Uniqueness is proved by re-solving with a *no-good cut* excluding the solution ``x*``:
binaries ``u_c`` and ``d_c`` with ``x_c >= (x*_c + 1) u_c``, ``x_c <= x*_c - 1 +
U_c (1 - d_c)`` and ``sum(u) + sum(d) >= 1`` force some cell up or down, and (noisy case)
the deviation is capped at its optimum. The solution is unique iff this is infeasible.
Solved by HiGHS branch and bound through ``scipy.optimize.milp``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray
from scipy.optimize import Bounds, LinearConstraint, milp

__all__ = ["BlockProblem", "BlockSolution", "solve_block"]

_TOLERANCE = 1e-6
_INFEASIBLE = 2


@dataclass(frozen=True)
class BlockProblem:
    """One block's published counts as a linear system over its record cells.

    ``incidence[k, c]`` is 1 when published count ``k`` includes cell ``c``;
    ``upper[c]`` bounds ``x_c`` (0 fixes the cell empty). ``side`` holds hard inequality
    rows ``lower <= S x <= upper`` (e.g. a published median), or is ``None``.
    """

    incidence: sp.csr_matrix
    targets: NDArray[np.float64]
    upper: NDArray[np.float64]
    exact: bool
    side: LinearConstraint | None = None


@dataclass(frozen=True)
class BlockSolution:
    """The rebuilt cell counts, whether they are provably unique, and their deviation."""

    counts: NDArray[np.int64]
    unique: bool | None
    deviation: float


def _solve(
    cost: NDArray[np.float64],
    integrality: NDArray[np.int64],
    bounds: Bounds,
    constraints: list[LinearConstraint],
) -> tuple[int, NDArray[np.float64] | None, float]:
    result = milp(cost, integrality=integrality, bounds=bounds, constraints=constraints)
    if result.x is None:
        return int(result.status), None, float("nan")
    return int(result.status), np.asarray(result.x), float(result.fun)


def _pad(constraint: LinearConstraint, width: int) -> LinearConstraint:
    """The same rows over ``width`` variables (new columns with zero coefficients)."""
    matrix = sp.csr_matrix(constraint.A)
    extra = sp.csr_matrix((matrix.shape[0], width - matrix.shape[1]))
    return LinearConstraint(sp.hstack([matrix, extra], format="csr"), constraint.lb, constraint.ub)


def _base_program(
    problem: BlockProblem,
) -> tuple[NDArray[np.float64], NDArray[np.int64], Bounds, list[LinearConstraint]]:
    rows, cells = problem.incidence.shape
    if problem.exact:
        cost = np.zeros(cells)
        matrix = problem.incidence
        upper = problem.upper
    else:
        eye = sp.identity(rows, format="csr")
        matrix = sp.hstack([problem.incidence, eye, -eye], format="csr")
        cost = np.concatenate([np.zeros(cells), np.ones(2 * rows)])
        upper = np.concatenate([problem.upper, np.full(2 * rows, np.inf)])
    integrality = np.zeros(cost.size, dtype=np.int64)
    integrality[:cells] = 1
    bounds = Bounds(np.zeros(cost.size), upper)
    constraints = [LinearConstraint(matrix, problem.targets, problem.targets)]
    if problem.side is not None:
        constraints.append(_pad(problem.side, cost.size))
    return cost, integrality, bounds, constraints


def solve_block(problem: BlockProblem, *, check_uniqueness: bool = True) -> BlockSolution | None:
    """Solve one block; ``None`` when exact tables admit no non-negative integer records."""
    cost, integrality, bounds, constraints = _base_program(problem)
    status, x, deviation = _solve(cost, integrality, bounds, constraints)
    if x is None:
        if status == _INFEASIBLE:
            return None
        raise RuntimeError(f"HiGHS stopped without a solution (milp status {status}).")
    cells = problem.upper.size
    counts = np.rint(x[:cells]).astype(np.int64)
    unique = _is_unique(problem, counts, deviation) if check_uniqueness else None
    return BlockSolution(counts=counts, unique=unique, deviation=deviation)


def _is_unique(problem: BlockProblem, found: NDArray[np.int64], deviation: float) -> bool:
    cost, integrality, bounds, base = _base_program(problem)
    n_base = cost.size
    cells = found.size
    free = np.flatnonzero(problem.upper > found)  # cells that can go up
    down = np.flatnonzero(found > 0)  # cells that can go down
    n_up, n_down = free.size, down.size
    if n_up + n_down == 0:
        return True
    size = n_base + n_up + n_down
    constraints = [_pad(c, size) for c in base]
    # x_c - (x*_c + 1) u_c >= 0 ; x_c + U_c d_c <= x*_c - 1 + U_c
    up_rows = sp.csr_matrix(
        (
            np.concatenate([np.ones(n_up), -(found[free] + 1.0)]),
            (np.tile(np.arange(n_up), 2), np.concatenate([free, n_base + np.arange(n_up)])),
        ),
        shape=(n_up, size),
    )
    constraints.append(LinearConstraint(up_rows, 0.0, np.inf))
    big = problem.upper[down]
    down_rows = sp.csr_matrix(
        (
            np.concatenate([np.ones(n_down), big]),
            (
                np.tile(np.arange(n_down), 2),
                np.concatenate([down, n_base + n_up + np.arange(n_down)]),
            ),
        ),
        shape=(n_down, size),
    )
    constraints.append(LinearConstraint(down_rows, -np.inf, found[down] - 1.0 + big))
    pick = np.zeros(size)
    pick[n_base:] = 1.0
    constraints.append(LinearConstraint(pick, 1.0, np.inf))
    if not problem.exact:
        slack = np.zeros(size)
        slack[cells:n_base] = 1.0
        constraints.append(LinearConstraint(slack, -np.inf, deviation + _TOLERANCE))
    bounds = Bounds(
        np.concatenate([bounds.lb, np.zeros(n_up + n_down)]),
        np.concatenate([bounds.ub, np.ones(n_up + n_down)]),
    )
    integrality = np.concatenate([integrality, np.ones(n_up + n_down, dtype=np.int64)])
    status, _, _ = _solve(np.zeros(size), integrality, bounds, constraints)
    if status not in (0, _INFEASIBLE):
        raise RuntimeError(f"HiGHS stopped without deciding uniqueness (milp status {status}).")
    return status == _INFEASIBLE
