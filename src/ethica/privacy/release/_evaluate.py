"""Run a query against the engine and turn the small aggregate into released tables.

All per-cell statistics of a batch (counts, sums, means, variances) share *one* engine
query: a GROUP BY over the union of their key columns, with contribution bounding (user-level
unit) pushed down (:func:`ethica.data._bounding.bounded_aggregate`). Coarser tables are exact
marginals of that aggregate, computed in Python on the small result, and their sensitivity
accounts for a user's cells merging (:mod:`._sensitivity`). Histograms and quantiles run
one binned GROUP BY each. Nothing here charges a budget: :mod:`._session` does, before any
result leaves.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
import pandas as pd

from ethica._exceptions import InvalidParameterError
from ethica.data import resolve_table
from ethica.data._bins import bin_labels
from ethica.data._bounding import (
    COUNT,
    ClampedSum,
    Contribution,
    bounded_aggregate,
    check_aggregate,
)
from ethica.privacy.budget._budgets import ZCDP, ApproxDP, Budget, PureDP
from ethica.privacy.noise._selection import exponential_mechanism
from ethica.privacy.release._cells import Component, NoisyComponent, combine, spend
from ethica.privacy.release._partition_selection import laplace_threshold, select_partitions
from ethica.privacy.release._queries import (
    BoundsEstimate,
    Count,
    Histogram,
    Mean,
    Quantiles,
    Sum,
    Variance,
)
from ethica.privacy.release._release import ReleasedTable, plain_value
from ethica.privacy.release._sensitivity import PrivacyUnit, Rows, UserLevel

__all__ = ["Part", "check_parts", "evaluate_parts"]

CellQuery = Count | Sum | Mean | Variance
_NAN = float("nan")


@dataclass(frozen=True)
class Part:
    """One query of a release with its share of the budget."""

    name: str
    query: Any
    budget: Budget


def _contribution(unit: PrivacyUnit) -> Contribution | None:
    if isinstance(unit, Rows):
        return None
    return Contribution(
        unit.column, unit.max_groups_per_user, unit.max_rows_per_group, unit.nulls == "drop"
    )


def check_parts(source: object, parts: Sequence[Part], unit: PrivacyUnit) -> None:
    """Check ``parts`` against the schema and the unit without reading a row (free, before
    any charge): the session calls this first, so a refusal here depends on nothing private."""
    table = resolve_table(source)
    contribution = _contribution(unit)
    for index, part in enumerate(parts):
        query = part.query
        if isinstance(query, CellQuery):
            check_aggregate(
                table,
                by=list(query.group_by),
                sums=_sums_for(index, query),
                contribution=contribution,
            )
        else:
            check_aggregate(
                table,
                by=[query.column],
                bins={query.column: _edges(query)},
                contribution=contribution,
            )


def _edges(query: Histogram | Quantiles | BoundsEstimate) -> Sequence[float]:
    return query.edges if isinstance(query, Histogram) else query.grid()


def evaluate_parts(
    source: object, parts: Sequence[Part], unit: PrivacyUnit, confidence: float
) -> list[ReleasedTable]:
    """Released tables for ``parts``, in order (noise drawn; nothing charged)."""
    cell_parts = [p for p in parts if isinstance(p.query, CellQuery)]
    tables: dict[str, ReleasedTable] = {}
    if cell_parts:
        for part, table in zip(
            cell_parts, _cell_tables(source, cell_parts, unit, confidence), strict=True
        ):
            tables[part.name] = table
    for part in parts:
        if isinstance(part.query, Histogram):
            tables[part.name] = _histogram(source, part, unit, confidence)
        elif isinstance(part.query, Quantiles):
            tables[part.name] = _quantiles(source, part, unit)
        elif isinstance(part.query, BoundsEstimate):
            tables[part.name] = _bounds_estimate(source, part, unit, confidence)
    return [tables[p.name] for p in parts]


# ---------------------------------------------------------------- cell statistics
def _sums_for(index: int, query: CellQuery) -> list[ClampedSum]:
    if isinstance(query, Count):
        return []
    lo, hi = query.bounds
    step = query.grid
    if isinstance(query, Sum):
        return [ClampedSum(f"s{index}", query.column, lo, hi, step)]
    present = ClampedSum(f"n{index}", query.column, lo, hi, 1.0, power=0)
    if isinstance(query, Mean):
        return [ClampedSum(f"s{index}", query.column, lo, hi, step), present]
    mid, half = (lo + hi) / 2, (hi - lo) / 2
    return [
        ClampedSum(f"s{index}", query.column, lo, hi, step, shift=mid),
        ClampedSum(f"q{index}", query.column, lo, hi, step * half, shift=mid, power=2),
        present,
    ]


def _key_filter(
    parts: Sequence[Part], by: Sequence[str], unit: PrivacyUnit
) -> dict[str, list[object]]:
    """Columns every query groups by with public keys: under user-level privacy, rows outside
    them are dropped before bounding, so they do not use up a user's ``L0`` quota (row-level
    releases need no filter: cells outside the keys are simply not released)."""
    out: dict[str, list[object]] = {}
    if isinstance(unit, Rows):
        return out
    for column in by:
        allowed: set[object] = set()
        for part in parts:
            q = part.query
            keys = q.key_set
            if column not in q.group_by or keys is None:
                break
            i = q.group_by.index(column)
            allowed.update(k[i] for k in keys)
        else:
            out[column] = sorted(allowed, key=repr)
    return out


def _units(value: float, step: float) -> Fraction:
    return Fraction(abs(round(value / step)))


def _components(index: int, query: CellQuery, cells: pd.DataFrame) -> list[Component]:
    """The noisy parts of a statistic with their one-row bounds ``B`` (grid units)."""

    def ints(column: str) -> np.ndarray[Any, np.dtype[np.int64]]:
        return np.asarray(cells[column].to_numpy(dtype=np.int64), dtype=np.int64)

    count = Component("n", ints(COUNT), Fraction(1))
    if isinstance(query, Count):
        return [count]
    lo, hi = query.bounds
    step = query.grid
    clamped = Component("s", ints(f"s{index}"), max(_units(lo, step), _units(hi, step)), step)
    if isinstance(query, Sum):
        return [clamped, count] if query.private_keys else [clamped]
    present = Component("n", ints(f"n{index}"), Fraction(1))
    if isinstance(query, Mean):
        return [clamped, present]
    half = (hi - lo) / 2  # variance: y = clamp(x) - mid lies in [-half, half]
    centred = Component("s", ints(f"s{index}"), _units(half, step), step)
    squares = Component("q", ints(f"q{index}"), _units(half * half, step * half), step * half)
    return [centred, squares, present]


def _marginal(
    agg: pd.DataFrame, query: CellQuery, metrics: Sequence[str]
) -> tuple[list[tuple[object, ...]], pd.DataFrame]:
    """The query's cells (keys and metric sums) from the finest aggregate."""
    by = list(query.group_by)
    if not by:
        return [()], agg[list(metrics)].sum().to_frame().T
    if len(agg.columns) == len(by) + len(metrics):  # the finest table: cells are unique
        grouped = agg.set_index(by)[list(metrics)].sort_index()
    else:
        grouped = agg.groupby(by, dropna=False, sort=True)[list(metrics)].sum()
    keys = query.key_set
    if keys is not None:
        index = (
            pd.MultiIndex.from_tuples(keys, names=by)
            if len(by) > 1
            else pd.Index([k[0] for k in keys], name=by[0])
        )
        grouped = grouped.reindex(index, fill_value=0)
    found = [k if isinstance(k, tuple) else (k,) for k in grouped.index.tolist()]
    return [tuple(plain_value(v) for v in k) for k in found], grouped.reset_index(drop=True)


