"""Check a release without the data, aggregate it in the engine, and noise the aggregate.

A release runs in three steps, so that a session can charge its budget *between* the free
checks and the first read of a private row (the privacy contract in ``docs/privacy.md``):

1. :func:`check_parts` checks everything that does not depend on the data, from the schema
   and the public parameters alone: columns and types, the user-id column not used as a key,
   64-bit headroom of every sum (:data:`ethica.data._bounding.MAX_UNITS_PER_ROW` grid units
   per row), grid sizes, the budget kind a query needs, and every noise parameter. A refusal
   here costs nothing and depends on nothing private.
2. :func:`aggregate_parts` reads the data: one engine query per batch of cell statistics, one
   binned query per histogram/quantile/bounds part, with contribution bounding pushed down
   (:func:`ethica.data._bounding.bounded_aggregate`). It returns the exact, noise-free integer
   :class:`Aggregates`. After step 1 passed it is *total*: every sum fits 64-bit integers,
   bin indices are 32-bit, NULL and NaN are both absent, so no data-dependent error is raised
   (beyond the engine failing; ``nulls="error"`` refuses a nullable user column from its type).
3. :func:`release_from_aggregates` draws the noise (exact samplers) and builds the
   :class:`ReleasedTable` s; it reads no data and may be called many times on one aggregate
   (the empirical privacy auditor re-draws noise this way).

:func:`evaluate_parts` is steps 2 and 3. Nothing here charges a budget.

What an interval covers. Values are clamped to ``[lower, upper]`` and rounded to a grid of
``step`` by *unbiased randomised rounding* in the engine (:mod:`ethica.data._bounding`): a
row adds ``floor(r)`` or ``floor(r) + 1`` units, ``r = value / step``, with expectation
exactly ``r``, so the released sums, means and variances are not biased by the grid (with
round-to-nearest, values below half a step all rounded to 0, and the intervals of their sums
never covered). A released interval covers, at the stated confidence, the DP noise around
the bounded, clamped, grid-rounded statistic. It does *not* cover: rows dropped by user-level
caps (``max_groups_per_user``, ``max_rows_per_group``), the effect of clamping, or the
rounding's own mean-zero error (standard deviation at most ``step * sqrt(n) / 2`` over ``n``
rows). How many rows the caps dropped and how many values were clamped depend on the data
and are *not released* by default (each table's ``notes`` says so). On request
(``bounding_budget``, :meth:`ethica.privacy.Session.evaluate` ``bounding_share=``) a share of
the release's budget buys a *bounding report*, computed in the same engine queries: the noisy
number of users who lost rows to the caps (user-level; L1 sensitivity 1: a user is capped or
not, and other users' kept rows do not depend on it; the number of dropped *rows* has no
bound and is never released) and, per measure column and bounds, the noisy numbers of kept
values below ``lower`` and above ``upper`` (one vector of two counts; L1 sensitivity ``k m``
under user-level bounding, ``m`` for a batch without group keys, 1 under ``Rows``), each
with its exact interval (:func:`bounding_mechanisms`, :class:`BoundingCounts`). Cells of
private keys are released only if they pass DP partition selection, so their intervals hold
conditionally on that selection, not unconditionally.
"""

from __future__ import annotations

import datetime
import math
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Any

import numpy as np
import pandas as pd

from ethica._exceptions import InvalidParameterError, PrivacyWarning, SchemaError
from ethica.data import resolve_table
from ethica.data._bins import MAX_EDGES, bin_labels
from ethica.data._bounding import (
    COUNT,
    ClampCount,
    ClampedSum,
    Contribution,
    bounded_aggregate,
    check_aggregate,
)
from ethica.privacy.budget._budgets import ZCDP, ApproxDP, Budget, PureDP
from ethica.privacy.noise._selection import exponential_mechanism
from ethica.privacy.release._cells import (
    CellStatistic,
    Component,
    NoisyComponent,
    combine,
    noise_vector,
    share,
    spend,
)
from ethica.privacy.release._noise import Noise, noise_for
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
from ethica.privacy.release._sensitivity import (
    PrivacyUnit,
    Rows,
    Sensitivity,
    UserLevel,
    cell_sensitivity,
    rank_utility_sensitivity,
)

__all__ = [
    "Aggregates",
    "BoundingCounts",
    "Clamp",
    "Part",
    "PartAggregate",
    "QuantileSelection",
    "aggregate_parts",
    "bounding_mechanisms",
    "check_parts",
    "evaluate_parts",
    "numeric_columns",
    "quantile_selections",
    "release_from_aggregates",
    "report_entry",
]

CellQuery = Count | Sum | Mean | Variance
BinnedQuery = Histogram | Quantiles | BoundsEstimate
_NAN = float("nan")


@dataclass(frozen=True)
class Part:
    """One query of a release with its share of the budget."""

    name: str
    query: Any
    budget: Budget


