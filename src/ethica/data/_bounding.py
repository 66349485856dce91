"""Contribution bounding and clamped per-cell aggregation, pushed down to the engine.

A differentially private release needs, per output cell, a row count and clamped sums whose
sensitivity is known. This module builds that as one Ibis expression and runs it where the
data lives (DuckDB by default, Spark, any Ibis backend); only the small grouped result comes
back to Python.

Contribution bounding for a user-level privacy unit (Wilson et al. 2020, "Differentially
Private SQL with Bounded User Contribution", PoPETs; Amin et al. 2019), in one window:

1. each row gets ``h = hash(hash(user, cell, salt))``, with ``salt`` a fresh random 62-bit
   number per query (OS CSPRNG; it need not be secret), and an independent ``random()``;
2. one sort of each user's rows by ``(h, cell, random)`` gives a row its cell's index among the
   user's cells (``DENSE_RANK``) and its index within the cell (``ROW_NUMBER - RANK``);
3. keep rows whose cell index is ``< max_groups`` (L0) and row index ``< max_rows`` (L∞);
4. ``GROUP BY cell`` and sum.

The kept rows of one user are a function of that user's own rows, the salt and the row
randomness only, never of the measured values or of other users, so after bounding one user
changes at most ``max_groups`` cells by at most ``max_rows`` rows each, whatever the hash. Ties
in ``h`` are broken by the cell itself, so the bounds are exact. With a fresh salt the kept
cells are a uniformly random subset, up to the hash's quality (the outer hash mixes the engine's
cheap combination of field hashes, which alone orders a user's cells alike for most salts), and
the kept rows within a cell are a uniformly random subset. An engine without ``hash()`` uses two
windows instead: random rows per (user, cell), then random cells per user.

Values become integers in the engine, so sums are exact (:class:`ClampedSum`). A value is
clamped to ``[lower, upper]``, shifted, optionally squared, divided by a public ``step`` and
rounded to an integer *unit* by **unbiased randomised rounding**: ``r = f(v) / step`` becomes
``floor(r) + 1`` with probability ``r - floor(r)`` and ``floor(r)`` otherwise (an independent
uniform draw per row), so the expected units are exactly ``r`` and the rounded sum is an
unbiased estimate of the clamped sum; a value already on the grid is never moved. The units
are finally clamped to the integer range :meth:`ClampedSum.unit_range`, computed in exact
rational arithmetic from the public parameters alone; the sensitivity of a release is derived
from that same range (:meth:`ClampedSum.per_row`), so the noise is calibrated to the very
integers the engine produces, whatever floating-point rounding the engine does on the way.
Each range is capped at :data:`MAX_UNITS_PER_ROW` units, checked before any row is read, so a
sum over fewer than ``2**32`` rows can never overflow 64-bit integers (the aggregation is
total: no cast error, no overflow). NULL and NaN are the same thing: absent (they add 0 and
are not counted as present); user ids that are NULL or NaN are refused or dropped.
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Literal

import ibis
import ibis.expr.types as ir
import pandas as pd
import pyarrow as pa

from ethica._exceptions import InvalidParameterError, SchemaError
from ethica.data._bins import bin_index
from ethica.data._checks import check_columns, check_numeric
from ethica.data._engine import is_spark, run, scoped_memo
from ethica.data._sources import Backend, open_source

__all__ = [
    "COUNT",
    "MAX_UNITS_PER_ROW",
    "ClampCount",
    "ClampedSum",
    "Contribution",
    "bounded_aggregate",
    "check_aggregate",
    "is_missing",
    "with_units",
]

COUNT = "__count"
"""Name of the row-count column in :func:`bounded_aggregate`'s result."""

MAX_UNITS_PER_ROW = 2**31
"""Largest absolute number of grid units one row may add to a sum: with at most ``2**32 - 1``
rows, every sum stays below ``2**63`` (checked from the public bounds and step, free)."""

_RAND, _ROWNUM, _HASH, _CELL = "__rand", "__rownum", "__hash", "__cell"
_ROW_DROPPED = "__row_dropped"


