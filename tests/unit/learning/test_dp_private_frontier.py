"""private_frontier: error × unfairness × epsilon of the DP fair learners on Adult."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from ethica._exceptions import BudgetExceededError, InvalidParameterError
from ethica.fairness import DemographicParity, ErrorRateParity
from ethica.fairness._frontier import disparity_interval, error_interval
from ethica.privacy import Ledger, PureDP
from ethica.privacy.learning import (
    DPExponentiatedGradient,
    PrivateFrontierResult,
    private_frontier,
    public_hypotheses,
)

from .conftest import encode, income

GROUPS = ["Female", "Male"]


@pytest.fixture(scope="module")
def adult() -> dict[str, Any]:
    """Public first half (hypotheses, scorer), private 6,000 rows, the test split."""
    from ethica.datasets import load_adult

    train, test = load_adult("train"), load_adult("test")
    frame = encode(train, ("occupation",))
    X, Xt = frame.to_numpy(), encode(test, ("occupation",), frame.columns).to_numpy()
    y, a = income(train), train["sex"].to_numpy()
    half = X.shape[0] // 2
    private = slice(half, half + 6000)
    return {
        "hypotheses": public_hypotheses(
            X[:half], y[:half], sensitive_features=a[:half], grid_size=20
        ),
        "scorer": LogisticRegression(max_iter=1000).fit(X[:half], y[:half]),
        "train": (X[private], y[private], a[private]),
        "test": (Xt, income(test), test["sex"].to_numpy()),
    }


@pytest.fixture(scope="module")
def result(adult: dict[str, Any]) -> PrivateFrontierResult:
    return private_frontier(
        *adult["train"], *adult["test"], groups=GROUPS, epsilons=(0.05, 5.0),
        bounds=(0.01, 0.1), hypotheses=adult["hypotheses"], scorer=adult["scorer"], repeats=2,
    )  # fmt: skip


def test_grid_intervals_and_document(result: PrivateFrontierResult) -> None:
    # 2 learners x 2 epsilons x 2 bounds, plus 2 learners x 2 bounds without noise
    assert len(result.points) == 12
    private = [p for p in result.points if p.epsilon is not None]
    assert all(p.fits == 2 for p in private)
    assert result.total_epsilon == pytest.approx(2 * 2 * 2 * (0.05 + 5.0))
    for p in result.points:
        assert p.error_interval[0] <= p.error <= p.error_interval[1]
        assert p.disparity_interval[0] <= p.disparity <= p.disparity_interval[1]
        # the expected classifier's disparity lies within the fits' range up to averaging
        assert p.disparity <= p.disparity_max + 1e-12
    document = json.loads(result.to_json())
    assert document["schema_version"] == 2 and document["kind"] == "private_frontier"
    frame = result.to_frame()
    assert len(frame) == 12 and {"epsilon", "bound", "disparity_ci_high"} <= set(frame.columns)
    assert "<table" in result._repr_html_()


def test_pareto_flags_are_the_three_way_definition(result: PrivateFrontierResult) -> None:
    def key(p: Any) -> tuple[float, float, float]:
        return (p.error, p.disparity, np.inf if p.epsilon is None else p.epsilon)

    for p in result.points:
        dominated = any(
            all(a <= b for a, b in zip(key(q), key(p), strict=True)) and key(q) != key(p)
            for q in result.points
        )
        assert p.pareto is (not dominated)
    assert result.pareto() and all(p.pareto for p in result.pareto())


def test_tighter_bound_and_more_budget_mean_less_unfairness(result: PrivateFrontierResult) -> None:
    """With ε = 5 the bound binds: 0.01 gives a smaller held-out gap than 0.1 (measured
    0.013-0.016 against 0.11-0.14 for both learners; the tolerances leave room for the
    noise and the 16k-row test sample)."""
    by = {(p.learner, p.epsilon, p.bound): p for p in result.points}
    for learner in ("reduction", "postprocessing"):
        assert by[(learner, 5.0, 0.01)].disparity < 0.04
        assert by[(learner, 5.0, 0.01)].disparity < by[(learner, 5.0, 0.1)].disparity - 0.03


def test_each_point_is_measured_as_the_exact_frontier_measures(adult: dict[str, Any]) -> None:
    """One fit, one point: the point is that model's error and disparity on the test rows,
    with the exact frontier's Wilson and Newcombe intervals."""
    X, y, a = adult["train"]
    Xt, yt, at = adult["test"]
    result = private_frontier(
        X, y, a, Xt, yt, at, groups=GROUPS, epsilons=(1e6,), bounds=(0.02,),
        learners=("reduction",), hypotheses=adult["hypotheses"], repeats=1, reference=False,
    )  # fmt: skip
    (point,) = result.points
    model = DPExponentiatedGradient(
        constraints=DemographicParity(difference_bound=0.02), groups=GROUPS, classes=(0, 1),
        hypotheses=adult["hypotheses"], epsilon=1e6,
    ).fit(X, y, sensitive_features=a)  # fmt: skip
    positive = model.predict_proba(Xt)[:, 1]  # noise of scale 3e-5: the same mixture
    bound = DemographicParity(difference_bound=0.0).bind(yt, at)
    assert point.error == pytest.approx(float(np.mean(np.abs(positive - yt))))
    assert point.disparity == pytest.approx(bound.disparity(positive))
    assert point.error_interval == pytest.approx(error_interval(positive, yt))
    assert point.disparity_interval == pytest.approx(disparity_interval(bound, positive))


