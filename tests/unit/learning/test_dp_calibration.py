"""Reserve, then read: every noise parameter is calibrated before the charge.

A calibration that cannot be done (absurd epsilon, bounds or hyper-parameters) is refused
with :class:`InvalidParameterError` and charges nothing; a failure after the charge is the
generic :class:`ReleaseFailedError`, the charge standing as ``failed``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import ethica.privacy.learning._linear as linear_module
import ethica.privacy.learning._logistic as logistic_module
from ethica._exceptions import InvalidParameterError, ReleaseFailedError
from ethica.privacy import ApproxDP, Ledger, PureDP
from ethica.privacy.learning import DPLinearRegression, DPLogisticRegression

SECRET = "secret value 42.125 from the data"


@pytest.fixture
def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(11)
    X = rng.uniform(-1, 1, (200, 3))
    return X, (X @ np.array([2.0, -1.0, 0.5]) > 0).astype(int)


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    with Ledger(tmp_path / "ledger.sqlite3") as ledger:
        ledger.create_dataset("pure", PureDP(10**9))
        ledger.create_dataset("approx", ApproxDP(10**9, 0.5))
        yield ledger


def _target(model: Any, X: np.ndarray, y: np.ndarray) -> np.ndarray:
    return X[:, 0] if isinstance(model, DPLinearRegression) else y


IMPOSSIBLE = [
    # objective perturbation: Delta overflows / the Gamma norm's rate / the radius / 1/C
    ("pure", DPLogisticRegression(classes=(0, 1), epsilon=1e-300)),
    ("pure", DPLogisticRegression(classes=(0, 1), epsilon=1e300)),
    ("pure", DPLogisticRegression(classes=(0, 1), epsilon=1, data_norm=1e300)),
    ("pure", DPLogisticRegression(classes=(0, 1), epsilon=1, C=1e-300)),
    # DP-SGD: the accountant finds no noise multiplier / zCDP level / sampler range
    (
        "approx",
        DPLogisticRegression(
            classes=(0, 1), method="dp-sgd", epsilon=1e-3, delta=1e-6, sampling_rate=0.1, max_iter=5
        ),
    ),
    ("approx", DPLogisticRegression(classes=(0, 1), method="dp-sgd", epsilon=1e-9, delta=1e-300)),
    (
        "approx",
        DPLogisticRegression(
            classes=(0, 1), method="dp-sgd", epsilon=1, delta=1e-6, sampling_rate=1e-300
        ),
    ),
    # sufficient statistics: Laplace scale beyond the sampler, no zCDP level, bounds overflow
    ("pure", DPLinearRegression(epsilon=1e-12)),
    ("approx", DPLinearRegression(epsilon=1e-9, delta=1e-300)),
    ("pure", DPLinearRegression(epsilon=1, bounds_X=(-1e300, 1e300))),
    ("pure", DPLinearRegression(epsilon=1, alpha=1e300)),
]


@pytest.mark.parametrize(("dataset", "model"), IMPOSSIBLE, ids=repr)
def test_impossible_calibration_is_refused_before_the_charge(
    ledger: Ledger, data: tuple[np.ndarray, np.ndarray], dataset: str, model: Any
) -> None:
    X, y = data
    model.set_params(ledger=ledger, dataset=dataset)
    with pytest.raises(InvalidParameterError) as raised:
        model.fit(X, _target(model, X, y))
    assert "Nothing was charged" in str(raised.value) or "too small" in str(raised.value)
    assert ledger.status(dataset).charges == 0
    assert ledger.history(dataset) == []


LEARNERS = [
    ("pure", DPLogisticRegression(classes=(0, 1), epsilon=1e6), logistic_module, "_newton"),
    (
        "approx",
        DPLogisticRegression(classes=(0, 1), method="dp-sgd", epsilon=1, delta=1e-6, max_iter=4),
        logistic_module,
        "grid_gradients",
    ),
    ("pure", DPLinearRegression(epsilon=1e6), linear_module, "row_products"),
    ("approx", DPLinearRegression(epsilon=1, delta=1e-6), linear_module, "row_products"),
]


@pytest.mark.parametrize(("dataset", "model", "module", "function"), LEARNERS, ids=str)
def test_failure_injected_after_the_charge_is_generic(
    ledger: Ledger,
    data: tuple[np.ndarray, np.ndarray],
    monkeypatch: pytest.MonkeyPatch,
    dataset: str,
    model: Any,
    module: Any,
    function: str,
) -> None:
    X, y = data

    def broken(*args: object, **kwargs: object) -> None:
        raise OverflowError(SECRET)

    monkeypatch.setattr(module, function, broken)  # fault injection in the data path
    model.set_params(ledger=ledger, dataset=dataset)
    with pytest.raises(ReleaseFailedError) as raised:
        model.fit(X, _target(model, X, y))
    assert "42.125" not in str(raised.value) and raised.value.__cause__ is None
    assert raised.value.__context__ is None  # nothing chained: the engine error stays inside
    (charge,) = ledger.history(dataset)
    assert charge.status == "failed"


@pytest.mark.parametrize(
    ("dataset", "model"),
    [
        ("pure", DPLogisticRegression(classes=(0, 1), epsilon=1e6)),
        (
            "approx",
            DPLogisticRegression(
                classes=(0, 1), method="dp-sgd", epsilon=1, delta=1e-6, max_iter=4
            ),
        ),
        ("pure", DPLinearRegression(epsilon=1e6, bounds_X=(-1e40, 1e40))),
    ],
    ids=repr,
)
def test_extreme_private_values_never_fail_after_the_charge(
    ledger: Ledger, data: tuple[np.ndarray, np.ndarray], dataset: str, model: Any
) -> None:
    """Values near float64's limit (whose squares overflow) are clipped totally: the fit is
    released, with no warning (warnings are errors in the suite) and no failed charge."""
    X, y = data
    target = _target(model, X, y).copy()
    X = X.copy()
    X[:5] = 1e308
    X[5:10] = -1e308
    model.set_params(ledger=ledger, dataset=dataset)
    model.fit(X, target)
    assert [c.status for c in ledger.history(dataset)] == ["released"]
    assert np.all(np.isfinite(model.coef_))


@pytest.mark.parametrize(
    "model",
    [
        DPLogisticRegression(classes=(0, 1), epsilon=0.3),
        DPLogisticRegression(
            classes=(0, 1), method="dp-sgd", epsilon=2, delta=1e-5, sampling_rate=0.5, max_iter=6
        ),
        DPLinearRegression(epsilon=0.3),
        DPLinearRegression(epsilon=1, delta=1e-6),
    ],
    ids=repr,
)
def test_the_calibration_does_not_depend_on_the_data(model: Any) -> None:
    rng = np.random.default_rng(3)
    released = []
    for n in (50, 300):
        X = rng.normal(0, 5, (n, 3))
        y = (rng.random(n) < 0.3).astype(int)
        released.append(dict(model.fit(X, _target(model, X, y)).noise_))
    assert released[0] == released[1]
