"""The auditor under user-level privacy: every query type × budget kind, the negative
control, and the sensitivity test of contribution bounding (salted, randomised).

The base is pre-bounded (every existing user already within the caps), so the engine's
bounding leaves it exact; the adversarial user (more cells and more rows than the caps) is
bounded by the engine afresh in each of the ``aggregations`` runs, covering its salts.
"""

from __future__ import annotations

from fractions import Fraction

import pandas as pd
import pytest

from ethica.privacy import Count, PureDP, Sum, UserLevel
from ethica.privacy.testing import QueryMechanism, audit, neighbouring_pairs
from tests.unit.privacy._auditing import (
    CONFIDENCE,
    QUERIES,
    RUNS,
    TooLittleNoise,
    audit_matrix,
    frame,
)

UNIT = UserLevel("uid", max_groups_per_user=2, max_rows_per_group=2, nulls="drop")


def _matrix(name: str) -> None:
    for result in audit_matrix(name, UNIT):
        assert any("NaN user id" in p.pair for p in result.pairs)


def test_user_level_count_never_exceeds_its_claim() -> None:
    _matrix("count")


@pytest.mark.slow
@pytest.mark.parametrize("name", [n for n in QUERIES if n != "count"])
def test_user_level_release_never_exceeds_its_claim(name: str) -> None:
    _matrix(name)


def test_user_level_negative_control_is_caught() -> None:
    """A sum whose noise is calibrated to ``k m (B - 1)`` instead of ``k m B``."""
    control = TooLittleNoise(Sum("x", 0, 4, step=1), UNIT, PureDP(1))
    result = audit(control, frame(), runs=RUNS, confidence=CONFIDENCE)
    assert result.epsilon_lower_bound > result.claimed_epsilon
    assert result.violated


def test_bounding_keeps_each_user_within_the_caps_for_every_salt() -> None:
    """The sensitivity test of contribution bounding: a user with 7 cells × 5 rows changes a
    count table by at most its stated L1 sensitivity ``k m`` in each of 12 freshly salted
    aggregations, and by exactly ``k m`` in the worst (cut to the caps, not dropped)."""
    keys = {"g": [f"k{i}" for i in range(7)]}
    mechanism = QueryMechanism(Count(by="g", keys=keys), UNIT, PureDP(1), aggregations=12)
    rows = pd.DataFrame({"uid": [7] * 35, "g": [f"k{i % 7}" for i in range(35)], "x": 1.0})
    found = mechanism.contribution(rows)
    (change, stated) = found["count by g: n"]
    assert stated == Fraction(4)  # k m B = 2 · 2 · 1
    assert change == 4


def test_null_and_nan_user_ids_are_dropped_not_a_pseudo_user() -> None:
    """Rows with a NULL or NaN user id change nothing under nulls='drop' (NaN is NULL)."""
    mechanism = QueryMechanism(Count(), UNIT, PureDP(1))
    pairs = [p for p in neighbouring_pairs(frame(), UNIT, query=Count()) if "user id" in p.name]
    assert len(pairs) == 2
    for pair in pairs:
        assert pair.difference is not None
        found = mechanism.contribution(pair.difference)
        assert found["count: n"][0] == 0, pair.name
