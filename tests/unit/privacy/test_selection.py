"""Private selection: exact output laws of permute-and-flip and the exponential mechanism.

Chi-square tests at significance 1e-9 (false alarm probability 1e-9 per test).
"""

from __future__ import annotations

import itertools
import math
from fractions import Fraction

import numpy as np
import pytest
from scipy import stats

from ethica import InvalidParameterError
from ethica.privacy import exponential_mechanism, permute_and_flip, private_quantile
from ethica.privacy.noise._selection import random_permutation

ALPHA = 1e-9


def _pf_law(scores: list[float], epsilon: float) -> list[float]:
    """Permute-and-flip's exact law by enumerating orders (McKenna & Sheldon 2020, Alg. 1)."""
    best = max(scores)
    accept = [math.exp(epsilon * (q - best) / 2) for q in scores]
    law = [0.0] * len(scores)
    orders = list(itertools.permutations(range(len(scores))))
    for order in orders:
        reach = 1.0
        for r in order:
            law[r] += reach * accept[r] / len(orders)
            reach *= 1 - accept[r]
    return law


def test_permute_and_flip_law() -> None:
    scores = [0, 2, 3, Fraction(7, 2)]
    n = 8000
    draws = np.array([permute_and_flip(scores, 1) for _ in range(n)])
    law = _pf_law([float(s) for s in scores], 1.0)
    assert stats.chisquare(np.bincount(draws, minlength=4), np.array(law) * n).pvalue > ALPHA


def test_exponential_mechanism_law() -> None:
    scores = [0.0, 1.0, -2.5, 3.0]
    n = 8000
    draws = np.array([exponential_mechanism(scores, 2, sensitivity=2) for _ in range(n)])
    weights = np.exp(np.array(scores) * 2 / (2 * 2))
    expected = weights / weights.sum() * n
    assert stats.chisquare(np.bincount(draws, minlength=4), expected).pvalue > ALPHA


def test_random_permutation_is_uniform() -> None:
    n = 12_000
    counts: dict[tuple[int, ...], int] = {}
    for _ in range(n):
        key = tuple(random_permutation(3))
        counts[key] = counts.get(key, 0) + 1
    assert len(counts) == 6
    assert stats.chisquare(list(counts.values())).pvalue > ALPHA


def test_private_median_on_real_ages(adult_ages: np.ndarray) -> None:
    """Median age of the Adult data (true median 37), epsilon 1, grid of whole years."""
    grid = np.arange(17, 91)
    answers = [private_quantile(adult_ages, 0.5, grid, 1.0) for _ in range(20)]
    true = float(np.median(adult_ages))
    assert max(abs(a - true) for a in answers) <= 2


def test_selection_rejects_bad_input() -> None:
    with pytest.raises(InvalidParameterError, match="empty"):
        permute_and_flip([], 1)
    with pytest.raises(InvalidParameterError, match="epsilon"):
        exponential_mechanism([1, 2], 0)
    with pytest.raises(InvalidParameterError, match="q must lie"):
        private_quantile([1, 2, 3], 1.5, [1, 2], 1)
    with pytest.raises(InvalidParameterError, match="finite"):
        permute_and_flip([1, math.nan], 1)
