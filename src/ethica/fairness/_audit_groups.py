"""Marginalise a count table onto every attribute set the audit judges.

A :class:`~ethica.data.CountTable` holds one count per (protected values, label,
prediction, score bin) cell. Summing it over the attributes outside a set ``S``
gives the confusion counts of every group of ``S`` exactly; this module does that
in numpy (one ``bincount`` per attribute set, no per-row work).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from itertools import combinations

import numpy as np
import pandas as pd

from ethica._typing import FloatArray, IntArray
from ethica.data import CountTable
from ethica.fairness._rates import CELLS, RateTable, rate_table

__all__ = ["GroupBlock", "attribute_sets", "marginalise"]


# label * 2 + prediction -> column of CELLS (tp, fp, fn, tn).
_CELL_OF_OUTCOME = np.array([3, 1, 2, 0], dtype=np.int64)


@dataclass(frozen=True)
class CalibrationCounts:
    """Per group and score bin: rows, sum of scores, and actual positives."""

    n: IntArray
    score_sum: FloatArray
    positives: IntArray


@dataclass(frozen=True)
class GroupBlock:
    """The groups of one attribute set with their confusion counts and rates."""

    attributes: tuple[str, ...]
    labels: tuple[tuple[str, ...], ...]
    confusion: IntArray
    rates: RateTable
    calibration: CalibrationCounts | None

    @property
    def n(self) -> IntArray:
        """Rows per group."""
        return np.asarray(self.confusion.sum(axis=1), dtype=np.int64)


def attribute_sets(attributes: tuple[str, ...], max_order: int) -> Iterator[tuple[str, ...]]:
    """Yield every single attribute, then every intersection up to ``max_order``."""
    for order in range(1, max_order + 1):
        yield from combinations(attributes, order)


@dataclass(frozen=True)
class _Cells:
    """The count table as arrays: attribute codes, outcome cell, score bin, weights."""

    codes: dict[str, IntArray]
    orders: dict[str, tuple[str, ...]]
    cell: IntArray
    score_bin: IntArray
    n: FloatArray
    score_sum: FloatArray
    label: IntArray
    n_bins: int


def _cells(table: CountTable) -> _Cells:
    frame = table.cells
    codes: dict[str, IntArray] = {}
    orders: dict[str, tuple[str, ...]] = {}
    for attr in table.attributes:
        values = frame[attr].astype(str)
        order = tuple(str(v) for v in table.group_order.get(attr, ()))
        extra = sorted(set(values.unique()) - set(order))
        orders[attr] = order + tuple(extra)
        codes[attr] = np.asarray(pd.Index(orders[attr]).get_indexer(values), dtype=np.int64)
    label = frame["label"].to_numpy(dtype=np.int64)
    prediction = frame["prediction"].to_numpy(dtype=np.int64)
    edges = table.score_bin_edges
    return _Cells(
        codes=codes,
        orders=orders,
        cell=_CELL_OF_OUTCOME[label * 2 + prediction],
        score_bin=frame["score_bin"].to_numpy(dtype=np.int64) if edges else label * 0,
        n=frame["n"].to_numpy(dtype=np.float64),
        score_sum=frame["score_sum"].to_numpy(dtype=np.float64) if edges else label * 0.0,
        label=label,
        n_bins=len(edges) - 1 if edges else 0,
    )


def _counts(index: IntArray, weights: FloatArray, size: int) -> FloatArray:
    return np.bincount(index, weights=weights, minlength=size).astype(np.float64)


def _block(cells: _Cells, attributes: tuple[str, ...], confidence: float) -> GroupBlock:
    if attributes:
        dims = tuple(len(cells.orders[a]) for a in attributes)
        combined = np.ravel_multi_index(tuple(cells.codes[a] for a in attributes), dims)
        keys, group = np.unique(combined, return_inverse=True)
        parts = np.unravel_index(keys, dims)
        columns = [
            np.asarray(cells.orders[a], dtype=object)[p]
            for a, p in zip(attributes, parts, strict=True)
        ]
        labels: tuple[tuple[object, ...], ...] = tuple(zip(*columns, strict=True))
    else:
        group = np.zeros(cells.cell.shape, dtype=np.int64)
        labels = ((),)
    g = len(labels)
    confusion = _counts(group * len(CELLS) + cells.cell, cells.n, g * len(CELLS))
    confusion_int = np.rint(confusion).astype(np.int64).reshape(g, len(CELLS))
    calibration = None
    if cells.n_bins:
        scored = cells.score_bin >= 0
        slot = group * cells.n_bins + np.where(scored, cells.score_bin, 0)
        size = g * cells.n_bins
        weight = cells.n * scored
        calibration = CalibrationCounts(
            n=np.rint(_counts(slot, weight, size)).astype(np.int64).reshape(g, -1),
            score_sum=_counts(slot, cells.score_sum * scored, size).reshape(g, -1),
            positives=np.rint(_counts(slot, weight * cells.label, size))
            .astype(np.int64)
            .reshape(g, -1),
        )
    return GroupBlock(
        attributes=attributes,
        labels=tuple(tuple(str(v) for v in lab) for lab in labels),
        confusion=confusion_int,
        rates=rate_table(confusion_int, confidence),
        calibration=calibration,
    )


def marginalise(
    table: CountTable, max_order: int, confidence: float
) -> tuple[GroupBlock, list[GroupBlock]]:
    """Return the overall block and one block per attribute set up to ``max_order``.

    Groups with no rows do not appear; groups are in display order (each
    attribute's ``group_order``, the first attribute varying slowest).
    """
    cells = _cells(table)
    overall = _block(cells, (), confidence)
    blocks = [_block(cells, s, confidence) for s in attribute_sets(table.attributes, max_order)]
    return overall, blocks
