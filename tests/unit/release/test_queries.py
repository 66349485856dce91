"""Query specs are immutable and validated; sensitivities per privacy unit are as documented."""

from __future__ import annotations

import dataclasses
from fractions import Fraction

import pytest

from ethica._exceptions import InvalidParameterError
from ethica.privacy import Batch, Count, Histogram, Mean, Quantiles, Rows, Sum, UserLevel
from ethica.privacy.release._sensitivity import cell_sensitivity


def test_queries_are_frozen_and_keys_normalised() -> None:
    query = Count(by=["sex", "race"], keys={"sex": ["F", "M"], "race": ["a", "b", "c"]})
    assert query.by == ("sex", "race")
    assert len(query.keys or ()) == 6
    assert ("M", "c") in (query.keys or ())
    with pytest.raises(dataclasses.FrozenInstanceError):
        query.by = ("x",)  # type: ignore[misc]


def test_private_keys_flag() -> None:
    assert Count(by="sex").private_keys
    assert not Count(by="sex", keys={"sex": ["F"]}).private_keys
    assert not Count().private_keys


def test_sum_without_bounds_is_refused() -> None:
    with pytest.raises(InvalidParameterError, match=r"needs clamping bounds.*leak.*BoundsEstimate"):
        Sum("hours")
    with pytest.raises(InvalidParameterError, match="lower must be below upper"):
        Mean("hours", lower=5, upper=5)


def test_bad_keys_and_batches() -> None:
    with pytest.raises(InvalidParameterError, match="without by="):
        Count(keys=[("a",)])
    with pytest.raises(InvalidParameterError, match="missing \\['race'\\]"):
        Count(by=["sex", "race"], keys={"sex": ["F"]})
    with pytest.raises(InvalidParameterError, match="more than once"):
        Count(by="sex", keys=["F", "F"])
    with pytest.raises(InvalidParameterError, match="non-empty list"):
        Batch(())
    with pytest.raises(InvalidParameterError, match="weights must be 1 positive"):
        Batch((Count(),), weights=(0,))
    with pytest.raises(InvalidParameterError, match="increasing"):
        Histogram("age", (3, 2))
    with pytest.raises(InvalidParameterError, match=r"qs must lie in \[0, 1\]"):
        Quantiles("age", (1.5,), 0, 1)


def test_default_grid_is_a_thousandth_of_the_bound() -> None:
    assert Sum("x", -50, 20).step == pytest.approx(0.05)
    assert Sum("x", 0, 10, step=0.5).step == 0.5


@pytest.mark.parametrize(
    ("unit", "grouped", "finest", "l1", "l2_squared"),
    [
        (Rows(), True, True, 7, 49),
        (UserLevel("u", 5, 2), True, True, 5 * 2 * 7, 5 * 4 * 49),
        (UserLevel("u", 5, 2), True, False, 5 * 2 * 7, (5 * 2 * 7) ** 2),
        (UserLevel("u", 5, 2), False, True, 2 * 7, 4 * 49),
    ],
)
def test_sensitivity_table(
    unit: Rows | UserLevel, grouped: bool, finest: bool, l1: int, l2_squared: int
) -> None:
    s = cell_sensitivity(unit, 7, grouped=grouped, finest=finest)
    assert s.l1 == Fraction(l1)
    assert s.l2_squared == Fraction(l2_squared)


def test_sensitivity_is_attained_by_a_worst_case_user() -> None:
    """One user with k cells of m rows each moves the count vector by exactly the bounds."""
    k, m = 3, 4
    with_user = [m] * k + [0] * 5
    without = [0] * (k + 5)
    l1 = sum(abs(a - b) for a, b in zip(with_user, without, strict=True))
    l2_squared = sum((a - b) ** 2 for a, b in zip(with_user, without, strict=True))
    s = cell_sensitivity(UserLevel("u", k, m), 1, grouped=True)
    assert s.l1 == l1
    assert s.l2_squared == l2_squared


def test_user_level_validation() -> None:
    with pytest.raises(InvalidParameterError, match="max_groups_per_user must be an integer >= 1"):
        UserLevel("u", 0, 1)
    with pytest.raises(InvalidParameterError, match="nulls must be 'error' or 'drop'"):
        UserLevel("u", nulls="keep")  # type: ignore[arg-type]
