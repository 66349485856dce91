"""Bad parameters are refused with a pointed message; valid extremes work (hypothesis)."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ethica import InvalidParameterError
from ethica.privacy import (
    ZCDP,
    ApproxDP,
    PureDP,
    bernoulli_exp,
    discrete_gaussian,
    discrete_laplace,
)

BAD = [0, -1, -0.5, math.nan, math.inf, -math.inf, Fraction(-1, 3)]


@pytest.mark.parametrize("value", BAD)
@pytest.mark.parametrize(
    ("make", "name"),
    [
        (lambda v: discrete_laplace(v, 3), "scale"),
        (lambda v: discrete_gaussian(v, 3), "sigma"),
        (PureDP, "epsilon"),
        (ZCDP, "rho"),
        (lambda v: ApproxDP(v, 1e-9), "epsilon"),
    ],
)
def test_nonpositive_nan_and_infinite_parameters_are_refused(
    make: object, name: str, value: object
) -> None:
    with pytest.raises(InvalidParameterError, match=name) as info:
        make(value)  # type: ignore[operator]
    message = str(info.value)
    assert ("> 0" in message) or ("finite" in message)


@pytest.mark.parametrize("delta", [0, 1, 1.5, -1e-9, math.nan, math.inf])
def test_delta_outside_open_unit_interval_is_refused(delta: float) -> None:
    with pytest.raises(InvalidParameterError, match="delta"):
        ApproxDP(1, delta)


@pytest.mark.parametrize("value", ["1", None, True, [1]])
def test_non_numbers_are_refused(value: object) -> None:
    with pytest.raises(InvalidParameterError, match="real number"):
        discrete_laplace(value, 1)


def test_negative_gamma_and_bad_size_are_refused() -> None:
    with pytest.raises(InvalidParameterError, match=">= 0"):
        bernoulli_exp(-1)
    with pytest.raises(InvalidParameterError, match="size"):
        discrete_laplace(1, -1)
    with pytest.raises(InvalidParameterError, match="size"):
        discrete_gaussian(1, 2.5)  # type: ignore[arg-type]


def test_scales_too_large_for_int64_are_refused() -> None:
    with pytest.raises(InvalidParameterError, match="2\\*\\*52"):
        discrete_laplace(2.0**60, 1)
    with pytest.raises(InvalidParameterError, match="2\\*\\*48"):
        discrete_gaussian(2.0**50, 1)


positive_rationals = st.one_of(
    st.fractions(min_value=Fraction(1, 10**6), max_value=Fraction(10**9)),
    st.floats(min_value=1e-300, max_value=2.0**40, allow_nan=False, allow_infinity=False),
    st.integers(min_value=1, max_value=2**40),
)


@settings(max_examples=60, deadline=None)
@given(scale=positive_rationals, size=st.integers(min_value=0, max_value=50))
def test_laplace_accepts_any_positive_rational(scale: object, size: int) -> None:
    draws = discrete_laplace(scale, size)
    assert draws.dtype == np.int64 and draws.shape == (size,)
    assert np.all(np.abs(draws) <= 60 * float(Fraction(scale)) + 60)  # type: ignore[arg-type]


@settings(max_examples=40, deadline=None)
@given(sigma=positive_rationals, size=st.integers(min_value=0, max_value=30))
def test_gaussian_accepts_any_positive_rational(sigma: object, size: int) -> None:
    draws = discrete_gaussian(sigma, size)
    assert draws.dtype == np.int64 and draws.shape == (size,)
    assert np.all(np.abs(draws) <= 12 * float(Fraction(sigma)) + 12)  # type: ignore[arg-type]


@settings(max_examples=50, deadline=None)
@given(gamma=st.fractions(min_value=0, max_value=60))
def test_bernoulli_exp_accepts_any_nonnegative_rational(gamma: Fraction) -> None:
    assert isinstance(bernoulli_exp(gamma), bool)
    if gamma == 0:
        assert bernoulli_exp(gamma, 100).all()