def _cell_tables(
    source: object, parts: Sequence[Part], unit: PrivacyUnit, confidence: float
) -> list[ReleasedTable]:
    by = list(dict.fromkeys(c for p in parts for c in p.query.group_by))
    sums = [s for i, p in enumerate(parts) for s in _sums_for(i, p.query)]
    agg = bounded_aggregate(
        source,
        by=by,
        key_filter=_key_filter(parts, by, unit),
        sums=sums,
        contribution=_contribution(unit),
    )
    metrics = [COUNT, *(s.name for s in sums)]
    out = []
    for i, part in enumerate(parts):
        query = part.query
        keys, cells = _marginal(agg, query, metrics)
        finest = set(query.group_by) == set(by)
        noisy = spend(
            _components(i, query, cells),
            part.budget,
            unit,
            grouped=bool(by),
            finest=finest,
            confidence=confidence,
        )
        out.append(_cell_table(part, keys, noisy, unit, finest))
    return out


def _statistic(query: CellQuery) -> str:
    return {Count: "count", Sum: "sum", Mean: "mean", Variance: "variance"}[type(query)]


def _cell_table(
    part: Part,
    keys: list[tuple[object, ...]],
    noisy: list[NoisyComponent],
    unit: PrivacyUnit,
    finest: bool,
) -> ReleasedTable:
    query = part.query
    statistic = _statistic(query)
    lo, hi = query.bounds if not isinstance(query, Count) else (0.0, 0.0)
    values, low, high = combine(statistic, noisy, lo, hi)
    notes: dict[str, Any] = {}
    mask = np.ones(len(keys), dtype=bool)
    if query.private_keys:
        mask, notes = _partition_selection(part, noisy, unit, finest)
    if isinstance(part.budget, ApproxDP) and not query.private_keys:
        notes["delta"] = "unused: public keys need no delta"
    named = {c.name: c for c in noisy}
    main = named["n"] if statistic == "count" else named["s"]
    return ReleasedTable(
        name=part.name,
        statistic=statistic,
        by=query.group_by,
        keys=tuple(k for k, keep in zip(keys, mask, strict=True) if keep),
        values=tuple(float(v) for v in values[mask]),
        ci_low=tuple(float(v) for v in low[mask]),
        ci_high=tuple(float(v) for v in high[mask]),
        variances=tuple([main.noise.variance() * main.step**2] * int(mask.sum())),
        mechanism=noisy[0].noise.mechanism,
        noise={f"{c.name}.{c.noise.parameter_name}": str(c.noise.parameter) for c in noisy},
        sensitivity={f"{c.name}.{k}": v for c in noisy for k, v in c.sensitivity.items()},
        budget=part.budget,
        notes=notes,
    )


