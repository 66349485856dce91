"""DPLogisticRegression(classes=...): the label set is declared, never read from private y."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ethica._exceptions import InvalidParameterError
from ethica.privacy import ApproxDP, Ledger, PureDP
from ethica.privacy.learning import DPLogisticRegression


@pytest.fixture
def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(11)
    X = rng.uniform(-1, 1, (400, 3))
    return X, (X[:, 0] + 0.3 * X[:, 1] > 0).astype(int)


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    with Ledger(tmp_path / "ledger.sqlite3") as ledger:
        ledger.create_dataset("train", PureDP(5))
        yield ledger


def test_labels_read_from_y_are_refused_with_a_ledger(
    data: tuple[np.ndarray, np.ndarray], ledger: Ledger
) -> None:
    X, y = data
    with pytest.raises(InvalidParameterError, match=r"declare them, e\.g\. classes=\(0, 1\)"):
        DPLogisticRegression(epsilon=1, ledger=ledger, dataset="train").fit(X, y)
    with pytest.raises(InvalidParameterError, match="y holds numbers"):
        DPLogisticRegression(epsilon=1, classes=("no", "yes"), ledger=ledger, dataset="train").fit(
            X, y
        )
    assert ledger.status("train").charges == 0


@pytest.mark.parametrize("method", ["objective", "dp-sgd"])
def test_declared_labels_are_never_read_before_the_charge(
    data: tuple[np.ndarray, np.ndarray], ledger: Ledger, method: str
) -> None:
    """y with one class, or with a label nobody declared, is not refused: scikit-learn's
    habit would raise before the charge, and that refusal would depend on the data."""
    X, y = data
    settings: dict[str, Any] = {"epsilon": 1, "classes": (0, 1), "ledger": ledger}
    dataset = "train"
    if method == "dp-sgd":
        dataset = "approx"
        ledger.create_dataset(dataset, ApproxDP(5, 1e-5))
        settings.update(delta=1e-6, method=method, max_iter=20)
    settings["dataset"] = dataset
    model = DPLogisticRegression(**settings).fit(X, np.zeros_like(y))  # one class only
    assert list(model.classes_) == [0, 1]
    DPLogisticRegression(**settings).fit(X, np.where(y == 1, 7, y))  # 7: rows dropped
    assert ledger.status(dataset).charges == 2


def test_undeclared_labels_drop_their_rows(data: tuple[np.ndarray, np.ndarray]) -> None:
    """With negligible noise, a fit with extra rows labelled 5 is the fit without them."""
    X, y = data
    extra = np.vstack([X, -X[:50]])
    labels = np.concatenate([y, np.full(50, 5)])
    model = DPLogisticRegression(epsilon=1e9, classes=(0, 1), data_norm=2.0)
    with_extra = model.fit(extra, labels).coef_.copy()
    without = DPLogisticRegression(epsilon=1e9, classes=(0, 1), data_norm=2.0).fit(X, y).coef_
    np.testing.assert_allclose(with_extra, without, atol=1e-6)
    counted = DPLogisticRegression(epsilon=1e9, classes=(0, 1), data_norm=2.0)
    shifted = counted.fit(extra, np.concatenate([y, np.zeros(50, int)])).coef_
    assert np.abs(shifted - without).max() > 1e-3  # the same rows counted do move the fit


def test_text_labels_declared(data: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = data
    text = np.where(y == 1, ">50K", "<=50K")
    model = DPLogisticRegression(epsilon=1e6, classes=("<=50K", ">50K"), data_norm=2.0)
    predicted = model.fit(X, text).predict(X)
    assert list(model.classes_) == ["<=50K", ">50K"]
    assert np.mean(predicted == text) > 0.9
