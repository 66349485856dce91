"""Free checks catch everything data-independent; the aggregation is total (issue 9, #1, #11).

A *poisoned* DuckDB view has a known schema but fails as soon as a row is read: a check that
passes or refuses on it provably read no row.
"""

from __future__ import annotations

import warnings
from fractions import Fraction

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
import pytest

from ethica._exceptions import InvalidParameterError, PrivacyWarning, SchemaError
from ethica.data._bins import MAX_EDGES, bin_index
from ethica.data._bounding import MAX_UNITS_PER_ROW
from ethica.privacy import (
    ApproxDP,
    BoundsEstimate,
    Count,
    Histogram,
    Mean,
    PureDP,
    Quantiles,
    Rows,
    Sum,
    UserLevel,
    Variance,
)
from ethica.privacy.release._cells import add_exactly
from ethica.privacy.release._evaluate import Part, check_parts, evaluate_parts


@pytest.fixture
def poisoned() -> ir.Table:
    con = ibis.duckdb.connect()
    con.raw_sql(
        "CREATE VIEW poisoned AS SELECT CAST(s AS DOUBLE) AS x, CAST(s AS DOUBLE) AS g, "
        "CAST(s AS DOUBLE) AS u FROM (VALUES ('not a number'), ('0.123456789')) v(s)"
    )
    return con.table("poisoned")


def _check(table: object, query: object, budget: object = None, unit: object = None) -> None:
    check_parts(table, [Part("p", query, budget or PureDP(1))], unit or Rows())  # type: ignore[arg-type]


def test_the_poisoned_view_fails_when_read(poisoned: ir.Table) -> None:
    with pytest.raises(Exception, match=r"(?i)conver"):
        evaluate_parts(poisoned, [Part("p", Sum("x", 0, 1), PureDP(1))], Rows(), 0.95)


def test_a_tiny_step_is_refused_before_reading(poisoned: ir.Table) -> None:
    # the engine's cast error once carried the value (a binary search on step finds a record)
    with pytest.raises(InvalidParameterError, match=r"step=1e-300 is too fine") as err:
        _check(poisoned, Sum("x", 0, 1, step=1e-300))
    assert "0.123" not in str(err.value)
    with pytest.raises(InvalidParameterError, match="too fine"):
        _check(poisoned, Variance("x", -1e9, 1e9, step=1e-3))
    _check(poisoned, Sum("x", 0, 1, step=1 / MAX_UNITS_PER_ROW))  # exactly at the cap: fine


def test_sums_at_the_unit_cap_do_not_overflow() -> None:
    # 2**31 units per row over 1000 rows: 2**41, exact in int64; the value is recovered
    frame = pd.DataFrame({"x": np.full(1000, 1.0)})
    (table,) = evaluate_parts(
        frame, [Part("p", Sum("x", 0, 1, step=2.0**-31), PureDP(1))], Rows(), 0.95
    )
    assert table.sensitivity["s.l1"] == str(2**31)
    assert table.ci_low[0] <= 1000.0 <= table.ci_high[0]


def test_step_larger_than_the_range_is_refused() -> None:
    with pytest.raises(InvalidParameterError, match=r"step=5 is larger than the clamping range"):
        Sum("x", 0, 1, step=5)


def test_grids_too_large_for_the_engine_are_refused_up_front() -> None:
    # int16 bin indices overflowed past 32,767 cells for some data and not for other
    with pytest.raises(InvalidParameterError, match=r"candidates=40000 is more than"):
        Quantiles("x", lower=0, upper=1, candidates=40_000)
    with pytest.raises(InvalidParameterError, match=r"40000 edges"):
        Histogram("x", tuple(float(i) for i in range(40_000)))
    assert MAX_EDGES < 2**31
    t = ibis.table({"x": "float64"}, name="t")
    assert bin_index(t.x, [0.0, 1.0]).type().is_int32()


def test_bounds_estimate_power_is_checked() -> None:
    with pytest.raises(InvalidParameterError, match=r"max_power must be an integer in \[0, 1023\]"):
        BoundsEstimate("x", max_power=2000)
    assert BoundsEstimate("x", max_power=1023).grid[-1] == 2.0**1023


def test_grouping_by_the_user_column_is_refused(poisoned: ir.Table) -> None:
    unit = UserLevel("u", max_groups_per_user=2)
    with pytest.raises(SchemaError, match=r"groups by the user-id column 'u'"):
        _check(poisoned, Count(by="u", keys={"u": [1, 2]}), unit=unit)
    with pytest.raises(SchemaError, match="user-id column 'u'"):
        _check(poisoned, Histogram("u", (1.0, 2.0)), unit=unit)


def test_private_keys_without_delta_are_refused_before_reading(poisoned: ir.Table) -> None:
    with pytest.raises(InvalidParameterError, match="ApproxDP"):
        _check(poisoned, Count(by="g"))
    _check(poisoned, Count(by="g"), ApproxDP(1, 1e-6))


def test_noise_beyond_the_samplers_is_refused_before_reading(poisoned: ir.Table) -> None:
    unit = UserLevel("u", max_groups_per_user=1000, max_rows_per_group=1000)
    with pytest.raises(InvalidParameterError, match="beyond the largest the exact samplers"):
        _check(poisoned, Sum("x", 0, 1, step=2.0**-31), PureDP(1e-5), unit)
    # a scale beyond a float's range is still refused in words (it raised OverflowError)
    with pytest.raises(InvalidParameterError, match=r"scale ~1e\+400, beyond the largest"):
        _check(poisoned, Count(), PureDP(Fraction(1, 10**400)))


def test_a_huge_epsilon_warns_that_the_release_is_exact(poisoned: ir.Table) -> None:
    with pytest.warns(PrivacyWarning, match="zero width"):
        _check(poisoned, Mean("x", 0, 1), PureDP(1e308))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _check(poisoned, Mean("x", 0, 1), PureDP(1))


def test_noise_is_added_in_exact_integers_near_int64_limits() -> None:
    big = np.array([2**62, -(2**62) - 5, 7], dtype=np.int64)
    draws = np.array([2**62, -(2**62), -3], dtype=np.int64)
    out = add_exactly(big, draws)
    assert out.tolist() == [2**63, -(2**63) - 5, 4]
    small = add_exactly(np.array([1, 2], dtype=np.int64), np.array([3, -4], dtype=np.int64))
    assert small.dtype == np.int64 and small.tolist() == [4, -2]
