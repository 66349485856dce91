"""DPThresholdOptimizer: private post-processing (Jagielski et al. 2019) on Adult."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.utils.validation import check_is_fitted

from ethica._exceptions import (
    BudgetExceededError,
    InvalidParameterError,
    NotFittedError,
    ReleaseFailedError,
)
from ethica.fairness import ThresholdOptimizer
from ethica.privacy import ZCDP, Ledger, PureDP
from ethica.privacy.learning import DPThresholdOptimizer
from ethica.privacy.learning._fair_postprocessing import score_bins, score_histogram

from .conftest import encode, income

GROUPS = ["Female", "Male"]
Split = tuple[np.ndarray, np.ndarray, np.ndarray]


@pytest.fixture(scope="module")
def adult() -> tuple[LogisticRegression, Split, Split]:
    """A logistic-regression scorer fitted on the first half of Adult's training split
    (the public half, without the protected column); the second half is the private data
    the thresholds are fitted on; Adult's test split evaluates."""
    from ethica.datasets import load_adult

    train, test = load_adult("train"), load_adult("test")
    frame = encode(train, ("occupation",))
    X, Xt = frame.to_numpy(), encode(test, ("occupation",), frame.columns).to_numpy()
    y, yt = income(train), income(test)
    half = X.shape[0] // 2
    scorer = LogisticRegression(max_iter=1000).fit(X[:half], y[:half])
    private = (X[half:], y[half:], train["sex"].to_numpy()[half:])
    return scorer, private, (Xt, yt, test["sex"].to_numpy())


def _gap_and_accuracy(model: Any, test: Split) -> tuple[float, float]:
    """Demographic-parity gap and accuracy of the randomised classifier, in expectation
    over its draws (from predict_proba, so no draw noise)."""
    X, y, a = test
    positive = model.predict_proba(X, sensitive_features=a)[:, 1]
    rates = [positive[a == g].mean() for g in GROUPS]
    return abs(rates[0] - rates[1]), float(np.mean(np.where(y == 1, positive, 1 - positive)))


def test_large_epsilon_matches_the_non_private_optimizer(adult: Any) -> None:
    scorer, private, test = adult
    X, y, a = private
    exact = ThresholdOptimizer(estimator=scorer, prefit=True, constraints="demographic_parity")
    exact_gap, exact_accuracy = _gap_and_accuracy(exact.fit(X, y, sensitive_features=a), test)
    base = scorer.predict(test[0])
    base_gap = abs(np.diff([base[test[2] == g].mean() for g in GROUPS])[0])
    model = DPThresholdOptimizer(estimator=scorer, groups=GROUPS, epsilon=1000, n_bins=20)
    gap, accuracy = _gap_and_accuracy(model.fit(X, y, sensitive_features=a), test)
    # measured: scorer 0.083, exact 0.001 (200 quantile thresholds), DP 0.0004 (20 bins):
    # noise of scale 1e-3 changes almost no count; the rest is the grids and test sampling.
    assert base_gap > 0.05
    assert gap < 0.025 and abs(gap - exact_gap) < 0.02
    assert abs(accuracy - exact_accuracy) < 0.01


def test_small_epsilon_widens_the_gap(adult: Any) -> None:
    scorer, private, test = adult
    X, y, a = private

    def mean_gap(epsilon: float, runs: int) -> float:
        model = DPThresholdOptimizer(estimator=scorer, groups=GROUPS, epsilon=epsilon)
        return float(
            np.mean(
                [
                    _gap_and_accuracy(model.fit(X, y, sensitive_features=a), test)[0]
                    for _ in range(runs)
                ]
            )
        )

    large, small = mean_gap(1000.0, 1), mean_gap(0.01, 10)
    # measured: 0.0004 at epsilon 1000; mean 0.072 over 50 fits at epsilon 0.01
    assert small > large + 0.01


def test_released_histogram_has_sensitivity_one_per_row() -> None:
    rng = np.random.default_rng(3)
    n, n_bins = 500, 16
    scores = rng.normal(0.5, 0.4, n)  # some outside the grid: clamped into the end bins
    scores[:3] = [np.nan, np.inf, -np.inf]
    groups = rng.integers(-1, 3, n)  # -1: an undeclared group, dropped
    labels = rng.integers(0, 2, n)
    bins = score_bins(scores, n_bins, (0.0, 1.0))
    assert bins.min() >= 0 and bins.max() <= n_bins - 1
    full = score_histogram(bins, groups, labels, 3, n_bins)
    assert full.sum() == np.sum(groups >= 0)
    for i in range(n):  # remove each row in turn: the neighbouring data set
        keep = np.arange(n) != i
        neighbour = score_histogram(bins[keep], groups[keep], labels[keep], 3, n_bins)
        change = np.abs(full - neighbour).sum()
        assert change == (1 if groups[i] >= 0 else 0)
    # whereas the cumulative table (counts above each threshold) moves by up to n_bins
    cumulative = np.cumsum(full[:, :, ::-1], axis=2)
    top = int(np.flatnonzero((groups >= 0) & (bins == n_bins - 1))[0])
    keep = np.arange(n) != top
    neighbour = score_histogram(bins[keep], groups[keep], labels[keep], 3, n_bins)
    assert np.abs(cumulative - np.cumsum(neighbour[:, :, ::-1], axis=2)).sum() == n_bins


