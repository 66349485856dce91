"""Rich-subgroup (fairness gerrymandering) auditor, from predictions, labels and attributes.

Kearns, Neel, Roth and Wu (2018), "Preventing Fairness Gerrymandering: Auditing and Learning
for Subgroup Fairness", ICML. For a subgroup indicator ``g`` over the protected attributes
and a conditioning event ``E`` (``Y = 0`` for false-positive rates, ``Y = 1`` for
false-negative rates, every row for selection rates), with ``v(x) = P[h(x) = 1]`` (or
``P[h(x) = 0]`` for false negatives),

    alpha(g) = P[g(x) = 1, E],     beta(g) = |E[v | E] - E[v | g(x) = 1, E]|,

and the subgroup is *gamma-unfair* when ``alpha(g) * beta(g) > gamma``. Finding the worst
``g`` is a cost-sensitive classification problem: labelling row ``i`` of ``E`` as a member
costs ``-(v_i - base)/n`` for a group above the base rate (``+(v_i - base)/n`` below). The
oracle regresses these costs on the attributes by least squares, then picks the threshold
along the fitted direction exactly by a sorted cumulative-sum scan. Since the gains
``v_i - base`` sum to zero over the event, a group and its complement are equally unfair, so
one scan covers both directions; the smaller of the two is reported, scored exactly.

A linear-threshold subgroup cannot split rows with identical attributes, so the auditor works
on the distinct attribute *patterns* of the event's rows: per-pattern sums of weights and of
weighted values are sufficient for the regression (weighted least squares on the patterns
solves the rows' problem), the scan and the score. :class:`RichSubgroupAuditor` binds labels,
attributes and weights once (encoding, patterns, the regression's factorisation) and audits
each new set of predictions in time linear in the rows; :func:`audit_rich_subgroups` is the
one-shot form.

:func:`audit_conjunctions` searches the groups defined by conjunctions of attribute values
(``race = Black and sex = Female``) exhaustively, one vectorised pass per attribute subset.

Both accept ``sample_weight``: a row of weight ``w`` counts as ``w`` identical rows, so the
auditors run on a count table's cells (weights: the cell counts) and give the answer of the
expanded rows. Weighted least squares with weights ``w`` minimises the same objective as
ordinary least squares on the expanded rows, and the threshold scan sums ``w_i * cost_i``.
"""

from __future__ import annotations

import itertools
import warnings
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np

from ethica._exceptions import HighCardinalityWarning, InvalidParameterError
from ethica._typing import BoolArray, FloatArray
from ethica.fairness._learning_results import LearningResult
from ethica.fairness._subgroup_encoding import (
    attribute_frame,
    encode,
    encode_attributes,
    text_codes,
)

__all__ = [
    "LinearOracle",
    "RichSubgroup",
    "RichSubgroupAuditor",
    "audit_conjunctions",
    "audit_rich_subgroups",
    "encode_attributes",
]

Metric = Literal["fpr", "fnr", "selection"]
_METRICS = ("fpr", "fnr", "selection")
#: Attributes with more distinct values than this are better binned before a conjunction search.
MAX_CONJUNCTION_LEVELS = 50
#: Relative cut-off below which eigenvalues of the oracle's column-equilibrated Gram matrix
#: count as zero (singular values of the design below 1e-5 of the largest).
_RCOND = 1e-10


