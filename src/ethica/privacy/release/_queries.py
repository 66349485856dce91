"""Release queries as immutable specs (frozen dataclasses); a session binds them to data.

Statistics, each per cell of an optional group-by (its sensitivity per privacy unit is in
:mod:`._sensitivity`):

* :class:`Count`: ``n_c = #{rows in cell c}`` (``B = 1``). Several ``by`` columns give a
  multi-way contingency table.
* :class:`Sum`: ``s_c = Σ clamp(x, lower, upper)`` (``B = max(|lower|, |upper|)``).
* :class:`Mean`: ``s_c / n_c`` over present values, from a noisy clamped sum and a noisy count
  of present values (budget split in two).
* :class:`Variance`: ``Σ(x-μ)²/n`` from noisy ``n``, ``Σ y``, ``Σ y²`` with ``y = clamp(x) -
  (lower + upper)/2`` (budget split in three).
* :class:`Histogram`: counts of ``column`` in the bins cut at public ``edges``.
* :class:`Quantiles`: each ``q`` by the exponential mechanism over a public grid of
  ``candidates`` points in ``[lower, upper]`` with utility ``-|#{x < c} - q n|``
  (Smith 2011; McSherry & Talwar 2007); sensitivity ``k m`` under user-level bounding.
* :class:`BoundsEstimate`: clamping bounds as an explicit, budgeted step: the ``q`` and
  ``1 - q`` quantiles over a public, data-independent grid ``0, ±2**j``.
* :class:`Batch`: several queries sharing one budget, split by ``weights``.

Group keys are *public* (``keys`` given: a mapping column -> values, whose product is the key
set, or an explicit sequence of key tuples; cells without rows are released too) or *private*
(``keys=None`` with ``by`` given: cells found in the data, kept only if they pass DP
partition selection, which needs an ``ApproxDP`` budget).

Every spec is normalised once, in its constructor, and read back through its fields: ``by``
is a tuple of column names, ``keys`` a tuple of key tuples in ``by`` order (or ``None``),
``step`` the rounding step actually used (given, else ``max(|lower|, |upper|) / 1000``), and
``grid`` (:class:`Quantiles`, :class:`BoundsEstimate`) the public candidate points.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ethica._exceptions import InvalidParameterError
from ethica.data._bins import MAX_EDGES

__all__ = [
    "REGISTRY",
    "Batch",
    "BoundsEstimate",
    "Count",
    "Histogram",
    "Mean",
    "Quantiles",
    "Query",
    "Sum",
    "Variance",
    "normalise_keys",
]

KeyTuple = tuple[object, ...]
KeysLike = Mapping[str, Sequence[object]] | Sequence[object]
"""Public keys as given: ``{column: values}`` (their product) or a sequence of key tuples."""


def normalise_keys(by: tuple[str, ...], keys: object) -> tuple[KeyTuple, ...] | None:
    """Public keys as a tuple of key tuples in ``by`` order; ``None`` stays ``None``."""
    if keys is None:
        return None
    if not by:
        raise InvalidParameterError(
            f"keys={keys!r} were given without by=; name the key columns, e.g. by=('sex',)."
        )
    if isinstance(keys, Mapping):
        missing = [c for c in by if c not in keys]
        extra = [c for c in keys if c not in by]
        if missing or extra:
            raise InvalidParameterError(
                f"keys must give values for exactly the by columns {list(by)}; missing "
                f"{missing}, unexpected {extra}."
            )
        return tuple(itertools.product(*(tuple(keys[c]) for c in by)))
    if isinstance(keys, str) or not isinstance(keys, Sequence):
        raise InvalidParameterError(
            f"keys must be a mapping column -> values or a sequence of key tuples, got {keys!r}."
        )
    out: list[KeyTuple] = []
    for key in keys:
        item = tuple(key) if isinstance(key, (tuple, list)) else (key,)
        if len(item) != len(by):
            raise InvalidParameterError(
                f"key {key!r} has {len(item)} values but by={list(by)} has {len(by)} columns."
            )
        out.append(item)
    if len(set(out)) != len(out):
        raise InvalidParameterError("keys lists a key more than once; list each key once.")
    return tuple(out)


def _by(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, Sequence) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise InvalidParameterError(f"by must be a column name or a list of names, got {value!r}.")


def _finite(value: object, name: str, query: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InvalidParameterError(f"{query}: {name} must be a finite number, got {value!r}.")
    return float(value)


def _bounds(query: str, column: str, lower: object, upper: object) -> tuple[float, float]:
    if lower is None or upper is None:
        raise InvalidParameterError(
            f"{query}({column!r}) needs clamping bounds lower= and upper=: bounds derived from "
            "the data would leak it. Give public bounds (e.g. lower=0, upper=100), or spend "
            "budget on a BoundsEstimate query first."
        )
    lo, hi = _finite(lower, "lower", query), _finite(upper, "upper", query)
    if not lo < hi:
        raise InvalidParameterError(
            f"{query}({column!r}): lower must be below upper, got lower={lo}, upper={hi}."
        )
    if not math.isfinite(hi - lo):
        raise InvalidParameterError(
            f"{query}({column!r}): the range [{lo}, {hi}] is wider than floating point can "
            "hold (upper - lower overflows); give narrower public bounds."
        )
    return lo, hi


@dataclass(frozen=True, init=False)
class _Grouped:
    """Common part of the per-cell statistics: group keys (public or private).

    Attributes
    ----------
    by
        The key columns (a single name is given as ``by="sex"``, stored as ``("sex",)``).
    keys
        The public key tuples in ``by`` order, or ``None`` for private keys (given as a
        mapping column -> values, whose product they are, or as a sequence of keys).
    """

    by: tuple[str, ...] = field(default=(), kw_only=True)
    keys: tuple[KeyTuple, ...] | None = field(default=None, kw_only=True)

    def _set_keys(self, by: str | Sequence[str], keys: KeysLike | None) -> None:
        columns = _by(by)
        object.__setattr__(self, "by", columns)
        object.__setattr__(self, "keys", normalise_keys(columns, keys))

    @property
    def private_keys(self) -> bool:
        """Whether the key set is taken from the data (needs DP partition selection)."""
        return bool(self.by) and self.keys is None

    def _describe(self, what: str) -> str:
        return what + (f" by {' × '.join(self.by)}" if self.by else "")


@dataclass(frozen=True, init=False)
class Count(_Grouped):
    """Row count per cell: ``n_c = #{rows in c}`` (``B = 1``). A multi-column ``by`` is a
    contingency table."""

    def __init__(self, *, by: str | Sequence[str] = (), keys: KeysLike | None = None) -> None:
        self._set_keys(by, keys)

    def describe(self) -> str:
        """A short label."""
        return self._describe("count")


@dataclass(frozen=True, init=False)
class _Measured(_Grouped):
    """A statistic of ``column`` clamped to ``[lower, upper]`` and rounded to ``step``.

    ``step`` is the rounding step of clamped values: as given, else
    ``max(|lower|, |upper|) / 1000``.
    """

    column: str
    lower: float
    upper: float
    step: float

    def __init__(
        self,
        column: str,
        lower: float | None = None,
        upper: float | None = None,
        step: float | None = None,
        *,
        by: str | Sequence[str] = (),
        keys: KeysLike | None = None,
    ) -> None:
        name = type(self).__name__
        self._set_keys(by, keys)
        if not isinstance(column, str) or not column:
            raise InvalidParameterError(f"{name} needs column=, the numeric column to measure.")
        lo, hi = _bounds(name, column, lower, upper)
        if step is None:
            step = max(abs(lo), abs(hi)) / 1000
        elif _finite(step, "step", name) <= 0:
            raise InvalidParameterError(f"{name}: step must be > 0, got {step!r}.")
        elif step > hi - lo:
            raise InvalidParameterError(
                f"{name}({column!r}): step={step!r} is larger than the clamping range "
                f"[{lo:g}, {hi:g}] (width {hi - lo:g}), so every value would round to one of "
                f"two grid points; use a step well below the width, e.g. {(hi - lo) / 1000:g}."
            )
        object.__setattr__(self, "column", column)
        object.__setattr__(self, "lower", lo)
        object.__setattr__(self, "upper", hi)
        object.__setattr__(self, "step", float(step))

    def describe(self) -> str:
        """A short label, e.g. ``"mean of age by sex"``."""
        return self._describe(f"{type(self).__name__.lower()} of {self.column}")

    @property
    def bounds(self) -> tuple[float, float]:
        """The clamping interval ``(lower, upper)``."""
        return self.lower, self.upper


@dataclass(frozen=True, init=False)
class Sum(_Measured):
    """Clamped sum per cell, ``s_c = Σ clamp(x, lower, upper)``; ``B = max(|lower|, |upper|)``.

    Values are rounded to multiples of ``step`` in the engine so the sum is an exact integer
    number of steps (default step: ``B / 1000``).
    """


@dataclass(frozen=True, init=False)
class Mean(_Measured):
    """Clamped mean per cell from a noisy sum and a noisy count of present values."""


@dataclass(frozen=True, init=False)
class Variance(_Measured):
    """Clamped population variance per cell from noisy ``n``, ``Σy`` and ``Σy²``."""


@dataclass(frozen=True)
class Histogram:
    """Counts of ``column`` in the bins ``< e_1, [e_1, e_2), ..., >= e_k`` (public keys)."""

    column: str
    edges: tuple[float, ...]

    def __post_init__(self) -> None:
        edges = tuple(_finite(e, "edge", "Histogram") for e in self.edges)
        if not edges or any(b <= a for a, b in itertools.pairwise(edges)):
            raise InvalidParameterError(
                f"Histogram edges must be increasing and non-empty, got {list(self.edges)}."
            )
        if len(edges) > MAX_EDGES:
            raise InvalidParameterError(
                f"Histogram({self.column!r}) has {len(edges)} edges; at most {MAX_EDGES} are "
                "binned in the engine. Use coarser bins."
            )
        object.__setattr__(self, "edges", edges)

    def describe(self) -> str:
        """A short label."""
        return f"histogram of {self.column}"


@dataclass(frozen=True, init=False)
class Quantiles:
    """The ``qs`` quantiles of ``column`` clamped to ``[lower, upper]``, by the exponential
    mechanism on a grid of ``candidates`` points (``qs`` given as any sequence, stored as a
    tuple; the bounds are required)."""

    column: str
    qs: tuple[float, ...]
    lower: float
    upper: float
    candidates: int

    def __init__(
        self,
        column: str,
        qs: Sequence[float] = (0.5,),
        lower: float | None = None,
        upper: float | None = None,
        candidates: int = 1001,
    ) -> None:
        lo, hi = _bounds("Quantiles", column, lower, upper)
        levels = tuple(_finite(q, "q", "Quantiles") for q in qs)
        if not levels or any(not 0 <= q <= 1 for q in levels):
            raise InvalidParameterError(f"Quantiles qs must lie in [0, 1], got {list(qs)}.")
        if isinstance(candidates, bool) or not isinstance(candidates, int) or candidates < 2:
            raise InvalidParameterError(f"candidates must be an integer >= 2, got {candidates!r}.")
        if candidates > MAX_EDGES:
            raise InvalidParameterError(
                f"Quantiles({column!r}): candidates={candidates} is more than the "
                f"{MAX_EDGES} grid points binned in the engine; use e.g. candidates=1001."
            )
        object.__setattr__(self, "column", column)
        object.__setattr__(self, "qs", levels)
        object.__setattr__(self, "lower", lo)
        object.__setattr__(self, "upper", hi)
        object.__setattr__(self, "candidates", candidates)

    @property
    def grid(self) -> tuple[float, ...]:
        """The public candidate answers: ``candidates`` points evenly spaced in
        ``[lower, upper]``."""
        n = self.candidates
        return tuple(self.lower + (self.upper - self.lower) * i / (n - 1) for i in range(n))

    def describe(self) -> str:
        """A short label."""
        return f"quantiles of {self.column}"


MAX_POWER = 1023
"""Largest ``max_power`` of :class:`BoundsEstimate`: ``2.0**1024`` overflows a float."""


@dataclass(frozen=True)
class BoundsEstimate:
    """Clamping bounds for ``column`` as a budgeted step: DP ``q`` and ``1 - q`` quantiles over
    the public grid ``0, ±2**j`` (``j`` from ``-10`` to ``max_power``)."""

    column: str
    q: float = 0.01
    max_power: int = 40

    def __post_init__(self) -> None:
        if not 0 < _finite(self.q, "q", "BoundsEstimate") < 0.5:
            raise InvalidParameterError(f"BoundsEstimate q must lie in (0, 0.5), got {self.q!r}.")
        power = self.max_power
        if isinstance(power, bool) or not isinstance(power, int) or not 0 <= power <= MAX_POWER:
            raise InvalidParameterError(
                f"BoundsEstimate max_power must be an integer in [0, {MAX_POWER}] (2**{MAX_POWER} "
                f"is the largest power of two a float holds), got {power!r}; e.g. max_power=40."
            )

    @property
    def grid(self) -> tuple[float, ...]:
        """The public, data-independent candidates ``0, ±2**j``."""
        powers = [2.0**j for j in range(-10, self.max_power + 1)]
        return tuple(sorted([-p for p in powers] + [0.0] + powers))

    def describe(self) -> str:
        """A short label."""
        return f"bounds of {self.column}"


@dataclass(frozen=True)
class Batch:
    """Several queries sharing one budget; query ``i`` gets ``weights[i] / Σ weights`` of it."""

    queries: tuple[Any, ...]
    weights: tuple[float, ...] | None = None
    names: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        queries = tuple(self.queries)
        if not queries or any(isinstance(q, Batch) or not _is_query(q) for q in queries):
            raise InvalidParameterError(
                f"Batch needs a non-empty list of (non-batch) queries, got {self.queries!r}."
            )
        object.__setattr__(self, "queries", queries)
        if self.weights is not None:
            weights = tuple(_finite(w, "weight", "Batch") for w in self.weights)
            if len(weights) != len(queries) or any(w <= 0 for w in weights):
                raise InvalidParameterError(
                    f"Batch weights must be {len(queries)} positive numbers, got "
                    f"{list(self.weights)}."
                )
            object.__setattr__(self, "weights", weights)
        if self.names is not None:
            names = tuple(self.names)
            if len(names) != len(queries) or len(set(names)) != len(names):
                raise InvalidParameterError(
                    f"Batch names must be {len(queries)} distinct names, got {list(names)}."
                )
            object.__setattr__(self, "names", names)

    def describe(self) -> str:
        """A short label."""
        return "batch: " + "; ".join(q.describe() for q in self.queries)


Query = Count | Sum | Mean | Variance | Histogram | Quantiles | BoundsEstimate | Batch


REGISTRY: dict[str, type] = {
    "count": Count,
    "sum": Sum,
    "mean": Mean,
    "variance": Variance,
    "histogram": Histogram,
    "quantiles": Quantiles,
    "bounds": BoundsEstimate,
}
"""Spec-file names of the (non-batch) query types."""


def _is_query(value: object) -> bool:
    return isinstance(value, (*REGISTRY.values(), Batch))
