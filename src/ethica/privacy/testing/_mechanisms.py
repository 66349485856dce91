"""Mechanisms the auditor can run many times: ethica queries, and any Python callable.

A mechanism here turns one data set into ``runs`` independent outputs, each flattened to
named numbers (*features*; an absent feature, e.g. a cell partition selection did not release,
is NaN). Three kinds:

* :class:`QueryMechanism`: an ethica query (or :class:`~ethica.privacy.Batch`) under a privacy
  unit and a budget. The engine runs **once** per data set
  (:func:`ethica.privacy.release._evaluate.aggregate_parts`, exact integers, no noise) and the
  noise is re-drawn from that aggregate by the release's own code
  (:func:`~ethica.privacy.release._evaluate.release_from_aggregates`), for all runs in one
  vectorised call: each run's cells are stacked into one long aggregate, which is exact because
  noise, combination and partition selection act on each cell independently. Quantiles, whose
  exponential mechanism draws one candidate per call, are sampled from the same exact
  rejection sampler (:mod:`ethica.privacy.noise._selection`), keeping every accepted proposal
  (each is an independent exact draw). Under user-level privacy the aggregation is repeated
  (``aggregations`` times) so that the randomised bounding of the neighbour's rows is covered.
* :class:`ReportedQueryMechanism`: the same release with its DP bounding report
  (``Session.evaluate(..., bounding_share=...)``): the queries spend ``1 - bounding_share`` of
  the budget, the report's noisy counts (users capped, values clamped) the rest; both are
  features, so the audit tests the whole release against the whole budget.
* :class:`CallableMechanism`: any ``f(data) -> output`` (a number, an array, a mapping, a
  pandas object or an ethica :class:`~ethica.privacy.Release`), called ``runs`` times. An
  exception is an output too (feature ``raised``): a mechanism that fails on one data set and
  not on its neighbour is distinguishable.
* :class:`VectorisedMechanism`: ``f(data, runs) -> array (runs, k)``, for a mechanism that can
  draw many outputs at once.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Protocol, cast, runtime_checkable

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from ethica._exceptions import InvalidParameterError
from ethica.privacy.budget._budgets import Budget
from ethica.privacy.noise._bernoulli import bernoulli_exp_array
from ethica.privacy.noise._random import uniform_below
from ethica.privacy.noise._selection import _gaps
from ethica.privacy.release._cells import Component, noise_vector, share
from ethica.privacy.release._evaluate import (
    Aggregates,
    Part,
    PartAggregate,
    _report_plan,
    _ReportGroup,
    aggregate_parts,
    bounding_mechanisms,
    check_parts,
    quantile_selections,
    release_from_aggregates,
)
from ethica.privacy.release._queries import BoundsEstimate, Quantiles
from ethica.privacy.release._release import Release, ReleasedTable, plain_value
from ethica.privacy.release._sensitivity import PrivacyUnit, Rows, UserLevel, cell_sensitivity
from ethica.privacy.release._session import _parts

__all__ = [
    "CallableMechanism",
    "Mechanism",
    "QueryMechanism",
    "ReportedQueryMechanism",
    "Samples",
    "VectorisedMechanism",
    "flatten_output",
]

FloatArray = NDArray[np.float64]
RAISED = "raised"
_CHUNK = 20_000


@dataclass(frozen=True)
class Samples:
    """``runs`` outputs of a mechanism on one data set.

    Attributes
    ----------
    features
        Feature name -> one value per run (NaN: absent in that run).
    runs
        Number of runs.
    errors
        Runs that raised.
    """

    features: dict[str, FloatArray]
    runs: int
    errors: int = 0


@runtime_checkable
class Mechanism(Protocol):
    """Anything that draws ``runs`` outputs on a data set."""

    @property
    def name(self) -> str:
        """A label for reports."""
        ...

    def sample(self, data: pd.DataFrame, runs: int) -> Samples:
        """``runs`` independent outputs on ``data``."""
        ...


# ------------------------------------------------------------------ flattening outputs
def _number(value: object, where: str) -> float:
    value = plain_value(value)
    if value is None:
        return math.nan
    if isinstance(value, bool | int | float | Fraction):
        return float(value)
    raise InvalidParameterError(
        f"the mechanism's output {where} is {value!r} ({type(value).__name__}); the auditor "
        "compares numbers: return numbers, arrays, mappings of numbers or an ethica Release."
    )


def _key_label(key: tuple[object, ...]) -> str:
    return ", ".join(repr(plain_value(v)) for v in key)


def flatten_output(output: object, prefix: str = "output") -> dict[str, float]:
    """Named numbers of one output (see the module docstring for what is accepted)."""
    out: dict[str, float] = {}
    if isinstance(output, Release):
        for table in output.tables:
            out.update(flatten_output(table, table.name))
    elif isinstance(output, ReleasedTable):
        for key, value in zip(output.keys, output.values, strict=True):
            out[f"{prefix}[{_key_label(key)}]"] = float(value)
    elif isinstance(output, Mapping):
        for key, value in output.items():
            out.update(flatten_output(value, f"{prefix}[{key!s}]"))
    elif isinstance(output, pd.DataFrame):
        for column in output.columns:
            out.update(flatten_output(output[column], f"{prefix}[{column!s}]"))
    elif isinstance(output, pd.Series):
        for key, value in output.items():
            out[f"{prefix}[{key!s}]"] = _number(value, prefix)
    elif isinstance(output, np.ndarray | list | tuple):
        flat = np.asarray(output, dtype=object).ravel()
        if flat.size == 1 and not isinstance(output, list | tuple):
            out[prefix] = _number(flat[0], prefix)
        else:
            for i, value in enumerate(flat):
                out[f"{prefix}[{i}]"] = _number(value, f"{prefix}[{i}]")
    else:
        out[prefix] = _number(output, prefix)
    return out


def _stack(rows: Sequence[dict[str, float] | None]) -> tuple[dict[str, FloatArray], int]:
    names = list(dict.fromkeys(k for row in rows if row is not None for k in row))
    features = {n: np.full(len(rows), np.nan) for n in names}
    errors = 0
    for i, row in enumerate(rows):
        if row is None:
            errors += 1
            continue
        for name, value in row.items():
            features[name][i] = value
    if errors:
        features[RAISED] = np.asarray([1.0 if r is None else 0.0 for r in rows])
    return features, errors


@dataclass(frozen=True)
class CallableMechanism:
    """Any Python callable ``f(data) -> output``, run once per draw (another library's
    mechanism, a hand-written one...). Exceptions count as an output (feature ``raised``)."""

    function: Callable[[pd.DataFrame], object]
    label: str = ""

    @property
    def name(self) -> str:
        """The label, else the function's name."""
        return self.label or getattr(self.function, "__name__", type(self.function).__name__)

    def sample(self, data: pd.DataFrame, runs: int) -> Samples:
        """Call the function ``runs`` times on ``data``."""
        rows: list[dict[str, float] | None] = []
        for _ in range(runs):
            try:
                output = self.function(data)
            except InvalidParameterError as error:
                if "the auditor compares numbers" in str(error):
                    raise
                rows.append(None)
                continue
            except Exception:  # an error is an observable output
                rows.append(None)
                continue
            rows.append(flatten_output(output))
        features, errors = _stack(rows)
        return Samples(features, runs, errors)


