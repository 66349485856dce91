"""Budgets stay valid and print honestly (issue 9, finding 11; issue 15, "budgets stay valid")."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ethica._exceptions import BudgetExceededError, InvalidParameterError
from ethica.privacy import ZCDP, ApproxDP, Ledger, PureDP, zcdp_to_approx

fractions = st.fractions(min_value=Fraction(1, 10**9), max_value=10)


def test_subtraction_never_makes_a_negative_budget() -> None:
    with pytest.raises(InvalidParameterError, match="negative budget"):
        PureDP(1) - PureDP(2)
    with pytest.raises(InvalidParameterError, match="negative budget"):
        ApproxDP(2, Fraction(1, 10**9)) - ApproxDP(1, Fraction(1, 10**8))
    assert (PureDP(1) - PureDP(1)).epsilon == 0  # an explicit empty budget


@given(a=fractions, b=fractions)
def test_differences_are_valid_budgets_or_refused(a: Fraction, b: Fraction) -> None:
    if b <= a:
        assert (ZCDP(a) - ZCDP(b)).rho == a - b
    else:
        with pytest.raises(InvalidParameterError):
            ZCDP(a) - ZCDP(b)


@given(value=st.fractions(min_value=Fraction(1, 10**30), max_value=10**6))
def test_shown_parameters_are_never_rounded_up(value: Fraction) -> None:
    text = str(PureDP(value)).removeprefix("PureDP(epsilon=").removesuffix(")")
    shown = Fraction(text.rstrip("…")) if "/" not in text else Fraction(text)
    assert shown <= value
    if not text.endswith("…"):
        assert shown == value  # no ellipsis means exact


def test_a_refusal_shows_the_exact_remainder(tmp_path: object) -> None:
    book = Ledger(tmp_path / "l.sqlite3")  # type: ignore[operator]
    book.create_dataset("d", PureDP(1))
    book.record_charge("d", PureDP(Fraction(9, 10) + Fraction(1, 10**12)), "most")
    with pytest.raises(BudgetExceededError) as refused:
        book.record_charge("d", PureDP(Fraction(1, 10)), "a tenth")
    assert "left on 'd': PureDP(epsilon=0.099999999999) of" in str(refused.value)
    book.close()


def test_tiny_deltas_are_exact_or_explained() -> None:
    converted = zcdp_to_approx(ZCDP(Fraction(1, 2)), Fraction(1, 10**400))
    assert converted.delta == Fraction(1, 10**400) and 40 < converted.epsilon < 50
    with pytest.raises(InvalidParameterError, match=r"underflows to 0.*Fraction\(1, 10\*\*400\)"):
        zcdp_to_approx(ZCDP(1), 1e-400)


def test_a_fraction_and_the_minimum_of_two_caps_stay_valid_budgets() -> None:
    assert ApproxDP(2, Fraction(1, 10**6)).fraction(Fraction(1, 4)) == ApproxDP(
        Fraction(1, 2), Fraction(1, 4 * 10**6)
    )
    with pytest.raises(InvalidParameterError, match="share"):
        PureDP(1).fraction(Fraction(3, 2))
    left = ApproxDP(1, Fraction(1, 10**9)).minimum(ApproxDP(5, Fraction(1, 10**6)))
    assert left == ApproxDP(1, Fraction(1, 10**9))
    assert (PureDP(1) - PureDP(1)).minimum(PureDP(2)).epsilon == 0
    with pytest.raises(TypeError):
        PureDP(1).minimum(ZCDP(1))


def test_the_ledger_sums_one_principals_charges(tmp_path: object) -> None:
    book = Ledger(tmp_path / "l.sqlite3", principal="alice")  # type: ignore[operator]
    book.create_dataset("d", PureDP(1))
    book.record_charge("d", PureDP(Fraction(1, 4)), "one")
    book.record_charge("d", PureDP(Fraction(1, 8)), "two", principal="bob")
    assert book.spent("d") == PureDP(Fraction(3, 8))
    assert book.spent("d", principal="bob") == PureDP(Fraction(1, 8))
    book.close()
