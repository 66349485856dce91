"""Empirical privacy audit of the trained models (Jagielski, Ullman & Oprea 2020; Nasr et al.
2021): a lower bound on epsilon from many fits on neighbouring data sets.

The pair: 200 rows x 3 features, and the same rows plus one *canary*, an extreme point on the
declared bound whose label contradicts the rest (the row whose presence moves the model most).
Each fit is one draw of the mechanism; the auditor (:func:`ethica.privacy.testing.audit`)
chooses a threshold event on half of the draws and bounds epsilon from below with
Clopper–Pearson at 99% confidence on the other half. The output statistics:

* ``score``: the model's prediction on the canary;
* ``llr`` (objective perturbation): the likelihood-ratio statistic of Nasr et al. (2021). The
  released ``w`` minimises ``L_D(w) + b.w``, so the noise that produced it on data set ``D``
  is ``b_D(w) = -grad L_D(w)``; its density is ``~ exp(-beta ||b||)``, so
  ``beta (||b_D(w)|| - ||b_D'(w)||)`` is the log-likelihood ratio up to the Jacobian term,
  computed from the released model, the two candidate data sets and public parameters.

The private post-processing (:class:`DPThresholdOptimizer`) is audited on what it releases,
its noisy histogram ``H[group, label, bin]``: 60 rows and the same plus one canary row, each
cell an output statistic (the auditor finds the canary's cell itself).

Claims hold: the bound never exceeds the claimed epsilon. Negative controls: the same
learner with its noise scale halved (objective perturbation) or its sensitivity understated
(SSP calibrated to one entry's change instead of the L1 norm over all entries), or the
histogram's noise calibrated to sensitivity 1/2 instead of 1, is caught.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit
from sklearn.linear_model import LogisticRegression

from ethica.privacy import PureDP
from ethica.privacy.budget._budgets import Budget
from ethica.privacy.learning import DPLinearRegression, DPLogisticRegression, DPThresholdOptimizer
from ethica.privacy.testing import AuditResult, CallableMechanism, NeighbouringPair, audit

pytestmark = pytest.mark.slow
FEATURES = ["a", "b", "c"]
EPSILON = 3.0
#: The private post-processing's claim (its histogram's discrete Laplace has scale 1/1).
THRESHOLD_EPSILON = 1.0


class HalvedNoise(DPLogisticRegression):
    """Objective perturbation whose Gamma-norm noise has half the calibrated scale (``beta``
    doubled) while claiming the same epsilon: a privacy bug."""

    def _calibrate_objective(self, budget: Budget, p: int, lam: float) -> dict[str, Any]:
        plan = super()._calibrate_objective(budget, p, lam)
        plan["beta"] *= 2
        return plan


class UnderstatedSensitivity(DPLinearRegression):
    """SSP with its noise calibrated to one entry's change (``2**20``) instead of the L1
    norm over all ``m (m + 1) / 2`` entries of ``u u^T``: a privacy bug."""

    def _calibrate(self, budget: Budget, bounds: np.ndarray) -> dict[str, Any]:
        plan = super()._calibrate(budget, bounds)
        plan["_scale"] = plan["_scale"] / plan["pairs"]
        return plan


def _pair(base: pd.DataFrame, canary: list[float]) -> NeighbouringPair:
    row = pd.DataFrame([canary], columns=[*FEATURES, "y"])
    return NeighbouringPair("add the canary", base, pd.concat([base, row], ignore_index=True), row)


@cache
def _classification() -> tuple[NeighbouringPair, np.ndarray]:
    rng = np.random.default_rng(20)
    X = rng.uniform(-1, 1, (200, 3))
    X *= 0.9 / np.maximum(1.0, np.linalg.norm(X, axis=1))[:, None]  # inside the unit ball
    trend = np.array([3.0, -2.0, 1.0])
    base = pd.DataFrame(X, columns=FEATURES).assign(y=(X @ trend > 0).astype(int))
    canary = trend / np.linalg.norm(trend)  # norm 1 = data_norm, on the positive side...
    return _pair(base, [*canary, 0]), canary  # ...labelled negative


@cache
def _regression() -> tuple[NeighbouringPair, np.ndarray]:
    rng = np.random.default_rng(21)
    X = rng.uniform(-1, 1, (200, 3))
    y = np.clip(0.5 * X @ np.array([1.0, -0.5, 0.25]) + rng.normal(0, 0.1, 200), -1, 1)
    base = pd.DataFrame(X, columns=FEATURES).assign(y=y)
    canary = np.array([1.0, -1.0, 1.0])  # a corner of bounds_X, its target at the far bound
    return _pair(base, [*canary, -1.0]), canary


def _arrays(pair: NeighbouringPair) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Each data set's arrays, keyed by the frame's id (the auditor passes the same frames)."""
    return {
        id(frame): (frame[FEATURES].to_numpy(), frame["y"].to_numpy())
        for frame in (pair.first, pair.second)
    }


def _audit_fits(
    fit: Any, name: str, pair: NeighbouringPair, epsilon: float, runs: int
) -> AuditResult:
    """Audit ``fit`` (one draw per call) on ``pair`` against ``PureDP(epsilon)`` at 99%."""
    return audit(
        CallableMechanism(fit, name), pairs=[pair], claimed=PureDP(epsilon), runs=runs,
        confidence=0.99,
    )  # fmt: skip


