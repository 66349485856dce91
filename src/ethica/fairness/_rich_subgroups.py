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
import numpy.typing as npt
import pandas as pd

from ethica._exceptions import HighCardinalityWarning, InvalidParameterError
from ethica.fairness._learning_results import LearningResult

__all__ = [
    "LinearOracle",
    "RichSubgroup",
    "audit_conjunctions",
    "audit_rich_subgroups",
    "encode_attributes",
]

FloatArray = npt.NDArray[np.float64]
Metric = Literal["fpr", "fnr", "selection"]
_METRICS = ("fpr", "fnr", "selection")
#: Attributes with more distinct values than this are better binned before a conjunction search.
MAX_CONJUNCTION_LEVELS = 50
#: Relative cut-off below which singular values of the oracle's design count as zero.
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

    def contains(self, protected: Any) -> npt.NDArray[np.bool_]:
        """Whether each row of ``protected`` (same columns as audited) is in the subgroup."""
        if self.shape == "linear":
            matrix, _ = encode_attributes(protected, levels_from=self.attributes)
            return np.asarray(matrix @ np.array(self.coefficients) + self.intercept < 0)
        frame = _as_frame(protected)
        member = np.ones(len(frame), dtype=bool)
        for column, value in self.conditions:
            member &= frame[column].astype(str).to_numpy() == value
        return member


def _as_frame(protected: Any) -> pd.DataFrame:
    if isinstance(protected, pd.DataFrame):
        return protected
    if isinstance(protected, pd.Series):
        return protected.to_frame(name=str(protected.name or "protected"))
    values = np.asarray(protected, dtype=object)
    if values.ndim == 1:
        values = values[:, None]
    if values.ndim != 2:
        raise InvalidParameterError(
            f"protected attributes must be 1-D or 2-D, got shape {values.shape}; pass one "
            "column per attribute."
        )
    return pd.DataFrame(values, columns=[f"attribute_{j}" for j in range(values.shape[1])])


def encode_attributes(
    protected: Any, *, levels_from: tuple[str, ...] | None = None
) -> tuple[FloatArray, tuple[str, ...]]:
    """Numeric attributes as they are, the others one-hot (``column=value``).

    With ``levels_from`` (the names of an earlier encoding) the same columns are rebuilt.
    """
    frame = _as_frame(protected)
    blocks: list[FloatArray] = []
    names: list[str] = []
    for column in frame.columns:
        series = frame[column]
        numeric = pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(
            series)
        if numeric and (levels_from is None or str(column) in levels_from):
            blocks.append(series.to_numpy(dtype=np.float64)[:, None])
            names.append(str(column))
            continue
        text = series.astype(str).to_numpy()
        if levels_from is None:
            levels = sorted(set(text.tolist()))
        else:
            prefix = f"{column}="
            levels = [n[len(prefix):] for n in levels_from if n.startswith(prefix)]
        blocks.append((text[:, None] == np.array(levels)[None, :]).astype(np.float64))
        names.extend(f"{column}={level}" for level in levels)
    matrix = np.hstack(blocks) if blocks else np.zeros((len(frame), 0))
    return matrix, tuple(names)


def _event_values(
    predictions: Any, labels: Any, metric: str, sample_weight: Any = None
) -> tuple[npt.NDArray[np.bool_], FloatArray, FloatArray, float]:
    """Rows of the event, the value ``v`` and the weight of each, and the total weight."""
    if metric not in _METRICS:
        raise InvalidParameterError(
            f"metric={metric!r} is not known; choose one of {list(_METRICS)}."
        )
    scores = np.asarray(predictions, dtype=np.float64)
    y = np.asarray(labels)
    if scores.ndim != 1 or y.shape != scores.shape:
        raise InvalidParameterError(
            f"predictions {scores.shape} and labels {y.shape} must be 1-D and of one length."
        )
    if np.any((scores < 0) | (scores > 1)) or not np.isin(y, (0, 1)).all():
        raise InvalidParameterError(
            "predictions must lie in [0, 1] and labels be 0/1; encode the favourable outcome "
            "as 1."
        )
    event = {"fpr": y == 0, "fnr": y == 1, "selection": np.ones(y.shape, dtype=bool)}[metric]
    if not event.any():
        raise InvalidParameterError(
            f"no rows in the event of metric={metric!r} (labels {np.unique(y).tolist()}); "
            "choose another metric."
        )
    weights = _weights(sample_weight, y.shape[0])
    values = 1.0 - scores[event] if metric == "fnr" else scores[event]
    return event, values, weights[event], float(weights.sum())


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


@dataclass(frozen=True)
class _Scored:
    members: npt.NDArray[np.bool_]
    count: float
    size: float
    rate: float
    disparity: float
    unfairness: float
    direction: int