def test_refusals_before_any_fit(adult: dict[str, Any], tmp_path: Path) -> None:
    data = (*adult["train"], *adult["test"])
    with Ledger(tmp_path / "l.sqlite3") as ledger:
        ledger.create_dataset("adult", PureDP(10))
        cases: list[dict[str, Any]] = [
            {"ledger": ledger, "dataset": "adult"},  # the no-noise reference with a ledger
            {"constraints": DemographicParity(ratio_bound=0.8)},
            {"learners": ("postprocessing",), "scorer": None},
            {"learners": ("postprocessing",), "constraints": ErrorRateParity()},
            {"learners": ("boosting",)},
            {"epsilons": (0.0,)},
            {"bounds": (1.5,)},
            {"repeats": 0},
        ]
        for case in cases:
            settings: dict[str, Any] = {
                "groups": GROUPS, "hypotheses": adult["hypotheses"], "scorer": adult["scorer"],
            }  # fmt: skip
            with pytest.raises(InvalidParameterError):
                private_frontier(*data, **{**settings, **case})
        assert ledger.status("adult").charges == 0
        charged = private_frontier(
            *data, groups=GROUPS, epsilons=(0.5,), bounds=(0.05,), learners=("reduction",),
            hypotheses=adult["hypotheses"], repeats=3, reference=False, ledger=ledger,
            dataset="adult",
        )  # fmt: skip
        status = ledger.status("adult")
        assert status.charges == 3 and status.spent == PureDP(1.5)
        assert charged.total_epsilon == pytest.approx(1.5)


@pytest.mark.parametrize(
    "epsilons, total",
    [((1.0,), 1.5), ((0.5, 1e-30), 10.0)],
    ids=["the sweep needs 2 of 1.5", "one epsilon out of the samplers' range"],
)
def test_a_sweep_that_cannot_finish_charges_nothing(
    adult: dict[str, Any], tmp_path: Path, epsilons: tuple[float, ...], total: float
) -> None:
    X, y, a = adult["train"]
    with Ledger(tmp_path / "l.sqlite3") as ledger:
        ledger.create_dataset("adult", PureDP(total))
        with pytest.raises((BudgetExceededError, InvalidParameterError)):
            private_frontier(
                X[:1000], y[:1000], a[:1000], *adult["test"], groups=GROUPS, epsilons=epsilons,
                bounds=(0.01, 0.05), learners=("reduction",), hypotheses=adult["hypotheses"],
                repeats=1, reference=False, ledger=ledger, dataset="adult",
            )  # fmt: skip
        assert ledger.status("adult").charges == 0
