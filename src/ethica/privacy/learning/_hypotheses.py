"""Finite, public hypothesis classes for the private fair reduction.

The learner of :class:`~ethica.privacy.learning.DPExponentiatedGradient` best-responds with the
exponential mechanism over a finite class ``H`` (Jagielski et al. 2019, Sec. 4). ``H`` must not
depend on the private rows, so it is built from public information only:

* :func:`stump_hypotheses`: decision stumps ``h(x) = 1[x_j >= t]`` and ``1[x_j < t]`` on a
  declared feature range (a public grid of thresholds per feature), plus the two constant
  classifiers. Only the number of features (a schema fact) is used.
* :func:`public_hypotheses`: the cost-sensitive best responses of a base learner on a *public*
  sample, for a grid of Lagrange multipliers (the candidates of Agarwal et al. 2018's grid
  search, Sec. 3.4), plus the constants. The public sample may carry the protected attribute
  (it is public); the classifiers themselves only read ``X``.

Every hypothesis predicts 0 (the declared negative class) or 1 (the positive one).
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression

from ethica._exceptions import InvalidParameterError
from ethica._typing import LabelArray
from ethica.fairness._learning_base import (
    ConstantClassifier,
    binary_labels,
    error_costs,
    fit_weighted,
    resolve_constraint,
)
from ethica.fairness._reductions import multiplier_grid

__all__ = [
    "Stump",
    "position_dependent",
    "public_hypotheses",
    "randomised_model",
    "stump_hypotheses",
]


@dataclass(frozen=True)
class Stump:
    """``h(x) = 1[x_feature >= threshold]`` (``above=True``) or ``1[x_feature < threshold]``."""

    feature: int
    threshold: float
    above: bool

    def predict(self, X: Any) -> LabelArray:
        """0/1 per row (a NaN feature compares false: ``above`` stumps predict 0)."""
        column = np.asarray(X, dtype=np.float64)[:, self.feature]
        with np.errstate(invalid="ignore"):
            hit = column >= self.threshold if self.above else column < self.threshold
        return hit.astype(np.int8)


def stump_hypotheses(
    n_features: int, feature_range: tuple[float, float] = (0.0, 1.0), n_thresholds: int = 8
) -> list[Any]:
    """The constants and ``2 * n_features * n_thresholds`` stumps on a public grid.

    Thresholds are the interior points ``lo + (hi - lo) k / (n_thresholds + 1)``,
    ``k = 1..n_thresholds``, of the declared ``feature_range``.
    """
    lo, hi = feature_range
    grid = lo + (hi - lo) * np.arange(1, n_thresholds + 1) / (n_thresholds + 1)
    stumps: list[Any] = [ConstantClassifier(0), ConstantClassifier(1)]
    for feature in range(n_features):
        for threshold in grid:
            for above in (True, False):
                stumps.append(Stump(feature, float(threshold), above))
    return stumps


def public_hypotheses(
    X: Any,
    y: Any,
    *,
    sensitive_features: Any,
    constraints: Any = None,
    estimator: Any = None,
    grid_size: int = 40,
    grid_limit: float = 4.0,
) -> list[Any]:
    """Best responses on *public* data for a grid of multipliers, plus the constants.

    For each multiplier vector ``lambda`` of :func:`~ethica.fairness._reductions.multiplier_grid`
    the base learner (default ``LogisticRegression``) solves the weighted classification
    problem ``min_h err(h) + lambda . v(h)`` on the public rows (Agarwal et al. 2018,
    Sec. 3.2 and 3.4). Never pass private rows: the classifiers are released as they are
    (the private learner only chooses among them).
    """
    _, coded = binary_labels(y)
    spec = resolve_constraint(constraints, "public_hypotheses")
    bound = spec.bind(coded, sensitive_features)
    base = LogisticRegression(max_iter=1000) if estimator is None else estimator
    if grid_size < 1:
        raise InvalidParameterError(f"public_hypotheses(grid_size={grid_size!r}) must be >= 1.")
    costs = error_costs(coded)
    grid = multiplier_grid(bound.cell_size.shape[0], int(grid_size), float(grid_limit))
    models: list[Any] = [ConstantClassifier(0), ConstantClassifier(1)]
    for multipliers in grid:
        models.append(fit_weighted(base, X, costs + bound.cost_gradient(multipliers)))
    return models


def randomised_model(model: Any) -> bool:
    """Whether ``model.predict`` draws its labels at random: ethica's mixtures and randomised
    post-processors (``randomised = True``) or scikit-learn's ``non_deterministic`` tag, also
    as the last step of a :class:`~sklearn.pipeline.Pipeline`. A seeded draw over a batch
    gives each row a label that depends on its position, so one added row moves many rows'
    labels: such a model is not a per-row function, and no count of its labels has
    sensitivity 1."""
    if getattr(model, "randomised", False):
        return True
    steps = getattr(model, "steps", None)
    if isinstance(steps, list) and steps:
        return randomised_model(steps[-1][1])
    try:
        from sklearn.utils import get_tags

        return bool(get_tags(model).non_deterministic)
    except (AttributeError, TypeError, ValueError):
        return False


#: Public probe points: how many, and the seed of their (public, non-private) draw.
_PROBE_ROWS, _PROBE_SEED = 64, 20261202


def position_dependent(
    output: Callable[[Any], Any], n_features: int, feature_range: tuple[float, float]
) -> bool:
    """Whether ``output`` (a model's ``predict`` or score) gives a row a value that depends on
    the other rows of the batch, probed on public points only (no private value is read).

    A seeded public batch is scored twice, then again with one public row prepended: a
    per-row function returns the same values for the same rows every time. Randomised or
    position-dependent models (a seeded ``DummyClassifier(strategy="stratified")``, a vote of
    them, a mixture's ``predict``) fail the probe, which no denylist of tags can promise. A
    model that cannot score the probe (it needs named columns) is not judged here.
    """
    rng = np.random.default_rng(_PROBE_SEED)
    low, high = feature_range
    batch = rng.uniform(low, high, (_PROBE_ROWS, n_features))
    extra = rng.uniform(low, high, (1, n_features))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            first = np.asarray(output(batch), dtype=np.float64)
            second = np.asarray(output(batch), dtype=np.float64)
            shifted = np.asarray(output(np.vstack([extra, batch])), dtype=np.float64)[1:]
        except Exception:
            return False
    # a per-row score may differ in its last bits with the batch (BLAS blocking): a tolerance
    same = functools.partial(np.allclose, rtol=1e-9, atol=1e-12, equal_nan=True)
    return not (same(first, second) and same(first, shifted))
