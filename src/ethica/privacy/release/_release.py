"""The result of a DP release: noisy values, a CI per value, mechanism, scale and budget."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
import pandas as pd

from ethica._exceptions import InvalidParameterError
from ethica._results import SCHEMA_VERSION, Result, ResultPart, plain_scalar
from ethica.privacy.budget._budgets import Budget
from ethica.privacy.release._sensitivity import PrivacyUnit

__all__ = ["SCHEMA_VERSION", "Release", "ReleasedTable", "Statistic"]

Statistic = Literal["count", "sum", "mean", "variance", "histogram", "quantile", "bounds"]
"""What a :class:`ReleasedTable` holds, per cell."""

#: A key value as a plain Python object: numpy scalars unwrapped, NA and NaN as ``None``.
plain_value = plain_scalar


@dataclass(frozen=True)
class ReleasedTable(ResultPart):
    """One released statistic, per cell.

    Attributes
    ----------
    name
        Label of the table (e.g. ``"count by sex"``).
    statistic
        ``count``, ``sum``, ``mean``, ``variance``, ``histogram``, ``quantile`` or ``bounds``
        (:data:`Statistic`).
    by, keys
        Key columns and one key tuple per released cell (empty tuple for a scalar).
    values, ci_low, ci_high
        The released values and their confidence intervals (NaN where no interval applies).
    variances
        Variance of each value's noise (for weighting in post-processing).
    mechanism
        The mechanism(s) used, e.g. ``"discrete Laplace"``.
    noise
        Noise parameters as exact ``"p/q"`` strings (e.g. ``{"scale": "20"}``).
    sensitivity
        Sensitivities, exact strings.
    budget
        What this table cost.
    notes
        Anything else a reader needs (partition-selection threshold, rank error, ...).
    """

    name: str
    statistic: Statistic
    by: tuple[str, ...]
    keys: tuple[tuple[object, ...], ...]
    values: tuple[float, ...]
    ci_low: tuple[float, ...]
    ci_high: tuple[float, ...]
    variances: tuple[float, ...]
    mechanism: str
    noise: dict[str, str]
    sensitivity: dict[str, str]
    budget: Budget
    notes: dict[str, Any] = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        """One row per cell: key columns, ``value``, ``ci_low``, ``ci_high``."""
        frame = (
            pd.DataFrame([list(k) for k in self.keys], columns=list(self.by), dtype=object)
            if self.by
            else pd.DataFrame(index=range(len(self.values)))
        )
        frame["value"] = np.asarray(self.values, dtype=float)
        frame["ci_low"] = np.asarray(self.ci_low, dtype=float)
        frame["ci_high"] = np.asarray(self.ci_high, dtype=float)
        return frame

    def _document(self) -> Mapping[str, Any]:
        """Every field; values, intervals and variances as floats (``NaN`` becomes ``None``)."""
        floats = {
            name: [float(v) for v in getattr(self, name)]
            for name in ("values", "ci_low", "ci_high", "variances")
        }
        return {**super()._document(), **floats}


@dataclass(frozen=True)
class Release(Result):
    """What :meth:`ethica.privacy.Session.evaluate` returns; the budget is already charged.

    Attributes
    ----------
    tables
        One :class:`ReleasedTable` per query (one for a single query, several for a batch).
    budget
        The total cost of the release.
    confidence
        Level of every confidence interval.
    privacy_unit
        The privacy unit (:class:`Rows` or :class:`UserLevel`); ``to_dict`` writes its
        ``to_dict()``.
    source
        A description of the data source.
    post_processing
        Post-processing applied (``()`` for raw noisy values).
    """

    tables: tuple[ReleasedTable, ...]
    budget: Budget
    confidence: float
    privacy_unit: PrivacyUnit
    source: str
    post_processing: tuple[str, ...] = ()

    @property
    def value(self) -> float:
        """The released number of a single-value release."""
        if len(self.tables) != 1 or len(self.tables[0].values) != 1:
            raise InvalidParameterError(
                "this release holds several values; use release.to_frame() or release.table(i)."
            )
        return self.tables[0].values[0]

    def table(self, which: int | str = 0) -> ReleasedTable:
        """A released table by position or name."""
        if isinstance(which, int):
            return self.tables[which]
        for t in self.tables:
            if t.name == which:
                return t
        raise InvalidParameterError(
            f"no table named {which!r}; tables: {[t.name for t in self.tables]}."
        )

    def with_tables(self, tables: tuple[ReleasedTable, ...], step: str) -> Release:
        """A copy with new tables after a post-processing ``step`` (no privacy cost)."""
        return replace(self, tables=tables, post_processing=(*self.post_processing, step))

    def to_frame(self) -> pd.DataFrame:
        """All tables stacked: a ``table`` column, the key columns, value and CI."""
        frames = [t.to_frame().assign(table=t.name) for t in self.tables]
        frame = pd.concat(frames, ignore_index=True)
        first = ["table"] + [
            c for c in frame.columns if c not in ("table", "value", "ci_low", "ci_high")
        ]
        return frame[[*first, "value", "ci_low", "ci_high"]]

    def _document(self) -> Mapping[str, Any]:
        """Metadata first, then the tables (their values, ``NaN`` as ``None``)."""
        return {
            "source": self.source,
            "privacy_unit": self.privacy_unit,
            "budget": self.budget,
            "confidence": self.confidence,
            "post_processing": self.post_processing,
            "tables": self.tables,
        }

    def _repr_html_(self) -> str:
        head = (
            f"<p><b>DP release</b> of {self.source}: {self.budget}, "
            f"{100 * self.confidence:g}% intervals</p>"
        )
        table = self.to_frame().to_html(index=False, float_format=lambda v: f"{v:.4g}")
        return head + str(table)
