"""Unawareness is no guarantee: disparity left without the protected attribute, and its proxies.

"Fairness through unawareness" drops the protected attribute from the features. When other
features predict it, a model can still discriminate through them (Pedreshi, Ruggieri and
Turini 2008; Dwork, Hardt, Pitassi, Reingold and Zemel 2012, "Fairness through awareness").
This module measures, on held-out rows:

- the constraint's disparity ``max_E (max_a mu_{a,E} - min_a mu_{a,E})`` of a model trained
  with the protected attribute and of one trained without it;
- how well the remaining features predict the protected attribute: the ROC AUC (one-vs-rest
  macro average for several groups) of a classifier trained to predict it;
- each remaining source column's AUC alone, ranked: the strongest proxies.

The held-out rows are a sample: each disparity carries a Newcombe interval for the difference
between the two cells that attain it and each error a Wilson interval, at ``confidence``
(as the frontier's points, :func:`ethica.fairness.frontier`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from ethica._exceptions import InvalidParameterError
from ethica._results import ResultPart
from ethica._typing import FloatArray, IndexArray
from ethica.data import TrainingMatrix
from ethica.fairness._constraints import FairnessConstraint, encode_groups, encode_known_groups
from ethica.fairness._frontier import disparity_interval, error_interval
from ethica.fairness._learning_base import resolve_constraint
from ethica.fairness._learning_results import LearningResult

__all__ = ["ProxyFeature", "ProxyResult", "proxy_analysis"]


@dataclass(frozen=True)
class ProxyFeature(ResultPart):
    """One source column and the held-out AUC of predicting the protected attribute from it."""

    feature: str
    auc: float


@dataclass(frozen=True)
class ProxyResult(LearningResult):
    """What dropping the protected attribute leaves (module docstring).

    Attributes
    ----------
    constraint
        Registry name of the disparity measured.
    disparity_with, disparity_without
        Held-out disparity of the model trained with / without the protected attribute.
    error_with, error_without
        Their held-out error rates.
    disparity_with_interval, disparity_without_interval, error_with_interval,
    error_without_interval
        Their confidence intervals at ``confidence`` (``None`` when not computed).
    protected_auc
        Held-out AUC of predicting the protected attribute from the remaining features.
    proxies
        Remaining source columns by decreasing single-column AUC.
    """

    kind: ClassVar[str] = "proxies"

    constraint: str
    protected: tuple[str, ...]
    disparity_with: float
    disparity_without: float
    error_with: float
    error_without: float
    protected_auc: float
    proxies: tuple[ProxyFeature, ...]
    disparity_with_interval: tuple[float, float] | None = None
    disparity_without_interval: tuple[float, float] | None = None
    error_with_interval: tuple[float, float] | None = None
    error_without_interval: tuple[float, float] | None = None
    confidence: float = 0.95

    def _rows(self) -> list[dict[str, Any]]:
        return [
            {"rank": i + 1, "feature": p.feature, "auc": p.auc} for i, p in enumerate(self.proxies)
        ]


def _protected_auc(
    model: Any,
    X_train: FloatArray,
    groups_train: IndexArray,
    X_test: FloatArray,
    groups_test: IndexArray,
) -> float:
    """Held-out AUC of predicting the group code (one-vs-rest macro for several groups)."""
    fitted = clone(model).fit(X_train, groups_train)
    scores = fitted.predict_proba(X_test)
    if scores.shape[1] == 2:
        return float(roc_auc_score(groups_test, scores[:, 1]))
    return float(
        roc_auc_score(
            groups_test, scores, multi_class="ovr", average="macro", labels=fitted.classes_
        )
    )


def proxy_analysis(
    train: TrainingMatrix,
    test: TrainingMatrix,
    *,
    protected: str | Sequence[str],
    constraint: FairnessConstraint | None = None,
    estimator: Any = None,
    top: int | None = 10,
) -> ProxyResult:
    """Train with and without the protected attribute and rank its proxies.

    Parameters
    ----------
    train, test
        Matrices from one :class:`~ethica.data.TrainingEncoding` built with
        ``include_protected=True`` (so the protected columns are among the features).
    protected
        Source column(s) of the protected attribute within the features.
    constraint
        Whose disparity to measure (default demographic parity; the bound is not used).
    estimator
        Classifier for the task and for predicting the protected attribute (default
        LogisticRegression); needs ``predict_proba``.
    top
        Number of proxies to keep (None: all).
    """
    names = (protected,) if isinstance(protected, str) else tuple(protected)
    spec = resolve_constraint(constraint, "proxy_analysis")
    protected_columns = np.isin(np.asarray(train.feature_sources), names)
    if not protected_columns.any():
        raise InvalidParameterError(
            f"none of the features comes from {list(names)}; encode the data with "
            "include_protected=True so the with/without comparison is possible."
        )
    model = LogisticRegression(max_iter=1000) if estimator is None else estimator
    rest = ~protected_columns
    outcomes = []
    for columns in (np.ones_like(rest), rest):
        fitted = clone(model).fit(train.X[:, columns], train.y)
        predicted = np.asarray(fitted.predict(test.X[:, columns]), dtype=np.float64)
        outcomes.append((float(np.mean(predicted != test.y)), predicted))
    measure = type(spec)(difference_bound=0.0).bind(test.y, test.sensitive)
    codes_train, group_names = encode_groups(train.sensitive)
    codes_test, unseen = encode_known_groups(test.sensitive, group_names)
    if unseen:
        raise InvalidParameterError(
            f"held-out rows have groups {unseen[:5]} "
            "never seen in training; use splits that share the groups."
        )
    sources = [s for s in dict.fromkeys(train.feature_sources) if s not in names]
    ranked = []
    for source in sources:
        columns = np.asarray(train.feature_sources) == source
        ranked.append(
            ProxyFeature(
                source,
                _protected_auc(
                    model, train.X[:, columns], codes_train, test.X[:, columns], codes_test
                ),
            )
        )
    ranked.sort(key=lambda p: -p.auc)
    return ProxyResult(
        constraint=spec.name,
        protected=names,
        disparity_with=measure.disparity(outcomes[0][1]),
        disparity_without=measure.disparity(outcomes[1][1]),
        error_with=outcomes[0][0],
        error_without=outcomes[1][0],
        protected_auc=_protected_auc(
            model, train.X[:, rest], codes_train, test.X[:, rest], codes_test
        ),
        proxies=tuple(ranked if top is None else ranked[:top]),
        disparity_with_interval=disparity_interval(measure, outcomes[0][1]),
        disparity_without_interval=disparity_interval(measure, outcomes[1][1]),
        error_with_interval=error_interval(outcomes[0][1], test.y),
        error_without_interval=error_interval(outcomes[1][1], test.y),
    )