def _partition_selection(
    part: Part, noisy: list[NoisyComponent], unit: PrivacyUnit, finest: bool
) -> tuple[np.ndarray[Any, np.dtype[np.bool_]], dict[str, Any]]:
    budget = part.budget
    if not isinstance(budget, ApproxDP):
        raise InvalidParameterError(
            f"{part.query.describe()} has private keys (by={list(part.query.group_by)} without "
            "keys=), which needs DP partition selection and so a delta: use an "
            "ApproxDP(epsilon, delta) budget, or give the public key set with keys=."
        )
    count = next(c for c in noisy if c.name == "n")
    k = unit.max_groups_per_user if isinstance(unit, UserLevel) else 1
    m = unit.max_rows_per_group if isinstance(unit, UserLevel) else 1
    linf = m if finest else k * m
    threshold = laplace_threshold(count.noise.parameter, budget.delta, k, linf)
    mask = select_partitions(count.noisy, threshold)
    return mask, {"partition_selection": "Laplace threshold", "threshold": threshold}


# ------------------------------------------------------------ histograms, quantiles
def _binned_counts(
    source: object, column: str, edges: Sequence[float], unit: PrivacyUnit
) -> np.ndarray[Any, np.dtype[np.int64]]:
    """Bounded counts of ``column`` in the ``len(edges) + 1`` bins cut at ``edges`` (no NULLs)."""
    agg = bounded_aggregate(
        source, by=[column], bins={column: edges}, contribution=_contribution(unit)
    )
    counts = np.zeros(len(edges) + 1, dtype=np.int64)
    for index, n in zip(agg[column], agg[COUNT], strict=True):
        if index is not None and not pd.isna(index):
            counts[int(index)] += int(n)
    return counts


def _noisy_histogram(
    source: object,
    column: str,
    edges: Sequence[float],
    part: Part,
    unit: PrivacyUnit,
    confidence: float,
) -> NoisyComponent:
    counts = _binned_counts(source, column, edges, unit)
    return spend(
        [Component("n", counts, Fraction(1))],
        part.budget,
        unit,
        grouped=True,
        finest=True,
        confidence=confidence,
    )[0]


def _histogram(source: object, part: Part, unit: PrivacyUnit, confidence: float) -> ReleasedTable:
    query: Histogram = part.query
    c = _noisy_histogram(source, query.column, query.edges, part, unit, confidence)
    labels = bin_labels(query.edges)
    return ReleasedTable(
        name=part.name,
        statistic="histogram",
        by=(query.column,),
        keys=tuple((label,) for label in labels),
        values=tuple(c.value().tolist()),
        ci_low=tuple(c.low().tolist()),
        ci_high=tuple(c.high().tolist()),
        variances=tuple([c.noise.variance()] * len(labels)),
        mechanism=c.noise.mechanism,
        noise={c.noise.parameter_name: str(c.noise.parameter)},
        sensitivity=c.sensitivity,
        budget=part.budget,
    )


