"""The private learners charge a ledger like a release: reserve, then read; failures stand."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn.base import clone

import ethica.privacy.learning._logistic as logistic_module
from ethica._exceptions import BudgetExceededError, InvalidParameterError, ReleaseFailedError
from ethica.privacy import ZCDP, ApproxDP, Ledger, PureDP, UserLevel
from ethica.privacy.learning import DPLinearRegression, DPLogisticRegression, DPThresholdOptimizer


@pytest.fixture
def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    X = rng.uniform(-1, 1, (400, 3))
    return X, (X @ np.array([2.0, -1.0, 0.5]) > 0).astype(int)


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    with Ledger(tmp_path / "ledger.sqlite3") as ledger:
        ledger.create_dataset("train", PureDP(1))
        yield ledger


def test_each_fit_is_charged_and_recorded(ledger: Ledger, data: tuple) -> None:
    X, y = data
    model = DPLogisticRegression(
        epsilon=0.4, data_norm=2.0, classes=(0, 1), ledger=ledger, dataset="train"
    )
    model.fit(X, y)
    model.fit(X, y)
    status = ledger.status("train")
    assert status.spent == PureDP(0.8) and status.charges == 2
    history = ledger.history("train")
    assert [c.status for c in history] == ["released", "released"]
    assert all(c.output_hash for c in history)
    assert model.budget_ == PureDP(0.4)


def test_over_budget_refused_before_reading(ledger: Ledger, data: tuple) -> None:
    X, y = data
    DPLogisticRegression(
        epsilon=0.7, data_norm=2.0, classes=(0, 1), ledger=ledger, dataset="train"
    ).fit(X, y)
    with pytest.raises(BudgetExceededError):
        DPLogisticRegression(
            epsilon=0.7, data_norm=2.0, classes=(0, 1), ledger=ledger, dataset="train"
        ).fit(X, y)
    assert ledger.status("train").charges == 1


def test_failure_after_charge_keeps_charge_and_says_nothing(
    ledger: Ledger, data: tuple, monkeypatch: pytest.MonkeyPatch
) -> None:
    X, y = data

    def broken(*args: object) -> None:
        raise RuntimeError("secret value 42.125 from the data")

    monkeypatch.setattr(logistic_module, "_newton", broken)  # fault injection after the charge
    model = DPLogisticRegression(
        epsilon=0.5, data_norm=2.0, classes=(0, 1), ledger=ledger, dataset="train"
    )
    with pytest.raises(ReleaseFailedError) as raised:
        model.fit(X, y)
    assert "42.125" not in str(raised.value) and raised.value.__cause__ is None
    assert raised.value.__context__ is None  # nothing chained: the engine error stays inside
    (charge,) = ledger.history("train")
    assert charge.status == "failed" and charge.cost == PureDP(0.5)
    assert ledger.status("train").spent == PureDP(0.5)


def test_kind_mismatch_and_bad_parameters_cost_nothing(ledger: Ledger, data: tuple) -> None:
    X, y = data
    refused = [
        DPLogisticRegression(epsilon=1, delta=1e-6, ledger=ledger, dataset="train"),
        DPLogisticRegression(method="dp-sgd", epsilon=0.5),  # Gaussian noise: no pure DP
        DPLogisticRegression(budget=PureDP(1), epsilon=1),  # two spellings at once
        DPLogisticRegression(data_norm=-1.0),
        DPLogisticRegression(epsilon=0.5, dataset="train"),  # dataset without a ledger
        DPLogisticRegression(method="sgd"),
        DPLogisticRegression(method="dp-sgd", budget=ZCDP(0.1), sampling_rate=0.1),
        DPLinearRegression(bounds_X=(1.0, -1.0)),
        DPLinearRegression(bounds_y=[(0, 1), (0, 1)]),
    ]
    for model in refused:
        with pytest.raises(InvalidParameterError):
            model.fit(X, y)
    assert ledger.status("train").charges == 0


def test_budget_kinds_spent_as_given(tmp_path: Path, data: tuple) -> None:
    X, y = data
    with Ledger(tmp_path / "kinds.sqlite3") as ledger:
        ledger.create_dataset("approx", ApproxDP(4, 1e-5))
        ledger.create_dataset("zcdp", ZCDP(1))
        DPLogisticRegression(
            method="dp-sgd",
            epsilon=1,
            delta=1e-6,
            max_iter=10,
            classes=(0, 1),
            ledger=ledger,
            dataset="approx",
        ).fit(X, y)
        DPLinearRegression(budget=ZCDP(0.5), ledger=str(ledger.path), dataset="zcdp").fit(
            X, X[:, 0]
        )
        assert ledger.status("approx").spent == ApproxDP(1, 1e-6)
        assert ledger.status("zcdp").spent == ZCDP(0.5)


@pytest.mark.parametrize(
    "make",
    [
        lambda ledger: DPLogisticRegression(epsilon=0.4, ledger=ledger, dataset="train"),
        lambda ledger: DPLinearRegression(epsilon=0.4, ledger=ledger, dataset="train"),
        lambda ledger: DPThresholdOptimizer(epsilon=0.4, ledger=ledger, dataset="train"),
    ],
)
def test_clones_charge_the_same_ledger(ledger: Ledger, make: Any) -> None:
    """sklearn's clone (cross_validate, grid search) must not deep-copy the ledger."""
    model = make(ledger)
    assert clone(model).ledger is ledger


def test_user_level_dataset_refused_before_any_charge(tmp_path: Path, data: tuple) -> None:
    """A learner bounds one row, not one person: a user-level dataset's budget is not its."""
    X, y = data
    with Ledger(tmp_path / "users.sqlite3") as book:
        book.create_dataset(
            "people", PureDP(1), privacy_unit=UserLevel("user_id", max_groups_per_user=3)
        )
        model = DPLogisticRegression(
            epsilon=0.4, data_norm=2.0, classes=(0, 1), ledger=book, dataset="people"
        )
        with pytest.raises(InvalidParameterError, match="rows"):
            model.fit(X, y)
        assert book.status("people").charges == 0
