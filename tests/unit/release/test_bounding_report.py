"""The opt-in DP bounding report: users capped and values clamped, from the release's own
engine queries, noised with the release's laws, inside the release's budget (issue 9,
finding 10)."""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import ibis.expr.operations as ops
import ibis.expr.types as ir
import numpy as np
import pandas as pd
import pytest
from ibis.common.exceptions import OperationNotDefinedError

from ethica._exceptions import InvalidParameterError
from ethica.data._bounding import COUNT, ClampCount, Contribution, bounded_aggregate
from ethica.data._engine import default_connection
from ethica.privacy import Session
from ethica.privacy.budget._budgets import ZCDP, ApproxDP, Budget, PureDP, zero_like
from ethica.privacy.release._evaluate import (
    Aggregates,
    Part,
    aggregate_parts,
    bounding_mechanisms,
    release_from_aggregates,
)
from ethica.privacy.release._queries import Batch, Count, Histogram, Mean, Sum, Variance
from ethica.privacy.release._sensitivity import PrivacyUnit, Rows, UserLevel

KEYS = [("a",), ("b",), ("c",), ("d",)]
UNIT = UserLevel("user", max_groups_per_user=2, max_rows_per_group=3)


def _base() -> pd.DataFrame:
    """60 users. Users 0..19 exceed the caps (3 places, 5 rows each) with values inside
    [0, 10], so which of their rows are kept never changes a clamp count; users 20..59 stay
    within the caps (one place, 2 rows) and have values outside the bounds: 20..39 one below
    0, 40..59 one above 10. Truth: 20 users capped, 20 kept values below, 20 above."""
    rows: list[tuple[int, str, float]] = []
    for user in range(20):
        for place in "abc":
            rows += [(user, place, float(v)) for v in (1, 2, 3, 4, 5)]
    for user in range(20, 60):
        outside = -5.0 if user < 40 else 25.0
        rows += [(user, "abcd"[user % 4], outside), (user, "abcd"[user % 4], 5.0)]
    return pd.DataFrame(rows, columns=["user", "place", "x"])


def _heavy_user(user: int = 999, places: str = "abcd", value: float = 1e9) -> pd.DataFrame:
    """One user with 50 rows in each place, every value far outside the bounds (one NaN)."""
    rows = [(user, p, value) for p in places for _ in range(50)]
    frame = pd.DataFrame(rows, columns=["user", "place", "x"])
    frame.loc[0, "x"] = math.nan
    return frame


def _report_counts(
    data: pd.DataFrame, parts: list[Part], unit: PrivacyUnit
) -> tuple[int | None, list[tuple[int, int]]]:
    (counts,) = aggregate_parts(data, parts, unit, bounding_report=True).bounding
    return counts.users_capped, [(below, above) for _, below, above in counts.clamped]


def _stated(parts: list[Part], unit: PrivacyUnit, data: pd.DataFrame) -> dict[str, Any]:
    aggregates = aggregate_parts(data, parts, unit, bounding_report=True)
    tables = release_from_aggregates(aggregates, parts, unit, 0.95, bounding_budget=PureDP(1))
    return dict(tables[-1].notes)


@pytest.mark.parametrize("value", [1e9, -1e9])
def test_one_user_changes_the_counts_by_at_most_the_stated_sensitivity(value: float) -> None:
    parts = [
        Part("c", Count(by="place", keys=KEYS), PureDP(1)),
        Part("m", Mean("x", 0, 10, by="place", keys=KEYS), PureDP(1)),
    ]
    base = _base()
    neighbour = pd.concat([base, _heavy_user(value=value)], ignore_index=True)
    notes = _stated(parts, UNIT, base)
    capped_l1 = Fraction(notes["users_capped"]["sensitivity"]["l1"])
    clamp = notes["values_clamped"]["sensitivity"]
    clamp_l1, clamp_l2 = Fraction(clamp["l1"]), Fraction(clamp["l2_squared"])
    assert (capped_l1, clamp_l1, clamp_l2) == (Fraction(1), Fraction(6), Fraction(36))  # k m = 6
    for _ in range(5):  # fresh bounding draws each time
        users_a, clamps_a = _report_counts(base, parts, UNIT)
        users_b, clamps_b = _report_counts(neighbour, parts, UNIT)
        assert users_a == 20 and clamps_a == [(20, 20)]  # the truth, exactly (see _base)
        assert users_b is not None
        assert abs(users_b - users_a) == 1 <= capped_l1
        (below_a, above_a), (below_b, above_b) = clamps_a[0], clamps_b[0]
        change = (abs(below_b - below_a), abs(above_b - above_a))
        assert sum(change) <= clamp_l1 and change[0] ** 2 + change[1] ** 2 <= clamp_l2
        # the heavy user keeps exactly k m = 6 rows (2 places x 3 rows), all clamped, unless
        # the NaN row is among them: the bound is reached, so it is also tight
        assert sum(change) in (5, 6)


