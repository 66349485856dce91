"""The quantile utility's sensitivity, checked exactly on enumerated neighbours.

``u(c) = -|#{x < c} - q n|`` moves by at most ``max(q, 1 - q) R`` when one person adds
``R`` rows (Smith 2011's utility; the bound in
:func:`~ethica.privacy.release._sensitivity.rank_utility_sensitivity`). Each test enumerates
every neighbour of small data sets, finds the largest move, and checks that the bound holds and
is attained (so a smaller one would be wrong). The exponential mechanism calibrated with it is
then checked for its privacy loss exactly, from the two output distributions; at the median the
loss comes close to epsilon, so the mechanism with the sensitivity one eighth too small is caught.
"""

from __future__ import annotations

import itertools
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest

from ethica.privacy import PureDP, Quantiles, Session
from ethica.privacy.release import _evaluate
from ethica.privacy.release._sensitivity import Rows, UserLevel, rank_utility_sensitivity

GRID = np.arange(-1, 8)  # candidates c; the data take values 0..6
QS = [Fraction(1, 2), Fraction(1, 10), Fraction(9, 10), Fraction(1, 3)]


def _utilities(values: np.ndarray, q: Fraction) -> np.ndarray:
    below = (values[None, :] < GRID[:, None]).sum(axis=1)
    return -np.abs(below - float(q) * values.size)


def _neighbours(rows: int) -> list[np.ndarray]:
    """Every multiset of 1..rows values in 0..6 (what one person may add)."""
    return [
        np.array(extra)
        for r in range(1, rows + 1)
        for extra in itertools.combinations_with_replacement(range(7), r)
    ]


def _largest_move(q: Fraction, rows: int) -> float:
    rng = np.random.default_rng(0)
    largest = 0.0
    for size in (0, 1, 5, 12):
        base = rng.integers(0, 7, size)
        u = _utilities(base, q)
        for extra in _neighbours(rows):
            moved = _utilities(np.concatenate([base, extra]), q)
            largest = max(largest, float(np.abs(moved - u).max()))
    return largest


USER = UserLevel("u", max_groups_per_user=2, max_rows_per_group=2)


@pytest.mark.parametrize("q", QS)
@pytest.mark.parametrize(("unit", "rows"), [(Rows(), 1), (USER, 4)])
def test_the_bound_holds_and_is_attained(q: Fraction, unit: Rows | UserLevel, rows: int) -> None:
    bound = rank_utility_sensitivity(unit, 1, q)
    assert bound == max(q, 1 - q) * rows
    assert _largest_move(q, rows) == pytest.approx(float(bound), abs=1e-12)


def _log_pmf(u: np.ndarray, epsilon: float, sensitivity: float) -> np.ndarray:
    scores = epsilon * u / (2 * sensitivity)
    return scores - np.logaddexp.reduce(scores)


def _privacy_loss(q: Fraction, epsilon: float, sensitivity: float) -> float:
    """The exponential mechanism's largest |log P_D(c) - log P_D'(c)| over the neighbours."""
    rng = np.random.default_rng(1)
    worst = 0.0
    for size in (0, 3, 9):
        base = rng.integers(0, 7, size)
        first = _log_pmf(_utilities(base, q), epsilon, sensitivity)
        for extra in _neighbours(1):
            second = _utilities(np.concatenate([base, extra]), q)
            worst = max(worst, float(np.abs(first - _log_pmf(second, epsilon, sensitivity)).max()))
    return worst


@pytest.mark.parametrize("q", QS)
def test_the_mechanism_keeps_its_epsilon(q: Fraction) -> None:
    bound = float(rank_utility_sensitivity(Rows(), 1, q))
    assert _privacy_loss(q, 1.0, bound) <= 1.0 + 1e-12


def test_for_the_median_the_epsilon_is_attained_and_a_smaller_sensitivity_breaks_it() -> None:
    """Away from the median the mechanism's loss stays below epsilon (every utility moves the
    same way when a row is added, and the normaliser follows); at the median it comes within
    10% of epsilon on these small tables, so one eighth less sensitivity overspends."""
    half = Fraction(1, 2)
    bound = float(rank_utility_sensitivity(Rows(), 1, half))
    assert 0.9 < _privacy_loss(half, 1.0, bound) <= 1.0 + 1e-12
    assert _privacy_loss(half, 1.0, bound * 7 / 8) > 1.0


@pytest.mark.parametrize(("unit", "reach"), [(Rows(), 1), (USER, 4)])
def test_the_release_calls_the_mechanism_with_that_sensitivity(
    monkeypatch: pytest.MonkeyPatch, unit: Rows | UserLevel, reach: int
) -> None:
    """What a release actually passes to the exponential mechanism, per quantile: the bound
    above (a release calibrated to less would fail here), and the table says so."""
    calls: list[Fraction] = []
    real = _evaluate.exponential_mechanism

    def recording(scores: object, epsilon: object, sensitivity: object = 1) -> int:
        calls.append(Fraction(sensitivity))  # type: ignore[arg-type]
        return real(scores, epsilon, sensitivity)  # type: ignore[arg-type]

    monkeypatch.setattr(_evaluate, "exponential_mechanism", recording)
    frame = pd.DataFrame({"u": np.arange(60) % 20, "x": np.arange(60) % 7})
    session = Session(frame, privacy_unit=unit, budget=PureDP(1))
    table = session.evaluate(Quantiles("x", (0.5, 0.9), 0, 6, 7), PureDP(1)).table()
    expected = [max(Fraction(q), 1 - Fraction(q)) * reach for q in (0.5, 0.9)]
    assert calls == expected
    assert table.sensitivity == {
        f"utility, q={q}": str(e) for q, e in zip((0.5, 0.9), expected, strict=True)
    }
