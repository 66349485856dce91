"""Honest intervals (issue 9, #10): unbiased grid rounding, and notes saying what is covered.

Values below the rounding step were all rounded to 0 by round-to-nearest, so the released
sums and means were biased far beyond their intervals (0 coverage). With unbiased randomised
rounding the interval of the noise covers the true clamped statistic at about the nominal
level, as long as the rounding's own error (sd ``sqrt(n p (1 - p))`` steps) is small next to
the noise, which these tables are built to satisfy (it is stated in each table's notes).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from ethica.privacy import ApproxDP, Count, Mean, PureDP, Quantiles, Rows, Sum, UserLevel
from ethica.privacy.release._evaluate import Part, evaluate_parts

CELLS, ROWS, VALUE = 100, 1000, 0.45
REPEATS = 4


@pytest.fixture(scope="module")
def below_the_step() -> pd.DataFrame:
    """100 cells of 1000 rows, every value 0.45 steps of 1: true sum 450, true mean 0.45."""
    cell = np.repeat(np.arange(CELLS), ROWS)
    return pd.DataFrame({"cell": cell, "x": np.full(cell.size, VALUE)})


def _coverage(frame: pd.DataFrame, query: object, budget: object, truth: float) -> float:
    covered = []
    for _ in range(REPEATS):
        (table,) = evaluate_parts(frame, [Part("p", query, budget)], Rows(), 0.95)  # type: ignore[arg-type]
        low, high = np.asarray(table.ci_low), np.asarray(table.ci_high)
        covered.append((low <= truth) & (truth <= high))
    return float(np.concatenate(covered).mean())


def test_sum_of_values_below_the_step_covers_at_the_nominal_level(
    below_the_step: pd.DataFrame,
) -> None:
    keys = {"cell": list(range(CELLS))}
    query = Sum("x", 0, 10, step=1, by="cell", keys=keys)
    # Laplace scale 50 steps (sd 71) vs rounding sd sqrt(1000 * 0.45 * 0.55) = 15.7 steps:
    # coverage about 0.946; round-to-nearest missed the truth (450) by 450 steps, never covered
    rate = _coverage(below_the_step, query, PureDP(0.2), ROWS * VALUE)
    n = CELLS * REPEATS
    assert abs(rate - 0.95) <= 4 * math.sqrt(0.95 * 0.05 / n)


def test_mean_of_values_below_the_step_covers(below_the_step: pd.DataFrame) -> None:
    keys = {"cell": list(range(CELLS))}
    query = Mean("x", 0, 10, step=1, by="cell", keys=keys)
    rate = _coverage(below_the_step, query, PureDP(0.5), VALUE)
    n = CELLS * REPEATS
    assert rate >= 0.95 - 4 * math.sqrt(0.95 * 0.05 / n)  # Bonferroni: conservative


def test_every_table_says_what_its_interval_covers() -> None:
    frame = pd.DataFrame({"user": np.arange(60) % 20, "g": np.arange(60) % 3, "x": np.ones(60)})
    unit = UserLevel("user", max_groups_per_user=2, max_rows_per_group=1)
    parts = [
        Part("count", Count(by="g", keys={"g": [0, 1, 2]}), PureDP(1)),
        Part("sum", Sum("x", 0, 2, by="g", keys={"g": [0, 1, 2]}), PureDP(1)),
    ]
    count, total = evaluate_parts(frame, parts, unit, 0.95)
    for table in (count, total):
        assert "does not cover the rows dropped by contribution caps" in table.notes["interval"]
        assert "not released" in table.notes["rows_dropped_by_caps"]
        assert "not released" in table.notes["values_clamped"]
    assert "randomised rounding" in total.notes["rounding"]
    assert "step * sqrt(n) / 2" in total.notes["interval"]
    (rows_only,) = evaluate_parts(frame, parts[:1], Rows(), 0.95)
    assert "rows_dropped_by_caps" not in rows_only.notes


def test_private_key_cells_say_their_intervals_are_conditional() -> None:
    frame = pd.DataFrame({"g": np.repeat(["a", "b"], 500)})
    (table,) = evaluate_parts(frame, [Part("c", Count(by="g"), ApproxDP(1, 1e-6))], Rows(), 0.95)
    assert "conditionally on its cell being selected" in table.notes["selection"]


def test_quantile_rank_error_is_relative_to_the_best_candidate() -> None:
    frame = pd.DataFrame({"x": np.linspace(0, 100, 501)})
    query = Quantiles("x", qs=(0.5,), lower=0, upper=100, candidates=101)
    (table,) = evaluate_parts(frame, [Part("q", query, PureDP(1))], Rows(), 0.95)
    wording = table.notes["interval"]
    assert "more than the best candidate on the grid" in wording
    assert "for each quantile separately" in wording
    assert "within rank_error_95 of the target rank" not in wording
