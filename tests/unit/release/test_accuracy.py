"""CI half-widths are the exact quantiles of the discrete noise; planning meets its target."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest

from ethica._exceptions import InvalidParameterError
from ethica.privacy import PureDP, gaussian_half_width, laplace_half_width, plan_budget
from ethica.privacy.release._accuracy import error_table


def _laplace_coverage(scale: float, k: int) -> float:
    """P(|X| <= k) for discrete Laplace, from its pmf summed directly (independent of the code)."""
    p = math.exp(-1 / scale)
    norm = (1 - p) / (1 + p)
    return math.fsum(norm * p ** abs(x) for x in range(-k, k + 1))


def _gaussian_coverage(sigma: float, k: int) -> float:
    span = int(60 * sigma) + 10
    weights = {x: math.exp(-x * x / (2 * sigma * sigma)) for x in range(-span, span + 1)}
    total = math.fsum(weights.values())
    return math.fsum(w for x, w in weights.items() if abs(x) <= k) / total


@pytest.mark.parametrize("scale", [0.3, 1, 2.5, 10, 40])
@pytest.mark.parametrize("level", [0.9, 0.95, 0.99])
def test_laplace_half_width_is_the_smallest_covering_k(scale: float, level: float) -> None:
    k = laplace_half_width(Fraction(scale), level)
    assert _laplace_coverage(scale, k) >= level
    if k > 0:
        assert _laplace_coverage(scale, k - 1) < level


@pytest.mark.parametrize("sigma", [0.4, 1, 3.3, 12])
@pytest.mark.parametrize("level", [0.9, 0.95])
def test_gaussian_half_width_is_the_smallest_covering_k(sigma: float, level: float) -> None:
    k = gaussian_half_width(Fraction(sigma), level)
    assert _gaussian_coverage(sigma, k) >= level
    if k > 0:
        assert _gaussian_coverage(sigma, k - 1) < level


def test_plan_meets_the_supermarket_target() -> None:
    """±25 people at 95%: the planned epsilon meets it, 10% less does not."""
    budget = plan_budget(1, 1, 25, 0.95)
    assert isinstance(budget, PureDP)
    assert laplace_half_width(1 / budget.epsilon, 0.95) <= 25
    assert laplace_half_width(1 / (budget.epsilon * Fraction(9, 10)), 0.95) > 25
    zcdp = plan_budget(1, 1, 25, 0.95, "zcdp")
    sigma = math.sqrt(1 / (2 * float(zcdp.rho)))  # type: ignore[union-attr]
    assert gaussian_half_width(Fraction(sigma), 0.95) <= 25


def test_error_table_shrinks_with_budget() -> None:
    rows = error_table(1, 1, [Fraction(1, 10), Fraction(1), Fraction(10)], 0.95)
    widths = [r["half_width"] for r in rows]
    assert widths == sorted(widths, reverse=True)
    assert widths[0] > widths[-1]


def test_bad_planning_input() -> None:
    with pytest.raises(InvalidParameterError, match="target must be a positive error"):
        plan_budget(1, 1, -3, 0.95)
    with pytest.raises(InvalidParameterError, match="confidence must lie strictly between"):
        laplace_half_width(2, 1.5)
