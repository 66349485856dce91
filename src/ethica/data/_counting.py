"""count_outcomes: the audit's sufficient statistics in one GROUP BY pushed down to the engine."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ethica._exceptions import DataSourceError, InvalidParameterError, SchemaError
from ethica.data._bins import Bins, bin_index, bin_label, bin_labels
from ethica.data._checks import (
    check_binary,
    check_columns,
    check_numeric,
    check_score_range,
    coerce_positive,
    distinct_values,
    missing_rows,
    warn_high_cardinality,
)
from ethica.data._count_table import MISSING_LABEL, CountTable
from ethica.data._csv_errors import csv_error
from ethica.data._engine import to_arrow
from ethica.data._sources import Backend, Source, first_line, open_source

__all__ = ["MAX_CELLS", "count_outcomes"]

#: The grouped result is fetched with ``LIMIT MAX_CELLS + 1``; more cells means a
#: non-binary label/prediction or far too many groups, and is reported, not fetched.
MAX_CELLS = 500_000
_RESERVED = ("label", "prediction", "score_bin", "n", "score_sum")
_LABEL, _PRED, _SBIN, _N = "__label_raw", "__pred_raw", "__score_bin", "__n"
_SSUM, _SMIN, _SMAX = "__score_sum", "__score_min", "__score_max"
_LABEL_POS, _PRED_POS, _SCORE = "__label_pos", "__pred_pos", "__score"


@dataclass(frozen=True)
class _Attribute:
    """One protected attribute: its source column, its bins (if any) and its key alias."""

    name: str
    key: str
    edges: tuple[float, ...] | None
    numeric: bool


def count_outcomes(
    source: object,
    *,
    label: str,
    prediction: str | None = None,
    score: str | None = None,
    threshold: float = 0.5,
    protected: str | Bins | Sequence[str | Bins],
    positive_label: object = 1,
    score_bins: int = 10,
    drop_missing: bool = False,
    table: str | None = None,
    backend: Backend | None = None,
) -> CountTable:
    """Count rows per (protected groups, label, prediction, score bin) in one engine query.

    The engine runs a single GROUP BY over the protected values (numeric ones binned),
    the raw label and prediction, and the score bin, returning per cell the row count and
    the sum (and range) of the score; then the small grouped result is checked and
    collapsed. The rows never enter Python.

    Parameters
    ----------
    source
        Anything :func:`~ethica.data.resolve_table` accepts.
    label
        The true-outcome column; binarised as ``label == positive_label``.
    prediction
        The decision column; binarised as ``prediction == positive_label``.
    score
        A score in [0, 1]. Without ``prediction`` the decision is ``score >= threshold``;
        with it, the score only feeds calibration (equal-width bins on [0, 1]).
    threshold
        Decision threshold on ``score`` when no prediction is given.
    protected
        Protected column names and/or :class:`Bins` for numeric ones. Values become
        strings; missing values form the group ``"(missing)"``.
    positive_label
        The value of label and prediction that means the positive outcome.
    score_bins
        Number of equal-width score bins on [0, 1].
    drop_missing
        Drop (and count in ``n_dropped``) rows whose label, prediction or score is
        missing, instead of raising.
    table, backend
        As in :func:`~ethica.data.resolve_table`.

    Returns
    -------
    CountTable

    Raises
    ------
    SchemaError
        A column is missing; label or prediction is not binary or lacks
        ``positive_label``; label/prediction/score has missing values (without
        ``drop_missing``); the score is not numeric or leaves [0, 1]; no rows.
    DataSourceError
        The source cannot be read (missing file, malformed CSV with its line number).

    Warns
    -----
    HighCardinalityWarning
        A protected attribute has more than 1,000 groups.
    """
    specs = _check_parameters(prediction, score, threshold, protected, score_bins)
    src = open_source(source, table=table, backend=backend)
    t = src.table
    check_columns(
        t,
        [("label", label)]
        + ([("prediction", prediction)] if prediction is not None else [])
        + ([("score", score)] if score is not None else [])
        + [("protected", s.column if isinstance(s, Bins) else s) for s in specs],
    )
    if score is not None:
        check_numeric(t, "score", score, "pass a probability column, or use prediction= instead.")
    for spec in specs:
        if isinstance(spec, Bins):
            hint = f"drop Bins and pass {spec.column!r} as a plain protected column."
            check_numeric(t, "binned protected", spec.column, hint)
    attributes = _attributes(t, specs, _quantile_edges(src, specs))
    grouped = _grouped_query(
        t, attributes, label, prediction, score, threshold, positive_label, score_bins
    )
    cells = _run(src, grouped.limit(MAX_CELLS + 1))
    if cells.num_rows > MAX_CELLS:
        _too_many_cells(src, label, prediction, attributes)
    return _finish(
        cells,
        attributes,
        label=label,
        prediction=prediction,
        score=score,
        positive_label=positive_label,
        label_type=t.schema()[label],
        pred_type=t.schema()[prediction] if prediction is not None else None,
        drop_missing=drop_missing,
        score_bins=score_bins,
        provenance={
            "source": src.description,
            "label": label,
            "prediction": prediction,
            "score": score,
            "threshold": threshold if score is not None else None,
            "positive_label": positive_label,
            "protected": [a.name for a in attributes],
            "bins": {a.name: list(a.edges) for a in attributes if a.edges is not None},
            "score_bins": score_bins if score is not None else None,
            "drop_missing": drop_missing,
        },
    )


def _check_parameters(
    prediction: str | None,
    score: str | None,
    threshold: float,
    protected: str | Bins | Sequence[str | Bins],
    score_bins: int,
) -> list[str | Bins]:
    if prediction is None and score is None:
        raise InvalidParameterError(
            "give prediction= (a 0/1 decision column) or score= (a probability column), "
            "or both; CLI: --prediction COL or --score COL."
        )
    if isinstance(threshold, bool) or not isinstance(threshold, int | float):
        raise InvalidParameterError(f"threshold must be a number in [0, 1], got {threshold!r}.")
    if not (math.isfinite(threshold) and 0.0 <= threshold <= 1.0):
        raise InvalidParameterError(f"threshold must be in [0, 1], got {threshold!r}.")
    if isinstance(score_bins, bool) or not isinstance(score_bins, int) or score_bins < 1:
        raise InvalidParameterError(f"score_bins must be an integer >= 1, got {score_bins!r}.")
    specs = [protected] if isinstance(protected, str | Bins) else list(protected)
    if not specs:
        raise InvalidParameterError(
            "protected must name at least one column, e.g. protected=['sex', 'race'] "
            "(CLI: --protected sex,race)."
        )
    names = [s.column if isinstance(s, Bins) else s for s in specs]
    for spec, name in zip(specs, names, strict=True):
        if not isinstance(spec, str | Bins):
            raise InvalidParameterError(
                f"protected entries must be column names or Bins, got {spec!r}."
            )
        if name in _RESERVED:
            raise InvalidParameterError(
                f"a protected column may not be named {name!r} (reserved for the count "
                f"table's {list(_RESERVED)}); rename it in the source."
            )
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise InvalidParameterError(f"protected lists {duplicates} more than once; list each once.")
    return specs


def _quantile_edges(src: Source, specs: Sequence[str | Bins]) -> dict[str, tuple[float, ...]]:
    """Compute the cut points of every quantile-binned attribute in one extra aggregate."""
    wanted = [s for s in specs if isinstance(s, Bins) and s.quantiles is not None]
    if not wanted:
        return {}
    t = src.table
    metrics = {
        f"q{i}_{j}": t[spec.column].quantile(p)
        for i, spec in enumerate(wanted)
        for j, p in enumerate(spec.quantiles or ())
    }
    row = _run(src, t.aggregate(**metrics)).to_pylist()[0]
    edges = {}
    for i, spec in enumerate(wanted):
        values = [v for k, v in row.items() if k.startswith(f"q{i}_") and v is not None]
        found = sorted({float(v) for v in values if v == v})
        if not found:
            raise SchemaError(
                f"cannot compute quantiles of protected column {spec.column!r}: it has no "
                "non-missing values; drop it from protected or fill it in."
            )
        edges[spec.column] = tuple(found)
    return edges


def _attributes(
    t: ir.Table, specs: Sequence[str | Bins], quantile_edges: dict[str, tuple[float, ...]]
) -> list[_Attribute]:
    out = []
    for i, spec in enumerate(specs):
        if isinstance(spec, Bins):
            edges = spec.edges if spec.edges is not None else quantile_edges[spec.column]
            out.append(_Attribute(spec.column, f"__g{i}", edges, numeric=True))
        else:
            dtype = t.schema()[spec]
            numeric = dtype.is_numeric() and not dtype.is_boolean()
            out.append(_Attribute(spec, f"__g{i}", None, numeric=numeric))
    return out


def _grouped_query(
    t: ir.Table,
    attributes: Sequence[_Attribute],
    label: str,
    prediction: str | None,
    score: str | None,
    threshold: float,
    positive_label: object,
    score_bins: int,
) -> ir.Table:
    """The one scan: GROUP BY groups, raw label, raw prediction, score bin; then label it.

    Per-row expressions (bin index, NaN-free score) are projected once in a subquery so
    the engine evaluates each a single time per row.
    """
    projected: dict[str, ir.Value] = {}
    for a in attributes:
        column = t[a.name]
        projected[a.key] = bin_index(column, a.edges) if a.edges is not None else column
    projected[_LABEL] = t[label]
    if prediction is not None:
        projected[_PRED] = t[prediction]
    if score is not None:
        projected[_SCORE] = _clean_score(t[score])
    rows = t.select(**projected)
    keys: dict[str, ir.Value] = {name: rows[name] for name in projected if name != _SCORE}
    metrics: dict[str, ir.Value] = {_N: rows.count()}
    if score is not None:
        value = rows[_SCORE]
        keys[_SBIN] = _score_bin(value, score_bins)
        metrics.update({_SSUM: value.sum(), _SMIN: value.min(), _SMAX: value.max()})
        if prediction is None:
            keys[_PRED] = value >= threshold
    grouped = rows.group_by(**keys).aggregate(**metrics)
    return grouped.mutate(
        **{a.key: _group_label(grouped[a.key], a) for a in attributes},
        **{_LABEL_POS: _is_positive(grouped[_LABEL], positive_label)},
        **{
            _PRED_POS: _is_positive(grouped[_PRED], positive_label)
            if prediction is not None
            else grouped[_PRED].cast("int8")
        },
    )


def _clean_score(column: ir.NumericColumn) -> ir.FloatingColumn:
    """The score as float64, with NaN made NULL (missing) so it is counted, not binned."""
    if column.type().is_floating():
        column = ibis.ifelse(column.isnan(), ibis.null(column.type()), column)
    return column.cast("float64")


def _score_bin(score: ir.FloatingValue, bins: int) -> ir.IntegerValue:
    """Equal-width bin ``min(floor(score * bins), bins - 1)`` on [0, 1]; NULL stays NULL.

    Out-of-range scores fall in the end bins (and are then rejected by the range check).
    """
    return ibis.cases(
        (score >= 1.0, bins - 1), (score <= 0.0, 0), else_=(score * bins).floor()
    ).cast("int16")


def _group_label(key: ir.Column, attribute: _Attribute) -> ir.StringValue:
    """Group labels in the engine, on the grouped rows: strings, NULL/NaN as the missing group."""
    if attribute.edges is not None:
        return bin_label(key, bin_labels(attribute.edges))
    if key.type().is_floating():
        key = ibis.ifelse(key.isnan(), ibis.null(key.type()), key)
    return key.cast("string").fill_null(MISSING_LABEL)


def _is_positive(raw: ir.Column, positive_label: object) -> ir.IntegerValue:
    literal = coerce_positive(positive_label, raw.type())
    if literal is None:
        return ibis.literal(0, "int8")
    return (raw == literal).cast("int8")


def _run(src: Source, expr: ir.Table) -> pa.Table:
    try:
        return to_arrow(expr, src.backend)
    except Exception as exc:
        if src.csv_path is not None:
            raise csv_error(src.csv_path, exc) from exc
        raise DataSourceError(
            f"the engine could not count {src.description!r}: {first_line(exc)}"
        ) from exc


def _too_many_cells(
    src: Source, label: str, prediction: str | None, attributes: Sequence[_Attribute]
) -> None:
    """Explain an oversized grouped result (runs only on this error path)."""
    t = src.table
    for role, column in (("label", label), ("prediction", prediction)):
        if column is None:
            continue
        sample = _run(src, t.select(column).distinct().limit(11))
        check_binary(
            role, column, distinct_values(sample[column]), positive=None, require_positive=False
        )
    raise SchemaError(
        f"the protected attributes {[a.name for a in attributes]} form more than "
        f"{MAX_CELLS:,} cells; bin numeric attributes (Bins / --bins) or audit fewer at once."
    )


def _finish(
    cells: pa.Table,
    attributes: Sequence[_Attribute],
    *,
    label: str,
    prediction: str | None,
    score: str | None,
    positive_label: object,
    label_type: Any,
    pred_type: Any,
    drop_missing: bool,
    score_bins: int,
    provenance: dict[str, object],
) -> CountTable:
    """Check the grouped result, drop missing rows if asked, and collapse it to the table."""
    n_total = int(pc.sum(cells[_N]).as_py() or 0)
    if n_total == 0:
        raise SchemaError(
            f"the source has no rows ({provenance['source']}); check the file, table or filter."
        )
    label_pos = coerce_positive(positive_label, label_type)
    label_values = distinct_values(cells[_LABEL])
    check_binary("label", label, label_values, positive=label_pos, require_positive=False)
    has_positive = label_pos in label_values
    if prediction is not None:
        pred_pos = coerce_positive(positive_label, pred_type)
        pred_values = distinct_values(cells[_PRED])
        check_binary(
            "prediction", prediction, pred_values, positive=pred_pos, require_positive=False
        )
        has_positive = has_positive or pred_pos in pred_values
    cells, n_dropped = _handle_missing(cells, label, prediction, score, drop_missing)
    if cells.num_rows == 0:
        raise SchemaError(
            f"no rows left after dropping {n_dropped:,} rows with missing values; "
            "check the label, prediction and score columns."
        )
    if not has_positive:  # neither column holds the positive label: it is surely mistyped
        check_binary(
            "label",
            label,
            label_values,
            positive=label_pos,
            require_positive=True,
            requested=positive_label,
        )
    if score is not None:
        check_score_range(score, pc.min(cells[_SMIN]).as_py(), pc.max(cells[_SMAX]).as_py())
    frame = _collapse(cells, attributes, has_score=score is not None)
    group_order = {a.name: _order(frame[a.name], a) for a in attributes}
    for a in attributes:
        warn_high_cardinality(a.name, len(group_order[a.name]), numeric=a.numeric)
    return CountTable(
        attributes=tuple(a.name for a in attributes),
        cells=frame,
        group_order=group_order,
        n_rows=int(frame["n"].sum()),
        score_bin_edges=(
            tuple(i / score_bins for i in range(score_bins + 1)) if score is not None else None
        ),
        n_dropped=n_dropped,
        provenance=provenance,
    )


def _handle_missing(
    cells: pa.Table, label: str, prediction: str | None, score: str | None, drop: bool
) -> tuple[pa.Table, int]:
    roles = {_LABEL: f"label {label!r}", _PRED: f"prediction {prediction!r}"}
    if score is not None:
        roles[_SBIN] = f"score {score!r}"
        if prediction is None:
            del roles[_PRED]  # the decision is derived from the score: one missing value
    mask = None
    for column in roles:
        nulls = pc.is_null(cells[column], nan_is_null=True)
        mask = nulls if mask is None else pc.or_(mask, nulls)
    n_missing = int(pc.sum(pc.filter(cells[_N], mask)).as_py() or 0)
    if n_missing == 0:
        return cells, 0
    if not drop:
        counts = missing_rows(cells, list(roles), _N)
        detail = ", ".join(f"{roles[c]}: {k:,}" for c, k in counts.items() if k)
        raise SchemaError(
            f"{n_missing:,} rows have a missing (NULL/NaN) value ({detail}); drop them with "
            "drop_missing=True (CLI: --drop-missing), or fill them in."
        )
    return cells.filter(pc.invert(mask)), n_missing


def _collapse(
    cells: pa.Table, attributes: Sequence[_Attribute], *, has_score: bool
) -> pd.DataFrame:
    columns: dict[str, Any] = {a.name: cells[a.key] for a in attributes}
    columns["label"] = cells[_LABEL_POS]
    columns["prediction"] = cells[_PRED_POS]
    columns["score_bin"] = cells[_SBIN] if has_score else pa.repeat(-1, cells.num_rows)
    columns["n"] = cells[_N]
    columns["score_sum"] = cells[_SSUM] if has_score else pa.repeat(0.0, cells.num_rows)
    table = pa.table(columns)
    group_keys = [a.name for a in attributes] + ["label", "prediction", "score_bin"]
    summed = table.group_by(group_keys, use_threads=False).aggregate(
        [("n", "sum"), ("score_sum", "sum")]
    )
    frame = summed.to_pandas().rename(columns={"n_sum": "n", "score_sum_sum": "score_sum"})
    frame = frame.astype(
        {
            **{a.name: "str" for a in attributes},
            "label": "int8",
            "prediction": "int8",
            "score_bin": "int16",
            "n": "int64",
            "score_sum": "float64",
        }
    )
    frame["score_sum"] = frame["score_sum"].fillna(0.0)
    frame = frame.sort_values(group_keys, kind="stable", ignore_index=True)
    return frame[[*group_keys, "n", "score_sum"]]


def _order(labels: pd.Series, attribute: _Attribute) -> tuple[str, ...]:
    present = set(labels.unique())
    if attribute.edges is not None:
        ordered = [g for g in bin_labels(attribute.edges) if g in present]
    else:
        regular = [g for g in present if g != MISSING_LABEL]
        ordered = sorted(regular, key=_numeric_key) if attribute.numeric else sorted(regular)
    return (*ordered, *([MISSING_LABEL] if MISSING_LABEL in present else []))


def _numeric_key(text: str) -> tuple[float, str]:
    try:
        return float(text), text
    except ValueError:
        return math.inf, text