def test_without_group_keys_a_user_keeps_m_rows_and_the_bound_says_so() -> None:
    parts = [Part("s", Sum("x", 0, 10), PureDP(1))]
    base = _base()
    neighbour = pd.concat([base, _heavy_user(places="a")], ignore_index=True)
    clamp = _stated(parts, UNIT, base)["values_clamped"]["sensitivity"]
    assert Fraction(clamp["l1"]) == 3  # one cell: m rows
    for _ in range(3):
        _, ((below_a, above_a),) = _report_counts(base, parts, UNIT)
        _, ((below_b, above_b),) = _report_counts(neighbour, parts, UNIT)
        assert abs(below_b - below_a) + abs(above_b - above_a) <= 3


def test_under_rows_one_row_changes_a_clamp_count_by_at_most_one() -> None:
    parts = [Part("v", Variance("x", 0, 10, by="place", keys=KEYS), PureDP(1))]
    base = _base()
    notes = _stated(parts, Rows(), base)
    assert "users_capped" not in notes  # nothing is capped under Rows
    assert notes["values_clamped"]["sensitivity"] == {"l1": "1", "l2_squared": "1"}
    users, ((below, above),) = _report_counts(base, parts, Rows())
    assert users is None and (below, above) == ((base.x < 0).sum(), (base.x > 10).sum())
    for extreme in (-1e300, 1e300, math.nan):
        row = pd.DataFrame({"user": [7], "place": ["z"], "x": [extreme]})
        _, ((below_b, above_b),) = _report_counts(pd.concat([base, row]), parts, Rows())
        assert abs(below_b - below) + abs(above_b - above) == (0 if math.isnan(extreme) else 1)


def test_binned_parts_report_capped_users_from_their_own_query() -> None:
    parts = [Part("h", Histogram("x", (0.0, 5.0, 10.0)), PureDP(1))]
    (counts,) = aggregate_parts(_base(), parts, UNIT, bounding_report=True).bounding
    # a binned query bounds per bin: users with > 2 bins or > 3 rows in a bin are capped
    truth = _capped_truth(_base().assign(bin=np.digitize(_base().x, [0, 5, 10])), "bin", 2, 3)
    assert counts.parts == (0,) and counts.clamped == () and counts.users_capped == truth


def _capped_truth(data: pd.DataFrame, cell: str, k: int, m: int) -> int:
    per_user = data.groupby("user")[cell].agg(["nunique"])
    per_cell = data.groupby(["user", cell]).size().groupby("user").max()
    return int(((per_user["nunique"] > k) | (per_cell > m)).sum())


