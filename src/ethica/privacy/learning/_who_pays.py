"""Who pays for privacy: accuracy and error rates by protected group, model by model.

Bagdasaryan, Poursaeed & Shmatikov (2019), "Differential privacy has disparate impact on
model accuracy", *NeurIPS*, found that DP training costs under-represented groups the most.
:func:`privacy_cost_by_group` measures it for any set of fitted classifiers (typically a
non-private ceiling and DP models at several epsilons) on the same labelled rows: for each
model and each group (and ``"overall"``), the accuracy, false-positive rate
``P(Ŷ=1 | Y=0)`` and false-negative rate ``P(Ŷ=0 | Y=1)`` with Wilson score intervals
(Wilson 1927), computed by ethica's audit rates (:func:`ethica.fairness._rates.rate_table`)
from the confusion counts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ethica._exceptions import InvalidParameterError
from ethica._results import Result, ResultPart
from ethica.fairness._audit_result import Estimate
from ethica.fairness._rates import rate_table

__all__ = ["GroupCost", "PrivacyCostResult", "privacy_cost_by_group"]

METRICS = ("accuracy", "fpr", "fnr")


@dataclass(frozen=True)
class GroupCost(ResultPart):
    """One model's accuracy and error rates on one group, each an :class:`Estimate`."""

    model: str
    epsilon: float | None
    group: str
    n: int
    accuracy: Estimate
    fpr: Estimate
    fnr: Estimate


@dataclass(frozen=True)
class PrivacyCostResult(Result):
    """Per-group accuracy, FPR and FNR of each model (rows in model order, ``overall`` first).

    Attributes
    ----------
    rows
        One :class:`GroupCost` per (model, group).
    attribute
        Name of the protected attribute.
    confidence
        Coverage of every Wilson interval.
    """

    rows: tuple[GroupCost, ...]
    attribute: str
    confidence: float

    def get(self, model: str, group: str = "overall") -> GroupCost:
        """The row of ``model`` on ``group``."""
        for row in self.rows:
            if row.model == model and row.group == group:
                return row
        raise InvalidParameterError(
            f"no row for model {model!r} and group {group!r}; models: "
            f"{sorted({r.model for r in self.rows})}, groups: "
            f"{sorted({r.group for r in self.rows})}."
        )

    def _document(self) -> Mapping[str, Any]:
        return {"attribute": self.attribute, "confidence": self.confidence, "rows": self.rows}

    def to_frame(self) -> pd.DataFrame:
        """One row per (model, group): value, ci_low, ci_high of each metric."""
        records = []
        for row in self.rows:
            record: dict[str, Any] = {
                "model": row.model,
                "epsilon": row.epsilon,
                "group": row.group,
                "n": row.n,
            }
            for name in METRICS:
                estimate: Estimate = getattr(row, name)
                record[name] = estimate.value
                record[f"{name}_ci_low"] = estimate.ci_low
                record[f"{name}_ci_high"] = estimate.ci_high
            records.append(record)
        return pd.DataFrame.from_records(records)


def _epsilon(model: Any) -> float | None:
    budget = getattr(model, "budget_", None)
    value = getattr(budget, "epsilon", None)
    return None if value is None else float(value)


def privacy_cost_by_group(
    models: Mapping[str, Any],
    X: Any,
    y: Any,
    sensitive_features: Any,
    *,
    positive_label: Any = 1,
    confidence: float = 0.95,
) -> PrivacyCostResult:
    """Accuracy, FPR and FNR by protected group for each fitted classifier in ``models``.

    Parameters
    ----------
    models
        ``{name: fitted classifier}``, e.g. ``{"non-private": lr, "ε=1": dp1}``; a model with
        a ``budget_`` (ethica's DP learners) reports its epsilon.
    X, y
        Evaluation rows (held out from training) and their true labels.
    sensitive_features
        One protected value per row (a Series names the attribute).
    positive_label
        The label counted as positive for FPR/FNR.
    confidence
        Coverage of the Wilson intervals.

    Returns
    -------
    PrivacyCostResult
    """
    if not models:
        raise InvalidParameterError("models is empty; pass {name: fitted classifier}.")
    if not 0 < confidence < 1:
        raise InvalidParameterError(f"confidence must lie in (0, 1), got {confidence!r}.")
    truth = np.asarray(y)
    groups = np.asarray(sensitive_features).astype(str)
    if truth.ndim != 1 or groups.shape != truth.shape:
        raise InvalidParameterError(
            f"y ({truth.shape}) and sensitive_features ({groups.shape}) must be 1-D with one "
            "value per row."
        )
    attribute = str(getattr(sensitive_features, "name", None) or "group")
    names = ["overall", *sorted(set(groups.tolist()))]
    members = [np.ones(truth.shape[0], dtype=bool), *[groups == g for g in names[1:]]]
    actual = truth == positive_label
    rows: list[GroupCost] = []
    for label, model in models.items():
        predicted = np.asarray(model.predict(X)) == positive_label
        if predicted.shape != actual.shape:
            raise InvalidParameterError(
                f"model {label!r} predicted {predicted.shape[0]} rows for {actual.shape[0]} "
                "labels; pass the rows the labels belong to."
            )
        confusion = np.array(
            [
                [
                    np.sum(m & predicted & actual),
                    np.sum(m & predicted & ~actual),
                    np.sum(m & ~predicted & actual),
                    np.sum(m & ~predicted & ~actual),
                ]
                for m in members
            ],
            dtype=np.int64,
        )
        table = rate_table(confusion, confidence)
        for index, group in enumerate(names):
            estimates = table.estimates(index)
            rows.append(
                GroupCost(
                    model=str(label),
                    epsilon=_epsilon(model),
                    group=group,
                    n=int(confusion[index].sum()),
                    accuracy=estimates["accuracy"],
                    fpr=estimates["fpr"],
                    fnr=estimates["fnr"],
                )
            )
    return PrivacyCostResult(rows=tuple(rows), attribute=attribute, confidence=confidence)
