"""Budgets: exact arithmetic, kinds never mix silently, conversions and composition."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ethica import InvalidParameterError
from ethica.privacy import (
    ZCDP,
    ApproxDP,
    PureDP,
    budget_from_dict,
    exponential_cost,
    gaussian_cost,
    gaussian_sigma,
    laplace_cost,
    laplace_scale,
    parallel_composition,
    pure_to_approx,
    pure_to_zcdp,
    sequential_composition,
    zcdp_to_approx,
)

pos = st.fractions(min_value=Fraction(1, 10**9), max_value=Fraction(10**6))
small = st.fractions(min_value=Fraction(1, 10**12), max_value=Fraction(1, 4))


@given(a=pos, b=pos, c=pos)
def test_sequential_composition_is_exact_addition(a: Fraction, b: Fraction, c: Fraction) -> None:
    assert PureDP(a) + PureDP(b) == PureDP(a + b)
    assert (ZCDP(a) + ZCDP(b)) + ZCDP(c) == ZCDP(a) + (ZCDP(b) + ZCDP(c))
    assert (PureDP(a) + PureDP(b)) - PureDP(b) == PureDP(a)
    assert PureDP(a) <= PureDP(a + b)
    assert sequential_composition([ZCDP(a), ZCDP(b)]) == ZCDP(a + b)


@given(e1=pos, e2=pos, d1=small, d2=small)
def test_approx_composition_adds_both_parameters(
    e1: Fraction, e2: Fraction, d1: Fraction, d2: Fraction
) -> None:
    total = ApproxDP(e1, d1) + ApproxDP(e2, d2)
    assert (total.epsilon, total.delta) == (e1 + e2, d1 + d2)


def test_float_parameters_are_converted_exactly() -> None:
    assert PureDP(0.1).epsilon == Fraction(0.1) != Fraction(1, 10)
    assert ZCDP(Fraction(1, 3)).rho * 3 == 1


@pytest.mark.parametrize(
    ("a", "b"),
    [(PureDP(1), ZCDP(1)), (ZCDP(1), ApproxDP(1, 1e-6)), (ApproxDP(1, 1e-6), PureDP(1))],
)
def test_mixing_kinds_raises_type_error(a: object, b: object) -> None:
    with pytest.raises(TypeError, match="convert one explicitly"):
        a + b  # type: ignore[operator]
    with pytest.raises(TypeError):
        _ = a <= b  # type: ignore[operator]
    with pytest.raises(TypeError):
        parallel_composition([a, b])  # type: ignore[list-item]


def test_budgets_are_immutable_and_hashable() -> None:
    budget = PureDP(1)
    with pytest.raises(AttributeError):
        budget.epsilon = Fraction(2)  # type: ignore[misc]
    assert len({PureDP(1), PureDP(Fraction(2, 2))}) == 1


def test_composed_delta_reaching_one_is_refused() -> None:
    with pytest.raises(InvalidParameterError, match="delta"):
        ApproxDP(1, 0.6) + ApproxDP(1, 0.6)


@given(e=pos)
def test_pure_to_zcdp_is_half_epsilon_squared(e: Fraction) -> None:
    assert pure_to_zcdp(PureDP(e)) == ZCDP(e * e / 2)
    assert pure_to_approx(PureDP(e), 1e-9) == ApproxDP(e, 1e-9)


def _cks_delta(rho: float, eps: float) -> float:
    """CKS 2020 Cor. 13 at its best alpha, by a fine independent grid search."""
    best = math.inf
    for i in range(1, 200_000):
        alpha = 1 + i * 1e-3
        log = (
            (alpha - 1) * (alpha * rho - eps) - math.log(alpha - 1) + alpha * math.log1p(-1 / alpha)
        )
        best = min(best, log)
    return math.exp(best)


@pytest.mark.parametrize(("rho", "delta"), [(0.5, 1e-6), (0.01, 1e-9), (2.0, 1e-5)])
def test_zcdp_to_approx_is_valid_and_tight(rho: float, delta: float) -> None:
    converted = zcdp_to_approx(ZCDP(rho), delta)
    eps = float(converted.epsilon)
    assert converted.delta == Fraction(delta)
    assert _cks_delta(rho, eps) <= delta * (1 + 1e-6)  # valid
    assert _cks_delta(rho, eps * 0.999) > delta  # and not wastefully loose
    assert eps < rho + 2 * math.sqrt(rho * math.log(1 / delta))  # beats Bun-Steinke


def test_zcdp_to_approx_matches_opendp() -> None:
    import opendp.prelude as dp

    dp.enable_features("contrib")
    space = dp.atom_domain(T=int), dp.absolute_distance(T=int)
    meas = dp.c.make_zCDP_to_approxDP(dp.m.make_gaussian(*space, scale=2.0))
    curve = meas.map(1)
    rho = Fraction(1, 8)  # 1/(2*2^2)
    ours = float(zcdp_to_approx(ZCDP(rho), 1e-6).epsilon)
    assert abs(ours - curve.epsilon(1e-6)) < 1e-6


def test_parallel_composition_is_the_maximum() -> None:
    assert parallel_composition([PureDP(1), PureDP(3), PureDP(2)]) == PureDP(3)
    assert parallel_composition([ApproxDP(1, 1e-5), ApproxDP(2, 1e-7)]) == ApproxDP(2, 1e-5)
    with pytest.raises(InvalidParameterError, match="at least one"):
        parallel_composition([])


def test_mechanism_costs_in_closed_form() -> None:
    assert laplace_cost(2, 4) == PureDP(Fraction(1, 2))
    assert gaussian_cost(3, 2) == ZCDP(Fraction(9, 8))
    assert exponential_cost(0.5) == PureDP(0.5)
    assert laplace_scale(2, PureDP(Fraction(1, 2))) == 4
    with pytest.raises(InvalidParameterError, match="sensitivity"):
        laplace_cost(0, 1)


@given(sens=st.integers(min_value=1, max_value=1000), rho=pos)
def test_gaussian_sigma_never_overspends(sens: int, rho: Fraction) -> None:
    sigma = gaussian_sigma(sens, ZCDP(rho))
    assert gaussian_cost(sens, sigma) <= ZCDP(rho)
    assert gaussian_cost(sens, sigma - Fraction(1, 2**38)) >= ZCDP(rho) or sigma <= Fraction(
        1, 2**38
    )


@pytest.mark.parametrize("budget", [PureDP(Fraction(1, 3)), ZCDP(0.25), ApproxDP(1, 1e-9)])
def test_to_dict_round_trips_exactly(budget: object) -> None:
    data = budget.to_dict()  # type: ignore[attr-defined]
    assert data["schema_version"] == 1
    assert budget_from_dict(data) == budget