@dataclass(frozen=True)
class ClampedSum:
    """A per-cell sum of ``units(f(clamp(column, lower, upper) - shift) / step)``.

    ``f`` is the identity (``power=1``), the square (``power=2``), or, for ``power=0``, the
    indicator that the value is present (a count of non-NULL, non-NaN values). ``units`` is
    unbiased randomised rounding to an integer, clamped to :meth:`unit_range` (module
    docstring). A NULL or NaN value adds 0.
    """

    name: str
    column: str
    lower: float
    upper: float
    step: float
    shift: float = 0.0
    power: Literal[0, 1, 2] = 1

    def unit_range(self) -> tuple[int, int]:
        """The integers ``[a, b]`` every row's units lie in, exactly.

        ``a = floor(min f / step)`` and ``b = ceil(max f / step)`` over ``f`` on the clamp
        interval, in rational arithmetic on the parameters' exact binary values. The engine
        clamps each row's units to this range, so it holds whatever the engine's rounding.
        """
        if self.power == 0:
            return 0, 1
        step = Fraction(self.step)
        if step <= 0:
            raise InvalidParameterError(f"{self.name}: step must be > 0, got {self.step!r}.")
        low = Fraction(self.lower) - Fraction(self.shift)
        high = Fraction(self.upper) - Fraction(self.shift)
        if self.power == 2:
            low, high = (
                Fraction(0) if low <= 0 <= high else min(low * low, high * high),
                max(low * low, high * high),
            )
        return math.floor(low / step), math.ceil(high / step)

    def per_row(self) -> Fraction:
        """``B = max(|a|, |b|)``: the largest absolute units one row adds (the sensitivity's
        per-row bound, from the very range the engine clamps to)."""
        a, b = self.unit_range()
        return Fraction(max(abs(a), abs(b)))


@dataclass(frozen=True)
class ClampCount:
    """A per-cell count of the kept rows whose ``column`` the bounds clamp on one ``side``.

    ``side="below"`` counts present values ``v < bound`` (the lower clamping bound),
    ``side="above"`` present values ``v > bound`` (the upper one); NULL and NaN are absent and
    never counted. Each kept row adds 0 or 1, so under user-level bounding one user changes the
    total over all cells by at most the number of rows it keeps (``k m``), and a row-level
    neighbour by at most 1; a row counts on at most one side of a pair ``lower < upper``.
    """

    name: str
    column: str
    bound: float
    side: Literal["below", "above"]


@dataclass(frozen=True)
class Contribution:
    """User-level contribution bounds: ``max_groups`` cells (L0), ``max_rows`` rows each (L∞)."""

    user: str
    max_groups: int
    max_rows: int
    drop_null_users: bool = True


def bounded_aggregate(
    source: object,
    *,
    by: Sequence[str] = (),
    bins: Mapping[str, Sequence[float]] | None = None,
    key_filter: Mapping[str, Sequence[object]] | None = None,
    sums: Sequence[ClampedSum] = (),
    contribution: Contribution | None = None,
    table: str | None = None,
    backend: Backend | None = None,
    clamp_counts: Sequence[ClampCount] = (),
    capped_users: str | None = None,
) -> pd.DataFrame:
    """Per-cell row counts and clamped integer sums, bounded per user, in one engine query.

    Parameters
    ----------
    source
        Anything :func:`~ethica.data.resolve_table` accepts.
    by
        Key columns of the cells (empty: one cell, the whole table).
    bins
        Key columns to bin first: ``{column: edges}``; the key becomes the bin index
        ``0..len(edges)`` (:func:`ethica.data._bins.bin_index`).
    key_filter
        ``{column: allowed values}``: rows outside are dropped before bounding (public keys).
    sums
        The clamped sums to compute per cell.
    contribution
        User-level bounds; ``None`` for row-level privacy (no bounding).
    table, backend
        As in :func:`~ethica.data.resolve_table`.
    clamp_counts
        Counts of kept values the bounds clamp (:class:`ClampCount`), one column each,
        computed in the same query (a bounding report, Wilson et al. 2020 bound contributions
        but do not say how much they cut; this says it, to be noised by the caller).
    capped_users
        Name of a column counting the users that had at least one row dropped by the caps
        (needs ``contribution``). Each such user adds 1 to exactly one cell: the cell of its
        first kept row, which every user has (``max_groups, max_rows >= 1``), so the column's
        total is the number of capped users and one user changes it by at most 1.

    Returns
    -------
    pandas.DataFrame
        One row per non-empty cell: the ``by`` columns, :data:`COUNT`, one integer column
        per sum (in units of its ``step``), then one per clamp count and ``capped_users``.

    Raises
    ------
    SchemaError
        A column is missing or not numeric, or the user column has NULLs and
        ``drop_null_users`` is False.
    """
    src = open_source(source, table=table, backend=backend)
    t = src.table
    bins = dict(bins or {})
    check_aggregate(t, by=by, bins=bins, sums=sums, contribution=contribution)
    for clamp in clamp_counts:
        check_numeric(t, "measure", clamp.column, "count clamped values only of numeric columns.")
    if capped_users is not None and contribution is None:
        raise InvalidParameterError(
            f"capped_users={capped_users!r} needs a user-level contribution bound: without one "
            "no row is dropped by caps. Pass contribution=Contribution(...) or drop it."
        )
    shape = _Shape(t, tuple(by), bins, key_filter or {}, tuple(sums), tuple(clamp_counts), src)
    if contribution is None:  # no fresh salt: the same shape builds the same expression
        key = shape.key()
        grouped = shape.row_level() if key is None else scoped_memo(key, shape.row_level)
        return run(src, grouped, action="aggregate").to_pandas()
    rows = _projected(shape, contribution)
    bounded = _bounded(rows, list(by), shape.metrics, contribution, capped_users)
    fallback = _bounded_by_two_windows(rows, list(by), shape.metrics, contribution, capped_users)
    return run(src, bounded, action="aggregate", fallback=fallback).to_pandas()


