"""count_outcomes: the audit's sufficient statistics in one GROUP BY pushed down to the engine."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ethica._exceptions import InvalidParameterError, SchemaError
from ethica.data._bins import Bins, bin_index, bin_label, bin_labels
from ethica.data._checks import (
    MAX_GROUPS,
    check_binary,
    check_columns,
    check_group_count,
    check_numeric,
    check_positive_present,
    check_score_range,
    distinct_values,
    missing_rows,
    warn_high_cardinality,
    warn_label_coding,
)
from ethica.data._count_table import MISSING_LABEL, CountTable
from ethica.data._engine import run
from ethica.data._sources import Backend, Source, open_source

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
    positive_label: object = None,
    positive_prediction: object = None,
    score_bins: int = 10,
    drop_missing: bool = False,
    max_groups: int = MAX_GROUPS,
    table: str | None = None,
    backend: Backend | None = None,
    encoding: str | None = None,
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
        The decision column; binarised as ``prediction == positive_prediction``.
    score
        A score in [0, 1]. Without ``prediction`` the decision is ``score >= threshold``;
        with it, the score only feeds calibration (equal-width bins on [0, 1]).
    threshold
        Decision threshold on ``score`` when no prediction is given.
    protected
        Protected column names and/or :class:`Bins` for numeric ones. Values become
        strings (as written in a CSV file); missing values form the group ``"(missing)"``.
    positive_label
        The label value that means the positive outcome (default ``1``). Values are
        compared as written and as numbers: ``"1"``, ``1`` and ``1.0`` match; ``"yes"``
        matches the text ``yes``; a word never matches a number.
    positive_prediction
        The prediction value that means the positive decision (default: ``positive_label``).
    score_bins
        Number of equal-width score bins on [0, 1].
    drop_missing
        Drop (and count in ``n_dropped``) rows whose label, prediction or score is
        missing, instead of raising.
    max_groups
        Largest number of distinct values a protected attribute may have
        (default :data:`~ethica.data._checks.MAX_GROUPS`, 250).
    table, backend, encoding
        As in :func:`~ethica.data.resolve_table`. A CSV file's label, prediction and
        (unbinned) protected columns are read as the text they are written in, not as the
        type DuckDB's sniffer guesses (``yes``/``no`` stays ``yes``/``no``).

    Returns
    -------
    CountTable

    Raises
    ------
    SchemaError
        A column is missing; label or prediction is not binary or lacks its positive
        value (the message lists the values found); label/prediction/score has missing
        values (without ``drop_missing``); the score is not numeric or leaves [0, 1]; a
        protected column is entirely missing or has more than ``max_groups`` values;
        no rows.
    DataSourceError
        The source cannot be read (missing or empty file, wrong encoding or malformed
        CSV, each with its line number).

    Warns
    -----
    HighCardinalityWarning
        A protected attribute has more than 100 groups.
    EthicaWarning
        The label is coded ``{1, 2}`` and ``positive_label`` was not given (1 is assumed).
    """
    specs = _check_parameters(prediction, score, threshold, protected, score_bins)
    if isinstance(max_groups, bool) or not isinstance(max_groups, int) or max_groups < 2:
        raise InvalidParameterError(
            f"max_groups must be an integer >= 2, got {max_groups!r}; e.g. max_groups=1000."
        )
    assumed = positive_label is None
    positive = 1 if positive_label is None else positive_label
    positive_pred = positive if positive_prediction is None else positive_prediction
    text_columns = [label, *([prediction] if prediction is not None else [])]
    text_columns += [s for s in specs if isinstance(s, str)]
    src = open_source(
        source, table=table, backend=backend, text_columns=text_columns, encoding=encoding
    )
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
    attributes = _attributes(t, specs, _quantile_edges(src, specs), src.sniffed)
    grouped = _grouped_query(t, attributes, label, prediction, score, threshold, score_bins)
    cells = run(src, grouped.limit(MAX_CELLS + 1), action="count", diagnose_csv=True)
    if cells.num_rows > MAX_CELLS:
        _too_many_cells(src, label, prediction, attributes, max_groups)
    return _finish(
        cells,
        attributes,
        label=label,
        prediction=prediction,
        score=score,
        positive=(positive, positive_pred, assumed),
        drop_missing=drop_missing,
        max_groups=max_groups,
        score_bins=score_bins,
        provenance={
            "source": src.description,
            "label": label,
            "prediction": prediction,
            "score": score,
            "threshold": threshold if score is not None else None,
            "positive_label": positive,
            "positive_prediction": positive_pred if prediction is not None else None,
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
            "give prediction= (a 0/1 decision column) or score= (a probability column), or both."
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
            "protected must name at least one column, e.g. protected=['sex', 'race']."
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
    row = run(src, t.aggregate(**metrics), action="count", diagnose_csv=True).to_pylist()[0]
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
    t: ir.Table,
    specs: Sequence[str | Bins],
    quantile_edges: dict[str, tuple[float, ...]],
    sniffed: Mapping[str, Any],
) -> list[_Attribute]:
    out = []
    for i, spec in enumerate(specs):
        if isinstance(spec, Bins):
            edges = spec.edges if spec.edges is not None else quantile_edges[spec.column]
            out.append(_Attribute(spec.column, f"__g{i}", edges, numeric=True))
        else:
            dtype = sniffed.get(spec, t.schema()[spec])  # a CSV column's type as sniffed
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
    projected[_LABEL] = _outcome(t[label])
    if prediction is not None:
        projected[_PRED] = _outcome(t[prediction])
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
    return grouped.mutate(**{a.key: _group_label(grouped[a.key], a) for a in attributes})


def _outcome(column: ir.Column) -> ir.Column:
    """A label or prediction column with NaN (and the text ``nan``) made NULL: missing."""
    if column.type().is_floating():
        return ibis.ifelse(column.isnan(), ibis.null(column.type()), column)
    if column.type().is_string():
        return ibis.ifelse(column.strip().lower() == "nan", ibis.null("string"), column)
    return column


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


def _too_many_cells(
    src: Source,
    label: str,
    prediction: str | None,
    attributes: Sequence[_Attribute],
    max_groups: int,
) -> None:
    """Explain an oversized grouped result (runs only on this error path)."""
    t = src.table
    for role, column in (("label", label), ("prediction", prediction)):
        if column is None:
            continue
        sample = run(src, t.select(column).distinct().limit(11), action="count", diagnose_csv=True)
        check_binary(
            role, column, distinct_values(sample[column]), positive=None, require_positive=False
        )
    for a in attributes:
        if a.edges is None:
            found = run(
                src,
                t.select(a.name).distinct().limit(max_groups + 1),
                action="count",
                diagnose_csv=True,
            ).num_rows
            check_group_count(a.name, found, numeric=a.numeric, max_groups=max_groups)
    raise SchemaError(
        f"the protected attributes {[a.name for a in attributes]} form more than "
        f"{MAX_CELLS:,} cells; bin numeric attributes with Bins(...) or audit fewer at once."
    )


def _finish(
    cells: pa.Table,
    attributes: Sequence[_Attribute],
    *,
    label: str,
    prediction: str | None,
    score: str | None,
    positive: tuple[object, object, bool],
    drop_missing: bool,
    max_groups: int,
    score_bins: int,
    provenance: dict[str, object],
) -> CountTable:
    """Check the grouped result, drop missing rows if asked, and collapse it to the table."""
    n_total = int(pc.sum(cells[_N]).as_py() or 0)
    if n_total == 0:
        raise SchemaError(
            f"the source has no rows ({provenance['source']}); check the file, table or filter."
        )
    positive_label, positive_prediction, assumed = positive
    label_values = distinct_values(cells[_LABEL])
    check_binary("label", label, label_values, positive=None, require_positive=False)
    pred_values: list[Any] = []
    if prediction is not None:
        pred_values = distinct_values(cells[_PRED])
        check_binary("prediction", prediction, pred_values, positive=None, require_positive=False)
    label_positive = check_positive_present(
        "label", label, label_values, positive_label, "positive_label", pred_values
    )
    if assumed:
        warn_label_coding(label, label_values, positive_label)
    cells = cells.append_column(_LABEL_POS, _flag(cells[_LABEL], label_positive))
    if prediction is not None:
        pred_positive = check_positive_present(
            "prediction", prediction, pred_values, positive_prediction, "positive_prediction",
            label_values,
        )  # fmt: skip
        cells = cells.append_column(_PRED_POS, _flag(cells[_PRED], pred_positive))
    else:
        cells = cells.append_column(_PRED_POS, pc.cast(cells[_PRED], pa.int8()))
    cells, n_dropped = _handle_missing(cells, label, prediction, score, drop_missing)
    if cells.num_rows == 0:
        raise SchemaError(
            f"no rows left after dropping {n_dropped:,} rows with missing values; "
            "check the label, prediction and score columns."
        )
    if score is not None:
        check_score_range(score, pc.min(cells[_SMIN]).as_py(), pc.max(cells[_SMAX]).as_py())
    frame = _collapse(cells, attributes, has_score=score is not None)
    group_order = {a.name: _order(frame[a.name], a) for a in attributes}
    for a in attributes:
        if group_order[a.name] == (MISSING_LABEL,):
            raise SchemaError(
                f"protected column {a.name!r} is missing (NULL) in all {n_total - n_dropped:,} "
                "rows, so there are no groups to compare; check the column (is it the right "
                "one, was it filled in?) or drop it from protected."
            )
        check_group_count(
            a.name, len(group_order[a.name]), numeric=a.numeric, max_groups=max_groups
        )
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


def _flag(raw: pa.ChunkedArray, positives: Sequence[object]) -> pa.ChunkedArray:
    """1 where ``raw`` is one of ``positives``, else 0 (missing values are dropped later)."""
    if not positives:
        return pa.chunked_array([pa.repeat(pa.scalar(0, pa.int8()), len(raw))])
    found = pc.is_in(raw, value_set=pa.array(positives, type=raw.type))
    return pc.cast(pc.fill_null(found, False), pa.int8())


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
            "drop_missing=True, or fill them in."
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
