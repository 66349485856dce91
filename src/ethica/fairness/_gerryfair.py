"""Learning subject to rich-subgroup fairness by fictitious play (Kearns et al. 2018).

Kearns, Neel, Roth and Wu (2018), "Preventing Fairness Gerrymandering", ICML, Algorithm
"FairFictPlay". The Learner and the Auditor play the zero-sum game of the Lagrangian

    L(h, lambda) = err(h) + sum_g lambda_g (d_g * Phi_g(h) - gamma),
    Phi_g(h) = alpha(g) (rate_g(h) - rate(h))        (see :mod:`._rich_subgroups`).

Each round the Auditor best-responds to the Learner's uniform mixture of past classifiers
with the most gamma-unfair subgroup ``g_t`` and its direction ``d_t`` (multiplier ``C``), and
the Learner best-responds to the Auditor's empirical mixture of past plays. Because
``Phi_g`` is linear in ``h``, the Learner's problem is cost-sensitive classification with
the per-row cost of predicting 1

    c_i = (1 - 2 y_i) / n + (C / t) sum_{s <= t} d_s s_m [i in E] (g_s(x_i) - P[g_s | E]) / n,

with ``s_m = -1`` for false-negative rates (where ``v = 1 - h``) and ``+1`` otherwise.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ethica._exceptions import ConvergenceWarning, InvalidParameterError
from ethica._typing import BoolArray, FloatArray, LabelArray
from ethica.fairness._learning_base import (
    BinaryFairClassifier,
    check_number,
    check_sample_weight_support,
    error_costs,
    fit_weighted,
    mixture_positive_probability,
)
from ethica.fairness._rich_subgroups import LinearOracle, RichSubgroupAuditor
from ethica.fairness._subgroup_encoding import attribute_frame

__all__ = ["GerryFairClassifier", "LinearThresholdClassifier", "subgroup_costs"]


class LinearThresholdClassifier:
    """``h(x) = 1[x . weights + intercept < 0]``: the regression oracle's classifier."""

    def __init__(self, weights: FloatArray, intercept: float) -> None:
        self.weights = weights
        self.intercept = intercept

    def predict(self, X: Any) -> LabelArray:
        """0/1 decisions."""
        return (np.asarray(X) @ self.weights + self.intercept < 0).astype(np.int8)


def subgroup_costs(
    members: BoolArray,
    labels: LabelArray,
    *,
    direction: int,
    metric: str,
    multiplier: float,
) -> FloatArray:
    """Per-row change in the Learner's cost of predicting 1 for one Auditor play.

    ``multiplier * direction * s_m * [i in E] * (g(x_i) - P[g | E]) / n``: every row of the
    event uses its own membership ``g(x_i)`` (module docstring).
    """
    n = labels.shape[0]
    event = {"fpr": labels == 0, "fnr": labels == 1}.get(metric, np.ones(n, dtype=bool))
    sign = -1.0 if metric == "fnr" else 1.0
    share = members[event].mean()
    costs = np.zeros(n)
    costs[event] = multiplier * direction * sign * (members[event] - share) / n
    return costs