def audit_logistic(learner: type[DPLogisticRegression], runs: int) -> AuditResult:
    """Audit objective perturbation (no intercept: 3 coefficients) on the canary pair."""
    pair, canary = _classification()
    arrays = _arrays(pair)

    def noise_norm(frame: pd.DataFrame, w: np.ndarray, ridge: float) -> float:
        X, y = arrays[id(frame)]
        signs = np.where(y == 1, 1.0, -1.0)
        return float(np.linalg.norm(X.T @ (signs * expit(-signs * (X @ w))) - ridge * w))

    def fit(frame: pd.DataFrame) -> dict[str, float]:
        model = learner(epsilon=EPSILON, data_norm=1.0, C=1.0, fit_intercept=False)
        model.fit(*arrays[id(frame)])
        w, noise = model.coef_[0], model.noise_
        ridge = 1.0 + noise["extra_regularisation"]
        ratio = noise_norm(pair.first, w, ridge) - noise_norm(pair.second, w, ridge)
        return {
            "score": float(canary @ w),  # the prediction (the canary is inside the ball)
            "llr": noise["beta"] * ratio,
        }

    return _audit_fits(fit, learner.__name__, pair, EPSILON, runs)


def audit_linear(learner: type[DPLinearRegression], runs: int) -> AuditResult:
    """Audit sufficient-statistics perturbation (with intercept) on the canary pair."""
    pair, canary = _regression()
    arrays = _arrays(pair)

    def fit(frame: pd.DataFrame) -> dict[str, float]:
        model = learner(epsilon=EPSILON).fit(*arrays[id(frame)])
        prediction = float(canary @ model.coef_ + model.intercept_)  # inside bounds_X
        return {"prediction": prediction, "loss": (prediction + 1.0) ** 2}

    return _audit_fits(fit, learner.__name__, pair, EPSILON, runs)


def test_objective_perturbation_passes_its_audit() -> None:
    result = audit_logistic(DPLogisticRegression, runs=1500)
    assert result.worst.errors == (0, 0)
    assert 0 <= result.epsilon_lower_bound <= EPSILON
    assert not result.violated


def test_objective_perturbation_with_halved_noise_is_caught() -> None:
    result = audit_logistic(HalvedNoise, runs=4000)
    assert result.epsilon_lower_bound > EPSILON
    assert result.violated


def test_sufficient_statistics_pass_their_audit() -> None:
    result = audit_linear(DPLinearRegression, runs=2000)
    assert result.worst.errors == (0, 0)
    assert 0 <= result.epsilon_lower_bound <= EPSILON
    assert not result.violated


def test_sufficient_statistics_with_understated_sensitivity_are_caught() -> None:
    result = audit_linear(UnderstatedSensitivity, runs=2000)
    assert result.epsilon_lower_bound > EPSILON
    assert result.violated


# ------------------------------------------------------------ private post-processing
@cache
def _scorer() -> LogisticRegression:
    """A public scorer, fitted on public rows (not the audited ones)."""
    rng = np.random.default_rng(23)
    score = rng.uniform(0, 1, (200, 1))
    return LogisticRegression().fit(score, (score[:, 0] > 0.5).astype(int))


class HalvedSensitivity(DPThresholdOptimizer):
    """The histogram's noise calibrated to sensitivity 1/2 instead of 1 (discrete Laplace of
    scale ``1 / (2 epsilon)``) while claiming epsilon: a privacy bug."""

    def _calibrate(self, budget: Budget) -> dict[str, Any]:
        plan = super()._calibrate(budget)
        plan["_scale"] = plan["_scale"] / 2
        return plan


@cache
def _thresholds_pair() -> NeighbouringPair:
    """60 rows of two groups, and the same plus one canary (group B, label 1, top bin)."""
    rng = np.random.default_rng(22)
    base = pd.DataFrame(
        {
            "score": rng.uniform(0, 1, 60),
            "group": np.repeat(["A", "B"], 30),
            "y": rng.integers(0, 2, 60),
        }
    )
    row = pd.DataFrame({"score": [0.95], "group": ["B"], "y": [1]})
    return NeighbouringPair("add the canary", base, pd.concat([base, row], ignore_index=True), row)


def audit_thresholds(learner: type[DPThresholdOptimizer], runs: int) -> AuditResult:
    """Audit the released histogram ``H[g, y, b]`` (2 groups x 2 labels x 2 bins): every
    cell is an output statistic; the auditor finds the canary's cell on its own."""
    pair = _thresholds_pair()

    def fit(frame: pd.DataFrame) -> dict[str, float]:
        model = learner(estimator=_scorer(), groups=["A", "B"], n_bins=2, epsilon=THRESHOLD_EPSILON)
        model.fit(frame[["score"]].to_numpy(), frame["y"].to_numpy(),
                  sensitive_features=frame["group"].to_numpy())  # fmt: skip
        cells = model.noisy_histogram_.ravel()
        return {f"cell_{i}": float(v) for i, v in enumerate(cells)}

    return _audit_fits(fit, learner.__name__, pair, THRESHOLD_EPSILON, runs)


def test_private_postprocessing_histogram_passes_its_audit() -> None:
    result = audit_thresholds(DPThresholdOptimizer, runs=1500)  # measured: 0.79
    assert result.worst.errors == (0, 0)
    assert 0 <= result.epsilon_lower_bound <= THRESHOLD_EPSILON
    assert not result.violated


def test_private_postprocessing_with_halved_sensitivity_is_caught() -> None:
    result = audit_thresholds(HalvedSensitivity, runs=1500)  # measured: 1.89
    assert result.epsilon_lower_bound > THRESHOLD_EPSILON
    assert result.violated
