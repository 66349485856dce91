"""Consistent tables: non-negative, integer, additive releases by post-processing.

Noisy tables of one population (a total, region counts, region × sub-region counts, ...)
disagree with each other and can be negative. Post-processing costs no privacy (Dwork & Roth
2014, Prop. 2.1). Given the finest table's cells ``j`` (leaves) and every released cell
``r`` with noisy value ``y_r`` and noise variance ``v_r``, where ``A[r, j] = 1`` when leaf
``j`` belongs to cell ``r``:

1. **Weighted least squares** (Hay, Rastogi, Miklau & Suciu 2010, "Boosting the accuracy of
   differentially private histograms through consistency"), with non-negativity:
   ``x = argmin_{x >= 0} Σ_r (A_r x - y_r)² / v_r`` (``scipy.optimize.lsq_linear``).
2. **Controlled rounding** that keeps totals (Cox 1987, "A constructive procedure for
   unbiased controlled rounding"): integers ``z_j in {floor x_j, ceil x_j}`` with every cell
   ``A_r z`` within ``[floor(A_r x), ceil(A_r x)]``, the grand total equal to
   ``round(Σ x)``, minimising ``Σ |z_j - x_j|``; a mixed-integer program solved by HiGHS
   (``scipy.optimize.milp``). For a hierarchy the cell constraints form a laminar family,
   whose matrix is totally unimodular, so a solution always exists; if the cells are not
   nested and no solution exists, only the grand total is kept.

Every output cell is then the sum of its leaves, so the tables are additive, integer and
non-negative by construction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import scipy.optimize as so
import scipy.sparse as sp
from numpy.typing import NDArray

from ethica._exceptions import InvalidParameterError
from ethica.privacy.release._release import Release, ReleasedTable

__all__ = ["Margin", "consistent_counts", "make_consistent"]

KeyTuple = tuple[object, ...]


@dataclass(frozen=True)
class Margin:
    """Noisy cells of one table: the leaf columns it keeps (positions), keys, values, variances."""

    columns: tuple[int, ...]
    keys: tuple[KeyTuple, ...]
    values: NDArray[np.float64]
    variances: NDArray[np.float64]


def _membership(leaves: Sequence[KeyTuple], margins: Sequence[Margin]) -> sp.csr_array:
    rows, cols = [], []
    offset = 0
    for margin in margins:
        position = {key: i for i, key in enumerate(margin.keys)}
        for j, leaf in enumerate(leaves):
            i = position.get(tuple(leaf[c] for c in margin.columns))
            if i is not None:
                rows.append(offset + i)
                cols.append(j)
        offset += len(margin.keys)
    data = np.ones(len(rows))
    return sp.csr_array((data, (rows, cols)), shape=(offset, len(leaves)))


def _least_squares(
    a: sp.csr_array, y: NDArray[np.float64], v: NDArray[np.float64]
) -> NDArray[np.float64]:
    weight = 1 / np.sqrt(np.maximum(v, 1e-12))
    weighted = sp.diags_array(weight) @ a
    result = so.lsq_linear(weighted, weight * y, bounds=(0, np.inf), lsmr_tol="auto")
    return np.asarray(np.clip(np.asarray(result.x, dtype=float), 0.0, None), dtype=np.float64)


def _round(a: sp.csr_array, x: NDArray[np.float64]) -> NDArray[np.int64]:
    x = np.where(np.abs(x - np.round(x)) < 1e-9, np.round(x), x)
    low, high = np.floor(x), np.ceil(x)
    frac = x - low
    cells = a @ x
    cells = np.where(np.abs(cells - np.round(cells)) < 1e-7, np.round(cells), cells)
    total = np.round(x.sum())
    ones = np.ones((1, x.size))
    bounds = so.Bounds(low, high)
    integrality = np.ones(x.size)
    cost = 1 - 2 * frac
    tries = [
        [
            so.LinearConstraint(a, np.floor(cells), np.ceil(cells)),
            so.LinearConstraint(ones, total, total),
        ],
        [so.LinearConstraint(ones, total, total)],
    ]
    for constraints in tries:
        result = so.milp(cost, constraints=constraints, integrality=integrality, bounds=bounds)
        if result.success:
            return np.asarray(np.round(result.x), dtype=np.int64)
    raise InvalidParameterError("controlled rounding failed; the leaf estimates are not finite.")


def consistent_counts(
    leaves: Sequence[KeyTuple], margins: Sequence[Margin]
) -> tuple[NDArray[np.int64], list[NDArray[np.int64]]]:
    """Consistent integer leaves and the cells of every margin (module docstring).

    Returns
    -------
    leaves, cells
        Non-negative integer leaf counts, and per margin its cells as sums of leaves.
    """
    if not leaves:
        raise InvalidParameterError("no leaf cells: the finest table is empty.")
    a = _membership(leaves, margins)
    y = np.concatenate([m.values for m in margins]).astype(float)
    v = np.concatenate([m.variances for m in margins]).astype(float)
    z = _round(a, _least_squares(a, y, v))
    out = []
    offset = 0
    for margin in margins:
        block = a[offset : offset + len(margin.keys)]
        out.append(np.asarray(block @ z, dtype=np.int64))
        offset += len(margin.keys)
    return z, out


def make_consistent(release: Release) -> Release:
    """The release's count tables made non-negative, integer and mutually additive.

    The finest count table (most key columns) gives the leaves; every other count table must
    group by a subset of its columns. Intervals are kept from the noisy release (they still
    cover the true values at the stated level); values change. No privacy cost.
    """
    counts = [t for t in release.tables if t.statistic in ("count", "histogram")]
    if not counts:
        raise InvalidParameterError("make_consistent needs at least one count table.")
    finest = max(counts, key=lambda t: len(t.by))
    for t in counts:
        if not set(t.by) <= set(finest.by):
            raise InvalidParameterError(
                f"table {t.name!r} groups by {list(t.by)}, not a subset of the finest table's "
                f"{list(finest.by)}; release the finest table over all key columns."
            )
    margins = [
        Margin(
            tuple(finest.by.index(c) for c in t.by),
            t.keys,
            np.asarray(t.values, dtype=float),
            np.asarray(t.variances, dtype=float),
        )
        for t in counts
    ]
    _, cells = consistent_counts(finest.keys, margins)
    fixed = {t.name: c for t, c in zip(counts, cells, strict=True)}
    tables: list[ReleasedTable] = [
        replace(t, values=tuple(float(v) for v in fixed[t.name])) if t.name in fixed else t
        for t in release.tables
    ]
    return release.with_tables(tuple(tables), "consistent: WLS + controlled rounding")
