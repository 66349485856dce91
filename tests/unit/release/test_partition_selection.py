"""Private keys: a cell seen because of one user is released with probability at most delta."""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from ethica.privacy import discrete_laplace
from ethica.privacy.release._partition_selection import laplace_threshold, select_partitions


def test_threshold_bounds_the_release_probability_of_a_one_user_cell() -> None:
    scale, delta, k, m = Fraction(2), Fraction(1, 100), 3, 2
    tau = laplace_threshold(scale, delta, k, m)
    draws = discrete_laplace(scale, 200_000)
    rate = select_partitions(m + draws, tau).mean()
    # per cell the bound is delta / k; 200k draws put its sd near 1.3e-4
    assert rate <= float(delta) / k + 5e-4
    p = np.exp(-1 / 2)
    exact = p ** (tau - m) / (1 + p)
    assert exact <= float(delta) / k


def test_threshold_grows_with_scale_and_small_delta() -> None:
    base = laplace_threshold(Fraction(1), Fraction(1, 10**6), 1, 1)
    assert laplace_threshold(Fraction(4), Fraction(1, 10**6), 1, 1) > base
    assert laplace_threshold(Fraction(1), Fraction(1, 10**9), 1, 1) > base
    assert laplace_threshold(Fraction(1), Fraction(1, 10**6), 5, 1) > base
