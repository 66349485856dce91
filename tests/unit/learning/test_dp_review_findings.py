"""Adversarial review of the DP fair learning (review_a): reproductions and missing checks.

Findings reproduced here (see the review report for severity, file/line and fix):

* finding 1 - ``validate_data`` reads ``X`` and ``y`` before the charge: a NaN/inf value or
  a non-numeric cell is refused for free, and the refusal names the private value.
* finding 2 - a seeded randomised hypothesis (ethica's own mixture classifiers) is accepted
  as a member of the public class ``H``; its predictions depend on row positions, so one
  added row moves the count tables by far more than the sensitivity 1 the noise assumes.
* finding 2b - the same seeded mixture as ``DPThresholdOptimizer``'s scorer with
  ``predict_method="predict"``: ~120 of 400 rows change histogram bin when one row is added.
* finding 3 - ``private_frontier`` checked neither the sweep's total budget nor each fit's
  calibration before the first charge: a sweep can spend part of its budget and then fail,
  returning nothing.

Findings 2 (reduction) and 3 were fixed in 69ef5a8, 1 in 4973821, 2b and 2c in caa89c8;
their reproductions now guard the fixes.
* finding 2d (xfail) - position-dependent hypotheses with neither attribute nor tag
  (scikit-learn's seeded stratified DummyClassifier, a VotingClassifier of them, a plain
  class) are still accepted.
* finding 2c - the fix is bypassed by a Pipeline ending in the same seeded mixture.

The last two tests are not reproductions but checks the area lacked (they pass): a 2x
overspend of the reduction's selection was caught by no test before (finding 4).
"""

from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from sklearn.dummy import DummyClassifier
from sklearn.ensemble import VotingClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from ethica._exceptions import BudgetExceededError, InvalidParameterError, ReleaseFailedError
from ethica.fairness._postprocessing import _scores
from ethica.privacy import Ledger, PureDP
from ethica.privacy.learning import (
    DPExponentiatedGradient,
    DPLogisticRegression,
    DPThresholdOptimizer,
    _charging,
    _fair_reduction,
    private_frontier,
)
from ethica.privacy.learning._fair_reduction import _positive_counts, _select
from ethica.privacy.learning._hypotheses import Stump
from ethica.privacy.noise import discrete_laplace, exponential_mechanism

GROUPS = ["F", "M"]


