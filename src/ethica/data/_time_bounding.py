"""Contribution bounding across time, pushed down to the engine (time series releases).

A time series release counts (or sums) rows by *(key, time bucket)*. Its privacy unit is a
user's rows in any ``w`` consecutive buckets (:mod:`ethica.privacy.stream`), so bounding
works per user and per *block* of ``b`` consecutive buckets (``b = 1``: each bucket on its
own, the only choice for a stream that reads one bucket's file at a time):

1. each row gets its bucket index ``floor((time - start) / bucket)`` (rows with a NULL time,
   or outside ``[0, periods)``, are dropped: a public rule, not a look at the data) and its
   block ``bucket // b``;
2. within each ``(user, block)``, the user's ``(bucket, key)`` cells are put in a random order
   by ``hash(hash(user, block, bucket, key, salt))`` with a fresh 62-bit salt, rows within a
   cell by an independent ``random()``, as in :mod:`ethica.data._bounding` (Wilson et al.
   2020); rows of cells past the first ``max_cells`` and rows past the first ``max_rows`` of
   a cell are dropped;
3. ``GROUP BY bucket, key`` and sum, with the same integer units as single releases
   (:func:`ethica.data._bounding._units`: clamping, unbiased randomised rounding, the exact
   unit range), so the sensitivity is derived from the very integers the engine produces.

What one user's rows in one block can change after bounding is a function of that user's rows
in that block, the salt and the row randomness only: at most ``max_cells`` cells of the block,
by at most ``max_rows`` rows each.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import ibis
import ibis.expr.types as ir
import pandas as pd

from ethica._exceptions import InvalidParameterError, SchemaError
from ethica.data._bounding import (
    COUNT,
    ClampedSum,
    _group,
    _keep_keys,
    _sums,
    _units,
    check_aggregate,
    is_missing,
)
from ethica.data._checks import check_columns
from ethica.data._engine import run
from ethica.data._private_sources import parse_numbers, private_table
from ethica.data._sources import Backend, open_source

__all__ = ["BUCKET", "CAPPED", "SeriesSource", "bounded_series", "clamp_columns", "series_source"]

BUCKET = "__bucket"
"""Name of the bucket-index column in :func:`bounded_series`'s result."""
CAPPED = "__capped"
"""With ``report=True``: per cell, the capped users whose flag row landed in it."""

_BLOCK, _HASH, _RAND, _CELL, _ROWNUM = "__block", "__hash", "__rand", "__cell", "__rownum"


