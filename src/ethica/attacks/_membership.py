"""Membership inference against a trained classifier: was this row in the training set?

Two attacks on any scikit-learn classifier with ``predict_proba``, scored on known members
(training rows) and non-members (held-out rows from the same population):

- **Loss threshold** (Yeom, Giacomelli, Fredrikson and Jha 2018, "Privacy risk in machine
  learning: analyzing the connection to overfitting", *CSF*): score each row by minus its
  cross-entropy loss ``-log p_model(y | x)``; members of an overfit model have lower loss.
- **Shadow models** (Shokri, Stronati, Song and Shmatikov 2017, "Membership inference
  attacks against machine learning models", *IEEE S&P*): train shadow copies of the model
  on the attacker's own data, where membership is known, then learn one attack classifier
  per true label from the shadows' prediction vectors to members/non-members.

Both report the attack's ROC AUC (0.5 is chance) and its true-positive rate at a 1%
false-positive rate, the measure Carlini et al. (2022, "Membership inference attacks from
first principles", *IEEE S&P*) argue matters for privacy.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sklearn.base import clone
from sklearn.exceptions import NotFittedError as SklearnNotFittedError
from sklearn.metrics import roc_auc_score, roc_curve
from sklearn.tree import DecisionTreeClassifier
from sklearn.utils.validation import check_is_fitted

from ethica._exceptions import InvalidParameterError, NotFittedError
from ethica.attacks._common import Progress, check_positive_int, report_progress
from ethica.attacks._membership_result import MembershipResult

__all__ = ["loss_threshold_attack", "shadow_model_attack"]

_MIN_PROBABILITY = 1e-12
_LOW_FPR = 0.01


class Classifier(Protocol):
    """A fitted scikit-learn classifier with ``predict_proba`` and ``classes_``."""

    classes_: NDArray[Any]

    def predict_proba(self, X: Any) -> NDArray[np.float64]:
        """Class probabilities, one column per entry of ``classes_``."""
        ...


def _check_classifier(model: object, role: str) -> None:
    if not callable(getattr(model, "predict_proba", None)):
        raise InvalidParameterError(
            f"{role} must be a scikit-learn classifier with predict_proba, got "
            f"{type(model).__name__}; use a probabilistic classifier (e.g. SVC(probability=True))."
        )


def _check_fitted(model: object) -> None:
    try:
        check_is_fitted(model)
    except SklearnNotFittedError as error:
        raise NotFittedError(
            f"the target model {type(model).__name__} is not fitted; fit it on the member "
            "rows first (membership is defined by its training set)."
        ) from error


def _label_probability(model: Classifier, X: ArrayLike, y: ArrayLike) -> NDArray[np.float64]:
    """``p_model(y_i | x_i)`` for each row; zero for labels the model never saw."""
    probabilities = np.asarray(model.predict_proba(X), dtype=np.float64)
    labels = np.asarray(y)
    if labels.shape[0] != probabilities.shape[0]:
        raise InvalidParameterError(
            f"X has {probabilities.shape[0]} rows but y has {labels.shape[0]}; pass one label "
            "per row."
        )
    column = {label: j for j, label in enumerate(model.classes_)}
    index = np.array([column.get(label, -1) for label in labels])
    picked = probabilities[np.arange(labels.size), np.maximum(index, 0)]
    return np.where(index >= 0, picked, 0.0)


def _score(
    name: str, member_scores: NDArray[np.float64], nonmember_scores: NDArray[np.float64]
) -> MembershipResult:
    truth = np.concatenate([np.ones(member_scores.size), np.zeros(nonmember_scores.size)])
    scores = np.concatenate([member_scores, nonmember_scores])
    fpr, tpr, _ = roc_curve(truth, scores)
    return MembershipResult.from_curve(
        attack=name,
        n_members=member_scores.size,
        n_nonmembers=nonmember_scores.size,
        auc=float(roc_auc_score(truth, scores)),
        fpr=fpr,
        tpr=tpr,
        low_fpr=_LOW_FPR,
    )


def _check_sizes(X_members: ArrayLike, X_nonmembers: ArrayLike) -> None:
    for role, X in (("members", X_members), ("non-members", X_nonmembers)):
        if len(X) < 1:  # type: ignore[arg-type]
            raise InvalidParameterError(
                f"no {role} rows were given; pass at least one training row and one held-out row."
            )


def loss_threshold_attack(
    model: Classifier,
    X_members: ArrayLike,
    y_members: ArrayLike,
    X_nonmembers: ArrayLike,
    y_nonmembers: ArrayLike,
    *,
    progress: Progress | None = None,
) -> MembershipResult:
    """Loss-threshold membership inference (Yeom et al. 2018).

    Definition: the attack scores row ``(x, y)`` by ``s(x, y) = log p_model(y | x)`` (minus the
    cross-entropy loss, probabilities clipped at 1e-12) and calls it a member when
    ``s >= tau``. Sweeping ``tau`` gives the ROC curve; Yeom et al. set ``tau`` to minus the
    mean training loss, one point on it.

    Parameters
    ----------
    model
        The fitted target classifier (``predict_proba``, ``classes_``).
    X_members, y_members
        Rows the model was trained on, with their labels.
    X_nonmembers, y_nonmembers
        Rows from the same population it was not trained on.
    progress
        ``progress(done, total)`` after each of the 2 scoring passes.

    Returns
    -------
    MembershipResult
        AUC, TPR at 1% FPR, best advantage ``max(TPR - FPR)`` and the ROC curve.
    """
    _check_classifier(model, "model")
    _check_fitted(model)
    _check_sizes(X_members, X_nonmembers)
    scores = []
    for done, (X, y) in enumerate(((X_members, y_members), (X_nonmembers, y_nonmembers)), 1):
        scores.append(np.log(np.maximum(_label_probability(model, X, y), _MIN_PROBABILITY)))
        report_progress(progress, done, 2)
    return _score("loss_threshold", scores[0], scores[1])


def _default_attack_model(seed: int) -> DecisionTreeClassifier:
    return DecisionTreeClassifier(min_samples_leaf=25, random_state=seed)


def _attack_features(model: Classifier, X: ArrayLike) -> NDArray[np.float64]:
    return np.asarray(model.predict_proba(X), dtype=np.float64)


def shadow_model_attack(
    model: Classifier,
    X_members: ArrayLike,
    y_members: ArrayLike,
    X_nonmembers: ArrayLike,
    y_nonmembers: ArrayLike,
    *,
    X_shadow: ArrayLike,
    y_shadow: ArrayLike,
    n_shadows: int = 4,
    attack_model: object | None = None,
    seed: int | None = 0,
    progress: Progress | None = None,
) -> MembershipResult:
    """Shadow-model membership inference (Shokri et al. 2017).

    Each of ``n_shadows`` shadow models (an unfitted clone of ``model``) is trained on a
    random half of the attacker's data ``(X_shadow, y_shadow)``; its prediction vectors on
    that half (members) and on the other half (non-members) form the attack's training set.
    One attack classifier per true label maps a prediction
    vector to ``P(member)``; applied to the target model's predictions it scores the target
    rows. Labels the shadows never saw with both outcomes score 1/2.

    Parameters
    ----------
    model
        The fitted target classifier; its unfitted clone trains the shadows.
    X_members, y_members, X_nonmembers, y_nonmembers
        As in :func:`loss_threshold_attack`.
    X_shadow, y_shadow
        The attacker's own rows from the same population, disjoint from the target's
        (ideally about twice the number of members, so shadows train on as many rows).
    n_shadows
        Number of shadow models.
    attack_model
        Unfitted binary classifier with ``predict_proba`` cloned for each label; default a
        decision tree with at least 25 rows per leaf (a fast non-parametric estimate of
        ``P(member | prediction vector)``).
    seed
        Seed of the shadow splits and attack models.
    progress
        ``progress(done, total)`` after each shadow model and after scoring.
    """
    _check_classifier(model, "model")
    _check_fitted(model)
    _check_sizes(X_members, X_nonmembers)
    shadows = check_positive_int("n_shadows", n_shadows)
    if attack_model is not None:
        _check_classifier(attack_model, "attack_model")
    X_attacker = np.asarray(X_shadow)
    y_attacker = np.asarray(y_shadow)
    if X_attacker.shape[0] < 4 or y_attacker.shape[0] != X_attacker.shape[0]:
        raise InvalidParameterError(
            f"X_shadow has {X_attacker.shape[0]} rows and y_shadow {y_attacker.shape[0]}; pass "
            "at least 4 labelled attacker rows, one label per row."
        )
    rng = np.random.default_rng(seed)
    features, labels, membership = [], [], []
    for done in range(1, shadows + 1):
        order = rng.permutation(X_attacker.shape[0])
        inside, outside = np.array_split(order, 2)
        shadow = clone(model).fit(X_attacker[inside], y_attacker[inside])
        for rows, member in ((inside, 1), (outside, 0)):
            features.append(_attack_features(shadow, X_attacker[rows]))
            labels.append(y_attacker[rows])
            membership.append(np.full(rows.size, member))
        report_progress(progress, done, shadows + 1)
    attack_x, attack_label = np.vstack(features), np.concatenate(labels)
    attack_y = np.concatenate(membership)
    attack_seed = int(rng.integers(2**31))
    per_label = {}
    for label in np.unique(attack_label):
        train = attack_label == label
        if len(np.unique(attack_y[train])) == 2:
            template = _default_attack_model(attack_seed) if attack_model is None else attack_model
            per_label[label] = clone(template).fit(attack_x[train], attack_y[train])
    scores = []
    for X, y in ((X_members, y_members), (X_nonmembers, y_nonmembers)):
        target_x, target_label = _attack_features(model, X), np.asarray(y)
        score = np.full(target_label.size, 0.5)
        for label, attack in per_label.items():
            rows = target_label == label
            if rows.any():
                score[rows] = attack.predict_proba(target_x[rows])[:, 1]
        scores.append(score)
    report_progress(progress, shadows + 1, shadows + 1)
    return _score("shadow_models", scores[0], scores[1])
