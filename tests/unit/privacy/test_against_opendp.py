"""Two-sample tests: ethica's samplers against OpenDP 0.16's (a dev dependency).

Chi-square test of homogeneity over integer cells (cells with fewer than 20 draws in the
pooled sample are merged into one); rejected at p < 1e-9, so a false alarm has probability
1e-9 per test.
"""

from __future__ import annotations

import numpy as np
import opendp.prelude as dp
from numpy.typing import NDArray
from scipy import stats

from ethica.privacy import discrete_gaussian, discrete_laplace

dp.enable_features("contrib")

N_PEER = 20_000
N_OURS = 100_000
ALPHA = 1e-9


def _homogeneity_pvalue(a: NDArray[np.int64], b: NDArray[np.int64]) -> float:
    values, pooled = np.unique(np.concatenate([a, b]), return_counts=True)
    big = values[pooled >= 20]
    rows = []
    for sample in (a, b):
        counts = [np.count_nonzero(sample == v) for v in big]
        rows.append([*counts, sample.size - sum(counts)])
    table = np.array(rows)
    table = table[:, table.sum(axis=0) > 0]
    return float(stats.chi2_contingency(table).pvalue)


def _opendp(measurement: object) -> NDArray[np.int64]:
    return np.array(measurement([0] * N_PEER), dtype=np.int64)  # type: ignore[operator]


def test_discrete_laplace_matches_opendp() -> None:
    space = dp.vector_domain(dp.atom_domain(T=int)), dp.l1_distance(T=int)
    peer = _opendp(dp.m.make_laplace(*space, scale=3.0))
    ours = discrete_laplace(3, N_OURS)
    assert _homogeneity_pvalue(ours, peer) > ALPHA


def test_discrete_gaussian_matches_opendp() -> None:
    space = dp.vector_domain(dp.atom_domain(T=int)), dp.l2_distance(T=float)
    peer = _opendp(dp.m.make_gaussian(*space, scale=2.5))
    ours = discrete_gaussian(2.5, N_OURS)
    assert _homogeneity_pvalue(ours, peer) > ALPHA


def test_the_homogeneity_test_has_power() -> None:
    """Negative control: scale 3 against scale 3.3 (10% off) is rejected."""
    assert _homogeneity_pvalue(discrete_laplace(3, N_OURS), discrete_laplace(3.3, N_OURS)) < ALPHA