@dataclass(frozen=True)
class PartAggregate:
    """The exact, noise-free integer aggregate one part is released from.

    Attributes
    ----------
    keys
        One key tuple per cell, in release order (cell statistics: the group keys; binned
        parts: the bin index ``(0,), (1,), ...``).
    components
        The integer vectors to noise, each with its one-row bound ``per_row`` (``B``, in grid
        units, from :meth:`ethica.data._bounding.ClampedSum.per_row`) and grid ``step``.
        Names: ``n`` (a count), ``s`` (a clamped sum), ``q`` (a sum of squares).
    grouped, finest
        Whether the part has several cells, and whether they are the cells contribution
        bounding ran on (else a coarser marginal): they select the sensitivity
        (:func:`ethica.privacy.release._sensitivity.cell_sensitivity`).
    """

    keys: tuple[tuple[object, ...], ...]
    components: tuple[Component, ...]
    grouped: bool
    finest: bool


@dataclass(frozen=True)
class Clamp:
    """A measure column with its public clamping bounds (one pair of clamp counts)."""

    column: str
    lower: float
    upper: float

    def label(self) -> str:
        """``"x in [0, 10]"``."""
        return f"{self.column} in [{self.lower:g}, {self.upper:g}]"


@dataclass(frozen=True)
class BoundingCounts:
    """The exact, noise-free bounding counts of one engine query (a bounding report's input).

    Attributes
    ----------
    parts
        Indexes of the parts this engine query serves (all cell statistics share one).
    users_capped
        Users with at least one row dropped by ``max_groups_per_user`` or
        ``max_rows_per_group`` (``None`` under ``Rows``: nothing is capped).
    clamped
        Per :class:`Clamp`: kept present values below ``lower`` and above ``upper``.
    """

    parts: tuple[int, ...]
    users_capped: int | None
    clamped: tuple[tuple[Clamp, int, int], ...]


@dataclass(frozen=True)
class Aggregates:
    """What the engine returned for a list of parts: one :class:`PartAggregate` per part, in
    the parts' order, and (when a bounding report was asked for) one :class:`BoundingCounts`
    per engine query. Deterministic given the bounding's row sampling and rounding draws;
    only :func:`release_from_aggregates` adds noise."""

    parts: tuple[PartAggregate, ...]
    bounding: tuple[BoundingCounts, ...] = ()


@dataclass(frozen=True)
class _Plan:
    """A part's components before the data: (name, aggregate column, ``B``, step)."""

    components: tuple[tuple[str, str, Fraction, float], ...]
    grouped: bool
    finest: bool


def _contribution(unit: PrivacyUnit) -> Contribution | None:
    if isinstance(unit, Rows):
        return None
    return Contribution(
        unit.column, unit.max_groups_per_user, unit.max_rows_per_group, unit.nulls == "drop"
    )


# --------------------------------------------------------------------- free checks
def check_parts(
    source: object,
    parts: Sequence[Part],
    unit: PrivacyUnit,
    *,
    confidence: float = 0.95,
    bounding_budget: Budget | None = None,
) -> None:
    """Check ``parts`` against the schema, the unit and the budgets without reading a row.

    Free, before any charge: a refusal here depends on nothing private. Warns
    (:class:`~ethica._exceptions.PrivacyWarning`) when a budget is so large that the noise
    and the intervals at ``confidence`` are zero-width: the release is then exact.

    Raises
    ------
    SchemaError
        A column is missing or not numeric, or a query groups by the user-id column.
    InvalidParameterError
        A step so fine that a sum could overflow 64-bit integers, a grid too large, private
        keys without a delta, or a noise parameter beyond what the exact samplers draw
        (also for a bounding report's counts, when ``bounding_budget`` is given).
    """
    plans = _validate(resolve_table(source), parts, unit)
    if bounding_budget is not None:
        _report_noises(_report_plan(parts, unit), bounding_budget)
    for part, plan in zip(parts, plans, strict=True):
        level = 1 - (1 - confidence) / len(plan.components)
        for noise in _noises(part, plan, unit):
            if noise is not None and noise.half_width(level) == 0:
                warnings.warn(
                    f"{part.name!r} spends {part.budget}: its {noise.mechanism} noise "
                    f"({noise.parameter_name} {float(noise.parameter):.3g}) is almost always 0, "
                    "so the release is exact and its intervals have zero width; this budget "
                    "protects no one. Spend a much smaller budget.",
                    PrivacyWarning,
                    stacklevel=2,
                )
                break