@dataclass(frozen=True)
class RichSubgroup(LearningResult):
    """The most gamma-unfair subgroup found, with its exact statistics.

    Attributes
    ----------
    metric
        ``"fpr"``, ``"fnr"`` or ``"selection"``.
    shape
        ``"linear"`` (``sum_j coefficients_j x_j + intercept < 0``) or ``"conjunction"``.
    description
        The subgroup in words.
    attributes, coefficients, intercept
        Linear threshold subgroups: the encoded attribute columns and the hyperplane.
    conditions
        Conjunction subgroups: ``(attribute, value)`` pairs that must all hold.
    direction
        +1 if the subgroup's rate is above the overall rate, -1 if below.
    size
        ``alpha``: the share of all rows that are in the subgroup and in the event.
    group_rate, overall_rate, disparity, gamma_unfairness
        Rate in the subgroup (within the event), overall rate, ``beta`` and ``alpha * beta``.
    members
        Rows of the event inside the subgroup (the sum of their weights, rounded).
    """

    kind: ClassVar[str] = "rich_subgroup"

    metric: str
    shape: str
    description: str
    attributes: tuple[str, ...]
    coefficients: tuple[float, ...]
    intercept: float
    conditions: tuple[tuple[str, str], ...]
    direction: int
    size: float
    group_rate: float
    overall_rate: float
    disparity: float
    gamma_unfairness: float
    members: int

    def contains(self, protected: Any) -> BoolArray:
        """Whether each row of ``protected`` (same columns as audited) is in the subgroup."""
        if self.shape == "linear":
            matrix, _ = encode_attributes(protected, levels_from=self.attributes)
            return self.contains_encoded(matrix)
        frame = attribute_frame(protected)
        member = np.ones(len(frame), dtype=bool)
        for column, value in self.conditions:
            codes, levels = text_codes(frame[column])
            member &= np.isin(codes, np.flatnonzero(levels == value))
        return member

    def contains_encoded(self, matrix: FloatArray) -> BoolArray:
        """Linear subgroups: membership of rows already encoded in :attr:`attributes` order."""
        inside: BoolArray = matrix @ np.array(self.coefficients) + self.intercept < 0
        return inside


@dataclass(frozen=True)
class _Event:
    """The rows a metric conditions on, bound to labels and weights."""

    metric: str
    rows: BoolArray
    weights: FloatArray  # of the event's rows
    total: float  # weight of every row: alpha's denominator

    @classmethod
    def bind(cls, labels: Any, metric: str, sample_weight: Any = None) -> _Event:
        if metric not in _METRICS:
            raise InvalidParameterError(
                f"metric={metric!r} is not known; choose one of {list(_METRICS)}."
            )
        y = np.asarray(labels)
        if y.ndim != 1 or not np.isin(y, (0, 1)).all():
            raise InvalidParameterError(
                f"labels must be one 0/1 value per row, got shape {y.shape} with values "
                f"{np.unique(y)[:5].tolist()}; encode the favourable outcome as 1."
            )
        rows = {"fpr": y == 0, "fnr": y == 1, "selection": np.ones(y.shape, dtype=bool)}[metric]
        weights = _weights(sample_weight, y.shape[0])
        if not (weights[rows] > 0).any():
            raise InvalidParameterError(
                f"no rows in the event of metric={metric!r} (labels {np.unique(y).tolist()}); "
                "choose another metric."
            )
        return cls(metric, rows, weights[rows], float(weights.sum()))

    def values(self, predictions: Any) -> FloatArray:
        """``v`` on the event's rows: ``P[h = 1]``, or ``P[h = 0]`` for false negatives."""
        scores = np.asarray(predictions, dtype=np.float64)
        if scores.shape != self.rows.shape:
            raise InvalidParameterError(
                f"predictions have shape {scores.shape} but there are {self.rows.shape[0]} "
                "labels; pass one prediction per labelled row."
            )
        if not ((scores >= 0) & (scores <= 1)).all():
            raise InvalidParameterError(
                f"predictions must lie in [0, 1], got values from {np.min(scores)} to "
                f"{np.max(scores)}; pass decisions (0/1) or probabilities P[h(x) = 1]."
            )
        chosen = scores[self.rows]
        return 1.0 - chosen if self.metric == "fnr" else chosen


def _weights(sample_weight: Any, n: int) -> FloatArray:
    """Per-row weights (ones by default), checked to be finite, non-negative, one per row."""
    if sample_weight is None:
        return np.ones(n)
    weights = np.asarray(sample_weight, dtype=np.float64)
    if weights.shape != (n,) or not np.isfinite(weights).all() or (weights < 0).any():
        raise InvalidParameterError(
            f"sample_weight must hold one finite, non-negative weight per row ({n} rows), got "
            f"shape {weights.shape} with minimum {np.min(weights, initial=np.inf)}; pass e.g. "
            "the count of each cell."
        )
    return weights