def _data(n: int = 300, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.uniform(0, 1, (n, 2))
    y = rng.integers(0, 2, n).astype(float)
    a = np.where(rng.uniform(size=n) < 0.5, "F", "M")
    return X, y, a


@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    book = Ledger(tmp_path / "ledger.sqlite3")
    book.create_dataset("t", PureDP(1))
    return book


def _fit(kind: str, ledger: Ledger, X: Any, y: Any, a: Any) -> None:
    if kind == "reduction":
        DPExponentiatedGradient(
            groups=GROUPS, classes=(0, 1), epsilon=0.1, max_iter=2, ledger=ledger, dataset="t"
        ).fit(X, y, sensitive_features=a)
    else:
        DPLogisticRegression(classes=(0, 1), epsilon=0.1, ledger=ledger, dataset="t").fit(X, y)


@pytest.mark.parametrize("kind", ["reduction", "logistic"])
@pytest.mark.parametrize("corruption", ["y NaN", "X NaN", "X inf", "X text"])
def test_finding1_values_of_x_and_y_are_never_refused_for_free(
    kind: str, corruption: str, ledger: Ledger
) -> None:
    """One private cell decides between a free refusal and a charged fit; with text, the
    refusal prints the cell. The contract: checks before the charge read no value; after
    it a bad row is dropped (or the fit fails generically) and the charge stands."""
    X, y, a = _data()
    X = X.astype(object) if corruption == "X text" else X
    if corruption == "y NaN":
        y[17] = np.nan
    elif corruption == "X NaN":
        X[17, 1] = np.nan
    elif corruption == "X inf":
        X[17, 1] = np.inf
    else:
        X[17, 1] = "Alice Smith, diagnosis 42"
    try:
        _fit(kind, ledger, X, y, a)
    except ReleaseFailedError as error:  # acceptable: generic, after the charge
        assert "Alice" not in str(error) and error.__context__ is None
    except Exception as error:  # before 4973821: ValueError before the charge
        assert "Alice" not in str(error)
        if corruption == "X text":  # a refusal by dtype (object, a schema fact) is free
            clean = _data()[0].astype(object)
            with pytest.raises(type(error)):
                _fit(kind, ledger, clean, _data()[1], a)
            return
        raise AssertionError(f"refused before the charge: {error}") from None
    assert ledger.status("t").charges == 1  # the fit was charged like a clean one


def _seeded_mixture(X: np.ndarray, y: np.ndarray, a: np.ndarray) -> DPExponentiatedGradient:
    """ethica's own randomised classifier, seeded: a 50/50 mixture of two stumps."""
    model = DPExponentiatedGradient(
        groups=GROUPS, classes=(0, 1), epsilon=1, max_iter=1, random_state=0
    ).fit(X, y, sensitive_features=a)
    model.predictors_ = [Stump(0, 0.5, True), Stump(1, 0.5, True)]
    model.weights_ = np.array([0.5, 0.5])
    return model


def test_finding2_a_seeded_randomised_hypothesis_breaks_the_count_sensitivity() -> None:
    """Either such a hypothesis is refused for free, or the count tables keep L1
    sensitivity 1 when one row is added (here: in front, which shifts the seeded draws)."""
    X, y, a = _data(400, seed=1)
    hypothesis = _seeded_mixture(*_data(200, seed=2))
    try:
        DPExponentiatedGradient(
            groups=GROUPS, classes=(0, 1), epsilon=1, max_iter=2, hypotheses=[hypothesis]
        ).fit(X, y, sensitive_features=a)
    except InvalidParameterError:
        return  # refused before any charge: fine
    cell: npt.NDArray[np.intp] = np.asarray(
        np.random.default_rng(3).integers(0, 4, X.shape[0]), dtype=np.intp
    )
    before = _positive_counts([hypothesis], X, cell, 2)[:, 0]
    extra = np.array([[0.9, 0.9]])
    after = _positive_counts(
        [hypothesis], np.vstack([extra, X]), np.concatenate([np.zeros(1, np.intp), cell]), 2
    )[:, 0]
    assert int(np.abs(after - before).sum()) <= 1  # before 69ef5a8: 21 (draws shift)


@pytest.mark.parametrize("epsilons,total", [((1.0,), 1.5), ((1.0, 1e-30), 10)])
def test_finding3_a_sweep_that_cannot_finish_spends_nothing(
    epsilons: tuple[float, ...], total: float, tmp_path: Path
) -> None:
    """(1.0,) x 2 bounds needs 2 but 1.5 remains; 1e-30 is out of the sampler's range.
    Both are public facts: the sweep should refuse before its first charge."""
    X, y, a = _data()
    with Ledger(tmp_path / "l.sqlite3") as book:
        book.create_dataset("t", PureDP(total))
        with pytest.raises((BudgetExceededError, InvalidParameterError)):
            private_frontier(
                X, y, a, X, y, a, groups=GROUPS, epsilons=epsilons, bounds=(0.01, 0.05),
                learners=("reduction",), repeats=1, reference=False, max_iter=2,
                ledger=book, dataset="t",
            )  # fmt: skip
        assert book.status("t").charges == 0  # before 69ef5a8: 1 or 2 charges, nothing returned


# --------------------------------------------------------------------------- finding 4
# Checks the area lacked: the selection's real epsilon. Each passes on the current code and
# fails on a selection that spends twice its share (exponential_mechanism(u, 4 eta, Delta)).


def test_selection_log_odds_move_by_eta_between_neighbours() -> None:
    """Two hypotheses, one cell of cost d: adding a row that h0 labels 1 lowers u(h0) by
    d = Delta, so P(h0) goes from 1/2 to 1/(1 + e^eta). At eta = 1 that is 0.269; twice the
    eta gives 0.119. 3000 draws per side: sd <= 0.0092, tolerance 0.035 (3.8 sd) each, and
    the two hypotheses' gap 0.15 is > 8 tolerances' sd apart."""
    eta = Fraction(1)
    costs = np.array([[0.25, 0.0], [0.0, 0.0]])  # only cell (group 0, label 0) costs
    same = np.array([[10, 10], [0, 0], [0, 0], [0, 0]], dtype=np.int64)
    neighbour = same.copy()
    neighbour[0, 0] += 1  # the added row, labelled 1 by h0 only
    runs = 3000
    p_same = np.mean([_select(same, costs, eta) == 0 for _ in range(runs)])
    p_next = np.mean([_select(neighbour, costs, eta) == 0 for _ in range(runs)])
    assert abs(p_same - 0.5) < 0.035
    assert abs(p_next - 1 / (1 + math.e)) < 0.035


def test_recomputed_privacy_loss_of_a_fit_equals_the_charge(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every noise draw and selection of a fit, recomputed from the theorems (discrete
    Laplace of scale s: 1/s per table of L1 sensitivity 1; exponential mechanism sampling
    exp(e u / (2 Delta)) with shifts of width Delta: e/2-bounded range, hence e/2-DP),
    sums to at most the budget charged (and exactly to it: basic composition)."""
    log: list[tuple[str, Fraction]] = []
    real_em, real_lap = exponential_mechanism, discrete_laplace

    def em(utilities: Any, epsilon: Any, delta: Any) -> int:
        log.append(("em", Fraction(epsilon)))
        return real_em(utilities, epsilon, delta)

    def lap(scale: Any, size: int) -> Any:
        log.append(("lap", Fraction(scale)))
        return real_lap(scale, size)

    monkeypatch.setattr(_fair_reduction, "exponential_mechanism", em)
    monkeypatch.setattr(_charging, "discrete_laplace", lap)  # every learner's table noise
    X, y, a = _data()
    budget = PureDP(Fraction(7, 10))
    DPExponentiatedGradient(groups=GROUPS, classes=(0, 1), budget=budget, max_iter=5).fit(
        X, y, sensitive_features=a
    )
    spent = sum(1 / s for k, s in log if k == "lap") + sum(e / 2 for k, e in log if k == "em")
    assert spent == budget.epsilon
    assert sum(k == "em" for k, _ in log) == 5 and sum(k == "lap" for k, _ in log) == 6


def test_finding2b_a_seeded_randomised_scorer_breaks_the_histogram_sensitivity() -> None:
    """DPThresholdOptimizer(predict_method='predict') with the same seeded mixture: either
    refused for free, or adding one row leaves every other row's score (its histogram
    bin) unchanged."""
    X, y, a = _data(400, seed=1)
    scorer = _seeded_mixture(*_data(200, seed=2))
    try:
        DPThresholdOptimizer(
            estimator=scorer, groups=GROUPS, classes=(0, 1), predict_method="predict", epsilon=1
        ).fit(X, y, sensitive_features=a)
    except InvalidParameterError:
        return
    before = _scores(scorer, X, "predict")
    after = _scores(scorer, np.vstack([[[0.9, 0.9]], X]), "predict")[1:]
    assert int(np.sum(before != after)) == 0  # before caa89c8: ~120 rows moved bin


def _refused_or_stable(hypothesis: Any) -> None:
    """The reduction refuses ``hypothesis`` before the charge, or else one added row moves its
    positive counts by at most one (the sensitivity the count noise is calibrated to)."""
    X, y, a = _data(400, seed=1)
    try:
        DPExponentiatedGradient(
            groups=GROUPS, classes=(0, 1), epsilon=1, max_iter=2, hypotheses=[hypothesis]
        ).fit(X, y, sensitive_features=a)
    except InvalidParameterError:
        return
    cell: npt.NDArray[np.intp] = np.asarray(
        np.random.default_rng(3).integers(0, 4, X.shape[0]), dtype=np.intp
    )
    before = _positive_counts([hypothesis], X, cell, 2)[:, 0]
    after = _positive_counts(
        [hypothesis], np.vstack([[[0.9, 0.9]], X]), np.concatenate([np.zeros(1, np.intp), cell]), 2
    )[:, 0]
    assert int(np.abs(after - before).sum()) <= 1


def test_finding2c_a_randomised_hypothesis_inside_a_pipeline_is_still_refused() -> None:
    """69ef5a8 refuses a hypothesis by its ``randomised`` attribute or sklearn's
    ``non_deterministic`` tag; a Pipeline ending in the same seeded mixture carries
    neither, and its counts move by ~20 when one row is added."""
    hypothesis = make_pipeline(FunctionTransformer(), _seeded_mixture(*_data(200, seed=2)))
    _refused_or_stable(hypothesis)


class _SeededPredict:
    """A plain classifier whose labels come from a seeded stream over the batch."""

    n_features_in_ = 2

    def predict(self, X: Any) -> npt.NDArray[np.int64]:
        draws = np.random.default_rng(0).random(len(X))
        return np.asarray(draws < 0.5, dtype=np.int64)


def _seeded_dummy(seed: int) -> DummyClassifier:
    return DummyClassifier(strategy="stratified", random_state=seed)


@pytest.mark.parametrize("kind", ["dummy", "voting", "custom"])
def test_finding2d_position_dependent_hypotheses_without_a_tag_are_refused(kind: str) -> None:
    """caa89c8 refuses by attribute and tag; scikit-learn's own seeded
    ``DummyClassifier(strategy='stratified')``, a ``VotingClassifier`` of them and a plain
    class with a seeded ``predict`` carry neither, and move the counts by several units (7-22
    in our runs) when one row is added. A free probe on public points (predict a public
    batch, then the same batch with one row prepended, and compare) refuses all three before
    the charge."""
    Xp, yp, _ = _data(200, seed=2)
    hypothesis: Any
    if kind == "dummy":
        hypothesis = _seeded_dummy(0).fit(Xp, yp)
    elif kind == "voting":
        members = [("a", _seeded_dummy(0)), ("b", _seeded_dummy(1))]
        hypothesis = VotingClassifier(members, voting="hard").fit(Xp, yp)
    else:
        hypothesis = _SeededPredict()
    _refused_or_stable(hypothesis)
