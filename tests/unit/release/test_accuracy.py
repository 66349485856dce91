"""CI half-widths are the exact quantiles of the discrete noise; planning meets its target."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest

from ethica._exceptions import InvalidParameterError
from ethica.privacy import (
    ZCDP,
    ApproxDP,
    PureDP,
    error_table,
    gaussian_half_width,
    laplace_half_width,
    plan_budget,
)
from ethica.privacy.release._noise import GaussianNoise, LaplaceNoise, noise_for
from ethica.privacy.release._sensitivity import Sensitivity


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
    zcdp = plan_budget(1, 1, 25, 0.95, ZCDP)
    assert isinstance(zcdp, ZCDP)
    sigma = math.sqrt(1 / (2 * float(zcdp.rho)))
    assert gaussian_half_width(Fraction(sigma), 0.95) <= 25
    assert gaussian_half_width(Fraction(sigma * 1.1), 0.95) > 25


def test_planning_takes_the_budget_type_not_a_kind_string() -> None:
    with pytest.raises(InvalidParameterError, match="budget_type must be the budget class"):
        plan_budget(1, 1, 25, 0.95, "zcdp")  # type: ignore[call-overload]
    with pytest.raises(InvalidParameterError, match="PureDP or ZCDP, got <class"):
        error_table(1, 1, [Fraction(1)], 0.95, ApproxDP)  # type: ignore[arg-type]


def test_error_table_is_the_half_width_of_the_noise_a_release_draws() -> None:
    """Each row's half-width is that of the law a release of that budget type would draw."""
    budgets = [Fraction(1, 10), Fraction(1), Fraction(10)]
    sensitivity = Sensitivity(Fraction(3), Fraction(9))
    for budget_type, axis in ((PureDP, "epsilon"), (ZCDP, "rho")):
        rows = error_table(3, 9, budgets, 0.9, budget_type)
        assert [r[axis] for r in rows] == [float(b) for b in budgets]
        expected = [noise_for(sensitivity, budget_type(b)).half_width(0.9) for b in budgets]
        assert [r["half_width"] for r in rows] == expected


def test_one_noise_class_per_law_chosen_by_budget_type() -> None:
    sensitivity = Sensitivity(Fraction(2), Fraction(4))
    laplace = noise_for(sensitivity, PureDP(Fraction(1, 2)))
    assert type(laplace) is LaplaceNoise and laplace.parameter == 4
    assert (
        type(noise_for(sensitivity, ApproxDP(Fraction(1, 2), Fraction(1, 10**6)))) is LaplaceNoise
    )
    gaussian = noise_for(sensitivity, ZCDP(Fraction(1, 2)))
    assert type(gaussian) is GaussianNoise and gaussian.parameter**2 >= 4
    assert (laplace.mechanism, laplace.parameter_name) == ("discrete Laplace", "scale")
    assert (gaussian.mechanism, gaussian.parameter_name) == ("discrete Gaussian", "sigma")
    assert len({LaplaceNoise(Fraction(2)), GaussianNoise(Fraction(2))}) == 2  # laws differ
    assert LaplaceNoise.cost(sensitivity, laplace.parameter) == PureDP(Fraction(1, 2))
    assert GaussianNoise.cost(sensitivity, Fraction(2)) == ZCDP(Fraction(1, 2))
    assert laplace.draw(50).dtype.kind == "i" and gaussian.draw(50).dtype.kind == "i"


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
