"""Quantiles by the exponential mechanism and DP bounds estimation land near the truth."""

from __future__ import annotations

import pandas as pd

from ethica.privacy import BoundsEstimate, Histogram, PureDP, Quantiles, Session


def test_quantiles_near_truth(adult_train: pd.DataFrame) -> None:
    session = Session(adult_train, privacy_unit="rows", budget=PureDP(2))
    table = session.evaluate(Quantiles("age", (0.25, 0.5, 0.9), 0, 100, 201), PureDP(2)).table()
    truth = adult_train["age"].quantile([0.25, 0.5, 0.9]).to_numpy()
    for released, true in zip(table.values, truth, strict=True):
        assert abs(released - true) <= 2.0  # 32k rows, rank error ~ 30 at epsilon 2/3
    assert table.notes["rank_error_95"] > 0
    assert table.mechanism == "exponential mechanism"


def test_bounds_estimate_brackets_most_of_the_data(adult_train: pd.DataFrame) -> None:
    session = Session(adult_train, privacy_unit="rows", budget=PureDP(1))
    lower, upper = session.evaluate(BoundsEstimate("age"), PureDP(1)).table().values
    inside = adult_train["age"].between(lower, upper).mean()
    assert inside >= 0.95
    assert 0 < lower <= adult_train["age"].quantile(0.05)
    assert upper <= 256


def test_histogram_cells_are_labelled(adult_train: pd.DataFrame) -> None:
    session = Session(adult_train, privacy_unit="rows", budget=PureDP(1))
    table = session.evaluate(Histogram("age", (30, 50)), PureDP(1)).table()
    assert [k[0] for k in table.keys] == ["< 30", "[30, 50)", ">= 50"]
    assert abs(sum(table.values) - len(adult_train)) < 100


def test_zcdp_budget_converts_to_a_selection_epsilon_that_fits() -> None:
    from fractions import Fraction

    from ethica.privacy import ZCDP, pure_to_zcdp
    from ethica.privacy.release._evaluate import selection_epsilon

    for rho in (Fraction(1, 8), Fraction(1, 3), Fraction(2)):
        epsilon = selection_epsilon(ZCDP(rho))
        assert pure_to_zcdp(PureDP(epsilon)).rho <= rho
        assert rho - epsilon**2 / 2 < Fraction(1, 2**30)
