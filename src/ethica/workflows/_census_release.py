"""A differentially private release of census block tables, made consistent.

Privacy. Neighbouring populations differ by one person (added or removed). A person is
counted in exactly one cell of each table, so each table's vector of counts (all blocks,
every cell of a public domain, zeros included) has L1 sensitivity 1. With ``k`` tables,
discrete Laplace noise of scale ``k / epsilon`` on every cell makes each table
``(epsilon / k)``-DP (Dwork, McSherry, Nissim and Smith 2006; the discrete Laplace:
Canonne, Kamath and Steinke 2020) and the ``k`` tables ``epsilon``-DP by sequential
composition. The noise comes from :func:`ethica.privacy.discrete_laplace` (exact, OS CSPRNG).

Consistency (post-processing, no privacy cost: Dwork and Roth 2014, Prop. 2.1). Per block,
:func:`ethica.privacy.release._consistency.consistent_counts` fits non-negative person counts for
every record cell to all noisy tables by weighted least squares (Hay et al. 2010), rounds
them with controlled rounding (Cox 1987), and publishes every table as sums of those
counts: integer, non-negative, and adding up across tables, as a statistical office's
release would. The record cells are the schema's cells extended with each coarsening's
value, so a table over a coarsened column (``age_group``) is a margin like any other.
Without consistency, noisy counts are only clamped at 0.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from fractions import Fraction

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from ethica._exceptions import InvalidParameterError
from ethica.attacks import CensusSchema, LaplaceSampler, Progress
from ethica.privacy import PureDP, discrete_laplace, laplace_scale, sequential_composition

__all__ = ["check_epsilons", "dp_census_tables"]


def check_epsilons(epsilons: Iterable[float]) -> tuple[float, ...]:
    """Return ``epsilons`` as floats, or raise naming the first that is not finite and > 0."""
    values = tuple(epsilons)
    for epsilon in values:
        if isinstance(epsilon, bool) or not np.isfinite(epsilon) or epsilon <= 0:
            raise InvalidParameterError(
                f"epsilon must be a finite number > 0, got {epsilon!r}; a privacy loss of zero "
                "or less is meaningless: pass e.g. epsilon=1 (smaller is more private)."
            )
    return tuple(float(e) for e in values)


def _leaf_cells(schema: CensusSchema) -> tuple[list[tuple[Hashable, ...]], dict[str, int]]:
    """Every record cell with its coarsened values appended, and each column's position."""
    columns = [*schema.attributes, *schema.coarsenings]
    values = [schema.column_values(c) for c in columns]
    return list(zip(*values, strict=True)), {c: i for i, c in enumerate(columns)}


def _make_consistent(
    noisy: Mapping[str, pd.DataFrame],
    schema: CensusSchema,
    variance: float,
    progress: Progress | None,
) -> dict[str, pd.DataFrame]:
    from ethica.privacy.release._consistency import Margin, consistent_counts

    leaves, position = _leaf_cells(schema)
    fitted = {n: f[schema.count].to_numpy(dtype=np.int64, copy=True) for n, f in noisy.items()}
    blocks = sorted({b for frame in noisy.values() for b in frame[schema.block]}, key=str)
    rows_by_block = {name: frame.groupby(schema.block).indices for name, frame in noisy.items()}
    for done, block in enumerate(blocks, start=1):
        margins, placed = [], []
        for name, frame in noisy.items():
            rows = rows_by_block[name].get(block, np.zeros(0, dtype=np.intp))
            columns = [c for c in frame.columns if c not in (schema.block, schema.count)]
            keys = list(zip(*(frame[c].to_numpy()[rows] for c in columns), strict=True))
            margins.append(
                Margin(
                    tuple(position[c] for c in columns),
                    tuple(keys) if columns else ((),) * len(rows),
                    frame[schema.count].to_numpy(dtype=np.float64)[rows],
                    np.full(len(rows), variance),
                )
            )
            placed.append((name, rows))
        _, cells = consistent_counts(leaves, margins)
        for (name, rows), values in zip(placed, cells, strict=True):
            fitted[name][rows] = values
        if progress is not None:
            progress(done, len(blocks))
    return {name: frame.assign(**{schema.count: fitted[name]}) for name, frame in noisy.items()}


def dp_census_tables(
    tables: Mapping[str, pd.DataFrame],
    schema: CensusSchema,
    epsilon: float,
    *,
    consistent: bool = True,
    sampler: LaplaceSampler | None = None,
    progress: Progress | None = None,
) -> tuple[dict[str, pd.DataFrame], PureDP]:
    """Release person-count block tables under ``epsilon``-DP (module docstring: the proof).

    Definition: for ``k`` tables, every cell gets ``c + Z``, ``Z`` discrete Laplace with
    ``P(Z = z) ∝ exp(-|z| epsilon / k)``; then, post-processing, the tables are made
    consistent (``consistent=True``) or each cell is clamped at 0.

    Parameters
    ----------
    tables
        Table name -> frame with the block column, schema columns and the count column,
        listing every cell of the public domain (zeros included), as
        :func:`ethica.attacks.census_tables` makes them.
    schema
        The record attributes and coarsenings the tables use.
    epsilon
        Total privacy loss of the whole release, ``> 0``, split evenly across the tables.
    consistent
        Make the tables integer, non-negative and additive (default), else clamp at 0.
    sampler
        ``sampler(scale, size)`` of discrete Laplace draws; default ``ethica.privacy``'s
        exact CSPRNG sampler. A seeded sampler (tests only) gives no privacy.
    progress
        ``progress(done, total)`` after each block made consistent.

    Returns
    -------
    (tables, budget)
        The released tables and their total cost, ``PureDP(epsilon)`` by sequential
        composition of the per-table costs.
    """
    (eps,) = check_epsilons([epsilon])
    per_table = PureDP(Fraction(eps) / len(tables))
    scale = laplace_scale(1, per_table)
    draw = sampler if sampler is not None else discrete_laplace
    noisy = {}
    for name, frame in tables.items():
        noise: NDArray[np.int64] = np.asarray(draw(scale, len(frame)), dtype=np.int64)
        counts = frame[schema.count].to_numpy(dtype=np.int64) + noise
        noisy[name] = frame.assign(
            **{schema.count: np.maximum(counts, 0) if not consistent else counts}
        )
    total = sequential_composition([per_table] * len(tables))
    assert isinstance(total, PureDP)
    if not consistent:
        return noisy, total
    from ethica.privacy.release._accuracy import laplace_variance

    return _make_consistent(noisy, schema, laplace_variance(scale), progress), total