def test_engine_capped_users_match_pandas_in_both_plans(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(7)
    data = pd.DataFrame(
        {"user": rng.integers(0, 50, 600), "g": rng.integers(0, 6, 600), "x": rng.normal(0, 3, 600)}
    )
    clamps = [ClampCount("lo", "x", -2, "below"), ClampCount("hi", "x", 2, "above")]
    for k, m in [(1, 1), (2, 3), (6, 100), (3, 5)]:
        truth = _capped_truth(data, "g", k, m)
        agg = bounded_aggregate(
            data, by=["g"], contribution=Contribution("user", k, m), capped_users="cap"
        )
        assert agg["cap"].sum() == truth
    row_level = bounded_aggregate(data, clamp_counts=clamps)
    assert (row_level["lo"].sum(), row_level["hi"].sum()) == (
        (data.x < -2).sum(),
        (data.x > 2).sum(),
    )
    engine = default_connection()
    compile_sql = engine.compile
    hashed: list[bool] = []

    def compile_without_hash(expr: ir.Table, *args: object, **kwargs: object) -> object:
        hashed.append(bool(expr.op().find(ops.Hash)))
        if hashed[-1]:
            raise OperationNotDefinedError("Hash")
        return compile_sql(expr, *args, **kwargs)

    monkeypatch.setattr(engine, "compile", compile_without_hash)
    for k, m in [(1, 1), (2, 3), (6, 100)]:
        agg = bounded_aggregate(
            data,
            by=["g"],
            contribution=Contribution("user", k, m),
            capped_users="cap",
            clamp_counts=clamps,
        )
        assert hashed[-2:] == [True, False]  # the two-window fallback ran
        assert agg["cap"].sum() == _capped_truth(data, "g", k, m)
        assert agg[COUNT].sum() <= 50 * k * m
    with pytest.raises(InvalidParameterError, match="capped_users"):
        bounded_aggregate(data, capped_users="cap")


def _session(budget: Budget, unit: PrivacyUnit = UNIT) -> Session:
    return Session(_base(), privacy_unit=unit, budget=budget)


def _batch() -> Batch:
    return Batch(
        (
            Count(by="place", keys=KEYS),
            Mean("x", 0, 10, by="place", keys=KEYS),
            Histogram("x", (0.0, 5.0, 10.0)),
        )
    )


def test_a_report_at_large_epsilon_is_close_to_the_truth_and_covered() -> None:
    release = _session(PureDP(40)).evaluate(  # report: 30, 10 per vector
        _batch(), PureDP(40), bounding_share=Fraction(3, 4)
    )
    count, mean, histogram = release.tables
    capped = count.notes["users_capped"]
    assert capped == mean.notes["users_capped"]  # one engine query, one noisy answer
    assert abs(capped["value"] - 20) <= 2 and capped["ci_low"] <= 20 <= capped["ci_high"]
    clamped = mean.notes["values_clamped"]
    for side in ("below", "above"):
        assert abs(clamped[side]["value"] - 20) <= 6  # scale 0.6: P(|noise| > 6) < 1e-4
        assert clamped[side]["ci_low"] <= 20 <= clamped[side]["ci_high"]
    truth = _capped_truth(_base().assign(bin=np.digitize(_base().x, [0, 5, 10])), "bin", 2, 3)
    assert abs(histogram.notes["users_capped"]["value"] - truth) <= 2
    assert "not released" not in str(mean.notes["values_clamped"])
    document = release.to_dict()["tables"][1]["notes"]
    assert document["values_clamped"]["below"]["value"] == clamped["below"]["value"]


@pytest.mark.parametrize(
    "budget", [PureDP(3), ZCDP(Fraction(1, 2)), ApproxDP(2, Fraction(1, 10**6))]
)
def test_the_total_charge_is_the_requested_budget(budget: Budget) -> None:
    session = _session(budget)
    release = session.evaluate(_batch(), budget, bounding_share=Fraction(1, 10))
    assert session.spent == budget and release.budget == budget
    report = {
        repr(t.notes[key]["budget"]): t.notes[key]["budget"]
        for t in release.tables
        for key in ("users_capped", "values_clamped")
        if isinstance(t.notes.get(key), dict)
    }
    assert len(report) == 1  # every report count has the same share
    # three report vectors (capped users of the cell query and of the histogram, one clamp
    # pair), each a third of the tenth; the queries share the other nine tenths
    parts = [Part(str(i), q, budget) for i, q in enumerate(_batch().queries)]
    assert bounding_mechanisms(parts, UNIT) == 3
    tables = sum((t.budget for t in release.tables[1:]), release.tables[0].budget)
    each = release.tables[0].budget
    assert tables == budget - _scaled(budget, Fraction(1, 10))
    third = _scaled(budget, Fraction(1, 30))
    assert list(report.values()) == [third.to_dict()]
    assert tables + third + third + third == budget
    assert each == _scaled(budget, Fraction(3, 10))
    mechanism = "discrete Gaussian" if isinstance(budget, ZCDP) else "discrete Laplace"
    assert release.tables[1].notes["values_clamped"]["mechanism"] == mechanism


def _scaled(budget: Budget, fraction: Fraction) -> Budget:
    if isinstance(budget, PureDP):
        return PureDP(budget.epsilon * fraction)
    if isinstance(budget, ZCDP):
        return ZCDP(budget.rho * fraction)
    assert isinstance(budget, ApproxDP)
    return ApproxDP(budget.epsilon * fraction, budget.delta * fraction)


def test_default_off_leaves_releases_unchanged() -> None:
    session = _session(PureDP(10))
    release = session.evaluate(_batch(), PureDP(3))
    assert session.spent == PureDP(3)
    assert [t.budget for t in release.tables] == [PureDP(1)] * 3
    for table in release.tables:
        assert "users_capped" not in table.notes and "bounding_report" not in table.notes
        assert str(table.notes["values_clamped"]).startswith("not released")
        assert str(table.notes["rows_dropped_by_caps"]).startswith("not released")
    parts = [Part(str(i), q, PureDP(1)) for i, q in enumerate(_batch().queries)]
    aggregates = aggregate_parts(_base(), parts, UNIT)
    assert aggregates.bounding == ()
    assert isinstance(aggregates, Aggregates)
    # the engine query without a report has exactly the columns it had before
    agg = bounded_aggregate(_base(), by=["place"], contribution=Contribution("user", 2, 3))
    assert list(agg.columns) == ["place", COUNT]


@pytest.mark.parametrize("share", [0, 1, Fraction(3, 2), -0.1, math.nan, True, "0.1"])
def test_a_share_outside_zero_one_is_refused_for_free(share: Any) -> None:
    session = _session(PureDP(1))
    with pytest.raises(InvalidParameterError, match="bounding_share"):
        session.evaluate(_batch(), PureDP(1), bounding_share=share)
    assert session.spent == zero_like(PureDP(1))


def test_nothing_to_report_is_refused_for_free() -> None:
    session = _session(PureDP(1), Rows())
    with pytest.raises(InvalidParameterError, match="nothing to report"):
        session.evaluate(Count(by="place", keys=KEYS), PureDP(1), bounding_share=Fraction(1, 10))
    assert session.spent == zero_like(PureDP(1))
    # under Rows a measure still clamps: the report has the clamp pair only
    release = session.evaluate(Sum("x", 0, 10), PureDP(1), bounding_share=Fraction(1, 10))
    assert set(release.tables[0].notes["values_clamped"]) >= {"below", "above", "sensitivity"}
    assert "users_capped" not in release.tables[0].notes