def _check_rows(protected_rows: int, labelled_rows: int) -> None:
    if protected_rows != labelled_rows:
        raise InvalidParameterError(
            f"protected has {protected_rows} rows but predictions have {labelled_rows}; "
            "pass one row of attributes per prediction."
        )


@dataclass(frozen=True)
class _Scored:
    count: float
    size: float
    rate: float
    disparity: float
    unfairness: float
    direction: int


def _score(count: float, value_sum: float, base: float, total: float) -> _Scored:
    """Exact alpha, rate, beta and alpha*beta of a candidate from its weight and weighted
    value sum within the event."""
    if count == 0:
        return _Scored(0.0, 0.0, base, 0.0, 0.0, 1)
    rate = value_sum / count
    size = count / total
    gap = abs(rate - base)
    return _Scored(count, size, rate, gap, size * gap, 1 if rate >= base else -1)


class LinearOracle:
    """Cost-sensitive classification oracle over fixed attributes: ``1[x . w + b < 0]``.

    As in Kearns et al. (2018), the direction comes from the (weighted) least-squares
    regression of the per-row costs of labelling 1 on the attributes; the threshold along it
    is then chosen exactly (:func:`best_threshold`), which can only lower the total cost.
    The Gram matrix ``D' W D`` of the design ``D = [attributes, 1]`` is factorised once
    (eigendecomposition after scaling every column to unit weighted norm; eigenvalues below
    ``1e-10`` of the largest, such as those of one-hot blocks collinear with the intercept,
    are cut, not inverted), so every call is two products with the design.
    """

    def __init__(self, attributes: FloatArray, weights: FloatArray | None = None) -> None:
        self.design = np.column_stack([attributes, np.ones(attributes.shape[0])])
        self.weights = weights
        weighted = self.design if weights is None else self.design * weights[:, None]
        gram = weighted.T @ self.design
        norms = np.sqrt(np.clip(np.diag(gram), 0.0, None))
        norms[norms == 0] = 1.0
        eigenvalues, eigenvectors = np.linalg.eigh(gram / np.outer(norms, norms))
        keep = eigenvalues > _RCOND * max(float(eigenvalues.max(initial=0.0)), 0.0)
        basis = eigenvectors[:, keep]
        self._inverse = (basis / eigenvalues[keep]) @ basis.T / np.outer(norms, norms)

    def fit_costs(self, costs: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Least-squares coefficients (intercept last) and fitted values for ``costs``."""
        weighted = costs if self.weights is None else costs * self.weights
        solution: FloatArray = self._inverse @ (self.design.T @ weighted)
        fitted: FloatArray = self.design @ solution
        return solution, fitted

    def __call__(self, costs: FloatArray) -> tuple[FloatArray, float]:
        """``(weights, intercept)`` of the cheapest threshold along the regression direction."""
        solution, fitted = self.fit_costs(costs)
        return solution[:-1], float(solution[-1]) - best_threshold(fitted, costs)


def best_threshold(scores: FloatArray, costs: FloatArray) -> float:
    """Threshold ``t`` minimising ``sum_{i: scores_i < t} costs_i`` (vectorised scan).

    Cuts fall midway between distinct sorted scores; an empty selection is allowed.
    """
    order = np.argsort(scores, kind="stable")
    ordered = scores[order]
    totals = np.cumsum(costs[order])
    cut_after = np.append(ordered[1:] > ordered[:-1], True)
    totals = np.where(cut_after, totals, np.inf)
    k = int(np.argmin(totals))
    if totals[k] >= 0:
        return float(ordered[0]) - 1.0
    if k + 1 == ordered.shape[0]:
        return float(ordered[-1]) + 1.0
    return float((ordered[k] + ordered[k + 1]) / 2)


class RichSubgroupAuditor:
    """The linear-threshold auditor bound to one set of rows, for auditing many predictions.

    Encodes the attributes, groups the event's rows by attribute pattern and factorises the
    regression once; each :meth:`audit` then costs one weighted count per pattern and a scan
    over the patterns (module docstring). :func:`audit_rich_subgroups` gives the same answer.

    Parameters
    ----------
    labels
        True labels, 0/1.
    protected
        Protected attributes: a frame, a 2-D array or one column, one row per label.
    metric
        ``"fpr"``, ``"fnr"`` or ``"selection"``.
    sample_weight
        Non-negative weight per row (default 1): a row of weight ``w`` counts as ``w`` rows.

    Attributes
    ----------
    attributes, names
        The encoded attributes of every row and their column names.
    """

    def __init__(
        self, labels: Any, protected: Any, *, metric: Metric = "fpr", sample_weight: Any = None
    ) -> None:
        self._event = _Event.bind(labels, metric, sample_weight)
        frame = attribute_frame(protected)
        _check_rows(len(frame), self._event.rows.shape[0])
        encoding = encode(frame)
        self.attributes = encoding.matrix
        self.names = encoding.names
        self._pattern, first = encoding.patterns(self._event.rows)
        self._pattern_weight: FloatArray = np.bincount(
            self._pattern, weights=self._event.weights, minlength=first.shape[0]
        ).astype(np.float64)
        self._oracle = LinearOracle(self.attributes[self._event.rows][first], self._pattern_weight)

    @property
    def metric(self) -> str:
        """The audited rate: ``"fpr"``, ``"fnr"`` or ``"selection"``."""
        return self._event.metric

    def audit(self, predictions: Any) -> RichSubgroup:
        """The linear-threshold subgroup with the largest ``alpha * beta`` for ``predictions``
        (per-row ``P[h(x) = 1]``: 0/1 decisions or a randomised classifier's probabilities)."""
        values = self._event.values(predictions)
        weight = self._pattern_weight
        sums = np.bincount(
            self._pattern, weights=values * self._event.weights, minlength=weight.shape[0]
        )
        base = float(sums.sum() / weight.sum())
        gains = sums - base * weight  # per pattern: sum of w_i (v_i - base)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean_costs = np.where(weight > 0, -gains / (weight * self._event.total), 0.0)
        solution, fitted = self._oracle.fit_costs(mean_costs)
        cut = best_threshold(fitted, -gains)
        # {fitted < cut} and its complement {fitted > cut} have the same alpha * beta (the
        # gains sum to zero over the event); report the smaller, which may lie below the base.
        members = fitted < cut
        sign = 1.0 if 2 * weight[members].sum() <= weight.sum() else -1.0
        chosen = members if sign > 0 else ~members
        best = _score(
            float(weight[chosen].sum()), float(sums[chosen].sum()), base, self._event.total
        )
        # the hyperplane is scale-free: normalise the largest coefficient to 1 for reading
        scale = float(np.abs(solution[:-1]).max(initial=0.0)) or 1.0
        coefficients = sign * np.asarray(solution[:-1], dtype=np.float64) / scale
        intercept = sign * (float(solution[-1]) - cut) / scale
        return _result(
            self.metric,
            "linear",
            _hyperplane(self.names, coefficients, intercept),
            self.names,
            coefficients,
            intercept,
            (),
            best,
            base,
        )

    def members(self, subgroup: RichSubgroup) -> BoolArray:
        """Whether each bound row is in a linear-threshold ``subgroup`` of these attributes."""
        return subgroup.contains_encoded(self.attributes)


def audit_rich_subgroups(
    predictions: Any,
    labels: Any,
    protected: Any,
    *,
    metric: Metric = "fpr",
    sample_weight: Any = None,
) -> RichSubgroup:
    """Find the linear-threshold subgroup with the largest ``alpha * beta`` (module docstring).

    One audit; to audit many predictions on the same rows, bind a
    :class:`RichSubgroupAuditor` once and call its ``audit``.

    Parameters
    ----------
    predictions
        Per-row ``P[h(x) = 1]`` (0/1 decisions or probabilities of a randomised classifier).
    labels
        True labels, 0/1.
    protected
        Protected attributes: a frame, a 2-D array or one column.
    metric
        ``"fpr"``, ``"fnr"`` or ``"selection"``.
    sample_weight
        Non-negative weight per row (default 1): a row of weight ``w`` counts as ``w`` rows.
    """
    auditor = RichSubgroupAuditor(labels, protected, metric=metric, sample_weight=sample_weight)
    return auditor.audit(predictions)


def _hyperplane(names: tuple[str, ...], coefficients: FloatArray, intercept: float) -> str:
    order = np.argsort(-np.abs(coefficients))[:4]
    terms = " ".join(f"{coefficients[j]:+.3g}*[{names[j]}]" for j in order)
    more = " ..." if coefficients.shape[0] > 4 else ""
    return f"{terms}{more} {intercept:+.3g} < 0"


def audit_conjunctions(
    predictions: Any,
    labels: Any,
    protected: Any,
    *,
    metric: Metric = "fpr",
    max_attributes: int | None = None,
    sample_weight: Any = None,
) -> RichSubgroup:
    """Find the conjunction of attribute values with the largest ``alpha * beta``.

    Every subset of at most ``max_attributes`` attributes (default: all) and every
    combination of their values is scored exactly, one ``bincount`` per subset;
    ``sample_weight`` as in :func:`audit_rich_subgroups`.
    """
    event = _Event.bind(labels, metric, sample_weight)
    values, weights, n = event.values(predictions), event.weights, event.total
    frame = attribute_frame(protected)
    _check_rows(len(frame), event.rows.shape[0])
    columns = [str(c) for c in frame.columns]
    depth = len(columns) if max_attributes is None else int(max_attributes)
    if depth < 1:
        raise InvalidParameterError(f"max_attributes={max_attributes!r} must be at least 1.")
    codes, levels = [], []
    for column in frame.columns:
        code, names = text_codes(frame[column].to_numpy()[event.rows])
        if names.shape[0] > MAX_CONJUNCTION_LEVELS:
            warnings.warn(
                f"attribute {column!r} has {names.shape[0]} distinct values; bin it (e.g. "
                "age bands) so that conjunctions describe groups, not individuals.",
                HighCardinalityWarning,
                stacklevel=2,
            )
        codes.append(code)
        levels.append(names)
    base = float(np.dot(values, weights) / weights.sum())
    best: tuple[float, tuple[int, ...], tuple[int, ...]] = (-1.0, (), ())
    for size in range(1, min(depth, len(columns)) + 1):
        for subset in itertools.combinations(range(len(columns)), size):
            radix = [levels[j].shape[0] for j in subset]
            cell = np.ravel_multi_index([codes[j] for j in subset], radix)
            counts = np.bincount(cell, weights=weights, minlength=int(np.prod(radix)))
            sums = np.bincount(cell, weights=values * weights, minlength=counts.shape[0])
            with np.errstate(invalid="ignore", divide="ignore"):
                unfairness = np.where(counts > 0, counts / n * np.abs(sums / counts - base), 0)
            top = int(np.argmax(unfairness))
            if unfairness[top] > best[0]:
                best = (
                    float(unfairness[top]),
                    subset,
                    tuple(int(i) for i in np.unravel_index(top, radix)),
                )
    _, subset, index = best
    conditions = tuple((columns[j], str(levels[j][i])) for j, i in zip(subset, index, strict=True))
    members = np.ones(values.shape[0], dtype=bool)
    for j, i in zip(subset, index, strict=True):
        members &= codes[j] == i
    return _result(
        metric,
        "conjunction",
        " and ".join(f"{c} = {v}" for c, v in conditions),
        tuple(c for c, _ in conditions),
        np.zeros(0),
        0.0,
        conditions,
        _score(
            float(weights[members].sum()), float(np.dot(values[members], weights[members])), base, n
        ),
        base,
    )


def _result(
    metric: str,
    shape: str,
    description: str,
    attributes: tuple[str, ...],
    coefficients: FloatArray,
    intercept: float,
    conditions: tuple[tuple[str, str], ...],
    scored: _Scored,
    base: float,
) -> RichSubgroup:
    return RichSubgroup(
        metric=metric,
        shape=shape,
        description=description,
        attributes=attributes,
        coefficients=tuple(float(c) for c in coefficients),
        intercept=float(intercept),
        conditions=conditions,
        direction=scored.direction,
        size=scored.size,
        group_rate=scored.rate,
        overall_rate=base,
        disparity=scored.disparity,
        gamma_unfairness=scored.unfairness,
        members=round(scored.count),
    )