def _validate(table: Any, parts: Sequence[Part], unit: PrivacyUnit) -> list[_Plan]:
    contribution = _contribution(unit)
    plans = _plans(parts, unit)
    for index, part in enumerate(parts):
        query = part.query
        keys = list(query.by) if isinstance(query, CellQuery) else [query.column]
        if isinstance(unit, UserLevel) and unit.column in keys:
            raise SchemaError(
                f"{query.describe()} groups by the user-id column {unit.column!r}: that would "
                "release one cell per user. Group by another column, or count users with "
                f"Count() under UserLevel({unit.column!r}, max_rows_per_group=1)."
            )
        if isinstance(query, CellQuery):
            check_aggregate(table, by=keys, sums=_sums_for(index, query), contribution=contribution)
            _check_key_types(table, query)
            if query.private_keys and not isinstance(part.budget, ApproxDP):
                raise InvalidParameterError(
                    f"{query.describe()} has private keys (by={keys} without keys=), which "
                    "needs DP partition selection and so a delta: use an ApproxDP(epsilon, "
                    "delta) budget, or give the public key set with keys=."
                )
        else:
            edges = _edges(query)
            if len(edges) > MAX_EDGES:
                raise InvalidParameterError(
                    f"{query.describe()} has {len(edges) + 1} bins, more than the "
                    f"{MAX_EDGES + 1} ethica bins in the engine; use a coarser grid."
                )
            check_aggregate(table, by=keys, bins={query.column: edges}, contribution=contribution)
        _noises(part, plans[index], unit)  # raises on a noise parameter out of range
    return plans


_INT64 = (-(2**63), 2**63 - 1)


def _check_key_types(table: Any, query: CellQuery) -> None:
    """Public keys must have their column's type (free): a key of another type would match no
    row (a silent zero with an interval claiming to cover it) or fail in the engine after the
    charge."""
    if query.keys is None:
        return
    for position, column in enumerate(query.by):
        dtype = table[column].type()
        for key in {k[position] for k in query.keys}:
            if not _fits(key, dtype):
                raise InvalidParameterError(
                    f"{query.describe()}: key {key!r} ({type(key).__name__}) does not fit column "
                    f"{column!r} of type {dtype}; give keys of the column's type"
                    + (
                        " (a CSV read for a release keeps every column as the text written: "
                        "give keys as strings)."
                        if dtype.is_string()
                        else "."
                    )
                )


def _fits(key: object, dtype: Any) -> bool:
    if key is None:
        return False
    if dtype.is_string():
        return isinstance(key, str)
    if dtype.is_boolean():
        return isinstance(key, bool)
    if dtype.is_integer():
        return isinstance(key, int) and not isinstance(key, bool) and _INT64[0] <= key <= _INT64[1]
    if dtype.is_floating() or dtype.is_decimal():
        return isinstance(key, int | float) and not isinstance(key, bool)
    if dtype.is_temporal():
        return isinstance(key, datetime.date | datetime.datetime | pd.Timestamp)
    return True  # other types (decimal-like, structs): the engine's own comparison decides


def numeric_columns(queries: Iterable[object]) -> list[str]:
    """The columns ``queries`` read as numbers (measures and binned columns)."""
    columns = (getattr(q, "column", None) for q in queries if not isinstance(q, Count))
    return list(dict.fromkeys(c for c in columns if isinstance(c, str)))


def _rough(value: Fraction) -> str:
    """``value`` to three significant digits, also beyond a float's range (``~1e+400``)."""
    try:
        return f"{float(value):.3g}"
    except OverflowError:
        return f"~1e+{len(str(value.numerator // value.denominator)) - 1}"


def _checked(noise: Noise, what: str, budget: Budget) -> Noise:
    limit = noise.max_parameter
    if noise.parameter > limit:
        raise InvalidParameterError(
            f"{what} with {budget} needs {noise.mechanism} noise of "
            f"{noise.parameter_name} {_rough(noise.parameter)}, beyond the largest the "
            f"exact samplers draw ({_rough(limit)}): spend a larger budget, or use a "
            "coarser step or tighter bounds."
        )
    return noise


def _noises(part: Part, plan: _Plan, unit: PrivacyUnit) -> list[Noise | None]:
    """The noise of each component (``None`` for the exponential mechanism), checked."""
    if isinstance(part.query, Quantiles):
        epsilon = selection_epsilon(part.budget)
        if epsilon <= 0:
            raise InvalidParameterError(
                f"{part.query.describe()} gets {part.budget}, too small a budget for the "
                "exponential mechanism; spend more on it."
            )
        return [None]
    each = share(part.budget, Fraction(1, len(plan.components)))
    out: list[Noise | None] = []
    for _, _, per_row, _ in plan.components:
        sensitivity = cell_sensitivity(unit, per_row, grouped=plan.grouped, finest=plan.finest)
        out.append(_checked(noise_for(sensitivity, each), part.query.describe(), part.budget))
    return out


def _edges(query: BinnedQuery) -> Sequence[float]:
    return query.edges if isinstance(query, Histogram) else query.grid


def _sums_for(index: int, query: CellQuery) -> list[ClampedSum]:
    if isinstance(query, Count):
        return []
    lo, hi = query.bounds
    step = query.step
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


def _plans(parts: Sequence[Part], unit: PrivacyUnit) -> list[_Plan]:
    """Each part's components and sensitivity shape, from the public parameters alone."""
    by = _finest_keys(parts)
    plans = []
    count = ("n", COUNT, Fraction(1), 1.0)
    for index, part in enumerate(parts):
        query = part.query
        if not isinstance(query, CellQuery):
            plans.append(_Plan((count,), grouped=True, finest=True))
            continue
        sums = {s.name[0]: s for s in _sums_for(index, query)}
        parts_of = [(name, s.name, s.per_row(), s.step) for name, s in sums.items()]
        if isinstance(query, Count) or (isinstance(query, Sum) and query.private_keys):
            parts_of.append(count)
        finest = set(query.by) == set(by)
        plans.append(_Plan(tuple(parts_of), grouped=bool(query.by), finest=finest))
    return plans


