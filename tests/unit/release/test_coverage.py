"""Over repeated releases on a fixed table, 95% CIs cover about 95% of the time.

Each released cell is one trial. For counts and sums the exact coverage ``c = P(|X| <= k)``
is known (it is at least 0.95, and above it by at most one atom), so the empirical rate must
lie within 4 binomial standard deviations ``4 sqrt(c (1 - c) / N)`` of ``c``; the empirical
noise variance must match the stated variance within 25% (Laplace kurtosis 6: the sample
variance's relative sd is about ``sqrt(5 / N)``, under 6% here). Means and variances use
conservative (Bonferroni) intervals, so only ``rate >= 0.95 - 4 sd`` is required.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest

from ethica.privacy import ZCDP, Count, Mean, PureDP, Session, Sum, UserLevel, Variance
from ethica.privacy.release._release import ReleasedTable

CELLS = 250
REPEATS = 4


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    cell = rng.integers(0, CELLS, 20_000)
    value = rng.integers(0, 50, cell.size)
    return pd.DataFrame({"cell": cell, "value": value.astype(float)})


def _trials(
    table: pd.DataFrame, query: object, budget: object, truth: pd.Series
) -> tuple[np.ndarray, np.ndarray, ReleasedTable]:
    covered, errors = [], []
    last = None
    for _ in range(REPEATS):
        session = Session(table, privacy_unit="rows", budget=budget)  # type: ignore[arg-type]
        last = session.evaluate(query, budget).table()  # type: ignore[arg-type]
        keys = [k[0] for k in last.keys]
        true = truth.reindex(keys).to_numpy(dtype=float)
        values = np.asarray(last.values)
        covered.append((np.asarray(last.ci_low) <= true) & (true <= np.asarray(last.ci_high)))
        errors.append(values - true)
    assert last is not None
    return np.concatenate(covered), np.concatenate(errors), last


def _exact_coverage(released: ReleasedTable) -> float:
    """P(|X| <= k) for the released noise, from its pmf (counts and step-1 sums)."""
    k = round((released.ci_high[0] - released.ci_low[0]) / 2)
    name, text = next(iter(released.noise.items()))
    parameter = float(Fraction(text))
    if name.endswith("scale"):
        p = math.exp(-1 / parameter)
        return 1 - 2 * p ** (k + 1) / (1 + p)
    xs = np.arange(-int(40 * parameter) - 2, int(40 * parameter) + 3)
    w = np.exp(-(xs * xs) / (2 * parameter * parameter))
    return float(w[np.abs(xs) <= k].sum() / w.sum())


def _check_exact(covered: np.ndarray, errors: np.ndarray, released: ReleasedTable) -> None:
    c = _exact_coverage(released)
    assert c >= 0.95
    n = covered.size
    assert abs(covered.mean() - c) <= 4 * math.sqrt(c * (1 - c) / n)
    assert errors.var() == pytest.approx(released.variances[0], rel=0.25)


def test_count_laplace(table: pd.DataFrame) -> None:
    keys = {"cell": list(range(CELLS))}
    truth = table.groupby("cell").size()
    covered, errors, released = _trials(table, Count(by="cell", keys=keys), PureDP(0.5), truth)
    _check_exact(covered, errors, released)


def test_count_gaussian(table: pd.DataFrame) -> None:
    keys = {"cell": list(range(CELLS))}
    truth = table.groupby("cell").size()
    covered, errors, released = _trials(table, Count(by="cell", keys=keys), ZCDP(0.05), truth)
    _check_exact(covered, errors, released)


def test_sum_laplace(table: pd.DataFrame) -> None:
    keys = {"cell": list(range(CELLS))}
    truth = table["value"].clip(0, 40).groupby(table["cell"]).sum()
    query = Sum("value", 0, 40, step=1, by="cell", keys=keys)
    covered, errors, released = _trials(table, query, PureDP(1), truth)
    _check_exact(covered, errors, released)


@pytest.mark.parametrize("kind", ["mean", "variance"])
def test_mean_and_variance_cover_at_least_the_level(table: pd.DataFrame, kind: str) -> None:
    keys = {"cell": list(range(CELLS))}
    clamped = table["value"].clip(0, 40).groupby(table["cell"])
    query: Mean | Variance
    if kind == "mean":
        truth, query = clamped.mean(), Mean("value", 0, 40, by="cell", keys=keys)
    else:
        truth = clamped.var(ddof=0)
        query = Variance("value", 0, 40, step=0.01, by="cell", keys=keys)
    covered, _, _ = _trials(table, query, PureDP(2), truth)
    n = covered.size
    assert covered.mean() >= 0.95 - 4 * math.sqrt(0.95 * 0.05 / n)


def test_user_level_count_covers_the_bounded_truth() -> None:
    """Each user visits exactly 2 places with exactly 3 rows: bounding (k=2, m=3) keeps all."""
    rng = np.random.default_rng(3)
    users, places = 3000, 200
    rows = []
    for user in range(users):
        for place in rng.choice(places, 2, replace=False):
            rows += [(user, int(place))] * 3
    visits = pd.DataFrame(rows, columns=["person", "place"])
    truth = visits.groupby("place").size()
    unit = UserLevel("person", max_groups_per_user=2, max_rows_per_group=3)
    covered, errors = [], []
    for _ in range(REPEATS):
        session = Session(visits, privacy_unit=unit, budget=PureDP(1))
        released = session.evaluate(
            Count(by="place", keys={"place": list(range(places))}), PureDP(1)
        ).table()
        true = truth.reindex([k[0] for k in released.keys]).to_numpy(dtype=float)
        covered.append((np.asarray(released.ci_low) <= true) & (true <= released.ci_high))
        errors.append(np.asarray(released.values) - true)
    assert released.noise == {"n.scale": "6"}  # L1 = k m = 6 at epsilon 1
    _check_exact(np.concatenate(covered), np.concatenate(errors), released)