def test_noise_matches_the_declared_budget(adult: Any) -> None:
    scorer, private, _ = adult
    X, y, a = private
    bins = score_bins(scorer.predict_proba(X)[:, 1], 50, (0.0, 1.0))
    codes = np.where(a == "Female", 0, 1)
    exact = score_histogram(bins, codes, y, 2, 50)
    laplace = DPThresholdOptimizer(estimator=scorer, groups=GROUPS, epsilon=0.5, n_bins=50)
    noise = np.concatenate(
        [
            (laplace.fit(X, y, sensitive_features=a).noisy_histogram_ - exact).ravel()
            for _ in range(20)
        ]
    )
    # discrete Laplace of scale 2: variance 2 e^{-1/2} / (1 - e^{-1/2})^2 ~ 7.9 (4000 draws)
    expected = 2 * np.exp(-0.5) / (1 - np.exp(-0.5)) ** 2
    assert abs(noise.var() / expected - 1) < 0.15 and abs(noise.mean()) < 0.3
    assert laplace.noise_ == {"mechanism": "discrete Laplace", "scale": 2.0}
    gaussian = DPThresholdOptimizer(estimator=scorer, groups=GROUPS, budget=ZCDP(0.125), n_bins=50)
    gaussian.fit(X, y, sensitive_features=a)
    assert gaussian.noise_["mechanism"] == "discrete Gaussian"
    assert abs(gaussian.noise_["sigma"] - 2.0) < 1e-9  # 1 / sqrt(2 * 0.125)
    assert gaussian.budget_ == ZCDP(0.125)


def test_sklearn_contract(adult: Any) -> None:
    scorer, private, test = adult
    X, y, a = private
    model = DPThresholdOptimizer(estimator=scorer, groups=GROUPS, epsilon=5.0, random_state=1)
    with pytest.raises(NotFittedError):
        model.predict(test[0], sensitive_features=test[2])
    assert model.fit(X, y, sensitive_features=a) is model
    check_is_fitted(model)
    assert clone(model).get_params()["groups"] == GROUPS
    labels = model.predict(test[0], sensitive_features=test[2])
    assert set(np.unique(labels)) <= {0, 1}
    assert np.array_equal(labels, model.predict(test[0], sensitive_features=test[2]))
    proba = model.predict_proba(test[0], sensitive_features=test[2])
    assert proba.shape == (test[0].shape[0], 2) and np.allclose(proba.sum(axis=1), 1.0)
    for probabilities in model.threshold_probabilities_:
        assert np.isclose(probabilities.sum(), 1.0) and np.all(probabilities > 0)
    assert model.noisy_histogram_.shape == (2, 2, 20)
    with pytest.raises(InvalidParameterError, match="unknown group"):
        model.predict(test[0][:2], sensitive_features=["Female", "Other"])


@pytest.mark.parametrize(
    "constraints", ["true_positive_rate_parity", "false_positive_rate_parity", "equalized_odds"]
)
def test_other_constraints_equalise_their_rates(adult: Any, constraints: str) -> None:
    scorer, private, test = adult
    X, y, a = private
    model = DPThresholdOptimizer(
        estimator=scorer, groups=GROUPS, constraints=constraints, epsilon=1000
    ).fit(X, y, sensitive_features=a)
    positive = model.predict_proba(test[0], sensitive_features=test[2])[:, 1]
    labels = {
        "true_positive_rate_parity": (1,),
        "false_positive_rate_parity": (0,),
        "equalized_odds": (1, 0),
    }[constraints]
    plain = scorer.predict(test[0])
    for label in labels:
        rows = test[1] == label
        gap = abs(np.diff([positive[rows & (test[2] == g)].mean() for g in GROUPS])[0])
        plain_gap = abs(np.diff([plain[rows & (test[2] == g)].mean() for g in GROUPS])[0])
        assert gap < plain_gap and gap < 0.04


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    with Ledger(tmp_path / "ledger.sqlite3") as ledger:
        ledger.create_dataset("train", PureDP(1))
        yield ledger