def _finest_keys(parts: Sequence[Part]) -> list[str]:
    """The key columns contribution bounding runs on: the union over the cell parts."""
    return list(
        dict.fromkeys(c for p in parts if isinstance(p.query, CellQuery) for c in p.query.by)
    )


# ------------------------------------------------------------------- the engine
def aggregate_parts(
    source: object, parts: Sequence[Part], unit: PrivacyUnit, *, bounding_report: bool = False
) -> Aggregates:
    """The exact integer aggregates of ``parts`` (reads the data; draws no noise).

    Checks the parts first (as :func:`check_parts`, without warnings), then runs one bounded
    engine query for all cell statistics and one binned query per histogram, quantile or
    bounds part. With ``bounding_report``, the same queries also return the exact
    :class:`BoundingCounts` (users capped, values clamped) of each engine query.
    """
    plans = _validate(resolve_table(source), parts, unit)
    report = {g.parts: g for g in _report_plan(parts, unit)} if bounding_report else {}
    bounding: list[BoundingCounts] = []
    out: dict[int, PartAggregate] = {}
    cell_index = [i for i, p in enumerate(parts) if isinstance(p.query, CellQuery)]
    if cell_index:
        by = _finest_keys(parts)
        sums = [s for i in cell_index for s in _sums_for(i, parts[i].query)]
        group = report.get(tuple(cell_index))
        clamps = _clamp_counts(group.clamps) if group is not None else []
        capped = _CAPPED if group is not None and group.capped is not None else None
        agg = bounded_aggregate(
            source,
            by=by,
            key_filter=_key_filter([parts[i] for i in cell_index], by, unit),
            sums=sums,
            contribution=_contribution(unit),
            clamp_counts=clamps,
            capped_users=capped,
        )
        if group is not None:
            bounding.append(_bounding_counts(group, agg, capped))
            agg = agg.drop(columns=[c.name for c in clamps] + [capped] * (capped is not None))
        metrics = [COUNT, *(s.name for s in sums)]
        for i in cell_index:
            keys, cells = _marginal(agg, parts[i].query, metrics)
            out[i] = _part_aggregate(plans[i], keys, cells)
    for i, part in enumerate(parts):
        if not isinstance(part.query, CellQuery):
            edges = _edges(part.query)
            group = report.get((i,))
            counts, users_capped = _binned_counts(
                source, part.query.column, edges, unit, capped=group is not None
            )
            if group is not None:
                bounding.append(BoundingCounts(group.parts, users_capped, ()))
            keys = [(j,) for j in range(len(edges) + 1)]
            out[i] = _part_aggregate(plans[i], keys, pd.DataFrame({COUNT: counts}))
    return Aggregates(tuple(out[i] for i in range(len(parts))), tuple(bounding))


def _part_aggregate(
    plan: _Plan, keys: Sequence[tuple[object, ...]], cells: pd.DataFrame
) -> PartAggregate:
    components = tuple(
        Component(
            name,
            np.asarray(cells[column].to_numpy(dtype=np.int64), dtype=np.int64),
            per_row,
            step,
        )
        for name, column, per_row, step in plan.components
    )
    return PartAggregate(tuple(keys), components, plan.grouped, plan.finest)


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
            keys = q.keys
            if column not in q.by or keys is None:
                break
            i = q.by.index(column)
            allowed.update(k[i] for k in keys)
        else:
            out[column] = sorted(allowed, key=repr)
    return out


def _marginal(
    agg: pd.DataFrame, query: CellQuery, metrics: Sequence[str]
) -> tuple[list[tuple[object, ...]], pd.DataFrame]:
    """The query's cells (keys and metric sums) from the finest aggregate."""
    by = list(query.by)
    if not by:
        return [()], agg[list(metrics)].sum().to_frame().T
    if len(agg.columns) == len(by) + len(metrics):  # the finest table: cells are unique
        grouped = agg.set_index(by)[list(metrics)].sort_index()
    else:
        grouped = agg.groupby(by, dropna=False, sort=True)[list(metrics)].sum()
    keys = query.keys
    if keys is not None:
        index = (
            pd.MultiIndex.from_tuples(keys, names=by)
            if len(by) > 1
            else pd.Index([k[0] for k in keys], name=by[0])
        )
        grouped = grouped.reindex(index, fill_value=0)
    found = [k if isinstance(k, tuple) else (k,) for k in grouped.index.tolist()]
    return [tuple(plain_value(v) for v in k) for k in found], grouped.reset_index(drop=True)