@dataclass(frozen=True)
class _Shape:
    """What :func:`bounded_aggregate` computes, apart from the contribution bounds."""

    t: ir.Table
    by: tuple[str, ...]
    bins: Mapping[str, Sequence[float]]
    key_filter: Mapping[str, Sequence[object]]
    sums: tuple[ClampedSum, ...]
    clamp_counts: tuple[ClampCount, ...]
    src: Any

    @property
    def metrics(self) -> list[str]:
        return [s.name for s in self.sums] + [c.name for c in self.clamp_counts]

    def key(self) -> tuple[object, ...] | None:
        """A hashable key of the public shape (``None``: unhashable key values)."""
        key = (
            "bounded_aggregate",
            self.t.op(),
            self.by,
            tuple((c, tuple(e)) for c, e in self.bins.items()),
            tuple((c, tuple(v)) for c, v in self.key_filter.items()),
            self.sums,
            self.clamp_counts,
        )
        try:
            hash(key)
        except TypeError:
            return None
        return key

    def row_level(self) -> ir.Table:
        """The grouped expression of a row-level aggregation (no contribution bounds)."""
        rows = _projected(self, None)
        return _group(rows, list(self.by), {COUNT: rows.count()} | _sums(rows, self.metrics))


def _projected(shape: _Shape, contribution: Contribution | None) -> ir.Table:
    """Keys (binned, NaN as NULL), clamp flags, the user column and each sum's units, with
    rows outside the public keys (and, if asked, rows without a user) dropped."""
    t, bins = shape.t, shape.bins
    projected: dict[str, ir.Value] = {}
    for column in shape.by:
        key = t[column]
        if column in bins:
            projected[column] = bin_index(key, bins[column])
        elif key.type().is_floating():  # NaN is NULL: one missing-key cell, not two
            projected[column] = ibis.ifelse(key.isnan(), ibis.null(key.type()), key)
        else:
            projected[column] = key
    for clamp in shape.clamp_counts:
        projected[clamp.name] = _clamped(t[clamp.column], clamp)
    if contribution is not None:
        projected[contribution.user] = t[contribution.user]
    rows = with_units(t, projected, shape.sums) if projected or shape.sums else t
    if contribution is not None and contribution.drop_null_users:
        rows = rows.filter(~is_missing(rows[contribution.user]))
    for column, allowed in shape.key_filter.items():
        rows = _keep_keys(rows, column, list(allowed), shape.src.backend)
    return rows


def check_aggregate(
    t: ir.Table,
    *,
    by: Sequence[str] = (),
    bins: Mapping[str, Sequence[float]] | None = None,
    sums: Sequence[ClampedSum] = (),
    contribution: Contribution | None = None,
) -> None:
    """Check an aggregation against the table's schema alone (no row is read)."""
    bins = bins or {}
    roles = [("group-by", c) for c in by] + [("measure", s.column) for s in sums]
    if contribution is not None:
        roles.append(("user-id", contribution.user))
    check_columns(t, roles)
    if contribution is not None and not contribution.drop_null_users:
        _refuse_nullable_users(t, contribution.user)
    for s in sums:
        check_numeric(t, "measure", s.column, "clamp and sum only numeric columns.")
        _check_headroom(s)
    for column in bins:
        if column not in by:
            raise InvalidParameterError(f"binned column {column!r} must also appear in by={by}.")
        check_numeric(t, "binned", column, "bin only numeric columns.")


