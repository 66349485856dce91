"""Metrics that :class:`~ethica.fairness.MetricFrame` computes from confusion counts.

A binary classification metric with default arguments is a function of the four
confusion counts of a group (``tn``, ``fp``, ``fn``, ``tp``; sums of ``sample_weight`` when
weights are given). For the metrics registered here MetricFrame computes every group's
value from one ``bincount`` over all rows instead of calling the function once per group.
The formulas reproduce the libraries' floating-point operations, so the values are equal
(not merely close) to the per-group calls; where a formula has a zero denominator
("degenerate" groups, where the library warns or substitutes a value) MetricFrame calls
the real function on that group's rows instead.

Metrics are recognised by the module and name of the function (fairlearn is not imported),
optionally wrapped in :func:`functools.partial` with keyword arguments that do not change
the value on 0/1 data (``pos_label=1``; ``zero_division`` only matters for degenerate
groups, which go to the real function anyway).

Definitions (Sokolova and Lapalme 2009, "A systematic analysis of performance measures
for classification tasks", Information Processing & Management 45(4)):

=========================  =============================================
selection rate             ``(fp + tp) / n``
true positive rate/recall  ``tp / (tp + fn)``
true negative rate         ``tn / (tn + fp)``
false positive rate        ``fp / (tn + fp)``
false negative rate        ``fn / (tp + fn)``
precision                  ``tp / (tp + fp)``
accuracy                   ``(tp + tn) / n``; zero-one loss ``1 - accuracy``
F1                         ``2 tp / ((tp + fn) + (tp + fp))``
balanced accuracy          ``(tp / (tp + fn) + tn / (tn + fp)) / 2``
count                      ``n`` (rows, never weighted)
=========================  =============================================
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from ethica._typing import BoolArray, FloatArray, IntArray

__all__ = ["ConfusionCounts", "CountMetric", "resolve_count_metric"]


@dataclass(frozen=True)
class ConfusionCounts:
    """Per-group confusion counts (int64 unweighted, float64 weighted), one entry per group.

    ``rows`` counts the rows of each group; ``total`` is their summed weight (``rows``
    without weights).
    """

    tn: npt.NDArray[Any]
    fp: npt.NDArray[Any]
    fn: npt.NDArray[Any]
    tp: npt.NDArray[Any]
    rows: IntArray
    total: npt.NDArray[Any]


Formula = Callable[[ConfusionCounts], tuple[npt.NDArray[Any], BoolArray]]
Proportion = Callable[[ConfusionCounts], tuple[npt.NDArray[Any], npt.NDArray[Any]]]


def _ratio(top: npt.NDArray[Any], bottom: npt.NDArray[Any]) -> tuple[FloatArray, BoolArray]:
    degenerate = bottom == 0
    with np.errstate(divide="ignore", invalid="ignore"):
        value = np.true_divide(top, bottom, dtype=np.float64)
    return value, np.asarray(degenerate)


@dataclass(frozen=True)
class CountMetric:
    """A metric computable from confusion counts.

    Attributes
    ----------
    name
        Function name (for messages).
    formula
        Values per group and which groups are degenerate (computed by the real function).
    proportion
        Successes and trials when the metric is a binomial proportion (for Wilson
        intervals), else None.
    weighted
        Whether the formula reproduces the function's ``sample_weight`` arithmetic exactly
        (the confusion-matrix rates do; accuracy, precision, recall and F1 sum weights in
        another order, so weighted calls of those go to the function itself).
    keywords
        Keyword arguments a :func:`functools.partial` may fix, with the values allowed.
    integer
        Whether the metric returns an integer (``count``).
    """

    name: str
    formula: Formula
    proportion: Proportion | None = None
    weighted: bool = False
    keywords: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)
    integer: bool = False


def _selection(c: ConfusionCounts) -> tuple[FloatArray, BoolArray]:
    return _ratio(c.fp + c.tp, c.total)


def _tpr(c: ConfusionCounts) -> tuple[FloatArray, BoolArray]:
    return _ratio(c.tp, c.tp + c.fn)


def _tnr(c: ConfusionCounts) -> tuple[FloatArray, BoolArray]:
    return _ratio(c.tn, c.tn + c.fp)


def _fpr(c: ConfusionCounts) -> tuple[FloatArray, BoolArray]:
    return _ratio(c.fp, c.tn + c.fp)


def _fnr(c: ConfusionCounts) -> tuple[FloatArray, BoolArray]:
    return _ratio(c.fn, c.tp + c.fn)


def _precision(c: ConfusionCounts) -> tuple[FloatArray, BoolArray]:
    return _ratio(c.tp, c.tp + c.fp)


def _accuracy(c: ConfusionCounts) -> tuple[FloatArray, BoolArray]:
    return _ratio(c.tp + c.tn, c.total)


def _zero_one(c: ConfusionCounts) -> tuple[FloatArray, BoolArray]:
    accuracy, degenerate = _accuracy(c)
    return 1 - accuracy, degenerate


def _f1(c: ConfusionCounts) -> tuple[FloatArray, BoolArray]:
    value, _ = _ratio(2.0 * c.tp, 1.0 * (c.tp + c.fn) + (c.tp + c.fp))
    return value, np.asarray(c.tp == 0)


def _balanced(c: ConfusionCounts) -> tuple[FloatArray, BoolArray]:
    recall, no_positive = _ratio(c.tp, c.tp + c.fn)
    specificity, no_negative = _ratio(c.tn, c.tn + c.fp)
    return (specificity + recall) / 2, no_positive | no_negative


def _count(c: ConfusionCounts) -> tuple[npt.NDArray[Any], BoolArray]:
    return c.rows, np.zeros(c.rows.shape, dtype=bool)


def _successes(
    top: Callable[[ConfusionCounts], npt.NDArray[Any]],
    bottom: Callable[[ConfusionCounts], npt.NDArray[Any]],
) -> Proportion:
    return lambda c: (top(c), bottom(c))


_POS_LABEL: Mapping[str, tuple[Any, ...]] = {"pos_label": (1,)}
_PRF: Mapping[str, tuple[Any, ...]] = {
    "pos_label": (1,),
    "zero_division": ("warn", 0, 1, 0.0, 1.0, math.nan),
}

_FAIRLEARN = "fairlearn.metrics._base_metrics"
_SKLEARN = "sklearn.metrics._classification"

_REGISTRY: dict[tuple[str, str], CountMetric] = {
    (_FAIRLEARN, "selection_rate"): CountMetric(
        "selection_rate",
        _selection,
        _successes(lambda c: c.fp + c.tp, lambda c: c.total),
        keywords=_POS_LABEL,
    ),
    (_FAIRLEARN, "mean_prediction"): CountMetric(
        "mean_prediction", _selection, _successes(lambda c: c.fp + c.tp, lambda c: c.total)
    ),
    (_FAIRLEARN, "true_positive_rate"): CountMetric(
        "true_positive_rate",
        _tpr,
        _successes(lambda c: c.tp, lambda c: c.tp + c.fn),
        weighted=True,
        keywords=_POS_LABEL,
    ),
    (_FAIRLEARN, "true_negative_rate"): CountMetric(
        "true_negative_rate",
        _tnr,
        _successes(lambda c: c.tn, lambda c: c.tn + c.fp),
        weighted=True,
        keywords=_POS_LABEL,
    ),
    (_FAIRLEARN, "false_positive_rate"): CountMetric(
        "false_positive_rate",
        _fpr,
        _successes(lambda c: c.fp, lambda c: c.tn + c.fp),
        weighted=True,
        keywords=_POS_LABEL,
    ),
    (_FAIRLEARN, "false_negative_rate"): CountMetric(
        "false_negative_rate",
        _fnr,
        _successes(lambda c: c.fn, lambda c: c.tp + c.fn),
        weighted=True,
        keywords=_POS_LABEL,
    ),
    (_FAIRLEARN, "count"): CountMetric("count", _count, integer=True),
    (_SKLEARN, "accuracy_score"): CountMetric(
        "accuracy_score", _accuracy, _successes(lambda c: c.tp + c.tn, lambda c: c.total)
    ),
    (_SKLEARN, "zero_one_loss"): CountMetric(
        "zero_one_loss", _zero_one, _successes(lambda c: c.fp + c.fn, lambda c: c.total)
    ),
    (_SKLEARN, "precision_score"): CountMetric(
        "precision_score",
        _precision,
        _successes(lambda c: c.tp, lambda c: c.tp + c.fp),
        keywords=_PRF,
    ),
    (_SKLEARN, "recall_score"): CountMetric(
        "recall_score",
        _tpr,
        _successes(lambda c: c.tp, lambda c: c.tp + c.fn),
        keywords=_PRF,
    ),
    (_SKLEARN, "f1_score"): CountMetric("f1_score", _f1, keywords=_PRF),
    (_SKLEARN, "balanced_accuracy_score"): CountMetric(
        "balanced_accuracy_score", _balanced, weighted=True
    ),
}


def _allowed(value: Any, allowed: tuple[Any, ...]) -> bool:
    for option in allowed:
        if isinstance(option, float) and math.isnan(option):
            if isinstance(value, float) and math.isnan(value):
                return True
        elif type(value) is type(option) and value == option:
            return True
    return False


def resolve_count_metric(function: Any) -> CountMetric | None:
    """The registered metric behind ``function`` (maybe a keyword-only partial), else None."""
    keywords: dict[str, Any] = {}
    while isinstance(function, functools.partial):
        if function.args:
            return None
        keywords = {**function.keywords, **keywords}
        function = function.func
    key = (getattr(function, "__module__", None), getattr(function, "__qualname__", None))
    metric = _REGISTRY.get(key)  # type: ignore[arg-type]
    if metric is None:
        return None
    for name, value in keywords.items():
        if name not in metric.keywords or not _allowed(value, metric.keywords[name]):
            return None
    return metric