def bounded_series(
    source: object,
    *,
    user: str,
    max_cells: int,
    max_rows: int,
    by: Sequence[str] = (),
    key_filter: Mapping[str, Sequence[object]] | None = None,
    sums: Sequence[ClampedSum] = (),
    time: str | None = None,
    start: datetime | None = None,
    bucket_seconds: int = 86_400,
    periods: int = 1,
    block: int = 1,
    drop_null_users: bool = True,
    table: str | None = None,
    backend: Backend | None = None,
    salt: int | None = None,
    report: bool = False,
) -> pd.DataFrame:
    """Per-(bucket, key) row counts and clamped integer sums, bounded per user and block.

    Parameters
    ----------
    source
        Anything :func:`~ethica.data.resolve_table` accepts.
    user
        The user-id column.
    max_cells, max_rows
        At most ``max_cells`` (bucket, key) cells per user per block, ``max_rows`` rows each.
    by, key_filter, sums
        As in :func:`ethica.data._bounding.bounded_aggregate`.
    time, start, bucket_seconds, periods
        Bucket ``i`` holds the rows with ``start + i * bucket <= time < start + (i+1) *
        bucket``, ``0 <= i < periods``. Without ``time`` every row is in bucket 0 (a file that
        holds one bucket), and ``periods`` must be 1.
    block
        Buckets per bounding block (``periods`` need not be a multiple).
    salt
        The hash salt; ``None`` (always, outside tests) draws a fresh 62-bit one. Tests fix
        it to compare neighbouring tables under the same hash order.
    report
        Also count, in the same query, what bounding did (a bounding report's exact input):
        :data:`CAPPED` is 1 on one kept row of each user with any row dropped by the caps
        (anywhere in the series), and per sum ``j`` the kept rows whose value lies below /
        above its bounds (:func:`clamp_columns`; NULL and NaN are not counted).

    Returns
    -------
    pandas.DataFrame
        One row per non-empty cell: :data:`BUCKET`, the ``by`` columns, :data:`COUNT` and one
        integer column per sum (and with ``report`` the per-cell report counts: their totals
        over the cells are the report).
    """
    for name, value in (("max_cells", max_cells), ("max_rows", max_rows), ("block", block)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise InvalidParameterError(f"{name} must be an integer >= 1, got {value!r}.")
    if time is None and periods != 1:
        raise InvalidParameterError(
            f"without a time column every row is in one bucket; got periods={periods}. Name "
            "the time column (time=...) to release several buckets."
        )
    if time is not None and start is None:
        raise InvalidParameterError("a time column needs the start of bucket 0 (start=...).")
    src = open_source(source, table=table, backend=backend)
    t = src.table
    check_aggregate(t, by=by, sums=sums)
    check_columns(t, [("user-id", user)] + ([("time", time)] if time else []))
    projected: dict[str, ir.Value] = {c: t[c] for c in by}
    for column in by:
        key = t[column]
        if key.type().is_floating():  # NaN is NULL
            projected[column] = ibis.ifelse(key.isnan(), ibis.null(key.type()), key)
    for item in sums:
        projected[item.name] = _units(t[item.column], item)
    if report:
        for (below, above), item in zip(clamp_columns(sums), sums, strict=True):
            number = t[item.column].cast("float64")
            present = ~is_missing(number)
            projected[below] = (present & (number < item.lower)).cast("int64")
            projected[above] = (present & (number > item.upper)).cast("int64")
    projected[user] = t[user]
    if time is None:
        projected[BUCKET] = ibis.literal(0, "int64")
    else:
        projected[BUCKET] = _bucket_index(t[time], start, bucket_seconds)  # type: ignore[arg-type]
    rows = t.select(**projected)
    if time is not None:
        rows = rows.filter(rows[BUCKET].notnull() & (rows[BUCKET] >= 0) & (rows[BUCKET] < periods))
    if drop_null_users:
        rows = rows.filter(~is_missing(rows[user]))
    for column, allowed in (key_filter or {}).items():
        rows = _keep_keys(rows, column, list(allowed), src.backend)
    rows = rows.mutate(**{_BLOCK: rows[BUCKET] // block})
    if salt is None:
        salt = secrets.randbits(62)
    kept = _keep_by_hash(rows, [BUCKET, *by], user, max_cells, max_rows, salt, report)
    metrics = [s.name for s in sums]
    if report:
        metrics += [CAPPED, *(c for pair in clamp_columns(sums) for c in pair)]
    grouped = _group(kept, [BUCKET, *by], {COUNT: kept.count()} | _sums(kept, metrics))
    return run(src, grouped, action="aggregate").to_pandas()


@dataclass(frozen=True)
class SeriesSource:
    """A series' table, checked against the request from its schema alone (nothing read).

    Attributes
    ----------
    table
        The Ibis table, a CSV's numbers and times parsed in the engine.
    keys
        The public keys in the key column's own type (text columns compare as text).
    identity
        What the release reads, for replay checks: the source as given with the schema.
    """

    table: ir.Table
    keys: list[object]
    identity: str


def series_source(
    source: object,
    *,
    time: str | None,
    user: str,
    by: str | None = None,
    keys: Sequence[object] = (),
    sums: Sequence[ClampedSum] = (),
    table: str | None = None,
) -> SeriesSource:
    """Open ``source`` for a time series release and check it from its schema (free).

    ``time=None``: the source holds one bucket's rows (a stream's daily file), no time column.

    A CSV is read as text (:func:`~ethica.data._private_sources.private_table`) and its sum
    columns and times are parsed in the engine, row by row (a value that does not parse is
    NULL, never an error); a date column becomes a timestamp.

    Raises
    ------
    SchemaError
        The time column is neither a timestamp, a date nor text; a column is missing or of
        the wrong type (:func:`~ethica.data._bounding.check_aggregate`).
    InvalidParameterError
        The key column is numeric but ``keys`` are not numbers.
    """
    data, text_csv = private_table(source, table=table)
    if text_csv:
        data = parse_numbers(data, [s.column for s in sums])
    if time is not None and time in data.columns:
        dtype = data[time].type()
        if dtype.is_string():
            data = data.mutate(**{time: data[time].try_cast("timestamp")})
        elif dtype.is_date():
            data = data.mutate(**{time: data[time].cast("timestamp")})
        elif not dtype.is_timestamp():
            raise SchemaError(
                f"time column {time!r} has type {dtype}; a series needs a timestamp or date "
                "(or text in ISO format)."
            )
    check_aggregate(data, by=[by] if by else [], sums=sums)
    check_columns(data, [("user-id", user)] + ([("time", time)] if time is not None else []))
    label = str(source) if isinstance(source, str | Path) else type(source).__name__
    return SeriesSource(data, _typed_keys(data, by, keys), f"{label}|{data.schema()}")


def _typed_keys(data: ir.Table, by: str | None, keys: Sequence[object]) -> list[object]:
    """The public keys in the key column's own type (text columns compare as text)."""
    if by is None:
        return []
    dtype = data[by].type()
    if dtype.is_string():
        return [str(k) for k in keys]
    if dtype.is_numeric():
        wrong = [k for k in keys if isinstance(k, bool) or not isinstance(k, int | float)]
        if wrong:
            raise InvalidParameterError(
                f"key column {by!r} is numeric ({dtype}) but keys {wrong!r} are not numbers; "
                "give the keys as the column holds them."
            )
    return list(keys)


def _bucket_index(column: ir.Value, start: datetime, seconds: int) -> ir.IntegerValue:
    """``floor((time - start) / bucket)`` in whole seconds (a NULL time gives NULL)."""
    dtype = column.type()
    if not dtype.is_timestamp():
        raise SchemaError(
            f"time column has type {dtype}; bucketing needs a timestamp (cast it, or write "
            "the file with a timestamp column)."
        )
    origin = int(start.timestamp()) if start.tzinfo else _naive_epoch(start)
    elapsed = column.epoch_seconds() - origin
    return (elapsed // seconds).cast("int64")


def _naive_epoch(moment: datetime) -> int:
    """Seconds since 1970-01-01 of a naive datetime read as UTC (as engines read them)."""
    return int((moment - datetime(1970, 1, 1)).total_seconds())


def clamp_columns(sums: Sequence[ClampedSum]) -> list[tuple[str, str]]:
    """Names of the per-cell report counts of each sum: kept values below / above its bounds."""
    return [(f"__below{j}", f"__above{j}") for j in range(len(sums))]


def _keep_by_hash(
    rows: ir.Table,
    cells: list[str],
    user: str,
    max_cells: int,
    max_rows: int,
    salt: int,
    capped: bool = False,
) -> ir.Table:
    """Per (user, block): cells in hash order, rows in random order; keep the first ones.

    With ``capped``, :data:`CAPPED` is 1 on the user's first kept row of their first block
    when any of the user's rows (in any block) is dropped, else 0: summed over the cells it
    counts each capped user once."""
    fields = {"u": rows[user], "b": rows[_BLOCK], "s": ibis.literal(salt, "int64")} | {
        f"k{i}": rows[c] for i, c in enumerate(cells)
    }
    rows = rows.mutate(**{_HASH: ibis.struct(fields).hash().hash(), _RAND: ibis.random()})
    part = [rows[user], rows[_BLOCK]]
    order = [rows[_HASH], *(rows[c] for c in cells)]
    by_cell = {"group_by": part, "order_by": order}
    by_row = {"group_by": part, "order_by": [*order, rows[_RAND]]}
    ranked = rows.mutate(
        **{
            _CELL: ibis.dense_rank().over(**by_cell),
            _ROWNUM: ibis.row_number().over(**by_row) - ibis.rank().over(**by_cell),
        }
    )
    keep = (ranked[_CELL] < max_cells) & (ranked[_ROWNUM] < max_rows)
    if capped:
        by_user = {"group_by": ranked[user]}
        any_dropped = (~keep).cast("int64").max().over(**by_user)
        first = (
            (ranked[_CELL] == 0)
            & (ranked[_ROWNUM] == 0)
            & (ranked[_BLOCK] == ranked[_BLOCK].min().over(**by_user))
        )
        ranked = ranked.mutate(**{CAPPED: ibis.ifelse(first, any_dropped, 0).cast("int64")})
    return ranked.filter(keep)


__all__ += ["COUNT", "ClampedSum"]
