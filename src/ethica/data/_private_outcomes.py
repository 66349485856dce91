"""The rows of a private fairness audit, as an Ibis expression decided by the schema alone.

An exact audit (:func:`ethica.data.count_outcomes`) looks at the data to help: it lists the
values found in a label column when the positive value is absent, sniffs a CSV's types, and
computes quantile bin edges. Under differential privacy each of those would leak single
records for free. This module builds, from the schema and the user's declarations only, one
Ibis table with three derived columns per row:

* each protected attribute as text (a :class:`~ethica.data.Bins` attribute as its bin label,
  from its fixed edges), with a missing value as :data:`~ethica.data.MISSING_LABEL`;
* :data:`LABEL` = 1 where the label equals the positive value, 0 where it is present and
  differs, NULL where it is missing;
* :data:`PREDICTION` likewise for the decision (or ``score >= threshold``).

Every rule is row-local and total (no cast can fail: text is parsed with ``TRY_CAST``), so
the release that counts these rows keeps the privacy contract. Rows whose values fall outside
the declared groups, or whose label or prediction is missing, fall in no released cell.
"""

from __future__ import annotations

from collections.abc import Sequence

import ibis
import ibis.expr.types as ir

from ethica._exceptions import InvalidParameterError, SchemaError
from ethica.data._bins import Bins, bin_index, bin_label, bin_labels
from ethica.data._count_table import MISSING_LABEL
from ethica.data._private_sources import parse_numbers, private_table

__all__ = ["LABEL", "PREDICTION", "private_outcome_table"]

#: Name of the derived 0/1 label column.
LABEL = "__ethica_label"
#: Name of the derived 0/1 decision column.
PREDICTION = "__ethica_prediction"


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _flag(table: ir.Table, column: str, positive: object, role: str) -> ir.IntegerValue:
    """1 where ``column`` equals ``positive``, 0 where it differs, NULL where missing.

    Numbers compare as numbers (a text column is parsed with ``TRY_CAST``), text as text,
    booleans as booleans; which rule applies depends only on the column's type and the
    declared value.
    """
    value = table[column]
    dtype = value.type()
    if dtype.is_boolean():
        if not isinstance(positive, bool | int) or positive not in (0, 1):
            raise InvalidParameterError(
                f"{role} column {column!r} is boolean but the positive value is {positive!r}; "
                f"pass True (or 1) as the positive value."
            )
        equal: ir.BooleanValue = value == bool(positive)
        present = value.notnull()
    elif dtype.is_numeric():
        if not _is_number(positive):
            raise InvalidParameterError(
                f"{role} column {column!r} is numeric but the positive value is {positive!r}; "
                "pass a number (e.g. 1)."
            )
        present = value.notnull()
        if dtype.is_floating():
            present = present & ~value.isnan()
        equal = value.cast("float64") == float(positive)  # type: ignore[arg-type]
    elif dtype.is_string():
        text = value.strip()
        present = value.notnull() & (text.lower() != "nan") & (text != "")
        if _is_number(positive) or isinstance(positive, bool):
            parsed = text.try_cast("float64")
            present = present & parsed.notnull()
            equal = parsed == float(positive)  # type: ignore[arg-type]
        else:
            equal = text == str(positive)
    else:
        raise SchemaError(
            f"{role} column {column!r} has type {dtype}, which a private audit cannot compare "
            "with a positive value; give a boolean, numeric or text column."
        )
    return ibis.ifelse(present, ibis.ifelse(equal, 1, 0), ibis.null("int8")).cast("int8")


def _group(table: ir.Table, spec: str | Bins) -> ir.StringValue:
    if isinstance(spec, Bins):
        assert spec.edges is not None  # quantile bins are refused before this point
        column = table[spec.column]
        if not column.type().is_numeric():
            raise SchemaError(
                f"Bins({spec.column!r}) needs a numeric column, but {spec.column!r} has type "
                f"{column.type()}; bin a numeric column or declare its groups as text."
            )
        return bin_label(bin_index(column, spec.edges), bin_labels(spec.edges))
    value = table[spec]
    if value.type().is_floating():
        value = ibis.ifelse(value.isnan(), ibis.null(value.type()), value)
    text = value.cast("string")
    if value.type().is_string():
        text = value.strip()
    return text.fill_null(MISSING_LABEL)


def _require(table: ir.Table, columns: Sequence[str]) -> None:
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise SchemaError(
            f"column(s) {missing} are not in the source; its columns are "
            f"{', '.join(table.columns)}. Check the spelling."
        )


def private_outcome_table(
    source: object,
    *,
    label: str,
    prediction: str | None,
    score: str | None,
    threshold: float,
    protected: Sequence[str | Bins],
    positive_label: object,
    positive_prediction: object,
    table: str | None = None,
    encoding: str | None = None,
) -> ir.Table:
    """The source with the audit's derived columns, built from its schema alone.

    Parameters
    ----------
    source, table, encoding
        As for :func:`ethica.data._private_sources.private_table` (a CSV is read as text).
    label, prediction, score, threshold
        The outcome column; the decision column, or a score turned into decisions by
        ``score >= threshold`` (a row with a missing score has a missing decision).
    protected
        Protected attributes: column names (their text values are the groups) or
        :class:`~ethica.data.Bins` with fixed edges. Each keeps its name, now as text.
    positive_label, positive_prediction
        The values meaning "positive" in the label and prediction columns.

    Returns
    -------
    ibis.Table
        Every source column, the protected attributes replaced by their text groups, plus
        :data:`LABEL` and :data:`PREDICTION` (int8, 1 / 0 / NULL).
    """
    base, text_csv = private_table(source, table=table, encoding=encoding)
    columns = [label, *(s.column if isinstance(s, Bins) else s for s in protected)]
    columns += [prediction] if prediction is not None else []
    columns += [score] if score is not None else []
    _require(base, columns)
    if text_csv:
        numeric = [s.column for s in protected if isinstance(s, Bins)]
        numeric += [score] if score is not None else []
        base = parse_numbers(base, numeric)
    derived: dict[str, ir.Value] = {
        (s.column if isinstance(s, Bins) else s): _group(base, s) for s in protected
    }
    derived[LABEL] = _flag(base, label, positive_label, "label")
    if prediction is not None:
        derived[PREDICTION] = _flag(base, prediction, positive_prediction, "prediction")
    else:
        assert score is not None
        value = base[score]
        if not value.type().is_numeric():
            raise SchemaError(
                f"score column {score!r} has type {value.type()}; give a numeric score column."
            )
        present = value.notnull()
        if value.type().is_floating():
            present = present & ~value.isnan()
        decided = ibis.ifelse(value.cast("float64") >= float(threshold), 1, 0)
        derived[PREDICTION] = ibis.ifelse(present, decided, ibis.null("int8")).cast("int8")
    return base.mutate(**derived)
