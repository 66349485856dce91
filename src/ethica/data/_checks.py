"""Schema and value checks for count_outcomes, each with a message that says how to fix it.

Value checks run on the small grouped result (raw label and prediction values are group
keys), so checking costs no extra scan of the rows.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Sequence
from typing import Any

import ibis.expr.types as ir
import pyarrow as pa
import pyarrow.compute as pc

from ethica._exceptions import EthicaWarning, HighCardinalityWarning, SchemaError

__all__ = [
    "HIGH_CARDINALITY",
    "MAX_GROUPS",
    "check_binary",
    "check_columns",
    "check_group_count",
    "check_numeric",
    "check_positive_present",
    "check_score_range",
    "matching_values",
    "missing_rows",
    "same_value",
    "warn_high_cardinality",
    "warn_label_coding",
]

#: A protected attribute with more distinct values than this triggers a warning.
HIGH_CARDINALITY = 100
#: Default refusal threshold: a protected attribute with more distinct values than this
#: is refused (``max_groups=``/``--max-groups`` raises it). 250 admits every country of
#: the world and every US state; beyond it, judging each group at ``min_group_size=30``
#: needs tens of thousands of rows, and the result grows fast (1,000 groups: an 8.5 MB
#: JSON document, a 4 MB report and about 6,000 tests).
MAX_GROUPS = 250
_SHOW = 10
_BOOL_WORDS = {"true": "true", "false": "false"}


def _canonical(value: object) -> str:
    """``value`` as comparable text: booleans and true/false words in lower case."""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value).strip()
    return _BOOL_WORDS.get(text.lower(), text)


def _number(value: object) -> float | None:
    """``value`` as a finite number if it is one or spells one (booleans are 0/1)."""
    if isinstance(value, bool | int | float):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def same_value(value: object, wanted: object) -> bool:
    """Whether a column's ``value`` is the value the user means by ``wanted``.

    Equal as written (``"yes" == "yes"``, ``1 == "1"``, ``True == "true"``), or equal as
    numbers (``"1.0" == 1``, ``True == 1``). ``"True"`` does not match ``1``: a word is
    never read as a number, so a mistyped positive value is reported, not guessed.
    """
    if value is None or wanted is None:
        return False
    if _canonical(value) == _canonical(wanted):
        return True
    a, b = _number(value), _number(wanted)
    return a is not None and b is not None and a == b


def matching_values(values: Sequence[object], wanted: object) -> list[object]:
    """The entries of ``values`` that :func:`same_value` matches with ``wanted``."""
    return [v for v in values if same_value(v, wanted)]


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
    fix = "set positive_label= to the value meaning the positive outcome"
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


def _few_groups_hint(attribute: str, numeric: bool) -> str:
    if numeric:
        return f"bin it, e.g. protected=[Bins({attribute!r}, quantiles=5)]"
    return "map it to fewer categories before the audit"


def warn_high_cardinality(attribute: str, n_groups: int, *, numeric: bool) -> None:
    """Warn when a protected attribute has more than :data:`HIGH_CARDINALITY` groups."""
    if n_groups <= HIGH_CARDINALITY:
        return
    warnings.warn(
        f"protected column {attribute!r} has {n_groups:,} distinct values (more than "
        f"{HIGH_CARDINALITY:,}); most groups will be too small to judge: "
        f"{_few_groups_hint(attribute, numeric)}.",
        HighCardinalityWarning,
        stacklevel=4,  # the caller of count_outcomes
    )


def check_group_count(attribute: str, n_groups: int, *, numeric: bool, max_groups: int) -> None:
    """Refuse a protected attribute with more than ``max_groups`` distinct values."""
    if n_groups <= max_groups:
        return
    raise SchemaError(
        f"protected column {attribute!r} has {n_groups:,} distinct values, more than "
        f"max_groups={max_groups:,}: an audit of that many groups judges almost none of them "
        f"(each needs min_group_size= rows) and its result is "
        f"unreadable; {_few_groups_hint(attribute, numeric)}, or raise it to "
        f"max_groups={n_groups} if you mean it."
    )


def check_positive_present(
    role: str,
    column: str,
    values: Sequence[object],
    wanted: object,
    parameter: str,
    other_values: Sequence[object] = (),
) -> list[object]:
    """The values of ``column`` meaning the positive outcome; raise if there is none.

    A column without the positive value is accepted only when it holds one value that is
    plainly the negative outcome: ``0`` when the positive is ``1``, or the other column's
    non-positive value (a model that never predicts positive; a sample with no positive
    outcome). Anything else (``"hi"``/``"lo"``, ``0.05``/``0.95`` or ``0``/``1`` with a
    positive value ``"True"``) is a mistyped ``parameter`` and raises
    :class:`SchemaError` naming the values found and the fix.
    """
    found = matching_values(values, wanted)
    if found or not values:  # no values at all: the missing-value check reports it
        return found
    if len(values) == 1:
        only = values[0]
        zero_one = _number(only) == 0.0 and _number(wanted) == 1.0
        shared = any(same_value(only, v) for v in other_values)
        if zero_one or shared:
            return []
    example = values[-1]
    numbers = [_number(v) for v in values]
    score_like = all(n is not None and 0.0 < n < 1.0 for n in numbers)
    hint = (
        f"; its values look like probabilities: pass score={column!r} with a threshold instead"
        if score_like and role == "prediction"
        else ""
    )
    raise SchemaError(
        f"{parameter}={wanted!r} is not among the values of {role} column {column!r}: "
        f"{_preview(values)}; set {parameter}= to the value meaning the "
        f"positive outcome, e.g. {parameter}={example!r}{hint}."
    )


def warn_label_coding(column: str, values: Sequence[object], wanted: object) -> None:
    """Warn when a label coded ``{1, 2}`` was read with the default positive value 1."""
    numbers = {_number(v) for v in values}
    if numbers != {1.0, 2.0}:
        return
    warnings.warn(
        f"label column {column!r} is coded {{1, 2}} and positive_label={wanted!r} was assumed "
        "(the default); many data sets code the positive outcome as 2 (or 1 as 'good'): "
        "say which is positive with positive_label=1 or positive_label=2 to silence this "
        "warning.",
        EthicaWarning,
        stacklevel=4,  # the caller of count_outcomes
    )
