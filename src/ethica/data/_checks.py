"""Schema and value checks for count_outcomes, each with a message that says how to fix it.

Value checks run on the small grouped result (raw label and prediction values are group
keys), so checking costs no extra scan of the rows.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence
from typing import Any

import ibis.expr.datatypes as dt
import ibis.expr.types as ir
import pyarrow as pa
import pyarrow.compute as pc

from ethica._exceptions import HighCardinalityWarning, SchemaError

__all__ = [
    "HIGH_CARDINALITY",
    "check_binary",
    "check_columns",
    "check_numeric",
    "check_score_range",
    "coerce_positive",
    "missing_rows",
    "warn_high_cardinality",
]

#: A protected attribute with more distinct values than this triggers a warning.
HIGH_CARDINALITY = 1000
_SHOW = 10


def _preview(values: Sequence[object]) -> str:
    shown = ", ".join(repr(v) for v in values[:_SHOW])
    return f"[{shown}{', ...' if len(values) > _SHOW else ''}]"


def check_columns(table: ir.Table, roles: Iterable[tuple[str, str]]) -> None:
    """Raise :class:`SchemaError` if a ``(role, column)`` names a column the table lacks."""
    available = list(table.columns)
    for role, column in roles:
        if column not in available:
            raise SchemaError(
                f"{role} column {column!r} not found; available columns: {available}. "
                "Check the spelling (names are case-sensitive)."
            )


def check_numeric(table: ir.Table, role: str, column: str, hint: str) -> None:
    """Raise :class:`SchemaError` unless ``column`` has a numeric type."""
    dtype = table.schema()[column]
    if not dtype.is_numeric() or dtype.is_boolean():
        raise SchemaError(
            f"{role} column {column!r} must be numeric, but its type is {dtype}; {hint}"
        )


def coerce_positive(value: object, dtype: dt.DataType) -> object | None:
    """``value`` as a literal of the column type ``dtype`` (``None`` if it cannot be one).

    Lets ``positive_label="1"`` (from the command line) match an integer column and
    ``positive_label=1`` match a string column holding ``"1"``.
    """
    if dtype.is_string():
        return value if isinstance(value, str) else str(value)
    if dtype.is_boolean():
        truthy = {"1": True, "true": True, "0": False, "false": False}
        return truthy.get(str(value).strip().lower())
    if dtype.is_integer() or dtype.is_floating() or dtype.is_decimal():
        try:
            number = float(str(value)) if not isinstance(value, int | float) else float(value)
        except ValueError:
            return None
        if dtype.is_integer():
            return int(number) if number.is_integer() else None
        return number
    return value


def distinct_values(column: pa.ChunkedArray) -> list[Any]:
    """Distinct non-missing values of a small result column, sorted when comparable."""
    values = [v for v in pc.unique(column).to_pylist() if v is not None and v == v]
    try:
        return sorted(values)
    except TypeError:
        return values


def check_binary(
    role: str,
    column: str,
    values: Sequence[object],
    *,
    positive: object,
    require_positive: bool,
    requested: object = None,
) -> None:
    """Raise :class:`SchemaError` unless ``values`` has at most two values, one ``positive``.

    ``positive`` is the positive label coerced to the column's type; ``requested`` is the
    value the user gave (shown in the message; defaults to ``positive``).
    """
    fix = "set positive_label (CLI: --positive-label) to the value meaning the positive outcome"
    if len(values) > 2:
        raise SchemaError(
            f"{role} column {column!r} is not binary: it has {len(values)} distinct values "
            f"{_preview(values)}. Pass a column with two values and {fix}."
        )
    if require_positive and positive not in values:
        shown = positive if requested is None else requested
        raise SchemaError(
            f"positive_label={shown!r} is not among the values of {role} column {column!r}: "
            f"{_preview(values)}; {fix}, e.g. positive_label={values[-1]!r}"
            if values
            else f"{role} column {column!r} has no non-missing values."
        )


def missing_rows(cells: pa.Table, columns: Sequence[str], count: str) -> dict[str, int]:
    """Rows whose value in each of ``columns`` is NULL or NaN, by column.

    ``cells`` is a grouped result whose column ``count`` holds each cell's row count.
    """
    out = {}
    for name in columns:
        mask = pc.is_null(cells[name], nan_is_null=True)
        out[name] = int(pc.sum(pc.filter(cells[count], mask)).as_py() or 0)
    return out


def check_score_range(column: str, low: float | None, high: float | None) -> None:
    """Raise :class:`SchemaError` unless every score lies in [0, 1]."""
    if low is None or high is None:
        return
    if low < 0.0 or high > 1.0:
        raise SchemaError(
            f"score column {column!r} must hold probabilities in [0, 1], but its values range "
            f"from {low!r} to {high!r}; rescale it (e.g. a logistic function of a margin) or "
            "pass a 0/1 prediction column instead."
        )


def warn_high_cardinality(attribute: str, n_groups: int, *, numeric: bool) -> None:
    """Warn when a protected attribute has more than :data:`HIGH_CARDINALITY` groups."""
    if n_groups <= HIGH_CARDINALITY:
        return
    hint = (
        f"bin it, e.g. protected=[Bins({attribute!r}, quantiles=5)] (CLI: --bins {attribute}=q5)"
        if numeric
        else "map it to fewer categories before the audit"
    )
    warnings.warn(
        f"protected column {attribute!r} has {n_groups:,} distinct values (more than "
        f"{HIGH_CARDINALITY:,}); most groups will be too small to judge: {hint}.",
        HighCardinalityWarning,
        stacklevel=4,  # the caller of count_outcomes
    )