def _check_headroom(item: ClampedSum) -> None:
    """Refuse a step so fine that one row's units could overflow a 64-bit sum (free)."""
    if not (item.lower < item.upper):
        raise InvalidParameterError(
            f"clamping bounds of {item.column!r} must satisfy lower < upper, got "
            f"[{item.lower}, {item.upper}]."
        )
    per_row = item.per_row()
    if per_row > MAX_UNITS_PER_ROW:
        extent = max(abs(Fraction(item.lower)), abs(Fraction(item.upper)))
        smallest = float(extent / MAX_UNITS_PER_ROW)
        raise InvalidParameterError(
            f"step={item.step!r} is too fine for bounds [{item.lower}, {item.upper}] of "
            f"{item.column!r}: one row would add up to {per_row} grid units, more than "
            f"2**31 = {MAX_UNITS_PER_ROW}, and sums could overflow 64-bit integers. Use a "
            f"step of at least {smallest:.3g} (or the default, max(|lower|, |upper|) / 1000)."
        )


def is_missing(column: ir.Value) -> ir.BooleanValue:
    """NULL, or NaN for a floating column: ethica treats both as absent."""
    missing = column.isnull()
    if column.type().is_floating():
        missing = missing | column.isnan()
    return missing


def _refuse_nullable_users(t: ir.Table, user: str) -> None:
    """``nulls='error'`` refuses a user column whose *type* admits missing ids (free).

    Looking for missing ids in the rows would make the refusal itself depend on the data: one
    row with a NULL id would change the output from a release to an error with certainty,
    which no epsilon covers. So the refusal reads only the schema: a column that may hold NULL
    needs the explicit choice ``nulls='drop'`` (such rows are then dropped before bounding).
    """
    dtype = t[user].type()
    if dtype.nullable or dtype.is_floating():
        raise SchemaError(
            f"user-id column {user!r} has type {dtype}, which admits missing ids (NULL"
            f"{' or NaN' if dtype.is_floating() else ''}); a missing user cannot be bounded, and "
            "looking for one in the data would leak. Choose explicitly: nulls='drop' (rows "
            "without a user id are dropped; how many is not released), or declare the column "
            "NOT NULL."
        )


def _keep_keys(rows: ir.Table, column: str, allowed: list[object], backend: Any) -> ir.Table:
    """Rows whose ``column`` is one of ``allowed`` (NULL never is).

    A semi-join on a small in-memory key table compiles in constant time, where an ``IN`` list
    of thousands of literals costs Ibis a noticeable share of a release. Spark, whose compiled
    SQL runs without Ibis registering in-memory tables, and keys that do not fit the column's
    type get the ``IN`` list.
    """
    if not is_spark(backend):
        try:
            keys = pa.table({column: pa.array(allowed, type=rows[column].type().to_pyarrow())})
        except (TypeError, ValueError, pa.ArrowException):
            pass
        else:
            return rows.semi_join(ibis.memtable(keys), column)
    return rows.filter(rows[column].isin(allowed))


def _ratio(
    number: ir.FloatingValue, missing: ir.BooleanValue, item: ClampedSum
) -> ir.FloatingValue:
    """``f(clamp(v) - shift) / step`` for a present value (``power`` 1 or 2).

    A missing value is replaced by ``lower`` before any arithmetic, so no NaN ever reaches a
    cast (an engine cast error would be data-dependent); :func:`_rounded` sets it back to
    NULL. LEAST/GREATEST skip NULLs in most engines, hence the explicit replacement.
    """
    safe = ibis.ifelse(missing, ibis.literal(item.lower, "float64"), number)
    value = ibis.greatest(ibis.least(safe, item.upper), item.lower)
    if item.shift:
        value = value - item.shift
    if item.power == 2:
        value = value * value
    return value / item.step


def _rounded(
    ratio: ir.FloatingValue, base: ir.IntegerValue, missing: ir.BooleanValue, item: ClampedSum
) -> ir.IntegerValue:
    """Unbiased randomised rounding of ``ratio`` (whose floor is ``base``): ``base + 1`` with
    probability ``ratio - base``, else ``base`` (a value on the grid is never moved), clamped
    to :meth:`ClampedSum.unit_range`; NULL for a missing value."""
    up = (ibis.random() < (ratio - base)).cast("int64")
    low, high = item.unit_range()
    units = ibis.greatest(ibis.least(base + up, high), low).cast("int64")
    return ibis.ifelse(missing, ibis.null("int64"), units)