class GerryFairClassifier(BinaryFairClassifier):
    """Randomised classifier whose every linear-threshold subgroup is at most gamma-unfair.

    Fictitious play between a Learner and the rich-subgroup Auditor (module docstring).

    Parameters
    ----------
    estimator
        Learner's oracle: None for the regression oracle of Kearns et al. (a linear threshold
        on the features), or a classifier whose ``fit`` accepts ``sample_weight``.
    C
        Multiplier the Auditor puts on its subgroup (bound on the dual). The reference code
        uses 10; on Adult, 1 reaches the same gamma with far lower error (larger values make
        the Learner over-react in early rounds, which the uniform mixture keeps).
    gamma
        Target: the worst subgroup's ``alpha * beta`` at most this.
    max_iter
        Most rounds of play.
    metric
        ``"fpr"``, ``"fnr"`` or ``"selection"`` (Kearns et al.'s FP, FN and statistical parity).
    random_state
        Seed of ``predict``'s draws.

    Attributes
    ----------
    predictors_
        The Learner's classifiers; the model is their uniform mixture.
    subgroup_
        The Auditor's worst subgroup for the final mixture, on the training rows.
    errors_, unfairness_
        Training error and worst gamma-unfairness of the mixture after each round.
    n_iter_
        Rounds played.

    Notes
    -----
    ``fit`` without ``sensitive_features`` imposes no constraint (one Learner best response).
    """

    def __init__(
        self,
        *,
        estimator: Any = None,
        C: float = 1.0,
        gamma: float = 0.01,
        max_iter: int = 50,
        metric: str = "fpr",
        random_state: int | None = None,
    ) -> None:
        self.estimator = estimator
        self.C = C
        self.gamma = gamma
        self.max_iter = max_iter
        self.metric = metric
        self.random_state = random_state

    def _check_params(self) -> None:
        name = type(self).__name__
        check_number(name, "C", self.C)
        check_number(name, "gamma", self.gamma, high=1.0, low_inclusive=True)
        check_number(name, "max_iter", self.max_iter, integer=True)
        if self.metric not in ("fpr", "fnr", "selection"):
            raise InvalidParameterError(
                f"{name}(metric={self.metric!r}) must be one of 'fpr', 'fnr', 'selection'."
            )
        if self.estimator is not None:
            check_sample_weight_support(self.estimator)

    def _respond(self, oracle: LinearOracle | None, X: FloatArray, costs: FloatArray) -> Any:
        if oracle is not None:
            return LinearThresholdClassifier(*oracle(costs))
        return fit_weighted(self.estimator, X, costs)

    def fit(self, X: Any, y: Any, *, sensitive_features: Any = None) -> GerryFairClassifier:
        """Play until the worst subgroup is at most ``gamma``-unfair or ``max_iter`` rounds."""
        self._check_params()
        X, coded = self._validate_fit(X, y)
        X = np.asarray(X, dtype=np.float64)
        oracle = LinearOracle(X) if self.estimator is None else None
        n = coded.shape[0]
        base_costs = error_costs(coded)
        self.errors_: list[float] = []
        self.unfairness_: list[float] = []
        if sensitive_features is None:
            self.predictors_ = [self._respond(oracle, X, base_costs)]
            self.n_iter_ = 1
            return self
        protected = attribute_frame(sensitive_features)
        if len(protected) != n:
            raise InvalidParameterError(
                f"sensitive_features has {len(protected)} rows but X has {n}; pass one "
                "row of protected attributes per row of X."
            )
        auditor = RichSubgroupAuditor(coded, protected, metric=self.metric)  # type: ignore[arg-type]
        if n and np.ptp(auditor.attributes, axis=0).max(initial=0.0) == 0:
            raise InvalidParameterError(
                "the protected attributes take a single value on every row, so there is no "
                "subgroup to protect; check the sensitive_features columns."
            )
        auditor_costs = np.zeros(n)
        self.predictors_ = []
        mixture_sum = np.zeros(n)
        for plays in range(int(self.max_iter)):  # every round before this one added a play
            costs = base_costs + (auditor_costs / plays if plays else 0.0)
            model = self._respond(oracle, X, costs)
            self.predictors_.append(model)
            mixture_sum += np.asarray(model.predict(X), dtype=np.float64)
            mixture = mixture_sum / len(self.predictors_)
            self.subgroup_ = auditor.audit(mixture)
            self.errors_.append(float(np.mean(np.abs(mixture - coded))))
            self.unfairness_.append(self.subgroup_.gamma_unfairness)
            if self.subgroup_.gamma_unfairness <= self.gamma:
                break
            auditor_costs += subgroup_costs(
                auditor.members(self.subgroup_),
                coded,
                direction=self.subgroup_.direction,
                metric=self.metric,
                multiplier=float(self.C),
            )
        self.n_iter_ = len(self.predictors_)
        if self.unfairness_[-1] > self.gamma:
            warnings.warn(
                f"GerryFairClassifier stopped after {self.n_iter_} rounds with a subgroup "
                f"{self.unfairness_[-1]:.4g}-unfair, above gamma={self.gamma}; raise max_iter "
                "or C, or loosen gamma.",
                ConvergenceWarning,
                stacklevel=2,
            )
        return self

    def _positive_probability(self, X: Any) -> FloatArray:
        return mixture_positive_probability(self.predictors_, X)
