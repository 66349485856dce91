"""The empirical audit of a release with its DP bounding report (``bounding_share``).

The report's counts (users whose rows the caps cut, kept values clamped below and above) are
released with their own share of the budget; the audit tests the whole release (queries and
report) against the whole budget, on neighbours that attain the caps and the clamps. The
negative control states the report's sensitivity as one row (a user can change a clamp pair
by ``k m`` rows): caught statistically and by the exact per-pair check.
"""

from __future__ import annotations

import dataclasses
from fractions import Fraction

import pytest

from ethica._exceptions import InvalidParameterError
from ethica.privacy import ZCDP, Batch, Count, Mean, PureDP, Rows, Sum, UserLevel
from ethica.privacy.release._evaluate import _ReportGroup
from ethica.privacy.release._sensitivity import Sensitivity
from ethica.privacy.testing import ReportedQueryMechanism, audit
from tests.unit.privacy._auditing import CONFIDENCE, RUNS, frame

KEYS = {"g": ["a", "b", "c"]}
_ONE_ROW = Sensitivity(Fraction(1), Fraction(1))


class ReportForOneRow(ReportedQueryMechanism):
    """Negative control: the report's noise calibrated to one row per user."""

    def report_plan(self) -> list[_ReportGroup]:
        return [
            dataclasses.replace(
                g, capped=None if g.capped is None else _ONE_ROW, clamp_sensitivity=_ONE_ROW
            )
            for g in super().report_plan()
        ]


@pytest.mark.parametrize(
    ("query", "unit", "budget"),
    [
        (Sum("x", 0, 4, step=1), Rows(), PureDP(1)),
        (Sum("x", 0, 4, step=1), UserLevel("uid", 1, 4), PureDP(1)),
        (
            Batch([Count(by="g", keys=KEYS), Mean("x", 0, 4, step=1, by="g", keys=KEYS)]),
            UserLevel("uid", 2, 2),
            ZCDP(Fraction(1, 2)),
        ),
    ],
    ids=["row sum", "user sum", "user batch (zCDP)"],
)
def test_a_release_with_its_bounding_report_stays_within_its_claim(
    query: object, unit: object, budget: object
) -> None:
    mechanism = ReportedQueryMechanism(query, unit, budget, bounding_share=Fraction(1, 2))  # type: ignore[arg-type]
    result = audit(mechanism, frame(), runs=RUNS, confidence=CONFIDENCE)
    assert not result.violated, result.to_frame()
    checked = [c for p in result.pairs for c in p.sensitivity if c.component.startswith("report")]
    assert checked and all(c.holds for c in checked)  # the report's sensitivity was tested
    assert any(c.observed > 0 for c in checked)  # ...on neighbours that move its counts


def test_a_report_calibrated_to_one_row_is_caught() -> None:
    """A user with 4 kept rows beyond the bounds moves a clamp count by 4: true epsilon of
    that count 4 x 0.45 = 1.8 at a claim of 1."""
    control = ReportForOneRow(
        Sum("x", 0, 4, step=1), UserLevel("uid", 1, 4), PureDP(1), bounding_share=Fraction(9, 10)
    )
    result = audit(control, frame(), runs=RUNS, confidence=CONFIDENCE)
    assert result.epsilon_lower_bound > result.claimed_epsilon
    assert result.worst.event.startswith("report")
    assert not all(p.sensitivity_holds for p in result.pairs)


def test_a_query_without_anything_to_report_is_refused() -> None:
    with pytest.raises(InvalidParameterError, match="no bounding report"):
        ReportedQueryMechanism(Count(by="g", keys=KEYS), Rows(), PureDP(1))
    with pytest.raises(InvalidParameterError, match="strictly between 0 and 1"):
        ReportedQueryMechanism(Sum("x", 0, 4), Rows(), PureDP(1), bounding_share=Fraction(1))
