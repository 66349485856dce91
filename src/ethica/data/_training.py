"""Materialise training matrices for the learners from any source ethica can read.

Learning is the one place the rows themselves must leave the engine: the learner needs a
feature matrix in memory. :func:`fit_encoding` learns, from a training source, how to turn
columns into features (one-hot categories, standardised numbers, the 0/1 label and the
protected columns); :meth:`TrainingEncoding.transform` applies the same encoding to any
other source (a test split), so train and test matrices have identical columns.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from ethica._exceptions import SchemaError
from ethica._typing import FloatArray, IndexArray, LabelArray
from ethica.data._checks import matching_values, same_value

__all__ = [
    "TrainingEncoding",
    "TrainingMatrix",
    "check_no_identifiers",
    "fit_encoding",
    "id_like_columns",
    "label_leaks",
    "read_rows",
    "to_frame",
]

_MISSING = "(missing)"
#: Fewer non-missing values than this never make a column ID-like (too few to tell).
_ID_MIN_ROWS = 20
#: A text column with at least this share of distinct values is ID-like.
_ID_TEXT_SHARE = 0.95
#: Distinct whole numbers spanning at most this many times the row count are row numbers
#: (also after a random split keeps part of the rows).
_ID_SPAN = 2.0


def id_like_columns(frame: pd.DataFrame, columns: Sequence[str]) -> list[str]:
    """The ``columns`` of ``frame`` that identify rows rather than describe them.

    A column is ID-like when it has at least 20 non-missing values and either is text
    (or any non-numeric type) with at least 95% distinct values, or holds whole numbers
    that are all distinct and densely packed (spanning at most twice the row count: row
    numbers, also in a random part of the rows). As a feature such a column
    lets a learner memorise rows (and, one-hot encoded, makes one feature per row); as
    a proxy it would rank by chance.
    """
    found = []
    for column in columns:
        values = frame[column].dropna()
        n = len(values)
        if n < _ID_MIN_ROWS or pd.api.types.is_bool_dtype(values):
            continue
        if pd.api.types.is_numeric_dtype(values):
            numbers = values.to_numpy(dtype=np.float64)
            if not np.all(np.isfinite(numbers)) or not np.all(numbers == np.round(numbers)):
                continue
            span = numbers.max() - numbers.min() + 1.0
            if len(np.unique(numbers)) == n and span <= _ID_SPAN * n:
                found.append(column)
        elif values.astype(str).nunique() >= _ID_TEXT_SHARE * n:
            found.append(column)
    return found


def label_leaks(frame: pd.DataFrame, label: str, columns: Sequence[str]) -> list[str]:
    """The ``columns`` that predict ``label`` perfectly on ``frame`` (leaks of the label).

    A column leaks the label when, on the rows where both are present (at least 20, and
    the label takes two values), either it takes at most ``n / 10`` distinct values and
    the label is constant within each, or it is numeric and one threshold separates the
    two labels (every value of one label below every value of the other). A feature
    computed from the outcome makes any model look perfect and says nothing about it.
    """
    leaks = []
    for column in columns:
        pair = frame[[column, label]].dropna()
        n = len(pair)
        if column == label or n < _ID_MIN_ROWS or pair[label].nunique() != 2:
            continue
        values = pair[column]
        if values.nunique() <= max(2, n // 10):
            keys = values.astype(str)
            if (pair.groupby(keys, sort=False)[label].nunique() == 1).all():
                leaks.append(column)
                continue
        if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            first, second = (values[pair[label] == v] for v in pd.unique(pair[label]))
            if first.max() < second.min() or second.max() < first.min():
                leaks.append(column)
    return leaks


def check_no_identifiers(frame: pd.DataFrame, columns: Sequence[str]) -> None:
    """Raise :class:`SchemaError` if a feature column is ID-like (:func:`id_like_columns`).

    Shared by every learner that turns columns into features (``frontier``, ``proxies``,
    ``attack membership``): the message names the columns and how to leave them out.
    """
    found = id_like_columns(frame, columns)
    if found:
        raise SchemaError(
            f"feature column(s) {found} look like row identifiers (a distinct value on "
            "nearly every row, or row numbers), so a model would memorise rows "
            f"through them; leave them out with exclude={found!r}."
        )


def _read(
    source: Any,
    columns: Sequence[str] | None = None,
    *,
    text_columns: Sequence[str] = (),
    encoding: str | None = None,
) -> pd.DataFrame:
    """Rows of ``source`` (all columns, or ``columns``) as a pandas frame."""
    if isinstance(source, pd.DataFrame):
        return source
    from ethica.data._engine import to_arrow
    from ethica.data._sources import open_source

    opened = open_source(source, text_columns=text_columns, encoding=encoding)
    table = opened.table
    if columns is not None:
        missing = [c for c in columns if c not in table.columns]
        if missing:
            _raise_missing(missing, list(table.columns))
        table = table.select(*columns)
    frame: pd.DataFrame = to_arrow(table, opened.backend).to_pandas()
    return frame


def to_frame(source: Any, columns: Sequence[str]) -> pd.DataFrame:
    """The ``columns`` of ``source`` as a pandas frame (a frame is used as is)."""
    frame = _read(source, columns)
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        _raise_missing(missing, list(frame.columns))
    return frame.loc[:, list(columns)]


def read_rows(
    source: Any, *, text_columns: Sequence[str] = (), encoding: str | None = None
) -> pd.DataFrame:
    """Every row of ``source`` (a CSV/Parquet path, URL, table or frame) as a pandas frame.

    A frame is returned as is; anything else is opened by :mod:`ethica.data._sources`, so
    errors name the file and the fix. ``text_columns`` of a CSV file are read as written
    (``yes``/``no`` stays text); ``encoding`` is the CSV's text encoding (default UTF-8).
    """
    return _read(source, text_columns=text_columns, encoding=encoding)


def _raise_missing(missing: list[str], available: list[str]) -> None:
    raise SchemaError(
        f"column(s) {missing} not found; the source has {available}. Check the spelling of "
        "label, protected and feature names."
    )


@dataclass(frozen=True, eq=False)
class TrainingMatrix:
    """In-memory training data: features, 0/1 labels and protected values per row.

    Attributes
    ----------
    X
        Feature matrix, shape (n, d).
    y
        Labels, 1 for the positive (favourable) outcome.
    sensitive
        Protected values, shape (n,) for one column or (n, k) for several.
    feature_names
        Name of every column of ``X`` (``column=value`` for one-hot columns).
    feature_sources
        Source column of every column of ``X``.
    """

    X: FloatArray
    y: LabelArray
    sensitive: npt.NDArray[Any]
    feature_names: tuple[str, ...]
    feature_sources: tuple[str, ...]

    def columns_of(self, source_column: str) -> IndexArray:
        """Indices of the features built from ``source_column``."""
        return np.flatnonzero(np.asarray(self.feature_sources) == source_column)


@dataclass(frozen=True)
class TrainingEncoding:
    """How source columns become features; learned once on the training source."""

    label: str
    positive: Any
    protected: tuple[str, ...]
    numeric: tuple[str, ...]
    categories: tuple[tuple[str, tuple[str, ...]], ...]
    means: tuple[float, ...]
    scales: tuple[float, ...]
    include_protected: bool

    @property
    def feature_columns(self) -> tuple[str, ...]:
        """Source columns that feed features, numeric first."""
        return self.numeric + tuple(name for name, _ in self.categories)

    def transform(self, source: Any) -> TrainingMatrix:
        """Encode ``source`` (a frame, path, URL or table with the same columns)."""
        needed = list(dict.fromkeys([*self.feature_columns, *self.protected, self.label]))
        frame = to_frame(source, needed)
        blocks: list[FloatArray] = []
        names: list[str] = []
        sources: list[str] = []
        if self.numeric:
            values = frame.loc[:, list(self.numeric)].apply(pd.to_numeric, errors="coerce")
            scaled = (values.to_numpy(dtype=np.float64) - np.array(self.means)) / np.array(
                self.scales
            )
            blocks.append(np.nan_to_num(scaled, nan=0.0))
            names.extend(self.numeric)
            sources.extend(self.numeric)
        for column, levels in self.categories:
            text = _as_text(frame[column])
            blocks.append((text[:, None] == np.array(levels, dtype=object)[None, :]).astype(float))
            names.extend(f"{column}={level}" for level in levels)
            sources.extend([column] * len(levels))
        n = len(frame)
        X = np.hstack(blocks) if blocks else np.zeros((n, 0))
        labels = frame[self.label]
        positives = matching_values(list(pd.unique(labels.dropna())), self.positive)
        sensitive = frame.loc[:, list(self.protected)].to_numpy(dtype=object)
        return TrainingMatrix(
            X=X,
            y=labels.isin(positives).to_numpy().astype(np.int8),
            sensitive=sensitive[:, 0] if len(self.protected) == 1 else sensitive,
            feature_names=tuple(names),
            feature_sources=tuple(sources),
        )


def _as_text(column: pd.Series) -> npt.NDArray[np.object_]:
    return np.asarray(
        column.astype(object).where(column.notna(), _MISSING).astype(str), dtype=object
    )


def _default_positive(label: str, values: pd.Series) -> Any:
    distinct = set(values.dropna().unique().tolist())
    if all(same_value(v, 1) or same_value(v, 0) for v in distinct):  # also True/False, "1"
        return 1
    raise SchemaError(
        f"label column {label!r} has values {sorted(map(str, distinct))[:5]}; name the "
        "favourable one with positive=..., e.g. positive='>50K'."
    )


def fit_encoding(
    source: Any,
    *,
    label: str,
    protected: str | Sequence[str],
    positive: Any = None,
    features: Sequence[str] | None = None,
    include_protected: bool = False,
) -> TrainingEncoding:
    """Learn the feature encoding from a training source.

    Parameters
    ----------
    source
        A pandas frame, or anything :func:`ethica.data.resolve_table` accepts.
    label
        Label column; ``positive`` names its favourable value (default 1 / True).
    protected
        Protected column(s); they are features only when ``include_protected``.
    features
        Feature columns (default: every other column). Numeric columns are standardised
        (missing values become the mean); other columns are one-hot encoded with a
        ``(missing)`` level.

    Raises
    ------
    SchemaError
        A feature column is ID-like (see :func:`id_like_columns`), a column is missing,
        or ``positive`` never occurs in the label.
    """
    protected_columns = (protected,) if isinstance(protected, str) else tuple(protected)
    frame = _read(source)
    wanted = (
        list(features)
        if features is not None
        else [c for c in frame.columns if c != label and c not in protected_columns]
    )
    if include_protected:
        wanted += [c for c in protected_columns if c not in wanted]
    frame = to_frame(frame, list(dict.fromkeys([*wanted, *protected_columns, label])))
    check_no_identifiers(frame, [c for c in wanted if c not in protected_columns])
    if positive is None:
        positive = _default_positive(label, frame[label])
    elif not matching_values(list(pd.unique(frame[label].dropna())), positive):
        raise SchemaError(
            f"positive={positive!r} never occurs in label column {label!r} (values "
            f"{sorted(map(str, frame[label].dropna().unique()))[:5]}); pick one of those."
        )
    numeric = tuple(
        c
        for c in wanted
        if pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c])
    )
    categorical = tuple(c for c in wanted if c not in numeric)
    values = frame.loc[:, list(numeric)].to_numpy(dtype=np.float64)
    means = np.nanmean(values, axis=0) if numeric else np.zeros(0)
    scales = np.nanstd(values, axis=0) if numeric else np.zeros(0)
    return TrainingEncoding(
        label=label,
        positive=positive,
        protected=protected_columns,
        numeric=numeric,
        categories=tuple((c, tuple(sorted(set(_as_text(frame[c]).tolist())))) for c in categorical),
        means=tuple(float(m) for m in means),
        scales=tuple(float(s) if s > 0 else 1.0 for s in scales),
        include_protected=include_protected,
    )
