"""Protected attributes as the numeric matrix the rich-subgroup auditor and learner regress on.

Numeric attributes are kept as they are; every other attribute is one-hot encoded by its text
(``column=value``, levels sorted). Encoding is vectorised: each column is factorised once
(hashing, not per-row Python comparisons) and its one-hot block is filled by indexing. Rows
with identical attributes share a *pattern* id, so an auditor can work on the distinct
attribute patterns (a sufficient statistic for every linear-threshold subgroup) instead of
the rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from ethica._exceptions import InvalidParameterError
from ethica._typing import BoolArray, FloatArray, IndexArray

__all__ = ["AttributeEncoding", "attribute_frame", "encode_attributes", "text_codes"]


def attribute_frame(protected: Any) -> pd.DataFrame:
    """Protected attributes as a frame: a frame as it is, a column or 2-D array named."""
    if isinstance(protected, pd.DataFrame):
        return protected
    if isinstance(protected, pd.Series):
        return protected.to_frame(name=str(protected.name or "protected"))
    values = np.asarray(protected, dtype=object)
    if values.ndim == 1:
        values = values[:, None]
    if values.ndim != 2:
        raise InvalidParameterError(
            f"protected attributes must be 1-D or 2-D, got shape {values.shape}; pass one "
            "column per attribute."
        )
    return pd.DataFrame(values, columns=[f"attribute_{j}" for j in range(values.shape[1])])


def text_codes(values: Any) -> tuple[IndexArray, npt.NDArray[np.str_]]:
    """``(codes, levels)``: each value's index into its sorted distinct texts ``str(value)``.

    Missing values read ``"nan"``. Values with one text (``1`` and ``"1"``) share a level.
    """
    raw, uniques = pd.factorize(values, use_na_sentinel=False)
    texts = np.array([str(value) for value in uniques], dtype=str)
    levels, merged = np.unique(texts, return_inverse=True)
    codes: IndexArray = merged.astype(np.intp)[raw]
    return codes, levels


@dataclass(frozen=True)
class AttributeEncoding:
    """The encoded matrix, its column names and each row's attribute-pattern codes."""

    matrix: FloatArray
    names: tuple[str, ...]
    column_codes: tuple[IndexArray, ...]

    def patterns(self, rows: BoolArray) -> tuple[IndexArray, IndexArray]:
        """``(pattern, first)`` over the selected rows: dense ids of their distinct attribute
        rows (in sorted attribute order, so the same set of rows always numbers them alike),
        and the position among the selected rows of one row of each pattern."""
        pattern = np.zeros(int(rows.sum()), dtype=np.intp)
        for codes in self.column_codes:
            width = int(codes.max(initial=-1)) + 2  # codes start at -1 (an unknown level)
            pattern, _ = pd.factorize(pattern * width + codes[rows] + 1, sort=True)
        _, first = np.unique(pattern, return_index=True)
        return pattern.astype(np.intp), first.astype(np.intp)


def encode_attributes(
    protected: Any, *, levels_from: tuple[str, ...] | None = None
) -> tuple[FloatArray, tuple[str, ...]]:
    """Numeric attributes as they are, the others one-hot (``column=value``).

    With ``levels_from`` (the names of an earlier encoding) the same columns are rebuilt; a
    value the earlier encoding did not see gets zeros in every column of its attribute.
    """
    encoding = encode(attribute_frame(protected), levels_from=levels_from)
    return encoding.matrix, encoding.names


def encode(frame: pd.DataFrame, *, levels_from: tuple[str, ...] | None = None) -> AttributeEncoding:
    """The :class:`AttributeEncoding` of ``frame`` (see :func:`encode_attributes`)."""
    blocks: list[FloatArray] = []
    names: list[str] = []
    column_codes: list[IndexArray] = []
    for column in frame.columns:
        series = frame[column]
        numeric = pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)
        if numeric and (levels_from is None or str(column) in levels_from):
            values = series.to_numpy(dtype=np.float64)
            blocks.append(values[:, None])
            names.append(str(column))
            column_codes.append(pd.factorize(values, sort=True, use_na_sentinel=False)[0])
            continue
        codes, levels = text_codes(series)
        if levels_from is not None:
            prefix = f"{column}="
            known = [name[len(prefix) :] for name in levels_from if name.startswith(prefix)]
            codes = pd.Index(known).get_indexer(levels)[codes]  # -1: a level not seen before
            levels = np.array(known, dtype=str)
        block = np.zeros((codes.shape[0], levels.shape[0]))
        seen = np.flatnonzero(codes >= 0)
        block[seen, codes[seen]] = 1.0
        blocks.append(block)
        names.extend(f"{column}={level}" for level in levels)
        column_codes.append(codes)
    matrix = np.hstack(blocks) if blocks else np.zeros((len(frame), 0))
    return AttributeEncoding(matrix, tuple(names), tuple(column_codes))