def _score(members: npt.NDArray[np.bool_], values: FloatArray, weights: FloatArray,
           base: float, n: float) -> _Scored:
    """Exact alpha, rate, beta and alpha*beta of one candidate (members within the event)."""
    count = float(weights[members].sum())
    if count == 0:
        return _Scored(members, 0.0, 0.0, base, 0.0, 0.0, 1)
    rate = float(np.dot(values[members], weights[members]) / count)
    size = count / n
    return _Scored(members, count, size, rate, abs(rate - base), size * abs(rate - base),
                   1 if rate >= base else -1)


class LinearOracle:
    """Cost-sensitive classification oracle over fixed attributes: ``1[x . w + b < 0]``.

    As in Kearns et al. (2018), the direction comes from the least-squares regression of the
    per-row costs of labelling 1 on the attributes; the threshold along it is then chosen
    exactly (:func:`best_threshold`), which can only lower the total cost. The
    pseudo-inverse of the design matrix is computed once, so every call is a product.
    """

    def __init__(self, attributes: FloatArray, weights: FloatArray | None = None) -> None:
        self.design = np.column_stack([attributes, np.ones(attributes.shape[0])])
        # One-hot attributes and the intercept are collinear: their numerically-zero
        # singular values (~1e-13 relative on Adult) must be cut, not inverted.
        if weights is None:
            self.projector = np.linalg.pinv(self.design, rcond=_RCOND)
        else:  # weighted least squares: pinv(sqrt(W) D) sqrt(W)
            root = np.sqrt(weights)
            self.projector = np.linalg.pinv(self.design * root[:, None],
                                            rcond=_RCOND) * root[None, :]

    def fit_costs(self, costs: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Least-squares coefficients (intercept last) and fitted values for ``costs``."""
        solution: FloatArray = self.projector @ costs
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


def audit_rich_subgroups(
    predictions: Any,
    labels: Any,
    protected: Any,
    *,
    metric: Metric = "fpr",
    sample_weight: Any = None,
) -> RichSubgroup:
    """Find the linear-threshold subgroup with the largest ``alpha * beta`` (module docstring).

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
    event, values, weights, n = _event_values(predictions, labels, metric, sample_weight)
    matrix, names = encode_attributes(protected)
    if matrix.shape[0] != event.shape[0]:
        raise InvalidParameterError(
            f"protected has {matrix.shape[0]} rows but predictions have {event.shape[0]}; "
            "pass one row of attributes per prediction."
        )
    base = float(np.dot(values, weights) / weights.sum())
    gains = values - base
    solution, fitted = LinearOracle(matrix[event], weights).fit_costs(-gains / n)
    cut = best_threshold(fitted, -gains * weights)
    # {fitted < cut} and its complement {fitted > cut} have the same alpha * beta (the gains
    # sum to zero over the event); report the smaller, which may lie below the base rate.
    members = fitted < cut
    sign = 1.0 if 2 * weights[members].sum() <= weights.sum() else -1.0
    best = _score(members if sign > 0 else ~members, values, weights, base, n)
    # the hyperplane is scale-free: normalise the largest coefficient to 1 for reading
    scale = float(np.abs(solution[:-1]).max()) or 1.0
    coefficients = sign * np.asarray(solution[:-1], dtype=np.float64) / scale
    intercept = sign * (float(solution[-1]) - cut) / scale
    return _result(metric, "linear", _hyperplane(names, coefficients, intercept), names,
                   coefficients, intercept, (), best, base)


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
    event, values, weights, n = _event_values(predictions, labels, metric, sample_weight)
    frame = _as_frame(protected)
    if len(frame) != event.shape[0]:
        raise InvalidParameterError(
            f"protected has {len(frame)} rows but predictions have {event.shape[0]}; "
            "pass one row of attributes per prediction."
        )
    columns = [str(c) for c in frame.columns]
    depth = len(columns) if max_attributes is None else int(max_attributes)
    if depth < 1:
        raise InvalidParameterError(f"max_attributes={max_attributes!r} must be at least 1.")
    codes, levels = [], []
    for column in frame.columns:
        names, code = np.unique(frame[column].astype(str).to_numpy()[event],
                                return_inverse=True)
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
                best = (float(unfairness[top]), subset,
                        tuple(int(i) for i in np.unravel_index(top, radix)))
    _, subset, index = best
    conditions = tuple((columns[j], str(levels[j][i])) for j, i in zip(subset, index,
                                                                        strict=True))
    members = np.ones(values.shape[0], dtype=bool)
    for j, i in zip(subset, index, strict=True):
        members &= codes[j] == i
    return _result(metric, "conjunction", " and ".join(f"{c} = {v}" for c, v in conditions),
                   tuple(c for c, _ in conditions), np.zeros(0), 0.0, conditions,
                   _score(members, values, weights, base, n), base)


def _result(metric: str, shape: str, description: str, attributes: tuple[str, ...],
            coefficients: FloatArray, intercept: float,
            conditions: tuple[tuple[str, str], ...], scored: _Scored,
            base: float) -> RichSubgroup:
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