def _units(column: ir.NumericValue, item: ClampedSum) -> ir.IntegerValue:
    """A row's integer units (module docstring) as one expression: NULL/NaN -> NULL (adds 0),
    else randomised rounding of ``f(clamp(v) - shift) / step``, clamped to
    :meth:`ClampedSum.unit_range`. :func:`with_units` computes the same in stages."""
    number = column.cast("float64")
    missing = is_missing(number)
    if item.power == 0:
        return (~missing).cast("int64")
    ratio = _ratio(number, missing, item)
    return _rounded(ratio, ratio.floor().cast("int64"), missing, item)


def with_units(
    t: ir.Table, projected: Mapping[str, ir.Value], sums: Sequence[ClampedSum]
) -> ir.Table:
    """``t.select(**projected)`` plus each sum's integer units (:func:`_units`, same arithmetic).

    The units are computed in three projections (missing flag and ratio; its floor; the
    rounded units) so that the engine evaluates the clamped ratio and its floor once per row,
    not once per use: one expression repeats them three times, and DuckDB then spends about a
    third more time per row on the same integers.
    """
    staged: dict[str, ir.Value] = dict(projected)
    flags: dict[str, str] = {}
    for j, item in enumerate(sums):
        number = t[item.column].cast("float64")
        if item.column not in flags:
            flags[item.column] = f"__missing{len(flags)}"
            staged[flags[item.column]] = is_missing(number)
        if item.power != 0:
            staged[f"__ratio{j}"] = _ratio(number, is_missing(number), item)
    rows = t.select(**staged)
    rows = rows.mutate(
        **{
            f"__base{j}": rows[f"__ratio{j}"].floor().cast("int64")
            for j, item in enumerate(sums)
            if item.power != 0
        }
    )
    final: dict[str, ir.Value] = {name: rows[name] for name in projected}
    for j, item in enumerate(sums):
        missing = rows[flags[item.column]]
        final[item.name] = (
            (~missing).cast("int64")
            if item.power == 0
            else _rounded(rows[f"__ratio{j}"], rows[f"__base{j}"], missing, item)
        )
    return rows.select(**final)


def _clamped(column: ir.NumericValue, clamp: ClampCount) -> ir.IntegerValue:
    """1 when a present value lies strictly outside ``clamp.bound`` on its side, else 0."""
    number = column.cast("float64")
    outside = number < clamp.bound if clamp.side == "below" else number > clamp.bound
    return ibis.ifelse(is_missing(number), 0, outside.cast("int64")).cast("int64")


def _sums(rows: ir.Table, names: Sequence[str]) -> dict[str, ir.Value]:
    return {name: rows[name].sum().fill_null(0) for name in names}


def _group(rows: ir.Table, keys: list[str], metrics: dict[str, ir.Value]) -> ir.Table:
    if not keys:
        return rows.aggregate(**metrics)
    return rows.group_by(keys).aggregate(**metrics)


def _bounded(
    rows: ir.Table,
    keys: list[str],
    metrics: Sequence[str],
    bound: Contribution,
    capped: str | None = None,
) -> ir.Table:
    """Sum the rows each user keeps, hash-ordered cells ranked in one window."""
    kept = _keep_by_hash(rows, keys, bound, capped)
    names = [*metrics, capped] if capped is not None else list(metrics)
    return _group(kept, keys, {COUNT: kept.count()} | _sums(kept, names))


