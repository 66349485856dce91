"""Membership inference run end to end on a table: train target models, attack them.

Shared by ``ethica attack membership`` and the demo. From one labelled table (Adult by
default, or the user's), a seeded shuffle takes three disjoint parts: the target model's
training rows (members), as many held-out rows (non-members), and twice as many rows for
the attacker's shadow models. Each target model is attacked by the loss-threshold
(Yeom et al. 2018) and shadow-model (Shokri et al. 2017) attacks of
:mod:`ethica.attacks`.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ethica._exceptions import EthicaWarning, InvalidParameterError
from ethica._results import Result
from ethica.attacks import MembershipResult, Progress, loss_threshold_attack, shadow_model_attack
from ethica.attacks._common import frame_html
from ethica.workflows._attack_census import offset_progress

__all__ = ["MODELS", "MembershipComparison", "TargetModel", "make_model", "run_membership"]

#: Target models by CLI name, with what each shows.
MODELS: dict[str, str] = {
    "tree": "unpruned decision tree (memorises its training rows)",
    "forest": "random forest of 100 unpruned trees",
    "logistic": "L2-regularised logistic regression (generalises)",
}


def make_model(name: str, seed: int) -> Any:
    """An unfitted scikit-learn classifier for a name of :data:`MODELS`."""
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.tree import DecisionTreeClassifier

    if name == "tree":
        return DecisionTreeClassifier(random_state=seed)
    if name == "forest":
        return RandomForestClassifier(n_estimators=100, random_state=seed, n_jobs=1)
    if name == "logistic":
        return LogisticRegression(max_iter=2000)
    raise InvalidParameterError(
        f"unknown model {name!r}; choose one of {sorted(MODELS)} (e.g. model='tree')."
    )


@dataclass(frozen=True)
class TargetModel:
    """One attacked model: its accuracy on members and non-members, and both attacks."""

    name: str
    train_accuracy: float
    held_out_accuracy: float
    loss_threshold: MembershipResult
    shadow_models: MembershipResult

    def attacks(self) -> tuple[MembershipResult, MembershipResult]:
        """The two attack results, loss threshold first."""
        return self.loss_threshold, self.shadow_models


@dataclass(frozen=True)
class MembershipComparison(Result):
    """Membership inference against one or more models trained on the same rows.

    Attributes
    ----------
    label, n_members, n_shadow_rows, n_shadows, seed
        The label column, members (= non-members), attacker rows, shadow models, seed.
    models
        One :class:`TargetModel` per attacked model.
    """

    label: str
    n_members: int
    n_shadow_rows: int
    n_shadows: int
    seed: int
    models: tuple[TargetModel, ...]

    def _document(self) -> Mapping[str, Any]:
        """The comparison, ROC curves included."""
        return {
            "attack": "membership_inference",
            "label": self.label,
            "n_members": self.n_members,
            "n_shadow_rows": self.n_shadow_rows,
            "n_shadows": self.n_shadows,
            "seed": self.seed,
            "models": [
                {
                    "model": m.name,
                    "train_accuracy": m.train_accuracy,
                    "held_out_accuracy": m.held_out_accuracy,
                    "attacks": m.attacks(),
                }
                for m in self.models
            ],
        }

    def to_frame(self) -> pd.DataFrame:
        """One row per (model, attack): accuracies, AUC, TPR at 1% FPR, advantage."""
        return pd.DataFrame(
            [
                {
                    "model": m.name,
                    "train_accuracy": m.train_accuracy,
                    "held_out_accuracy": m.held_out_accuracy,
                    "attack": a.attack,
                    "auc": a.auc,
                    "tpr_at_1pct_fpr": a.tpr_at_low_fpr,
                    "advantage": a.advantage,
                }
                for m in self.models
                for a in m.attacks()
            ]
        )

    def roc_frame(self) -> pd.DataFrame:
        """Every ROC curve: columns ``model``, ``attack``, ``fpr``, ``tpr``."""
        parts = [
            a.roc_frame().assign(model=m.name, attack=a.attack)
            for m in self.models
            for a in m.attacks()
        ]
        return pd.concat(parts, ignore_index=True)

    def _repr_html_(self) -> str:
        return frame_html(f"Membership inference ({self.label})", self.to_frame())


def _usable_rows(
    frame: pd.DataFrame, label: str, exclude: Sequence[str], drop_missing: bool
) -> pd.DataFrame:
    """``frame`` without the ``exclude`` columns and (if asked) rows without a label."""
    from ethica.data._training import label_leaks

    columns = list(frame.columns)
    if label not in columns:
        raise InvalidParameterError(
            f"label column {label!r} not found; the table has {columns}. Check the spelling "
            "of label=."
        )
    unknown = [c for c in exclude if c not in columns]
    if unknown or label in exclude:
        raise InvalidParameterError(
            f"cannot exclude {unknown or [label]}: "
            + ("not in the table, which has " + str(columns) if unknown else "it is the label")
            + "; check the names given to exclude=."
        )
    frame = frame.drop(columns=list(exclude))
    missing = frame[label].isna()
    n_missing = int(missing.sum())
    if n_missing and not drop_missing:
        raise InvalidParameterError(
            f"label column {label!r} is missing (NULL/NaN) on {n_missing:,} of {len(frame):,} "
            "rows; a missing label is no negative label: drop those rows with "
            "drop_missing=True, or fill them in."
        )
    if n_missing:
        frame = frame.loc[~missing]
    features = [c for c in frame.columns if c != label]
    for column in label_leaks(frame, label, features):
        warnings.warn(
            f"feature {column!r} predicts the label {label!r} perfectly on these rows, so it "
            "leaks the outcome: every model looks perfect through it and the attack measures "
            f"that leak, not memorisation; leave it out with exclude=[{column!r}].",
            EthicaWarning,
            stacklevel=3,
        )
    return frame


def run_membership(
    frame: pd.DataFrame,
    *,
    label: str,
    positive: Any = None,
    models: Sequence[str] = ("tree", "logistic"),
    n_members: int = 1500,
    n_shadows: int = 4,
    seed: int = 0,
    exclude: Sequence[str] = (),
    drop_missing: bool = False,
    progress: Progress | None = None,
) -> MembershipComparison:
    """Train each model on ``n_members`` rows of ``frame`` and attack it two ways.

    Parameters
    ----------
    frame
        Labelled rows; every column but ``label`` and ``exclude`` is a feature (numbers
        standardised, other columns one-hot, see :func:`ethica.data.fit_encoding`);
        ID-like columns are refused.
    label, positive
        The label column and its positive value (default 1 / True). Rows with a missing
        label are refused, or dropped with ``drop_missing=True``.
    exclude
        Columns that are not features (identifiers, weights, columns computed from the
        label).
    drop_missing
        Drop rows whose label is missing instead of raising.
    models
        Names from :data:`MODELS`.
    n_members
        Training rows of each target model; as many held-out rows are scored, and
        ``2 * n_members`` rows train the shadow models: ``frame`` needs ``4 * n_members``.
    n_shadows, seed
        Shadow models per attack; seed of the split, the models and the attacks.
    progress
        ``progress(done, total)`` after each model fit, shadow model and scoring pass.

    Raises
    ------
    InvalidParameterError
        Unknown or excluded columns, missing labels (without ``drop_missing``), too few
        rows for ``n_members``, an unknown model name.

    Warns
    -----
    EthicaWarning
        A feature predicts the label perfectly (it leaks the label: exclude it).
    """
    from ethica.data import fit_encoding

    frame = _usable_rows(frame, label, exclude, drop_missing)

    if isinstance(n_members, bool) or not isinstance(n_members, int) or n_members < 10:
        raise InvalidParameterError(
            f"n_members must be an integer >= 10, got {n_members!r}; e.g. n_members=1500."
        )
    if len(frame) < 4 * n_members:
        raise InvalidParameterError(
            f"{n_members} members need {4 * n_members} rows (members, as many held-out rows, "
            f"twice as many for the shadow models) but the table has {len(frame)}; use "
            f"n_members={len(frame) // 4} or fewer."
        )
    names = list(models)
    for name in names:
        make_model(name, seed)
    rng = np.random.default_rng(seed)
    rows = frame.iloc[rng.permutation(len(frame))[: 4 * n_members]].reset_index(drop=True)
    encoding = fit_encoding(rows, label=label, protected=(), positive=positive)
    data = encoding.transform(rows)
    parts = np.split(np.arange(4 * n_members), [n_members, 2 * n_members])
    (X_in, y_in), (X_out, y_out), (X_shadow, y_shadow) = ((data.X[p], data.y[p]) for p in parts)
    per_model = n_shadows + 4
    total = per_model * len(names)
    targets = []
    for i, name in enumerate(names):
        base = i * per_model
        model = make_model(name, seed).fit(X_in, y_in)
        if progress is not None:
            progress(base + 1, total)
        loss = loss_threshold_attack(
            model, X_in, y_in, X_out, y_out, progress=offset_progress(progress, base + 1, total)
        )
        shadow = shadow_model_attack(
            model,
            X_in,
            y_in,
            X_out,
            y_out,
            X_shadow=X_shadow,
            y_shadow=y_shadow,
            n_shadows=n_shadows,
            seed=seed,
            progress=offset_progress(progress, base + 3, total),
        )
        targets.append(
            TargetModel(
                name=name,
                train_accuracy=float((model.predict(X_in) == y_in).mean()),
                held_out_accuracy=float((model.predict(X_out) == y_out).mean()),
                loss_threshold=loss,
                shadow_models=shadow,
            )
        )
    return MembershipComparison(
        label=label,
        n_members=n_members,
        n_shadow_rows=2 * n_members,
        n_shadows=n_shadows,
        seed=seed,
        models=tuple(targets),
    )
