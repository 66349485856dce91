"""Goodness of fit of the exact samplers against their exact pmfs.

Every test rejects at significance ``ALPHA = 1e-9``: a correct sampler fails a given test
with probability 1e-9 (no fixed seed is possible with the OS CSPRNG), while the sample sizes
(100k-200k) detect a relative error of about 1% in any bin's probability.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest

from ethica.privacy import discrete_gaussian, discrete_laplace

from ._stats import ALPHA, binned_gof, dec, gaussian_pmf, laplace_cdf

N = 200_000


@pytest.mark.parametrize(
    "scale",
    [Fraction(1, 2), 1, Fraction(37, 10), 100, 0.3, 500],
    ids=["1/2", "1", "3.7", "100", "float0.3", "500"],
)
def test_laplace_small_and_medium_scales_fit_exact_pmf(scale: object) -> None:
    """Chi-square over integer bins of width ~scale/3 against the exact cdf; p >= 1e-9."""
    exact = Fraction(scale)  # type: ignore[arg-type]
    draws = discrete_laplace(scale, N)
    assert draws.dtype == np.int64 and draws.shape == (N,)
    step = max(1, int(exact / 3))
    edges = list(range(-6 * math.ceil(exact) - 1, 6 * math.ceil(exact) + 1, step))
    cdf = [float(laplace_cdf(e, exact)) for e in edges]
    assert binned_gof(draws, edges, cdf) > ALPHA


@pytest.mark.parametrize("scale", [10**6, 10**12, Fraction(10**12, 7)])
def test_laplace_huge_scales_fit_exact_cdf(scale: object) -> None:
    """Huge scales (base-4096 digit path): bins at multiples of scale/4 out to 8 scales."""
    exact = Fraction(scale)  # type: ignore[arg-type]
    draws = discrete_laplace(scale, N)
    edges = [math.floor(exact * k / 4) for k in range(-32, 33)]
    cdf = [float(laplace_cdf(e, exact)) for e in edges]
    assert binned_gof(draws, edges, cdf) > ALPHA


def test_tiny_scales_are_almost_surely_zero() -> None:
    """scale 1e-3: P(X != 0) = 2 exp(-1000)/(1 + exp(-1000)) < 1e-400, so all draws are 0;
    likewise sigma 1e-3: P(X != 0) < 2 exp(-500000)."""
    assert not discrete_laplace(1e-3, N).any()
    assert not discrete_gaussian(1e-3, N).any()


def test_laplace_tail_beyond_table_has_exact_mass() -> None:
    """P(|X| > 14 scale) is 2 p**(M+1)/(1+p), about 1.6e-6 for scale 1: the tail path is hit
    and its frequency matches (Poisson count, 1e-9 two-sided)."""
    n = 2_000_000
    draws = discrete_laplace(1, n)
    magnitude = 14
    p = (-dec(1)).exp()
    prob = float(2 * p ** (magnitude + 1) / (1 + p))
    from scipy import stats

    count = int(np.count_nonzero(np.abs(draws) > magnitude))
    low, high = stats.poisson.ppf([ALPHA / 2, 1 - ALPHA / 2], prob * n)
    assert low <= count <= high


@pytest.mark.parametrize(
    "sigma", [Fraction(1, 2), 1, Fraction(37, 10), 50, 1.7], ids=["1/2", "1", "3.7", "50", "1.7"]
)
def test_gaussian_table_path_fits_exact_pmf(sigma: object) -> None:
    """Chi-square over the exact pmf (cells with expected count >= 20; rest pooled)."""
    exact = Fraction(sigma)  # type: ignore[arg-type]
    draws = discrete_gaussian(sigma, N)
    assert draws.dtype == np.int64
    support = np.arange(-int(8 * exact) - 2, int(8 * exact) + 3)
    from ._stats import pmf_gof

    assert pmf_gof(draws, support, gaussian_pmf(support, exact)) > ALPHA


@pytest.mark.parametrize("sigma", [2000, 10**4, 10**6, 10**12])
def test_gaussian_large_sigma_fits(sigma: int) -> None:
    """Table (2000) and CKS rejection (larger) paths: bins at multiples of sigma/4.

    For sigma >= 2000 the discrete Gaussian's bin masses equal the continuous ones with
    half-integer correction to within 1e-7 relative (Euler-Maclaurin), far below what 100k
    draws can see."""
    from scipy import stats

    n = 100_000
    draws = discrete_gaussian(sigma, n)
    edges = [sigma * k // 4 for k in range(-16, 17)]
    cdf = [float(stats.norm.cdf((e + 0.5) / sigma)) for e in edges]
    assert binned_gof(draws, edges, cdf) > ALPHA


def test_gaussian_tail_beyond_table_is_symmetric_and_rare() -> None:
    """Tail path (|X| > 5.3 sigma + 1) is reached about 2e-7 of the time; force it directly."""
    from ethica.privacy.noise._gaussian import _tail_draws

    draws = _tail_draws(Fraction(2), 13, 20_000).astype(np.int64)
    assert np.all(np.abs(draws) >= 13)
    # P(|X| = 13 | |X| >= 13) = 1 / sum_k exp(-((13+k)^2 - 13^2)/8)
    weights = [math.exp(-((13 + k) ** 2 - 169) / 8) for k in range(20)]
    p13 = 1 / sum(weights)
    from scipy import stats

    hits = int(np.count_nonzero(np.abs(draws) == 13))
    low, high = stats.binom.ppf([ALPHA / 2, 1 - ALPHA / 2], draws.size, p13)
    assert low <= hits <= high
    positives = int(np.count_nonzero(draws > 0))
    low, high = stats.binom.ppf([ALPHA / 2, 1 - ALPHA / 2], draws.size, 0.5)
    assert low <= positives <= high
