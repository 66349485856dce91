"""The attacks' solvers against the textbook formulations, measured in the same run.

- Dinur–Nissim LP: ethica's split-residual equality form on HiGHS interior point vs the
  textbook two-sided inequality form (``-t <= Qy - a <= t``) on HiGHS's default method.
- Census reconstruction: ethica's one small integer program per block vs one integer program
  over every block at once (same tables, same solver), without uniqueness checks.

    python benchmarks/bench_attacks.py [--quick]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from scipy.optimize import LinearConstraint, linprog, milp

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import best_time, report
from ethica.attacks import (
    adult_census_schema,
    census_tables,
    reconstruct_blocks,
    synthetic_blocks,
)
from ethica.attacks._subset_sums import solve_l1_reconstruction
from ethica.attacks.census._tables import block_problems, read_tables
from ethica.data import load_adult


def textbook_lp(queries: np.ndarray, answers: np.ndarray) -> np.ndarray:
    """min sum t  s.t.  Qy - t <= a,  -Qy - t <= -a,  0 <= y <= 1 (HiGHS default)."""
    m, n = queries.shape
    q = sp.csr_matrix(queries, dtype=float)
    eye = sp.identity(m, format="csr")
    a_ub = sp.vstack([sp.hstack([q, -eye]), sp.hstack([-q, -eye])], format="csr")
    cost = np.concatenate([np.zeros(n), np.ones(m)])
    bounds = [(0, 1)] * n + [(0, None)] * m
    result = linprog(cost, A_ub=a_ub, b_ub=np.concatenate([answers, -answers]), bounds=bounds)
    return np.asarray(result.x[:n])


def monolithic_ip(tables: dict, schema: object) -> None:
    """Every block's system stacked block-diagonally into one integer program."""
    read, blocks = read_tables(tables, schema, exact=True)  # type: ignore[arg-type]
    problems = list(block_problems(read, blocks, schema, exact=True).values())  # type: ignore[arg-type]
    matrix = sp.block_diag([p.incidence for p in problems], format="csr")
    targets = np.concatenate([p.targets for p in problems])
    upper = np.concatenate([p.upper for p in problems])
    milp(
        np.zeros(upper.size),
        integrality=np.ones(upper.size),
        bounds=(0, upper),
        constraints=[LinearConstraint(matrix, targets, targets)],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, one repeat")
    args = parser.parse_args()
    repeat = 1 if args.quick else 3

    n = 200 if args.quick else 400
    rng = np.random.default_rng(0)
    secret = rng.integers(0, 2, n)
    queries = rng.integers(0, 2, (4 * n, n), dtype=np.int8)
    answers = queries @ secret + rng.uniform(-1, 1, 4 * n) * 0.25 * np.sqrt(n)
    report(
        f"Dinur–Nissim LP, n={n}, m={4 * n}",
        [
            (
                "textbook inequality form (HiGHS default)",
                best_time(lambda: textbook_lp(queries, answers), repeat=repeat),
            ),
            (
                "ethica split-residual form (HiGHS IPM)",
                best_time(lambda: solve_l1_reconstruction(queries, answers), repeat=repeat),
            ),
        ],
    )

    blocks = 30 if args.quick else 100
    schema = adult_census_schema()
    population = synthetic_blocks(load_adult(), n_blocks=blocks, mean_block_size=10, seed=0)
    tables = census_tables(population, schema)
    report(
        f"Census reconstruction, {blocks} blocks, {len(population)} people",
        [
            (
                "one integer program over all blocks",
                best_time(lambda: monolithic_ip(tables, schema), repeat=repeat),
            ),
            (
                "ethica: one program per block",
                best_time(
                    lambda: reconstruct_blocks(tables, schema, check_uniqueness=False),
                    repeat=repeat,
                ),
            ),
            (
                "ethica, with uniqueness proofs",
                best_time(lambda: reconstruct_blocks(tables, schema), repeat=repeat),
            ),
        ],
    )


if __name__ == "__main__":
    main()
