"""The audit's sufficient statistics: a count per (protected values, label, prediction, score bin).

The data layer builds a :class:`CountTable` in one GROUP BY pushed down to the
engine; the fairness science works on it alone and never sees a row.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pandas as pd

__all__ = ["MISSING_LABEL", "CountTable"]

#: The explicit group that holds rows whose protected value is missing.
MISSING_LABEL = "(missing)"


@dataclass(frozen=True, eq=False)
class CountTable:
    """Cross-tabulated counts of a model's outputs.

    Attributes
    ----------
    attributes
        The protected attribute names, in the order the user gave them.
    cells
        One row per non-empty cell, with columns: each attribute (``str`` group
        labels; binned numeric values as ``"[25, 45)"``; missing as
        :data:`MISSING_LABEL`), ``label`` and ``prediction`` (``int8``, 1 is the
        positive class), ``score_bin`` (``int16``; ``-1`` when no score was given),
        ``n`` (``int64`` row count) and ``score_sum`` (``float64`` sum of scores in
        the cell; ``0.0`` when no score was given).
    group_order
        For each attribute, its group labels in display order (bins by their edges,
        categories sorted, :data:`MISSING_LABEL` last).
    n_rows
        Rows counted (after any rows dropped on the user's request).
    score_bin_edges
        The edges of the score bins (``len = bins + 1``), or ``None`` without a score.
    n_dropped
        Rows dropped because label or prediction was missing (``drop_missing=True``).
    provenance
        Column names and settings that produced the table (label, prediction, score,
        threshold, positive_label, source description), for reports.
    """

    attributes: tuple[str, ...]
    cells: pd.DataFrame
    group_order: Mapping[str, tuple[str, ...]]
    n_rows: int
    score_bin_edges: tuple[float, ...] | None = None
    n_dropped: int = 0
    provenance: Mapping[str, object] = field(default_factory=dict)

    @property
    def has_score(self) -> bool:
        """Whether the table carries score bins (calibration can be judged)."""
        return self.score_bin_edges is not None