def test_ledger_charges_refusals_cost_nothing_and_failures_stand(
    adult: Any, ledger: Ledger
) -> None:
    scorer, private, _ = adult
    X, y, a = private

    def model(**kwargs: Any) -> DPThresholdOptimizer:
        return DPThresholdOptimizer(estimator=scorer, groups=GROUPS, **kwargs)

    model(epsilon=0.4, ledger=ledger, dataset="train").fit(X, y, sensitive_features=a)
    status = ledger.status("train")
    assert status.spent == PureDP(0.4) and status.charges == 1
    refused = [
        model(epsilon=0.7, ledger=ledger, dataset="train"),  # over what remains
        model(budget=ZCDP(0.1), ledger=ledger, dataset="train"),  # kind mismatch
        model(epsilon=0.1, n_bins=0, ledger=ledger, dataset="train"),
        model(epsilon=0.1, score_range=(1.0, 0.0), ledger=ledger, dataset="train"),
        model(epsilon=0.1, constraints="parity", ledger=ledger, dataset="train"),
        model(epsilon=0.1, prefit=False, ledger=ledger, dataset="train"),
        DPThresholdOptimizer(estimator=LogisticRegression(), groups=GROUPS, epsilon=0.1),
        DPThresholdOptimizer(estimator=scorer, groups=["Female"], epsilon=0.1),
    ]
    for bad in refused:
        with pytest.raises((InvalidParameterError, BudgetExceededError)):
            bad.fit(X, y, sensitive_features=a)
    assert ledger.status("train").charges == 1
    # the scorer fails on the private rows (wrong width): after the charge, generic error
    with pytest.raises(ReleaseFailedError) as raised:
        model(epsilon=0.2, ledger=ledger, dataset="train").fit(X[:, :2], y, sensitive_features=a)
    assert raised.value.__cause__ is None and raised.value.__context__ is None
    history = ledger.history("train")
    assert [c.status for c in history] == ["released", "failed"]
    spent = ledger.status("train").spent
    assert isinstance(spent, PureDP) and abs(float(spent.epsilon) - 0.6) < 1e-12


def test_rows_of_undeclared_groups_are_not_counted(adult: Any) -> None:
    scorer, private, _ = adult
    X, y, a = private
    declared = DPThresholdOptimizer(estimator=scorer, groups=GROUPS, epsilon=1e4, n_bins=4)
    renamed = np.where(a == "Male", "Unknown", a)  # males no longer match a declared group
    histogram = declared.fit(X, y, sensitive_features=renamed).noisy_histogram_
    # epsilon 1e4: P(noise != 0) per cell ~ 2e-4, so the counts are exact here
    assert abs(int(histogram[1].sum())) <= 2
    assert abs(int(histogram[0].sum()) - int(np.sum(a == "Female"))) <= 2


def test_predict_bins_scores_exactly_as_fit_counted_them(adult: Any) -> None:
    """With noise that is zero (epsilon 1e6), the error the LP minimised on the released
    counts equals the classifier's expected error on the same rows, as predict sees them:
    one binning arithmetic on both sides, on an awkward grid."""
    scorer, private, _ = adult
    X, y, a = private
    model = DPThresholdOptimizer(
        estimator=scorer, groups=GROUPS, epsilon=1e6, n_bins=7, score_range=(0.1, 0.7)
    ).fit(X, y, sensitive_features=a)
    positive = model.predict_proba(X, sensitive_features=a)[:, 1]
    error = float(np.mean(np.where(y == 1, 1 - positive, positive)))
    assert abs(error - model.noisy_error_) < 1e-9
    assert model.noisy_histogram_.sum() == y.shape[0]


def test_labels_are_declared_never_read_before_the_charge(adult: Any, ledger: Ledger) -> None:
    """Which classes occur in y is private: a one-class y is charged and fitted (no
    data-dependent refusal), ``classes_`` is the declaration, and only a dtype mismatch
    (a schema fact) is refused, for free."""
    scorer, private, _ = adult
    X, y, a = private
    ones = np.ones_like(y)
    model = DPThresholdOptimizer(
        estimator=scorer, groups=GROUPS, epsilon=0.3, ledger=ledger, dataset="train"
    ).fit(X, ones, sensitive_features=a)
    assert model.classes_.tolist() == [0, 1]
    assert ledger.status("train").charges == 1
    text = np.where(y == 1, ">50K", "<=50K")
    with pytest.raises(InvalidParameterError, match="classes"):
        DPThresholdOptimizer(
            estimator=scorer, groups=GROUPS, epsilon=0.3, ledger=ledger, dataset="train"
        ).fit(X, text, sensitive_features=a)
    assert ledger.status("train").charges == 1
    declared = DPThresholdOptimizer(
        estimator=scorer, groups=GROUPS, classes=("<=50K", ">50K"), epsilon=1e4, n_bins=4
    ).fit(X, text, sensitive_features=a)
    assert declared.classes_.tolist() == ["<=50K", ">50K"]
    assert abs(int(declared.noisy_histogram_[:, 1].sum()) - int(y.sum())) <= 4
    undeclared = np.where(y == 1, "maybe", text)  # a label outside classes: row dropped
    dropped = DPThresholdOptimizer(
        estimator=scorer, groups=GROUPS, classes=("<=50K", ">50K"), epsilon=1e4, n_bins=4
    ).fit(X, undeclared, sensitive_features=a)
    assert abs(int(dropped.noisy_histogram_.sum()) - int(np.sum(y == 0))) <= 4