def _binned_counts(
    source: object, column: str, edges: Sequence[float], unit: PrivacyUnit, *, capped: bool
) -> tuple[np.ndarray[Any, np.dtype[np.int64]], int | None]:
    """Bounded counts of ``column`` in the ``len(edges) + 1`` bins cut at ``edges`` (no NULLs),
    and, with ``capped``, the number of users the caps dropped rows of (same query)."""
    agg = bounded_aggregate(
        source,
        by=[column],
        bins={column: edges},
        contribution=_contribution(unit),
        capped_users=_CAPPED if capped else None,
    )
    counts = np.zeros(len(edges) + 1, dtype=np.int64)
    for index, n in zip(agg[column], agg[COUNT], strict=True):
        if index is not None and not pd.isna(index):
            counts[int(index)] += int(n)
    return counts, (int(agg[_CAPPED].sum()) if capped else None)


# --------------------------------------------------------------------- the noise
def release_from_aggregates(
    aggregates: Aggregates,
    parts: Sequence[Part],
    unit: PrivacyUnit,
    confidence: float,
    *,
    bounding_budget: Budget | None = None,
) -> list[ReleasedTable]:
    """Released tables for ``parts`` from their exact aggregates (draws noise; reads no data).

    Each call draws fresh noise from the OS CSPRNG; calling it many times on one
    :class:`Aggregates` samples the mechanism's output distribution on that data. With
    ``bounding_budget`` (and aggregates computed with ``bounding_report=True``), that budget
    is spent on the bounding report, split equally over its noisy vectors
    (:func:`bounding_mechanisms`), and each table's ``notes`` carries the report of its engine
    query; the parts' own budgets are untouched (the caller gives them the rest).
    """
    tables = _release_tables(aggregates, parts, unit, confidence)
    if bounding_budget is None:
        return tables
    return _with_report(tables, aggregates, parts, unit, confidence, bounding_budget)


def _release_tables(
    aggregates: Aggregates, parts: Sequence[Part], unit: PrivacyUnit, confidence: float
) -> list[ReleasedTable]:
    out = []
    for part, agg in zip(parts, aggregates.parts, strict=True):
        query = part.query
        if isinstance(query, CellQuery):
            out.append(_cell_table(part, agg, unit, confidence))
        elif isinstance(query, Histogram):
            out.append(_histogram(part, agg, unit, confidence))
        elif isinstance(query, Quantiles):
            out.append(_quantiles(part, agg, unit))
        else:
            out.append(_bounds_estimate(part, agg, unit, confidence))
    return out


def evaluate_parts(
    source: object,
    parts: Sequence[Part],
    unit: PrivacyUnit,
    confidence: float,
    *,
    bounding_budget: Budget | None = None,
) -> list[ReleasedTable]:
    """Released tables for ``parts``, in order: :func:`aggregate_parts` then
    :func:`release_from_aggregates` (noise drawn; nothing charged). ``bounding_budget`` buys a
    bounding report on top of the parts' budgets (the caller charges both)."""
    report = bounding_budget is not None
    aggregates = aggregate_parts(source, parts, unit, bounding_report=report)
    return release_from_aggregates(
        aggregates, parts, unit, confidence, bounding_budget=bounding_budget
    )


def _spend(part: Part, agg: PartAggregate, unit: PrivacyUnit, confidence: float) -> Any:
    return spend(
        agg.components,
        part.budget,
        unit,
        grouped=agg.grouped,
        finest=agg.finest,
        confidence=confidence,
    )


_STATISTIC: dict[type[CellQuery], CellStatistic] = {
    Count: "count",
    Sum: "sum",
    Mean: "mean",
    Variance: "variance",
}


def _bounding_notes(unit: PrivacyUnit) -> dict[str, str]:
    notes = {
        "values_clamped": "not released: how many values the bounds clamped depends on the "
        "data; spend budget on a BoundsEstimate or a Histogram to learn it",
    }
    if isinstance(unit, UserLevel):
        notes["rows_dropped_by_caps"] = (
            "not released: rows beyond max_groups_per_user="
            f"{unit.max_groups_per_user} cells and max_rows_per_group="
            f"{unit.max_rows_per_group} rows per user are dropped; how many depends on the data"
        )
        if unit.nulls == "drop":
            notes["rows_without_user"] = (
                "dropped before bounding (nulls='drop'); how many is not released"
            )
    return notes