def _keep_by_hash(
    rows: ir.Table, keys: list[str], bound: Contribution, capped: str | None = None
) -> ir.Table:
    """One window: order each user's rows by (cell hash, cell, random); rank cells and rows.

    ``hash(hash(user, cell, salt))`` with a fresh random salt puts each user's cells in a random
    order; a row's cell index is the dense rank of its (hash, cell) and its index within the
    cell is its row number minus the rank of the cell's first row. All three ranks share one
    sort of ``(user, hash, cell, random)``. With ``capped``, the user's first kept row (cell
    index 0, row index 0) carries 1 when any of the user's rows is dropped (a window maximum
    over the user's rows), every other row 0.
    """
    salt = ibis.literal(secrets.randbits(62), "int64")
    fields = {"u": rows[bound.user], "s": salt} | {f"k{i}": rows[c] for i, c in enumerate(keys)}
    # hash() again: engines combine field hashes cheaply; DuckDB's struct hash alone let a user
    # with integer cells 0..3 keep only 2 of the 6 possible pairs. The outer hash mixes them.
    rows = rows.mutate(**{_HASH: ibis.struct(fields).hash().hash(), _RAND: ibis.random()})
    user, cell = [rows[bound.user]], [rows[_HASH], *(rows[c] for c in keys)]
    by_cell = {"group_by": user, "order_by": cell}
    by_row = {"group_by": user, "order_by": [*cell, rows[_RAND]]}
    ranked = rows.mutate(
        **{
            _CELL: ibis.dense_rank().over(**by_cell),
            _ROWNUM: ibis.row_number().over(**by_row) - ibis.rank().over(**by_cell),
        }
    )
    if capped is not None:
        dropped = (ranked[_CELL] >= bound.max_groups) | (ranked[_ROWNUM] >= bound.max_rows)
        any_dropped = dropped.cast("int64").max().over(group_by=ranked[bound.user])
        first = (ranked[_CELL] == 0) & (ranked[_ROWNUM] == 0)
        ranked = ranked.mutate(**{capped: ibis.ifelse(first, any_dropped, 0).cast("int64")})
    return ranked.filter((ranked[_CELL] < bound.max_groups) & (ranked[_ROWNUM] < bound.max_rows))


def _bounded_by_two_windows(
    rows: ir.Table,
    keys: list[str],
    metrics: Sequence[str],
    bound: Contribution,
    capped: str | None = None,
) -> ir.Table:
    """Fallback without ``hash()``: random rows per (user, cell), then random cells per user."""
    if capped is not None:
        return _capped_by_two_windows(rows, keys, metrics, bound, capped)
    cell = [bound.user, *keys]
    rows = rows.mutate(**{_RAND: ibis.random()})
    within = ibis.row_number().over(group_by=[rows[c] for c in cell], order_by=rows[_RAND])
    rows = rows.mutate(**{_ROWNUM: within}).filter(ibis._[_ROWNUM] < bound.max_rows)
    per_user = rows.group_by(cell).aggregate(**({COUNT: rows.count()} | _sums(rows, metrics)))
    per_user = per_user.mutate(**{_RAND: ibis.random()})
    order = ibis.row_number().over(group_by=per_user[bound.user], order_by=per_user[_RAND])
    kept = per_user.mutate(**{_ROWNUM: order}).filter(ibis._[_ROWNUM] < bound.max_groups)
    return _group(kept, keys, _sums(kept, [COUNT, *metrics]))


def _capped_by_two_windows(
    rows: ir.Table, keys: list[str], metrics: Sequence[str], bound: Contribution, capped: str
) -> ir.Table:
    """The two-window fallback that also counts capped users (as :func:`_keep_by_hash`): the
    per-(user, cell) step keeps the dropped-row flag, the per-user step adds dropped cells."""
    cell = [bound.user, *keys]
    rows = rows.mutate(**{_RAND: ibis.random()})
    within = ibis.row_number().over(group_by=[rows[c] for c in cell], order_by=rows[_RAND])
    rows = rows.mutate(**{_ROWNUM: within})
    keep = rows[_ROWNUM] < bound.max_rows
    per_cell: dict[str, ir.Value] = {
        COUNT: keep.cast("int64").sum(),
        _ROW_DROPPED: (~keep).cast("int64").max(),
    }
    for name in metrics:
        per_cell[name] = ibis.ifelse(keep, rows[name], 0).sum().fill_null(0)
    per_user = rows.group_by(cell).aggregate(**per_cell)
    per_user = per_user.mutate(**{_RAND: ibis.random()})
    order = ibis.row_number().over(group_by=per_user[bound.user], order_by=per_user[_RAND])
    per_user = per_user.mutate(**{_ROWNUM: order})
    dropped = ibis.ifelse(per_user[_ROWNUM] >= bound.max_groups, 1, per_user[_ROW_DROPPED])
    any_dropped = dropped.cast("int64").max().over(group_by=per_user[bound.user])
    first = per_user[_ROWNUM] == 0
    per_user = per_user.mutate(**{capped: ibis.ifelse(first, any_dropped, 0).cast("int64")})
    kept = per_user.filter(per_user[_ROWNUM] < bound.max_groups)
    return _group(kept, keys, _sums(kept, [COUNT, *metrics, capped]))
