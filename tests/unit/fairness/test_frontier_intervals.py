"""Frontier and proxy points carry intervals: the held-out rows are a sample."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from statsmodels.stats.proportion import proportion_confint

from ethica.fairness import DemographicParity, EqualOpportunity, frontier
from ethica.fairness._frontier import disparity_interval, error_interval
from ethica.fairness._intervals import newcombe_difference


def test_error_interval_is_wilson_on_the_mistakes() -> None:
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 2, 400).astype(np.int8)
    predictions = np.where(rng.random(400) < 0.8, labels, 1 - labels).astype(np.float64)
    mistakes = int(np.sum(predictions != labels))
    low, high = error_interval(predictions, labels)
    expected = proportion_confint(mistakes, 400, alpha=0.05, method="wilson")
    assert (low, high) == pytest.approx(expected, abs=1e-12)


def test_disparity_interval_is_newcombe_between_the_extreme_cells() -> None:
    labels = np.array([1, 0] * 150, dtype=np.int8)
    groups = np.array(["a"] * 100 + ["b"] * 100 + ["c"] * 100)
    predictions = np.r_[
        np.ones(60), np.zeros(40), np.ones(30), np.zeros(70), np.ones(45), np.zeros(55)
    ]
    bound = DemographicParity(difference_bound=0.0).bind(labels, groups)
    assert bound.disparity(predictions) == pytest.approx(0.3)
    _, low, high = newcombe_difference(
        np.array([60.0]), np.array([100.0]), np.array([30.0]), np.array([100.0]), 0.95
    )
    assert disparity_interval(bound, predictions) == pytest.approx((low[0], high[0]))
    # equal opportunity: the cells are the groups' actual positives only
    opportunity = EqualOpportunity(difference_bound=0.0).bind(labels, groups)
    lo, hi = disparity_interval(opportunity, predictions)
    assert lo < opportunity.disparity(predictions) < hi


def test_every_swept_point_lies_inside_its_intervals() -> None:
    rng = np.random.default_rng(3)
    n = 1200
    sensitive = rng.choice(["f", "m"], n)
    x = np.c_[rng.normal(size=n), (sensitive == "m") + rng.normal(scale=0.5, size=n)]
    y = (x[:, 0] + x[:, 1] + rng.normal(size=n) > 0.5).astype(int)
    result = frontier(
        x[:800],
        y[:800],
        sensitive[:800],
        x[800:],
        y[800:],
        sensitive[800:],
        bounds=[0.0, 0.1],
        estimator=LogisticRegression(),
        random_state=0,
    )
    assert result.n_test == 400 and result.confidence == 0.95
    for p in result.points:
        assert p.error_interval is not None and p.disparity_interval is not None
        assert p.error_interval[0] < p.error < p.error_interval[1]
        assert p.disparity_interval[0] < p.disparity < p.disparity_interval[1]
        assert p.error_interval[1] - p.error_interval[0] < 0.12
    first = result.points[0]
    assert first.error_interval is not None and first.disparity_interval is not None
    assert result.to_frame().iloc[0]["error_ci_low"] == first.error_interval[0]
    assert result.to_dict()["points"][0]["disparity_interval"] == list(first.disparity_interval)


def test_proxy_disparities_and_errors_carry_their_intervals() -> None:
    from ethica.data import fit_encoding, load_adult
    from ethica.fairness._proxies import proxy_analysis

    adult_train, adult_test = load_adult("train"), load_adult("test")
    encoding = fit_encoding(
        adult_train, label="income", protected="sex", positive=">50K", include_protected=True
    )
    train, test = encoding.transform(adult_train), encoding.transform(adult_test)
    result = proxy_analysis(
        train, test, protected="sex", estimator=LogisticRegression(solver="liblinear"), top=2
    )
    pairs = [
        (result.disparity_with, result.disparity_with_interval),
        (result.disparity_without, result.disparity_without_interval),
        (result.error_with, result.error_with_interval),
        (result.error_without, result.error_without_interval),
    ]
    for value, interval in pairs:
        assert interval is not None and interval[0] < value < interval[1]
        assert interval[1] - interval[0] < 0.05  # thousands of held-out rows