def _cell_table(
    part: Part, agg: PartAggregate, unit: PrivacyUnit, confidence: float
) -> ReleasedTable:
    noisy: list[NoisyComponent] = _spend(part, agg, unit, confidence)
    query = part.query
    statistic = _STATISTIC[type(query)]
    lo, hi = query.bounds if not isinstance(query, Count) else (0.0, 0.0)
    values, low, high = combine(statistic, noisy, lo, hi)
    what = "row count" if statistic == "count" else f"{statistic} of {query.column}"
    covers = f"the DP noise around the exact {what} of the bounded data"
    if not isinstance(query, Count):
        covers += (
            f" (values clamped to [{lo:g}, {hi:g}], rounded to multiples of {query.step:g} by "
            "unbiased randomised rounding)"
        )
    covers += (
        "; it does not cover the rows dropped by contribution caps, the effect of clamping"
        + (", or the rounding's mean-zero error (sd at most step * sqrt(n) / 2 over n rows)")
        * (not isinstance(query, Count))
    )
    notes: dict[str, Any] = {"interval": covers, **_bounding_notes(unit)}
    if not isinstance(query, Count):
        notes["rounding"] = (
            f"unbiased randomised rounding to multiples of {query.step!r} (one uniform draw per "
            "row in the engine)"
        )
    mask = np.ones(len(agg.keys), dtype=bool)
    if query.private_keys:
        mask, selection = _partition_selection(part, noisy, unit, agg.finest)
        notes.update(selection)
    if isinstance(part.budget, ApproxDP) and not query.private_keys:
        notes["delta"] = "unused: public keys need no delta"
    named = {c.name: c for c in noisy}
    main = named["n"] if statistic == "count" else named["s"]
    return ReleasedTable(
        name=part.name,
        statistic=statistic,
        by=query.by,
        keys=tuple(k for k, keep in zip(agg.keys, mask, strict=True) if keep),
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
    assert isinstance(budget, ApproxDP)  # checked by check_parts, before any data
    count = next(c for c in noisy if c.name == "n")
    k = unit.max_groups_per_user if isinstance(unit, UserLevel) else 1
    m = unit.max_rows_per_group if isinstance(unit, UserLevel) else 1
    linf = m if finest else k * m
    threshold = laplace_threshold(count.noise.parameter, budget.delta, k, linf)
    mask = select_partitions(count.noisy, threshold)
    return mask, {
        "partition_selection": "Laplace threshold",
        "threshold": threshold,
        "selection": "cells are released only if their noisy count reaches the threshold, so "
        "each interval holds conditionally on its cell being selected (a cell whose noise was "
        "large is likelier to pass); cells not selected are not reported",
    }


# ------------------------------------------------------------ histograms, quantiles
def _histogram(
    part: Part, agg: PartAggregate, unit: PrivacyUnit, confidence: float
) -> ReleasedTable:
    query: Histogram = part.query
    c: NoisyComponent = _spend(part, agg, unit, confidence)[0]
    labels = bin_labels(query.edges)
    return ReleasedTable(
        name=part.name,
        statistic="histogram",
        by=(query.column,),
        keys=tuple((label,) for label in labels),
        values=tuple(float(v) for v in c.value()),
        ci_low=tuple(float(v) for v in c.low()),
        ci_high=tuple(float(v) for v in c.high()),
        variances=tuple([c.noise.variance()] * len(labels)),
        mechanism=c.noise.mechanism,
        noise={c.noise.parameter_name: str(c.noise.parameter)},
        sensitivity=c.sensitivity,
        budget=part.budget,
        notes={
            "interval": "the DP noise around the exact count of the bounded data in each bin "
            "(NULL and NaN values in no bin); it does not cover rows dropped by contribution caps",
            **_bounding_notes(unit),
        },
    )


def _bounds_estimate(
    part: Part, agg: PartAggregate, unit: PrivacyUnit, confidence: float
) -> ReleasedTable:
    """Bounds from a noisy histogram over the public grid ``0, ±2**j`` (post-processing).

    ``lower`` is the grid point below the first bin where the noisy cumulative count reaches
    ``q`` of the noisy total, ``upper`` the grid point above the bin where it reaches
    ``1 - q`` (a bin-based estimate in the spirit of Google's ApproximateBounds).
    """
    query: BoundsEstimate = part.query
    grid = query.grid
    c: NoisyComponent = _spend(part, agg, unit, confidence)[0]
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
        notes={"q": query.q, "grid": f"0, ±2**j for j in [-10, {query.max_power}]"},
    )


