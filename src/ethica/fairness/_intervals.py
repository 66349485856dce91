"""Confidence intervals and tests for proportions, vectorised over numpy arrays.

Every function takes success counts ``x`` and trial counts ``n`` (arrays of the
same shape) and returns arrays; entries with ``n == 0`` come back as ``nan`` and
the caller turns them into ``None`` with a reason.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import numpy.typing as npt
from scipy import special

from ethica._typing import FloatArray

__all__ = [
    "critical_value",
    "holm_adjust",
    "katz_ratio",
    "newcombe_difference",
    "two_proportion_p_value",
    "wilson_interval",
]

CountArray = npt.NDArray[np.int64] | npt.NDArray[np.float64]


@cache
def critical_value(confidence: float) -> float:
    """Return ``z`` with ``P(|Z| <= z) = confidence`` for a standard normal ``Z``."""
    return float(-special.ndtri((1.0 - confidence) / 2.0))


def _proportion(x: CountArray, n: CountArray) -> FloatArray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(np.divide(x, n, dtype=np.float64), dtype=np.float64)


def wilson_interval(
    x: CountArray, n: CountArray, confidence: float
) -> tuple[FloatArray, FloatArray]:
    r"""Wilson score interval for a binomial proportion (Wilson 1927).

    With :math:`\hat p = x/n` and :math:`z` the two-sided critical value,

    .. math::
        \frac{\hat p + z^2/(2n) \pm z\sqrt{\hat p(1-\hat p)/n + z^2/(4n^2)}}{1 + z^2/n},

    clipped to ``[0, 1]`` (exactly 0 when :math:`x = 0` and 1 when :math:`x = n`).

    References
    ----------
    Wilson, E. B. (1927). Probable inference, the law of succession, and statistical
    inference. *JASA* 22(158), 209-212.
    """
    z2 = critical_value(confidence) ** 2
    p = _proportion(x, n)
    with np.errstate(divide="ignore", invalid="ignore"):
        nf = np.asarray(n, dtype=np.float64)
        shrink = 1.0 + z2 / nf
        centre = (p + z2 / (2.0 * nf)) / shrink
        half = np.sqrt(z2) * np.sqrt(p * (1.0 - p) / nf + z2 / (4.0 * nf**2)) / shrink
    # x = 0 and x = n have exact bounds 0 and 1; set them so rounding cannot exclude p.
    low = np.where(np.asarray(x) == 0, 0.0, np.clip(centre - half, 0.0, 1.0))
    high = np.where(np.asarray(x) == np.asarray(n), 1.0, np.clip(centre + half, 0.0, 1.0))
    return np.where(nf > 0, low, np.nan), np.where(nf > 0, high, np.nan)


def newcombe_difference(
    x1: CountArray, n1: CountArray, x2: CountArray, n2: CountArray, confidence: float
) -> tuple[FloatArray, FloatArray, FloatArray]:
    r"""Difference ``p1 - p2`` with Newcombe's hybrid score interval (method 10).

    With Wilson intervals :math:`(l_i, u_i)` of each proportion,

    .. math::
        L = \hat d - \sqrt{(\hat p_1 - l_1)^2 + (u_2 - \hat p_2)^2},\quad
        U = \hat d + \sqrt{(u_1 - \hat p_1)^2 + (\hat p_2 - l_2)^2}.

    References
    ----------
    Newcombe, R. G. (1998). Interval estimation for the difference between
    independent proportions: comparison of eleven methods. *Statistics in
    Medicine* 17(8), 873-890.
    """
    p1, p2 = _proportion(x1, n1), _proportion(x2, n2)
    low1, high1 = wilson_interval(x1, n1, confidence)
    low2, high2 = wilson_interval(x2, n2, confidence)
    diff = p1 - p2
    low = diff - np.sqrt((p1 - low1) ** 2 + (high2 - p2) ** 2)
    high = diff + np.sqrt((high1 - p1) ** 2 + (p2 - low2) ** 2)
    return diff, low, high


def katz_ratio(
    x1: CountArray, n1: CountArray, x2: CountArray, n2: CountArray, confidence: float
) -> tuple[FloatArray, FloatArray, FloatArray]:
    r"""Ratio ``p1 / p2`` with the Katz log interval.

    .. math::
        \exp\Big(\log\frac{\hat p_1}{\hat p_2} \pm
        z\sqrt{\tfrac1{x_1} - \tfrac1{n_1} + \tfrac1{x_2} - \tfrac1{n_2}}\Big).

    Where a count is zero the interval adds 0.5 to every count and trial
    (Pettigrew et al. 1986) so it stays finite; the point ratio is never
    adjusted, and when ``x1 = 0`` the lower limit is 0, so the interval always
    holds the point ratio. The ratio is ``nan`` when ``p2 = 0``.

    References
    ----------
    Katz, D., Baptista, J., Azen, S. P. and Pike, M. C. (1978). Obtaining confidence
    intervals for the risk ratio in cohort studies. *Biometrics* 34(3), 469-474.
    Pettigrew, H. M., Gart, J. J. and Thomas, D. G. (1986). The bias and higher
    cumulants of the logarithm of a binomial variate. *Biometrika* 73(2), 425-435.
    """
    a1, m1 = np.asarray(x1, dtype=np.float64), np.asarray(n1, dtype=np.float64)
    a2, m2 = np.asarray(x2, dtype=np.float64), np.asarray(n2, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = _proportion(a1, m1) / _proportion(a2, m2)
    no_events = a1 == 0
    half = np.where(no_events | (a2 == 0), 0.5, 0.0)
    a1, m1, a2, m2 = a1 + half, m1 + half, a2 + half, m2 + half
    with np.errstate(divide="ignore", invalid="ignore"):
        centre = np.log(a1 / m1) - np.log(a2 / m2)
        spread = critical_value(confidence) * np.sqrt(1 / a1 - 1 / m1 + 1 / a2 - 1 / m2)
    undefined = ~np.isfinite(ratio)
    low = np.where(undefined, np.nan, np.where(no_events, 0.0, np.exp(centre - spread)))
    high = np.where(undefined, np.nan, np.exp(centre + spread))
    return np.where(undefined, np.nan, ratio), low, high


def two_proportion_p_value(
    x1: CountArray, n1: CountArray, x2: CountArray, n2: CountArray
) -> FloatArray:
    r"""Two-sided p-value of the pooled two-proportion z-test of ``p1 = p2``.

    .. math::
        z = \frac{\hat p_1 - \hat p_2}{\sqrt{\bar p(1-\bar p)(1/n_1 + 1/n_2)}},\quad
        \bar p = \frac{x_1 + x_2}{n_1 + n_2},

    which equals Pearson's chi-square test of the 2x2 table without continuity
    correction. When the pooled proportion is 0 or 1 the two samples agree
    exactly and the p-value is 1.

    References
    ----------
    Agresti, A. (2013). *Categorical Data Analysis*, 3rd ed., section 3.1.
    """
    p1, p2 = _proportion(x1, n1), _proportion(x2, n2)
    pooled = _proportion(np.add(x1, x2), np.add(n1, n2))
    with np.errstate(divide="ignore", invalid="ignore"):
        inverse_n = 1.0 / np.asarray(n1, dtype=np.float64) + 1.0 / np.asarray(n2, dtype=np.float64)
        se = np.sqrt(pooled * (1.0 - pooled) * inverse_n)
        z = np.abs(p1 - p2) / se
    p = 2.0 * special.ndtr(-z)
    return np.asarray(np.where(se == 0, np.where(np.isfinite(p1 - p2), 1.0, np.nan), p))


def holm_adjust(p_values: FloatArray) -> FloatArray:
    r"""Holm's step-down adjusted p-values (family-wise error control).

    With the :math:`m` p-values sorted :math:`p_{(1)} \le \dots \le p_{(m)}`,
    :math:`\tilde p_{(i)} = \min\{1, \max_{j \le i} (m - j + 1)\, p_{(j)}\}`.
    ``nan`` entries (untestable comparisons) are left out of the family and stay ``nan``.

    References
    ----------
    Holm, S. (1979). A simple sequentially rejective multiple test procedure.
    *Scandinavian Journal of Statistics* 6(2), 65-70.
    """
    p = np.asarray(p_values, dtype=np.float64)
    adjusted = np.full_like(p, np.nan)
    tested = np.flatnonzero(np.isfinite(p))
    order = tested[np.argsort(p[tested], kind="stable")]
    m = order.size
    scaled = (m - np.arange(m)) * p[order]
    adjusted[order] = np.minimum(1.0, np.maximum.accumulate(scaled))
    return adjusted
