"""The exact building blocks: CSPRNG uniforms, rigorous exp intervals, lazy comparison,
threshold tables that finish ambiguous words exactly, and Bernoulli(exp(-gamma)).

Statistical assertions use significance 1e-9 (false alarm probability 1e-9 per test).
"""

from __future__ import annotations

import math
from decimal import Decimal, localcontext
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from ethica.privacy import bernoulli_exp
from ethica.privacy.noise._exact import exp_neg_interval, lazy_below
from ethica.privacy.noise._laplace import _laplace_table
from ethica.privacy.noise._random import uniform_below

ALPHA = 1e-9


def _exp_neg_decimal(x: Fraction, scale_bits: int) -> Decimal:
    """``exp(-x) * 2**scale_bits`` to 400 significant digits."""
    with localcontext() as ctx:
        ctx.prec = 400
        return (-(Decimal(x.numerator) / Decimal(x.denominator))).exp() * Decimal(2) ** scale_bits


@settings(max_examples=200, deadline=None)
@given(
    num=st.integers(min_value=0, max_value=10**15),
    den=st.integers(min_value=1, max_value=10**15),
    prec=st.integers(min_value=1, max_value=300),
)
def test_exp_interval_brackets_the_true_value(num: int, den: int, prec: int) -> None:
    x = Fraction(num, den)
    lo, hi = exp_neg_interval(x, prec)
    truth = _exp_neg_decimal(x, prec)
    assert lo <= truth <= hi
    assert hi - lo <= 2


def test_lazy_below_is_an_exact_bernoulli() -> None:
    """``W < exp(-1)`` for W uniform on [0, 1): the frequency is exp(-1) (binomial, 1e-9)."""
    value = lambda prec: exp_neg_interval(Fraction(1), prec)  # noqa: E731
    n = 20_000
    hits = sum(lazy_below(0, 0, value) for _ in range(n))
    low, high = stats.binom.ppf([ALPHA / 2, 1 - ALPHA / 2], n, math.exp(-1))
    assert low <= hits <= high


def test_table_resolves_ambiguous_words_with_the_exact_conditional_law() -> None:
    """A word equal to the 32-bit floor of ``T_0 = 2p/(1+p)`` (scale 1) is undecided by the
    fast path; the lazy path must put it below ``T_0`` with probability ``frac(T_0 2**32)``."""
    table = _laplace_table(Fraction(1))
    lo, _ = table.tails(32)
    word = lo[0]
    with localcontext() as ctx:
        ctx.prec = 100
        p = Decimal(-1).exp()
        frac = float((2 * p / (1 + p)) * Decimal(2) ** 32 - word)
    n = 4000
    positions = [table._resolve(word) for _ in range(n)]
    below = sum(pos == len(lo) - 1 for pos in positions)  # index 1 (W < T_0): outcome +1
    assert set(positions) <= {len(lo), len(lo) - 1}
    low, high = stats.binom.ppf([ALPHA / 2, 1 - ALPHA / 2], n, frac)
    assert low <= below <= high


@pytest.mark.parametrize("m", [3, 1000, 2**40 + 7, 2**63 + 5])
def test_uniform_below_is_uniform(m: int) -> None:
    n = 60_000
    draws = uniform_below(m, n)
    assert all(0 <= int(v) < m for v in draws[:1000])
    k = min(10, m)
    cells = np.array([int(v) * k // m for v in draws])  # k nearly equal-probability cells
    expected = np.array([(((j + 1) * m + k - 1) // k - (j * m + k - 1) // k) / m for j in range(k)])
    assert stats.chisquare(np.bincount(cells, minlength=k), expected * n).pvalue > ALPHA


@pytest.mark.parametrize("gamma", [0, Fraction(1, 3), 1, Fraction(5, 2), 7.25, 10**-6])
def test_bernoulli_exp_frequency(gamma: object) -> None:
    n = 200_000
    draws = bernoulli_exp(gamma, n)
    prob = math.exp(-float(Fraction(gamma)))  # type: ignore[arg-type]
    if prob == 1:
        assert draws.all()
        return
    low, high = stats.binom.ppf([ALPHA / 2, 1 - ALPHA / 2], n, prob)
    assert low <= int(draws.sum()) <= high


def test_bernoulli_exp_scalar_and_huge_rationals() -> None:
    assert bernoulli_exp(0) is True
    assert isinstance(bernoulli_exp(Fraction(3, 7)), bool)
    huge = Fraction(10**40 + 1, 10**40)  # numerator beyond int64: Python-int path
    draws = bernoulli_exp(huge, 20_000)
    low, high = stats.binom.ppf([ALPHA / 2, 1 - ALPHA / 2], 20_000, math.exp(-1))
    assert low <= int(draws.sum()) <= high


@pytest.mark.parametrize(
    ("v", "sigma2"), [(3000, Fraction(3000**2)), (0, Fraction(10**8)), (2**20, Fraction(10**12, 3))]
)
def test_gaussian_squeeze_acceptance_frequency(v: int, sigma2: Fraction) -> None:
    """The squeeze's coin for a fixed ``v`` lands heads with probability exp(-v²/(2σ²))."""
    from ethica.privacy.noise._squeeze import gaussian_acceptance

    n = 100_000
    heads = int(gaussian_acceptance(np.full(n, v, dtype=np.int64), sigma2).sum())
    prob = math.exp(-(v * v) / (2 * float(sigma2)))
    if prob == 1:
        assert heads == n
        return
    low, high = stats.binom.ppf([ALPHA / 2, 1 - ALPHA / 2], n, prob)
    assert low <= heads <= high