def selection_epsilon(budget: Budget) -> Fraction:
    """The epsilon of a pure-DP selection that fits ``budget`` (zCDP: ``epsilon²/2 <= rho``)."""
    if isinstance(budget, PureDP | ApproxDP):
        return budget.epsilon
    assert isinstance(budget, ZCDP)
    grid = 1 << 40
    scaled = 2 * budget.rho * grid * grid  # epsilon = floor(sqrt(2 rho) 2**40) / 2**40
    return Fraction(math.isqrt(scaled.numerator // scaled.denominator), grid)


@dataclass(frozen=True)
class QuantileSelection:
    """One quantile's exponential mechanism: its utilities over the grid, epsilon and the
    utilities' sensitivity."""

    q: float
    utilities: list[Fraction]
    epsilon: Fraction
    sensitivity: Fraction


def quantile_selections(
    part: Part, agg: PartAggregate, unit: PrivacyUnit
) -> list[QuantileSelection]:
    """Each quantile ``q`` of ``part`` as the exponential mechanism runs it: utility
    ``u(c) = -|#{x < c} - q n|`` over the grid (Smith 2011), ``epsilon`` the part's selection
    epsilon split evenly, sensitivity ``max(q, 1 - q)`` times what one person adds
    (:func:`~ethica.privacy.release._sensitivity.rank_utility_sensitivity`)."""
    query: Quantiles = part.query
    (counts,) = agg.components
    ranks = np.cumsum(counts.values)[:-1]  # ranks[j] = #{x < grid[j]}
    total = int(counts.values.sum())
    epsilon = selection_epsilon(part.budget) / len(query.qs)
    out = []
    for q in query.qs:
        level = Fraction(q)
        target = level * total
        out.append(
            QuantileSelection(
                q=q,
                utilities=[-abs(int(r) - target) for r in ranks],
                epsilon=epsilon,
                sensitivity=rank_utility_sensitivity(unit, counts.per_row, level),
            )
        )
    return out


def _quantiles(part: Part, agg: PartAggregate, unit: PrivacyUnit) -> ReleasedTable:
    """Each quantile by the exponential mechanism (:func:`quantile_selections`)."""
    query: Quantiles = part.query
    grid = query.grid
    selections = quantile_selections(part, agg, unit)
    values = [
        grid[exponential_mechanism(s.utilities, s.epsilon, s.sensitivity)] for s in selections
    ]
    epsilon = selections[0].epsilon
    widest = max(s.sensitivity for s in selections)
    rank_error = 2 * float(widest) * (math.log(len(grid)) + math.log(20)) / float(epsilon)
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
        sensitivity={f"utility, q={s.q}": str(s.sensitivity) for s in selections},
        budget=part.budget,
        notes={
            "candidates": len(grid),
            "rank_error_95": rank_error,
            "interval": "none in value. The error is bounded in rank, for each quantile "
            "separately (McSherry & Talwar 2007, Thm. 6): with probability at least 95%, the "
            "released candidate c has |#{x < c} - q n| at most rank_error_95 more than the "
            "best candidate on the grid has, where n and the ranks count the bounded data "
            "(after contribution caps; NULL and NaN values excluded). The best candidate "
            "itself may be far from the true quantile when the grid is coarse or the values "
            "lie outside [lower, upper]",
            **_bounding_notes(unit),
        },
    )


# ------------------------------------------------------------------ bounding report
_CAPPED = "__capped_users"
_ONE = Sensitivity(Fraction(1), Fraction(1))


@dataclass(frozen=True)
class _ReportGroup:
    """What one engine query's bounding report releases, from public parameters alone."""

    parts: tuple[int, ...]
    capped: Sensitivity | None
    clamps: tuple[Clamp, ...]
    clamp_sensitivity: Sensitivity


def _report_plan(parts: Sequence[Part], unit: PrivacyUnit) -> list[_ReportGroup]:
    """The bounding report's noisy vectors per engine query (no data read).

    Sensitivities (add or remove one user, or one row under ``Rows``): ``users_capped`` is a
    sum of one 0/1 indicator per user, and which rows a user keeps depends on that user's rows
    only (:mod:`ethica.data._bounding`), so ``Δ1 = Δ2 = 1``. A clamp pair ``(below, above)``
    counts kept rows, each on at most one side: a user keeps at most ``r`` rows (``r = k m``,
    or ``m`` when the batch has no group keys, a single cell; ``r = 1`` for a row), so
    ``|Δbelow| + |Δabove| <= r`` and ``Δbelow² + Δabove² <= r²``.
    """
    user = isinstance(unit, UserLevel)
    groups = []
    cell_index = tuple(i for i, p in enumerate(parts) if isinstance(p.query, CellQuery))
    if cell_index:
        clamps = tuple(
            dict.fromkeys(
                Clamp(q.column, *q.bounds)
                for q in (parts[i].query for i in cell_index)
                if not isinstance(q, Count)
            )
        )
        rows = 1
        if isinstance(unit, UserLevel):
            k = unit.max_groups_per_user if _finest_keys(parts) else 1
            rows = k * unit.max_rows_per_group
        if user or clamps:
            groups.append(
                _ReportGroup(
                    cell_index,
                    _ONE if user else None,
                    clamps,
                    Sensitivity(Fraction(rows), Fraction(rows * rows)),
                )
            )
    if user:
        groups.extend(
            _ReportGroup((i,), _ONE, (), _ONE)
            for i, p in enumerate(parts)
            if not isinstance(p.query, CellQuery)
        )
    return groups


def bounding_mechanisms(parts: Sequence[Part], unit: PrivacyUnit) -> int:
    """How many noisy vectors a bounding report of ``parts`` draws (0: nothing to report, as
    for counts under ``Rows``, which neither cap nor clamp). Public: reads no data."""
    return sum((g.capped is not None) + len(g.clamps) for g in _report_plan(parts, unit))


def _report_noises(
    groups: Sequence[_ReportGroup], budget: Budget
) -> list[tuple[Noise | None, list[Noise]]]:
    """Each group's noise for ``users_capped`` and for each clamp pair, checked (free)."""
    total = sum((g.capped is not None) + len(g.clamps) for g in groups)
    if total == 0:
        return []
    each = share(budget, Fraction(1, total))
    what = "the bounding report"
    return [
        (
            _checked(noise_for(g.capped, each), what, each) if g.capped is not None else None,
            [_checked(noise_for(g.clamp_sensitivity, each), what, each) for _ in g.clamps],
        )
        for g in groups
    ]


def _clamp_counts(clamps: Sequence[Clamp]) -> list[ClampCount]:
    out = []
    for j, c in enumerate(clamps):
        out.append(ClampCount(f"__clamp{j}_below", c.column, c.lower, "below"))
        out.append(ClampCount(f"__clamp{j}_above", c.column, c.upper, "above"))
    return out


def _bounding_counts(group: _ReportGroup, agg: pd.DataFrame, capped: str | None) -> BoundingCounts:
    """Totals over all cells of the engine query (exact Python integers)."""
    clamped = tuple(
        (c, int(agg[f"__clamp{j}_below"].sum()), int(agg[f"__clamp{j}_above"].sum()))
        for j, c in enumerate(group.clamps)
    )
    users = int(agg[capped].sum()) if capped is not None else None
    return BoundingCounts(group.parts, users, clamped)


def report_entry(
    noisy: NoisyComponent, budget: Budget, confidence: float, what: str
) -> dict[str, Any]:
    """One noisy count (or a ``(below, above)`` pair) of a bounding report, as JSON: what it
    counts, its noise, sensitivity and budget, and each value with its exact interval."""
    values = [int(v) for v in noisy.noisy.tolist()]
    entry: dict[str, Any] = {
        "counts": what,
        "mechanism": noisy.noise.mechanism,
        "noise": {noisy.noise.parameter_name: str(noisy.noise.parameter)},
        "sensitivity": noisy.sensitivity,
        "budget": budget.to_dict(),
        "confidence": confidence,
    }
    if len(values) == 1:
        entry |= {
            "value": values[0],
            "ci_low": values[0] - noisy.half_width,
            "ci_high": values[0] + noisy.half_width,
        }
    else:
        for side, v in zip(("below", "above"), values, strict=True):
            entry[side] = {
                "value": v,
                "ci_low": v - noisy.half_width,
                "ci_high": v + noisy.half_width,
            }
    return entry


def _with_report(
    tables: list[ReleasedTable],
    aggregates: Aggregates,
    parts: Sequence[Part],
    unit: PrivacyUnit,
    confidence: float,
    budget: Budget,
) -> list[ReleasedTable]:
    """Noise the bounding counts and put each engine query's report into its tables' notes."""
    groups = _report_plan(parts, unit)
    _report_noises(groups, budget)  # checked for free before the charge; again here
    total = bounding_mechanisms(parts, unit)
    if total == 0:
        return tables
    each = share(budget, Fraction(1, total))
    counted = {c.parts: c for c in aggregates.bounding}
    out = list(tables)
    for group in groups:
        counts = counted.get(group.parts)
        if counts is None:
            raise InvalidParameterError(
                "a bounding report needs aggregates computed with bounding_report=True."
            )
        users: dict[str, Any] | None = None
        if group.capped is not None and counts.users_capped is not None:
            component = Component(
                "users_capped", np.array([counts.users_capped], np.int64), _ONE.l1
            )
            noisy = noise_vector(component, group.capped, each, confidence)
            users = report_entry(
                noisy,
                each,
                confidence,
                "users with at least one row dropped by max_groups_per_user / "
                "max_rows_per_group (the number of dropped rows is not released: one user "
                "could change it without bound)",
            )
        clamped: dict[Clamp, dict[str, Any]] = {}
        for clamp, below, above in counts.clamped:
            component = Component(clamp.label(), np.array([below, above], np.int64), Fraction(1))
            noisy = noise_vector(component, group.clamp_sensitivity, each, confidence)
            clamped[clamp] = report_entry(
                noisy,
                each,
                confidence,
                f"kept values of {clamp.column} below {clamp.lower:g} (clamped up) and above "
                f"{clamp.upper:g} (clamped down); NULL and NaN are not counted",
            )
        shared = [tables[i].name for i in group.parts]
        for i in group.parts:
            out[i] = _report_notes(out[i], parts[i], users, clamped, shared)
    return out


def _report_notes(
    table: ReleasedTable,
    part: Part,
    users: dict[str, Any] | None,
    clamped: dict[Clamp, dict[str, Any]],
    shared: list[str],
) -> ReleasedTable:
    notes = dict(table.notes)
    notes["bounding_report"] = (
        "released under DP from the same engine query as the tables "
        f"{shared}, with its own share of the release's budget (each count's budget below); "
        "totals over every row the query read after bounding (for public keys under Rows, "
        "rows outside the keys too)"
    )
    if users is not None:
        notes["users_capped"] = users
        notes["rows_dropped_by_caps"] = (
            "not released (unbounded sensitivity); users_capped counts the users who lost rows"
        )
    query = part.query
    if isinstance(query, CellQuery) and not isinstance(query, Count):
        notes["values_clamped"] = clamped[Clamp(query.column, *query.bounds)]
    else:
        notes["values_clamped"] = (
            "none: a count reads no values"
            if isinstance(query, Count)
            else "none: binned values are not clamped (values beyond the grid fall in the "
            "outer bins)"
        )
    return replace(table, notes=notes)