def _bounds_estimate(
    source: object, part: Part, unit: PrivacyUnit, confidence: float
) -> ReleasedTable:
    """Bounds from a noisy histogram over the public grid ``0, ±2**j`` (post-processing).

    ``lower`` is the grid point below the first bin where the noisy cumulative count reaches
    ``q`` of the noisy total, ``upper`` the grid point above the bin where it reaches
    ``1 - q`` (a bin-based estimate in the spirit of Google's ApproximateBounds).
    """
    query: BoundsEstimate = part.query
    grid = query.grid()
    c = _noisy_histogram(source, query.column, grid, part, unit, confidence)
    noisy = np.maximum(c.noisy, 0).astype(float)
    cumulative = np.cumsum(noisy)
    total = max(cumulative[-1], 1.0)
    first = int(np.searchsorted(cumulative, query.q * total, side="left"))
    last = int(np.searchsorted(cumulative, (1 - query.q) * total, side="left"))
    edges = (-math.inf, *grid, math.inf)
    lower = edges[first] if first > 0 else grid[0]
    upper = edges[last + 1] if last + 1 <= len(grid) else grid[-1]
    return ReleasedTable(
        name=part.name,
        statistic="bounds",
        by=("bound",),
        keys=(("lower",), ("upper",)),
        values=(float(lower), float(upper)),
        ci_low=(_NAN, _NAN),
        ci_high=(_NAN, _NAN),
        variances=(_NAN, _NAN),
        mechanism=c.noise.mechanism + " histogram on a public grid",
        noise={c.noise.parameter_name: str(c.noise.parameter)},
        sensitivity=c.sensitivity,
        budget=part.budget,
        notes={"q": query.q, "grid": "0, ±2**j for j in [-10, max_power]"},
    )


def selection_epsilon(budget: Budget) -> Fraction:
    """The epsilon of a pure-DP selection that fits ``budget`` (zCDP: ``epsilon²/2 <= rho``)."""
    if isinstance(budget, PureDP | ApproxDP):
        return budget.epsilon
    assert isinstance(budget, ZCDP)
    grid = 1 << 40
    scaled = 2 * budget.rho * grid * grid  # epsilon = floor(sqrt(2 rho) 2**40) / 2**40
    return Fraction(math.isqrt(scaled.numerator // scaled.denominator), grid)


def _quantiles(source: object, part: Part, unit: PrivacyUnit) -> ReleasedTable:
    """Each quantile by the exponential mechanism with utility ``-|#{x < c} - q n|``."""
    query: Quantiles = part.query
    grid = query.grid()
    counts = _binned_counts(source, query.column, grid, unit)
    ranks = np.cumsum(counts)[:-1]  # ranks[j] = #{x < grid[j]}
    total = int(counts.sum())
    sensitivity = (
        unit.max_groups_per_user * unit.max_rows_per_group if isinstance(unit, UserLevel) else 1
    )
    epsilon = selection_epsilon(part.budget) / len(query.qs)
    values = []
    for q in query.qs:
        target = Fraction(q) * total
        utilities = [-abs(int(r) - target) for r in ranks]
        values.append(grid[exponential_mechanism(utilities, epsilon, sensitivity)])
    rank_error = 2 * sensitivity * (math.log(len(grid)) + math.log(20)) / float(epsilon)
    n = len(query.qs)
    return ReleasedTable(
        name=part.name,
        statistic="quantile",
        by=("q",),
        keys=tuple((q,) for q in query.qs),
        values=tuple(float(v) for v in values),
        ci_low=tuple([_NAN] * n),
        ci_high=tuple([_NAN] * n),
        variances=tuple([_NAN] * n),
        mechanism="exponential mechanism",
        noise={"epsilon_per_quantile": str(epsilon)},
        sensitivity={"utility": str(sensitivity)},
        budget=part.budget,
        notes={
            "candidates": len(grid),
            "rank_error_95": rank_error,
            "interval": "none in value: the exponential mechanism's error is bounded in rank "
            "(McSherry & Talwar 2007, Thm. 6): with 95% probability the released "
            "candidate's rank is within rank_error_95 of the target rank",
        },
    )