@dataclass(frozen=True)
class VectorisedMechanism:
    """``f(data, runs) -> array of shape (runs,) or (runs, k)``: many draws in one call."""

    function: Callable[[pd.DataFrame, int], Any]
    label: str = ""

    @property
    def name(self) -> str:
        """The label, else the function's name."""
        return self.label or getattr(self.function, "__name__", type(self.function).__name__)

    def sample(self, data: pd.DataFrame, runs: int) -> Samples:
        """One call for all ``runs``."""
        values = np.asarray(self.function(data, runs), dtype=float)
        values = values.reshape(runs, -1)
        names = (
            ["output"] if values.shape[1] == 1 else [f"output[{i}]" for i in range(values.shape[1])]
        )
        return Samples({n: values[:, i] for i, n in enumerate(names)}, runs)


# ------------------------------------------------------------------ ethica queries
@dataclass(frozen=True)
class QueryMechanism:
    """An ethica query released under ``unit`` spending ``budget``, sampled fast (module
    docstring): one engine aggregate per data set, noise re-drawn by the release code.

    Parameters
    ----------
    query
        Any ethica query or :class:`~ethica.privacy.Batch` (not :class:`BoundsEstimate`,
        whose post-processing reads all cells at once: audit it with a
        :class:`CallableMechanism` over ``Session.evaluate``).
    unit, budget
        The privacy unit and the budget the release spends.
    confidence
        Interval level (the intervals do not enter the audit; only the values do).
    aggregations
        Engine aggregations per data set under user-level privacy (each with a fresh bounding
        salt); the runs are split evenly among them. Row-level: always 1.
    """

    query: Any
    unit: PrivacyUnit
    budget: Budget
    confidence: float = 0.95
    aggregations: int = 2
    parts: tuple[Part, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.unit, Rows | UserLevel):
            raise InvalidParameterError(
                f"unit must be Rows() or UserLevel(...), got {self.unit!r}."
            )
        if not isinstance(self.budget, Budget):
            raise InvalidParameterError(
                f"budget must be PureDP, ZCDP or ApproxDP, got {self.budget!r}."
            )
        parts = tuple(_parts(self.query, self.budget))
        for part in parts:
            if isinstance(part.query, BoundsEstimate):
                raise InvalidParameterError(
                    f"{part.query.describe()} cannot be sampled from one aggregate (its bounds "
                    "read all bins of each noisy histogram); audit it with "
                    "CallableMechanism(lambda d: Session(d, ...).evaluate(query, budget))."
                )
        if (
            isinstance(self.aggregations, bool)
            or not isinstance(self.aggregations, int)
            or (self.aggregations < 1)
        ):
            raise InvalidParameterError(
                f"aggregations must be an integer >= 1, got {self.aggregations!r}."
            )
        object.__setattr__(self, "parts", parts)

    @property
    def name(self) -> str:
        """The query's description with unit and budget."""
        unit = "rows" if isinstance(self.unit, Rows) else f"user {self.unit.column}"
        return f"{self.query.describe()} ({unit}, {self.budget})"

    def check(self, data: pd.DataFrame) -> None:
        """The release's own free checks (schema, bounds, budget kind) on ``data``."""
        check_parts(data, list(self.parts), self.unit, confidence=self.confidence)

    def aggregate(self, data: pd.DataFrame) -> Aggregates:
        """The exact aggregate of ``data`` (one engine run)."""
        return aggregate_parts(data, list(self.parts), self.unit)

    def sample(self, data: pd.DataFrame, runs: int) -> Samples:
        """``runs`` noisy releases of ``data``: ``aggregations`` engine runs (user-level) or
        one (rows), the noise re-drawn from each."""
        blocks = 1 if isinstance(self.unit, Rows) else min(self.aggregations, runs)
        sizes = [runs // blocks + (1 if i < runs % blocks else 0) for i in range(blocks)]
        columns: list[dict[str, FloatArray]] = []
        errors = 0
        for size in sizes:
            try:
                aggregates = self.aggregate(data)
            except Exception:  # an error is an observable output
                errors += size
                columns.append({RAISED: np.ones(size)})
                continue
            block: dict[str, FloatArray] = {}
            for start in range(0, size, _CHUNK):
                chunk = self.draw(aggregates, min(_CHUNK, size - start))
                for name, values in chunk.items():
                    block.setdefault(name, np.empty(0))
                    block[name] = np.concatenate([block[name], values])
            columns.append(block)
        names = list(dict.fromkeys(n for block in columns for n in block))
        features = {}
        for name in names:
            parts = []
            for block, size in zip(columns, sizes, strict=True):
                default = 0.0 if name == RAISED else math.nan
                parts.append(block.get(name, np.full(size, default)))
            features[name] = np.concatenate(parts)
        return Samples(features, runs, errors)

    def contribution(self, rows: pd.DataFrame) -> dict[str, tuple[int, Fraction]]:
        """The sensitivity test: ``{component: (L1 of the aggregate of rows alone, stated L1
        sensitivity)}``, the largest over ``aggregations`` engine runs (user-level).

        Aggregates are sums over rows (row-level) or over users bounded independently of each
        other (user-level), so the rows that tell two neighbours apart change the aggregate by
        exactly their own aggregate; it must stay within the sensitivity the noise is
        calibrated to.
        """
        out: dict[str, tuple[int, Fraction]] = {}
        repeats = 1 if isinstance(self.unit, Rows) else self.aggregations
        for _ in range(repeats):
            aggregates = self.aggregate(rows)
            for part, agg in zip(self.parts, aggregates.parts, strict=True):
                for c in agg.components:
                    name = f"{part.name}: {c.name}"
                    stated = cell_sensitivity(
                        self.unit, c.per_row, grouped=agg.grouped, finest=agg.finest
                    ).l1
                    change = int(np.abs(np.asarray(c.values, dtype=object)).sum())
                    if name not in out or change > out[name][0]:
                        out[name] = (change, stated)
        return out

    def draw(self, aggregates: Aggregates, runs: int) -> dict[str, FloatArray]:
        """``runs`` noisy outputs from one aggregate, as features (NaN: cell not released)."""
        features: dict[str, FloatArray] = {}
        stacked: list[PartAggregate] = []
        quantiles: list[tuple[Part, PartAggregate]] = []
        additive: list[Part] = []
        for part, agg in zip(self.parts, aggregates.parts, strict=True):
            if isinstance(part.query, Quantiles):
                quantiles.append((part, agg))
                continue
            additive.append(part)
            stacked.append(_stack_runs(agg, runs))
        if additive:
            tables = release_from_aggregates(
                Aggregates(tuple(stacked)), additive, self.unit, self.confidence
            )
            for part, agg, table in zip(
                additive,
                (
                    a
                    for p, a in zip(self.parts, aggregates.parts, strict=True)
                    if not isinstance(p.query, Quantiles)
                ),
                tables,
                strict=True,
            ):
                features.update(_unstack(part, agg, table, runs))
        for part, agg in quantiles:
            features.update(_quantile_draws(part, agg, self.unit, runs))
        return features


@dataclass(frozen=True)
class ReportedQueryMechanism(QueryMechanism):
    """:class:`QueryMechanism` with the release's DP bounding report (module docstring).

    Parameters
    ----------
    bounding_share
        The share of ``budget`` the report spends (as ``Session.evaluate``'s
        ``bounding_share``); the queries spend the rest.
    """

    bounding_share: Fraction = Fraction(1, 10)

    def __post_init__(self) -> None:
        super().__post_init__()
        fraction = Fraction(self.bounding_share)
        if not 0 < fraction < 1:
            raise InvalidParameterError(
                f"bounding_share must lie strictly between 0 and 1, got {self.bounding_share!r}."
            )
        parts = tuple(_parts(self.query, share(self.budget, 1 - fraction)))
        if bounding_mechanisms(parts, self.unit) == 0:
            raise InvalidParameterError(
                f"{self.query.describe()} under this unit neither caps users nor clamps values: "
                "it has no bounding report to audit; use QueryMechanism."
            )
        object.__setattr__(self, "parts", parts)
        object.__setattr__(self, "bounding_share", fraction)

    def report_plan(self) -> list[_ReportGroup]:
        """The report's noisy vectors and their sensitivities: the release's own plan."""
        return _report_plan(self.parts, self.unit)

    @property
    def report_budget(self) -> Budget:
        """What the bounding report spends."""
        return share(self.budget, self.bounding_share)

    def check(self, data: pd.DataFrame) -> None:
        """The release's free checks, the report's included."""
        check_parts(
            data,
            list(self.parts),
            self.unit,
            confidence=self.confidence,
            bounding_budget=self.report_budget,
        )

    def aggregate(self, data: pd.DataFrame) -> Aggregates:
        """The exact aggregate and bounding counts of ``data`` (one engine run)."""
        return aggregate_parts(data, list(self.parts), self.unit, bounding_report=True)

    def draw(self, aggregates: Aggregates, runs: int) -> dict[str, FloatArray]:
        """The queries' features, plus ``runs`` noisy draws of every report count (its noise
        and sensitivity from the release's own report plan)."""
        features = super().draw(Aggregates(aggregates.parts), runs)
        groups = self.report_plan()
        each = share(self.report_budget, Fraction(1, bounding_mechanisms(self.parts, self.unit)))
        counted = {c.parts: c for c in aggregates.bounding}
        for g, group in enumerate(groups):
            counts = counted[group.parts]
            if group.capped is not None and counts.users_capped is not None:
                values = np.full(runs, counts.users_capped, dtype=np.int64)
                noisy = noise_vector(
                    Component("users_capped", values, Fraction(1)),
                    group.capped,
                    each,
                    self.confidence,
                )
                features[f"report{g}: users capped"] = noisy.noisy.astype(float)
            for clamp, below, above in counts.clamped:
                values = np.tile(np.array([below, above], dtype=np.int64), runs)
                noisy = noise_vector(
                    Component(clamp.label(), values, Fraction(1)),
                    group.clamp_sensitivity,
                    each,
                    self.confidence,
                )
                pairs = noisy.noisy.astype(float).reshape(runs, 2)
                features[f"report{g}: {clamp.label()} below"] = pairs[:, 0]
                features[f"report{g}: {clamp.label()} above"] = pairs[:, 1]
        return features

    def contribution(self, rows: pd.DataFrame) -> dict[str, tuple[int, Fraction]]:
        """The queries' sensitivity test, plus the report's: the counts of ``rows`` alone
        against the report's stated L1 sensitivities."""
        out = super().contribution(rows)
        groups = self.report_plan()
        repeats = 1 if isinstance(self.unit, Rows) else self.aggregations
        for _ in range(repeats):
            counted = {c.parts: c for c in self.aggregate(rows).bounding}
            for g, group in enumerate(groups):
                counts = counted[group.parts]
                found: list[tuple[str, int, Fraction]] = []
                if group.capped is not None and counts.users_capped is not None:
                    found.append(("users capped", counts.users_capped, group.capped.l1))
                for clamp, below, above in counts.clamped:
                    found.append((clamp.label(), below + above, group.clamp_sensitivity.l1))
                for name, change, stated in found:
                    key = f"report{g}: {name}"
                    if key not in out or change > out[key][0]:
                        out[key] = (change, stated)
        return out


def _stack_runs(agg: PartAggregate, runs: int) -> PartAggregate:
    """``runs`` copies of every cell, one after another; the key of copy ``i`` is the integer
    ``i`` (run ``i // cells``, cell ``i % cells``), cheap to build and to decode."""
    keys = cast(Any, tuple(range(runs * len(agg.keys))))
    components = tuple(
        dataclasses.replace(c, values=np.tile(np.asarray(c.values, dtype=np.int64), runs))
        for c in agg.components
    )
    return PartAggregate(keys, components, agg.grouped, agg.finest)


def _unstack(
    part: Part, agg: PartAggregate, table: ReleasedTable, runs: int
) -> dict[str, FloatArray]:
    cells = len(agg.keys)
    grid = np.full((runs, cells), np.nan)
    if table.statistic == "histogram" or len(table.values) == runs * cells:
        grid = np.asarray(table.values, dtype=float).reshape(runs, cells)
    else:  # partition selection dropped cells: each key is its position in the stack
        where = np.asarray(table.keys, dtype=np.int64)
        grid[where // cells, where % cells] = np.asarray(table.values, dtype=float)
    labels = (
        [(label,) for label in _labels(part)] if table.statistic == "histogram" else list(agg.keys)
    )
    return {f"{part.name}[{_key_label(k)}]": grid[:, j] for j, k in enumerate(labels)}


def _labels(part: Part) -> list[str]:
    from ethica.data._bins import bin_labels

    return list(bin_labels(part.query.edges))


def _quantile_draws(
    part: Part, agg: PartAggregate, unit: PrivacyUnit, runs: int
) -> dict[str, FloatArray]:
    """``runs`` releases of each quantile: the exponential mechanism's exact rejection sampler
    (uniform proposal, ``Bernoulli(exp(-epsilon (q* - q_r) / (2Δ)))`` acceptance), keeping every
    accepted proposal; utilities, sensitivity and epsilon from the release's own
    :func:`~ethica.privacy.release._evaluate.quantile_selections`."""
    grid = np.asarray(part.query.grid, dtype=float)
    out = {}
    for selection in quantile_selections(part, agg, unit):
        nums, den = _gaps(selection.utilities, selection.epsilon, selection.sensitivity)
        chosen: list[NDArray[Any]] = []
        got, batch = 0, max(1024, 4 * runs)
        while got < runs:
            proposals = uniform_below(len(nums), batch)
            accepted = proposals[bernoulli_exp_array(nums[proposals], den)]
            chosen.append(accepted[: runs - got])
            got += min(len(accepted), runs - got)
            rate = max(len(accepted), 1) / batch
            batch = int(min(5_000_000, max(1024, 1.2 * (runs - got) / rate)))
        index = np.concatenate(chosen).astype(np.int64)
        out[f"{part.name}[{selection.q!r}]"] = grid[index]
    return out
