"""Statistical helpers for the privacy tests (exact pmfs in high-precision decimal)."""

from __future__ import annotations

from decimal import Decimal, getcontext
from fractions import Fraction

import numpy as np
from numpy.typing import NDArray
from scipy import stats

getcontext().prec = 60

ALPHA = 1e-9
"""Significance level of every goodness-of-fit test: a correct sampler fails one such test
with probability 1e-9 per run, i.e. never in practice."""


def dec(value: Fraction | float | int) -> Decimal:
    """Exact decimal of a rational (to 60 digits)."""
    f = Fraction(value)
    return Decimal(f.numerator) / Decimal(f.denominator)


def laplace_cdf(x: int, scale: Fraction) -> Decimal:
    """``P(X <= x)`` for the discrete Laplace with ``p = exp(-1/scale)``."""
    p = (-1 / dec(scale)).exp()
    if x >= 0:
        return 1 - p ** (x + 1) / (1 + p)
    return p ** (-x) / (1 + p)


def gaussian_pmf(values: NDArray[np.int64], sigma: Fraction) -> NDArray[np.float64]:
    """Normalised discrete Gaussian pmf on ``values`` (sum over a 40-sigma window)."""
    s2 = dec(sigma) ** 2
    width = int(40 * float(sigma)) + 5
    weight = {x: (-(Decimal(x) ** 2) / (2 * s2)).exp() for x in range(-width, width + 1)}
    total = sum(weight.values())
    return np.array([float(weight.get(int(v), Decimal(0)) / total) for v in values])


def binned_gof(draws: NDArray[np.int64], edges: list[int], cdf_values: list[float]) -> float:
    """Chi-square p-value of ``draws`` against bins ``(-inf, e0], (e0, e1], ..., (e_last, inf)``.

    ``cdf_values[i] = P(X <= edges[i])``; bins with expected count < 20 are pooled.
    """
    counts = np.bincount(np.searchsorted(edges, draws, side="left"), minlength=len(edges) + 1)
    probs = np.diff(np.concatenate([[0.0], cdf_values, [1.0]]))
    return _pooled_chisquare(counts, probs * draws.size)


def pmf_gof(
    draws: NDArray[np.int64], support: NDArray[np.int64], pmf: NDArray[np.float64]
) -> float:
    """Chi-square p-value over ``support`` (cells with expected count < 20 are pooled)."""
    observed = np.array([np.count_nonzero(draws == v) for v in support])
    return _pooled_chisquare(observed, pmf * draws.size, total=draws.size)


def _pooled_chisquare(
    observed: NDArray[np.int64], expected: NDArray[np.float64], total: int | None = None
) -> float:
    """Chi-square p-value with the cells of expected count < 20 (and anything outside the
    cells, up to ``total``) pooled into one: the chi-square approximation needs large expected
    counts, and a tail cell expecting 1e-5 would otherwise fail a correct sampler."""
    n = int(observed.sum()) if total is None else total
    keep = expected >= 20
    rest_obs = n - observed[keep].sum()
    rest_exp = n - expected[keep].sum()
    obs = np.append(observed[keep], rest_obs)
    exp = np.append(expected[keep], rest_exp)
    if rest_exp < 1e-6:
        obs, exp = obs[:-1], exp[:-1]
        assert rest_obs == 0
        exp = exp * obs.sum() / exp.sum()
    return float(stats.chisquare(obs, exp).pvalue)
