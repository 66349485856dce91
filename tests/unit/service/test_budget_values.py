"""Budget values from a client are refused in words, before any arithmetic, when they are not
numbers a budget can hold (review C, finding 2.3: huge texts crashed the free checks)."""

from __future__ import annotations

from fractions import Fraction

import pytest

from ethica._exceptions import InvalidParameterError
from ethica.privacy.budget._budgets import ZCDP, ApproxDP, PureDP
from ethica.service._config import parse_budget


@pytest.mark.parametrize(
    ("value", "budget"),
    [({"epsilon": "1/3"}, PureDP(Fraction(1, 3))), ({"epsilon": 0.5}, PureDP(Fraction(1, 2))),
     ({"rho": "1e-3"}, ZCDP(Fraction(1, 1000))),
     ({"epsilon": 1, "delta": "1e-9"}, ApproxDP(1, Fraction(1, 10**9)))],
)  # fmt: skip
def test_numbers_are_read_exactly(value: dict[str, object], budget: object) -> None:
    assert parse_budget(value, "query") == budget


@pytest.mark.parametrize(
    "text", ["1e-400", "1e999999", "nan", "inf", "x", True, "1" * 65, "1/0", "2e6"]
)
def test_what_no_budget_holds_is_refused_in_words(text: object) -> None:
    with pytest.raises(InvalidParameterError, match="must be a number between 1e-30 and 1e6"):
        parse_budget({"epsilon": text}, "query")
